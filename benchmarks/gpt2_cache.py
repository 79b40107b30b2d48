"""GPT-2 decode with the KV caches kept on the device between steps against a round trip
through host memory every step, side by side in one process.

    python benchmarks/gpt2_cache.py [--size full|tiny] [--capacity 256] [--tokens 32] [--rounds 3]

Both ways use the same compiled programs (Generator.device_caches switches); rounds
alternate between them so that machine noise hits both alike.  Prints decode tokens/s,
the median of the rounds.
"""

from __future__ import annotations

import argparse
import statistics

import numpy as np

from ptir.models.generate import generator
from ptir.models.gpt2 import GPT2, example_prompt


def decode_speed(gen, prompt, tokens: int) -> float:
    logits = gen.start(prompt)
    for _ in range(tokens):
        logits = gen.advance(int(np.argmax(logits)))
    return gen.decoded / gen.decode_s


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="full")
    ap.add_argument("--capacity", type=int, default=256)
    ap.add_argument("--tokens", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    config = GPT2.config(args.size)
    gen = generator(GPT2, config, GPT2.random_weights(config, 0), "llvm-cpu",
                    capacity=min(args.capacity, config["n_positions"]))
    gen.compile()
    prompt = example_prompt(config, 16)
    speeds = {"device": [], "host": []}
    for _ in range(args.rounds):
        for way in speeds:
            gen.device_caches = way == "device"
            speeds[way].append(decode_speed(gen, prompt, args.tokens))
    for way, s in speeds.items():
        print(f"caches on the {way:6s}: {statistics.median(s):7.2f} tok/s  (rounds: "
              + ", ".join(f"{x:.2f}" for x in s) + ")")
    print(f"device / host: {statistics.median(speeds['device']) / statistics.median(speeds['host']):.2f}x")


if __name__ == "__main__":
    main()

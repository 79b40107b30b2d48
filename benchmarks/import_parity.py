"""The imported program against the hand-built one: the built-in ResNet34 and MobileNetV2
families and their torchvision twins imported through torch.export, same weights, same
IREE flags (the family's), compiled for llvm-cpu and timed side by side.

    python benchmarks/import_parity.py [--size full|tiny] [--runs 30] [--threads 2]

Prints one line per model: median latency of each (alternating blocks of runs, after
warm-up), their ratio, and the largest difference between their outputs.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import ptir
from ptir.importers.torch_export import from_torch
from ptir.models import get_model
from ptir.models.eval.threads import set_threads


def timed(f, x, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        f(x)
        out.append(1e3 * (time.perf_counter() - start))
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--size", default="full", choices=("tiny", "full"))
    p.add_argument("--runs", type=int, default=30)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--models", default="resnet34,mobilenet_v2")
    args = p.parse_args()
    set_threads(args.threads)
    for name in args.models.split(","):
        family = get_model(name)
        config = family.config(args.size)
        weights = family.random_weights(config)
        x = family.example_inputs(config)[0]
        module = family.bind(config, weights)
        flags = list(family.iree_flags)
        built = ptir.compile(module.forward, ptir.spec(x.shape), target="llvm-cpu", params=module.state_dict(),
                             flags=flags)
        program, imported_weights = from_torch(family.torch_module(config, weights), x)
        imported = ptir.compile(program, target="llvm-cpu", params=imported_weights, flags=flags)
        diff = float(np.abs(built(x) - imported(x)).max())
        times = {"hand-built": [], "imported": []}
        for f in (built, imported):
            timed(f, x, 3)   # warm-up
        for _ in range(3):   # alternate blocks so drift hits both alike
            times["hand-built"] += timed(built, x, args.runs // 3)
            times["imported"] += timed(imported, x, args.runs // 3)
        a, b = (statistics.median(t) for t in times.values())
        print(f"{name} ({args.size}): hand-built {a:.2f} ms, imported {b:.2f} ms, imported/hand-built {b / a:.2f}, "
              f"max output difference {diff:.1e}", flush=True)


if __name__ == "__main__":
    main()

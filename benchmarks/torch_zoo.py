"""torchvision's and transformers' models through the torch.export importer: import and compile time,
latency beside torch eager, and the largest difference from torch, as a markdown table.

    python benchmarks/torch_zoo.py                       # CI sizes (docs/importers.md)
    python benchmarks/torch_zoo.py --size full --runs 10 # real sizes (224x224, 1000 classes)

Latencies are medians of --runs calls after --warmup, PTIR and torch measured one after
the other in this process with --threads threads each.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import numpy as np
import torch

import ptir
from ptir.conformance.torch_zoo import ZOO, build
from ptir.importers.torch_export import from_torch
from ptir.models.eval.threads import set_threads


def median_ms(fn, runs: int, warmup: int) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def row(name: str, size: str, targets, runs: int, warmup: int) -> list[str]:
    module, inputs, kwargs = build(name, size)
    arrays = [x.numpy() for x in inputs]
    start = time.perf_counter()
    program, weights = from_torch(module, *inputs, **kwargs)
    import_s = time.perf_counter() - start
    with torch.no_grad():
        out = module(*inputs, **kwargs)
        want = (out[0] if not isinstance(out, torch.Tensor) else out).numpy()
        eager = median_ms(lambda: module(*inputs, **kwargs), runs, warmup)
    ops = len({op.name for op in program.entry().ops})
    cells = [name, f"{sum(w.size for w in weights.values()) / 1e6:.2f}M", str(ops), f"{import_s:.1f}"]
    for target in targets:
        start = time.perf_counter()
        f = ptir.compile(program, target=target, params=weights, cache=False) if target == "llvm-cpu" else \
            ptir.compile(program, target=target, params=weights)
        compile_s = time.perf_counter() - start
        got = f(*arrays)
        err = float(np.abs((got[0] if isinstance(got, tuple) else got) - want).max())
        cells += [f"{compile_s:.1f}", f"{median_ms(lambda f=f: f(*arrays), runs, warmup):.2f}", f"{err:.1e}"]
    return cells + [f"{eager:.2f}"]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--size", default="tiny", choices=("tiny", "full"))
    p.add_argument("--runs", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--models", default=",".join(ZOO), help="comma-separated subset of " + ", ".join(ZOO))
    args = p.parse_args()
    set_threads(args.threads)
    targets = ("llvm-cpu", "xla-cpu")
    head = ["model", "params", "PTIR ops used", "import s"]
    for t in targets:
        head += [f"{t} compile s", f"{t} ms", f"{t} max err"]
    head.append("torch eager ms")
    print(f"<!-- {platform.processor() or platform.machine()}, {args.threads} threads, size {args.size} -->")
    print("| " + " | ".join(head) + " |")
    print("|" + " --- |" * len(head))
    for name in args.models.split(","):
        print("| " + " | ".join(row(name, args.size, targets, args.runs, args.warmup)) + " |", flush=True)


if __name__ == "__main__":
    main()

"""Measure IREE flag sets on representative PTIR programs, side by side in one process.

    python benchmarks/iree_flags.py [--runs 30]
    python benchmarks/iree_flags.py --model resnet34 --sets host,im2col [--runs 10]

Each flag set compiles each program once (cache off); the timed calls of all sets are
interleaved round by round so that machine noise hits them alike.  Prints the median
latency per set and program, and the ratio to the first set.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

import ptir
from ptir.dialect import Builder, Program, tensor

FLAG_SETS = {
    "host": [],
    "host O2": ["--iree-opt-level=O2"],
    "host O3": ["--iree-opt-level=O3"],
    "host O3 +data-tiling": ["--iree-opt-level=O3", "--iree-opt-data-tiling"],
    "host O3 +data-tiling +ukernels": ["--iree-opt-level=O3", "--iree-opt-data-tiling",
                                       "--iree-llvmcpu-enable-ukernels=all"],
}
# With --model, each set is added to ptir's defaults (ptir/runtime/iree_backend.py).
MODEL_FLAG_SETS = {
    "defaults": [],
    "im2col": ["--iree-global-opt-use-im2col-for-convs"],
    "no-data-tiling": ["--iree-opt-data-tiling=false"],
    "im2col no-data-tiling": ["--iree-global-opt-use-im2col-for-convs", "--iree-opt-data-tiling=false"],
    "tiled convs": [f"--iree-dispatch-creation-experimental-set-data-tiling-ops={op}"
                    for op in ("matmul", "scaled_matmul", "convolution")],
}


def mlp(batch=16, width=768, hidden=3072) -> Program:
    """A transformer feed-forward block: two matmuls with a tanh-GELU-like activation."""
    p = Program(name="ffn")
    b = Builder.new_function(p, "main", [("x", tensor((batch, width), "f32")),
                                         ("w1", tensor((width, hidden), "f32")),
                                         ("w2", tensor((hidden, width), "f32"))])
    x, w1, w2 = b.args
    h = b.op("dot_general", x, w1, contract_lhs=[1], contract_rhs=[0])
    h = b.op("tanh", h)
    b.ret(b.op("dot_general", h, w2, contract_lhs=[1], contract_rhs=[0]))
    return p


def conv_block(size=56, channels=64, depthwise=False) -> Program:
    """Two 3x3 convolutions with ReLU, NHWC (a ResNet basic block, or MobileNet's depthwise)."""
    p = Program(name="conv")
    groups = channels if depthwise else 1
    w_shape = (3, 3, channels // groups, channels)
    b = Builder.new_function(p, "main", [("x", tensor((1, size, size, channels), "f32")),
                                         ("w1", tensor(w_shape, "f32")), ("w2", tensor(w_shape, "f32"))])
    x, w1, w2 = b.args
    zero = b.op("constant", out=tensor((1, size, size, channels), "f32"), value=np.zeros((), np.float32))
    y = x
    for w in (w1, w2):
        y = b.op("conv", y, w, layout="nhwc", padding=[[1, 1], [1, 1]], groups=groups)
        y = b.op("max", y, zero)
    b.ret(y)
    return p


PROGRAMS = {"ffn 16x768x3072": mlp, "conv3x3 56x56x64": conv_block,
            "depthwise3x3 112x112x32": lambda: conv_block(112, 32, depthwise=True)}


def inputs_for(program: Program) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.standard_normal(a.value.type.shape).astype(np.float32) * 0.1 for a in program.entry().args]


def model_case(name: str):
    """A full-size model's forward, its input and its seeded weights."""
    from ptir.models import get_model

    family = get_model(name)
    config = family.config("full")
    module = family.bind(config, family.random_weights(config, 0))
    return module.forward, family.example_inputs(config, 0), module.state_dict()


def measure(label: str, compile_one, sets: dict, xs, runs: int) -> None:
    compiled, compile_s = {}, {}
    for name, flags in sets.items():
        start = time.perf_counter()
        compiled[name] = compile_one(flags)
        compile_s[name] = time.perf_counter() - start
        for _ in range(3):
            compiled[name](*xs)   # warm-up
    times = {name: [] for name in sets}
    for _ in range(runs):
        for name, f in compiled.items():
            start = time.perf_counter()
            f(*xs)
            times[name].append(time.perf_counter() - start)
    base = statistics.median(times[next(iter(sets))])
    print(f"\n{label} ({runs} runs, interleaved)")
    for name in sets:
        med = statistics.median(times[name])
        print(f"  {name:34s} {med * 1e3:8.3f} ms  x{med / base:5.2f}   compile {compile_s[name]:5.2f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--model", help="a full-size model of models/ instead of the small programs")
    ap.add_argument("--sets", help=f"with --model: comma-separated sets of {', '.join(MODEL_FLAG_SETS)}")
    args = ap.parse_args()
    os.environ["PTIR_CACHE"] = "0"
    if args.model:
        fn, xs, params = model_case(args.model)
        names = args.sets.split(",") if args.sets else list(MODEL_FLAG_SETS)
        sets = {n: MODEL_FLAG_SETS[n] for n in names}
        measure(args.model, lambda flags: ptir.compile(fn, *xs, target="llvm-cpu", params=params, flags=flags),
                sets, xs, args.runs)
        return
    for pname, make in PROGRAMS.items():
        program = make()
        xs = inputs_for(program)
        measure(pname, lambda flags, program=program: ptir.compile(program, "llvm-cpu", flags=flags
                                                                   ), FLAG_SETS, xs, args.runs)


if __name__ == "__main__":
    main()

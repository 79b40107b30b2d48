"""Time every convolution layer of ResNet34 and MobileNetV2 in each algorithm of the
conv-algorithm pass, on each target, beside ONNX Runtime's same single layer, and write
the choice table the pass reads.

    python benchmarks/conv_layers.py [--runs 20] [--threads 2] [--targets llvm-cpu,xla-cpu]
    python benchmarks/conv_layers.py --write configs/conv_algorithms.json
    python benchmarks/conv_layers.py --quick             # three layers, few runs (tests)

The layers are found by tracing the model families (models/) at full size and walking
the convolutions as the pass sees them (after channels-last: NHWC, HWIO).  Each layer is
a program `relu(conv(x, w) + b)` with f32 weights given at compile time (so fold-params
folds the weight transforms, as in a model), compiled once per algorithm that suits it
(forced with conv_algorithm=...); ONNX Runtime runs the same layer as an ONNX Conv + Relu
(NCHW, its native layout).  The timed calls of every implementation of a layer are
interleaved round by round after a warm-up, so machine noise hits them alike; times are
medians in ms.  The choice for a (target, CPU class, layer) is the fastest algorithm,
but `direct` unless that one is at least MARGIN times faster than direct alone: in a
whole model the target fuses a direct convolution with its neighbours, which a single
layer does not show (MobileNetV2 on llvm-cpu ran 1.27x slower with its depthwise layers
shifted, and 1.27x slower with its 1x1 layers as im2col, though each layer alone was
1.1-1.45x faster; docs/performance.md).  --write replaces the entries of the targets and
CPU class measured here and keeps the others (another machine's CPU class); --rechoose
applies the current rule to the measured times of a table again.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import time

import numpy as np

import ptir
import ptir.functional as F
import ptir.nn as nn
from ptir.passes import PassContext, run_pipeline
from ptir.passes.conv_algorithm import applicable, layer_shape

MODELS = ("resnet34", "mobilenet_v2")
MARGIN = 1.5
QUICK = 3   # layers timed with --quick
ROUNDS = 5  # --whole: alternated blocks per implementation


def model_layers(name: str) -> list[dict]:
    """The distinct conv layer shapes of a model family at full size, in program order."""
    from ptir.functional.capture import capture
    from ptir.models import get_model

    family = get_model(name)
    config = family.config("full")
    module = family.ptir_module(config)
    size = config["image_size"]
    program, _ = capture(module.forward, [ptir.spec((1, 3, size, size))], None)
    program = run_pipeline(program, ("canonicalize", "channels-last", "simplify"))
    seen = []
    for op in program.entry().ops:
        shape = layer_shape(op) if op.name == "conv" else None
        if shape is not None and shape not in seen:
            seen.append(shape)
    return seen


class Layer(nn.Module):
    """relu(conv(x) + bias) in NHWC: one layer as the models run it."""

    def __init__(self, s: dict, padding: int):
        super().__init__()
        self.conv = nn.Conv2d(s["cin"], s["cout"], s["kernel"][0], s["stride"][0], padding, groups=s["groups"],
                              bias=True, layout="nhwc")

    def forward(self, x):
        return F.relu(self.conv(x))


def layer_data(s: dict, rng) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Input (NHWC), weights (OIHW, torch's order, which ptir.nn.Conv2d takes in both
    layouts) and bias of a layer, scaled to keep activations O(1)."""
    k, cin_g = s["kernel"], s["cin"] // s["groups"]
    x = rng.standard_normal((s["n"], s["h"], s["w"], s["cin"])).astype(np.float32)
    w = (rng.standard_normal((s["cout"], cin_g, *k)) / np.sqrt(cin_g * k[0] * k[1])).astype(np.float32)
    return x, w, rng.standard_normal(s["cout"]).astype(np.float32)


def same_padding(s: dict) -> int:
    """The models' padding: (k - 1) / 2, as torchvision's ResNet and MobileNetV2 use."""
    return (s["kernel"][0] - 1) // 2


def ptir_layer(s: dict, target: str, algorithm: str, data):
    """The layer compiled for `target` with `algorithm` forced: a zero-argument call."""
    x, w, b = data
    layer = Layer(s, same_padding(s))
    f = ptir.compile(layer, ptir.spec(x.shape), target=target, params={"conv.weight": w, "conv.bias": b},
                     conv_algorithm=algorithm)
    return lambda: f(x)


def ort_layer(s: dict, data, threads: int | None):
    """The same layer as an ONNX Conv + Relu (NCHW, OIHW) run by ONNX Runtime's CPU provider."""
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    x, w, b = data
    p = same_padding(s)
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], kernel_shape=s["kernel"], strides=s["stride"],
                              pads=[p, p, p, p], group=s["groups"]),
             helper.make_node("Relu", ["c"], ["y"])]
    xs = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    graph = helper.make_graph(
        nodes, "layer", [helper.make_tensor_value_info("x", TensorProto.FLOAT, xs.shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if threads:
        options.intra_op_num_threads = threads
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    return lambda: session.run(None, {"x": xs})


def interleaved(calls: dict, runs: int, warmup: int) -> dict[str, float]:
    """Median ms of each call, timed one after the other round by round after `warmup` calls."""
    for f in calls.values():
        for _ in range(warmup):
            f()
    times = {k: [] for k in calls}
    for _ in range(runs):
        for k, f in calls.items():
            t = time.perf_counter()
            f()
            times[k].append((time.perf_counter() - t) * 1e3)
    return {k: statistics.median(v) for k, v in times.items()}


def choice(ms: dict[str, float]) -> str:
    """The fastest algorithm, `direct` unless it is MARGIN times faster than direct."""
    best = min(ms, key=ms.get)
    return best if ms[best] * MARGIN <= ms["direct"] else "direct"


def rechoose(path: str) -> None:
    """Apply `choice` again to the measured times of the table at `path`."""
    with open(path) as f:
        doc = json.load(f)
    for e in doc["entries"]:
        e["choice"] = choice(e["ms"])
    with open(path, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    print(f"{path}: {len(doc['entries'])} choices made again")


def measure(shapes: list[dict], targets: list[str], runs: int, warmup: int, threads: int | None) -> list[dict]:
    """One row per layer: its shape, the median ms per target and algorithm, ORT's."""
    rng = np.random.default_rng(0)
    rows = []
    for i, s in enumerate(shapes):
        data = layer_data(s, rng)
        suits = _suits(s)
        calls = {(t, a): ptir_layer(s, t, a, data) for t in targets for a in suits}
        calls[("onnxruntime", "")] = ort_layer(s, data, threads)
        ms = interleaved(calls, runs, warmup)
        rows.append({"shape": s, "ms": ms})
        print(f"[{i + 1}/{len(shapes)}] {describe(s)}: " +
              ", ".join(f"{t} {a} {v:.3f}" for (t, a), v in ms.items()), flush=True)
    return rows


def _suits(s: dict) -> tuple[str, ...]:
    """The algorithms that suit a layer shape (asked of the pass, on the layer's conv)."""
    layer = Layer(s, same_padding(s))
    program, _ = ptir.functional.capture.capture(layer.forward, [ptir.spec((s["n"], s["h"], s["w"], s["cin"]))],
                                                 None)
    (op,) = [op for op in program.entry().ops if op.name == "conv"]
    return applicable(op)


def describe(s: dict) -> str:
    k, st = s["kernel"], s["stride"]
    dw = " dw" if s["groups"] > 1 else ""
    batch = f" n{s['n']}" if s["n"] > 1 else ""
    return f"{k[0]}x{k[1]}/{st[0]}{dw} {s['h']}x{s['w']}x{s['cin']}->{s['cout']}{batch}"


def print_table(rows: list[dict], targets: list[str]) -> None:
    """A markdown table: ms per layer for each target and algorithm, then ONNX Runtime."""
    from ptir.passes.conv_algorithm import ALGORITHMS

    cols = [(t, a) for t in targets for a in ALGORITHMS if any((t, a) in r["ms"] for r in rows)]
    print("| layer | " + " | ".join(f"{t} {a}" for t, a in cols) + " | ONNX Runtime |")
    print("| --- " * (len(cols) + 2) + "|")
    for r in rows:
        ms = r["ms"]
        best = {t: min(v for (tt, _), v in ms.items() if tt == t) for t in targets}
        cells = [("**%.3f**" if ms[c] == best[c[0]] else "%.3f") % ms[c] if c in ms else "" for c in cols]
        print(f"| {describe(r['shape'])} | " + " | ".join(cells) + f" | {ms[('onnxruntime', '')]:.3f} |")


def write_table(path: str, rows: list[dict], targets: list[str], cpu: str) -> None:
    """Replace the entries of (target, cpu) in the table at `path` with these rows' choices."""
    old = json.load(open(path))["entries"] if os.path.exists(path) else []
    keep = [e for e in old if not (e["target"] in targets and e["cpu"] == cpu)]
    new = []
    for r in rows:
        for t in targets:
            ms = {a: round(v, 4) for (tt, a), v in r["ms"].items() if tt == t}
            new.append({"target": t, "cpu": cpu, "shape": r["shape"], "ms": ms, "choice": choice(ms),
                        "onnxruntime_ms": round(r["ms"][("onnxruntime", "")], 4)})
    doc = {"about": "Measured cost (median ms) of each convolution algorithm per target, CPU feature class and "
                    "layer shape; `choice` is what the conv-algorithm pass uses (ptir/passes/conv_algorithm.py).",
           "command": "python benchmarks/conv_layers.py --write configs/conv_algorithms.json",
           "entries": keep + new}
    with open(path, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    print(f"wrote {len(new)} entries for {', '.join(targets)} / {cpu} to {path}")


def whole_models(models: list[str], targets: list[str], variants: list[str], runs: int,
                 threads: int | None) -> None:
    """Whole models at full size, compiled once per (target, variant), beside ONNX Runtime.

    A variant is a conv algorithm (`auto`, `direct`, ...), with `:noflags` for a compile
    without the family's own IREE flags (ResNet34's global im2col).  Blocks of `runs`
    calls per implementation, the blocks alternated over ROUNDS rounds (a thread pool
    that spins after its work slows whatever runs right after it, so calls of different
    implementations are not mixed within a block); median ms of all calls."""
    from ptir.models.eval import EvalOptions
    from ptir.models.eval.loading import compile_forward, load_model
    from ptir.models.peers import onnxruntime

    for name in models:
        for target in targets:
            opts = EvalOptions(model=name, target=target, threads=threads)
            m = load_model(opts)
            inputs = m.family.example_inputs(m.config, 0, 1)
            calls = {}
            for v in variants:
                algorithm, _, noflags = v.partition(":")
                flags = {} if not noflags or target != "llvm-cpu" else {"flags": []}
                start = time.perf_counter()
                f = compile_forward(m, m.module.forward, inputs, opts, cache=False, conv_algorithm=algorithm)
                if flags:   # compile_forward adds the family's flags: compile again without
                    f = ptir.compile(m.module.forward, *inputs, target=target, params=m.module.state_dict(),
                                     cache=False, conv_algorithm=algorithm, **flags)
                print(f"{name} {target} {v}: cold compile {time.perf_counter() - start:.1f} s", flush=True)
                calls[v] = functools.partial(f, *inputs)
            calls["onnxruntime"] = onnxruntime(m, inputs)
            times = {k: [] for k in calls}
            for _ in range(ROUNDS):
                for k, f in calls.items():
                    f()
                    for _ in range(runs):
                        t = time.perf_counter()
                        f()
                        times[k].append((time.perf_counter() - t) * 1e3)
            med = {k: statistics.median(v) for k, v in times.items()}
            print(f"{name} {target}: " + ", ".join(f"{k} {v:.2f} ms ({v / med['onnxruntime']:.2f}x ORT)"
                                                   for k, v in med.items()), flush=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--targets", default="llvm-cpu,xla-cpu", help="comma-separated targets (default both)")
    ap.add_argument("--models", default=",".join(MODELS), help="model families whose layers are timed")
    ap.add_argument("--runs", type=int, default=20, help="timed rounds per layer (default 20)")
    ap.add_argument("--warmup", type=int, default=3, help="untimed calls of each implementation first")
    ap.add_argument("--threads", type=int, default=2, help="IREE workers, torch and ONNX Runtime threads")
    ap.add_argument("--quick", action="store_true", help=f"{QUICK} layers, 3 runs: a smoke test")
    ap.add_argument("--write", metavar="JSON", help="write the choice table (configs/conv_algorithms.json)")
    ap.add_argument("--rechoose", metavar="JSON", help="instead: apply the choice rule to a table's times again")
    ap.add_argument("--whole", metavar="VARIANTS", help="instead: the whole models compiled with each of these "
                    "comma-separated conv algorithms (e.g. direct,auto,auto:noflags; :noflags leaves out the "
                    "family's IREE flags), beside ONNX Runtime")
    args = ap.parse_args(argv)
    from ptir.models.eval.threads import set_threads

    set_threads(args.threads)
    targets = [t for t in args.targets.split(",") if t]
    if args.rechoose:
        rechoose(args.rechoose)
        return 0
    if args.whole:
        whole_models(args.models.split(","), targets, args.whole.split(","), args.runs, args.threads)
        return 0
    shapes = [s for m in args.models.split(",") if m for s in model_layers(m)]
    shapes = [s for i, s in enumerate(shapes) if s not in shapes[:i]]
    runs, warmup = args.runs, args.warmup
    if args.quick:
        shapes, runs, warmup = _quick(shapes), 3, 1
    cpu = PassContext.for_target(targets[0]).cpu
    print(f"{len(shapes)} layers, targets {', '.join(targets)}, CPU class {cpu}, threads {args.threads}", flush=True)
    rows = measure(shapes, targets, runs, warmup, args.threads)
    print_table(rows, targets)
    if args.write:
        write_table(args.write, rows, targets, cpu)
    return 0


def _quick(shapes: list[dict]) -> list[dict]:
    """The smallest dense 3x3 stride-1, 1x1 and depthwise layers: one of each kind."""
    kinds = [lambda s: s["kernel"] == [3, 3] and s["stride"] == [1, 1] and s["groups"] == 1,
             lambda s: s["kernel"] == [1, 1], lambda s: s["groups"] > 1]
    size = lambda s: s["h"] * s["w"] * s["cin"] * s["cout"] // s["groups"]   # noqa: E731
    return [min((s for s in shapes if k(s)), key=size) for k in kinds if any(k(s) for s in shapes)][:QUICK]


if __name__ == "__main__":
    raise SystemExit(main())

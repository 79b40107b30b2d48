"""The bench workload: PTIR beside its peers (torch eager here; torch.compile and ONNX
Runtime in models/peers.py), each warmed up then timed; median, min and max latency,
throughput, compile times, thread control and package versions."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from ptir.errors import UsageError
from ptir.runtime.profile import Profiler

from ..peers import PEERS as OTHER_PEERS
from .loading import Model, compile_forward
from .options import EvalOptions, Report
from .threads import set_threads
from .watch import progress


def torch_eager(m: Model, inputs) -> Callable[[], object]:
    """The torch reference in eager mode, under no_grad, on `inputs` (numpy arrays)."""
    import torch

    model, xs = m.torch(), [torch.from_numpy(x) for x in inputs]

    def run():
        with torch.no_grad():
            return model(*xs)
    return run


# Peers measured beside PTIR: name -> setup(model, inputs) returning a zero-argument call.
# Adding one (torch.compile, onnxruntime) is one function and one entry; its setup time is
# reported as its compile time.
PEERS: dict[str, Callable] = {"torch-eager": torch_eager, **OTHER_PEERS}


def bench(m: Model, opts: EvalOptions, prof: Profiler) -> Report:
    """Each implementation in turn: warm-up, then timed runs; median, min and max latency.
    Not interleaved: a thread pool that spins after its work (XLA's, IREE's) would slow
    the next implementation's call (torch eager ran 13x slower right after XLA calls).

    Latencies are in milliseconds, throughput in items (images) per second, compile times
    in seconds.  UsageError for an unknown peer, --runs < 1 or --warmup < 0."""
    unknown = [p for p in opts.peers if p not in PEERS]
    if unknown:
        raise UsageError(f"unknown peer(s) {', '.join(unknown)} (known: {', '.join(PEERS)})")
    if opts.runs < 1 or opts.warmup < 0:
        raise UsageError("--runs must be >= 1 and --warmup >= 0")
    if m.family.kind == "lm":
        return bench_lm(m, opts)
    threads = set_threads(opts.threads)
    inputs = m.family.example_inputs(m.config, opts.seed, opts.batch)
    ours = f"ptir-{opts.target}"
    start = time.perf_counter()
    f = compile_forward(m, m.module.forward, inputs, opts, cache=False)   # compile time is measured: no cache
    calls, compile_s = {ours: lambda: f(*inputs)}, {ours: time.perf_counter() - start}
    for peer in opts.peers:
        start = time.perf_counter()
        calls[peer] = PEERS[peer](m, inputs)
        compile_s[peer] = time.perf_counter() - start
    times: dict[str, list[float]] = {k: [] for k in calls}
    for impl, call in calls.items():
        with progress(f"benchmarking {impl}: {opts.warmup} warm-up and {opts.runs} timed runs"):
            for _ in range(opts.warmup):
                call()
            for _ in range(opts.runs):
                start = time.perf_counter()
                call()
                times[impl].append(1e3 * (time.perf_counter() - start))
    unit = "images_per_s" if m.family.kind == "vision" else "items_per_s"
    results = []
    for impl, t in times.items():
        results.append({"impl": impl, "metric": "latency_ms", **summary(t)})
        results.append({"impl": impl, "metric": unit, **summary([1e3 * opts.batch / x for x in t])})
    data = {"model": m.name, "target": opts.target, "threads": opts.threads, "batch": opts.batch,
            "results": results, "compile_s": compile_s,
            "ptir_compile_stages_s": prof.phase_seconds(("trace", "passes", "lower", "compile")),
            "thread_control": {ours: threads[opts.target], "torch": threads["torch"]}, "versions": versions()}
    rows = [{"impl": impl, **{f"latency_{k}_ms" if k != "n" else k: v for k, v in summary(t).items()},
             unit.replace("_per_s", "/s"): 1e3 * opts.batch / statistics.median(t), "compile_s": compile_s[impl]}
            for impl, t in times.items()]
    return Report(f"bench {m.name} (batch {opts.batch}, threads {opts.threads or 'default'})", data, rows)


def bench_lm(m: Model, opts: EvalOptions) -> Report:
    """A language model: prefill latency of --batch prompts of 128 tokens and decode tokens/s
    (KV cache; all sequences together), ptir against transformers eager with its own cache,
    from the family's `bench_runs`.

    UsageError for a peer other than torch-eager, or a --max-tokens that leaves no room
    for a prompt in the model's context."""
    if set(opts.peers) - {"torch-eager"}:
        raise UsageError("language models are compared with transformers eager only (--peers torch-eager)")
    threads = set_threads(opts.threads)
    prompt = min(128, m.config["n_positions"] - opts.max_tokens)   # 128 unless the context is smaller
    if prompt < 1:
        raise UsageError(f"--max-tokens {opts.max_tokens} leaves no room for a prompt in the context of "
                         f"{m.config['n_positions']}")
    with progress(f"benchmarking {m.name} prefill and decode: {opts.warmup} warm-up and {opts.runs} timed runs"):
        out = m.family.bench_runs(m.config, m.weights, opts.target, prompt_tokens=prompt,
                                  decode_tokens=opts.max_tokens, runs=opts.runs, warmup=opts.warmup,
                                  iree_flags=tuple(opts.iree_flags), weights_dtype=opts.weights_dtype,
                                  batch=opts.batch)
    results = [{"impl": impl, "metric": metric, **summary(values)}
               for impl, metrics in out["samples"].items() for metric, values in metrics.items()]
    medians = {impl: {k: statistics.median(v) for k, v in s.items()} for impl, s in out["samples"].items()}
    torch = medians["torch-eager"]
    # the ratios, against transformers in the same run: decode speed-up, prefill time share
    rows = [{"impl": impl, f"prefill_{prompt}_median_ms": med["prefill_ms"], "decode_median_tok_s": med["decode_tok_s"],
             "decode_vs_torch": med["decode_tok_s"] / torch["decode_tok_s"],
             "prefill_vs_torch": med["prefill_ms"] / torch["prefill_ms"], "n": len(out["samples"][impl]["prefill_ms"]),
             "compile_s": out["ready_s"][impl]} for impl, med in medians.items()]
    data = {"model": m.name, "target": opts.target, "threads": opts.threads, "batch": opts.batch,
            "prompt_tokens": prompt, "weights_dtype": opts.weights_dtype,
            "decode_tokens": opts.max_tokens, "results": results,
            "compile_s": out["ready_s"], "thread_control": {f"ptir-{opts.target}": threads[opts.target],
                                                          "torch": threads["torch"]}, "versions": versions()}
    return Report(f"bench {m.name} (batch {opts.batch}, prefill {prompt} tokens, decode {opts.max_tokens}; threads "
                  f"{opts.threads or 'default'})", data, rows)


def summary(values: list[float]) -> dict:
    """The median, min, max and count (n) of `values`, in their own unit; `values` must not be empty."""
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


def versions() -> dict[str, str]:
    """Python's and each relevant package's version ("not installed" for a missing one)."""
    import platform
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for pkg in ("ptir", "numpy", "torch", "torchvision", "iree-base-compiler", "iree-base-runtime", "jax", "jaxlib"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "not installed"
    return out

"""The workloads of `ptirc eval`, for any registered model family.

    validate   the logits against the torch reference, under configs/conformance.json
    trace      layer by layer against torch forward hooks, stopping at the first layer out of tolerance
    bench      PTIR and its peers (torch eager, ...) side by side: median latency and throughput
    run        classify an image (vision) or generate tokens (lm, the family's `generate`)

Each returns a Report: its JSON form, its rows for a table or CSV, and whether it passed.
Every ptir.compile made inside a workload (ours, or one inside a family's generate) is
profiled and, with a dump directory, dumps its stages.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field, fields

import numpy as np
from ptir.configs import CONFORMANCE

import ptir
from ptir.errors import RunError, UsageError
from ptir.runtime.profile import Profiler
from ptir.runtime.stages import CompileJob, DumpDir, Observer

from .base import get_model
from .peers import PEERS as OTHER_PEERS

WORKLOADS = ("validate", "trace", "bench", "run")
CONFIG = CONFORMANCE   # the shipped tolerance rules


@dataclass
class EvalOptions:
    """One invocation of `ptirc eval` (also one entry of a suite file)."""

    model: str
    workload: str = "validate"
    target: str = "llvm-cpu"
    weights: str | None = None       # a checkpoint; without one, seeded random weights
    size: str = "full"               # of the random weights (a checkpoint carries its own config)
    seed: int = 0
    batch: int = 1
    image: str | None = None
    threads: int | None = None
    dump_dir: str | None = None
    runs: int = 20
    warmup: int = 3
    peers: list[str] = field(default_factory=lambda: ["torch-eager"])
    tolerances: str = CONFIG
    max_tokens: int = 16
    iree_flags: list[str] = field(default_factory=list)   # extra iree-compile flags (llvm-cpu)

    @classmethod
    def from_dict(cls, entry: dict, where: str) -> EvalOptions:
        known = {f.name for f in fields(cls)}
        unknown = set(entry) - known
        if unknown:
            raise UsageError(f"{where}: unknown key(s) {', '.join(sorted(unknown))} "
                             f"(known: {', '.join(sorted(known))})")
        if "model" not in entry:
            raise UsageError(f"{where}: needs a 'model'")
        return cls(**entry)


@dataclass
class Report:
    """A workload's result: `data` is its JSON, `rows` its table, `error` why it failed."""

    title: str
    data: dict
    rows: list[dict]
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error


@dataclass
class Model:
    family: object
    config: dict
    weights: dict[str, np.ndarray]
    module: object
    _torch: object = None

    @property
    def name(self) -> str:
        return self.family.name

    def torch(self):
        """The torch reference, built once."""
        if self._torch is None:
            with progress(f"building the torch reference of {self.name}"):
                self._torch = self.family.torch_module(self.config, self.weights)
        return self._torch


# --- progress, threads ---------------------------------------------------------------------------

@contextmanager
def progress(what: str):
    """A spinner on stderr while a long step runs, then one line with its time."""
    from rich.console import Console

    console = Console(stderr=True)
    start = time.perf_counter()
    with console.status(what + " ..."):
        yield
    console.print(f"[dim]{what}: {time.perf_counter() - start:.1f} s[/dim]", highlight=False)


def set_threads(threads: int | None) -> dict[str, str]:
    """Use `threads` threads where each implementation lets us; says how, per implementation."""
    import torch

    from ptir.runtime.iree_backend import set_task_workers

    if threads is not None:
        if threads < 1:
            raise UsageError(f"--threads must be >= 1, not {threads}")
        torch.set_num_threads(threads)
    how = {"torch": f"torch.set_num_threads({torch.get_num_threads()})",
           "xla-cpu": "XLA's own thread pool (not settable per process)", "ref": "numpy"}
    n = set_task_workers(threads)
    how["llvm-cpu"] = f"IREE local-task, {n} workers" if n else "IREE local-task, default workers (one per core)"
    return how


# --- models and compiling ---------------------------------------------------------------------------

_LOADED: dict[tuple, Model] = {}   # the last model loaded, for the next run of a suite


def load_model(opts: EvalOptions) -> Model:
    """The family, its config and weights (a checkpoint, or seeded random ones), bound to its ptir module."""
    key = (opts.model, opts.weights, opts.size, opts.seed)
    if key not in _LOADED:
        _LOADED.clear()
        _LOADED[key] = _load_model(opts)
    return _LOADED[key]


def _load_model(opts: EvalOptions) -> Model:
    family = get_model(opts.model)
    if opts.weights:
        weights, config = family.load_checkpoint(opts.weights)
    else:
        config = family.config(opts.size)
        with progress(f"generating seeded {opts.size} {opts.model} weights"):
            weights = family.random_weights(config, opts.seed)
    return Model(family, config, weights, family.bind(config, weights))


class CompileProgress(Observer):
    """A spinner while each compile runs, then one line with its time (progress)."""

    def compile_started(self, job: CompileJob) -> None:
        self._step = progress(f"compiling {job.name} for {job.target}")
        self._step.__enter__()

    def compile_finished(self, job: CompileJob, ok: bool) -> None:
        self._step.__exit__(None, None, None)


class DumpEach(Observer):
    """Dumps every compile: the first into `root`, the N-th into `root/compile-N`."""

    wants_files = True

    def __init__(self, root: str):
        self.root, self.count, self.current = root, 0, None

    def compile_started(self, job: CompileJob) -> None:
        self.count += 1
        self.current = DumpDir(self.root if self.count == 1 else os.path.join(self.root, f"compile-{self.count}"))

    def stage(self, job: CompileJob, event) -> None:
        self.current.stage(job, event)


def observers(prof: Profiler, dump_dir: str | None) -> list[Observer]:
    """What watches every compile of a workload: the profiler, progress, and dumps."""
    return [prof, CompileProgress(), *((DumpEach(dump_dir),) if dump_dir else ())]


def compile_forward(m: Model, fn, inputs, opts: EvalOptions, **options):
    """`fn` (a method of the model's ptir module) compiled for the target with the model's weights."""
    if opts.target == "llvm-cpu":
        options["flags"] = [*m.family.iree_flags, *opts.iree_flags]
    return ptir.compile(fn, *inputs, target=opts.target, params=m.module.state_dict(), **options)


def first_array(out) -> np.ndarray:
    """The main output as numpy: a transformers output's logits, a tuple's first element, a tensor."""
    out = getattr(out, "logits", out)
    if isinstance(out, tuple | list):
        out = out[0]
    return out.detach().cpu().numpy() if hasattr(out, "detach") else np.asarray(out)


def torch_forward(m: Model, inputs, hooks: list[str] = ()) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The torch reference's output, and the outputs of its submodules named in `hooks`."""
    import torch

    model = m.torch()
    modules = dict(model.named_modules())
    missing = [n for n in hooks if n not in modules]
    if missing:
        raise RunError(f"the torch {m.name} has no submodule(s) {', '.join(missing)}")
    taps: dict[str, np.ndarray] = {}

    def hook(name):
        def record(module, args, out):   # returns None: a hook's return value would replace the output
            taps.setdefault(name, first_array(out))
        return record

    handles = [modules[n].register_forward_hook(hook(n)) for n in hooks]
    try:
        with torch.no_grad():
            out = model(*(torch.from_numpy(x) for x in inputs))
    finally:
        for h in handles:
            h.remove()
    return first_array(out), taps


def tolerance_rules(m: Model, opts: EvalOptions):
    """(want, layer) -> the Tolerance on this target for want's dtype: test `model.NAME` for
    the model's output, `model.NAME.layers` for inner activations (larger values, so larger
    rounding errors).  The rules file is read now, so a bad one fails before anything compiles."""
    from ptir.conformance.tolerance import load_rules

    rules = load_rules(opts.tolerances)
    return lambda want, layer=False: rules.lookup(f"model.{m.name}" + ".layers" * layer, opts.target,
                                                  want.dtype.name.replace("float", "f"))


# --- workloads -----------------------------------------------------------------------------------

def validate(m: Model, opts: EvalOptions, prof: Profiler) -> Report:
    from ptir.conformance.tolerance import compare

    tolerance = tolerance_rules(m, opts)
    inputs = m.family.example_inputs(m.config, opts.seed, opts.batch)
    f = compile_forward(m, m.module.forward, inputs, opts)
    got = first_array(f(*inputs))
    want, _ = torch_forward(m, inputs)
    tol = tolerance(want)
    c = compare(got, want, tol.atol, tol.rtol)
    row = {"model": m.name, "target": opts.target, "batch": opts.batch, "max_abs_err": c.max_abs_err,
           "max_rel_err": c.max_rel_err, "atol": tol.atol, "rtol": tol.rtol, "rule": tol.rule,
           "ref_absmax": float(np.abs(want).max()), "ok": c.ok}
    error = "" if c.ok else (f"{m.name} on {opts.target}: output out of tolerance (atol {tol.atol:g}, "
                             f"rtol {tol.rtol:g} from {tol.rule}): {c.message}")
    rows = [row]
    if m.family.kind == "lm":
        check = generation_checks(m, opts, inputs, tol.atol + tol.rtol * row["ref_absmax"])
        rows.append(check)
        if not check["ok"] and not error:
            error = f"{m.name} on {opts.target}: {check['message']}"
    return Report(f"validate {m.name} on {opts.target}", dict(row, message=c.message, generation=rows[1:]),
                  rows, error)


def generation_checks(m: Model, opts: EvalOptions, inputs, max_diff: float) -> dict:
    """A language model's generation against torch: greedy tokens with the KV cache equal
    transformers' greedy tokens over --max-tokens steps, and cached decode gives the logits
    of full-context recompute (within `max_diff`)."""
    prompt = [int(t) for t in inputs[0][0][:8]]
    steps = opts.max_tokens
    greedy = m.family.check_greedy_vs_torch(m.config, m.weights, prompt, steps, opts.target)
    cache = m.family.check_cache_vs_recompute(m.config, m.weights, prompt, steps, opts.target)
    problems = []
    if greedy["agree"] < steps:
        problems.append(f"greedy tokens agree with torch for {greedy['agree']} of {steps} steps")
    if cache["agree"] < steps or cache["max_logit_diff"] > max_diff:
        problems.append(f"cached decode differs from full recompute (tokens agree for {cache['agree']} of "
                        f"{steps}; largest logit difference {cache['max_logit_diff']:.3g} > {max_diff:.3g})")
    return {"model": m.name, "target": opts.target, "check": "generation", "greedy_steps": steps,
            "greedy_agree": greedy["agree"], "cache_agree": cache["agree"],
            "cache_max_logit_diff": cache["max_logit_diff"], "ok": not problems, "message": "; ".join(problems)}


def trace(m: Model, opts: EvalOptions, prof: Profiler) -> Report:
    """One compiled program returns every tapped layer's output; they are compared in
    forward order with torch's, up to the first one out of tolerance."""
    from ptir.conformance.tolerance import compare

    if not hasattr(m.module, "forward_taps"):
        raise UsageError(f"--workload trace: {m.name} has no layer taps (its ptir module lacks forward_taps)")
    tolerance = tolerance_rules(m, opts)
    inputs = m.family.example_inputs(m.config, opts.seed, opts.batch)
    got = compile_forward(m, m.module.forward_taps, inputs, opts)(*inputs)
    names = m.module.tap_names
    _, want = torch_forward(m, inputs, names)
    rows, error = [], ""
    for i, (name, g) in enumerate(zip(names, got if isinstance(got, tuple) else (got,), strict=True)):
        w = want[name]
        tol = tolerance(w, layer=i < len(names) - 1)   # the last tap is the output validate checks
        c = compare(g, w, tol.atol, tol.rtol)
        rows.append({"layer": name, "shape": "x".join(map(str, w.shape)), "max_abs_err": c.max_abs_err,
                     "max_rel_err": c.max_rel_err, "ref_absmax": float(np.abs(w).max()), "atol": tol.atol,
                     "rtol": tol.rtol, "ok": c.ok})
        if not c.ok:
            error = f"{m.name} on {opts.target}: layer {name} is the first out of tolerance: {c.message}"
            break
    data = {"model": m.name, "target": opts.target, "layers": rows,
            "first_bad_layer": rows[-1]["layer"] if error else None}
    return Report(f"trace {m.name} on {opts.target}", data, rows, error)


def torch_eager(m: Model, inputs) -> Callable[[], object]:
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
    the next implementation's call (torch eager ran 13x slower right after XLA calls)."""
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
    """A language model: prefill latency of 128 tokens and decode tokens/s (KV cache), ptir
    against transformers eager with its own cache, from the family's `bench_runs`."""
    if set(opts.peers) - {"torch-eager"}:
        raise UsageError("language models are compared with transformers eager only (--peers torch-eager)")
    threads = set_threads(opts.threads)
    prompt = min(128, m.config["n_positions"] - opts.max_tokens)   # 128 unless the context is smaller
    if prompt < 1:
        raise UsageError(f"--max-tokens {opts.max_tokens} leaves no room for a prompt in the context of "
                         f"{m.config['n_positions']}")
    with progress(f"benchmarking {m.name} prefill and decode: {opts.warmup} warm-up and {opts.runs} timed runs"):
        out = m.family.bench_runs(m.config, m.weights, opts.target, prompt_tokens=prompt,
                                  decode_tokens=opts.max_tokens, runs=opts.runs, warmup=opts.warmup)
    results = [{"impl": impl, "metric": metric, **summary(values)}
               for impl, metrics in out["samples"].items() for metric, values in metrics.items()]
    rows = [{"impl": impl, f"prefill_{prompt}_median_ms": statistics.median(s["prefill_ms"]),
             "decode_median_tok_s": statistics.median(s["decode_tok_s"]), "n": len(s["prefill_ms"]),
             "compile_s": out["ready_s"][impl]} for impl, s in out["samples"].items()]
    data = {"model": m.name, "target": opts.target, "threads": opts.threads, "batch": 1, "prompt_tokens": prompt,
            "decode_tokens": opts.max_tokens, "results": results,
            "compile_s": out["ready_s"], "thread_control": {f"ptir-{opts.target}": threads[opts.target],
                                                          "torch": threads["torch"]}, "versions": versions()}
    return Report(f"bench {m.name} (prefill {prompt} tokens, decode {opts.max_tokens}; threads "
                  f"{opts.threads or 'default'})", data, rows)


def summary(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


def run(m: Model, opts: EvalOptions, prof: Profiler) -> Report:
    if m.family.kind == "lm":
        return generate(m, opts, prof)
    if opts.image:
        inputs, source = [m.family.load_image(m.config, opts.image)], opts.image
    else:
        inputs, source = m.family.example_inputs(m.config, opts.seed, 1), f"random input (seed {opts.seed})"
    logits = first_array(compile_forward(m, m.module.forward, inputs, opts)(*inputs))[0].astype(np.float64)
    p = np.exp(logits - logits.max())
    p /= p.sum()
    names = m.family.class_names(m.config) if hasattr(m.family, "class_names") else None
    rows = [{"rank": r + 1, "class": int(i), "name": names[i] if names else "", "prob": float(p[i])}
            for r, i in enumerate(np.argsort(-p, kind="stable")[:5])]
    return Report(f"{m.name} on {opts.target}: top-5 for {source}",
                  {"model": m.name, "target": opts.target, "input": source, "top5": rows}, rows)


def generate(m: Model, opts: EvalOptions, prof: Profiler) -> Report:
    """An "lm" family's `generate` hook on a seeded prompt (the first tokens of its example input)."""
    prompt = [int(t) for t in m.family.example_inputs(m.config, opts.seed, 1)[0][0][:8]]
    with prof.span("generate", "run"):
        try:
            tokens = m.family.generate(m.config, m.weights, prompt, opts.max_tokens, target=opts.target)
        except NotImplementedError:
            raise UsageError(f"--workload run: {m.name} has no generate hook") from None
    data = {"model": m.name, "target": opts.target, "prompt_ids": prompt, "generated_ids": list(tokens)}
    return Report(f"{m.name} on {opts.target}: greedy generation", data,
                  [{"prompt_ids": " ".join(map(str, prompt)), "generated_ids": " ".join(map(str, tokens))}])


WORKLOAD_FNS = {"validate": validate, "trace": trace, "bench": bench, "run": run}


def evaluate(opts: EvalOptions, prof: Profiler | None = None) -> Report:
    """Load the model and run one workload; PtirError for bad input."""
    if opts.workload not in WORKLOAD_FNS:
        raise UsageError(f"unknown workload '{opts.workload}' (known: {', '.join(WORKLOADS)})")
    from ptir.runtime import TARGETS

    if opts.target not in TARGETS:
        raise UsageError(f"unknown target '{opts.target}' (known: {', '.join(TARGETS)})")
    if opts.iree_flags and opts.target != "llvm-cpu":
        raise UsageError("--iree-flag applies only to --target llvm-cpu")
    if opts.batch < 1:
        raise UsageError(f"--batch must be >= 1, not {opts.batch}")
    if opts.image and not os.path.isfile(opts.image):   # before minutes of weights and compiling
        raise RunError(f"cannot read image {opts.image}: no such file")
    prof = prof or Profiler()
    if opts.workload != "bench":
        set_threads(opts.threads)
    model = load_model(opts)
    with ptir.observing(*observers(prof, opts.dump_dir)):
        return WORKLOAD_FNS[opts.workload](model, opts, prof)


def versions() -> dict[str, str]:
    import platform
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for pkg in ("ptir", "numpy", "torch", "torchvision", "iree-base-compiler", "iree-base-runtime", "jax", "jaxlib"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "not installed"
    return out


__all__ = ["EvalOptions", "Report", "WORKLOADS", "PEERS", "evaluate"]

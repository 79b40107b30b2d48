"""Run conformance cases on targets and pipelines, and report how far each result is
from torch."""

from __future__ import annotations

import fnmatch
import os
import platform
import statistics
import time
from dataclasses import dataclass, field

import numpy as np

import ptir
from ptir.configs import CONFORMANCE
from ptir.dialect import dtypes as dt
from ptir.errors import PtirError

from .case import Case, to_torch
from .tolerance import Rules, compare, load_rules

PIPELINES = {"baseline": (), "optimized": None}   # passes for ptir.compile: none, or the default
CONFIG = CONFORMANCE   # the shipped tolerance rules
TIMED_RUNS = 5


def all_cases(models: bool = False) -> list[Case]:
    from . import functional_cases, ops_cases

    cases = ops_cases.cases() + functional_cases.cases()
    if models:
        from . import model_cases
        cases += model_cases.cases()
    return cases


def select(cases: list[Case], pattern: str | None) -> list[Case]:
    """Cases whose name matches `pattern`: a glob (`softmax*`) or a substring."""
    if not pattern:
        return cases
    return [c for c in cases if fnmatch.fnmatchcase(c.name, pattern) or pattern in c.name]


@dataclass
class Result:
    test: str
    target: str
    pipeline: str
    status: str                      # ok | fail | xfail | xpass
    max_abs_err: float | None = None
    max_rel_err: float | None = None
    atol: float | None = None
    rtol: float | None = None
    rule: str | None = None
    times_ms: dict = field(default_factory=dict)
    message: str = ""

    def as_json(self) -> dict:
        return {k: v for k, v in self.__dict__.items()}


def _median_ms(fn, *args) -> float:
    fn(*args)   # warm-up
    times = []
    for _ in range(TIMED_RUNS):
        start = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def torch_reference(case: Case, inputs: list[np.ndarray]):
    import torch

    args = [to_torch(x) for x in inputs]
    with torch.no_grad():
        out = case.torch(*args)
        ms = _median_ms(case.torch, *args)
    outs = out if isinstance(out, tuple | list) else (out,)
    return [o.detach().float().numpy() if o.dtype.is_floating_point and o.dtype != torch.float64
            else o.detach().numpy() for o in outs], ms


def run_error_case(case: Case) -> Result:
    """An error case passes when capture fails with a message containing the expected text."""
    inputs = case.make_inputs()
    try:
        ptir.trace(case.ptir, *inputs)
    except PtirError as e:
        ok = case.error in str(e)
        return Result(case.name, "capture", "-", "ok" if ok else "fail",
                      message="" if ok else f"message {str(e)!r} lacks {case.error!r}")
    return Result(case.name, "capture", "-", "fail", message=f"capture succeeded; expected {case.error!r}")


def run_case(case: Case, target: str, pipeline: str, rules: Rules, reference=None) -> Result:
    """One case on one target and pipeline; `reference` = (outputs, torch ms) if computed."""
    inputs = case.make_inputs()
    want, torch_ms = reference or torch_reference(case, inputs)
    tol = rules.lookup(case.name, target, case.dtype)
    result = Result(case.name, target, pipeline, "ok", atol=tol.atol, rtol=tol.rtol, rule=tol.rule,
                    times_ms={"torch": round(torch_ms, 4)})
    try:
        start = time.perf_counter()
        if case.program is not None:   # an imported model: its program and weights
            program, params = case.program()
        else:
            params = case.params() if case.params else None   # a module's weights, bound by name
            program = ptir.trace(case.ptir, *inputs)
        f = ptir.compile(program, target=target, passes=PIPELINES[pipeline], params=params)
        result.times_ms["compile"] = round((time.perf_counter() - start) * 1e3, 3)
        got = f(*[x for x in inputs])
        got = list(got) if isinstance(got, tuple) else [got]
        result.times_ms["run"] = round(_median_ms(f, *inputs), 4)
        result.times_ms["speedup_vs_torch"] = round(torch_ms / max(result.times_ms["run"], 1e-9), 3)
    except PtirError as e:
        return _settle(result, False, f"{type(e).__name__}: {e}", tol.xfail)
    if len(got) != len(want):
        return _settle(result, False, f"{len(got)} results, torch gives {len(want)}", tol.xfail)
    ok, msgs = True, []
    result.max_abs_err = result.max_rel_err = 0.0
    for i, (g, w) in enumerate(zip(got, want, strict=True)):
        c = compare(_widened(g), w, tol.atol, tol.rtol)
        result.max_abs_err = max(result.max_abs_err, c.max_abs_err)
        result.max_rel_err = max(result.max_rel_err, c.max_rel_err)
        if not c.ok:
            ok = False
            msgs.append(f"result {i}: {c.message}")
    return _settle(result, ok, "; ".join(msgs), tol.xfail)


def _widened(x: np.ndarray) -> np.ndarray:
    """f16 and bf16 results as f32, like the torch reference they are compared with."""
    return x.astype(np.float32) if x.dtype in (dt.f16.np_dtype, dt.bf16.np_dtype) else x


def _settle(result: Result, ok: bool, message: str, xfail: str | None) -> Result:
    if xfail:
        result.status = "xpass" if ok else "xfail"
        result.message = message or f"marked xfail ({xfail}) but passes"
    else:
        result.status = "ok" if ok else "fail"
        result.message = message
    return result


def run_suite(cases: list[Case], targets: list[str], rules: Rules | None = None, pipelines=tuple(PIPELINES),
              progress=None) -> list[Result]:
    """Every case on every target in every pipeline; error cases once.  `progress(n)`
    advances a progress bar by n steps."""
    rules = rules or load_rules(CONFIG)
    results = []
    for case in cases:
        if case.error is not None:
            results.append(run_error_case(case))
            progress and progress(len(targets) * len(pipelines))
            continue
        reference = torch_reference(case, case.make_inputs())
        for target in targets:
            for pipeline in pipelines:
                results.append(run_case(case, target, pipeline, rules, reference))
                progress and progress(1)
    return results


def environment() -> dict:
    from importlib.metadata import version

    versions = {}
    for pkg in ("ptir", "numpy", "torch", "iree-base-compiler", "iree-base-runtime", "jax", "jaxlib"):
        try:
            versions[pkg] = version(pkg)
        except Exception:
            versions[pkg] = None
    machine = {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
               "cpus": os.cpu_count()}
    return {"versions": versions, "machine": machine}


def report_json(results: list[Result]) -> dict:
    return {"cases": [r.as_json() for r in results], **environment()}


def _fmt(x, spec=".2e"):
    return "-" if x is None else format(x, spec)


COLUMNS = ("test", "target", "pipeline", "status", "max abs err", "max rel err", "atol", "rtol", "rule",
           "torch ms", "run ms", "compile ms", "speedup")


def rows(results: list[Result]) -> list[tuple]:
    out = []
    for r in results:
        t = r.times_ms
        out.append((r.test, r.target, r.pipeline, r.status, _fmt(r.max_abs_err), _fmt(r.max_rel_err), _fmt(r.atol),
                    _fmt(r.rtol), r.rule or "-", _fmt(t.get("torch"), ".3f"), _fmt(t.get("run"), ".3f"),
                    _fmt(t.get("compile"), ".0f"), _fmt(t.get("speedup_vs_torch"), ".2f")))
    return out


def report_markdown(results: list[Result]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows(results)]
    return "\n".join(lines)


def summary(results: list[Result]) -> dict:
    counts = {s: 0 for s in ("ok", "fail", "xfail", "xpass")}
    for r in results:
        counts[r.status] += 1
    return counts


def failures(results: list[Result]) -> list[Result]:
    return [r for r in results if r.status == "fail"]



"""Where the time goes: spans per stage and per compiled call, as tables or a Chrome trace.

    prof = Profiler()
    with prof.compiling("llvm-cpu"):          # tracing, passes, lowering and the target's compiler
        f = ptir.compile(fn, spec, target="llvm-cpu")
    f = prof.calls(f, "main")                 # every call becomes a span of phase "run"
    prof.stage_rows(); prof.call_rows(); prof.chrome_trace()

Spans are named by the stages of stages.py (`ptir`, `passes`, `stablehlo`, `iree.compile`,
...) and grouped in phases: trace, passes, lower, compile, run.  A span's self time
excludes the spans inside it, so the stage table adds up to the wall time.
"""

from __future__ import annotations

import statistics
import time
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

PHASES = ("trace", "passes", "lower", "compile", "run")
# the span around the target's own compiler, by target (named as in stages.py where it has a name)
COMPILE_STAGE = {"llvm-cpu": "iree.compile", "xla-cpu": "xla.compile", "ref": "ref.compile"}


@dataclass
class Span:
    name: str
    phase: str
    start: float          # seconds since the profiler started
    seconds: float = 0.0
    depth: int = 0
    children: float = 0.0   # time of the spans directly inside this one

    @property
    def self_seconds(self) -> float:
        return self.seconds - self.children


class Profiler:
    def __init__(self):
        self.origin = time.perf_counter()
        self.spans: list[Span] = []
        self._open: list[Span] = []
        self._calls: set[str] = set()   # names of the compiled-call spans

    @contextmanager
    def span(self, name: str, phase: str):
        s = Span(name, phase, time.perf_counter() - self.origin, depth=len(self._open))
        self._open.append(s)
        try:
            yield s
        finally:
            self._open.pop()
            s.seconds = time.perf_counter() - self.origin - s.start
            if self._open:
                self._open[-1].children += s.seconds
            self.spans.append(s)

    @contextmanager
    def wrapping(self, owner, attr: str, name: str, phase: str):
        """Time every call of `owner.attr` (a module function looked up at call time) while
        the block runs: how the stages inside ptir.compile are timed from outside it."""
        original = getattr(owner, attr)

        def timed(*args, **kwargs):
            with self.span(name, phase):
                return original(*args, **kwargs)

        setattr(owner, attr, timed)
        try:
            yield
        finally:
            setattr(owner, attr, original)

    @contextmanager
    def compiling(self, target: str):
        """A `ptir.compile` call: tracing a function as `ptir`, the optimizer as `passes`,
        lowering as `stablehlo`, and the rest (the target's compiler, loading) as its
        compile stage."""
        import ptir.functional.tracing
        import ptir.lower_stablehlo
        import ptir.passes

        with ExitStack() as stack:
            stack.enter_context(self.span(COMPILE_STAGE.get(target, f"{target}.compile"), "compile"))
            stack.enter_context(self.wrapping(ptir.functional.tracing, "capture", "ptir", "trace"))
            stack.enter_context(self.wrapping(ptir.passes, "optimize", "passes", "passes"))
            stack.enter_context(self.wrapping(ptir.lower_stablehlo, "lower", "stablehlo", "lower"))
            yield

    def calls(self, fn, name: str):
        """`fn` with each call recorded as a span `call <name>` of phase run."""
        self._calls.add(f"call {name}")

        def timed(*args):
            with self.span(f"call {name}", "run"):
                return fn(*args)
        return timed

    def phase_seconds(self, phases=PHASES) -> dict[str, float]:
        """Self time per phase."""
        out = dict.fromkeys(phases, 0.0)
        for s in self.spans:
            if s.phase in out:
                out[s.phase] += s.self_seconds
        return out

    def stage_rows(self) -> list[dict]:
        """Self time per stage, in phase order."""
        totals: dict[tuple[str, str], list[float]] = {}
        for s in self.spans:
            totals.setdefault((s.phase, s.name), []).append(s.self_seconds)
        order = sorted(totals, key=lambda k: (PHASES.index(k[0]) if k[0] in PHASES else len(PHASES), k[1]))
        return [{"phase": p, "stage": n, "calls": len(totals[p, n]), "ms": round(1e3 * sum(totals[p, n]), 3)}
                for p, n in order]

    def call_rows(self) -> list[dict]:
        """Latency statistics per compiled call."""
        by_name: dict[str, list[float]] = {}
        for s in self.spans:
            if s.name in self._calls:
                by_name.setdefault(s.name, []).append(1e3 * s.seconds)
        return [{"call": n, "n": len(t), "median_ms": round(statistics.median(t), 3), "min_ms": round(min(t), 3),
                 "max_ms": round(max(t), 3), "total_ms": round(sum(t), 3)} for n, t in by_name.items()]

    def chrome_trace(self) -> dict:
        """The spans as Chrome trace events (chrome://tracing, Perfetto): complete events
        ("ph": "X") in microseconds, nested by time."""
        events = [{"name": s.name, "cat": s.phase, "ph": "X", "ts": round(1e6 * s.start, 3),
                   "dur": round(1e6 * s.seconds, 3), "pid": 1, "tid": 1} for s in self.spans]
        return {"traceEvents": sorted(events, key=lambda e: e["ts"]), "displayTimeUnit": "ms"}

"""Where the time goes: spans per stage and per compiled call, as tables or a Chrome trace.

    prof = Profiler()
    with ptir.pipeline.observing(prof):       # every compile and call inside is recorded
        f = ptir.compile(fn, spec, target="llvm-cpu")
        f(x)
    prof.stage_rows(); prof.call_rows(); prof.chrome_trace()

The profiler is an Observer of the compile pipeline: spans are the stages of stages.py
(`ptir`, `pass.cse`, `stablehlo`, `iree.compile`, ...) grouped in phases (trace,
passes, lower, compile, run), and the calls of compiled functions (`call NAME@TARGET`).
Stages do not overlap, so the stage table adds up to the compile time.
"""

from __future__ import annotations

import statistics
import time
from contextlib import contextmanager
from dataclasses import dataclass

from .stages import PHASES, CompileJob, Observer, StageEvent


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


class Profiler(Observer):
    """Records spans: stages of every compile it observes, calls of compiled functions,
    and blocks timed with `span`."""

    def __init__(self):
        self.origin = time.perf_counter()
        self.spans: list[Span] = []
        self._open: list[Span] = []
        self._calls: set[str] = set()   # names of the compiled-call spans

    @contextmanager
    def span(self, name: str, phase: str):
        """Time the block as a span `name` of `phase` (nested spans count as its children)."""
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

    def stage(self, job: CompileJob, event: StageEvent) -> None:
        """A timed stage becomes a span; outputs without a time (IREE's phases) do not."""
        if event.seconds is not None:
            start = (event.start if event.start is not None else time.perf_counter() - event.seconds) - self.origin
            self._record(Span(event.stage, event.phase, start, event.seconds, depth=len(self._open)))

    def called(self, job: CompileJob, start: float, seconds: float) -> None:
        name = f"call {job.name}@{job.target}"
        self._calls.add(name)
        self._record(Span(name, "run", start - self.origin, seconds, depth=len(self._open)))

    def calls(self, fn, name: str):
        """`fn` with each call recorded as a span `call <name>` of phase run (for
        callables that are not compiled by the pipeline, e.g. a peer's)."""
        self._calls.add(f"call {name}")

        def timed(*args):
            with self.span(f"call {name}", "run"):
                return fn(*args)
        return timed

    def _record(self, s: Span) -> None:
        """A finished span from outside a `span` block: it is a child of the open one."""
        if self._open:
            self._open[-1].children += s.seconds
        self.spans.append(s)

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

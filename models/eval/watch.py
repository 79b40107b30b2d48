"""What a workload shows and records while it runs: the `progress` spinner for long
steps, and the observers every compile of a workload is watched by (the profiler, a
spinner per compile, and dumps of its stages).

(Named `watch`, not `progress`, so that the package's re-exported `progress` function
does not shadow a submodule of the same name.)
"""

from __future__ import annotations

import os
import time
from contextlib import contextmanager

from ptir.runtime.profile import Profiler
from ptir.runtime.stages import CompileJob, DumpDir, Observer


@contextmanager
def progress(what: str):
    """A spinner on stderr while a long step runs, then one line with its time."""
    from rich.console import Console

    console = Console(stderr=True)
    start = time.perf_counter()
    with console.status(what + " ..."):
        yield
    console.print(f"[dim]{what}: {time.perf_counter() - start:.1f} s[/dim]", highlight=False)


class CompileProgress(Observer):
    """A spinner while each compile runs, then one line with its time (progress)."""

    def compile_started(self, job: CompileJob) -> None:
        """Starts the spinner for `job`."""
        self._step = progress(f"compiling {job.name} for {job.target}")
        self._step.__enter__()

    def compile_finished(self, job: CompileJob, ok: bool) -> None:
        """Stops the spinner and prints the compile's time in seconds."""
        self._step.__exit__(None, None, None)


class DumpEach(Observer):
    """Dumps every compile: the first into `root`, the N-th into `root/compile-N`."""

    wants_files = True
    wants_ir = True

    def __init__(self, root: str):
        self.root, self.count, self.current = root, 0, None

    def compile_started(self, job: CompileJob) -> None:
        """Opens the dump directory of this compile (the N-th: `root/compile-N`)."""
        self.count += 1
        self.current = DumpDir(self.root if self.count == 1 else os.path.join(self.root, f"compile-{self.count}"))

    def stage(self, job: CompileJob, event) -> None:
        """Writes one stage's file into the current compile's dump directory."""
        self.current.stage(job, event)


def observers(prof: Profiler, dump_dir: str | None) -> list[Observer]:
    """What watches every compile of a workload: the profiler, progress, and dumps."""
    return [prof, CompileProgress(), *((DumpEach(dump_dir),) if dump_dir else ())]

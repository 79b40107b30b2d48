"""The named stages a program passes through, the events the compile pipeline emits for
them, and the dump directory that records them.

    ptir              the input program (as parsed or traced), verified
    pass.<name>       the program after each optimizer pass (pass.fold-params: weights folded)
    stablehlo         the lowered StableHLO module
    iree.compile      IREE's compiler run (a time, no file)                      (llvm-cpu)
    iree.<phase>      IREE's twelve compilation phases, input ... vm             (llvm-cpu)
    iree.executables  each dispatch's sources, configured IR, .ll/.s/.o          (llvm-cpu)
    xla.compile       XLA's compiler run (a time, no file)                       (xla-cpu)
    xla.hlo           XLA's optimized HLO                                        (xla-cpu)
    artifact          what the target runs (.vmfb for llvm-cpu)

The names are shared by the CLI, the dumps, the profiler and the tests.  Observers
subscribe to a compile (ptir.pipeline); none of them changes what is compiled.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass

from ..errors import UsageError

IREE_PHASES = ("input", "abi", "preprocessing", "global-optimization", "dispatch-creation", "flow", "stream",
               "executable-sources", "executable-configurations", "executable-targets", "hal", "vm")

TARGET_STAGES = {
    "ref": (),
    "llvm-cpu": ("stablehlo", "iree.compile", *(f"iree.{p}" for p in IREE_PHASES), "iree.executables", "artifact"),
    "xla-cpu": ("stablehlo", "xla.compile", "xla.hlo"),
}

# The profiler's phases, by the stage that starts each.
PHASES = ("trace", "passes", "lower", "compile", "run")


def phase_of(stage: str) -> str:
    """The profiler phase a stage belongs to: trace, passes, lower or compile."""
    if stage == "ptir":
        return "trace"
    if stage.startswith("pass."):
        return "passes"
    if stage == "stablehlo":
        return "lower"
    return "compile"


def stage_names(target: str, passes=(), files_only: bool = True) -> list[str]:
    """Every stage a compile for `target` goes through, in order (`files_only`: those
    that write a file, as a dump lists them)."""
    names = ["ptir", *(f"pass.{p}" for p in passes), *TARGET_STAGES[target]]
    return [n for n in names if not (files_only and n.endswith(".compile"))]


@dataclass(frozen=True)
class StageEvent:
    """One stage of one compile: its IR or artifact (`content`, text or bytes, or `path`,
    a file or folder a compiler wrote that observers may copy until the compile returns),
    and the seconds it took (None for outputs that come apart from their compile's time,
    e.g. IREE's phases)."""

    stage: str
    content: str | bytes | None = None
    ext: str = ""                  # the file extension a dump gives it (".mlir", ".vmfb", "")
    seconds: float | None = None
    start: float | None = None     # time.perf_counter() when the stage began
    path: str | None = None

    @property
    def phase(self) -> str:
        return phase_of(self.stage)


@dataclass(frozen=True)
class CompileJob:
    """What one compile is: the entry's name (a traced function's name, or the entry
    function's) and the target."""

    name: str
    target: str


class Observer:
    """Subscribes to compiles: the pipeline calls these hooks, in this order, and
    never lets an observer change what is compiled.  `wants_files`: the target's
    compiler should write its intermediate stages (IREE's phases) for `stage` events;
    `wants_ir`: PTIR stages should carry the program's text (else their content is None)."""

    wants_files = False
    wants_ir = False   # stage events should carry the program's text (printing it costs time)

    def compile_started(self, job: CompileJob) -> None:
        """A compile begins."""

    def stage(self, job: CompileJob, event: StageEvent) -> None:
        """A stage finished."""

    def compile_finished(self, job: CompileJob, ok: bool) -> None:
        """The compile ended: `ok` is False when it raised."""

    def called(self, job: CompileJob, start: float, seconds: float) -> None:
        """A compiled function ran: from `start` (time.perf_counter()) for `seconds`."""


class Timer:
    """Seconds since construction, and the start time for a StageEvent."""

    def __init__(self):
        self.start = time.perf_counter()

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.start


INDEX = "index.json"


class DumpDir(Observer):
    """Writes every stage of a compile into a folder: numbered files in stage order
    (`00-ptir.ptir`, `03-stablehlo.mlir`, ...) and an `index.json` listing them with
    the seconds each stage took.

    A folder is only ever emptied of what an earlier dump wrote (its index.json says
    what); a non-empty folder without one is refused with a UsageError, so a user's
    files are never deleted."""

    wants_files = True
    wants_ir = True

    def __init__(self, path: str):
        self.path = path
        self.entries: list[dict] = []
        self._prepare()

    def _prepare(self) -> None:
        if os.path.exists(self.path) and not os.path.isdir(self.path):
            raise UsageError(f"--dump-dir {self.path}: exists and is not a folder")
        if os.path.isdir(self.path):
            for name in self._earlier_dump():
                full = os.path.join(self.path, name)
                shutil.rmtree(full) if os.path.isdir(full) and not os.path.islink(full) else os.unlink(full)
        os.makedirs(self.path, exist_ok=True)

    def _earlier_dump(self) -> list[str]:
        """The names an earlier dump in this folder wrote (its index and files), or a
        UsageError when the folder holds anything else."""
        present = set(os.listdir(self.path))
        if not present:
            return []
        try:
            with open(os.path.join(self.path, INDEX), encoding="utf-8") as f:
                written = {e["file"] for e in json.load(f)["stages"] if e.get("file")}
        except (OSError, ValueError, KeyError, TypeError):
            written = None
        nested = {n for n in present if n.startswith("compile-")
                  and os.path.isfile(os.path.join(self.path, n, INDEX))}   # DumpEach's later compiles
        if written is None or not present - {INDEX} <= written | nested:
            raise UsageError(f"--dump-dir {self.path}: the folder is not empty and is not an earlier dump "
                             "(give an empty or new folder; a dump replaces only what a dump wrote)")
        return sorted(present)

    def _name(self, stage: str, ext: str) -> str:
        return f"{sum(1 for e in self.entries if e['file']):02d}-{stage}{ext}"

    def stage(self, job: CompileJob, event: StageEvent) -> None:
        name = None
        if event.content is not None:
            name = self._name(event.stage, event.ext)
            mode = "wb" if isinstance(event.content, bytes) else "w"
            with open(os.path.join(self.path, name), mode) as f:
                f.write(event.content)
        elif event.path is not None:
            name = self._name(event.stage, event.ext)
            copy = shutil.copytree if os.path.isdir(event.path) else shutil.copyfile
            copy(event.path, os.path.join(self.path, name))
        self.entries.append({"stage": event.stage, "file": name,
                             "seconds": None if event.seconds is None else round(event.seconds, 6)})
        with open(os.path.join(self.path, INDEX), "w", encoding="utf-8") as f:
            json.dump({"stages": self.entries}, f, indent=1)

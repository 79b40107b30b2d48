"""The named stages a program passes through, shared by the CLI, the dumps, the
profiler and the tests, and the dump directory that records them.

    ptir            the input program (as parsed or traced)
    pass.<name>     the program after each optimizer pass
    stablehlo       the lowered StableHLO module
    iree.<phase>    IREE's twelve compilation phases, input ... vm       (llvm-cpu)
    iree.executables  each dispatch's sources, configured IR, .ll/.s/.o (llvm-cpu)
    xla.hlo         XLA's optimized HLO                                  (xla-cpu)
    artifact        what the target runs (.vmfb for llvm-cpu)
"""

from __future__ import annotations

import json
import os
import shutil

IREE_PHASES = ("input", "abi", "preprocessing", "global-optimization", "dispatch-creation", "flow", "stream",
               "executable-sources", "executable-configurations", "executable-targets", "hal", "vm")

TARGET_STAGES = {
    "ref": (),
    "llvm-cpu": ("stablehlo", *(f"iree.{p}" for p in IREE_PHASES), "iree.executables", "artifact"),
    "xla-cpu": ("stablehlo", "xla.hlo"),
}


def stage_names(target: str, passes=()) -> list[str]:
    """Every stage a compile for `target` goes through, in order."""
    return ["ptir", *(f"pass.{p}" for p in passes), *TARGET_STAGES[target]]


class DumpDir:
    """Numbered files in stage order (`03-stablehlo.mlir`, ...) and an `index.json`
    listing what was written, with the time each stage took."""

    def __init__(self, path: str):
        self.path = path
        self.entries: list[dict] = []
        if os.path.isdir(path):
            for name in os.listdir(path):     # a fresh dump: never mix two runs
                full = os.path.join(path, name)
                shutil.rmtree(full) if os.path.isdir(full) else os.unlink(full)
        os.makedirs(path, exist_ok=True)

    def _name(self, stage: str, ext: str) -> str:
        return f"{sum(1 for e in self.entries if e['file']):02d}-{stage}{ext}"

    def write(self, stage: str, content, ext: str, seconds: float | None = None) -> str:
        name = self._name(stage, ext)
        mode = "wb" if isinstance(content, bytes) else "w"
        with open(os.path.join(self.path, name), mode) as f:
            f.write(content)
        self._record(stage, name, seconds)
        return name

    def adopt(self, stage: str, source: str, ext: str = "", seconds: float | None = None) -> str:
        """Move a file or folder that a compiler wrote into the dump, under its stage name."""
        name = self._name(stage, ext)
        shutil.move(source, os.path.join(self.path, name))
        self._record(stage, name, seconds)
        return name

    def scratch(self, name: str) -> str:
        """A folder inside the dump for a compiler to write into before `adopt`."""
        p = os.path.join(self.path, f".{name}")
        os.makedirs(p, exist_ok=True)
        return p

    def _record(self, stage, name, seconds):
        self.entries.append({"stage": stage, "file": name,
                             "seconds": None if seconds is None else round(seconds, 6)})
        self.flush()

    def time(self, stage: str, seconds: float) -> None:
        """Record a stage's time without a file (e.g. a compile whose outputs come apart)."""
        self.entries.append({"stage": stage, "file": None, "seconds": round(seconds, 6)})
        self.flush()

    def flush(self) -> None:
        with open(os.path.join(self.path, "index.json"), "w") as f:
            json.dump({"stages": self.entries}, f, indent=1)


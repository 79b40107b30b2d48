"""Lit-style lowering tests: a small PTIR program and the StableHLO lines its lowering
must contain, in one file, as MLIR's FileCheck tests do.

A file in lit/ holds cases separated by a line `// -----`.  A case is

    // RUN: stablehlo [globals|constants]   lower it (params_mode; default arguments)
    // other comments say what the case is about
    module { ... }                          the input program
    // CHECK: "stablehlo.divide"(%arg1     a line of the output holds this text; each CHECK
    // CHECK: "stablehlo.select"            matches a line after the previous one's
    // CHECK-NOT: stablehlo.abs             no line of the output holds this text

The CHECK lines are comments, so a case is itself a PTIR file (`ptirc lower` runs on it).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from passes._lit import split_cases  # the same case format as the pass tests

LIT_DIR = Path(__file__).parent / "lit"
RUN, CHECK, CHECK_NOT = "// RUN:", "// CHECK:", "// CHECK-NOT:"


@dataclass
class Case:
    file: Path
    line: int
    params_mode: str
    source: str
    checks: list[str]
    absent: list[str]

    @property
    def id(self) -> str:
        return f"{self.file.stem}:{self.line}"

    def match(self, text: str) -> str | None:
        """None when `text` satisfies the CHECK lines; otherwise what is missing or present."""
        lines, at = text.splitlines(), 0
        for check in self.checks:
            found = next((i for i in range(at, len(lines)) if check in lines[i]), None)
            if found is None:
                return f"no line after line {at} holds: {check}"
            at = found + 1
        present = [c for c in self.absent if c in text]
        return f"the output holds {present}" if present else None


def load_all() -> list[Case]:
    out = []
    for path in sorted(LIT_DIR.glob("*.ptir")):
        for start, lines in split_cases(path.read_text()):
            runs = [x[len(RUN):].split() for x in lines if x.startswith(RUN)]
            if len(runs) != 1 or runs[0][0] != "stablehlo":
                raise ValueError(f"{path.name}:{start}: a case needs exactly one '{RUN} stablehlo' line")
            mode = runs[0][1] if len(runs[0]) > 1 else "arguments"
            out.append(Case(path, start, mode, "\n".join(lines) + "\n",
                            [x[len(CHECK):].strip() for x in lines if x.startswith(CHECK)],
                            [x[len(CHECK_NOT):].strip() for x in lines if x.startswith(CHECK_NOT)]))
    return out

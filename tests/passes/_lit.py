"""Lit-style pass tests: an input program and its expected output in one small file.

A file in lit/ holds cases separated by a line `// -----`.  A case is

    // RUN: canonicalize,dce             the passes to run, in order (as ptirc opt --passes)
    // other comments say what the case is about
    module { ... }                       the input program
    // CHECK: module attributes {...     the expected output: the canonical text of the
    // CHECK:   func @main(...) ...      result, one line per CHECK, compared exactly

CHECK lines are comments, so a case is itself a PTIR file (`ptirc opt` runs on it).
`python tests/passes/_lit.py` rewrites the CHECK lines from what the passes print now:
review the diff before committing it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

LIT_DIR = Path(__file__).parent / "lit"
SEPARATOR = "// -----"
RUN, CHECK = "// RUN:", "// CHECK:"


@dataclass
class Case:
    file: Path
    line: int            # where the case starts, 1-based
    passes: list[str]
    source: str          # the case's text: the input program (CHECK lines are comments)
    expected: str

    @property
    def id(self) -> str:
        return f"{self.file.stem}:{self.line}"


def split_cases(text: str) -> list[tuple[int, list[str]]]:
    cases, lines, start = [], [], 1
    for i, line in enumerate(text.splitlines(), 1):
        if line.strip() == SEPARATOR:
            cases.append((start, lines))
            lines, start = [], i + 1
        else:
            lines.append(line)
    cases.append((start, lines))
    return [(s, c) for s, c in cases if any(x.strip() for x in c)]


def load(path: Path) -> list[Case]:
    out = []
    for start, lines in split_cases(path.read_text()):
        runs = [x[len(RUN):].strip() for x in lines if x.startswith(RUN)]
        if len(runs) != 1:
            raise ValueError(f"{path.name}:{start}: a case needs exactly one '{RUN}' line")
        checks = [x[len(CHECK):] for x in lines if x.startswith(CHECK)]
        expected = "".join((c[1:] if c.startswith(" ") else c) + "\n" for c in checks)
        out.append(Case(path, start, [p.strip() for p in runs[0].split(",")], "\n".join(lines) + "\n", expected))
    return out


def load_all() -> list[Case]:
    return [c for path in sorted(LIT_DIR.glob("*.ptir")) for c in load(path)]


def run(case: Case) -> str:
    import ptir
    from ptir.passes import run_pipeline

    return str(run_pipeline(ptir.parse(case.source, str(case.file)), case.passes))


def update(path: Path, run=run) -> None:
    """Rewrite the CHECK lines of every case in `path` with the output of its passes
    (`run(case)`: the text they print)."""
    pieces = []
    for case, (_, lines) in zip(load(path), split_cases(path.read_text()), strict=True):
        body = [x for x in lines if not x.startswith(CHECK)]
        while body and not body[-1].strip():
            body.pop()
        body += [f"{CHECK} {x}" if x else CHECK for x in run(case).splitlines()]
        pieces.append("\n".join(body) + "\n")
    path.write_text(f"{SEPARATOR}\n".join(pieces))


if __name__ == "__main__":
    for p in sorted(LIT_DIR.glob("*.ptir")):
        update(p)

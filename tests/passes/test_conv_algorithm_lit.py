"""Lit cases of conv-algorithm with a target: lit_context/*.ptir.

The format is that of lit/ (tests/passes/_lit.py) plus one line naming the PassContext
the passes run with:

    // CONTEXT: target=llvm-cpu cpu=avx2 conv_algorithm=winograd2

`python tests/passes/test_conv_algorithm_lit.py` rewrites the CHECK lines from what the
pass prints now: review the diff before committing it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import ptir
from ptir.passes import PassContext, run_pipeline

try:
    from ._lit import load, update
except ImportError:   # run as a script
    from _lit import load, update

LIT_DIR = Path(__file__).parent / "lit_context"
CONTEXT = "// CONTEXT:"


def context_of(case) -> PassContext:
    """The PassContext named by the case's CONTEXT line (key=value fields of PassContext)."""
    (line,) = [x for x in case.source.splitlines() if x.startswith(CONTEXT)]
    return PassContext(**dict(kv.split("=", 1) for kv in line[len(CONTEXT):].split()))


def run(case) -> str:
    return str(run_pipeline(ptir.parse(case.source, str(case.file)), case.passes, context=context_of(case)))


CASES = [c for p in sorted(LIT_DIR.glob("*.ptir")) for c in load(p)]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_case(case):
    text = run(case)
    assert text == case.expected, f"{case.id}: run `python {__file__}` to see the difference"
    assert str(ptir.parse(text)) == text, "the output does not read back to the same text"


def test_every_algorithm_has_a_case():
    forced = {context_of(c).conv_algorithm for c in CASES}
    assert forced >= {"im2col", "shifted", "winograd2", "winograd4"}


if __name__ == "__main__":
    for p in sorted(LIT_DIR.glob("*.ptir")):
        update(p, run)

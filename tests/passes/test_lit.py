"""The lit cases in lit/: each case's passes turn its input into exactly its CHECK text."""

from __future__ import annotations

from collections import Counter

import pytest

import ptir
from ptir.passes import PASSES, run_pipeline

from ._lit import load_all

CASES = load_all()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_case(case):
    program = ptir.parse(case.source, str(case.file))
    before = str(program)
    result = run_pipeline(program, case.passes)
    text = str(result)
    assert text == case.expected, f"{case.id}: run `python tests/passes/_lit.py` to see the difference"
    assert str(program) == before, "a pass changed its input program"
    shared = {id(op) for f in program.functions.values() for op in f.ops} & \
        {id(op) for f in result.functions.values() for op in f.ops}
    assert not shared, "the result shares ops with the input (a later edit of one would change the other)"
    assert str(ptir.parse(text)) == text, "the output does not read back to the same text"


def test_every_pass_has_three_cases():
    alone = Counter(c.passes[0] for c in CASES if len(c.passes) == 1)
    assert {name: alone[name] for name in PASSES if alone[name] < 3} == {}

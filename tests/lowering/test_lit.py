"""The lit cases in lit/: each case's lowering holds its CHECK lines, in order."""

from __future__ import annotations

import pytest

import ptir
from ptir.lower_stablehlo import lower

from ._lit import load_all

CASES = load_all()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_case(case):
    text = lower(ptir.parse(case.source, str(case.file)), params_mode=case.params_mode).text
    problem = case.match(text)
    assert problem is None, f"{case.id}: {problem}\n{text}"


def test_a_check_can_fail():
    case = CASES[0]
    assert case.match("") is not None

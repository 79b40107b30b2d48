"""Each case against torch, on each target and pipeline, under configs/conformance.json."""

import pytest

from ptir.conformance.runner import CONFIG, run_case, run_error_case
from ptir.conformance.tolerance import load_rules

RULES = load_rules(CONFIG)


def test_case(case, target, pipeline):
    result = run_error_case(case) if case.error is not None else run_case(case, target, pipeline, RULES)
    if result.status == "xfail":
        pytest.xfail(result.message)
    assert result.status in ("ok", "xpass"), result.message

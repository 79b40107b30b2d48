"""Every op lowers, verifies, and runs on XLA and IREE like the `ref` target."""

from __future__ import annotations

import functools
import warnings

import numpy as np
import pytest

import ptir
from ptir.conformance.records import checked_ops
from ptir.dialect.registry import OPS
from ptir.lower_stablehlo import LOWERINGS, lower

from .cases import CASES, Case
from .runners import compile_batches, run_xla

BY_ID = {c.id: c for c in CASES}


def test_every_op_has_exactly_one_rule():
    assert set(LOWERINGS) == set(OPS.values())


def test_every_op_has_cases():
    assert {c.op for c in CASES} | {op.name for op in checked_ops()} == set(OPS)


@functools.cache
def lowered(case_id: str, shardings: str = "sdy") -> str:
    """The case's StableHLO; IREE reads no Shardy, so its modules drop shardings (docs/sharding.md)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return lower(BY_ID[case_id].program, shardings=shardings).text   # lower() runs MLIR's verifier


@functools.cache
def expected(case_id: str) -> list[np.ndarray]:
    case = BY_ID[case_id]
    out = ptir.compile(case.program, "ref")(*case.inputs)
    return list(out) if isinstance(out, tuple) else [out]


@pytest.fixture(scope="module")
def iree_modules():
    return compile_batches({c.id: lowered(c.id, "drop") for c in CASES})


def check(case: Case, got: list[np.ndarray]) -> None:
    want = expected(case.id)
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert g.dtype == w.dtype and g.shape == w.shape, f"got {g.dtype}{g.shape}, want {w.dtype}{w.shape}"
        if w.dtype.kind in "biu":
            np.testing.assert_array_equal(g, w)
        else:
            np.testing.assert_allclose(g.astype(np.float64), w.astype(np.float64), rtol=case.tol.rtol,
                                       atol=case.tol.atol, err_msg=f"tolerance: {case.tol.why}")


@pytest.mark.parametrize("case_id", list(BY_ID))
def test_lowers_and_verifies(case_id):
    assert 'func.func public @main(' in lowered(case_id)


@pytest.mark.parametrize("case_id", list(BY_ID))
def test_xla(case_id):
    case = BY_ID[case_id]
    check(case, run_xla(lowered(case_id), case.inputs))


@pytest.mark.parametrize("case_id", list(BY_ID))
def test_iree(case_id, iree_modules):
    case = BY_ID[case_id]
    fn = iree_modules[case_id]
    if isinstance(fn, Exception):
        raise fn
    check(case, fn(*case.inputs))

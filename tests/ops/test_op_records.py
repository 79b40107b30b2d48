"""The test families generated from each op's record (ptir.conformance.families), for
every registered op that has one, and the proof that a new op needs nothing else: a
throwaway op registered in a fixture is picked up by every family, and a wrong lowering
rule for it is caught."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from ptir.conformance import records
from ptir.conformance.families import (
    check_conformance,
    check_edge_results,
    check_lowering,
    check_reference,
    check_roundtrip,
    check_verifier,
    edge_results,
)
from ptir.conformance.records import FLUSHES_SUBNORMALS, checked_ops, edge_pairs, edge_skipped
from ptir.conformance.runner import PIPELINES, all_cases
from ptir.dialect import dtypes as dt
from ptir.dialect.ops.elementwise import FLOAT_NAMES, unary
from ptir.dialect.registry import OPS, Check, undefine
from ptir.lower_stablehlo import lowering
from ptir.lower_stablehlo.table import unregister
from ptir.runtime import TARGETS

OPS_WITH_RECORDS = [op.name for op in checked_ops()]
COMPILED = [t for t in TARGETS if t != "ref"]


def _pairs(kind: str):
    return [(name, d) for name in OPS_WITH_RECORDS for d in (OPS[name].check.dtypes if kind == "all"
                                                              else OPS[name].check.compare)]


@pytest.mark.parametrize("name,dtype", _pairs("all"))
def test_roundtrip(name, dtype):
    check_roundtrip(OPS[name], dtype)


@pytest.mark.parametrize("name", OPS_WITH_RECORDS)
def test_verifier(name):
    check_verifier(OPS[name])


@pytest.mark.parametrize("name,dtype", [*_pairs("compare"), *[(n, "f64") for n in OPS_WITH_RECORDS
                                                                if "f64" in OPS[n].check.dtypes]])
def test_reference_against_the_oracle(name, dtype):
    check_reference(OPS[name], dtype)


@pytest.mark.parametrize("target", COMPILED)
@pytest.mark.parametrize("name,dtype", _pairs("compare"))
def test_lowering_on_every_target(name, dtype, target):
    check_lowering(OPS[name], target, dtype)


@functools.cache
def _edges(target: str, dtype: str, flush: bool = False):
    return edge_results(target, dtype, flush)   # one compile per target and dtype, shared by its ops' tests


@pytest.mark.parametrize("target", COMPILED)
@pytest.mark.parametrize("name,dtype", [(op.name, d) for op, d in edge_pairs()])
def test_special_values_on_every_target(name, dtype, target):
    if edge_skipped(target, name, dtype):
        pytest.skip(edge_skipped(target, name, dtype))
    flushed = _edges("ref", dtype, True)[name] if target in FLUSHES_SUBNORMALS else None
    check_edge_results(OPS[name], dtype, target, _edges(target, dtype)[name], _edges("ref", dtype)[name], flushed)


def test_every_record_is_in_the_conformance_suite():
    names = {c.name for c in all_cases()}
    missing = [c.name for op in checked_ops() for c in records.conformance_cases(op) if c.name not in names]
    assert not missing


# --- a new op needs its record and its lowering rule, nothing else ---------------------------------

def _cube(x):
    return x * x * x


@pytest.fixture
def cube():
    """ptir.cube: x^3, defined as any elementwise op is, with a record and a lowering rule."""
    unary("cube", _cube, dt.FLOATS, "a float type", "x^3",
          Check(lambda t: t ** 3, FLOAT_NAMES, domain=(-3.0, 3.0), tolerance="transcendental"))
    op = OPS["cube"]

    @lowering(op)
    def _lower_cube(em, op, x):
        return em.hlo("multiply", em.hlo("multiply", x, x), x)

    yield op
    unregister(op)
    undefine(op)


def test_a_new_op_is_picked_up_by_every_family(cube):
    assert cube in checked_ops()
    for dtype in FLOAT_NAMES:
        check_roundtrip(cube, dtype)
    check_verifier(cube)
    for dtype in cube.check.compare:
        check_reference(cube, dtype)
        for target in COMPILED:
            check_lowering(cube, target, dtype)
    for target in TARGETS:
        for pipeline in PIPELINES:
            check_conformance(cube, target, pipeline)
    want, flushed = (edge_results("ref", "f32", flush, [cube])["cube"] for flush in (False, True))
    for target in COMPILED:
        check_edge_results(cube, "f32", target, edge_results(target, "f32", ops=[cube])["cube"], want, flushed)
    assert any(c.name == "cube_f32_3x17" for c in all_cases())


def test_a_wrong_lowering_rule_is_caught(cube):
    unregister(cube)
    lowering(cube)(lambda em, op, x: em.hlo("multiply", x, x))   # x^2, not x^3
    with pytest.raises(AssertionError, match="cube"):
        check_lowering(cube, "xla-cpu", "f32")


def test_a_record_that_misstates_the_dtypes_is_caught(cube, monkeypatch):
    monkeypatch.setattr(cube, "check", Check("torch.exp", ("f32",)))
    with pytest.raises(AssertionError, match="accepts"):
        check_verifier(cube)


def test_a_wrong_reference_is_caught(cube, monkeypatch):
    monkeypatch.setattr(cube, "reference", lambda xs, attrs, out: np.square(xs[0]))
    with pytest.raises(AssertionError):
        check_reference(cube, "f32")

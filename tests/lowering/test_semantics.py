"""Where a backend's compiler departs from the meaning of an op at its edges, the lowering
spells the meaning out; each case here runs on every target (ref, llvm-cpu, xla-cpu)
against the answer PTIR defines (C99 Annex F for pow, clamped starts for dynamic slices)."""

from __future__ import annotations

import numpy as np
import pytest

import ptir
from ptir.conformance.families import check_edges
from ptir.conformance.records import (
    FLUSHES_SUBNORMALS,
    TOLERANCES,
    edge_kept,
    edge_skipped,
    edge_values,
    flush_subnormals,
)
from ptir.dialect import dtypes as dt
from ptir.dialect.program import Builder, Program
from ptir.dialect.types import tensor
from ptir.runtime import TARGETS

POW_TOL = TOLERANCES["transcendental"]


def _program(arg_types, body) -> Program:
    """main(a0, a1, ...) of the given (shape, dtype) arguments -> body(builder, *args)."""
    prog = Program(name="edge")
    b = Builder.new_function(prog, "main", [(f"a{i}", tensor(*t)) for i, t in enumerate(arg_types)])
    b.ret(body(b, *b.args))
    return prog


def _run(prog: Program, target: str, *args):
    return ptir.compile(prog, target=target, passes=())(*args)


def _pow(a: np.ndarray, b: np.ndarray, target: str) -> np.ndarray:
    dtype = dt.from_numpy(a.dtype).name
    return _run(_program([(a.shape, dtype)] * 2, lambda bb, x, y: bb.op("pow", x, y)), target, a, b)


# --- pow: C99 Annex F.9.4.4 -----------------------------------------------------------------------

@pytest.mark.parametrize("target", TARGETS)
def test_pow_of_negative_bases_and_special_cases(target):
    a = np.array([-2, -2, 0, np.nan, -0.5, -np.inf, 1, -2, -np.inf, -0.0, -1], np.float32)
    b = np.array([3, 2, 0, 0, -3, 3, np.nan, 0.5, 2.5, -1, np.inf], np.float32)
    want = np.array([-8, 4, 1, 1, -8, -np.inf, 1, np.nan, np.inf, -np.inf, 1], np.float32)
    check_edges(_pow(a, b, target), want, POW_TOL["f32"][1], f"pow on {target}", [a, b])


@pytest.mark.parametrize("dtype", ["f32", "f16", "bf16", "f64"])
@pytest.mark.parametrize("target", TARGETS)
def test_pow_on_a_grid_of_specials_is_numpy_power(target, dtype):
    if edge_skipped(target, "pow", dtype):
        pytest.skip(edge_skipped(target, "pow", dtype))
    d = dt.from_name(dtype).np_dtype
    values = np.concatenate([edge_values(dtype), np.array([3.0, -0.5, -7.0, 0.25], d)])
    a, b = (g.reshape(-1) for g in np.meshgrid(values, values, indexing="ij"))
    keep = edge_kept(target, "pow", dtype, [a, b])   # not the points a compiler gets wrong (EDGE_SKIPS)

    def power(x, y):
        with np.errstate(all="ignore"):
            return np.power(x.astype(np.float64), y.astype(np.float64)).astype(d)[keep]
    flushed = flush_subnormals(power(flush_subnormals(a), flush_subnormals(b))) if target in FLUSHES_SUBNORMALS \
        else None
    check_edges(_pow(a, b, target)[keep], power(a, b), POW_TOL[dtype][1], f"pow ({dtype}) on {target}",
                [a[keep], b[keep]], flushed)


def _ulps(got: np.ndarray, want: np.ndarray) -> np.ndarray:
    return np.abs(got.view(np.int32).astype(np.int64) - want.view(np.int32).astype(np.int64))


@pytest.mark.parametrize("target", TARGETS)
def test_pow_of_positive_bases_keeps_its_precision(target):
    """The sign and special-case handling leaves |a|^b to the backend's power: within an ulp
    of the correctly rounded result on XLA (and the reference), and within IREE's exp/log
    error on llvm-cpu (measured: at most 8 ulp here, 97 ulp for bases 1e-3..1e3 and
    exponents -10..10)."""
    rng = np.random.default_rng(0)
    a = rng.uniform(0.1, 4.0, 4096).astype(np.float32)
    b = rng.uniform(-3.0, 3.0, 4096).astype(np.float32)
    want = np.power(a.astype(np.float64), b.astype(np.float64)).astype(np.float32)
    assert _ulps(_pow(a, b, target), want).max() <= (16 if target == "llvm-cpu" else 1)


@pytest.mark.parametrize("dtype", ["i64", "i32", "i16", "ui8"])
@pytest.mark.parametrize("target", TARGETS)
def test_integer_pow_with_large_exponents_wraps(target, dtype):
    """XLA and IREE read only an integer exponent's low six bits (3^64 would be 1)."""
    info = np.iinfo(dt.from_name(dtype).np_dtype)
    top = int(info.max)
    pairs = [(3, 64), (3, 65), (2, 64), (5, 127), (7, 100), (1, 77), (2, 5), (3, 63), (3, top), (2, top)]
    pairs += [(255, 129), (254, 200)] if info.min == 0 else [(-3, 101), (-1, top), (-2, 64), (int(info.min), 2)]
    a, b = (np.array(v, info.dtype) for v in zip(*pairs, strict=True))
    want = _pow(a, b, "ref")
    with np.errstate(over="ignore"):
        assert np.array_equal(want, np.power(a, b)), "the reference wraps as numpy does"
    np.testing.assert_array_equal(_pow(a, b, target), want)


# --- dynamic slices: every start clamped into range on its own -----------------------------------

def _nested_slices(x_shape, outer, inner) -> Program:
    """dynamic_slice(dynamic_slice(x, i) of size `outer`, j) of size `inner`."""
    rank = len(x_shape)
    return _program([(x_shape, "f32"), ((rank,), "i32"), ((rank,), "i32")], lambda b, x, i, j: b.op(
        "dynamic_slice", b.op("dynamic_slice", x, i, out=tensor(outer, "f32")), j, out=tensor(inner, "f32")))


@pytest.mark.parametrize("i,j", [(2, 0), (0, 2), (5, -3), (1, 1), (-7, 9)])
@pytest.mark.parametrize("target", TARGETS)
def test_nested_dynamic_slices_clamp_each_start(target, i, j):
    # [10, 20, 30][clamp(i) : +2] then [clamp(j) : +1]: XLA folded the two into one clamp.
    want = {(2, 0): 20, (0, 2): 20, (5, -3): 20, (1, 1): 30, (-7, 9): 20}[i, j]
    got = _run(_nested_slices((3,), (2,), (1,)), target, np.array([10, 20, 30], np.float32),
               np.array([i], np.int32), np.array([j], np.int32))
    np.testing.assert_array_equal(got, np.array([want], np.float32))


@pytest.mark.parametrize("target", TARGETS)
def test_nested_dynamic_slices_in_two_dims(target):
    x = np.arange(30, dtype=np.float32).reshape(5, 6)
    prog = _nested_slices((5, 6), (3, 4), (2, 2))
    for i, j in (([4, -1], [0, 5]), ([9, 9], [-2, 2]), ([1, 2], [1, 1])):
        i, j = np.array(i, np.int32), np.array(j, np.int32)
        ci = np.clip(i, 0, [2, 2])
        cj = np.clip(j, 0, [1, 2])
        want = x[ci[0] + cj[0]:ci[0] + cj[0] + 2, ci[1] + cj[1]:ci[1] + cj[1] + 2]
        np.testing.assert_array_equal(_run(prog, target, x, i, j), want, err_msg=f"starts {i}, {j}")


@pytest.mark.parametrize("i,j,want", [(2, 5, [10, 20, 99]), (0, -1, [99, 20, 30]), (5, -3, [10, 99, 30]),
                                      (-4, 9, [10, 99, 30])])
@pytest.mark.parametrize("target", TARGETS)
def test_a_window_updated_in_place_clamps_each_start(target, i, j, want):
    # x with its window at clamp(i) (2 wide) replaced by that window updated at clamp(j).
    def body(b, x, u, si, sj):
        window = b.op("dynamic_slice", x, si, out=tensor((2,), "f32"))
        return b.op("dynamic_update_slice", x, b.op("dynamic_update_slice", window, u, sj), si)
    prog = _program([((3,), "f32"), ((1,), "f32"), ((1,), "i32"), ((1,), "i32")], body)
    got = _run(prog, target, np.array([10, 20, 30], np.float32), np.array([99], np.float32),
               np.array([i], np.int32), np.array([j], np.int32))
    np.testing.assert_array_equal(got, np.array(want, np.float32))

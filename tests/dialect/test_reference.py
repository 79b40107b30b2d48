"""The reference semantics of every op, checked against torch (or numpy / jax.lax where torch
has no such op), edge cases included (StableHLO's interpreter tests)."""

from __future__ import annotations

import math
import re

import ml_dtypes
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import ptir
from ptir.conformance.records import checked_ops
from ptir.dialect import OPS, tensor

from ._util import run_op, run_text

RNG = np.random.default_rng(1234)
SPECIAL = np.array([0.0, -0.0, 1.0, -1.0, 0.5, -2.5, 3.0, 1e-30, -1e30, np.inf, -np.inf, np.nan], dtype=np.float64)
def randn(*shape, dtype=np.float32):
    return RNG.standard_normal(shape).astype(dtype)


def t(x):
    return torch.from_numpy(np.ascontiguousarray(x))


def close(got, want, rtol=1e-6, atol=0.0):
    want = want.numpy() if isinstance(want, torch.Tensor) else np.asarray(want)
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    assert got.shape == want.shape, (got.shape, want.shape)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, equal_nan=True)


def exact(got, want):
    want = want.numpy() if isinstance(want, torch.Tensor) else np.asarray(want)
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    assert got.shape == want.shape, (got.shape, want.shape)
    np.testing.assert_array_equal(got, want)


# --- elementwise ---------------------------------------------------------------------------------

# The elementwise ops with a record (OpDef.check) are checked against their torch oracle by
# tests/ops/test_op_records.py, specials included; here are the edges a record leaves out.

def test_sign_of_nan_is_nan():
    x = np.array([np.nan, -0.0, 0.0, -np.inf, np.inf, -3.5, 2.0], np.float32)
    got = run_op("sign", x)
    want = torch.sign(t(x)).numpy()
    want[0] = np.nan   # StableHLO: the sign of NaN is NaN (torch says 0)
    exact(got, want)


def test_unary_float_extremes():
    """Values far outside the records' domains: results saturate as torch's do."""
    x = np.array([1e-30, -1e30, -30.0, -100.0, 30.0, 1e-8, 7.5e-3], np.float64)
    for name, fn in (("exp", torch.exp), ("tanh", torch.tanh), ("logistic", torch.sigmoid), ("erf", torch.erf)):
        for dtype in (np.float32, np.float64):
            with np.errstate(over="ignore"):
                xs = x.astype(dtype)
            close(run_op(name, xs), fn(t(xs)), rtol=4e-7 if dtype == np.float32 else 1e-14,
                  atol=1e-40 if dtype == np.float32 else 0.0)


@pytest.mark.parametrize("dtype", [np.int8, np.int32, np.int64, np.uint8])
def test_integer_unary(dtype):
    info = np.iinfo(dtype)
    x = np.array([0, 1, 2, 7, info.max, info.min, info.min + 1] + ([-1, -7] if info.min < 0 else []), dtype=dtype)
    exact(run_op("not", x), torch.bitwise_not(t(x)))
    if dtype != np.uint8:   # torch has no negative for uint8; numpy wraps the same way
        exact(run_op("neg", x), torch.neg(t(x)))
        exact(run_op("abs", x), torch.abs(t(x)))
        exact(run_op("sign", x), torch.sign(t(x)))
    else:
        exact(run_op("neg", x), (-x.astype(np.int64)).astype(np.uint8))


def test_not_i1():
    p = np.array([[True, False], [False, False]])
    exact(run_op("not", p), torch.logical_not(t(p)))


def test_rem_is_exact_where_torch_float_fmod_is_not():
    a = np.array([-1e30, 1e30, 7.5, -7.5, 1e-30], np.float32)
    b = np.array([1e-30, 3.0, -2.0, 2.0, 1e30], np.float32)
    with np.errstate(invalid="ignore"):
        exact(run_op("rem", a, b), np.fmod(a, b))


def test_max_min_propagate_nan():
    a = np.array([np.nan, 1.0, np.nan, -np.inf], np.float32)
    b = np.array([2.0, np.nan, np.nan, np.inf], np.float32)
    for name, fn in (("max", torch.maximum), ("min", torch.minimum)):
        exact(run_op(name, a, b), fn(t(a), t(b)))


INT_DTYPES = [np.int8, np.int16, np.int32, np.int64, np.uint8]


def _int_pairs(dtype):
    info = np.iinfo(dtype)
    vals = [0, 1, 2, 3, 7, info.max, info.min]
    if info.min < 0:
        vals += [-1, -2, -3, -7, info.min + 1]
    a = np.repeat(vals, len(vals)).astype(dtype)
    b = np.tile(vals, len(vals)).astype(dtype)
    return a, b


@pytest.mark.parametrize("dtype", INT_DTYPES)
def test_integer_arithmetic(dtype):
    a, b = _int_pairs(dtype)
    for name, fn in (("add", torch.add), ("sub", torch.sub), ("mul", torch.mul), ("max", torch.maximum),
                     ("min", torch.minimum)):
        exact(run_op(name, a, b), fn(t(a), t(b)))


@pytest.mark.parametrize("dtype", INT_DTYPES)
def test_integer_div_truncates_and_divide_by_zero_is_minus_one(dtype):
    a, b = _int_pairs(dtype)
    got = run_op("div", a, b)
    nz = b != 0
    overflow = (a == np.iinfo(dtype).min) & (b.astype(np.int64) == -1) if np.iinfo(dtype).min < 0 else ~nz & nz
    ok = nz & ~overflow
    exact(got[ok], torch.div(t(a[ok]), t(b[ok]), rounding_mode="trunc"))
    exact(got[~nz], np.full((~nz).sum(), -1).astype(dtype))       # x / 0 = -1 (all ones)
    exact(got[overflow], a[overflow])                               # MIN / -1 wraps to MIN
    if np.iinfo(dtype).min < 0:
        # signs: 7 / -2 = -3, -7 / 2 = -3, -7 / -2 = 3
        s = np.array([7, -7, -7, 7], dtype)
        d = np.array([-2, 2, -2, 2], dtype)
        exact(run_op("div", s, d), torch.div(t(s), t(d), rounding_mode="trunc"))


@pytest.mark.parametrize("dtype", INT_DTYPES)
def test_integer_rem_has_the_dividend_sign_and_rem_zero_is_x(dtype):
    a, b = _int_pairs(dtype)
    got = run_op("rem", a, b)
    nz = b != 0
    exact(got[nz], torch.fmod(t(a[nz]), t(b[nz])))
    exact(got[~nz], a[~nz])
    if np.iinfo(dtype).min < 0:
        s = np.array([7, -7, -7, 7], dtype)
        d = np.array([-2, 2, -2, 2], dtype)
        got = run_op("rem", s, d)
        exact(got, torch.fmod(t(s), t(d)))
        assert list(np.sign(got)) == list(np.sign(s))


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.int8])
def test_integer_pow(dtype):
    base = np.repeat(np.arange(-3, 4), 5).astype(dtype)
    exp_ = np.tile(np.arange(0, 5), 7).astype(dtype)
    exact(run_op("pow", base, exp_), torch.pow(t(base), t(exp_)))
    # negative exponents: the truncated real power (1 and -1 keep magnitude 1, others go to 0)
    base = np.repeat([-3, -2, -1, 1, 2, 3], 3).astype(dtype)
    exp_ = np.tile([-1, -2, -3], 6).astype(dtype)
    want = np.array([math.trunc(float(x) ** int(e)) for x, e in zip(base, exp_, strict=True)], dtype=dtype)
    exact(run_op("pow", base, exp_), want)


@pytest.mark.parametrize("name,fb,fi", [("and", torch.logical_and, torch.bitwise_and),
                                        ("or", torch.logical_or, torch.bitwise_or),
                                        ("xor", torch.logical_xor, torch.bitwise_xor)])
def test_logical_and_bitwise(name, fb, fi):
    p = np.array([True, True, False, False])
    q = np.array([True, False, True, False])
    exact(run_op(name, p, q), fb(t(p), t(q)))
    for dtype in (np.int8, np.int32, np.int64, np.uint8):
        a, b = _int_pairs(dtype)
        exact(run_op(name, a, b), fi(t(a), t(b)))


@pytest.mark.parametrize("direction,fn", [("lt", torch.lt), ("le", torch.le), ("eq", torch.eq), ("ne", torch.ne),
                                          ("ge", torch.ge), ("gt", torch.gt)])
def test_compare(direction, fn):
    a = np.repeat(SPECIAL, len(SPECIAL)).astype(np.float32)
    b = np.tile(SPECIAL, len(SPECIAL)).astype(np.float32)
    got = run_op("compare", a, b, direction=direction)
    exact(got, fn(t(a), t(b)))
    nan = np.isnan(a) | np.isnan(b)
    assert got[nan].all() if direction == "ne" else not got[nan].any()
    ai, bi = _int_pairs(np.int32)
    exact(run_op("compare", ai, bi, direction=direction), fn(t(ai), t(bi)))
    p = np.array([True, True, False, False])
    q = np.array([True, False, True, False])
    exact(run_op("compare", p, q, direction=direction), fn(t(p), t(q)))


def test_select():
    p = RNG.random((3, 4)) < 0.5
    a, b = randn(3, 4), randn(3, 4)
    exact(run_op("select", p, a, b), torch.where(t(p), t(a), t(b)))
    exact(run_op("select", p, p, ~p), torch.where(t(p), t(p), t(~p)))


# --- cast ----------------------------------------------------------------------------------------

def _saturating(x: float, info) -> int:
    if math.isnan(x):
        return 0
    if math.isinf(x):
        return int(info.max) if x > 0 else int(info.min)
    return max(int(info.min), min(int(info.max), math.trunc(x)))


@pytest.mark.parametrize("to", [np.int8, np.int16, np.int32, np.int64, np.uint8])
@pytest.mark.parametrize("src", [np.float16, ml_dtypes.bfloat16, np.float32, np.float64])
def test_cast_float_to_int_truncates_saturates_and_nan_is_zero(src, to):
    vals = [0.0, -0.0, 0.5, -0.5, 1.9, -1.9, 2.5, -2.5, 100.7, -100.7, 127.0, 128.0, -129.0, 255.9, 256.0, 3e4, -3e4,
            6e4, 2.0 ** 31, -(2.0 ** 31) - 1e3, 2.0 ** 40, 2.0 ** 63, -(2.0 ** 63), 1e30, -1e30, np.inf, -np.inf,
            np.nan]
    with np.errstate(over="ignore"):
        x = np.array(vals).astype(src)
    got = run_op("cast", x, out=tensor(x.shape, to))
    info = np.iinfo(to)
    want = np.array([_saturating(float(v), info) for v in x], dtype=to)
    exact(got, want)


def test_cast_between_floats_and_ints():
    x = np.concatenate([SPECIAL, RNG.standard_normal(20) * 1e3]).astype(np.float32)
    for to, tdt in ((np.float16, torch.float16), (ml_dtypes.bfloat16, torch.bfloat16), (np.float64, torch.float64)):
        got = run_op("cast", x, out=tensor(x.shape, to))
        want = t(x).to(tdt).float().numpy()
        np.testing.assert_array_equal(got.astype(np.float32), want)
    i = np.array([0, 1, -1, 2 ** 24 + 1, -(2 ** 31), 2 ** 31 - 1], np.int32)
    exact(run_op("cast", i, out=tensor(i.shape, np.float32)), t(i).to(torch.float32))
    # integers wrap
    exact(run_op("cast", i, out=tensor(i.shape, np.int8)), t(i).to(torch.int8))
    exact(run_op("cast", i, out=tensor(i.shape, np.uint8)), t(i).to(torch.uint8))
    # to i1 means != 0, NaN included; from i1 gives 0 / 1
    exact(run_op("cast", x, out=tensor(x.shape, np.bool_)), x != 0)
    exact(run_op("cast", i, out=tensor(i.shape, np.bool_)), t(i).to(torch.bool))
    p = np.array([True, False])
    exact(run_op("cast", p, out=tensor(p.shape, np.float32)), t(p).to(torch.float32))
    exact(run_op("cast", p, out=tensor(p.shape, np.int64)), t(p).to(torch.int64))


# --- constant, iota, shape ops -------------------------------------------------------------------

def test_constant_and_iota():
    text = """
    func @main() -> (tensor<2x3xf32>, tensor<3x4xi32>, tensor<5xf16>, tensor<2x3xi1>) {
      %c = ptir.constant dense<[[1.0, -2.0, 3.5], [nan, inf, -0.0]]> : tensor<2x3xf32>
      %i = ptir.iota {axis = -1} : tensor<3x4xi32>
      %f = ptir.iota {axis = 0} : tensor<5xf16>
      %s = ptir.constant dense<true> : tensor<2x3xi1>
      return %c, %i, %f, %s
    }
    """
    c, i, f, s = run_text(text)
    exact(c, np.array([[1.0, -2.0, 3.5], [np.nan, np.inf, -0.0]], np.float32))
    assert np.signbit(c[1, 2])
    exact(i, torch.arange(4, dtype=torch.int32).expand(3, 4))
    exact(f, torch.arange(5, dtype=torch.float16))
    exact(s, np.ones((2, 3), bool))
    exact(run_op("iota", out=tensor((2, 0, 3), np.int64), axis=1), np.zeros((2, 0, 3), np.int64))


def test_reshape_broadcast_transpose():
    x = randn(2, 3, 4)
    exact(run_op("reshape", x, out=tensor((4, 6), np.float32)), t(x).reshape(4, 6))
    exact(run_op("reshape", x, out=tensor((24,), np.float32)), t(x).reshape(24))
    exact(run_op("reshape", np.float32(3.0).reshape(1, 1), out=tensor((), np.float32)), np.float32(3.0))
    exact(run_op("reshape", np.zeros((0, 3), np.float32), out=tensor((3, 0, 5), np.float32)),
          np.zeros((3, 0, 5), np.float32))
    b = randn(3, 1)
    exact(run_op("broadcast_to", b, out=tensor((2, 3, 5), np.float32)), torch.broadcast_to(t(b), (2, 3, 5)))
    exact(run_op("broadcast_to", np.float32(2.0).reshape(()), out=tensor((2, 2), np.float32)), np.full((2, 2), 2.0,
                                                                                                      np.float32))
    exact(run_op("broadcast_to", b, out=tensor((0, 3, 0), np.float32)), np.zeros((0, 3, 0), np.float32))
    for perm in ([2, 0, 1], [0, 1, 2], [1, 0, 2]):
        exact(run_op("transpose", x, perm=perm), t(x).permute(*perm))


@pytest.mark.parametrize("start,limit,stride", [([0, 0], [4, 6], [1, 1]), ([1, 2], [4, 6], [2, 3]),
                                                ([3, 5], [4, 6], [5, 7]), ([2, 0], [2, 6], [1, 1]),
                                                ([0, 1], [4, 6], [4, 1])])
def test_slice(start, limit, stride):
    x = randn(4, 6)
    want = t(x)[start[0]:limit[0]:stride[0], start[1]:limit[1]:stride[1]]
    exact(run_op("slice", x, start=start, limit=limit, stride=stride), want)


def test_concat():
    a, b, c = randn(2, 3), randn(2, 0), randn(2, 4)
    exact(run_op("concat", a, b, c, axis=-1), torch.cat([t(a), t(b), t(c)], dim=1))
    exact(run_op("concat", a, axis=0), t(a))
    d = randn(0, 3)
    exact(run_op("concat", d, a, d, axis=0), torch.cat([t(d), t(a), t(d)], dim=0))


@pytest.mark.parametrize("low,high,interior", [([1, 2], [3, 0], [0, 0]), ([-1, 0], [0, -2], [0, 0]),
                                               ([0, 0], [0, 0], [1, 2]), ([-2, 1], [-3, 2], [2, 1]),
                                               ([2, -5], [1, 3], [0, 1]), ([0, 0], [0, 0], [0, 0])])
@pytest.mark.parametrize("value", [0.0, -1.5, float("-inf"), float("nan")])
def test_pad(low, high, interior, value):
    from jax import lax  # StableHLO's pad itself, through XLA

    x = randn(4, 3)
    got = run_op("pad", x, low=low, high=high, interior=interior, value=value)
    want = np.asarray(lax.pad(x, np.float32(value), list(zip(low, high, interior, strict=True))))
    exact(got, want)
    if not any(interior):   # torch's pad agrees where it can (negative pads crop)
        exact(got, F.pad(t(x), (low[1], high[1], low[0], high[0]), value=value))


def test_pad_integers_bool_and_empty():
    x = np.arange(6, dtype=np.int32).reshape(2, 3)
    exact(run_op("pad", x, low=[1, 0], high=[0, 1], value=7.0), F.pad(t(x), (0, 1, 1, 0), value=7))
    p = np.array([True, False])
    exact(run_op("pad", p, low=[1], high=[1], value=1.0), np.array([True, True, False, True]))
    e = np.zeros((0, 2), np.float32)
    exact(run_op("pad", e, low=[1, 0], high=[1, 0], interior=[3, 0], value=2.0), np.full((2, 2), 2.0, np.float32))


# --- reductions ----------------------------------------------------------------------------------

@pytest.mark.parametrize("axes", [[0], [1], [-1], [0, 2], [-1, -3], [], [0, 1, 2]])
@pytest.mark.parametrize("keepdims", [False, True])
def test_reduce(axes, keepdims):
    x = randn(2, 3, 4, dtype=np.float64)
    dims = tuple(a % 3 for a in axes)
    fns = {"sum": lambda v: torch.sum(v, dims, keepdim=keepdims) if dims else v,
           "max": lambda v: torch.amax(v, dims, keepdim=keepdims) if dims else v,
           "min": lambda v: torch.amin(v, dims, keepdim=keepdims) if dims else v,
           "prod": lambda v: torch.prod(v.flatten(), 0).reshape([1] * 3 if keepdims else [])
           if dims == (0, 1, 2) else (v if not dims else None)}
    for kind, fn in fns.items():
        want = fn(t(x))
        if want is None:   # torch.prod takes one dim: use numpy
            want = np.prod(x, axis=dims, keepdims=keepdims)
        close(run_op("reduce", x, kind=kind, axes=axes, keepdims=keepdims), want, rtol=1e-13)


def test_reduce_empty_and_special():
    e = np.zeros((3, 0), np.float32)
    exact(run_op("reduce", e, kind="sum", axes=[1]), torch.sum(t(e), 1))
    exact(run_op("reduce", e, kind="prod", axes=[1]), torch.prod(t(e), 1))
    exact(run_op("reduce", e, kind="max", axes=[1]), np.max(e, axis=1, initial=-np.inf))
    exact(run_op("reduce", e, kind="min", axes=[1]), np.min(e, axis=1, initial=np.inf))
    exact(run_op("reduce", e, kind="sum", axes=[0]), np.zeros(0, np.float32))
    ei = np.zeros((0,), np.int32)
    exact(run_op("reduce", ei, kind="max", axes=[0]), np.array(np.iinfo(np.int32).min, np.int32))
    exact(run_op("reduce", ei, kind="min", axes=[0]), np.array(np.iinfo(np.int32).max, np.int32))
    x = np.array([[1.0, np.nan, 3.0], [np.inf, -np.inf, 0.0]], np.float32)
    for kind, fn in (("sum", torch.sum), ("max", torch.amax), ("min", torch.amin), ("prod", torch.prod)):
        exact(run_op("reduce", x, kind=kind, axes=[1]), fn(t(x), 1))
    p = np.array([[True, False], [True, True]])
    exact(run_op("reduce", p, kind="max", axes=[1]), torch.any(t(p), 1))
    exact(run_op("reduce", p, kind="min", axes=[1]), torch.all(t(p), 1))
    i = np.array([100, 100, 100], np.int8)
    exact(run_op("reduce", i, kind="sum", axes=[0], accum=ptir.dialect.dtypes.i32), torch.sum(t(i), 0).to(torch.int8))


def test_reduce_low_precision():
    x = RNG.standard_normal((4, 300)).astype(np.float16)
    got = run_op("reduce", x, kind="sum", axes=[1], accum=ptir.dialect.dtypes.f32)
    want = torch.sum(t(x).double(), 1).half().numpy()
    np.testing.assert_allclose(got.astype(np.float32), want.astype(np.float32), rtol=2e-3)


@pytest.mark.parametrize("name,fn", [("argmax", torch.argmax), ("argmin", torch.argmin)])
def test_argmax_argmin(name, fn):
    x = randn(3, 5, 4)
    for axis in (0, 1, 2, -1, -3):
        for keepdims in (False, True):
            got = run_op(name, x, axis=axis, keepdims=keepdims)
            exact(got, fn(t(x), dim=axis, keepdim=keepdims).to(torch.int32))
    got = run_op(name, x, axis=1, out=tensor((3, 4), np.int64))
    exact(got, fn(t(x), dim=1))


@pytest.mark.parametrize("name,fn", [("argmax", torch.argmax), ("argmin", torch.argmin)])
def test_arg_ties_take_the_first_index_and_nan_wins(name, fn):
    x = np.array([[1.0, 3.0, 3.0, 0.0, 0.0], [2.0, 2.0, 2.0, 2.0, 2.0], [1.0, np.nan, 5.0, np.nan, -1.0],
                  [-np.inf, -np.inf, np.inf, np.inf, 0.0]], np.float32)
    got = run_op(name, x, axis=1)
    exact(got, fn(t(x), dim=1).to(torch.int32))
    i = np.array([[4, 9, 9, -3, -3], [0, 0, 0, 0, 0]], np.int32)
    exact(run_op(name, i, axis=-1), fn(t(i), dim=1).to(torch.int32))
    one = randn(4, 1)
    exact(run_op(name, one, axis=1), np.zeros(4, np.int32))
    exact(run_op(name, np.zeros((0, 3), np.float32), axis=1), np.zeros(0, np.int32))


@pytest.mark.parametrize("kind", ["sum", "max", "min"])
@pytest.mark.parametrize("window,strides,padding", [((2, 2), (2, 2), ((0, 0), (0, 0))),
                                                    ((3, 3), (1, 2), ((1, 1), (2, 0))),
                                                    ((1, 4), (3, 1), ((0, 2), (1, 1))),
                                                    ((5, 6), (1, 1), ((0, 0), (0, 0)))])
def test_reduce_window(kind, window, strides, padding):
    from jax import lax

    x = randn(2, 3, 5, 6)
    attrs = dict(kind=kind, window=(1, 1) + window, strides=(1, 1) + strides, padding=((0, 0), (0, 0)) + padding)
    got = run_op("reduce_window", x, **attrs)
    init, op = {"sum": (0.0, lax.add), "max": (-np.inf, lax.max), "min": (np.inf, lax.min)}[kind]
    want = np.asarray(lax.reduce_window(x, np.float32(init), op, attrs["window"], attrs["strides"], attrs["padding"]))
    close(got, want, rtol=1e-6, atol=1e-6)
    if padding == ((0, 0), (0, 0)) and kind != "min":   # torch's pooling agrees where it applies
        tw = F.max_pool2d(t(x), window, strides) if kind == "max" else \
            F.avg_pool2d(t(x), window, strides, divisor_override=1)
        close(got, tw, rtol=1e-6, atol=1e-6)


def test_reduce_window_max_pool_with_padding_and_ints():
    x = randn(1, 2, 7, 7)
    got = run_op("reduce_window", x, kind="max", window=[1, 1, 3, 3], strides=[1, 1, 2, 2],
                 padding=[[0, 0], [0, 0], [1, 1], [1, 1]])
    exact(got, F.max_pool2d(t(x), 3, 2, padding=1))
    i = RNG.integers(-50, 50, (1, 1, 4, 4)).astype(np.int32)
    got = run_op("reduce_window", i, kind="max", window=[1, 1, 2, 2], padding=[[0, 0], [0, 0], [1, 0], [1, 0]])
    want = F.max_pool2d(F.pad(t(i).double(), (1, 0, 1, 0), value=-1e9), 2, 1).to(torch.int32)
    exact(got, want)


def _topk_reference(x: np.ndarray, k: int, axis: int, largest: bool):
    """Stable sort: ties keep the smaller index first; NaN counts as the largest."""
    v, i = torch.sort(t(x), dim=axis, descending=largest, stable=True)
    return v.narrow(axis, 0, k), i.narrow(axis, 0, k).to(torch.int32)


@pytest.mark.parametrize("largest", [True, False])
def test_top_k(largest):
    x = randn(3, 7, 5)
    for axis in (-1, 0, 1):
        for k in (0, 1, 3, x.shape[axis]):
            vals, idx = run_op("top_k", x, k=k, axis=axis, largest=largest)
            wv, wi = _topk_reference(x, k, axis, largest)
            exact(vals, wv)
            exact(idx, wi)
            tv, ti = torch.topk(t(x), k, dim=axis, largest=largest, sorted=True)
            exact(vals, tv)    # torch.topk gives the same values (no ties in random data)
            exact(idx, ti.to(torch.int32))


def test_top_k_ties_nan_and_ints():
    x = np.array([[1.0, 3.0, 3.0, np.nan, 0.0, 3.0, np.nan, -np.inf], [2.0] * 8], np.float32)
    for largest in (True, False):
        vals, idx = run_op("top_k", x, k=5, largest=largest)
        wv, wi = _topk_reference(x, 5, -1, largest)
        exact(vals, wv)
        exact(idx, wi)
    i = np.array([[5, -1, 5, 7, -1, 7, 0]], np.int64)
    for largest in (True, False):
        vals, idx = run_op("top_k", i, k=7, largest=largest)
        wv, wi = _topk_reference(i, 7, -1, largest)
        exact(vals, wv)
        exact(idx, wi)


# --- dot_general and conv ------------------------------------------------------------------------

def test_dot_general():
    a, b = randn(4, 8, dtype=np.float64), randn(8, 5, dtype=np.float64)
    close(run_op("dot_general", a, b, contract_lhs=[1], contract_rhs=[0]), t(a) @ t(b), rtol=1e-12)
    close(run_op("dot_general", a, b.T.copy(), contract_lhs=[-1], contract_rhs=[-1]), t(a) @ t(b), rtol=1e-12)
    x, y = randn(3, 4, 6, 2), randn(6, 3, 5, 2)
    got = run_op("dot_general", x, y, batch_lhs=[0, 3], batch_rhs=[1, 3], contract_lhs=[2], contract_rhs=[0])
    close(got, torch.einsum("bimd,mbjd->bdij", t(x), t(y)), rtol=1e-5, atol=1e-6)
    # outer product (no contraction), zero-size contraction, zero-size free dims
    u, v = randn(3), randn(4)
    close(run_op("dot_general", u, v, contract_lhs=[], contract_rhs=[]), torch.outer(t(u), t(v)))
    z = run_op("dot_general", randn(3, 0), randn(0, 2), contract_lhs=[1], contract_rhs=[0])
    exact(z, np.zeros((3, 2), np.float32))
    exact(run_op("dot_general", randn(0, 4), randn(4, 2), contract_lhs=[1], contract_rhs=[0]),
          np.zeros((0, 2), np.float32))
    ia, ib = RNG.integers(-9, 9, (3, 4)).astype(np.int32), RNG.integers(-9, 9, (4, 2)).astype(np.int32)
    exact(run_op("dot_general", ia, ib, contract_lhs=[1], contract_rhs=[0]), t(ia) @ t(ib))


CONV2D = [
    # (N, C, H, W, O, kh, kw, stride, padding, dilation, groups)
    (2, 3, 9, 8, 4, 3, 3, (1, 1), ((0, 0), (0, 0)), (1, 1), 1),
    (1, 4, 9, 10, 6, 3, 2, (2, 3), ((1, 1), (0, 0)), (1, 1), 2),
    (1, 2, 11, 9, 3, 3, 3, (1, 2), ((2, 0), (1, 3)), (2, 1), 1),
    (2, 6, 7, 7, 6, 3, 3, (1, 1), ((1, 1), (1, 1)), (1, 1), 6),      # depthwise
    (1, 4, 8, 8, 8, 3, 3, (2, 2), ((1, 1), (1, 1)), (2, 2), 4),      # depthwise, channel multiplier 2
    (1, 3, 5, 5, 2, 5, 5, (1, 1), ((0, 0), (0, 0)), (1, 1), 1),      # kernel covers the input
    (1, 1, 1, 1, 1, 1, 1, (1, 1), ((0, 0), (0, 0)), (1, 1), 1),
    (0, 2, 4, 4, 3, 2, 2, (1, 1), ((0, 0), (0, 0)), (1, 1), 1),      # empty batch
]


def _torch_conv2d(x, w, stride, padding, dilation, groups):
    xp = F.pad(t(x), (padding[1][0], padding[1][1], padding[0][0], padding[0][1]))
    return F.conv2d(xp, t(w), stride=stride, dilation=dilation, groups=groups)


@pytest.mark.parametrize("case", CONV2D)
def test_conv2d_nchw_and_nhwc(case):
    n, c, h, w_, o, kh, kw, stride, padding, dilation, groups = case
    x = randn(n, c, h, w_, dtype=np.float64)
    w = randn(o, c // groups, kh, kw, dtype=np.float64)
    want = _torch_conv2d(x, w, stride, padding, dilation, groups)
    attrs = dict(strides=stride, padding=padding, dilation=dilation, groups=groups)
    close(run_op("conv", x, w, **attrs), want, rtol=1e-10, atol=1e-12)
    xh = np.ascontiguousarray(x.transpose(0, 2, 3, 1))       # NHWC
    wh = np.ascontiguousarray(w.transpose(2, 3, 1, 0))       # HWIO
    got = run_op("conv", xh, wh, layout="nhwc", **attrs)
    close(got, want.permute(0, 2, 3, 1), rtol=1e-10, atol=1e-12)


def test_conv1d_conv3d_and_f32():
    x, w = randn(2, 4, 11), randn(6, 2, 3)
    close(run_op("conv", x, w, strides=[2], padding=[[1, 2]], dilation=[2], groups=2),
          F.conv1d(F.pad(t(x), (1, 2)), t(w), stride=2, dilation=2, groups=2), rtol=1e-5, atol=1e-5)
    x3, w3 = randn(1, 2, 5, 6, 4), randn(3, 2, 2, 3, 2)
    close(run_op("conv", x3, w3, padding=[[1, 0], [0, 1], [1, 1]], strides=[1, 2, 1]),
          F.conv3d(F.pad(t(x3), (1, 1, 0, 1, 1, 0)), t(w3), stride=(1, 2, 1)), rtol=1e-5, atol=1e-5)
    close(run_op("conv", np.ascontiguousarray(x3.transpose(0, 2, 3, 4, 1)),
                 np.ascontiguousarray(w3.transpose(2, 3, 4, 1, 0)), layout="nhwc"),
          F.conv3d(t(x3), t(w3)).permute(0, 2, 3, 4, 1), rtol=1e-5, atol=1e-5)
    xi = RNG.integers(-5, 5, (1, 2, 6, 6)).astype(np.int32)
    wi = RNG.integers(-5, 5, (3, 2, 3, 3)).astype(np.int32)
    exact(run_op("conv", xi, wi), F.conv2d(t(xi).double(), t(wi).double()).to(torch.int32))


# --- indexing ------------------------------------------------------------------------------------

@pytest.mark.parametrize("idx_dtype", [np.int32, np.int64])
def test_take(idx_dtype):
    x = randn(5, 4, 3)
    idx = np.array([[4, 0], [2, 2], [1, 3]], idx_dtype)
    for axis in (0, 1, -1):
        i = idx % x.shape[axis]
        got = run_op("take", x, i, axis=axis)
        want = torch.index_select(t(x), axis, t(i.reshape(-1)).long())
        shape = x.shape[:axis % 3] + i.shape + x.shape[axis % 3 + 1:]
        exact(got, want.reshape(shape))
        exact(got, np.take(x, i, axis=axis))
    # out-of-range indices are clamped
    wild = np.array([-7, 9, 2, -1, 5], idx_dtype)
    exact(run_op("take", x, wild, axis=0), np.take(x, wild, axis=0, mode="clip"))
    exact(run_op("take", x, np.zeros((0,), idx_dtype), axis=1), np.zeros((5, 0, 3), np.float32))
    exact(run_op("take", x, np.array(2, idx_dtype), axis=0), x[2])


def test_gather():
    x = randn(4, 5)
    i0 = RNG.integers(0, 4, (3, 5)).astype(np.int64)
    exact(run_op("gather", x, i0, axis=0), torch.gather(t(x), 0, t(i0)))
    i1 = RNG.integers(0, 5, (2, 7)).astype(np.int32)
    exact(run_op("gather", x, i1, axis=-1), torch.gather(t(x), 1, t(i1).long()))
    wild = np.array([[-3, 9], [1, 5]], np.int32)
    exact(run_op("gather", x, wild, axis=1), torch.gather(t(x), 1, t(np.clip(wild, 0, 4)).long()))
    exact(run_op("gather", x, np.zeros((0, 5), np.int32), axis=0), np.zeros((0, 5), np.float32))


@pytest.mark.parametrize("reduce,treduce", [("add", "sum"), ("max", "amax"), ("min", "amin")])
def test_scatter_reduce(reduce, treduce):
    x = randn(5, 4, dtype=np.float64)
    idx = RNG.integers(0, 5, (6, 4)).astype(np.int64)     # with duplicates
    upd = randn(6, 4, dtype=np.float64)
    want = t(x).scatter_reduce(0, t(idx), t(upd), reduce=treduce, include_self=True)
    close(run_op("scatter", x, idx, upd, axis=0, reduce=reduce), want, rtol=1e-14)
    idx1 = RNG.integers(0, 4, (3, 2)).astype(np.int32)
    upd1 = randn(3, 2, dtype=np.float64)
    want = t(x).scatter_reduce(1, t(idx1).long(), t(upd1), reduce=treduce, include_self=True)
    close(run_op("scatter", x, idx1, upd1, axis=-1, reduce=reduce), want, rtol=1e-14)


def test_scatter_replace_and_out_of_range_is_skipped():
    x = randn(5, 3)
    idx = np.array([[4, 0, 2], [1, 3, 0]], np.int32)      # distinct per column
    upd = randn(2, 3)
    exact(run_op("scatter", x, idx, upd, axis=0), t(x).scatter(0, t(idx).long(), t(upd)))
    wild = np.array([[4, -1, 2], [7, 3, 5]], np.int64)
    keep = (wild >= 0) & (wild < 5)
    got = run_op("scatter", x, wild, upd, axis=0, reduce="add")
    want = t(x).scatter_reduce(0, t(np.where(keep, wild, 0)), t(np.where(keep, upd, 0)), reduce="sum")
    close(got, want, rtol=1e-6)
    xi = np.zeros((2, 4), np.int32)
    ii = np.array([[0, 0, 3, 3]], np.int64)
    ui = np.array([[5, 6, 7, 8]], np.int32)
    exact(run_op("scatter", xi, ii, ui, axis=1, reduce="add"),
          t(xi).scatter_reduce(1, t(ii), t(ui), reduce="sum"))


@pytest.mark.parametrize("start", [[0, 0], [1, 2], [3, 3], [-5, 1], [10, -2], [2, 100],
                                   [-(2 ** 31), 2 ** 31 - 1]])
@pytest.mark.parametrize("sdtype", [np.int32, np.int64])
def test_dynamic_slice_and_update_clamp(start, sdtype):
    x = randn(5, 6)
    s = np.array(start, sdtype)
    got = run_op("dynamic_slice", x, s, out=tensor((2, 3), np.float32))
    # StableHLO clamps each start into [0, dim - size] (jax.lax would wrap negative starts first)
    r, c = (int(np.clip(v, 0, d - n)) for v, d, n in zip(start, x.shape, (2, 3), strict=True))
    exact(got, t(x)[r:r + 2, c:c + 3])
    upd = randn(2, 3)
    want = t(x).clone()
    want[r:r + 2, c:c + 3] = t(upd)
    exact(run_op("dynamic_update_slice", x, upd, s), want)
    exact(run_op("dynamic_slice", x, s, out=tensor((5, 0), np.float32)), np.zeros((5, 0), np.float32))
    exact(run_op("dynamic_update_slice", x, x, s), x)


def test_sharding_constraint_is_identity():
    text = """module @m attributes {ptir.mesh = [["x", 2]]} {
  func @main(%x: tensor<4x3xf32>) -> tensor<4x3xf32> {
    %0 = ptir.sharding_constraint %x {sharding = [["x"], []]} : tensor<4x3xf32>
    return %0
  }
}"""
    x = np.arange(12, dtype=np.float32).reshape(4, 3)
    with pytest.warns(UserWarning, match="ignored"):
        exact(ptir.compile(ptir.parse(text), "ref")(x), x)


# --- every op is covered -------------------------------------------------------------------------

def test_every_op_has_a_reference_test():
    with open(__file__, encoding="utf-8") as f:
        source = f.read()
    covered = set(re.findall(r'run_op\(\s*"(\w+)"', source)) | set(re.findall(r"ptir\.(\w+) ", source))
    covered |= set(re.findall(r'\("(\w+)", torch\.', source))
    covered |= {op.name for op in checked_ops()}   # generated from their records
    missing = sorted(set(OPS) - covered)
    assert not missing, f"ops without a reference test: {missing}"

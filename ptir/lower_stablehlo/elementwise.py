"""Lowerings of the elementwise ops (ptir/dialect/ops/elementwise.py)."""

from __future__ import annotations

import ml_dtypes
import numpy as np

from ..dialect import dtypes as dt
from .emitter import Emitter, V
from .table import lowering


def same_op(name: str):
    """The rule of a PTIR op that is the one StableHLO (or CHLO) op `name` of the same meaning."""
    def rule(em: Emitter, op, *xs: V) -> V:
        return em.op(name, xs, xs[0].type)
    return rule


lowering("neg")(same_op("stablehlo.negate"))
lowering("exp")(same_op("stablehlo.exponential"))
lowering("log")(same_op("stablehlo.log"))
lowering("log1p")(same_op("stablehlo.log_plus_one"))
lowering("tanh")(same_op("stablehlo.tanh"))
lowering("logistic")(same_op("stablehlo.logistic"))
lowering("sqrt")(same_op("stablehlo.sqrt"))
lowering("rsqrt")(same_op("stablehlo.rsqrt"))
lowering("cos")(same_op("stablehlo.cosine"))
lowering("floor")(same_op("stablehlo.floor"))
lowering("ceil")(same_op("stablehlo.ceil"))
lowering("not")(same_op("stablehlo.not"))
lowering("erf")(same_op("chlo.erf"))   # StableHLO has no erf; CHLO's is read by XLA, IREE and VHLO alike
lowering("add")(same_op("stablehlo.add"))
lowering("sub")(same_op("stablehlo.subtract"))
lowering("mul")(same_op("stablehlo.multiply"))
lowering("max")(same_op("stablehlo.maximum"))
lowering("min")(same_op("stablehlo.minimum"))
lowering("and")(same_op("stablehlo.and"))
lowering("or")(same_op("stablehlo.or"))
lowering("xor")(same_op("stablehlo.xor"))


@lowering("abs")
def _abs(em: Emitter, op, x: V) -> V:
    return x if x.dtype.is_unsigned else em.hlo("abs", x)   # StableHLO's abs takes no unsigned type


@lowering("sign")
def _sign(em: Emitter, op, x: V) -> V:
    if x.dtype.is_unsigned:
        return em.convert(em.compare(x, em.like(x, 0), "ne"), x.dtype)
    return em.hlo("sign", x)


@lowering("sin")
def _sin(em: Emitter, op, x: V) -> V:
    # IREE 3.13 gives sin(-0) = +0; zeros are their own sines (C99 F.9.1.6).
    return em.select(em.compare(x, em.like(x, 0), "eq"), x, em.hlo("sine", x))


@lowering("reciprocal")
def _reciprocal(em: Emitter, op, x: V) -> V:
    return em.hlo("divide", em.like(x, 1), x)


def _int_divisor(em: Emitter, lhs: V, rhs: V):
    """(rhs made safe, rhs == 0, rhs == -1): dividing by 0 (and INT_MIN by -1) is undefined
    behaviour on the CPU, so those divisors become 1 and the callers fix the results."""
    zero = em.compare(rhs, em.like(rhs, 0), "eq")
    minus_one = em.compare(rhs, em.like(rhs, -1), "eq") if not rhs.dtype.is_unsigned else None
    unsafe = zero if minus_one is None else em.hlo("or", zero, minus_one)
    return em.select(unsafe, em.like(rhs, 1), rhs), zero, minus_one


@lowering("div")
def _div(em: Emitter, op, lhs: V, rhs: V) -> V:
    if lhs.dtype.is_float:
        return em.hlo("divide", lhs, rhs)
    safe, zero, minus_one = _int_divisor(em, lhs, rhs)
    q = em.hlo("divide", lhs, safe)                  # truncates toward zero
    if minus_one is not None:
        q = em.select(minus_one, em.hlo("negate", lhs), q)   # wraps for INT_MIN, as the reference
    all_ones = np.array(-1).astype(lhs.dtype.np_dtype)
    return em.select(zero, em.like(lhs, all_ones), q)        # x / 0 = -1, as XLA


@lowering("rem")
def _rem(em: Emitter, op, lhs: V, rhs: V) -> V:
    if lhs.dtype.is_float:
        return em.hlo("remainder", lhs, rhs)
    safe, zero, _ = _int_divisor(em, lhs, rhs)
    return em.select(zero, lhs, em.hlo("remainder", lhs, safe))   # x rem 0 = x; x rem -1 = x rem 1 = 0


@lowering("pow")
def _pow(em: Emitter, op, lhs: V, rhs: V) -> V:
    if lhs.dtype.is_float:
        return float_pow(em, lhs, rhs)
    if lhs.dtype.is_unsigned:
        return int_power(em, lhs, rhs)
    # Negative integer exponents are spelled out (backends disagree): 1 for base 1,
    # +-1 for base -1 by the exponent's parity, 0 otherwise.
    zero, one = em.like(rhs, 0), em.like(lhs, 1)
    r = int_power(em, lhs, em.hlo("maximum", rhs, zero))
    odd = em.compare(em.hlo("and", rhs, em.like(rhs, 1)), zero, "ne")
    minus_one_pow = em.select(odd, em.like(lhs, -1), one)
    neg = em.select(em.compare(lhs, one, "eq"), one,
                    em.select(em.compare(lhs, em.like(lhs, -1), "eq"), minus_one_pow, em.like(lhs, 0)))
    return em.select(em.compare(rhs, zero, "lt"), neg, r)


def int_power(em: Emitter, a: V, e: V) -> V:
    """a^e for integers (a and e of one shape and integer dtype, e >= 0), wrapping as
    repeated multiplication does.  XLA and IREE 3.13 look at only the low six bits of an
    integer exponent (3^64 gives 1, 3^65 gives 3), so stablehlo.power only ever gets
    exponents below 64 here: a^e = a^(e mod 64) * (a^64)^(e div 64), six bits at a time."""
    low, eight = em.like(e, 63), em.like(a, 8)
    r = em.hlo("power", a, em.hlo("and", e, low))
    bits = a.dtype.bits - (0 if a.dtype.is_unsigned else 1)   # the exponent's value bits
    for _ in range((bits - 1) // 6):
        e = em.hlo("shift_right_logical", e, em.like(e, 6))
        a = em.hlo("power", em.hlo("power", a, eight), eight)   # a^64
        r = em.hlo("multiply", r, em.hlo("power", a, em.hlo("and", e, low)))
    return r


def float_pow(em: Emitter, a: V, b: V) -> V:
    """a^b for floats (any float dtype; a and b of one shape and dtype) with the special
    cases of C99 Annex F.9.4.4 (IEEE 754 pow), which numpy.power and PTIR's reference follow.

    IREE 3.13 computes stablehlo.power as exp(b * log(a)): NaN for every negative base, and
    for several of C99's special cases (0^0, 1^NaN), so only the magnitude |a|^b is left to
    the backend's power, where a positive base makes it exact on XLA (within an ulp of the
    correctly rounded result) and as accurate as IREE's exp/log otherwise; the rest is spelled
    out: the sign of a negative (or -0) base raised to an odd integer, NaN for a finite
    negative base and a non-integer exponent, 1 for x^+-0, 1^y and (-1)^+-inf, even NaN, and
    x^1 = x (exp(log(x)) rounds FLT_MAX up to inf).  A base that is subnormal in the type the
    backends compute in (f32, f64 for f64) is flushed to zero, as the CPU runtimes flush every
    other operand (XLA's power of one is neither: (2^-149)^-0.5 gives 2^75, not 2^74.5 or inf)."""
    size = em.hlo("abs", a)
    tiny = float(np.finfo(np.float64 if a.dtype == dt.f64 else np.float32).smallest_normal)
    if float(ml_dtypes.finfo(a.dtype.np_dtype).smallest_subnormal) < tiny:   # not f16's subnormals
        size = em.select(em.compare(size, em.like(a, tiny), "lt"), em.like(a, 0), size)
    mag = em.hlo("power", size, b)
    one = em.like(b, 1)
    # b - 2 floor(b / 2) is exact: 1 for odd integers, 0 for even ones, NaN for +-inf and NaN.
    halved = em.hlo("floor", em.hlo("multiply", b, em.like(b, 0.5)))
    odd = em.compare(em.hlo("subtract", b, em.hlo("add", halved, halved)), one, "eq")
    r = em.select(em.hlo("and", em.sign_bit(a), odd), em.hlo("negate", mag), mag)
    integral = em.compare(em.hlo("floor", b), b, "eq")   # true for +-inf, false for NaN
    finite_negative = em.hlo("and", em.compare(a, em.like(a, 0), "lt"), em.compare(a, em.like(a, -np.inf), "gt"))
    r = em.select(em.hlo("and", finite_negative, em.hlo("not", integral)), em.like(a, np.nan), r)
    unit = em.hlo("or", em.compare(b, em.like(b, 0), "eq"), em.compare(a, one, "eq"))
    minus_one_inf = em.hlo("and", em.compare(a, em.like(a, -1), "eq"),
                           em.compare(em.hlo("abs", b), em.like(b, np.inf), "eq"))
    r = em.select(em.hlo("or", unit, minus_one_inf), one, r)
    return em.select(em.compare(b, one, "eq"), a, r)


@lowering("compare")
def _compare(em: Emitter, op, lhs: V, rhs: V) -> V:
    return em.compare(lhs, rhs, op.attrs["direction"])


@lowering("select")
def _select(em: Emitter, op, pred: V, on_true: V, on_false: V) -> V:
    return em.select(pred, on_true, on_false)


@lowering("cast")
def _cast(em: Emitter, op, x: V) -> V:
    to = op.results[0].type.dtype
    if to.is_bool:
        return x if x.dtype.is_bool else em.compare(x, em.like(x, 0), "ne")
    if x.dtype.is_float and to.is_int:
        return _float_to_int(em, x, to)
    return em.convert(x, to)   # integers wrap; floats round to nearest


def _float_to_int(em: Emitter, x: V, to: dt.DType) -> V:
    """Truncate toward zero, saturating, NaN to 0.  StableHLO's convert leaves out-of-range
    values undefined, so those are replaced by 0 before it and by the bound after it."""
    info = np.iinfo(to.np_dtype)
    with np.errstate(over="ignore"):
        # The bounds rounded into x's type: a float >= hi (<= lo) is out of range or the
        # bound itself (integer bounds are powers of two, or round up to one).
        hi, lo = (np.array(v).astype(x.dtype.np_dtype) for v in (info.max, info.min))
    big = em.compare(x, em.like(x, hi), "ge")
    small = em.compare(x, em.like(x, lo), "le")
    bad = em.hlo("or", em.hlo("or", big, small), em.is_nan(x))
    y = em.convert(em.select(bad, em.like(x, 0), x), to)
    y = em.select(big, em.like(y, info.max), y)
    return em.select(small, em.like(y, info.min), y)

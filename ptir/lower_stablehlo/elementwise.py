"""Lowerings of the elementwise ops (ptir/dialect/ops/elementwise.py)."""

from __future__ import annotations

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
lowering("sin")(same_op("stablehlo.sine"))
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
    if lhs.dtype.is_float or lhs.dtype.is_unsigned:
        return em.hlo("power", lhs, rhs)
    # Negative integer exponents are spelled out (backends disagree): 1 for base 1,
    # +-1 for base -1 by the exponent's parity, 0 otherwise.
    zero, one = em.like(rhs, 0), em.like(lhs, 1)
    r = em.hlo("power", lhs, em.hlo("maximum", rhs, zero))
    odd = em.compare(em.hlo("and", rhs, em.like(rhs, 1)), zero, "ne")
    minus_one_pow = em.select(odd, em.like(lhs, -1), one)
    neg = em.select(em.compare(lhs, one, "eq"), one,
                    em.select(em.compare(lhs, em.like(lhs, -1), "eq"), minus_one_pow, em.like(lhs, 0)))
    return em.select(em.compare(rhs, zero, "lt"), neg, r)


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

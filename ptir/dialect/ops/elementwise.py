"""Elementwise ops: unary math, binary arithmetic and logic, compare, select, cast."""

from __future__ import annotations

import math

import numpy as np

from .. import dtypes as dt
from ..registry import Attr, Check, define
from ..types import TensorType
from ._common import fail, merged_shape, require_dtype, same_shape_and_dtype, to_type, widen

NUMERIC = dt.INTS + dt.FLOATS
LOGICAL = (dt.i1,) + dt.INTS

_erf = np.frompyfunc(math.erf, 1, 1)


def _logistic(x):
    # e^x / (1 + e^x) for x < 0 keeps the relative accuracy of tiny results (1 + tanh would cancel)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _unary_rule(allowed, what):
    def rule(ins, attrs, out):
        require_dtype(ins[0], allowed, what)
        return [ins[0]]
    return rule


def _unary_ref(fn):
    def ref(xs, attrs, out):
        with np.errstate(all="ignore"):
            return to_type(fn(widen(xs[0])), out[0])
    return ref


FLOAT_NAMES = tuple(d.name for d in dt.FLOATS)
NUMERIC_NAMES = tuple(d.name for d in NUMERIC)
LOGICAL_NAMES = tuple(d.name for d in LOGICAL)


def unary(name: str, fn, allowed, what: str, doc: str, check: Check) -> None:
    """Define elementwise op `name`: `fn` on values widened to f64 (floats), rounded once
    to the operand's type; operands of a dtype outside `allowed` are rejected as `what`."""
    define(name, ("x",), _unary_rule(allowed, what), _unary_ref(fn), traits=("elementwise", "unary"),
           doc=f"Elementwise {doc}.", check=check)


def _float_unary(name: str, fn, doc: str, domain, tolerance: str = "transcendental", oracle: str = "") -> None:
    unary(name, fn, dt.FLOATS, "a float type", doc,
          Check(oracle or f"torch.{name}", FLOAT_NAMES, domain=domain, tolerance=tolerance))


# Every domain is where the op is defined, the torch oracle means the same, and results
# stay finite (exp(9) ~ 8e3 is fine in f16).
unary("neg", np.negative, NUMERIC, "a number type", "-x (integers wrap)",
      Check("torch.neg", NUMERIC_NAMES, compare=("f32", "f16", "bf16", "i32"), domain=(-10.0, 10.0)))
unary("abs", np.abs, NUMERIC, "a number type", "|x|",
      Check("torch.abs", NUMERIC_NAMES, compare=("f32", "f16", "bf16", "i32"), domain=(-10.0, 10.0)))


def _sign(x):
    """-1, 0 or 1; zeros keep their sign and NaN stays NaN, as StableHLO's sign (numpy's
    sign of -0.0 is +0.0)."""
    return np.where(x == 0, x, np.sign(x))


# torch's sign of NaN is 0, StableHLO's (and PTIR's) is NaN: specials are tested by hand.
unary("sign", _sign, NUMERIC, "a number type", "-1, 0 or 1 (+-0 and NaN stay as they are)",
      Check("torch.sign", NUMERIC_NAMES, compare=("f32", "f16", "bf16", "i32"), domain=(-10.0, 10.0),
            specials=False))
_float_unary("exp", np.exp, "e^x", (-9.0, 9.0))
_float_unary("log", np.log, "natural logarithm", (1e-3, 50.0))
_float_unary("log1p", np.log1p, "log(1 + x)", (-0.9, 10.0))
_float_unary("tanh", np.tanh, "hyperbolic tangent", (-9.0, 9.0))
_float_unary("logistic", _logistic, "1 / (1 + e^-x)", (-15.0, 15.0), oracle="torch.sigmoid")
_float_unary("erf", lambda x: _erf(x).astype(x.dtype), "the error function", (-4.0, 4.0))
_float_unary("sqrt", np.sqrt, "square root", (0.0, 100.0))
_float_unary("rsqrt", lambda x: 1.0 / np.sqrt(x), "1 / sqrt(x)", (1e-2, 100.0))
_float_unary("reciprocal", lambda x: 1.0 / x, "1 / x", (0.1, 10.0), tolerance="exact")
_float_unary("sin", np.sin, "sine", (-6.0, 6.0))
_float_unary("cos", np.cos, "cosine", (-6.0, 6.0))
_float_unary("floor", np.floor, "round toward -inf", (-10.0, 10.0), tolerance="exact")
_float_unary("ceil", np.ceil, "round toward +inf", (-10.0, 10.0), tolerance="exact")
# torch.bitwise_not is logical not on bool.
unary("not", lambda x: np.logical_not(x) if x.dtype == np.bool_ else np.invert(x), LOGICAL,
      "i1 or an integer type", "logical not (i1), bitwise not (integers)",
      Check("torch.bitwise_not", LOGICAL_NAMES, compare=("i1", "i32")))


# --- binary ---------------------------------------------------------------------------------------

def _is_float(a: np.ndarray) -> bool:
    return a.dtype.kind == "f" or a.dtype == dt.bf16.np_dtype   # ml_dtypes' bfloat16 has kind "V"


def _int_div(a, b):
    """Integer division truncating toward zero; x/0 is -1 (all ones), as XLA and IREE do."""
    safe = np.where(b == 0, 1, b).astype(a.dtype)
    q = a // safe
    if a.dtype.kind == "i":
        q = q + ((a % safe != 0) & ((a < 0) != (safe < 0))).astype(a.dtype)
    return np.where(b == 0, np.array(-1).astype(a.dtype), q)


def _div(a, b):
    if _is_float(a):
        return a / b
    return _int_div(a, b)


def _rem(a, b):
    """Remainder with the dividend's sign (C fmod); x rem 0 is x for integers."""
    if _is_float(a):
        return np.fmod(a, b)
    safe = np.where(b == 0, 1, b)
    return np.where(b == 0, a, np.fmod(a, safe))


def _pow(a, b):
    if _is_float(a):
        return np.power(a, b)
    # Integer power: a negative exponent gives 0 except for bases 1 and -1.
    r = np.power(a, np.maximum(b, 0))
    if a.dtype.kind == "u":
        return r
    odd = (b % 2) != 0
    neg_exp = np.where(a == 1, 1, np.where(a == -1, np.where(odd, -1, 1), 0)).astype(a.dtype)
    return np.where(b < 0, neg_exp, r)


def _ieee_extreme(fn, negative_zero_wins: bool):
    """IEEE 754-2019 maximum (np.maximum, False) or minimum (np.minimum, True), as StableHLO's:
    NaN-propagating, and -0 below +0 (numpy's pick between two zeros depends on the operand order)."""
    def extreme(a, b):
        r = fn(a, b)
        if not _is_float(a):
            return r
        zeros = (a == 0) & (b == 0)
        if not zeros.any():
            return r
        return np.where(zeros, np.where(np.signbit(a) == negative_zero_wins, a, b), r)
    return extreme


def _logic(fn_bool, fn_int):
    return lambda a, b: fn_bool(a, b) if a.dtype == np.bool_ else fn_int(a, b)


def _binary_rule(allowed, what):
    def rule(ins, attrs, out):
        same_shape_and_dtype(ins)
        require_dtype(ins[0], allowed, what)
        return [TensorType(merged_shape(ins), ins[0].dtype)]
    return rule


# IEEE +, -, *, / are correctly rounded in every float type (numpy's f16 and ml_dtypes'
# bf16 round an f32 result, which has enough extra bits for that to be exact), and max/min
# do not round at all: these run in the operands' own type, which is the same result as
# widening and much faster on large tensors (e.g. weights folded at compile time).
_EXACT_IN_TYPE = {"add", "sub", "mul", "div", "max", "min"}


def _binary_ref(fn, exact_in_type: bool):
    def ref(xs, attrs, out):
        a, b = (xs[0], xs[1]) if exact_in_type else (widen(xs[0]), widen(xs[1]))
        with np.errstate(all="ignore"):
            return to_type(fn(a, b), out[0])
    return ref


def binary(name: str, fn, allowed, what: str, doc: str, check: Check, traits=()) -> None:
    """Define elementwise op `name` of two operands of one type (`allowed`, else rejected as `what`)."""
    define(name, ("lhs", "rhs"), _binary_rule(allowed, what), _binary_ref(fn, name in _EXACT_IN_TYPE),
           traits=("elementwise", "binary", *traits), doc=f"Elementwise {doc}.", check=check)


_ARITH = ("f32", "f16", "bf16", "i32")
binary("add", np.add, NUMERIC, "a number type", "lhs + rhs", Check("torch.add", NUMERIC_NAMES, _ARITH),
       ("commutative",))
binary("sub", np.subtract, NUMERIC, "a number type", "lhs - rhs", Check("torch.sub", NUMERIC_NAMES, _ARITH))
binary("mul", np.multiply, NUMERIC, "a number type", "lhs * rhs", Check("torch.mul", NUMERIC_NAMES, _ARITH),
       ("commutative",))
# Integer division and remainder (truncation, x/0) differ from torch's: tested by hand.
binary("div", _div, NUMERIC, "a number type", "lhs / rhs; integers truncate toward zero (x/0 = -1)",
       Check("torch.div", NUMERIC_NAMES, domain=((-4.0, 4.0), (0.5, 3.0))))
binary("max", _ieee_extreme(np.maximum, False), NUMERIC, "a number type", "maximum, NaN-propagating, +0 above -0",
       Check("torch.maximum", NUMERIC_NAMES, _ARITH), ("commutative",))
binary("min", _ieee_extreme(np.minimum, True), NUMERIC, "a number type", "minimum, NaN-propagating, -0 below +0",
       Check("torch.minimum", NUMERIC_NAMES, _ARITH), ("commutative",))
# Random negative bases would mostly meet non-integer exponents (NaN): the domain keeps bases
# positive; negative bases and C99's special cases are in the edge sweep and docs/semantics.md.
binary("pow", _pow, NUMERIC, "a number type", "lhs ^ rhs",
       Check("torch.pow", NUMERIC_NAMES, domain=((0.1, 4.0), (-2.0, 2.0)), specials=False,
             tolerance="transcendental"))
# torch's f32 fmod is not exact for huge/tiny operands (NaN for -1e30 rem 1e-30): specials by hand.
binary("rem", _rem, NUMERIC, "a number type", "remainder with the dividend's sign",
       Check("torch.fmod", NUMERIC_NAMES, domain=((-4.0, 4.0), (0.5, 3.0)), specials=False))
_LOGIC = ("i1", "i32")
binary("and", _logic(np.logical_and, np.bitwise_and), LOGICAL, "i1 or an integer type", "logical/bitwise and",
       Check("torch.bitwise_and", LOGICAL_NAMES, _LOGIC), ("commutative",))
binary("or", _logic(np.logical_or, np.bitwise_or), LOGICAL, "i1 or an integer type", "logical/bitwise or",
       Check("torch.bitwise_or", LOGICAL_NAMES, _LOGIC), ("commutative",))
binary("xor", _logic(np.logical_xor, np.bitwise_xor), LOGICAL, "i1 or an integer type", "logical/bitwise xor",
       Check("torch.bitwise_xor", LOGICAL_NAMES, _LOGIC), ("commutative",))


# --- compare, select, cast ------------------------------------------------------------------------

_DIRECTIONS = {"lt": np.less, "le": np.less_equal, "eq": np.equal, "ne": np.not_equal,
               "ge": np.greater_equal, "gt": np.greater}


def _compare_rule(ins, attrs, out):
    same_shape_and_dtype(ins)
    return [TensorType(merged_shape(ins), dt.i1)]


define("compare", ("lhs", "rhs"), _compare_rule,
       lambda xs, attrs, out: _DIRECTIONS[attrs["direction"]](xs[0], xs[1]),
       attrs=(Attr("direction", "str", choices=tuple(_DIRECTIONS)),),
       traits=("elementwise",),
       doc="Elementwise comparison giving i1; every comparison with NaN is false except `ne`.")


def _select_rule(ins, attrs, out):
    pred, a, b = ins
    if pred.dtype != dt.i1:
        fail(f"pred dtype {pred.dtype} is not i1")
    same_shape_and_dtype([a, b])
    same_shape_and_dtype([pred.with_dtype(a.dtype), a])
    return [TensorType(merged_shape(ins), a.dtype)]


define("select", ("pred", "on_true", "on_false"), _select_rule,
       lambda xs, attrs, out: np.where(xs[0], xs[1], xs[2]),
       traits=("elementwise",), doc="Elementwise choice: on_true where pred, else on_false.")


def _cast_rule(ins, attrs, out):
    x, y = ins[0], out[0]
    if len(x.shape) != len(y.shape) or not all(a == b or a is None or b is None
                                               for a, b in zip(x.shape, y.shape, strict=True)):
        fail(f"cast changes the shape {x.dims_str} to {y.dims_str}")
    return [y]


def cast_array(x: np.ndarray, to: dt.DType) -> np.ndarray:
    """PTIR cast semantics: float to int truncates toward zero and saturates, NaN to 0;
    to i1 means != 0; integers wrap."""
    src = x.dtype
    if to.is_bool:
        return x != 0
    if to.is_int and src.kind == "f" or (to.is_int and src == dt.bf16.np_dtype):
        info = np.iinfo(to.np_dtype)
        y = np.trunc(x.astype(np.float64))
        y = np.nan_to_num(y, nan=0.0, posinf=float(info.max), neginf=float(info.min))
        out = np.clip(y, info.min, info.max)
        with np.errstate(invalid="ignore"):   # 2**63 does not fit i64; replaced just below
            res = out.astype(to.np_dtype)
        # float64 cannot hold int64's max exactly; saturate explicitly.
        return np.where(y >= float(info.max), info.max, np.where(y <= float(info.min), info.min, res)
                        ).astype(to.np_dtype)
    with np.errstate(all="ignore"):
        return x.astype(to.np_dtype)


define("cast", ("x",), _cast_rule, lambda xs, attrs, out: cast_array(xs[0], out[0].dtype),
       result_given=True, traits=("elementwise", "unary"),
       doc="Convert to the result dtype: float to int truncates toward zero and saturates, NaN becomes 0; "
           "to i1 means `x != 0`; integers wrap.")

"""Op cases for the lowering tests: small programs with inputs and a tolerance.

Every core op appears at several shapes and dtypes (f32; integers and i1 where the op
takes them; f16/bf16 for some), with the awkward values the spec defines (NaN, inf,
ties, out-of-range indices, division by zero).  `ptir.compile(prog, "ref")` is the
expected result.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import ml_dtypes
import numpy as np

from ptir.conformance.records import Tol
from ptir.dialect import dtypes as dt
from ptir.dialect.program import Builder, Program
from ptir.dialect.types import tensor

# Integer and boolean results are always compared exactly; these apply to floats.
EXACT = Tol(0, 0, "correctly rounded in f32 or pure data movement: bit-equal to the reference")
TRANSCENDENTAL = Tol(2e-6, 1e-6, "XLA and IREE use polynomial approximations within a few ulp of the f64 reference")
ORDER = Tol(1e-5, 1e-5, "sums (reduce, dot, conv) associate in a different order than the f64 reference")
HALF = Tol(1e-2, 1e-2, "f16 results: one ulp (2^-10) of rounding, and backends may compute in f16 throughout")
BF16 = Tol(2e-2, 2e-2, "bf16 results: one ulp (2^-7) of rounding, plus a different summation order")


@dataclass
class Case:
    id: str
    program: Program
    inputs: list[np.ndarray]
    tol: Tol = EXACT
    op: str = ""
    skip: dict[str, str] = field(default_factory=dict)   # backend -> reason


CASES: list[Case] = []
RNG = np.random.default_rng(1234)
NP = {d.name: d.np_dtype for d in dt.ALL}
SPECIAL = [np.nan, np.inf, -np.inf, -0.0, 0.0]


def add(id: str, op: str, inputs, body, tol: Tol = EXACT, **skip) -> None:
    """Build `main(inputs...) -> body(builder, *args)` and record it as a case of `op`."""
    prog = Program(name="case")
    b = Builder.new_function(prog, "main", [(f"a{i}", tensor(x.shape, x.dtype)) for i, x in enumerate(inputs)])
    out = body(b, *b.args)
    b.ret(*(out if isinstance(out, tuple) else (out,)))
    CASES.append(Case(f"{op}-{id}", prog, list(inputs), tol, op, skip))


def floats(shape, dtype="f32", special=False, lo=None, hi=None):
    x = RNG.standard_normal(shape) * 3 if lo is None else RNG.uniform(lo, hi, shape)
    if special:
        flat = x.reshape(-1)
        flat[: len(SPECIAL)] = SPECIAL[: flat.size]
    return x.astype(NP[dtype])


def ints(shape, dtype="i32", lo=-50, hi=50):
    return RNG.integers(lo, hi, shape).astype(NP[dtype])


def bools(shape):
    return RNG.random(shape) < 0.5


def float_tol(dtype: str, base: Tol) -> Tol:
    return {"f16": HALF, "bf16": BF16}.get(dtype, base)


def unary(op, x, tol=EXACT, id=None, **attrs):
    name = np.dtype(x.dtype).name if x.dtype != ml_dtypes.bfloat16 else "bf16"
    add(id or f"{name}-{'x'.join(map(str, x.shape))}", op, [x], lambda b, a: b.op(op, a, **attrs), tol)


def binary(op, x, y, tol=EXACT, id=None, **attrs):
    add(id or f"{dt.from_numpy(x.dtype).name}-{'x'.join(map(str, x.shape))}", op, [x, y],
        lambda b, a, c: b.op(op, a, c, **attrs), tol)


# --- elementwise ----------------------------------------------------------------------------------

# The ops with a record (OpDef.check) are lowered and run on every target in every dtype
# the record compares by tests/ops/test_op_records.py; these are the edges it leaves out.
for _op in ("exp", "log", "tanh", "logistic", "erf", "sqrt", "sin", "cos"):
    unary(_op, floats((6,), special=True), TRANSCENDENTAL, id="special")
for _op in ("reciprocal", "floor", "ceil", "neg", "abs", "sign"):
    unary(_op, floats((4, 5), special=True))
    unary(_op, floats((3,), "bf16"))
for _op in ("neg", "abs", "sign"):
    unary(_op, np.array([np.iinfo(np.int32).min, -7, 0, 5, np.iinfo(np.int32).max], np.int32))
    unary(_op, ints((2, 3), "i8"))
unary("abs", ints((4,), "ui8", 0, 255))
unary("sign", np.array([0, 1, 200], np.uint8))
unary("not", bools((3, 4)))
unary("not", ints((5,)))

for _op in ("add", "sub", "mul", "max", "min"):
    binary(_op, floats((4, 5), special=True), floats((4, 5)))
    binary(_op, ints((2, 3, 2)), ints((2, 3, 2)))
    binary(_op, floats((6,), "f16"), floats((6,), "f16"), HALF)
binary("max", floats((5,), "bf16"), floats((5,), "bf16"))
binary("add", ints((6,), "ui8", 0, 255), ints((6,), "ui8", 0, 255))
binary("mul", ints((6,), "i64", -10**6, 10**6), ints((6,), "i64", -10**6, 10**6))

_MIN32 = np.iinfo(np.int32).min
_num = np.array([7, -7, 7, -7, 0, 5, -5, _MIN32, _MIN32, 9], np.int32)
_den = np.array([2, 2, -2, -2, 3, 0, 0, -1, 1, 10], np.int32)
for _op in ("div", "rem"):
    binary(_op, floats((4, 5), special=True), floats((4, 5), special=True))
    binary(_op, _num, _den, id="i32-edges")
    binary(_op, np.array([7, 200, 0, 9], np.uint8), np.array([2, 0, 0, 10], np.uint8), id="ui8-edges")
    binary(_op, ints((3, 4), "i8", -128, 127), ints((3, 4), "i8", -3, 3))
binary("pow", floats((3, 4), lo=0.1, hi=4), floats((3, 4), lo=-3, hi=3), TRANSCENDENTAL)
binary("pow", np.array([2, -2, 1, -1, -1, 0, 3, 5, 0], np.int32), np.array([3, 3, -5, -5, -4, -1, -2, 0, 0], np.int32),
       id="i32-edges")
binary("pow", floats((5,), "f16", lo=0.5, hi=2), floats((5,), "f16", lo=-2, hi=2), HALF)
for _op in ("and", "or", "xor"):
    binary(_op, bools((3, 4)), bools((3, 4)))
    binary(_op, ints((6,), lo=-1000, hi=1000), ints((6,), lo=-1000, hi=1000))

for _dir in ("lt", "le", "eq", "ne", "ge", "gt"):
    _x = floats((10,), special=True)
    binary("compare", _x, np.where(np.arange(10) % 2 == 0, _x, floats((10,))), id=f"f32-{_dir}", direction=_dir)
    binary("compare", ints((3, 3), lo=-2, hi=2), ints((3, 3), lo=-2, hi=2), id=f"i32-{_dir}", direction=_dir)
binary("compare", np.array([1, 200, 128], np.uint8), np.array([2, 100, 127], np.uint8), id="ui8-lt",
       direction="lt")
binary("compare", bools((5,)), bools((5,)), id="i1-gt", direction="gt")

add("f32", "select", [bools((3, 4)), floats((3, 4)), floats((3, 4))], lambda b, p, x, y: b.op("select", p, x, y))
add("i32", "select", [bools((5,)), ints((5,)), ints((5,))], lambda b, p, x, y: b.op("select", p, x, y))

_BIG = np.array([np.nan, np.inf, -np.inf, -0.0, 0.5, -0.5, 1.9, -1.9, 1e10, -1e10, 3e9, 2147483520.0,
                 -2147483648.0, 127.9, -128.9, 255.9, 300.0, -1.0], np.float32)
for _src, _to in (("f32", "i32"), ("f32", "i8"), ("f32", "ui8"), ("f32", "i64"), ("f32", "i1"), ("bf16", "i32"),
                  ("f16", "i16"), ("f16", "i32"), ("f32", "f16"), ("f32", "bf16"), ("bf16", "f32")):
    with np.errstate(over="ignore"):
        _x = _BIG.astype(NP[_src])
    add(f"{_src}-{_to}", "cast", [_x], lambda b, a, to=_to: b.op("cast", a, out=tensor(a.type.shape, to)))
for _src, _to in (("i32", "f32"), ("i32", "i8"), ("i32", "ui8"), ("i1", "f32"), ("i32", "i1"), ("i8", "i64"),
                  ("ui8", "i32"), ("i64", "i32")):
    _x = ints((7,), _src, -300, 300) if _src != "i1" else bools((7,))
    if _src == "ui8":
        _x = ints((7,), "ui8", 0, 255)
    add(f"{_src}-{_to}", "cast", [_x], lambda b, a, to=_to: b.op("cast", a, out=tensor(a.type.shape, to)))


# --- shape ----------------------------------------------------------------------------------------

def _const(value, dtype, shape):
    def body(b, a):
        c = b.op("constant", out=tensor(shape, dtype), value=np.asarray(value, dtype=NP[dtype]))
        return b.op("add" if dtype != "i1" else "xor", a, c)
    return body


for _id, _value, _dtype, _shape in (
        ("f32-list", [[1.5, -2.0, np.nan], [np.inf, 0.1, -0.0]], "f32", (2, 3)),
        ("f32-splat", 0.1, "f32", (3, 2)), ("f32-int-splat", 2.0, "f32", (4,)),
        ("bf16-list", [0.1, 3.0, -7.5], "bf16", (3,)), ("f16-splat", np.inf, "f16", (2,)),
        ("i32-list", [1, -2, 2**31 - 1], "i32", (3,)), ("i8-splat", -3, "i8", (2, 2)),
        ("ui8-list", [0, 255, 7], "ui8", (3,)), ("i1-list", [True, False, True], "i1", (3,)),
        ("i1-splat", True, "i1", (2, 2)), ("f32-large", np.arange(100, dtype=np.float32) / 7, "f32", (100,)),
        ("i1-large", np.arange(90) % 3 == 0, "i1", (90,)), ("i16-large", np.arange(-40, 40), "i16", (80,))):
    _x = floats(_shape, _dtype) if _dtype in ("f32", "f16", "bf16") else (
        bools(_shape) if _dtype == "i1" else ints(_shape, _dtype, 0, 20))
    add(_id, "constant", [_x], _const(_value, _dtype, _shape))

add("i32-axis1", "iota", [], lambda b: b.op("iota", out=tensor((3, 4), "i32"), axis=1))
add("f32-axis0", "iota", [], lambda b: b.op("iota", out=tensor((5, 2), "f32"), axis=0))
add("ui8-1d", "iota", [], lambda b: b.op("iota", out=tensor((6,), "ui8"), axis=-1))

for _x, _to in ((floats((2, 3, 4)), (6, 4)), (ints((12,)), (2, 2, 3)), (bools((4,)), (2, 2)), (floats((1,)), ())):
    add(f"{_x.dtype}-{len(_to)}d", "reshape", [_x],
        lambda b, a, to=_to: b.op("reshape", a, out=tensor(to, a.type.dtype)))
for _x, _to in ((floats((3,)), (2, 3)), (floats((3, 1)), (2, 3, 4)), (ints(()), (2, 2)), (bools((1, 2)), (3, 2))):
    add(f"{_x.dtype}-{len(_to)}d", "broadcast_to", [_x],
        lambda b, a, to=_to: b.op("broadcast_to", a, out=tensor(to, a.type.dtype)))
unary("transpose", floats((2, 3, 4)), perm=[2, 0, 1])
unary("transpose", bools((3, 2)), perm=[1, 0])
unary("slice", floats((5, 7)), start=[1, 0], limit=[5, 7], stride=[2, 3])
unary("slice", ints((4, 4)), start=[1, 1], limit=[3, 4])
add("f32", "concat", [floats((2, 3)), floats((1, 3)), floats((4, 3))], lambda b, *a: b.op("concat", *a, axis=0))
add("i1-axis-neg", "concat", [bools((2, 1)), bools((2, 3))], lambda b, *a: b.op("concat", *a, axis=-1))
unary("pad", floats((3, 4)), low=[1, -1], high=[2, 0], interior=[1, 0], value=1.5)
unary("pad", ints((2, 3)), low=[0, 2], high=[1, 1], value=-7.0)
unary("pad", floats((4,), "bf16"), low=[2], high=[-1], interior=[2], value=-0.5)


# --- reductions -----------------------------------------------------------------------------------

for _kind in ("sum", "max", "min", "prod"):
    unary("reduce", floats((3, 4, 5), lo=0.5, hi=1.5), ORDER, id=f"f32-{_kind}", kind=_kind, axes=[0, 2])
    unary("reduce", ints((4, 6), lo=-4, hi=4), id=f"i32-{_kind}-keepdims", kind=_kind, axes=[1], keepdims=True)
unary("reduce", floats((4, 5), special=True), id="f32-max-nan", kind="max", axes=[-1])
unary("reduce", floats((2, 64), "bf16"), BF16, id="bf16-sum-accum", kind="sum", axes=[1], accum=dt.f32)
unary("reduce", floats((3, 40), "f16"), HALF, id="f16-sum", kind="sum", axes=[0, 1])
unary("reduce", bools((3, 4)), id="i1-max", kind="max", axes=[1])
unary("reduce", bools((3, 4)), id="i1-min", kind="min", axes=[0])
unary("reduce", ints((5, 3), "i8"), id="i8-sum-accum", kind="sum", axes=[0], accum=dt.i32)

_ties = np.array([[1, 3, 3, 0], [np.nan, 2, np.nan, 5], [-1, -1, -1, -1], [0, -np.inf, np.inf, np.inf]], np.float32)
for _op in ("argmax", "argmin"):
    unary(_op, _ties, id="f32-ties-nan", axis=1)
    unary(_op, _ties, id="f32-axis0-keepdims", axis=0, keepdims=True)
    unary(_op, ints((3, 5), lo=-2, hi=2), id="i32-ties", axis=-1)
    add("i64-result", _op, [floats((2, 3, 4))], lambda b, a, op=_op: b.op(op, a, axis=1, out=tensor((2, 4), "i64")))
    unary(_op, floats((3, 6), "bf16"), id="bf16", axis=1)

unary("reduce_window", floats((1, 2, 6, 6)), id="f32-maxpool", kind="max", window=[1, 1, 3, 3],
      strides=[1, 1, 2, 2], padding=[[0, 0], [0, 0], [1, 1], [1, 1]])
unary("reduce_window", floats((2, 5, 5, 3)), ORDER, id="f32-sum-nhwc", kind="sum", window=[1, 2, 2, 1],
      strides=[1, 1, 1, 1], padding=[[0, 0], [1, 0], [0, 1], [0, 0]])
unary("reduce_window", ints((7,)), id="i32-min", kind="min", window=[3], strides=[2], padding=[[2, 2]])
unary("reduce_window", floats((8,), "f16"), HALF, id="f16-max", kind="max", window=[2], strides=[2])

_topk = np.array([[1, 5, 5, np.nan, 2, -np.inf, 5], [0, 0, 0, 0, 0, 0, 0], [3, np.nan, 1, np.nan, 7, 7, -1]],
                 np.float32)
add("f32-largest", "top_k", [_topk], lambda b, a: b.op("top_k", a, k=4))
add("f32-smallest", "top_k", [_topk], lambda b, a: b.op("top_k", a, k=5, largest=False))
add("f32-axis0", "top_k", [_topk], lambda b, a: b.op("top_k", a, k=2, axis=0))
add("i32", "top_k", [ints((2, 9), lo=-3, hi=3)], lambda b, a: b.op("top_k", a, k=3))
add("bf16", "top_k", [floats((10,), "bf16")], lambda b, a: b.op("top_k", a, k=10, largest=False))


# --- contractions ---------------------------------------------------------------------------------

def _dot(b, x, y, **kw):
    return b.op("dot_general", x, y, **kw)


add("f32-matmul", "dot_general", [floats((4, 8)), floats((8, 5))], lambda b, x, y: _dot(
    b, x, y, contract_lhs=[1], contract_rhs=[0]), ORDER)
add("f32-batched", "dot_general", [floats((2, 3, 4)), floats((2, 5, 4))], lambda b, x, y: _dot(
    b, x, y, batch_lhs=[0], batch_rhs=[0], contract_lhs=[2], contract_rhs=[2]), ORDER)
add("f32-two-contract", "dot_general", [floats((3, 2, 4)), floats((4, 6, 3))], lambda b, x, y: _dot(
    b, x, y, contract_lhs=[0, 2], contract_rhs=[2, 0]), ORDER)
add("f32-outer", "dot_general", [floats((3,)), floats((2,))], lambda b, x, y: _dot(
    b, x, y, contract_lhs=[], contract_rhs=[]))
add("i32", "dot_general", [ints((3, 4), lo=-5, hi=5), ints((4, 2), lo=-5, hi=5)], lambda b, x, y: _dot(
    b, x, y, contract_lhs=[1], contract_rhs=[0]))
add("bf16-accum-f32", "dot_general", [floats((4, 32), "bf16"), floats((32, 3), "bf16")], lambda b, x, y: _dot(
    b, x, y, contract_lhs=[1], contract_rhs=[0], accum=dt.f32), BF16)
add("f16", "dot_general", [floats((2, 16), "f16"), floats((16, 3), "f16")], lambda b, x, y: _dot(
    b, x, y, contract_lhs=[1], contract_rhs=[0]), Tol(2e-2, 5e-2, HALF.why + "; 16-term sums"))

add("f32-nchw", "conv", [floats((2, 3, 7, 6)), floats((4, 3, 3, 2))], lambda b, x, w: b.op(
    "conv", x, w, strides=[2, 1], padding=[[1, 1], [0, 2]], dilation=[1, 2]), ORDER)
add("f32-nhwc-depthwise", "conv", [floats((1, 5, 5, 4)), floats((3, 3, 1, 4))], lambda b, x, w: b.op(
    "conv", x, w, layout="nhwc", padding=[[1, 1], [1, 1]], groups=4), ORDER)
add("f32-nchw-groups", "conv", [floats((1, 4, 5, 5)), floats((6, 2, 3, 3))], lambda b, x, w: b.op(
    "conv", x, w, groups=2), ORDER)
add("f32-1d-nhwc", "conv", [floats((2, 9, 3)), floats((3, 3, 5))], lambda b, x, w: b.op(
    "conv", x, w, layout="nhwc", strides=[2]), ORDER)
add("f32-3d", "conv", [floats((1, 2, 4, 4, 4)), floats((3, 2, 2, 2, 2))], lambda b, x, w: b.op("conv", x, w), ORDER)
add("i32", "conv", [ints((1, 2, 4, 4), lo=-3, hi=3), ints((2, 2, 2, 2), lo=-3, hi=3)], lambda b, x, w: b.op(
    "conv", x, w))
add("f16", "conv", [floats((1, 2, 4, 4), "f16"), floats((2, 2, 2, 2), "f16")], lambda b, x, w: b.op(
    "conv", x, w), Tol(2e-2, 5e-2, HALF.why + "; 8-term sums"))


# --- indexing -------------------------------------------------------------------------------------

add("axis0-clamp", "take", [floats((5, 3)), np.array([0, 4, 7, -2, 2], np.int32)],
    lambda b, x, i: b.op("take", x, i))
add("axis1-2d-i64", "take", [ints((2, 6, 2)), np.array([[5, 0], [1, 1], [9, 3]], np.int64)],
    lambda b, x, i: b.op("take", x, i, axis=1))
add("bf16-last", "take", [floats((3, 4), "bf16"), np.array([3, 0], np.int32)],
    lambda b, x, i: b.op("take", x, i, axis=-1))

add("axis1-clamp", "gather", [floats((3, 5)), np.array([[0, 4, 9], [2, -1, 2]], np.int32)],
    lambda b, x, i: b.op("gather", x, i, axis=1))
add("axis0-i64", "gather", [ints((4, 3)), np.array([[3, 0, 1], [1, 1, 2]], np.int64)],
    lambda b, x, i: b.op("gather", x, i, axis=0))
add("3d", "gather", [floats((2, 3, 4)), ints((2, 5, 3), lo=0, hi=3)], lambda b, x, i: b.op("gather", x, i, axis=1))

_dup = np.array([[0, 2, 2, 7], [1, 1, -1, 0]], np.int32)   # duplicates and out-of-range (skipped)
for _reduce in ("add", "max", "min"):
    add(f"f32-{_reduce}", "scatter", [floats((2, 5)), _dup, floats((2, 4))],
        lambda b, x, i, u, r=_reduce: b.op("scatter", x, i, u, axis=1, reduce=r), ORDER)
    add(f"i32-{_reduce}-axis0", "scatter", [ints((4, 3)), np.array([[3, 0, 3], [3, 9, 1]], np.int64),
                                            ints((2, 3))],
        lambda b, x, i, u, r=_reduce: b.op("scatter", x, i, u, axis=0, reduce=r))
# replace: no duplicate indices (backends may apply duplicates in any order).
add("f32-replace", "scatter", [floats((2, 5)), np.array([[4, 0, 6], [2, 3, -1]], np.int32), floats((2, 3))],
    lambda b, x, i, u: b.op("scatter", x, i, u, axis=1))

for _start, _dtype in (([1, 2], "i32"), ([3, -4], "i64"), ([9, 9], "i32")):
    _s = np.array(_start, NP[_dtype])
    add(f"{_dtype}-{'_'.join(map(str, _start))}", "dynamic_slice", [floats((5, 6)), _s],
        lambda b, x, s: b.op("dynamic_slice", x, s, out=tensor((3, 2), "f32")))
    add(f"{_dtype}-{'_'.join(map(str, _start))}", "dynamic_update_slice", [ints((5, 6)), ints((2, 4)), _s],
        lambda b, x, u, s: b.op("dynamic_update_slice", x, u, s))

# A one-device mesh: XLA partitions it (sdy), IREE drops it with a warning; the value passes through.
add("mesh1", "sharding_constraint", [floats((4, 6))], lambda b, x: b.op("add", b.op(
    "sharding_constraint", x, sharding=[["x"], []]), x))
CASES[-1].program.attributes["ptir.mesh"] = [["x", 1]]

"""ONNX -> PTIR: an ONNX model as it is, judged by ONNX's own backend tests.

    program, weights = from_onnx("model.onnx")          # a path, bytes or an onnx.ModelProto

The model is brought to opset 13 or newer (`onnx.version_converter` for older ones),
local functions are inlined, and `onnx.shape_inference` gives every value its type.
Initializers become `ptir.param` arguments under their ONNX names (the weights dict holds
them), the graph's other inputs the entry's arguments, in order.  Each node is then
mapped by its entry in `ONNX` (one per op type; `check` refuses the uses PTIR does not
take, with the reason) through `ptir.functional`, so the registry's type rules check
every op, and each result is checked against the type ONNX infers for it.

PTIR's shapes are static, so what decides a shape must be known at import: a Reshape's
shape, a Slice's starts, a Pad's pads.  Such inputs are read as numpy from Constant nodes,
initializers, or nodes computed at import: every node whose inputs are all known then
(Shape of a static tensor, ConstantOfShape, Range, arithmetic on shapes) is evaluated
once, by onnx's own reference evaluator, into a literal; random ops never are.  A graph
input a shape depends on can be bound to a value (`constants=`).

What cannot be imported is one OnnxImportError listing every such node: its op type,
opset, why, how many, and the node names.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import onnx
import onnx.inliner
import onnx.version_converter
from onnx import TensorProto, helper, numpy_helper

from .. import functional as F
from ..dialect import dtypes as dt
from ..dialect.program import Builder, Program
from ..dialect.types import TensorType, tensor
from ..dialect.verifier import verify
from ..errors import PtirError
from ..functional.core import (
    binary,
    broadcast_shapes,
    broadcast_to,
    cast,
    compare,
    constant,
    iota,
    mean,
    reduce,
    reshape,
    transpose,
)
from ..functional.tensor import Tensor
from ..functional.tracer import Tracer
from .common import registrar, unsupported_error

MIN_OPSET = 13                               # older models are converted to this one first
MAX_OPSET = onnx.defs.onnx_opset_version()   # the newest the installed onnx knows
DOMAINS = ("", "ai.onnx")

DTYPES = {TensorProto.FLOAT: dt.f32, TensorProto.DOUBLE: dt.f64, TensorProto.FLOAT16: dt.f16,
          TensorProto.BFLOAT16: dt.bf16, TensorProto.INT64: dt.i64, TensorProto.INT32: dt.i32,
          TensorProto.INT16: dt.i16, TensorProto.INT8: dt.i8, TensorProto.UINT8: dt.ui8, TensorProto.BOOL: dt.i1}
ONNX_DTYPES = {d: t for t, d in DTYPES.items()}

# Ops whose results are random or only mean something when training: out of scope.
RANDOM = ("RandomNormal", "RandomNormalLike", "RandomUniform", "RandomUniformLike", "Bernoulli", "Multinomial")
TRAINING_DOMAINS = ("ai.onnx.preview.training",)


class OnnxImportError(PtirError):
    """A model PTIR cannot take: the message lists every node it cannot import.
    `inputs_needed` names the graph inputs whose values decide a shape (bind them with
    `constants=`)."""

    stage = "import"

    inputs_needed: tuple[str, ...] = ()


@dataclass(frozen=True)
class Entry:
    """How one ONNX op becomes PTIR: `build(node, *inputs, **attributes)` with traced
    Tensors for the inputs (numpy arrays for those listed in `static`, None for absent
    optional ones), returning a Tensor, a numpy array (a literal), or a tuple of them for
    several outputs.  `check(node)` gives the reason when this node's use of the op is
    one PTIR does not take (None: it does); its docstring is what docs/onnx.md says the
    entry leaves out.  `literal`: the op is computed at import, by onnx's reference
    evaluator, and needs all its inputs known then.  `typed`: the inputs of which only
    the type matters (a node whose other inputs are known is computed at import)."""

    build: Callable | None
    check: Callable | None = None
    static: tuple[int, ...] = ()
    literal: bool = False
    typed: tuple[int, ...] = ()


ONNX: dict[str, Entry] = {}
maps = registrar(ONNX, Entry)


@dataclass
class Node:
    """One node as the entries see it: its proto, the model's opset, its attributes
    (as Python values), and the types of its inputs and outputs (None where unknown)."""

    proto: onnx.NodeProto
    opset: int
    index: int
    attrs: dict
    input_types: list
    output_types: list
    known: Callable = field(repr=False, default=lambda name: None)
    graph: Callable = field(repr=False, default=None)   # import a subgraph here: its outputs

    @property
    def op_type(self) -> str:
        return self.proto.op_type

    @property
    def num_outputs(self) -> int:
        return len(self.proto.output)

    def wants(self, i: int) -> bool:
        """Whether output i is asked for (present and named)."""
        return i < len(self.proto.output) and bool(self.proto.output[i])

    def value(self, i: int):
        """Input i's value when it is known at import (numpy), else None."""
        name = self.proto.input[i] if i < len(self.proto.input) else ""
        return self.known(name) if name else None


def _attr(a: onnx.AttributeProto):
    v = helper.get_attribute_value(a)
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if isinstance(v, TensorProto):
        return numpy_helper.to_array(v)
    if isinstance(v, list) and v and isinstance(v[0], bytes):
        return [s.decode("utf-8", "replace") for s in v]
    return v


def _tensor_type(t: onnx.TypeProto) -> TensorType | str | None:
    """The PTIR type of an ONNX value type; a string saying why there is none (a dtype
    or a kind PTIR lacks); None where ONNX does not know it, or a dim is dynamic."""
    kind = t.WhichOneof("value")
    if kind is None:
        return None
    if kind != "tensor_type":
        return f"a {kind.replace('_type', '')} value (PTIR has tensors only)"
    tt = t.tensor_type
    if tt.elem_type == TensorProto.UNDEFINED:
        return None
    if tt.elem_type not in DTYPES:
        return f"dtype {helper.tensor_dtype_to_string(tt.elem_type).removeprefix('TensorProto.').lower()}"
    if not tt.HasField("shape"):
        return None
    dims = []
    for d in tt.shape.dim:
        if not d.HasField("dim_value"):
            return None
        dims.append(d.dim_value)
    return tensor(tuple(dims), DTYPES[tt.elem_type])


# --- the table -------------------------------------------------------------------------------------
#
# Entries take (node, *inputs, **attributes) with ONNX's own names and defaults.  ONNX
# broadcasts numpy's way, which is what `binary`, `compare` and `where` do.

def _unary(name: str, fn: Callable) -> None:
    maps(name)(lambda n, x: fn(x))


for _name, _fn in {"Abs": abs, "Neg": lambda x: -x, "Exp": F.exp, "Log": F.log, "Sqrt": F.sqrt,
                   "Sigmoid": F.sigmoid, "Tanh": F.tanh, "Erf": F.erf, "Sin": F.sin, "Cos": F.cos,
                   "Relu": F.relu, "Identity": lambda x: x, "Not": lambda x: ~x}.items():
    _unary(_name, _fn)


def _float_op(name: str) -> Callable:
    return lambda x: x.tracer.op(name, x)


for _name, _op in {"Floor": "floor", "Ceil": "ceil", "Reciprocal": "reciprocal", "Sign": "sign"}.items():
    _unary(_name, _float_op(_op))


@maps("Tan")
def _tan(n, x):
    return F.sin(x) / F.cos(x)


@maps("Sinh")
def _sinh(n, x):
    return (F.exp(x) - F.exp(-x)) * 0.5


@maps("Cosh")
def _cosh(n, x):
    return (F.exp(x) + F.exp(-x)) * 0.5


@maps("Asinh")
def _asinh(n, x):
    a = abs(x)
    return x.tracer.op("sign", x) * F.log(a + F.sqrt(a * a + 1.0))


@maps("Acosh")
def _acosh(n, x):
    return F.log(x + F.sqrt(x * x - 1.0))


@maps("Atanh")
def _atanh(n, x):
    return (x.tracer.op("log1p", x) - x.tracer.op("log1p", -x)) * 0.5


def _binary(name: str, ptir_op: str) -> None:
    maps(name)(lambda n, a, b: binary(ptir_op, a, b, op=name))


for _name, _op in {"Add": "add", "Sub": "sub", "Mul": "mul", "Div": "div", "And": "and", "Or": "or",
                   "Xor": "xor", "BitwiseAnd": "and", "BitwiseOr": "or", "BitwiseXor": "xor"}.items():
    _binary(_name, _op)
_unary("BitwiseNot", lambda x: ~x)


def _comparison(name: str, direction: str) -> None:
    maps(name)(lambda n, a, b: compare(direction, a, b))


for _name, _dir in {"Equal": "eq", "Less": "lt", "Greater": "gt", "LessOrEqual": "le",
                    "GreaterOrEqual": "ge"}.items():
    _comparison(_name, _dir)


def _variadic(name: str, ptir_op: str) -> None:
    def build(n, *xs):
        out = xs[0]
        for x in xs[1:]:
            out = binary(ptir_op, out, x, op=name)
        return out
    maps(name)(build)


for _name, _op in {"Max": "max", "Min": "min", "Sum": "add"}.items():
    _variadic(_name, _op)


@maps("Mean")
def _mean(n, *xs):
    total = xs[0]
    for x in xs[1:]:
        total = total + x
    return total / len(xs) if len(xs) > 1 else total


def _pow_check(n) -> str | None:
    """an integer base with a float exponent"""
    base, exp = n.input_types[:2]
    if base is not None and exp is not None and not base.dtype.is_float and exp.dtype.is_float:
        return "an integer base with a float exponent"
    return None


@maps("Pow", check=_pow_check)
def _pow(n, x, y):
    return binary("pow", x, cast(y, x.dtype), op="Pow")


@maps("Mod")
def _mod(n, a, b, fmod=0):
    r = binary("rem", a, b, op="Mod")   # C's fmod: the dividend's sign
    if fmod:
        return r
    b = broadcast_to(b, r.shape)
    return F.where((r != 0) & ((r < 0) != (b < 0)), r + b, r)   # Python's %: the divisor's sign


@maps("Where")
def _where(n, cond, a, b):
    return F.where(cond, a, b)


@maps("IsNaN")
def _isnan(n, x):
    return x != x


@maps("IsInf")
def _isinf(n, x, detect_negative=1, detect_positive=1):
    out = None
    for sign, wanted in ((1, detect_positive), (-1, detect_negative)):
        if wanted:
            hit = x == sign * math.inf
            out = hit if out is None else out | hit
    return out if out is not None else np.zeros(x.shape, np.bool_)


def _rint(x: Tensor) -> Tensor:
    """Round half to even: floor, then up where the fraction is over a half, or is a half
    and the floor odd; values past 2^mantissa are integers already (and inf, NaN stay)."""
    f = x.tracer.op("floor", x)
    d = x - f
    odd = abs(binary("rem", f, 2.0)) != 0
    up = (d > 0.5) | ((d == 0.5) & odd)
    big = 2.0 ** {"f16": 10, "bf16": 7, "f32": 23, "f64": 52}[x.dtype.name]
    return F.where(abs(x) >= big, x, F.where(up, f + 1.0, f))


@maps("Round")
def _round(n, x):
    return _rint(x)


@maps("Clip")
def _clip(n, x, min=None, max=None):
    if min is not None:
        x = binary("max", x, min, op="Clip")
    if max is not None:
        x = binary("min", x, max, op="Clip")
    return x


@maps("LeakyRelu")
def _leaky_relu(n, x, alpha=0.01):
    return F.where(x < 0, x * alpha, x)


@maps("PRelu")
def _prelu(n, x, slope):
    """slope broadcasts numpy's way; a (C,) slope that does not (opset 6's per-channel
    rule, in models the version converter brought forward) applies per channel."""
    if slope.ndim == 1 and x.ndim > 2 and slope.shape[0] == x.shape[1] != x.shape[-1] and slope.shape[0] != 1:
        slope = _per_channel(slope, x)
    return F.where(x < 0, x * slope, x)


@maps("Elu")
def _elu(n, x, alpha=1.0):
    return F.where(x < 0, (F.exp(x) - 1.0) * alpha, x)


@maps("Celu")
def _celu(n, x, alpha=1.0):
    return F.relu(x) + F.minimum(0.0, (F.exp(x / alpha) - 1.0) * alpha)


@maps("Selu")
def _selu(n, x, alpha=1.67326319217681884765625, gamma=1.05070102214813232421875):
    return F.where(x > 0, x * gamma, (F.exp(x) * alpha - alpha) * gamma)


@maps("HardSigmoid")
def _hard_sigmoid(n, x, alpha=0.2, beta=0.5):
    return F.clamp(x * alpha + beta, 0.0, 1.0)


@maps("HardSwish")
def _hard_swish(n, x):
    return x * F.clamp(x * (1.0 / 6.0) + 0.5, 0.0, 1.0)


def _softplus_of(x):
    return F.relu(x) + x.tracer.op("log1p", F.exp(-abs(x)))


@maps("Softplus")
def _softplus(n, x):
    return _softplus_of(x)


@maps("Softsign")
def _softsign(n, x):
    return x / (abs(x) + 1.0)


@maps("ThresholdedRelu")
def _thresholded_relu(n, x, alpha=1.0):
    return F.where(x > alpha, x, 0.0)


@maps("Shrink")
def _shrink(n, x, bias=0.0, lambd=0.5):
    return F.where(x < -lambd, x + bias, F.where(x > lambd, x - bias, 0.0))


@maps("Mish")
def _mish(n, x):
    return x * F.tanh(_softplus_of(x))


@maps("Swish")
def _swish(n, x, alpha=1.0):
    return x * F.sigmoid(x * alpha)


@maps("Gelu")
def _gelu(n, x, approximate="none"):
    return F.gelu(x, approximate=approximate)


@maps("Cast")
def _cast(n, x, to=TensorProto.FLOAT, saturate=1, round_mode="up"):
    return cast(x, DTYPES[to])


@maps("CastLike", typed=(1,))
def _cast_like(n, x, like, saturate=1, round_mode="up"):
    return cast(x, like.dtype)


def _dropout_check(n) -> str | None:
    """training_mode=1 (random: out of scope)"""
    mode = n.value(2)
    if len(n.proto.input) > 2 and n.proto.input[2] and (mode is None or bool(mode)):
        return "training_mode=1 (random)"
    return None


@maps("Dropout", check=_dropout_check, static=(1, 2))
def _dropout(n, x, ratio=None, training_mode=None, seed=None):
    """Inference: the input as it is, and a mask of ones."""
    return x, (np.broadcast_to(np.True_, x.shape) if n.wants(1) else None)


# --- shapes ----------------------------------------------------------------------------------------

def _axis(a: int, rank: int) -> int:
    if not -rank <= a < max(rank, 1):
        raise ValueError(f"axis {a} is out of range for rank {rank}")
    return a % rank if rank else 0


def _ints(v) -> list[int]:
    return [int(i) for i in np.asarray(v).reshape(-1)]


@maps("Shape", typed=(0,))
def _shape(n, x, start=0, end=None):
    return np.array(x.shape[start:end], np.int64)


@maps("Size", typed=(0,))
def _size(n, x):
    return np.array(math.prod(x.shape), np.int64)


@maps("ConstantOfShape", static=(0,))
def _constant_of_shape(n, shape, value=None):
    value = np.zeros(1, np.float32) if value is None else np.asarray(value)
    return np.broadcast_to(value.reshape(()), _ints(shape))


for _name in ("Constant", "Range", "NonZero"):
    maps(_name, literal=True)(None)


@maps("EyeLike", typed=(0,))
def _eye_like(n, x, dtype=None, k=0):
    d = DTYPES[dtype] if dtype is not None else x.dtype
    return np.eye(x.shape[0], x.shape[1], k, d.np_dtype)


def _if_check(n) -> str | None:
    """a condition computed at run time (the branch is chosen at import)"""
    return None


@maps("If", check=_if_check, static=(0,))
def _if(n, cond, then_branch, else_branch):
    """The branch the condition (known at import) picks, imported in place."""
    return tuple(n.graph(then_branch if bool(np.asarray(cond).reshape(-1)[0]) else else_branch))


MAX_UNROLL = 4096   # iterations a Loop or Scan is unrolled to, at the most


def _stacked(parts: list, axis: int = 0) -> Tensor:
    """Per-iteration values stacked along a new `axis`."""
    ts = [t if isinstance(t, Tensor) else constant(t) for t in parts]
    return F.cat([reshape(t, [*t.shape[:axis], 1, *t.shape[axis:]]) for t in ts], axis)


def _body_outputs(outs: list) -> list:
    if any(o is None for o in outs):
        raise ValueError("its body could not be imported")
    return outs


def _loop_check(n) -> str | None:
    """more than 4096 iterations; a condition computed at run time (it is unrolled); sequence values"""
    trips = n.value(0)
    if trips is not None and int(np.asarray(trips).reshape(-1)[0]) > MAX_UNROLL:
        return f"more than {MAX_UNROLL} iterations to unroll"
    return None


@maps("Loop", check=_loop_check, static=(0, 1))
def _loop(n, trip_count, cond, *carried, body):
    """Unrolled: the trip count, and the condition after each iteration, must be known at
    import; scan outputs are stacked along a new first axis."""
    trips = None if trip_count is None else int(np.asarray(trip_count).reshape(-1)[0])
    keep = True if cond is None else bool(np.asarray(cond).reshape(-1)[0])
    state, scans, i = list(carried), [], 0
    while keep and (trips is None or i < trips):
        if i >= MAX_UNROLL:
            raise ValueError(f"more than {MAX_UNROLL} iterations to unroll")
        outs = _body_outputs(n.graph(body, [np.array(i, np.int64), np.array(keep), *state]))
        if not isinstance(outs[0], np.ndarray):
            raise ValueError("the loop's condition is computed at run time")
        keep = bool(outs[0].reshape(-1)[0])
        state, i = outs[1:1 + len(carried)], i + 1
        scans.append(outs[1 + len(carried):])
    if not scans and len(body.output) > 1 + len(carried):
        raise ValueError("a loop with no iterations has empty scan outputs of unknown shape")
    return (*state, *(_stacked([s[k] for s in scans]) for k in range(len(body.output) - 1 - len(carried))))


def _scan_check(n) -> str | None:
    """a scanned axis longer than 4096 (it is unrolled)"""
    k = len(n.proto.input) - n.attrs.get("num_scan_inputs", 0)
    seq = n.input_types[k] if k < len(n.input_types) else None
    axis = (n.attrs.get("scan_input_axes") or [0])[0]
    if seq is not None and seq.shape[axis] > MAX_UNROLL:
        return f"a scan of {seq.shape[axis]} steps (more than {MAX_UNROLL} to unroll)"
    return None


@maps("Scan", check=_scan_check)
def _scan(n, *xs, body, num_scan_inputs, scan_input_axes=None, scan_input_directions=None,
          scan_output_axes=None, scan_output_directions=None):
    """Unrolled over the scanned axis (static): the states carried, each scan output
    stacked along its axis (reversed where its direction says)."""
    k = len(xs) - num_scan_inputs
    state, seqs = list(xs[:k]), xs[k:]
    axes = [_axis(a, s.ndim) for a, s in zip(scan_input_axes or [0] * len(seqs), seqs, strict=True)]
    backward = scan_input_directions or [0] * len(seqs)
    steps = seqs[0].shape[axes[0]] if seqs else 0
    if steps > MAX_UNROLL:
        raise ValueError(f"more than {MAX_UNROLL} iterations to unroll")
    outs_per_step = []
    for t in range(steps):
        items = []
        for s, a, rev in zip(seqs, axes, backward, strict=True):
            i = steps - 1 - t if rev else t
            items.append(s[(slice(None),) * a + (i,)])
        outs = _body_outputs(n.graph(body, [*state, *items]))
        state = outs[:k]
        outs_per_step.append(outs[k:])
    n_out = len(body.output) - k
    out_axes = scan_output_axes or [0] * n_out
    out_dirs = scan_output_directions or [0] * n_out
    stacked = []
    for j in range(n_out):
        parts = [step[j] for step in outs_per_step]
        parts = parts[::-1] if out_dirs[j] else parts
        first = parts[0]
        stacked.append(_stacked(parts, _axis(out_axes[j], np.ndim(first) + 1)))
    return (*state, *stacked)


@maps("Reshape", static=(1,))
def _reshape(n, x, shape, allowzero=0):
    shape = _ints(shape)
    if not allowzero:
        shape = [x.shape[i] if s == 0 else s for i, s in enumerate(shape)]
    return reshape(x, shape, op="Reshape")


@maps("Flatten")
def _flatten(n, x, axis=1):
    axis = axis + x.ndim if axis < 0 else axis
    return reshape(x, [math.prod(x.shape[:axis]), math.prod(x.shape[axis:])], op="Flatten")


@maps("Transpose")
def _transpose(n, x, perm=None):
    return transpose(x, perm if perm is not None else range(x.ndim - 1, -1, -1))


@maps("Squeeze", static=(1,))
def _squeeze(n, x, axes=None):
    drop = {i for i, d in enumerate(x.shape) if d == 1} if axes is None else {_axis(a, x.ndim) for a in _ints(axes)}
    if any(x.shape[a] != 1 for a in drop):
        raise ValueError(f"cannot squeeze dims {sorted(drop)} of shape {x.shape}")
    return reshape(x, [d for i, d in enumerate(x.shape) if i not in drop], op="Squeeze")


@maps("Unsqueeze", static=(1,))
def _unsqueeze(n, x, axes):
    rank = x.ndim + len(_ints(axes))
    new = {_axis(a, rank) for a in _ints(axes)}
    dims = iter(x.shape)
    return reshape(x, [1 if i in new else next(dims) for i in range(rank)], op="Unsqueeze")


@maps("Concat")
def _concat(n, *xs, axis):
    return F.cat(list(xs), axis)


@maps("Split", static=(1,))
def _split(n, x, split=None, axis=0, num_outputs=None):
    size = x.shape[_axis(axis, x.ndim)]
    if split is not None:
        sizes = _ints(split)
    else:
        k = num_outputs or n.num_outputs
        chunk = -(-size // k)
        sizes = [min(chunk, size - i * chunk) for i in range(k)]
    return F.split(x, sizes, axis)


@maps("Slice", static=(1, 2, 3, 4))
def _slice(n, x, starts, ends, axes=None, steps=None):
    starts, ends = _ints(starts), _ints(ends)
    axes = range(len(starts)) if axes is None else [_axis(a, x.ndim) for a in _ints(axes)]
    steps = [1] * len(starts) if steps is None else _ints(steps)
    index = [slice(None)] * x.ndim
    for a, s, e, st in zip(axes, starts, ends, steps, strict=True):
        dim = x.shape[a]
        s, e = s + dim if s < 0 else s, e + dim if e < 0 else e
        if st > 0:
            s, e = min(max(s, 0), dim), min(max(e, 0), dim)
        else:
            s, e = min(max(s, 0), dim - 1), min(max(e, -1), dim - 1)
        index[a] = slice(s, None if e < 0 else e, st)
    backward = [(a, index[a]) for a in range(x.ndim) if index[a].step is not None and index[a].step < 0]
    for a, _ in backward:
        index[a] = slice(None)
    y = x[tuple(index)]
    for a, sl in backward:   # one take of the rows a negative step visits, in its order
        y = _take(y, np.arange(x.shape[a])[sl], a)
    return y


@maps("Expand", static=(1,))
def _expand(n, x, shape):
    return broadcast_to(x, broadcast_shapes(x.shape, tuple(_ints(shape)), op="Expand"))


@maps("Tile", static=(1,))
def _tile(n, x, repeats):
    """Each dim d repeated r times: x as (1, d0, 1, d1, ...), broadcast to (r0, d0, r1, d1, ...)."""
    reps = _ints(repeats)
    spread = reshape(x, [v for d in x.shape for v in (1, d)])
    big = broadcast_to(spread, [v for r, d in zip(reps, x.shape, strict=True) for v in (r, d)])
    return reshape(big, [r * d for r, d in zip(reps, x.shape, strict=True)])


def _take(x: Tensor, indices, axis: int) -> Tensor:
    return x.tracer.op("take", x, indices if isinstance(indices, Tensor) else constant(indices, dt.i64), axis=axis)


def _wrapped(i: Tensor, n: int) -> Tensor:
    """Indices into a dim of size n, negative ones counted from its end."""
    return F.where(i < 0, i + n, i)


@maps("Gather")
def _gather(n, x, indices, axis=0):
    axis = _axis(axis, x.ndim)
    return _take(x, _wrapped(indices, x.shape[axis]), axis)


@maps("GatherElements")
def _gather_elements(n, x, indices, axis=0):
    axis = _axis(axis, x.ndim)
    return x.tracer.op("gather", x, _wrapped(indices, x.shape[axis]), axis=axis)


def _scatter_check(n) -> str | None:
    """reduction="mul\""""
    return 'reduction="mul"' if n.attrs.get("reduction", "none") == "mul" else None


@maps("ScatterElements", check=_scatter_check)
def _scatter_elements(n, x, indices, updates, axis=0, reduction="none"):
    axis = _axis(axis, x.ndim)
    kind = {"none": "replace", "add": "add", "max": "max", "min": "min"}[reduction]
    return x.tracer.op("scatter", x, _wrapped(indices, x.shape[axis]), updates, axis=axis, reduce=kind)


@maps("Compress", static=(1,))
def _compress(n, x, condition, axis=None):
    keep = np.nonzero(np.asarray(condition).reshape(-1))[0]
    if axis is None:
        return _take(reshape(x, [-1]), keep, 0)
    return _take(x, keep, _axis(axis, x.ndim))


def _pad_check(n) -> str | None:
    """a mode other than constant, reflect, edge or wrap"""
    mode = n.attrs.get("mode", "constant")
    return None if mode in ("constant", "reflect", "edge", "wrap") else f'mode "{mode}"'


@maps("Pad", check=_pad_check, static=(1, 3))
def _pad(n, x, pads, constant_value=None, axes=None, mode="constant"):
    """`constant` is one ptir.pad (the value computed at run: a pad with zeros, then a
    select of the padding); the other modes take, along each padded axis, the rows their
    index map names (negative pads crop)."""
    pads = _ints(pads)
    axes = list(range(x.ndim)) if axes is None else [_axis(a, x.ndim) for a in _ints(axes)]
    low, high = [0] * x.ndim, [0] * x.ndim
    for i, a in enumerate(axes):
        low[a], high[a] = pads[i], pads[i + len(axes)]
    if mode == "constant":
        value = n.value(2) if constant_value is not None else np.zeros(())
        if value is not None:
            return x.tracer.op("pad", x, low=low, high=high, value=float(np.asarray(value).reshape(-1)[0]))
        inside = constant(np.ones(x.shape, np.bool_), tracer=x.tracer)
        y = x.tracer.op("pad", x, low=low, high=high)
        return F.where(x.tracer.op("pad", inside, low=low, high=high), y, reshape(constant_value, []))
    for a in range(x.ndim):
        if low[a] or high[a]:
            size = x.shape[a]
            i = np.arange(-low[a], size + high[a])
            if mode == "edge":
                i = np.clip(i, 0, size - 1)
            elif mode == "wrap":
                i = i % size
            else:   # reflect: mirror about the first and last elements
                period = 2 * (size - 1) if size > 1 else 1
                i = np.abs(i) % period
                i = np.where(i >= size, period - i, i)
            x = _take(x, i, a)
    return x


@maps("DepthToSpace")
def _depth_to_space(n, x, blocksize, mode="DCR"):
    b, (N, C, H, W) = blocksize, x.shape
    if mode == "DCR":
        y = transpose(reshape(x, [N, b, b, C // (b * b), H, W]), [0, 3, 4, 1, 5, 2])
    else:
        y = transpose(reshape(x, [N, C // (b * b), b, b, H, W]), [0, 1, 4, 2, 5, 3])
    return reshape(y, [N, C // (b * b), H * b, W * b])


@maps("SpaceToDepth")
def _space_to_depth(n, x, blocksize, mode="DCR"):
    b, (N, C, H, W) = blocksize, x.shape
    perm = [0, 3, 5, 1, 2, 4] if mode == "DCR" else [0, 1, 3, 5, 2, 4]   # channels (block, c) or (c, block)
    y = transpose(reshape(x, [N, C, H // b, b, W // b, b]), perm)
    return reshape(y, [N, C * b * b, H // b, W // b])


@maps("Trilu", static=(1,))
def _trilu(n, x, k=None, upper=1):
    k = 0 if k is None else int(np.asarray(k))
    rows, cols = x.shape[-2:]
    diff = np.arange(cols)[None, :] - np.arange(rows)[:, None]
    keep = diff >= k if upper else diff <= k
    return F.where(constant(keep), x, 0)


@maps("OneHot", static=(1,))
def _one_hot(n, indices, depth, values, axis=-1):
    depth = int(np.asarray(depth).reshape(-1)[0])
    rank = indices.ndim + 1
    axis = _axis(axis, rank)
    idx = _wrapped(cast(indices, dt.i64), depth)
    shape = [*indices.shape[:axis], depth, *indices.shape[axis:]]
    expanded = reshape(idx, [*indices.shape[:axis], 1, *indices.shape[axis:]])
    hot = iota(shape, axis, "i64") == broadcast_to(expanded, shape)
    off, on = values[0], values[1]
    return F.where(hot, broadcast_to(reshape(on, [1] * rank), shape), broadcast_to(reshape(off, [1] * rank), shape))


# --- matrix products ---------------------------------------------------------------------------------

@maps("MatMul")
def _matmul(n, a, b):
    return F.matmul(a, b)


@maps("Gemm")
def _gemm(n, a, b, c=None, alpha=1.0, beta=1.0, transA=0, transB=0):
    y = F.matmul(a.T if transA else a, b.T if transB else b)
    y = y if alpha == 1.0 else y * alpha
    if c is None:
        return y
    return y + (c if beta == 1.0 else c * beta)


# --- reductions ------------------------------------------------------------------------------------

def _reduce_axes(n, x, axes_input, axes_attr, noop_with_empty_axes):
    """The axes a Reduce* node reduces (from its input from opset 18, 13 for ReduceSum, or
    its attribute before), or None for a no-op."""
    axes = _ints(axes_input) if axes_input is not None else axes_attr
    if not axes:
        return None if noop_with_empty_axes else list(range(x.ndim))
    return sorted({_axis(a, x.ndim) for a in axes})


def _reduction(name: str, fn: Callable) -> None:
    def build(n, x, axes_input=None, axes=None, keepdims=1, noop_with_empty_axes=0):
        ax = _reduce_axes(n, x, axes_input, axes, noop_with_empty_axes)
        return fn(x, list(range(x.ndim)) if ax is None else ax, bool(keepdims), ax is None)
    maps(name, static=(1,))(build)


def _sum_of(x, axes, keepdims, noop):
    return x if noop else reduce(x, "sum", axes, keepdims)


def _max_of(x, axes, keepdims, noop, kind="max"):
    if noop:
        return x
    if x.dtype.is_bool:
        return reduce(cast(x, dt.i8), kind, axes, keepdims) > 0   # an empty max is i8's minimum: false
    return reduce(x, kind, axes, keepdims)


def _mean_of(x, axes, keepdims, noop):
    return x if noop else mean(x, axes, keepdims, op="ReduceMean")


def _log_sum_exp(x, axes, keepdims, noop):
    if noop:
        return x
    m = reduce(x, "max", axes, True)
    m = F.where(abs(m) == math.inf, 0.0, m)   # all -inf (or empty): plain log(sum(exp))
    out = F.log(reduce(F.exp(x - m), "sum", axes, True)) + m
    return out if keepdims else reshape(out, reduce(x, "sum", axes, False).shape)


_reduction("ReduceSum", _sum_of)
_reduction("ReduceMean", _mean_of)
_reduction("ReduceMax", _max_of)
_reduction("ReduceMin", lambda x, axes, keepdims, noop: _max_of(x, axes, keepdims, noop, "min"))
_reduction("ReduceProd", lambda x, axes, keepdims, noop: x if noop else reduce(x, "prod", axes, keepdims))
_reduction("ReduceL1", lambda x, axes, keepdims, noop: _sum_of(abs(x), axes, keepdims, noop))
_reduction("ReduceL2", lambda x, axes, keepdims, noop: F.sqrt(_sum_of(x * x, axes, keepdims, noop)))
_reduction("ReduceSumSquare", lambda x, axes, keepdims, noop: _sum_of(x * x, axes, keepdims, noop))
_reduction("ReduceLogSum", lambda x, axes, keepdims, noop: F.log(_sum_of(x, axes, keepdims, noop)))
_reduction("ReduceLogSumExp", _log_sum_exp)


def _arg(kind: str) -> Callable:
    def build(n, x, axis=0, keepdims=1, select_last_index=0):
        axis = _axis(axis, x.ndim)
        size = x.shape[axis]
        if select_last_index:   # the first of the reversed dim
            x = _take(x, np.arange(size - 1, -1, -1), axis)
        t = x.tracer.infer(kind, x, axis=axis, keepdims=bool(keepdims), caller=kind)[1][0]
        i = x.tracer.op(kind, x, axis=axis, keepdims=bool(keepdims), out=t.with_dtype(dt.i64))
        return (size - 1) - i if select_last_index else i
    return build


maps("ArgMax")(_arg("argmax"))
maps("ArgMin")(_arg("argmin"))


def _topk_check(n) -> str | None:
    """sorted=0 (an order ONNX leaves open)"""
    return "sorted=0" if n.attrs.get("sorted", 1) == 0 else None


@maps("TopK", check=_topk_check, static=(1,))
def _top_k(n, x, k, axis=-1, largest=1, sorted=1):
    values, indices = x.tracer.op("top_k", x, k=int(np.asarray(k).reshape(-1)[0]), axis=_axis(axis, x.ndim),
                                  largest=bool(largest), caller="TopK")
    return values, cast(indices, dt.i64)


@maps("CumSum", static=(1,))
def _cumsum(n, x, axis, exclusive=0, reverse=0):
    """Running sums as one reduce_window over a window as long as the axis, padded before."""
    a = _axis(int(np.asarray(axis).reshape(-1)[0]), x.ndim)
    size = x.shape[a]
    back = np.arange(size - 1, -1, -1)
    if reverse:
        x = _take(x, back, a)
    if exclusive:
        low, high = [0] * x.ndim, [0] * x.ndim
        low[a], high[a] = 1, -1
        x = x.tracer.op("pad", x, low=low, high=high)
    window, pads = [1] * x.ndim, [(0, 0)] * x.ndim
    window[a], pads[a] = size, (size - 1, 0)
    y = x.tracer.op("reduce_window", x, kind="sum", window=window, padding=pads)
    return _take(y, back, a) if reverse else y


@maps("Hardmax")
def _hardmax(n, x, axis=-1):
    axis = _axis(axis, x.ndim)
    i = _arg("argmax")(n, x, axis=axis, keepdims=1)
    return cast(iota(x.shape, axis, "i64") == broadcast_to(i, x.shape), x.dtype)


@maps("Softmax")
def _softmax(n, x, axis=-1):
    return F.softmax(x, axis)


@maps("LogSoftmax")
def _log_softmax(n, x, axis=-1):
    return F.log_softmax(x, axis)


# --- normalisation ---------------------------------------------------------------------------------

def _bn_check(n) -> str | None:
    """training_mode=1"""
    return "training_mode=1 (training)" if n.attrs.get("training_mode", 0) else None


@maps("BatchNormalization", check=_bn_check)
def _batch_norm(n, x, scale, bias, mean, var, epsilon=1e-5, momentum=0.9, training_mode=0):
    return F.batch_norm(x, cast(mean, x.dtype), cast(var, x.dtype), cast(scale, x.dtype), cast(bias, x.dtype),
                        eps=epsilon)


def _moments(x, axes):
    """mean and biased variance over axes, kept."""
    mu = mean(x, axes, True)
    d = x - mu
    return mu, mean(d * d, axes, True)


@maps("LayerNormalization")
def _layer_norm(n, x, scale, bias=None, axis=-1, epsilon=1e-5, stash_type=1):
    axis = _axis(axis, x.ndim)
    axes = list(range(axis, x.ndim))
    wide = dt.f32 if x.dtype in (dt.f16, dt.bf16) and stash_type == 1 else x.dtype
    xw = cast(x, wide)
    mu, var = _moments(xw, axes)
    inv = F.rsqrt(var + epsilon)
    y = cast((xw - mu) * inv, x.dtype) * scale
    y = y if bias is None else y + bias
    return y, mu if n.wants(1) else None, inv if n.wants(2) else None


@maps("RMSNormalization")
def _rms_norm(n, x, scale, axis=-1, epsilon=1e-5, stash_type=1):
    axes = list(range(_axis(axis, x.ndim), x.ndim))
    wide = dt.f32 if x.dtype in (dt.f16, dt.bf16) and stash_type == 1 else x.dtype
    xw = cast(x, wide)
    return cast(xw * F.rsqrt(mean(xw * xw, axes, True) + epsilon), x.dtype) * scale


def _per_channel(v: Tensor, x: Tensor) -> Tensor:
    return reshape(v, [v.shape[0]] + [1] * (x.ndim - 2))


@maps("InstanceNormalization")
def _instance_norm(n, x, scale, bias, epsilon=1e-5):
    mu, var = _moments(x, list(range(2, x.ndim)))
    return (x - mu) * F.rsqrt(var + epsilon) * _per_channel(scale, x) + _per_channel(bias, x)


@maps("GroupNormalization")
def _group_norm(n, x, scale, bias, num_groups, epsilon=1e-5, stash_type=1):
    N, C = x.shape[:2]
    g = reshape(x, [N, num_groups, -1])
    mu, var = _moments(g, [2])
    y = reshape((g - mu) * F.rsqrt(var + epsilon), x.shape)
    if scale.shape[0] != C:   # opset 18: one scale and bias per group
        scale, bias = (reshape(broadcast_to(reshape(v, [num_groups, 1]), [num_groups, C // num_groups]), [C])
                       for v in (scale, bias))
    return y * _per_channel(scale, x) + _per_channel(bias, x)


@maps("LpNormalization")
def _lp_norm(n, x, axis=-1, p=2):
    axis = _axis(axis, x.ndim)
    norm = reduce(abs(x), "sum", [axis], True) if p == 1 else F.sqrt(reduce(x * x, "sum", [axis], True))
    return F.where(norm == 0, 0.0, x / F.where(norm == 0, 1.0, norm))   # a zero vector stays zero


@maps("MeanVarianceNormalization")
def _mvn(n, x, axes=(0, 2, 3)):
    mu, var = _moments(x, [_axis(a, x.ndim) for a in axes])
    return (x - mu) / (F.sqrt(var) + 1e-9)


@maps("LRN")
def _lrn(n, x, size, alpha=1e-4, beta=0.75, bias=1.0):
    """x / (bias + alpha / size * sum of x^2 over `size` neighbouring channels)^beta."""
    window, pads = [1] * x.ndim, [(0, 0)] * x.ndim
    window[1], pads[1] = size, ((size - 1) // 2, size - 1 - (size - 1) // 2)
    sq = x.tracer.op("reduce_window", x * x, kind="sum", window=window, padding=pads)
    return x / (sq * (alpha / size) + bias) ** beta


# --- convolution and pooling -----------------------------------------------------------------------

def _spatial_pads(x_spatial, kernel, strides, dilations, pads, auto_pad, ceil_mode=0):
    """(low, high) padding per spatial dim, from `pads` or `auto_pad`."""
    k = len(x_spatial)
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        out = []
        for size, kk, s, d in zip(x_spatial, kernel, strides, dilations, strict=True):
            total = max((-(-size // s) - 1) * s + (kk - 1) * d + 1 - size, 0)
            lo = total // 2 if auto_pad == "SAME_UPPER" else total - total // 2
            out.append((lo, total - lo))
        return out
    if auto_pad == "VALID" or pads is None:
        return [(0, 0)] * k
    return [(pads[i], pads[i + k]) for i in range(k)]


def _conv_check(n) -> str | None:
    """a kernel of more than 3 spatial dims"""
    w = n.input_types[1] if len(n.input_types) > 1 else None
    if w is not None and not 1 <= w.rank - 2 <= 3:
        return f"{w.rank - 2}-d convolution (1-d to 3-d only)"
    return None


@maps("Conv", check=_conv_check)
def _conv(n, x, w, b=None, auto_pad="NOTSET", dilations=None, group=1, kernel_shape=None, pads=None, strides=None):
    k = w.ndim - 2
    strides, dilations = strides or [1] * k, dilations or [1] * k
    pad = _spatial_pads(x.shape[2:], w.shape[2:], strides, dilations, pads, auto_pad)
    y = x.tracer.op("conv", x, w, layout="nchw", strides=strides, padding=pad, dilation=dilations, groups=group,
                    caller="Conv")
    return y if b is None else y + _per_channel(b, y)


def _pool_check(n) -> str | None:
    """MaxPool's Indices output"""
    return "the Indices output" if n.op_type == "MaxPool" and n.wants(1) else None


def _pool_padding(x, kernel, strides, dilations, pads, auto_pad, ceil_mode):
    """Per-dim (low, high) padding of a pooling window, ceil_mode as extra high padding
    (a window must start inside the input or its low padding, as in torch).  The high
    padding is what the last window reads, no more (IREE 3.13 miscompiles a reduce_window
    whose padded input the windows do not cover exactly)."""
    spatial = _spatial_pads(x.shape[2:], kernel, strides, dilations, pads, auto_pad)
    out = [(0, 0), (0, 0)]
    for size, k, s, d, (lo, hi) in zip(x.shape[2:], kernel, strides, dilations, spatial, strict=True):
        span = size + lo + hi - ((k - 1) * d + 1)
        count = (-(-span // s) if ceil_mode else span // s) + 1
        if ceil_mode and (count - 1) * s >= size + lo:
            count -= 1
        out.append((lo, max((count - 1) * s + (k - 1) * d + 1 - size - lo, 0)))   # no padding no window reads
    return out


def _window_reduce(x, kind: str, kernel, strides, dilations, padding):
    """reduce_window over the spatial dims; a dilated window as the max or sum of the
    kernel's strided slices of the padded input (the padding is the reduction's identity)."""
    window, step = [1, 1, *kernel], [1, 1, *strides]
    if all(d == 1 for d in dilations):
        return x.tracer.op("reduce_window", x, kind=kind, window=window, strides=step, padding=padding)
    fill = 0.0 if kind == "sum" else -math.inf if x.dtype.is_float else float(np.iinfo(x.dtype.np_dtype).min)
    xp = x.tracer.op("pad", x, low=[lo for lo, _ in padding], high=[hi for _, hi in padding], value=fill)
    counts = [(n - (k - 1) * d - 1) // s + 1 for n, k, d, s in zip(xp.shape[2:], kernel, dilations, strides,
                                                                    strict=True)]
    out = None
    for offset in np.ndindex(*kernel):
        start = [0, 0, *(o * d for o, d in zip(offset, dilations, strict=True))]
        limit = [*xp.shape[:2], *(b + (c - 1) * s + 1 for b, c, s in zip(start[2:], counts, strides, strict=True))]
        part = xp.tracer.op("slice", xp, start=start, limit=limit, stride=step)
        out = part if out is None else binary("add" if kind == "sum" else kind, out, part)
    return out


def _pool_geometry(x, kernel_shape, strides, dilations, pads, auto_pad, ceil_mode):
    k = len(kernel_shape)
    strides, dilations = list(strides or [1] * k), list(dilations or [1] * k)
    return strides, dilations, _pool_padding(x, kernel_shape, strides, dilations, pads, auto_pad, ceil_mode)


@maps("MaxPool", check=_pool_check)
def _max_pool(n, x, auto_pad="NOTSET", ceil_mode=0, dilations=None, kernel_shape=(), pads=None, storage_order=0,
              strides=None):
    strides, dilations, padding = _pool_geometry(x, kernel_shape, strides, dilations, pads, auto_pad, ceil_mode)
    return _window_reduce(x, "max", kernel_shape, strides, dilations, padding), None


@maps("AveragePool")
def _avg_pool(n, x, auto_pad="NOTSET", ceil_mode=0, count_include_pad=0, dilations=None, kernel_shape=(), pads=None,
              strides=None):
    """The window sums over the window counts: the padding counts where count_include_pad
    says so (but never ceil_mode's extra padding)."""
    strides, dilations, padding = _pool_geometry(x, kernel_shape, strides, dilations, pads, auto_pad, ceil_mode)
    total = _window_reduce(x, "sum", kernel_shape, strides, dilations, padding)
    if all(lo == hi == 0 for lo, hi in padding):   # every window inside the input
        return total / math.prod(kernel_shape)
    explicit = _spatial_pads(x.shape[2:], kernel_shape, strides, dilations, pads, auto_pad)
    inner = [(lo, min(hi, used)) if count_include_pad else (0, 0) for (lo, hi), (_, used) in
             zip(explicit, padding[2:], strict=True)]
    ones = constant(1, x.dtype, [1, 1, *(d + lo + hi for d, (lo, hi) in zip(x.shape[2:], inner, strict=True))],
                    x.tracer)
    rest = [(0, 0), (0, 0)] + [(lo - a, hi - b) for (lo, hi), (a, b) in zip(padding[2:], inner, strict=True)]
    count = _window_reduce(ones, "sum", kernel_shape, strides, dilations, rest)
    return total / broadcast_to(count, total.shape)


@maps("LpPool")
def _lp_pool(n, x, auto_pad="NOTSET", ceil_mode=0, dilations=None, kernel_shape=(), p=2, pads=None, strides=None):
    strides, dilations, padding = _pool_geometry(x, kernel_shape, strides, dilations, pads, auto_pad, ceil_mode)
    return _window_reduce(abs(x) ** float(p), "sum", kernel_shape, strides, dilations, padding) ** (1.0 / p)


@maps("GlobalAveragePool")
def _global_avg_pool(n, x):
    return mean(x, list(range(2, x.ndim)), True)


@maps("GlobalMaxPool")
def _global_max_pool(n, x):
    return reduce(x, "max", list(range(2, x.ndim)), True)


@maps("ConvTranspose", check=_conv_check)
def _conv_transpose(n, x, w, b=None, auto_pad="NOTSET", dilations=None, group=1, kernel_shape=None,
                    output_padding=None, output_shape=None, pads=None, strides=None):
    """A convolution of the input spread out by the strides (interior padding), padded by
    the kernel's extent less `pads`, with the kernel flipped and its in/out channels swapped."""
    k = w.ndim - 2
    strides, dilations = strides or [1] * k, dilations or [1] * k
    extra = list(output_padding or [0] * k)
    kernel, spatial = w.shape[2:], x.shape[2:]
    full = [s * (i - 1) + e + (kk - 1) * d + 1 for s, i, e, kk, d in zip(strides, spatial, extra, kernel, dilations,
                                                                        strict=True)]
    if pads is not None and auto_pad in ("NOTSET", "VALID"):
        begin, end = list(pads[:k]), list(pads[k:])
        if output_shape is not None:   # the given size wins: what is left over goes at the end
            end = [f - b - o for f, b, o in zip(full, begin, output_shape[-k:], strict=True)]
    elif auto_pad == "VALID" or (pads is None and output_shape is None and auto_pad == "NOTSET"):
        begin, end = [0] * k, [0] * k
    else:
        target = output_shape[-k:] if output_shape is not None else [i * s for i, s in zip(spatial, strides,
                                                                                          strict=True)]
        total = [f - t for f, t in zip(full, target, strict=True)]
        small = [t // 2 for t in total]
        begin, end = ((small, [t - h for t, h in zip(total, small, strict=True)]) if auto_pad == "SAME_UPPER"
                      else ([t - h for t, h in zip(total, small, strict=True)], small))
    c_in, c_out = w.shape[0], w.shape[1] * group
    wt = reshape(w, [group, c_in // group, c_out // group, *kernel])
    wt = reshape(transpose(wt, [0, 2, 1, *range(3, 3 + k)]), [c_out, c_in // group, *kernel])
    for a in range(2, 2 + k):
        wt = _take(wt, np.arange(wt.shape[a] - 1, -1, -1), a)
    reach = [(kk - 1) * d for kk, d in zip(kernel, dilations, strict=True)]
    xs = x.tracer.op("pad", x, low=[0, 0, *(r - p for r, p in zip(reach, begin, strict=True))],
                     high=[0, 0, *(r - p + e for r, p, e in zip(reach, end, extra, strict=True))],
                     interior=[0, 0, *(s - 1 for s in strides)])
    y = x.tracer.op("conv", xs, wt, layout="nchw", strides=[1] * k, padding=[(0, 0)] * k, dilation=dilations,
                    groups=group, caller="ConvTranspose")
    return y if b is None else y + _per_channel(b, y)


def _resize_check(n) -> str | None:
    """linear and cubic modes on integer tensors"""
    x = n.input_types[0]
    if x is not None and not x.dtype.is_float and n.attrs.get("mode", "nearest") != "nearest":
        return f'mode "{n.attrs.get("mode")}" on {x.dtype}'
    return None


def _resize_matrix(n, size: int, out: int, attrs: dict, roi, scale, sized: bool):
    """The (out, size) interpolation weights of one axis and the (out,) values extrapolated
    regardless of the input, by onnx's reference Resize run on the rows of an identity
    matrix (its interpolation is linear in the input, one axis after another)."""
    from onnx.reference import ReferenceEvaluator

    inputs = ["X", "roi", "" if sized else "scales", "sizes" if sized else ""]
    attrs = {k: v for k, v in attrs.items() if k not in ("axes", "keep_aspect_ratio_policy")}
    node = helper.make_node("Resize", inputs, ["Y"], axes=[1], **attrs)
    feeds = {"roi": np.array([] if roi is None else roi, np.float32)}
    feeds |= {"sizes": np.array([out], np.int64)} if sized else {"scales": np.array([scale], np.float32)}
    run = ReferenceEvaluator(node, opsets={"": max(n.opset, 19)})
    rows = run.run(None, {"X": np.eye(size), **feeds})[0]
    bias = run.run(None, {"X": np.zeros((1, size)), **feeds})[0][0]
    if rows.shape != (size, out):
        raise ValueError(f"resizing an axis of {size} gives {rows.shape[1]} values, not {out}")
    return rows.T - bias[:, None], bias


@maps("Resize", check=_resize_check, static=(1, 2, 3))
def _resize(n, x, roi=None, scales=None, sizes=None, **attrs):
    """Each resized axis at a time: a `take` of the nearest rows, or a product with the
    axis's interpolation weights (linear, cubic, antialiased), plus what is extrapolated."""
    axes = [_axis(a, x.ndim) for a in attrs.get("axes") or range(x.ndim)]
    scales = None if scales is None or np.size(scales) == 0 else [float(v) for v in np.asarray(scales).reshape(-1)]
    sizes = None if sizes is None or np.size(sizes) == 0 else _ints(sizes)
    roi = None if roi is None or np.size(roi) == 0 else [float(v) for v in np.asarray(roi).reshape(-1)]
    policy = attrs.get("keep_aspect_ratio_policy", "stretch")
    if sizes is not None and policy != "stretch":
        ratios = [s / x.shape[a] for s, a in zip(sizes, axes, strict=True)]
        common = min(ratios) if policy == "not_larger" else max(ratios)
        scales, sizes = [common] * len(axes), None
        outs = [int(common * x.shape[a] + 0.5) for a in axes]
    else:
        outs = sizes if sizes is not None else [int(math.floor(x.shape[a] * s)) for a, s in zip(axes, scales,
                                                                                               strict=True)]
    y = x
    for i, (a, out) in enumerate(zip(axes, outs, strict=True)):
        size = x.shape[a]
        scale = out / size if scales is None else scales[i]
        box = None if roi is None else [roi[i], roi[i + len(axes)]]
        if out == size and scale == 1.0 and attrs.get("coordinate_transformation_mode") != "tf_crop_and_resize":
            continue
        w, bias = _resize_matrix(n, size, out, attrs, box, scale, sizes is not None)
        if attrs.get("mode", "nearest") == "nearest" and not bias.any():
            y = _take(y, np.argmax(w, axis=1), a)
            continue
        moved = [d for d in range(y.ndim) if d != a] + [a]
        z = F.matmul(transpose(y, moved), constant(w.T.astype(y.dtype.np_dtype), tracer=y.tracer))
        z = z + constant(bias.astype(y.dtype.np_dtype), tracer=y.tracer) if bias.any() else z
        y = transpose(z, [moved.index(d) for d in range(y.ndim)])
    return y


def _einsum_check(n) -> str | None:
    """more than two operands; an index repeated within one operand (a diagonal)"""
    eq = n.attrs.get("equation", "").replace(" ", "")
    terms = eq.split("->")[0].split(",")
    if len(terms) > 2:
        return f"{len(terms)} operands"
    if any(len(set(t.replace("...", ""))) != len(t.replace("...", "")) for t in terms):
        return "an index repeated within an operand (a diagonal)"
    return None


@maps("Einsum", check=_einsum_check)
def _einsum(n, *xs, equation):
    """One or two operands: indices only one operand has and the output lacks are summed
    first, then one dot_general (batch: shared and kept; contracted: shared and summed)."""
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    free = [c for c in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" if c not in eq]
    ell = max((x.ndim - len(t.replace("...", "")) for x, t in zip(xs, terms, strict=True) if "..." in t), default=0)
    dots = "".join(free[:ell])
    terms = [t.replace("...", dots[len(dots) - (x.ndim - len(t.replace("...", ""))):] if "..." in t else "")
             for x, t in zip(xs, terms, strict=True)]
    if not arrow:
        counts = "".join(terms)
        rhs = dots + "".join(sorted(c for c in set(counts) if counts.count(c) == 1 and c not in dots))
    rhs = rhs.replace("...", dots)
    ops = []
    for i, (x, t) in enumerate(zip(xs, terms, strict=True)):
        others = "".join(terms[:i] + terms[i + 1:]) + rhs
        drop = [k for k, c in enumerate(t) if c not in others]
        if drop:
            x, t = reduce(x, "sum", drop), "".join(c for k, c in enumerate(t) if k not in drop)
        ops.append((x, t))
    if len(ops) == 1:
        (x, t), = ops
        return transpose(x, [t.index(c) for c in rhs])
    (a, ta), (b, tb) = ops
    batch = [c for c in ta if c in tb and c in rhs]
    contract = [c for c in ta if c in tb and c not in rhs]
    a_only, b_only = [c for c in ta if c not in tb], [c for c in tb if c not in ta]
    sizes = {c: d for x, t in ops for c, d in zip(t, x.shape, strict=True)}
    a = broadcast_to(a, [sizes[c] if c in batch else a.shape[k] for k, c in enumerate(ta)])
    b = broadcast_to(b, [sizes[c] if c in batch else b.shape[k] for k, c in enumerate(tb)])
    y = a.tracer.op("dot_general", a, b, batch_lhs=[ta.index(c) for c in batch], batch_rhs=[tb.index(c) for c in batch],
                    contract_lhs=[ta.index(c) for c in contract], contract_rhs=[tb.index(c) for c in contract])
    order = batch + a_only + b_only
    return transpose(y, [order.index(c) for c in rhs])


def _nd_linear(data_shape, indices: Tensor, batch: int) -> tuple[Tensor, int]:
    """ONNX's index tuples (the last dim of `indices`, after `batch` shared dims) as row
    numbers of data reshaped to (rows, rest...), negative entries counted from the end."""
    k = indices.shape[-1]
    idx = cast(indices, dt.i64)
    linear, stride = None, 1
    for j in reversed(range(k)):
        size = data_shape[batch + j]
        part = _wrapped(reshape(idx[..., j], indices.shape[:-1]), size)
        linear = part * stride if linear is None else linear + part * stride
        stride *= size
    for j in reversed(range(batch)):
        linear = linear + iota(indices.shape[:-1], j, "i64") * stride
        stride *= data_shape[j]
    return linear, stride


@maps("GatherND")
def _gather_nd(n, x, indices, batch_dims=0):
    k = indices.shape[-1]
    linear, rows = _nd_linear(x.shape, indices, batch_dims)
    return _take(reshape(x, [rows, *x.shape[batch_dims + k:]]), linear, 0)


def _scatter_nd_check(n) -> str | None:
    """reduction="mul\""""
    return 'reduction="mul"' if n.attrs.get("reduction", "none") == "mul" else None


@maps("ScatterND", check=_scatter_nd_check)
def _scatter_nd(n, x, indices, updates, reduction="none"):
    """One scatter along the rows of x reshaped to (rows, rest...)."""
    k = indices.shape[-1]
    linear, rows = _nd_linear(x.shape, indices, 0)
    rest = list(x.shape[k:])
    flat = reshape(updates, [-1, *rest])
    index = broadcast_to(reshape(linear, [-1] + [1] * len(rest)), flat.shape)
    kind = {"none": "replace", "add": "add", "max": "max", "min": "min"}[reduction]
    out = x.tracer.op("scatter", reshape(x, [rows, *rest]), index, flat, axis=0, reduce=kind)
    return reshape(out, x.shape)


@maps("CumProd", static=(1,))
def _cumprod(n, x, axis, exclusive=0, reverse=0):
    """Running products: each output the product over a triangle of the axis (its n x n
    copies, ones outside)."""
    a = _axis(int(np.asarray(axis).reshape(-1)[0]), x.ndim)
    size = x.shape[a]
    moved = [d for d in range(x.ndim) if d != a] + [a]
    xt = transpose(x, moved)
    rows = broadcast_to(reshape(xt, [*xt.shape[:-1], 1, size]), [*xt.shape[:-1], size, size])
    i, j = np.arange(size)[:, None], np.arange(size)[None, :]
    keep = (j >= i if reverse else j <= i) & ((j != i) if exclusive else True)
    y = reduce(F.where(constant(keep), rows, 1), "prod", [xt.ndim])
    return transpose(y, [moved.index(d) for d in range(x.ndim)])


@maps("BitShift")
def _bitshift(n, x, y, direction):
    """x * 2^y (wrapping) or floor(x / 2^y), 2^y looked up; shifts outside [0, width)
    give 0 (and -1 for a negative signed input shifted right)."""
    bits = x.dtype.bits
    signed = x.dtype.kind == "int"
    powers = np.left_shift(np.ones(bits, x.dtype.np_dtype), np.arange(bits, dtype=x.dtype.np_dtype))
    shape = broadcast_shapes(x.shape, y.shape)
    x, y = broadcast_to(x, shape), broadcast_to(y, shape)
    top = bits - 1 if signed and direction == "RIGHT" else bits   # 2^(w-1) is negative when signed
    p = _take(constant(powers, tracer=x.tracer), F.minimum(F.maximum(cast(y, dt.i32), 0), top - 1), 0)
    if direction == "LEFT":
        return F.where((y < 0) | (y >= bits), 0, x * p)
    q = binary("div", x, p)
    if signed:   # division truncates; a shift floors
        q = F.where((q * p != x) & (x < 0), q - 1, q)
        return F.where((y < 0) | (y >= top), cast(F.where(x < 0, -1, 0), x.dtype), q)
    return F.where((y < 0) | (y >= bits), 0, q)


def _quant_check(n) -> str | None:
    """blocked quantization (block_size > 0); a precision attribute"""
    if n.attrs.get("block_size", 0):
        return "blocked quantization (block_size > 0)"
    if n.attrs.get("precision", 0):
        return "the precision attribute"
    return None


def _along(v: Tensor, x: Tensor, axis: int) -> Tensor:
    """A scale or zero point: a scalar as it is, a vector along `axis` of x."""
    if v.ndim == 0 or v.shape == (1,) and x.shape[_axis(axis, x.ndim)] != 1:
        return reshape(v, [])
    a = _axis(axis, x.ndim)
    return reshape(v, [v.shape[0] if d == a else 1 for d in range(x.ndim)])


QUANT_RANGES = {dt.ui8: (0, 255), dt.i8: (-128, 127), dt.i16: (-32768, 32767)}


@maps("QuantizeLinear", check=_quant_check)
def _quantize(n, x, scale, zero_point=None, axis=1, saturate=1, block_size=0, output_dtype=0, precision=0):
    """round_half_even(x / scale) + zero_point, clamped to the output dtype's range."""
    out = zero_point.dtype if zero_point is not None else DTYPES[output_dtype] if output_dtype else dt.ui8
    lo, hi = QUANT_RANGES[out]
    q = cast(_rint(x / _along(scale, x, axis)), dt.i32)
    if zero_point is not None:
        q = q + cast(_along(zero_point, x, axis), dt.i32)
    return cast(F.clamp(q, lo, hi), out)


@maps("DequantizeLinear", check=_quant_check)
def _dequantize(n, x, scale, zero_point=None, axis=1, block_size=0, output_dtype=0):
    """(x - zero_point) * scale, computed in f32."""
    d = cast(x, dt.f32)
    if zero_point is not None:
        d = d - cast(_along(zero_point, x, axis), dt.f32)
    y = d * cast(_along(scale, x, axis), dt.f32)
    return cast(y, DTYPES[output_dtype] if output_dtype else scale.dtype)


@maps("MatMulInteger")
def _matmul_integer(n, a, b, a_zero_point=None, b_zero_point=None):
    """(a - a_zero_point) @ (b - b_zero_point) in i32."""
    a, b = cast(a, dt.i32), cast(b, dt.i32)
    if a_zero_point is not None:   # a scalar, or one per row of a
        a = a - (cast(reshape(a_zero_point, [-1, 1]), dt.i32) if a_zero_point.ndim else cast(a_zero_point, dt.i32))
    if b_zero_point is not None:   # a scalar, or one per column of b
        b = b - cast(b_zero_point, dt.i32)
    return F.matmul(a, b)


# --- recurrent layers: unrolled over the (static) sequence ------------------------------------------

_GATES = {"RNN": 1, "GRU": 3, "LSTM": 4}
_DEFAULT_ACTIVATIONS = {"RNN": ["Tanh"], "GRU": ["Sigmoid", "Tanh"], "LSTM": ["Sigmoid", "Tanh", "Tanh"]}
_ACTIVATIONS = {
    "Sigmoid": lambda x, a, b: F.sigmoid(x), "Tanh": lambda x, a, b: F.tanh(x), "Relu": lambda x, a, b: F.relu(x),
    "LeakyRelu": lambda x, a, b: F.where(x < 0, x * a, x), "ThresholdedRelu": lambda x, a, b: F.where(x > a, x, 0.0),
    "ScaledTanh": lambda x, a, b: F.tanh(x * b) * a, "HardSigmoid": lambda x, a, b: F.clamp(x * a + b, 0.0, 1.0),
    "Elu": lambda x, a, b: F.where(x < 0, (F.exp(x) - 1.0) * a, x), "Softsign": lambda x, a, b: x / (abs(x) + 1.0),
    "Softplus": lambda x, a, b: _softplus_of(x), "Affine": lambda x, a, b: x * a + b,
}


def _recurrent_check(n) -> str | None:
    """sequence_lens shorter than the sequence; an activation ONNX names that PTIR lacks"""
    acts = n.attrs.get("activations") or []
    if any(a not in _ACTIVATIONS for a in acts):
        return f"activations {acts}"
    lens, x = n.value(4), n.input_types[0]
    if lens is not None:
        steps = x.shape[n.attrs.get("layout", 0)] if x is not None else None
        if steps is None or np.any(np.asarray(lens) != steps):
            return "sequence_lens other than the whole sequence"
    return None


def _recurrent(kind: str):
    def build(n, x, w, r, b=None, sequence_lens=None, initial_h=None, initial_c=None, p=None, activation_alpha=None,
              activation_beta=None, activations=None, clip=None, direction="forward", hidden_size=None,
              input_forget=0, layout=0, linear_before_reset=0):
        """One step at a time, each direction apart; the gates in ONNX's orders (LSTM iofc,
        GRU zrh), `clip` on every activation's input."""
        if layout:
            x = transpose(x, [1, 0, 2])
            initial_h = None if initial_h is None else transpose(initial_h, [1, 0, 2])
            initial_c = None if initial_c is None else transpose(initial_c, [1, 0, 2])
        steps, batch = x.shape[:2]
        dirs, hidden, gates = w.shape[0], r.shape[-1], _GATES[kind]
        names = activations or _DEFAULT_ACTIVATIONS[kind] * dirs
        per = len(names) // dirs
        alphas, betas = list(activation_alpha or []), list(activation_beta or [])
        defaults = {"LeakyRelu": (0.01, 0.0), "ThresholdedRelu": (1.0, 0.0), "HardSigmoid": (0.2, 0.5),
                    "Elu": (1.0, 0.0), "ScaledTanh": (1.0, 1.0), "Affine": (1.0, 0.0)}
        funcs, k = [], 0
        for name in names:
            a, bb = defaults.get(name, (0.0, 0.0))
            if name in defaults:
                a = alphas[k] if k < len(alphas) else a
                bb = betas[k] if k < len(betas) else bb
                k += 1
            funcs.append(lambda v, f=_ACTIVATIONS[name], a=a, bb=bb: f(F.clamp(v, -clip, clip) if clip else v, a, bb))
        ys, hs, cs = [], [], []
        for d in range(dirs):
            f = funcs[d * per:(d + 1) * per]
            wt, rt = transpose(w[d], [1, 0]), transpose(r[d], [1, 0])
            bias = b[d] if b is not None else None
            h = initial_h[d] if initial_h is not None else constant(0, x.dtype, (batch, hidden), x.tracer)
            c = initial_c[d] if initial_c is not None else constant(0, x.dtype, (batch, hidden), x.tracer)
            order = range(steps - 1, -1, -1) if direction == "reverse" or (direction == "bidirectional" and d) \
                else range(steps)
            out = [None] * steps
            for t in order:
                xw = F.matmul(x[t], wt) + (bias[:gates * hidden] if bias is not None else 0.0)
                hr = F.matmul(h, rt) + (bias[gates * hidden:] if bias is not None else 0.0)
                part = lambda v, i: v[:, i * hidden:(i + 1) * hidden]   # noqa: E731
                if kind == "RNN":
                    h = f[0](xw + hr)
                elif kind == "GRU":
                    z, rr = f[0](part(xw, 0) + part(hr, 0)), f[0](part(xw, 1) + part(hr, 1))
                    if linear_before_reset:
                        cand = f[1](part(xw, 2) + rr * part(hr, 2))
                    else:
                        rh = F.matmul(rr * h, rt[:, 2 * hidden:]) + (bias[5 * hidden:] if bias is not None else 0.0)
                        cand = f[1](part(xw, 2) + rh)
                    h = (1.0 - z) * cand + z * h
                else:
                    g = xw + hr
                    peep = [p[d][i * hidden:(i + 1) * hidden] if p is not None else None for i in range(3)]
                    i_pre = part(g, 0) + (peep[0] * c if peep[0] is not None else 0.0)
                    gi = f[0](i_pre)
                    if input_forget:
                        gf = 1.0 - gi
                    else:
                        gf = f[0](part(g, 2) + (peep[2] * c if peep[2] is not None else 0.0))
                    c = gf * c + gi * f[1](part(g, 3))
                    go = f[0](part(g, 1) + (peep[1] * c if peep[1] is not None else 0.0))
                    h = go * f[2](c)
                out[t] = reshape(h, [1, 1, batch, hidden])
            ys.append(F.cat(out, 0))
            hs.append(reshape(h, [1, batch, hidden]))
            cs.append(reshape(c, [1, batch, hidden]))
        y, yh, yc = F.cat(ys, 1), F.cat(hs, 0), F.cat(cs, 0)
        if layout:
            y, yh, yc = transpose(y, [2, 0, 1, 3]), transpose(yh, [1, 0, 2]), transpose(yc, [1, 0, 2])
        return (y, yh, yc)[:n.num_outputs]
    return build


for _kind in _GATES:
    maps(_kind, check=_recurrent_check, static=(4,))(_recurrent(_kind))


# --- the importer ----------------------------------------------------------------------------------

def _load(model) -> onnx.ModelProto:
    """A ModelProto from a path (external data beside it, as onnx.load finds it), bytes
    or a ModelProto."""
    if isinstance(model, onnx.ModelProto):
        return model
    try:
        proto = onnx.load_from_string(model) if isinstance(model, bytes) else onnx.load(os.fspath(model))
    except FileNotFoundError as e:
        raise OnnxImportError(f"cannot read {e.filename or model}: no such file") from None
    except Exception as e:   # protobuf's DecodeError and onnx's own: one message
        raise OnnxImportError(f"cannot read {model} as an ONNX model: {type(e).__name__}: {e}") from None
    # protobuf reads zero bytes (an empty file) as a model with nothing set: without a graph
    # there is nothing to import
    if not proto.HasField("graph"):
        raise OnnxImportError(f"cannot read {model} as an ONNX model: it has no graph (an empty file?)")
    return proto


def opset_of(model: onnx.ModelProto) -> int:
    """The model's ai.onnx opset version (the newest where it imports none: it has no
    ai.onnx nodes to read)."""
    return next((o.version for o in model.opset_import if o.domain in DOMAINS), MAX_OPSET)


def prepare(model: onnx.ModelProto, constants=None) -> onnx.ModelProto:
    """The model ready to map: graph inputs bound to `constants` turned into Constant
    nodes, local functions inlined, opset at least 13, shapes inferred."""
    model = onnx.ModelProto.FromString(model.SerializeToString()) if constants or model.functions else model
    if constants:
        bound = {i.name for i in model.graph.input} & set(constants)
        nodes = [helper.make_node("Constant", [], [name], value=numpy_helper.from_array(np.asarray(constants[name])))
                 for name in bound]
        keep = [i for i in model.graph.input if i.name not in bound]
        del model.graph.input[:]
        model.graph.input.extend(keep)
        old = list(model.graph.node)
        del model.graph.node[:]
        model.graph.node.extend(nodes + old)
    if model.functions:
        model = onnx.inliner.inline_local_functions(model)
    opset = opset_of(model)
    if opset > MAX_OPSET:
        raise OnnxImportError(f"the model's opset {opset} is newer than the installed onnx knows ({MAX_OPSET})")
    if opset < MIN_OPSET:
        before = [(v.name, v.type) for v in [*model.graph.input, *model.graph.output]]
        try:
            model = onnx.version_converter.convert_version(model, MIN_OPSET)
        except Exception as e:
            why = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise OnnxImportError(f"opset {opset}: onnx's version converter cannot bring the model to opset "
                                  f"{MIN_OPSET}: {why}") from None
        if [(v.name, v.type) for v in [*model.graph.input, *model.graph.output]] != before:
            raise OnnxImportError(f"opset {opset}: onnx's version converter changed the types of the graph's "
                                  f"inputs or outputs on the way to opset {MIN_OPSET}")
    try:
        return onnx.shape_inference.infer_shapes(model, data_prop=True)
    except Exception:   # a model onnx cannot type throughout: the importer types what it builds
        return model


class _Importer:
    """One import: the values by ONNX name (traced Tensors, or numpy literals known at
    import), the weights, and the problems found."""

    def __init__(self, model: onnx.ModelProto, name: str):
        self.model, self.graph = model, model.graph
        self.opset = opset_of(model)
        self.inits = {t.name: numpy_helper.to_array(t) for t in self.graph.initializer}
        self.types = {v.name: v.type for v in [*self.graph.value_info, *self.graph.input, *self.graph.output]}
        self.producer = {o: (node, self.opset) for node in self.graph.node for o in node.output if o}
        self.env: dict[str, object] = {}
        self.known_memo: dict[str, np.ndarray | None] = {}
        self.bad: set[str] = set()
        self.problems: list[tuple[str, str, str]] = []
        self.needed: list[str] = []
        self.outer: list[onnx.NodeProto] = []   # the nodes whose function bodies are being imported
        self.inputs = [i for i in self.graph.input if i.name not in self.inits]
        self.program = Program()
        self.builder = None
        self.tracer = None
        self.name = name

    # values

    def known(self, name: str) -> np.ndarray | None:
        """The value of `name` when it is known at import: a literal, an initializer, or
        computed from those by its node (onnx's reference evaluator); else None."""
        if name in self.known_memo:
            return self.known_memo[name]
        v = self.env.get(name)
        out = None
        if isinstance(v, np.ndarray):
            out = v
        elif name in self.inits:
            out = self.inits[name]
        elif name in self.producer and _foldable(self.producer[name][0]):
            node, opset = self.producer[name]
            ins = self.values(node)
            if ins is not None:
                out = self.evaluate(node, ins, opset)[list(node.output).index(name)]
        self.known_memo[name] = out
        return out

    def values(self, node: onnx.NodeProto) -> list | None:
        """The node's inputs as numpy when all are known at import (those whose type is
        all that matters, such as CastLike's second, as zeros of that type); else None."""
        entry = ONNX.get(node.op_type)
        out = []
        for k, name in enumerate(node.input):
            t = self.type_of(name) if name and entry is not None and k in entry.typed else None
            v = None if not name else np.zeros(t.shape, t.dtype.np_dtype) if t is not None else self.known(name)
            if name and v is None:
                return None
            out.append(v)
        return out

    def roots(self, name: str) -> list[str]:
        """The graph inputs the value `name` is computed from."""
        seen, todo, out = set(), [name], []
        while todo:
            v = todo.pop()
            if v in seen:
                continue
            seen.add(v)
            if any(g.name == v for g in self.inputs):
                out.append(v)
            elif v in self.producer:
                todo += [i for i in self.producer[v][0].input if i]
        return out

    def evaluate(self, node: onnx.NodeProto, inputs: list, opset: int | None = None) -> list[np.ndarray]:
        from onnx.reference import ReferenceEvaluator

        feeds = {i: v for i, v in zip(node.input, inputs, strict=True) if i}
        outs = ReferenceEvaluator(node, opsets={"": opset or self.opset}).run(None, feeds)
        return [np.asarray(o) for o in outs]

    def tensor(self, name: str) -> Tensor:
        """The traced tensor of value `name`: literals become constants, initializers
        `ptir.param` arguments (on first use)."""
        v = self.env.get(name)
        if isinstance(v, Tensor):
            return v
        if v is None and name in self.inits:
            a = self.inits[name]
            _check_dtype(a.dtype)
            return self.tracer.param(a, a)
        return _literal(v, self.tracer)

    def type_of(self, name: str) -> TensorType | None:
        v = self.env.get(name)
        if isinstance(v, Tensor):
            return v.type
        a = v if isinstance(v, np.ndarray) else self.inits.get(name)
        if a is not None:
            try:
                return tensor(a.shape, dt.from_numpy(a.dtype))
            except ValueError:
                return None
        t = _tensor_type(self.types[name]) if name in self.types else None
        return t if isinstance(t, TensorType) else None

    # the graph

    def run(self) -> tuple[Program, dict[str, np.ndarray]]:
        args = []
        for i in self.inputs:
            t = _tensor_type(i.type)
            if not isinstance(t, TensorType):
                why = t or ("no static shape (give one: ptirc import --shape NAME=1x3x224x224, or "
                            "from_onnx(..., shapes={name: shape}))")
                self.problems.append((f"graph input {i.name!r}", why, "the graph's inputs"))
                t = tensor((), dt.f32)
            args.append((_value_name(i.name), t))
        self.builder = Builder.new_function(self.program, self.name, args)
        self.tracer = Tracer(self.builder, {id(a): name for name, a in self.inits.items()}, wrap=Tensor)
        with self.tracer.active():
            for i, v in zip(self.inputs, self.builder.args, strict=True):
                self.env[i.name] = Tensor(v, self.tracer)
            for index, node in enumerate(self.graph.node):
                self.node(index, node)
            outputs = self.outputs()
        if self.problems:
            error = unsupported_error(self.problems, OnnxImportError)
            error.inputs_needed = tuple(dict.fromkeys(self.needed))
            raise error
        self.builder.ret(*(o.value for o in outputs))
        weights = {name: a for name, a in self.inits.items() if name in self.tracer.params}
        return verify(self.program), weights

    def outputs(self) -> list[Tensor]:
        out = []
        for o in self.graph.output:
            if o.name in self.bad or self.problems:
                continue
            if o.name not in self.env and o.name not in self.inits:
                self.problems.append((f"graph output {o.name!r}", "no node computes it", "the graph's outputs"))
                continue
            try:
                out.append(self.tensor(o.name))
            except PtirError as e:
                self.problems.append((f"graph output {o.name!r}", e.message, "the graph's outputs"))
        return out

    def expand(self, index: int, node: onnx.NodeProto, body: list, opset: int) -> None:
        """Import a node as the nodes of its ONNX function body (at the function's opset);
        what they cannot take is reported as the node's own problem."""
        self.producer |= {o: (sub, opset) for sub in body for o in sub.output if o}
        self.outer.append(node)
        found = len(self.problems)
        try:
            for sub in body:
                self.node(index, sub, opset)
                if len(self.problems) > found:
                    return
        finally:
            self.outer.pop()
        missing = [o for o in node.output if o and o not in self.env and o not in self.bad]
        if missing:
            self.problem(node, index, f"its function body does not compute {', '.join(missing)}")

    def subgraph(self, index: int, node: onnx.NodeProto, graph: onnx.GraphProto, opset: int, inputs=()) -> list:
        """Import the nodes of a node's subgraph, its inputs bound to `inputs` (Tensors or
        numpy), its initializers as literals and the outer values in scope; its outputs'
        values (None where one failed).  A loop body is imported once per iteration: what
        it computed before is forgotten first."""
        local = {v.name for v in graph.input} | {o for sub in graph.node for o in sub.output if o}
        for name in local:
            self.env.pop(name, None)
            self.known_memo.pop(name, None)
        for v, value in zip(graph.input, inputs, strict=False):
            self.env[v.name] = np.asarray(value) if isinstance(value, np.ndarray | np.generic) else value
        for t in graph.initializer:
            self.env[t.name] = numpy_helper.to_array(t)
        self.types |= {v.name: v.type for v in [*graph.value_info, *graph.output]}
        self.producer |= {o: (sub, opset) for sub in graph.node for o in sub.output if o}
        self.outer.append(node)
        found = len(self.problems)
        try:
            for sub in graph.node:
                self.node(index, sub, opset)
                if len(self.problems) > found:
                    break
        finally:
            self.outer.pop()
        return [None if o.name in self.bad else self.env.get(o.name, self.inits.get(o.name)) for o in graph.output]

    def type_proto(self, name: str) -> onnx.TypeProto:
        t = self.type_of(name) if name else None
        if t is None:
            return self.types.get(name, onnx.TypeProto())
        return helper.make_tensor_type_proto(ONNX_DTYPES[t.dtype], t.shape)

    def problem(self, node: onnx.NodeProto, index: int, why: str) -> None:
        self.bad.update(o for o in node.output if o)
        if self.outer:   # a node of a function body: the problem is the node it expands
            why, node = f"in its function body, {node.op_type}: {why}", self.outer[0]
            self.bad.update(o for o in node.output if o)
        domain = node.domain if node.domain not in DOMAINS else "ai.onnx"
        version = self.opset if domain == "ai.onnx" else next(
            (o.version for o in self.model.opset_import if o.domain == node.domain), "?")
        where = f'node "{node.name}"' if node.name else f"node #{index}"
        self.problems.append((f"{node.op_type} ({domain} opset {version})", why, where))

    def node(self, index: int, node: onnx.NodeProto, opset: int | None = None) -> None:
        if any(i in self.bad for i in node.input if i):
            self.bad.update(o for o in node.output if o)
            return
        why = self.refusal(node)
        if why:
            return self.problem(node, index, why)
        opset = opset or self.opset
        entry = ONNX.get(node.op_type)
        n = Node(node, opset, index, {a.name: _attr(a) for a in node.attribute},
                 [self.type_of(i) if i else None for i in node.input], [self.inferred(o) for o in node.output],
                 self.known, lambda g, inputs=(): self.subgraph(index, node, g, opset, inputs))
        missing = [(k, name) for k, name in enumerate(node.input) if entry is not None and not entry.literal
                   and name and k in entry.static and self.known(name) is None]
        if missing:
            self.needed += [r for _, name in missing for r in self.roots(name)]
            return self.problem(node, index, f"input {', '.join(f'{k} ({name!r})' for k, name in missing)} must be "
                                             "known at import: PTIR's shapes are static and it decides one")
        if entry is not None and entry.check is not None and (why := entry.check(n)):
            return self.problem(node, index, why)
        present = [k for k, i in enumerate(node.input) if i]
        own = entry is not None and not entry.literal and set(present) <= set(entry.static)
        typed = entry.typed if entry is not None else ()
        if entry is not None and entry.literal or (not own and present and _foldable(node) and all(
                self.is_literal(node.input[k]) or k in typed for k in present)):
            values = self.values(node)
            if values is None:
                self.needed += [r for i in node.input if i for r in self.roots(i)]
                return self.problem(node, index, "its inputs must be known at import (the result's shape "
                                                 "depends on their values)")
            try:
                return self.define(n, self.evaluate(node, values, opset))
            except Exception as e:   # the reference evaluator's own error: leave it to the table
                if entry is None or entry.literal:
                    return self.problem(node, index, f"cannot compute it at import: {type(e).__name__}: {e}")
        if entry is None:
            body = function_body(node, opset, [self.type_proto(i) for i in node.input])
            if body is None:
                return self.problem(node, index, "no mapping to PTIR")
            return self.expand(index, node, *body)
        args = [None if not name else self.known(name) if k in entry.static else self.tensor(name)
                for k, name in enumerate(node.input)]
        try:
            outs = entry.build(n, *args, **n.attrs)
        except PtirError as e:
            return self.problem(node, index, e.message)
        except (TypeError, ValueError, AttributeError, IndexError, KeyError, ArithmeticError) as e:   # a mapping's gap
            return self.problem(node, index, f"cannot map it: {type(e).__name__}: {e}")
        self.define(n, outs if isinstance(outs, tuple) else (outs,))

    def refusal(self, node: onnx.NodeProto) -> str | None:
        """Why a node is out of reach before its entry is asked: its domain, randomness,
        training, or a value type PTIR lacks."""
        if node.domain in TRAINING_DOMAINS:
            return "training (out of scope)"
        if node.domain not in DOMAINS:
            return "no mapping to PTIR (only the ai.onnx domain)"
        if node.op_type in RANDOM:
            return "random (out of scope)"
        for name in [*node.input, *node.output]:
            t = _tensor_type(self.types[name]) if name in self.types else None
            if isinstance(t, str):
                return t
        return None

    def is_literal(self, name: str) -> bool:
        v = self.env.get(name)
        if isinstance(v, np.ndarray):
            return True
        return v is None and name in self.inits and self.inits[name].dtype.kind in "biu"

    def inferred(self, name: str) -> TensorType | None:
        t = _tensor_type(self.types[name]) if name and name in self.types else None
        return t if isinstance(t, TensorType) else None

    def define(self, n: Node, outs) -> None:
        """Bind the node's outputs, each checked against the type ONNX infers for it."""
        for i, name in enumerate(n.proto.output):
            if not name:
                continue
            v = outs[i] if i < len(outs) else None
            if v is None and name in self.bad:   # a subgraph's problem, reported already
                return None
            if v is None:
                return self.problem(n.proto, n.index, f"output {i} ({name!r}) is not supported")
            if isinstance(v, np.ndarray | np.generic):
                v = np.asarray(v)
            got = v.type if isinstance(v, Tensor) else _array_type(v)
            if got is None:
                return self.problem(n.proto, n.index, f"output {i} has dtype {v.dtype}, which PTIR lacks")
            want = n.output_types[i]
            if want is not None and want != got:
                return self.problem(n.proto, n.index, f"PTIR makes {got} where ONNX infers {want}")
            self.env[name] = v


def function_body(node: onnx.NodeProto, opset: int, input_types: list) -> tuple[list, int] | None:
    """The nodes of the ONNX function that defines `node`'s op at `opset` (its inputs,
    outputs and attributes bound to the node's, its own values renamed apart), and the
    function's opset; None where the op has no function (or its domain is not ai.onnx)."""
    if node.domain not in DOMAINS:
        return None
    try:
        schema = onnx.defs.get_schema(node.op_type, opset, node.domain)
    except onnx.defs.SchemaError:
        return None
    full = onnx.NodeProto()
    full.CopyFrom(node)
    given = {a.name for a in node.attribute}
    full.attribute.extend(a.default_value for name, a in schema.attributes.items()
                          if name not in given and a.default_value.type != onnx.AttributeProto.UNDEFINED)
    plain = [v for v in schema.function_opset_versions if v <= opset]
    context = [v for v in schema.context_dependent_function_opset_versions if v <= opset]
    try:
        if plain:
            data = schema.get_function_with_opset_version(max(plain))
        elif context:
            data = schema.get_context_dependent_function_with_opset_version(
                max(context), full.SerializeToString(), [t.SerializeToString() for t in input_types])
        else:
            return None
    except Exception:   # onnx cannot build the function for these input types
        return None
    fn = onnx.FunctionProto.FromString(data)
    names = dict(zip(fn.input, list(node.input) + [""] * len(fn.input), strict=False))
    names |= {o: n for o, n in zip(fn.output, node.output, strict=False) if n}
    prefix = f"{node.output[0] or node.op_type}/{node.op_type}/"
    attrs = {a.name: a for a in full.attribute}

    def rename(name: str) -> str:
        return names.get(name, prefix + name) if name else ""

    def bind(inner: onnx.NodeProto) -> onnx.NodeProto:
        out = onnx.NodeProto()
        out.CopyFrom(inner)
        del out.input[:], out.output[:], out.attribute[:]
        out.input.extend(rename(i) for i in inner.input)
        out.output.extend(rename(o) for o in inner.output)
        for a in inner.attribute:
            if a.ref_attr_name:
                if a.ref_attr_name in attrs:
                    bound = onnx.AttributeProto()
                    bound.CopyFrom(attrs[a.ref_attr_name])
                    bound.name = a.name
                    out.attribute.append(bound)
                continue
            a2 = onnx.AttributeProto()
            a2.CopyFrom(a)
            for g in ([a2.g] if a2.HasField("g") else []) + list(a2.graphs):   # a branch's own names too
                nodes = [bind(sub) for sub in g.node]
                del g.node[:]
                g.node.extend(nodes)
                for v in [*g.input, *g.output, *g.value_info, *g.initializer]:
                    v.name = rename(v.name)
            out.attribute.append(a2)
        return out

    body = [bind(inner) for inner in fn.node]
    return body, next((o.version for o in fn.opset_import if o.domain in DOMAINS), opset)


def _foldable(node: onnx.NodeProto) -> bool:
    """Whether a node can be computed at import when its inputs are known: deterministic,
    in the ai.onnx domain, without subgraphs."""
    return (node.domain in DOMAINS and node.op_type not in RANDOM
            and not any(a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS) for a in node.attribute))


def _array_type(a: np.ndarray) -> TensorType | None:
    try:
        return tensor(a.shape, dt.from_numpy(a.dtype))
    except ValueError:
        return None


def _check_dtype(d: np.dtype) -> None:
    try:
        dt.from_numpy(d)
    except ValueError:
        raise OnnxImportError(f"dtype {d} is not a PTIR dtype") from None


def _literal(a: np.ndarray, tracer: Tracer) -> Tensor:
    """A literal as a constant: a splat when every element is the same (ConstantOfShape's
    broadcast views stay one element)."""
    _check_dtype(a.dtype)
    if a.size > 1 and (all(s == 0 for s in a.strides) or (a.size > 64 and np.all(a == a.reshape(-1)[0]))):
        return constant(a.reshape(-1)[:1].reshape(()), shape=a.shape, tracer=tracer)
    return constant(np.ascontiguousarray(a).reshape(a.shape), tracer=tracer)


def _value_name(name: str) -> str:
    """An ONNX name as a PTIR value name (letters, digits, `_` and `.`)."""
    out = "".join(c if c.isalnum() or c in "_." else "_" for c in name)
    return out or "input"


def from_onnx(model, *, constants: dict | None = None, shapes: dict | None = None,
              name: str = "main") -> tuple[Program, dict[str, np.ndarray]]:
    """An ONNX model (a path, bytes or an onnx.ModelProto) as (Program, weights).

    The entry's arguments are the graph's inputs that are not initializers, in order,
    with the shapes and dtypes the model declares (`shapes` fixes dynamic dims by input
    name); `constants` binds graph inputs to values (numpy arrays) known at import, such
    as a shape.  Initializers the program uses become `ptir.param` arguments under their
    ONNX names, and the weights dict maps those names to numpy arrays.  Opsets 13 to the
    newest the installed onnx knows are read; older models are converted to opset 13.

    Raises OnnxImportError listing every node PTIR cannot take (op type, opset, why, how
    many, which nodes), or naming why the file cannot be read."""
    model = _load(model)
    if shapes:
        model = onnx.ModelProto.FromString(model.SerializeToString())
        for i in model.graph.input:
            if i.name in shapes:
                dims = i.type.tensor_type.shape.dim
                del dims[:]
                for d in shapes[i.name]:
                    dims.add().dim_value = int(d)
    return _Importer(prepare(model, constants), name).run()


def op_table() -> list[dict]:
    """One row per ai.onnx op the installed onnx defines: its versions from opset 13 on,
    how PTIR takes it ("mapped", "computed at import", "function body", or "no"), the
    inputs that must be known at import, and what its entry leaves out (the check's
    docstring).  Generated from `ONNX` and onnx.defs: docs/onnx.md's table."""
    history: dict[str, list] = {}
    for schema in onnx.defs.get_all_schemas_with_history():
        if schema.domain in DOMAINS:
            history.setdefault(schema.name, []).append(schema)
    rows = []
    for name in sorted(history):
        versions = sorted(history[name], key=lambda sc: sc.since_version)
        live = [sc for sc in versions if sc.since_version > MIN_OPSET]
        current = [sc for sc in versions if sc.since_version <= MIN_OPSET][-1:]
        shown = [sc for sc in current + live if not sc.deprecated]
        if not shown:
            continue
        entry, latest = ONNX.get(name), shown[-1]
        if entry is not None:
            how = "computed at import" if entry.literal else "mapped"
        elif name in RANDOM:
            how = "out of scope (random)"
        elif latest.has_function or latest.has_context_dependent_function:
            how = "function body"
        else:
            how = "no"
        static = [latest.inputs[k].name for k in (entry.static if entry else ()) if k < len(latest.inputs)]
        limits = (entry.check.__doc__ or "").strip() if entry is not None and entry.check is not None else ""
        rows.append({"op": name, "versions": [sc.since_version for sc in shown], "how": how, "static": static,
                     "limits": limits})
    return rows


def op_table_markdown() -> str:
    """op_table() as a markdown table (docs/onnx.md, `ptirc import --onnx-ops`)."""
    rows = op_table()
    counts = {how: sum(r["how"] == how for r in rows) for how in dict.fromkeys(r["how"] for r in rows)}
    lines = [f"{len(rows)} ai.onnx ops (onnx {onnx.__version__}, opsets {MIN_OPSET} to {MAX_OPSET}): "
             + ", ".join(f"{n} {how}" for how, n in counts.items()) + ".", "",
             "| op | versions | PTIR | known at import | not supported |", "| --- | --- | --- | --- | --- |"]
    for r in rows:
        lines.append(f"| {r['op']} | {', '.join(map(str, r['versions']))} | {r['how']} | "
                     f"{', '.join(r['static'])} | {r['limits']} |")
    return "\n".join(lines) + "\n"

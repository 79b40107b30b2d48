"""The core tensor ops under the operators and the functionals: constants, numpy's dtype
promotion and broadcasting made explicit (`broadcast_to`, `cast`), and reshape,
transpose, reductions and iota.

Python scalars are weakly typed (they take the tensor's dtype); numpy arrays become
`ptir.constant`s.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from ..dialect import dtypes as dt
from ..dialect.types import TensorType
from .tracer import Traced, Tracer, current_tracer, fail, to_dtype

if TYPE_CHECKING:
    from .tensor import Tensor


def _tracer_of(xs) -> Tracer:
    for x in xs:
        if isinstance(x, Traced):
            return x.tracer
    t = current_tracer()
    if t is None:
        fail("trace", "no traced tensor and no trace in progress (call this inside ptir.trace)")
    return t


def constant(array, dtype=None, shape=None, tracer: Tracer | None = None) -> Tensor:
    """`ptir.constant` of a numpy array (or a splat of one value to `shape`).

    dtype: any name, DType or numpy dtype (default the array's); values are converted
    as numpy's astype does.  TypeRuleError outside a trace or for an unknown dtype."""
    tracer = tracer or _tracer_of(())
    a = np.asarray(array)
    d = to_dtype(dtype if dtype is not None else a.dtype)
    with np.errstate(all="ignore"):
        a = a.astype(d.np_dtype)
    shape = a.shape if shape is None else tuple(shape)
    if a.size == 1 and math.prod(shape) == 1:
        a = a.reshape(shape)   # a one-element tensor prints as a list, not a splat: keep one text form
    return tracer.op("constant", out=TensorType(shape, d), value=a)


def _is_scalar(x) -> bool:
    return isinstance(x, bool | int | float)


def result_dtype(xs) -> dt.DType:
    """The common dtype of operands: numpy's promotion among integers and among floats
    (bf16 with f16 gives f32, as in torch); an integer with a float takes the float dtype,
    as torch and JAX do (numpy would widen i32 + f32 to f64).  Python scalars are weak: a
    float scalar makes an integer tensor f32, an int scalar makes i1 i64."""
    strong = [x.dtype for x in xs if isinstance(x, Traced)] + [
        dt.from_numpy(np.asarray(x).dtype) for x in xs if isinstance(x, np.ndarray | np.generic)]
    if not strong:
        strong = [dt.f32 if any(isinstance(x, float) for x in xs) else
                  dt.i1 if all(isinstance(x, bool) for x in xs) else dt.i64]
    floats = [s for s in strong if s.is_float]
    kinds = set(floats or strong)
    if len(kinds) == 1:
        d = kinds.pop()
    elif dt.bf16 in kinds:   # numpy cannot promote bf16 with f16
        d = dt.from_numpy(np.result_type(*(dt.f32.np_dtype if s == dt.bf16 else s.np_dtype for s in kinds)))
    else:
        d = dt.from_numpy(np.result_type(*(s.np_dtype for s in kinds)))
    if not d.is_float and any(isinstance(x, float) for x in xs):
        return dt.f32
    if d.is_bool and any(_is_scalar(x) and not isinstance(x, bool) for x in xs):
        return dt.i64
    return d


def as_tensor(x, dtype=None, tracer: Tracer | None = None, op: str = "as_tensor") -> Tensor:
    """x as a traced tensor: a Tensor as it is (cast to `dtype` if given), a Python scalar or
    numpy array as a `ptir.constant` (its own dtype unless `dtype` is given).

    TypeRuleError, naming `op`, for anything else (lists, torch tensors, None)."""
    if isinstance(x, Traced):
        return x if dtype is None else cast(x, dtype)
    if _is_scalar(x) or isinstance(x, np.ndarray | np.generic):
        return constant(x, dtype, tracer=tracer or _tracer_of(()))
    fail(op, f"cannot use a {type(x).__name__} as a tensor")


def broadcast_shapes(*shapes, op: str = "broadcast") -> tuple:
    """numpy's broadcast of shapes (aligned at the trailing dim, 1 stretches); TypeRuleError
    naming `op` when two dims differ and neither is 1."""
    rank = max(len(s) for s in shapes)
    out = []
    for i in range(rank):
        dims = {s[i - rank + len(s)] for s in shapes if i - rank + len(s) >= 0} - {1}
        if len(dims) > 1:
            fail(op, "cannot broadcast shapes " + ", ".join(str(tuple(s)) for s in shapes))
        out.append(dims.pop() if dims else 1)
    return tuple(out)


def broadcast_to(x: Tensor, shape) -> Tensor:
    """x broadcast to `shape` (one `ptir.broadcast_to`, none if it has that shape already);
    the shape must be one numpy broadcasting allows, else the op's rule raises TypeRuleError."""
    shape = tuple(shape)
    return x if x.shape == shape else x.tracer.op("broadcast_to", x, out=TensorType(shape, x.dtype))


def cast(x: Tensor, dtype) -> Tensor:
    """x converted to `dtype` (one `ptir.cast`, none if it has that dtype already)."""
    d = to_dtype(dtype)
    return x if x.dtype == d else x.tracer.op("cast", x, out=x.type.with_dtype(d))


def promote(*xs, op: str = "promote", dtype=None) -> list[Tensor]:
    """The operands as tensors of one dtype (`result_dtype`, or `dtype`) and one broadcast
    shape, scalars as splats; TypeRuleError naming `op` if the shapes do not broadcast."""
    tracer = _tracer_of(xs)
    d = to_dtype(dtype) if dtype is not None else result_dtype(xs)
    tensors = [x for x in xs if not _is_scalar(x)]
    shape = broadcast_shapes(*(np.shape(x) if not isinstance(x, Traced) else x.shape for x in tensors),
                             op=op) if tensors else ()
    return [constant(x, d, shape, tracer) if _is_scalar(x) else
            broadcast_to(as_tensor(x, d, tracer, op), shape) for x in xs]


def binary(name: str, a, b, op: str | None = None) -> Tensor:
    """Elementwise op `name` ("add", "max", ...) of a and b after `promote`; `op` names the
    frontend function in errors (default `name`)."""
    a, b = promote(a, b, op=op or name)
    return a.tracer.op(name, a, b)


def compare(direction: str, a, b) -> Tensor:
    """i1 result of `a <direction> b` ("lt", "le", "gt", "ge", "eq", "ne") after `promote`."""
    a, b = promote(a, b, op="compare")
    return a.tracer.op("compare", a, b, direction=direction)


def reshape(x: Tensor, shape, op: str = "reshape") -> Tensor:
    """x with a new shape of the same element count; one dim may be -1 (inferred), as in
    numpy.  TypeRuleError naming `op` for two -1s or a different element count."""
    shape = list(shape)
    if shape.count(-1) > 1:
        fail(op, f"only one dim may be -1, got {tuple(shape)}")
    if -1 in shape:
        rest = math.prod(d for d in shape if d != -1)
        if rest == 0 or x.type.num_elements % rest:
            fail(op, f"cannot reshape {x.shape} to {tuple(shape)}")
        shape[shape.index(-1)] = x.type.num_elements // rest
    if math.prod(shape) != x.type.num_elements:
        fail(op, f"cannot reshape {x.shape} ({x.type.num_elements} elements) to {tuple(shape)}")
    return x if tuple(shape) == x.shape else x.tracer.op("reshape", x, out=x.type.with_shape(shape))


def scalar_dim(x: Tensor, dim, op: str) -> tuple[Tensor, int, bool]:
    """A rank-0 input as shape (1,) and `dim` as 0, as torch lets a scalar's dim be 0 or
    -1; other inputs as they are.  Returns (x, dim, whether it was a scalar); TypeRuleError
    naming `op` for another dim of a scalar."""
    if x.ndim:
        return x, dim, False
    if dim not in (0, -1):
        fail(op, f"argument 'dim': axis {dim} is out of range for rank 0")
    return reshape(x, (1,)), 0, True


def transpose(x: Tensor, perm) -> Tensor:
    """x with its dims permuted: result dim i is x's dim perm[i] (negative dims count from the
    end); TypeRuleError from ptir.transpose if perm is not a permutation."""
    perm = [p % x.ndim for p in perm]
    return x if perm == list(range(x.ndim)) else x.tracer.op("transpose", x, perm=perm)


def reduce(x: Tensor, kind: str, axes=None, keepdims: bool = False, op: str | None = None) -> Tensor:
    """`ptir.reduce` of `kind` ("sum", "max", "min", "prod") over `axes` (an int, a list, or
    None for all); the dtype is kept.  An axis out of range or repeated raises the op's
    TypeRuleError in the name of `op` (default `kind`)."""
    axes = list(range(x.ndim)) if axes is None else [axes] if isinstance(axes, int) else list(axes)
    return x.tracer.op("reduce", x, kind=kind, axes=axes, keepdims=keepdims, caller=op or kind)


def mean(x: Tensor, axes=None, keepdims: bool = False, op: str = "mean") -> Tensor:
    """The sum over `axes` (as `reduce`) divided by the count of elements reduced; an empty
    reduction gives nan, as in torch.  Errors are named after `op`."""
    total = reduce(x, "sum", axes, keepdims, op)
    axes = total.value.owner.attrs["axes"]   # as the op's rule normalised them
    return total / math.prod(x.shape[a] for a in axes)


def iota(shape, axis: int, dtype="i32", tracer: Tracer | None = None) -> Tensor:
    """A tensor of `shape` whose elements are their index along `axis` (0, 1, 2, ...), as
    `dtype` (a number dtype, default i32)."""
    return (tracer or _tracer_of(())).op("iota", out=TensorType(tuple(shape), to_dtype(dtype)), axis=axis)

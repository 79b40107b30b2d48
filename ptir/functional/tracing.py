"""Capture a Python function as a PTIR program.

    prog = ptir.trace(lambda x, w: ptir.functional.relu(x @ w), ptir.spec((4, 8)), ptir.spec((8, 16)))

The function runs once on `Tensor`s: each wraps a dialect `Value`, and every operation
on it appends a registry op through the `Builder` (so the same type rules as the
verifier apply).  numpy's broadcasting and type promotion (see `result_dtype`) are made
explicit with `broadcast_to` and `cast`; Python scalars are weakly typed (they take the
tensor's dtype) and numpy arrays become `ptir.constant`s.
"""

from __future__ import annotations

import inspect
import math

import numpy as np

from ..dialect import dtypes as dt
from ..dialect.program import Argument, Builder, Program, Value
from ..dialect.types import TensorType, tensor
from ..errors import TypeRuleError

_ACTIVE: list[Tracer] = []   # the traces being captured, innermost last


def fail(op: str, message: str):
    """A capture-time error naming the frontend op (`linear: ...`)."""
    raise TypeRuleError(message, op=op)


def spec(shape, dtype="f32") -> TensorType:
    """The type of one traced input: `spec((4, 8), "f32")`; dtype as a name, DType or numpy dtype."""
    return tensor(shape, to_dtype(dtype))


def to_dtype(d) -> dt.DType:
    if isinstance(d, dt.DType):
        return d
    if isinstance(d, str) and dt.from_name(d) is not None:
        return dt.from_name(d)
    try:
        return dt.from_numpy(d)
    except (TypeError, ValueError):
        fail("dtype", f"unknown dtype {d!r}")


class Tracer:
    """One capture in progress: the builder of its function and the weights bound by name."""

    def __init__(self, builder: Builder, param_keys: dict[int, str] | None = None):
        self.builder = builder
        self.param_keys = param_keys or {}    # id(weight object) -> state_dict key
        self.params: dict[str, Tensor] = {}

    def op(self, name: str, *operands: Tensor, out=None, **attrs):
        res = self.builder.op(name, *(o.value for o in operands), out=out, **attrs)
        return tuple(Tensor(r, self) for r in res) if isinstance(res, tuple) else Tensor(res, self)

    def param(self, obj, array: np.ndarray) -> Tensor:
        """The tensor of a weight: a `ptir.param` argument when the traced module owns it
        (added on first use, so unused weights stay out of the signature), else a constant."""
        key = self.param_keys.get(id(obj))
        if key is None:
            return constant(np.asarray(array), tracer=self)
        if key not in self.params:
            fn = self.builder.function
            value = Value(tensor(array.shape, dt.from_numpy(array.dtype)), key, None, len(fn.args))
            fn.args.append(Argument(value, key))
            self.params[key] = Tensor(value, self)
        return self.params[key]


def current_tracer() -> Tracer | None:
    return _ACTIVE[-1] if _ACTIVE else None


def _arg_names(fn, n: int) -> list[str]:
    """Argument names from the function's signature where it has them (`x`, `w`), else arg0, ..."""
    target = fn.forward if hasattr(fn, "forward") and hasattr(fn, "param_keys") else fn
    try:
        params = [p for p in inspect.signature(target).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        params = []
    names = [p.name for p in params[:n]]
    return names + [f"arg{i}" for i in range(len(names), n)]


def _spec_type(s) -> TensorType:
    if isinstance(s, TensorType):
        return s
    if isinstance(s, np.ndarray | np.generic):
        return tensor(np.shape(s), dt.from_numpy(s.dtype))
    fail("trace", f"a spec must be ptir.spec(shape, dtype) or an example numpy array, not {type(s).__name__}")


def _module_of(fn):
    """The ptir.nn.Module whose weights `fn` binds by name: fn itself or, for a bound
    method such as `layer.forward`, its owner."""
    for obj in (fn, getattr(fn, "__self__", None)):
        if hasattr(obj, "param_keys") and hasattr(obj, "state_dict"):
            return obj
    return None


def trace(fn, *specs, name: str = "main") -> Program:
    """Run `fn` once on traced tensors of types `specs` and return the captured program.

    A `ptir.nn.Module` (or a bound method of one) may be traced directly: its weights
    become `ptir.param` arguments named by their state_dict keys.  Weights of modules
    merely called from `fn` are inlined as constants.
    """
    types = [_spec_type(s) for s in specs]
    program = Program()
    builder = Builder.new_function(program, name, list(zip(_arg_names(fn, len(types)), types, strict=True)))
    owner = _module_of(fn)
    tracer = Tracer(builder, owner.param_keys() if owner is not None else None)
    _ACTIVE.append(tracer)
    try:
        out = fn(*(Tensor(v, tracer) for v in builder.args))
    finally:
        _ACTIVE.pop()
    outs = out if isinstance(out, tuple | list) else (out,)
    results = []
    for i, o in enumerate(outs):
        if not isinstance(o, Tensor) or o.tracer is not tracer:
            fail("trace", f"result {i} of the traced function is a {type(o).__name__}, not a traced tensor")
        results.append(o.value)
    builder.ret(*results)
    return program


def capture(fn, specs, params):
    """`ptir.compile(fn, *specs)`: the traced program, and the weights (a module's
    state_dict unless the caller gives them)."""
    if params is None and _module_of(fn) is not None:
        params = _module_of(fn).state_dict()
    return trace(fn, *specs), params


# --- conversions, promotion, broadcasting -------------------------------------------------------

def _tracer_of(xs) -> Tracer:
    for x in xs:
        if isinstance(x, Tensor):
            return x.tracer
    t = current_tracer()
    if t is None:
        fail("trace", "no traced tensor and no trace in progress (call this inside ptir.trace)")
    return t


def constant(array, dtype=None, shape=None, tracer: Tracer | None = None) -> Tensor:
    """`ptir.constant` of a numpy array (or a splat of one value to `shape`)."""
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
    strong = [x.dtype for x in xs if isinstance(x, Tensor)] + [
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
    if isinstance(x, Tensor):
        return x if dtype is None else cast(x, dtype)
    if _is_scalar(x) or isinstance(x, np.ndarray | np.generic):
        return constant(x, dtype, tracer=tracer or _tracer_of(()))
    fail(op, f"cannot use a {type(x).__name__} as a tensor")


def broadcast_shapes(*shapes, op: str = "broadcast") -> tuple:
    rank = max(len(s) for s in shapes)
    out = []
    for i in range(rank):
        dims = {s[i - rank + len(s)] for s in shapes if i - rank + len(s) >= 0} - {1}
        if len(dims) > 1:
            fail(op, "cannot broadcast shapes " + ", ".join(str(tuple(s)) for s in shapes))
        out.append(dims.pop() if dims else 1)
    return tuple(out)


def broadcast_to(x: Tensor, shape) -> Tensor:
    shape = tuple(shape)
    return x if x.shape == shape else x.tracer.op("broadcast_to", x, out=TensorType(shape, x.dtype))


def cast(x: Tensor, dtype) -> Tensor:
    d = to_dtype(dtype)
    return x if x.dtype == d else x.tracer.op("cast", x, out=x.type.with_dtype(d))


def promote(*xs, op: str = "promote", dtype=None) -> list[Tensor]:
    """The operands as tensors of one dtype and one broadcast shape (scalars as splats)."""
    tracer = _tracer_of(xs)
    d = to_dtype(dtype) if dtype is not None else result_dtype(xs)
    tensors = [x for x in xs if not _is_scalar(x)]
    shape = broadcast_shapes(*(np.shape(x) if not isinstance(x, Tensor) else x.shape for x in tensors),
                             op=op) if tensors else ()
    return [constant(x, d, shape, tracer) if _is_scalar(x) else
            broadcast_to(as_tensor(x, d, tracer, op), shape) for x in xs]


def binary(name: str, a, b, op: str | None = None) -> Tensor:
    a, b = promote(a, b, op=op or name)
    return a.tracer.op(name, a, b)


def compare(direction: str, a, b) -> Tensor:
    a, b = promote(a, b, op="compare")
    return a.tracer.op("compare", a, b, direction=direction)


def reshape(x: Tensor, shape, op: str = "reshape") -> Tensor:
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


def transpose(x: Tensor, perm) -> Tensor:
    perm = [p % x.ndim for p in perm]
    return x if perm == list(range(x.ndim)) else x.tracer.op("transpose", x, perm=perm)


def norm_axis(axis: int, rank: int, op: str) -> int:
    if not -rank <= axis < rank:
        fail(op, f"dim {axis} is out of range for a tensor of rank {rank}")
    return axis % rank


def norm_axes(axes, rank: int, op: str) -> list[int]:
    if axes is None:
        return list(range(rank))
    axes = [axes] if isinstance(axes, int) else list(axes)
    return sorted(norm_axis(a, rank, op) for a in axes)


def reduce(x: Tensor, kind: str, axes=None, keepdims: bool = False) -> Tensor:
    return x.tracer.op("reduce", x, kind=kind, axes=norm_axes(axes, x.ndim, kind), keepdims=keepdims)


def mean(x: Tensor, axes=None, keepdims: bool = False) -> Tensor:
    axes = norm_axes(axes, x.ndim, "mean")
    return reduce(x, "sum", axes, keepdims) / math.prod(x.shape[a] for a in axes)


def iota(shape, axis: int, dtype="i32", tracer: Tracer | None = None) -> Tensor:
    return (tracer or _tracer_of(())).op("iota", out=TensorType(tuple(shape), to_dtype(dtype)), axis=axis)


# --- indexing -------------------------------------------------------------------------------------

def _expand_ellipsis(index: tuple, rank: int) -> tuple:
    if sum(i is Ellipsis for i in index) > 1:
        fail("getitem", "an index can only have a single ellipsis ('...')")
    used = sum(i is not None and i is not Ellipsis for i in index)
    if used > rank:
        fail("getitem", f"too many indices for a tensor of rank {rank}: {used}")
    # identity tests: `in` and `.index` would compare tensors with ==
    k = next((k for k, i in enumerate(index) if i is Ellipsis), None)
    if k is None:
        return index + (slice(None),) * (rank - used)
    return index[:k] + (slice(None),) * (rank - used) + index[k + 1:]


def getitem(x: Tensor, index) -> Tensor:
    """numpy basic indexing (ints, slices with any step, None, ...) and one integer tensor
    or array index (a `take` along its dim)."""
    index = _expand_ellipsis(index if isinstance(index, tuple) else (index,), x.ndim)
    start, limit, stride, flips, shape, take = [], [], [], [], [], None
    dim = 0
    for item in index:
        if item is None:
            shape.append(1)
            continue
        n = x.shape[dim]
        if isinstance(item, int | np.integer) and not isinstance(item, bool):
            if not -n <= item < n:
                fail("getitem", f"index {item} is out of range for dim {dim} of size {n}")
            i = int(item) % n
            start, limit, stride = start + [i], limit + [i + 1], stride + [1]
        elif isinstance(item, slice):
            s, e, st = item.indices(n)
            count = len(range(s, e, st))
            if st < 0 and count:   # slice the covered range forward, then reverse it with `take`
                s, e, st = s + (count - 1) * st, s + 1, -st
                flips.append((len(shape), count))
            elif count == 0:
                s = e = 0
            start, limit, stride = start + [s], limit + [max(e, s)], stride + [st]
            shape.append(count)
        elif isinstance(item, Tensor | np.ndarray):
            if take is not None:
                fail("getitem", "only one tensor index is supported")
            start, limit, stride = start + [0], limit + [n], stride + [1]
            take = (len(shape), dim, item)
            shape.append(n)
        else:
            fail("getitem", f"unsupported index {item!r}")
        dim += 1
    y = x
    if (start, limit, stride) != ([0] * x.ndim, list(x.shape), [1] * x.ndim):
        y = x.tracer.op("slice", x, start=start, limit=limit, stride=stride)
    y = reshape(y, shape, "getitem")
    for axis, count in flips:
        y = y.tracer.op("take", y, constant(np.arange(count - 1, -1, -1), dt.i32, tracer=y.tracer), axis=axis)
    if take is not None:
        axis, dim, idx = take
        idx = as_tensor(idx, tracer=y.tracer)
        if not idx.dtype.is_int:
            fail("getitem", f"a tensor index must have an integer dtype, not {idx.dtype}")
        # negative indices count from the end, as in numpy
        idx = cast(idx, dt.i32 if idx.dtype.bits <= 32 else dt.i64)
        idx = y.tracer.op("select", compare("lt", idx, 0), idx + x.shape[dim], idx)
        y = y.tracer.op("take", y, idx, axis=axis)
    return y


# --- the traced tensor ----------------------------------------------------------------------------

class Tensor:
    """A value being traced: the operators and methods append PTIR ops to its function."""

    __slots__ = ("value", "tracer")
    __array_priority__ = 1000   # `ndarray + Tensor` defers to Tensor.__radd__
    __hash__ = object.__hash__

    def __init__(self, value: Value, tracer: Tracer):
        self.value = value
        self.tracer = tracer

    @property
    def type(self) -> TensorType:
        return self.value.type

    @property
    def shape(self) -> tuple:
        return self.value.type.shape

    @property
    def dtype(self) -> dt.DType:
        return self.value.type.dtype

    @property
    def ndim(self) -> int:
        return self.value.type.rank

    def __repr__(self) -> str:
        return f"<ptir.Tensor {self.type}>"

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a rank-0 tensor")
        return self.shape[0]

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __bool__(self):
        fail("bool", "a traced tensor has no truth value at capture time (use ptir.functional.where)")

    def __add__(self, o):
        return binary("add", self, o)

    def __radd__(self, o):
        return binary("add", o, self)

    def __sub__(self, o):
        return binary("sub", self, o)

    def __rsub__(self, o):
        return binary("sub", o, self)

    def __mul__(self, o):
        return binary("mul", self, o)

    def __rmul__(self, o):
        return binary("mul", o, self)

    def __truediv__(self, o):
        return _true_div(self, o)

    def __rtruediv__(self, o):
        return _true_div(o, self)

    def __pow__(self, o):
        return binary("pow", self, o)

    def __rpow__(self, o):
        return binary("pow", o, self)

    def __neg__(self):
        return self.tracer.op("neg", self)

    def __pos__(self):
        return self

    def __abs__(self):
        return self.tracer.op("abs", self)

    def __invert__(self):
        return self.tracer.op("not", self)

    def __and__(self, o):
        return binary("and", self, o)

    __rand__ = __and__

    def __or__(self, o):
        return binary("or", self, o)

    __ror__ = __or__

    def __xor__(self, o):
        return binary("xor", self, o)

    __rxor__ = __xor__

    def __matmul__(self, o):
        from .linalg import matmul
        return matmul(self, o)

    def __rmatmul__(self, o):
        from .linalg import matmul
        return matmul(as_tensor(o, tracer=self.tracer), self)

    def __lt__(self, o):
        return compare("lt", self, o)

    def __le__(self, o):
        return compare("le", self, o)

    def __gt__(self, o):
        return compare("gt", self, o)

    def __ge__(self, o):
        return compare("ge", self, o)

    def __eq__(self, o):
        return compare("eq", self, o)

    def __ne__(self, o):
        return compare("ne", self, o)

    def __getitem__(self, index):
        return getitem(self, index)

    @property
    def T(self) -> Tensor:
        return transpose(self, range(self.ndim - 1, -1, -1))

    def transpose(self, *perm) -> Tensor:
        """numpy's transpose: no arguments reverse the dims."""
        perm = perm[0] if len(perm) == 1 and isinstance(perm[0], list | tuple) else perm
        return transpose(self, perm or range(self.ndim - 1, -1, -1))

    def reshape(self, *shape) -> Tensor:
        return reshape(self, shape[0] if len(shape) == 1 and isinstance(shape[0], list | tuple) else shape)

    def astype(self, dtype) -> Tensor:
        return cast(self, dtype)

    def broadcast_to(self, shape) -> Tensor:
        broadcast_shapes(self.shape, tuple(shape), op="broadcast_to")
        return broadcast_to(self, shape)

    def sum(self, axis=None, keepdims=False) -> Tensor:
        return reduce(self, "sum", axis, keepdims)

    def max(self, axis=None, keepdims=False) -> Tensor:
        return reduce(self, "max", axis, keepdims)

    def min(self, axis=None, keepdims=False) -> Tensor:
        return reduce(self, "min", axis, keepdims)

    def mean(self, axis=None, keepdims=False) -> Tensor:
        return mean(self, axis, keepdims)


def _true_div(a, b) -> Tensor:
    """`/` is true division: integer operands divide as f32 (torch's default float)."""
    d = result_dtype((a, b))
    return binary("div", *promote(a, b, op="div", dtype=d if d.is_float else dt.f32))

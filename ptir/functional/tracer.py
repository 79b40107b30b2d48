"""The state of a capture: the `Tracer` of the function being built, the stack of active
traces, and `Traced`, the base of the values a trace hands around (read-only properties;
the operators live on its subclass `ptir.functional.Tensor`).

Every op the frontend appends goes through `Tracer.op`, so the registry's type rule
checks it; a functional that names itself there (`caller="topk"`) gets a broken rule
reported as its own error, in the frontend's words (`topk: k = 5 is out of range ...`).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager

import numpy as np

from ..dialect import dtypes as dt
from ..dialect import registry
from ..dialect.program import Argument, Builder, Value
from ..dialect.types import TensorType, tensor
from ..errors import TypeRuleError

_ACTIVE: list[Tracer] = []   # the traces being captured, innermost last

# The frontend's name for the op attributes a functional fills from its arguments (torch calls an axis `dim`).
_ARGUMENT_NAMES = {"axis": "dim", "axes": "dim"}


def fail(op: str, message: str):
    """Raise a capture-time TypeRuleError naming the frontend function `op` (`linear: ...`)."""
    raise TypeRuleError(message, op=op)


def spec(shape, dtype="f32") -> TensorType:
    """The type of one traced input: `spec((4, 8), "f32")`; dtype as a name, DType or numpy dtype.

    Raises TypeRuleError for an unknown dtype."""
    return tensor(shape, to_dtype(dtype))


def to_dtype(d) -> dt.DType:
    """A PTIR DType from a DType, its name ("f32", "bf16") or a numpy dtype; TypeRuleError if unknown."""
    if isinstance(d, dt.DType):
        return d
    if isinstance(d, str) and dt.from_name(d) is not None:
        return dt.from_name(d)
    try:
        return dt.from_numpy(d)
    except (TypeError, ValueError):
        fail("dtype", f"unknown dtype {d!r}")


@contextmanager
def _rule_errors(caller: str | None):
    """A registry type-rule error raised inside, re-raised as an error of frontend function
    `caller` with the attributes it fills from its arguments called by their names."""
    try:
        yield
    except TypeRuleError as e:
        if caller is None:
            raise
        message = e.message
        for attr, arg in _ARGUMENT_NAMES.items():
            message = message.replace(f"attribute '{attr}'", f"argument '{arg}'")
        raise TypeRuleError(message, op=caller) from e


class Tracer:
    """One capture in progress: the builder of its function and the weights bound by name.

    `wrap(value, tracer)` makes the traced value handed back for each op result (the
    capture passes `ptir.functional.Tensor`)."""

    def __init__(self, builder: Builder, param_keys: dict[int, str] | None = None, *,
                 wrap: Callable[[Value, Tracer], Traced]):
        self.builder = builder
        self.wrap = wrap
        self.param_keys = param_keys or {}    # id(weight object) -> state_dict key
        self.params: dict[str, Traced] = {}

    def op(self, name: str, *operands: Traced, out=None, caller: str | None = None, **attrs):
        """Append registry op `name` to the function; its result wrapped (a tuple for several).

        The op's type rule checks it; a broken rule raises TypeRuleError naming the op, or
        naming `caller`, the frontend function emitting it, when given."""
        with _rule_errors(caller):
            res = self.builder.op(name, *(o.value for o in operands), out=out, **attrs)
        return tuple(self.wrap(r, self) for r in res) if isinstance(res, tuple) else self.wrap(res, self)

    def infer(self, name: str, *operands: Traced, caller: str, **attrs) -> tuple[dict, list[TensorType]]:
        """Op `name` checked by its type rule without appending it: its attributes as the
        rule normalises them (negative axes counted from the end) and its result types.
        A broken rule raises TypeRuleError naming `caller`, as `op` does."""
        with _rule_errors(caller):
            return registry.infer(registry.lookup(name), [o.type for o in operands], attrs)

    def param(self, obj, array: np.ndarray) -> Traced:
        """The tensor of a weight: a `ptir.param` argument when the traced module owns it
        (added on first use, so unused weights stay out of the signature), else a constant."""
        key = self.param_keys.get(id(obj))
        if key is None:
            a = np.array(array)   # a copy: the literal must not follow later edits of the weight
            return self.op("constant", out=tensor(a.shape, dt.from_numpy(a.dtype)), value=a)
        if key not in self.params:
            fn = self.builder.function
            value = Value(tensor(array.shape, dt.from_numpy(array.dtype)), key, None, len(fn.args))
            fn.args.append(Argument(value, key))
            self.params[key] = self.wrap(value, self)
        return self.params[key]

    @contextmanager
    def active(self):
        """Make this the current trace (`current_tracer()`) inside the block."""
        _ACTIVE.append(self)
        try:
            yield self
        finally:
            _ACTIVE.pop()


def current_tracer() -> Tracer | None:
    """The innermost trace in progress, or None outside `ptir.trace`."""
    return _ACTIVE[-1] if _ACTIVE else None


class Traced:
    """A value being traced: its dialect `Value` and the `Tracer` whose function holds it.

    This base has the read-only side (type, shape, dtype, ndim, len, iteration);
    `ptir.functional.Tensor` adds the operators and methods that append ops."""

    __slots__ = ("value", "tracer")

    def __init__(self, value: Value, tracer: Tracer):
        self.value = value
        self.tracer = tracer

    @property
    def type(self) -> TensorType:
        """The PTIR tensor type (shape and dtype)."""
        return self.value.type

    @property
    def shape(self) -> tuple:
        """The static shape, a tuple of ints."""
        return self.value.type.shape

    @property
    def dtype(self) -> dt.DType:
        """The PTIR dtype (f32, i64, i1, ...)."""
        return self.value.type.dtype

    @property
    def ndim(self) -> int:
        """The rank."""
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

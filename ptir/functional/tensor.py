"""`Tensor`: the traced value a captured function computes with.  Its Python operators
and numpy-style methods append PTIR ops through the core ops, indexing and matmul."""

from __future__ import annotations

from ..dialect import dtypes as dt
from .core import (
    as_tensor,
    binary,
    broadcast_shapes,
    broadcast_to,
    cast,
    compare,
    mean,
    promote,
    reduce,
    reshape,
    result_dtype,
    transpose,
)
from .indexing import getitem
from .linalg import matmul
from .tracer import Traced


class Tensor(Traced):
    """A value being traced: the operators and methods append PTIR ops to its function.

    Operators follow numpy: operands broadcast and promote (`result_dtype`; Python scalars
    are weak), `/` is true division (integers divide as f32), `@` is `matmul`, comparisons
    give i1 tensors, `[]` is numpy indexing.  A broken rule raises TypeRuleError."""

    __slots__ = ()
    __array_priority__ = 1000   # `ndarray + Tensor` defers to Tensor.__radd__
    __hash__ = object.__hash__

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
        return matmul(self, o)

    def __rmatmul__(self, o):
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
        """The dims reversed (a transpose; a matrix's transpose for 2-D)."""
        return transpose(self, range(self.ndim - 1, -1, -1))

    def transpose(self, *perm) -> Tensor:
        """numpy's transpose: no arguments reverse the dims."""
        perm = perm[0] if len(perm) == 1 and isinstance(perm[0], list | tuple) else perm
        return transpose(self, perm or range(self.ndim - 1, -1, -1))

    def reshape(self, *shape) -> Tensor:
        """numpy's reshape, the shape as one tuple or as ints; one dim may be -1 (inferred).
        TypeRuleError if the element count differs."""
        return reshape(self, shape[0] if len(shape) == 1 and isinstance(shape[0], list | tuple) else shape)

    def astype(self, dtype) -> Tensor:
        """The tensor converted to `dtype` (a name like "f16", a DType or a numpy dtype)."""
        return cast(self, dtype)

    def broadcast_to(self, shape) -> Tensor:
        """The tensor broadcast to `shape` as numpy does; TypeRuleError if it does not broadcast."""
        broadcast_shapes(self.shape, tuple(shape), op="broadcast_to")
        return broadcast_to(self, shape)

    def sum(self, axis=None, keepdims=False) -> Tensor:
        """Sum over `axis` (an int, a tuple, or None for all), in the tensor's dtype.
        TypeRuleError for an axis out of range or repeated."""
        return reduce(self, "sum", axis, keepdims)

    def max(self, axis=None, keepdims=False) -> Tensor:
        """Maximum over `axis` (an int, a tuple, or None for all); as `sum` otherwise."""
        return reduce(self, "max", axis, keepdims)

    def min(self, axis=None, keepdims=False) -> Tensor:
        """Minimum over `axis` (an int, a tuple, or None for all); as `sum` otherwise."""
        return reduce(self, "min", axis, keepdims)

    def mean(self, axis=None, keepdims=False) -> Tensor:
        """Mean over `axis` (an int, a tuple, or None for all): the sum divided by the count,
        so an integer tensor gives f32."""
        return mean(self, axis, keepdims)


def _true_div(a, b) -> Tensor:
    """`/` is true division: integer operands divide as f32 (torch's default float)."""
    d = result_dtype((a, b))
    return binary("div", *promote(a, b, op="div", dtype=d if d.is_float else dt.f32))

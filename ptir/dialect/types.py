"""Tensor types: a shape (static dims or `None` for `?`) and a dtype."""

from __future__ import annotations

from dataclasses import dataclass

from . import dtypes as dt
from .dtypes import DType


@dataclass(frozen=True)
class TensorType:
    shape: tuple[int | None, ...]
    dtype: DType

    def __post_init__(self):
        object.__setattr__(self, "shape", tuple(self.shape))

    @property
    def rank(self) -> int:
        return len(self.shape)

    @property
    def is_static(self) -> bool:
        return all(d is not None for d in self.shape)

    @property
    def num_elements(self) -> int | None:
        if not self.is_static:
            return None
        n = 1
        for d in self.shape:
            n *= d
        return n

    @property
    def num_bytes(self) -> int | None:
        """Bytes of a dense buffer of this type (None if a dim is dynamic); i1 counts a byte."""
        n = self.num_elements
        return None if n is None else n * self.dtype.np_dtype.itemsize

    @property
    def dims_str(self) -> str:
        """`4x8`, `?x768`, or `scalar` for rank 0: used in diagnostics."""
        return "x".join("?" if d is None else str(d) for d in self.shape) or "scalar"

    def with_shape(self, shape) -> TensorType:
        """The same dtype with `shape` (ints, None for a dynamic dim)."""
        return TensorType(tuple(shape), self.dtype)

    def with_dtype(self, dtype: DType) -> TensorType:
        """The same shape with `dtype`."""
        return TensorType(self.shape, dtype)

    def __str__(self) -> str:
        dims = "".join(("?" if d is None else str(d)) + "x" for d in self.shape)
        return f"tensor<{dims}{self.dtype.name}>"

    __repr__ = __str__


def tensor(shape, dtype) -> TensorType:
    """`tensor((4, 8), "f32")`: a TensorType from a shape and a dtype or its name."""
    if isinstance(dtype, str):
        d = dt.from_name(dtype)
        if d is None:
            raise ValueError(f"unknown dtype {dtype!r}")
        dtype = d
    elif not isinstance(dtype, DType):
        dtype = dt.from_numpy(dtype)
    return TensorType(tuple(shape), dtype)


def dim_eq(a: int | None, b: int | None) -> bool:
    """Two dims are compatible when equal or when either is dynamic."""
    return a is None or b is None or a == b


def shapes_compatible(a, b) -> bool:
    return len(a) == len(b) and all(dim_eq(x, y) for x, y in zip(a, b, strict=True))

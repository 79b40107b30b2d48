"""Helpers shared by the op definitions: rule checks and numpy evaluation."""

from __future__ import annotations

import numpy as np

from ...errors import TypeRuleError
from .. import dtypes as dt
from ..types import TensorType, dim_eq


def fail(message: str):
    raise TypeRuleError(message)


def same_shape_and_dtype(ins: list[TensorType], what: str = "operand") -> None:
    first = ins[0]
    for t in ins[1:]:
        if len(t.shape) != len(first.shape) or not all(map(dim_eq, t.shape, first.shape)):
            fail(f"{what} shapes {first.dims_str} and {t.dims_str} differ")
        if t.dtype != first.dtype:
            fail(f"{what} dtypes {first.dtype} and {t.dtype} differ")


def merged_shape(ins: list[TensorType]) -> tuple:
    """The most static shape among compatible shapes."""
    return tuple(next((d for d in dims if d is not None), None) for dims in zip(*(t.shape for t in ins), strict=True))


def require_dtype(t: TensorType, allowed, what: str, role: str = "operand") -> None:
    if t.dtype not in allowed:
        fail(f"{role} dtype {t.dtype} is not {what}")


def is_index(t: TensorType) -> bool:
    return t.dtype in dt.INDEX


def compute_dtype(dtype: np.dtype) -> np.dtype:
    """Floats of 32 bits or fewer are evaluated in f64 and rounded once at the end:
    for +, -, *, / and sqrt that gives exactly the correctly rounded result."""
    if np.issubdtype(dtype, np.floating) or dtype == dt.bf16.np_dtype:
        return np.dtype(np.float64)
    return dtype


def widen(x: np.ndarray) -> np.ndarray:
    return x.astype(compute_dtype(x.dtype), copy=False)


def to_type(x, t: TensorType) -> np.ndarray:
    """A numpy array of exactly type `t` (rounding floats, wrapping integers)."""
    x = np.asarray(x)
    if x.dtype != t.dtype.np_dtype:
        with np.errstate(all="ignore"):
            x = x.astype(t.dtype.np_dtype)
    return x


def spatial(n: int, value):
    return tuple([value] * n)

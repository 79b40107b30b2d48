"""Numbers and dense literals in PTIR text: exact, bit-for-bit round trips.

A float is written in the shortest decimal form that reads back to the same bits;
a dense literal is written as a splat, as a nested list (small tensors whose decimal
forms read back exactly), or as little-endian hex bytes.
"""

from __future__ import annotations

import math

import numpy as np

from .dtypes import DType

DECIMAL_LIMIT = 16   # literals with more elements (and not splats) are written in hex


def format_float(x: float) -> str:
    """Shortest decimal that reads back to the same float64, always with `.` or `e`."""
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return _with_point(repr(float(x)))


def _with_point(s: str) -> str:
    mant, e, exp = s.partition("e")
    if "." not in mant and "n" not in mant:
        mant += ".0"
    return mant + e + exp


def format_element(v, dtype: DType) -> str:
    if dtype.is_bool:
        return "true" if v else "false"
    if not dtype.is_float:
        return str(int(v))
    f = float(v)
    if math.isnan(f) or math.isinf(f):
        return format_float(f)
    # numpy's str() of a float scalar is the shortest form that reads back in that type.
    s = str(np.float32(v)) if dtype.bits == 16 and dtype.name == "bf16" else str(v)
    return _with_point(s)


def parse_element(text: str, dtype: DType):
    """The Python value of one literal element; raises ValueError."""
    if dtype.is_bool:
        if text not in ("true", "false"):
            raise ValueError(f"expected true or false for i1, got {text}")
        return text == "true"
    if dtype.is_float:
        return float(text)
    if not _is_int_text(text):
        raise ValueError(f"expected an integer for {dtype}, got {text}")
    v = int(text)
    info = np.iinfo(dtype.np_dtype)
    if not info.min <= v <= info.max:
        raise ValueError(f"{v} does not fit {dtype}")
    return v


def _is_int_text(text: str) -> bool:
    t = text[1:] if text[:1] in "+-" else text
    return t.isdigit()


def to_hex(arr: np.ndarray) -> str:
    return '"0x' + np.ascontiguousarray(arr).astype(arr.dtype.newbyteorder("<")).tobytes().hex().upper() + '"'


def from_hex(text: str, dtype: DType, shape) -> np.ndarray:
    """Array from the hex form; a single element's bytes make a splat, kept as that one
    element (a 0-d array: ptir.constant broadcasts it, so no size is ever materialized)."""
    raw = bytes.fromhex(text)
    itemsize = dtype.np_dtype.itemsize
    if len(raw) % itemsize:
        raise ValueError(f"{len(raw)} bytes are not a whole number of {dtype} elements")
    flat = np.frombuffer(raw, dtype=dtype.np_dtype.newbyteorder("<")).astype(dtype.np_dtype)
    n = int(np.prod(shape, dtype=np.int64))
    if flat.size == 1 and n != 1:
        return flat.reshape(())
    if flat.size != n:
        raise ValueError(f"hex literal has {flat.size} elements, the type needs {n}")
    return flat.reshape(shape)


def _decimal_exact(arr: np.ndarray, dtype: DType) -> bool:
    """Whether every element's decimal form reads back to the same bits."""
    back = np.array([parse_element(format_element(v, dtype), dtype) for v in arr.reshape(-1)])
    return back.astype(dtype.np_dtype).tobytes() == arr.tobytes()


def format_dense(arr: np.ndarray, dtype: DType) -> str:
    """The text inside `dense<...>`."""
    flat = arr.reshape(-1)
    if flat.size >= 1 and (arr.ndim == 0 or flat.size > 1) and _all_same_bits(flat):
        return format_element(flat[0], dtype) if _decimal_exact(flat[:1], dtype) else to_hex(flat[:1])
    if flat.size == 0 and 0 in arr.shape[:-1]:
        return to_hex(arr)    # `[]` and `[[], []]` only say where the first zero dim is when it is the last
    if flat.size <= DECIMAL_LIMIT and _decimal_exact(flat, dtype):
        return _nested(arr, dtype)
    return to_hex(arr)


def _all_same_bits(flat: np.ndarray) -> bool:
    b = flat.view(np.uint8).reshape(flat.size, -1)
    return bool((b == b[0]).all())


def _nested(arr: np.ndarray, dtype: DType) -> str:
    if arr.ndim == 0:
        return format_element(arr.item() if not dtype.is_float else arr[()], dtype)
    return "[" + ", ".join(_nested(a, dtype) for a in arr) + "]"

"""Element types of PTIR tensors and their numpy counterparts."""

from __future__ import annotations

from dataclasses import dataclass

import ml_dtypes
import numpy as np


@dataclass(frozen=True)
class DType:
    name: str        # PTIR spelling, also MLIR's: f32, i1, ui8, ...
    np_dtype: np.dtype
    kind: str        # "bool" | "int" | "uint" | "float"
    bits: int

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"DType({self.name})"

    @property
    def is_float(self) -> bool:
        return self.kind == "float"

    @property
    def is_int(self) -> bool:
        """Signed or unsigned integer (not i1)."""
        return self.kind in ("int", "uint")

    @property
    def is_bool(self) -> bool:
        return self.kind == "bool"

    @property
    def is_unsigned(self) -> bool:
        return self.kind == "uint"


def _make(name: str, np_dtype, kind: str, bits: int) -> DType:
    return DType(name, np.dtype(np_dtype), kind, bits)


i1 = _make("i1", np.bool_, "bool", 1)
i8 = _make("i8", np.int8, "int", 8)
i16 = _make("i16", np.int16, "int", 16)
i32 = _make("i32", np.int32, "int", 32)
i64 = _make("i64", np.int64, "int", 64)
ui8 = _make("ui8", np.uint8, "uint", 8)
f16 = _make("f16", np.float16, "float", 16)
bf16 = _make("bf16", ml_dtypes.bfloat16, "float", 16)
f32 = _make("f32", np.float32, "float", 32)
f64 = _make("f64", np.float64, "float", 64)

ALL: tuple[DType, ...] = (i1, i8, i16, i32, i64, ui8, f16, bf16, f32, f64)
BY_NAME: dict[str, DType] = {d.name: d for d in ALL}
_BY_NP: dict[np.dtype, DType] = {d.np_dtype: d for d in ALL}

FLOATS = tuple(d for d in ALL if d.is_float)
INTS = tuple(d for d in ALL if d.is_int)
INDEX = (i32, i64)


def from_name(name: str) -> DType | None:
    return BY_NAME.get(name)


def from_numpy(dtype) -> DType:
    """The PTIR dtype of a numpy dtype; raises ValueError for unsupported ones."""
    d = np.dtype(dtype)
    if d not in _BY_NP:
        raise ValueError(f"unsupported numpy dtype {d}")
    return _BY_NP[d]

"""Writes StableHLO ops as MLIR text in the generic form, handing out fresh SSA names.

    %3 = "stablehlo.add"(%1, %2) : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>

The generic form needs no knowledge of each op's custom syntax, and MLIR's verifier
checks it all the same.  Lowering rules build on the helpers here (constants, converts,
broadcasts, compares, reductions with a region body, ...), so each rule stays short.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ..dialect import dtypes as dt
from ..dialect.dtypes import DType
from ..dialect.types import TensorType


@dataclass(frozen=True)
class V:
    """A lowered value: its SSA name (`%4`, `%4#1`) and its type."""

    name: str
    type: TensorType

    @property
    def dtype(self) -> DType:
        return self.type.dtype

    @property
    def shape(self) -> tuple[int, ...]:
        return self.type.shape

    @property
    def rank(self) -> int:
        return self.type.rank


# --- attribute text --------------------------------------------------------------------------------

def i64s(values) -> str:
    """A dense i64 array attribute: `array<i64: 1, 2>`."""
    values = list(values)
    return "array<i64: " + ", ".join(map(str, values)) + ">" if values else "array<i64>"


def i64(value: int) -> str:
    return f"{int(value)} : i64"


def pairs(values) -> str:
    """An Nx2 i64 tensor attribute, as reduce_window and convolution padding take."""
    values = [list(p) for p in values]
    return f"dense<{values}> : tensor<{len(values)}x2xi64>" if values else "dense<> : tensor<0x2xi64>"


def dims(values) -> str:
    """A dimension list inside a #stablehlo.dot/gather/scatter attribute: `[0, 1]`."""
    return "[" + ", ".join(map(str, values)) + "]"


def dense(arr: np.ndarray, dtype: DType) -> str:
    """`dense<...>` for an array of `dtype`: decimal for booleans, integers and exact
    float splats, little-endian hex bytes otherwise (exact for NaN, inf and bf16)."""
    arr = np.asarray(arr, dtype=dtype.np_dtype)
    flat = arr.reshape(-1)
    if flat.size == 0:
        return "dense<>"
    splat = flat[:1].tobytes() * flat.size == flat.tobytes()   # bitwise: NaN and -0.0 count
    if dtype.is_bool or dtype.is_int:
        if splat:
            return f"dense<{_int_text(flat[0], dtype)}>"
        if flat.size <= 64:
            return f"dense<{_nested(arr, dtype)}>"
    elif splat and np.isfinite(float(flat[0])) and float(flat[0]).is_integer() and abs(float(flat[0])) < 2**24:
        return f"dense<{float(flat[0])!r}>"
    data = flat[:1] if splat else flat
    return 'dense<"0x' + data.astype(data.dtype.newbyteorder("<")).tobytes().hex().upper() + '">'


def _int_text(v, dtype: DType) -> str:
    return ("true" if v else "false") if dtype.is_bool else str(int(v))


def _nested(arr: np.ndarray, dtype: DType) -> str:
    if arr.ndim == 0:
        return _int_text(arr[()], dtype)
    return "[" + ", ".join(_nested(a, dtype) for a in arr) + "]"


def scalar(dtype: DType) -> TensorType:
    return TensorType((), dtype)


def compare_type(dtype: DType) -> str:
    if dtype.is_float:
        return "FLOAT"
    return "UNSIGNED" if dtype.is_unsigned or dtype.is_bool else "SIGNED"


# --- the emitter ----------------------------------------------------------------------------------

Body = Callable[..., "V | Sequence[V]"]


class Emitter:
    """Collects the lines of one function body.  `owner` is the PTIR op being lowered:
    each line remembers it, so a verifier diagnostic can name the op it came from."""

    def __init__(self, first_line: int = 1, indent: int = 4):
        self.lines: list[str] = []
        self.line_owner: dict[int, object] = {}   # line number in the module text -> PTIR op
        self.owner = None
        self.shardy = False                       # shardings lowered to sdy (else dropped)
        self._line = first_line                   # the module text line the next op starts on
        self._indent = indent
        self._count = 0
        self._nested = 0

    def fresh(self) -> str:
        self._count += 1
        return f"%{self._count - 1}"

    def emit(self, text: str) -> None:
        """Append one op (several lines if it holds regions)."""
        if not self._nested:   # a region's lines are counted with the op that holds them
            n = text.count("\n") + 1
            self.line_owner.update(dict.fromkeys(range(self._line, self._line + n), self.owner))
            self._line += n
        self.lines.append(" " * self._indent + text)

    def op(self, name: str, operands: Sequence[V], results: TensorType | Sequence[TensorType],
           attrs: dict[str, str] | None = None, regions: Sequence[str] = ()) -> V | list[V]:
        """Emit `name` (e.g. "stablehlo.add"); one result gives a V, a list of types a list."""
        types = [results] if isinstance(results, TensorType) else list(results)
        ins = ", ".join(v.name for v in operands)
        props = " <{" + ", ".join(f"{k} = {v}" for k, v in attrs.items()) + "}>" if attrs else ""
        regs = " (" + ", ".join(regions) + ")" if regions else ""
        sig = f"({', '.join(str(v.type) for v in operands)}) -> " + (
            str(types[0]) if len(types) == 1 else f"({', '.join(map(str, types))})")
        res = self.fresh() if types else ""
        lhs = (f"{res}:{len(types)} = " if len(types) > 1 else f"{res} = ") if types else ""
        self.emit(f'{lhs}"{name}"({ins}){props}{regs} : {sig}')
        if isinstance(results, TensorType):
            return V(res, types[0])
        return [V(f"{res}#{i}" if len(types) > 1 else res, t) for i, t in enumerate(types)]

    def region(self, arg_types: Sequence[TensorType], body: Body) -> str:
        """A one-block region `{ ^bb0(...): ... "stablehlo.return"(...) }`; `body` gets
        the block arguments and returns the values to yield."""
        args = [V(self.fresh(), t) for t in arg_types]
        saved, self.lines = self.lines, []
        self._indent += 2
        self._nested += 1
        out = body(*args)
        self.op("stablehlo.return", [out] if isinstance(out, V) else list(out), [])
        lines, self.lines = self.lines, saved
        self._indent -= 2
        self._nested -= 1
        pad = " " * self._indent
        header = f"{pad}^bb0({', '.join(f'{a.name}: {a.type}' for a in args)}):"
        return "{\n" + "\n".join([header, *lines]) + f"\n{pad}}}"

    # --- helpers shared by the rules ---

    def hlo(self, name: str, *operands: V, result: TensorType | None = None, **attrs: str) -> V:
        """A one-result StableHLO op, typed like its first operand unless told."""
        return self.op(f"stablehlo.{name}", operands, result or operands[0].type, attrs or None)

    def constant(self, value, dtype: DType, shape=()) -> V:
        """A splat (scalar `value`) or a literal array of `dtype`."""
        arr = np.asarray(value)
        if arr.ndim == 0:
            with np.errstate(all="ignore"):
                arr = np.full(shape, arr, dtype=dtype.np_dtype)
        t = TensorType(tuple(arr.shape), dtype)
        return self.op("stablehlo.constant", [], t, {"value": f"{dense(arr, dtype)} : {t}"})

    def like(self, x: V, value) -> V:
        """A splat of `value` with x's shape and dtype."""
        return self.constant(value, x.dtype, x.shape)

    def convert(self, x: V, dtype: DType) -> V:
        return x if x.dtype == dtype else self.hlo("convert", x, result=x.type.with_dtype(dtype))

    def reshape(self, x: V, shape) -> V:
        return x if tuple(shape) == x.shape else self.hlo("reshape", x, result=x.type.with_shape(shape))

    def broadcast(self, x: V, shape, dims_=None) -> V:
        """broadcast_in_dim; `dims_` maps x's dims to result dims (default right-aligned)."""
        if dims_ is None:
            dims_ = range(len(shape) - x.rank, len(shape))
        return self.hlo("broadcast_in_dim", x, result=x.type.with_shape(shape), broadcast_dimensions=i64s(dims_))

    def compare(self, a: V, b: V, direction: str) -> V:
        return self.hlo("compare", a, b, result=a.type.with_dtype(dt.i1),
                        comparison_direction=f"#stablehlo<comparison_direction {direction.upper()}>",
                        compare_type=f"#stablehlo<comparison_type {compare_type(a.dtype)}>")

    def select(self, pred: V, on_true: V, on_false: V) -> V:
        return self.hlo("select", pred, on_true, on_false, result=on_true.type)

    def is_nan(self, x: V) -> V:
        return self.compare(x, x, "ne")

    def sign_bit(self, x: V) -> V:
        """i1: float x's sign bit is set (true for -0.0 and negative NaNs too)."""
        bits = dt.from_numpy(np.dtype(f"i{x.dtype.bits // 8}"))
        as_int = self.hlo("bitcast_convert", x, result=x.type.with_dtype(bits))
        return self.compare(as_int, self.constant(0, bits, x.shape), "lt")

    def iota(self, t: TensorType, dim: int) -> V:
        return self.op("stablehlo.iota", [], t, {"iota_dimension": i64(dim)})

    def slice(self, x: V, start, limit, strides=None) -> V:
        strides = list(strides or [1] * x.rank)
        shape = [-(-(hi - lo) // s) for lo, hi, s in zip(start, limit, strides, strict=True)]
        return self.hlo("slice", x, result=x.type.with_shape(shape), start_indices=i64s(start),
                        limit_indices=i64s(limit), strides=i64s(strides))

    def concatenate(self, xs: Sequence[V], dim: int) -> V:
        shape = list(xs[0].shape)
        shape[dim] = sum(x.shape[dim] for x in xs)
        return self.op("stablehlo.concatenate", xs, xs[0].type.with_shape(shape), {"dimension": i64(dim)})

    def reduce(self, xs: Sequence[V], inits: Sequence[V], axes, body: Body) -> list[V]:
        """stablehlo.reduce over `axes`; `body(*accs, *elems)` combines scalars."""
        keep = [d for i, d in enumerate(xs[0].shape) if i not in axes]
        region = self.region([scalar(v.dtype) for v in inits] * 2, body)
        return self.op("stablehlo.reduce", [*xs, *inits], [x.type.with_shape(keep) for x in xs],
                       {"dimensions": i64s(sorted(axes))}, [region])

"""Reductions: reduce, argmax/argmin, reduce_window (pooling), top_k."""

from __future__ import annotations

import numpy as np

from .. import dtypes as dt
from ..registry import ABSENT, Attr, define
from ..types import TensorType
from ._common import fail, spatial, to_type, widen

KINDS = ("sum", "max", "min", "prod")


def identity_of(kind: str, dtype: np.dtype):
    """The value an empty reduction gives (and the padding of reduce_window)."""
    if kind in ("sum", "prod"):
        return 0 if kind == "sum" else 1
    if dtype == np.bool_:
        return kind == "min"
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return info.min if kind == "max" else info.max
    return -np.inf if kind == "max" else np.inf


def _reduce_rule(ins, attrs, out):
    x = ins[0]
    if attrs["accum"] is not None and attrs["accum"].is_float != x.dtype.is_float:
        fail(f"accum dtype {attrs['accum']} does not suit operand dtype {x.dtype}")
    if x.dtype.is_bool and attrs["kind"] in ("sum", "prod"):
        fail(f"reduce kind \"{attrs['kind']}\" needs a number dtype, not i1")
    axes = set(attrs["axes"])
    if attrs["keepdims"]:
        shape = [1 if i in axes else d for i, d in enumerate(x.shape)]
    else:
        shape = [d for i, d in enumerate(x.shape) if i not in axes]
    return [x.with_shape(shape)]


_NP_REDUCE = {"sum": np.sum, "prod": np.prod, "max": np.max, "min": np.min}


def _reduce_ref(xs, attrs, out):
    x, kind = widen(xs[0]), attrs["kind"]
    axes, keep = tuple(attrs["axes"]), attrs["keepdims"]
    if np.prod([x.shape[a] for a in axes], dtype=np.int64) == 1:   # one element (or none) is itself:
        return to_type(x.reshape(out[0].shape), out[0])              # a sum of -0 is -0, as of [-0, -0]
    with np.errstate(all="ignore"):
        r = _NP_REDUCE[kind](x, axis=axes, keepdims=keep,
                             **({"initial": identity_of(kind, x.dtype)} if kind in ("max", "min") else {}))
        if kind in ("max", "min") and x.dtype.kind == "f":
            r = _zero_signed(x, r, kind, axes, keep)
    return to_type(r, out[0])


def _zero_signed(x: np.ndarray, r, kind: str, axes, keepdims: bool):
    """A max (min) that is a zero is +0 (-0) when a +0 (-0) is among the reduced elements,
    as IEEE 754-2019 maximum (minimum) and StableHLO's order them; numpy's depends on the order."""
    r = np.asarray(r)
    if not (r == 0).any():
        return r
    wanted = (x == 0) & (np.signbit(x) == (kind == "min"))
    present = np.any(wanted, axis=axes, keepdims=keepdims)
    zero = np.copysign(np.zeros_like(r), -1.0 if kind == "min" else 1.0)
    return np.where((r == 0) & present, zero, np.where(r == 0, -zero, r))


define("reduce", ("x",), _reduce_rule, _reduce_ref,
       attrs=(Attr("kind", "str", choices=KINDS), Attr("axes", "axes"),
              Attr("keepdims", "bool", default=False),
              Attr("accum", "dtype", default=ABSENT, doc="accumulation dtype; the result keeps x's")),
       doc="Reduce `axes` with sum, max, min or prod (empty sum 0, empty max -inf; max and min order -0 "
           "below +0; one element reduced is itself, -0 included). The result keeps the operand dtype; "
           "`accum` names a wider accumulation dtype.")


def _arg_rule(ins, attrs, out):
    x = ins[0]
    if x.rank == 0:
        fail("needs an operand of rank >= 1")
    dtype = out[0].dtype if out else dt.i32
    if dtype not in dt.INDEX:
        fail(f"result dtype {dtype} is not i32 or i64")
    axis = attrs["axis"]
    if x.shape[axis] == 0:
        fail(f"axis {axis} of size 0 has no index to return")
    shape = [1 if i == axis else d for i, d in enumerate(x.shape)] if attrs["keepdims"] else \
        [d for i, d in enumerate(x.shape) if i != axis]
    return [TensorType(shape, dtype)]


def _arg_ref(fn):
    def ref(xs, attrs, out):
        return to_type(fn(xs[0], axis=attrs["axis"], keepdims=attrs["keepdims"]), out[0])
    return ref


for _name, _fn in (("argmax", np.argmax), ("argmin", np.argmin)):
    define(_name, ("x",), _arg_rule, _arg_ref(_fn),
           attrs=(Attr("axis", "axis"), Attr("keepdims", "bool", default=False)),
           doc=f"Index of the {_name[3:]} along `axis` (i32 or i64 result); ties take the smallest index, "
               "and a NaN wins (its index is returned).")


def _window_rule(ins, attrs, out):
    x = ins[0]
    window, strides, padding = attrs["window"], attrs["strides"], attrs["padding"]
    for name, v in (("window", window), ("strides", strides), ("padding", padding)):
        if len(v) != x.rank:
            fail(f"'{name}' has {len(v)} entries for rank {x.rank}")
    if x.dtype.is_bool:
        fail("reduce_window needs a number dtype, not i1")
    shape = []
    for i, (d, w, s, (lo, hi)) in enumerate(zip(x.shape, window, strides, padding, strict=True)):
        if w < 1 or s < 1:
            fail(f"dim {i}: window {w} and stride {s} must be >= 1")
        if lo < 0 or hi < 0:
            fail(f"dim {i}: padding [{lo}, {hi}] must be >= 0")
        if d is None:
            shape.append(None)
            continue
        if d + lo + hi < w:
            fail(f"dim {i}: window {w} is larger than the padded size {d + lo + hi}")
        shape.append((d + lo + hi - w) // s + 1)
    return [x.with_shape(shape)]


def window_views(x: np.ndarray, window, strides, padding, fill):
    """Yield, for each offset within the window, the strided view of the padded input."""
    xp = np.pad(x, padding, constant_values=fill)
    out_shape = [(n - w) // s + 1 for n, w, s in zip(xp.shape, window, strides, strict=True)]
    for offset in np.ndindex(*window):
        yield xp[tuple(slice(o, o + (n - 1) * s + 1, s) for o, n, s in zip(offset, out_shape, strides,
                                                                         strict=True))]


_COMBINE = {"sum": np.add, "max": np.maximum, "min": np.minimum}


def _window_ref(xs, attrs, out):
    x, kind = widen(xs[0]), attrs["kind"]
    acc = None
    for view in window_views(x, attrs["window"], attrs["strides"], attrs["padding"],
                             identity_of(kind, x.dtype)):
        acc = view.copy() if acc is None else _COMBINE[kind](acc, view)
    return to_type(acc, out[0])


define("reduce_window", ("x",), _window_rule, _window_ref,
       attrs=(Attr("kind", "str", choices=("sum", "max", "min")), Attr("window", "ints"),
              Attr("strides", "ints", default=lambda ins: spatial(ins[0].rank, 1)),
              Attr("padding", "int_pairs", default=lambda ins: spatial(ins[0].rank, (0, 0)))),
       doc="Sliding-window reduction (pooling); padding takes the reduction's identity "
           "(0 for sum, -inf for max).")


def _top_k_rule(ins, attrs, out):
    x, k, axis = ins[0], attrs["k"], attrs["axis"]
    if x.rank == 0:
        fail("needs an operand of rank >= 1")
    if x.dtype.is_bool:
        fail("top_k needs a number dtype, not i1")
    if k < 0 or (x.shape[axis] is not None and k > x.shape[axis]):
        fail(f"k = {k} is out of range for dim {axis} of size {x.shape[axis]}")
    shape = list(x.shape)
    shape[axis] = k
    return [x.with_shape(shape), TensorType(shape, dt.i32)]


def top_k_order(x: np.ndarray, largest: bool) -> np.ndarray:
    """Indices along the last axis in top_k order: stable, NaN largest, ties by index."""
    if x.dtype.kind == "f" or x.dtype == dt.bf16.np_dtype:
        x = x.astype(np.float64)
        nan = np.isnan(x)
        key = np.where(nan, 0.0, -x if largest else x)
        return np.lexsort((key, ~nan if largest else nan), axis=-1)
    x = x.astype(np.int64)
    return np.lexsort((~x if largest else x,), axis=-1)


def _top_k_ref(xs, attrs, out):
    x = np.moveaxis(xs[0], attrs["axis"], -1)
    idx = top_k_order(x, attrs["largest"])[..., :attrs["k"]]
    vals = np.take_along_axis(x, idx, axis=-1)
    return (np.ascontiguousarray(np.moveaxis(vals, -1, attrs["axis"])),
            np.ascontiguousarray(np.moveaxis(idx, -1, attrs["axis"])).astype(np.int32))


define("top_k", ("x",), _top_k_rule, _top_k_ref, num_results=2,
       attrs=(Attr("k", "int"), Attr("axis", "axis", default=lambda ins: ins[0].rank - 1),
              Attr("largest", "bool", default=True)),
       doc="The k largest (or smallest) along `axis`, sorted, and their i32 indices; ties take the "
           "smaller index first, NaN counts as the largest.")

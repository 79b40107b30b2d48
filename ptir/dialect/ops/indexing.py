"""Indexing: take, gather, scatter, dynamic_slice, dynamic_update_slice.

Out-of-range indices never fault: take, gather and the dynamic slices clamp them into
range (as StableHLO's gather and dynamic slices do); scatter skips updates whose index
is out of range (as StableHLO's scatter does).
"""

from __future__ import annotations

import numpy as np

from ..registry import Attr, define
from ..types import dim_eq
from ._common import fail, is_index, to_type, widen


def _need_index(t, role):
    if not is_index(t):
        fail(f"{role} dtype {t.dtype} is not i32 or i64")


def _need_nonempty_axis(x, axis):
    # clamping an index into an empty axis leaves nothing to read
    if x.shape[axis] == 0:
        fail(f"cannot index axis {axis} of size 0")


def _take_rule(ins, attrs, out):
    x, idx = ins
    _need_index(idx, "indices")
    if x.rank == 0:
        fail("needs an operand of rank >= 1")
    a = attrs["axis"]
    _need_nonempty_axis(x, a)
    return [x.with_shape(x.shape[:a] + idx.shape + x.shape[a + 1:])]


def _clamped(idx: np.ndarray, size: int) -> np.ndarray:
    return np.clip(idx.astype(np.int64), 0, max(size - 1, 0))


define("take", ("x", "indices"), _take_rule,
       lambda xs, attrs, out: np.take(xs[0], _clamped(xs[1], xs[0].shape[attrs["axis"]]), axis=attrs["axis"]),
       attrs=(Attr("axis", "axis", default=0),),
       doc="numpy.take / torch.index_select: slices of x at `indices` along `axis` (indices clamped).")


def _gather_rule(ins, attrs, out):
    x, idx = ins
    _need_index(idx, "indices")
    if idx.rank != x.rank:
        fail(f"indices rank {idx.rank} differs from operand rank {x.rank}")
    for d in range(x.rank):
        if d != attrs["axis"] and None not in (idx.shape[d], x.shape[d]) and idx.shape[d] > x.shape[d]:
            fail(f"indices dim {d} is {idx.shape[d]}, larger than the operand's {x.shape[d]}")
    _need_nonempty_axis(x, attrs["axis"])
    return [x.with_shape(idx.shape)]


define("gather", ("x", "indices"), _gather_rule,
       lambda xs, attrs, out: np.take_along_axis(
           xs[0][tuple(slice(0, n) if d != attrs["axis"] else slice(None)
                       for d, n in enumerate(xs[1].shape))],
           _clamped(xs[1], xs[0].shape[attrs["axis"]]), axis=attrs["axis"]),
       attrs=(Attr("axis", "axis"),),
       doc="torch.gather: out[i][j] = x[i][indices[i][j]] along `axis` (same rank; indices clamped).")


def _scatter_rule(ins, attrs, out):
    x, idx, upd = ins
    _need_index(idx, "indices")
    if idx.rank != x.rank:
        fail(f"indices rank {idx.rank} differs from operand rank {x.rank}")
    if len(upd.shape) != len(idx.shape) or not all(map(dim_eq, upd.shape, idx.shape)):
        fail(f"updates shape {upd.dims_str} differs from indices shape {idx.dims_str}")
    if upd.dtype != x.dtype:
        fail(f"updates dtype {upd.dtype} differs from operand dtype {x.dtype}")
    for d in range(x.rank):
        if d != attrs["axis"] and None not in (idx.shape[d], x.shape[d]) and idx.shape[d] > x.shape[d]:
            fail(f"indices dim {d} is {idx.shape[d]}, larger than the operand's {x.shape[d]}")
    return [x]


_SCATTER = {"add": np.add.at, "max": np.maximum.at, "min": np.minimum.at}


def _scatter_ref(xs, attrs, out):
    x, idx, upd = widen(xs[0]).copy(), xs[1].astype(np.int64), widen(xs[2])
    axis = attrs["axis"]
    coords = list(np.indices(idx.shape, sparse=False))
    coords[axis] = idx
    keep = (idx >= 0) & (idx < x.shape[axis])
    target = tuple(c[keep] for c in coords)
    if attrs["reduce"] == "replace":
        x[target] = upd[keep]          # duplicate indices: the last update wins
    else:
        _SCATTER[attrs["reduce"]](x, target, upd[keep])
    return to_type(x, out[0])


define("scatter", ("x", "indices", "updates"), _scatter_rule, _scatter_ref,
       attrs=(Attr("axis", "axis"), Attr("reduce", "str", default="replace",
                                         choices=("add", "max", "min", "replace"))),
       doc="torch.scatter_reduce (include_self): a copy of x with updates combined in at `indices` "
           "along `axis`; out-of-range indices are skipped; with duplicates, `replace` keeps the last.")


def _start_rule(start, x):
    _need_index(start, "start")
    if start.rank != 1 or (start.shape[0] is not None and start.shape[0] != x.rank):
        fail(f"start must be 1-D with {x.rank} entries, got {start}")


def _dynamic_slice_rule(ins, attrs, out):
    x, start = ins
    _start_rule(start, x)
    y = out[0]
    if y.dtype != x.dtype or y.rank != x.rank:
        fail(f"result {y} must have the operand's dtype and rank ({x})")
    for i, (n, d) in enumerate(zip(y.shape, x.shape, strict=True)):
        if n is None:
            fail("the result shape (the slice sizes) must be static")
        if d is not None and n > d:
            fail(f"slice size {n} in dim {i} is larger than the operand's {d}")
    return [y]


def _clamp_starts(start, operand_shape, sizes):
    return tuple(int(np.clip(s, 0, d - n)) for s, d, n in zip(start.astype(np.int64), operand_shape, sizes,
                                                               strict=True))


def _dynamic_slice_ref(xs, attrs, out):
    x, start = xs
    sizes = out[0].shape
    begin = _clamp_starts(start, x.shape, sizes)
    return np.ascontiguousarray(x[tuple(slice(b, b + n) for b, n in zip(begin, sizes, strict=True))])


define("dynamic_slice", ("x", "start"), _dynamic_slice_rule, _dynamic_slice_ref, result_given=True,
       doc="The window of the result's shape at `start` (1-D, one entry per dim), clamped into range.")


def _dynamic_update_rule(ins, attrs, out):
    x, upd, start = ins
    _start_rule(start, x)
    if upd.dtype != x.dtype or upd.rank != x.rank:
        fail(f"update {upd} must have the operand's dtype and rank ({x})")
    for i, (n, d) in enumerate(zip(upd.shape, x.shape, strict=True)):
        if None not in (n, d) and n > d:
            fail(f"update size {n} in dim {i} is larger than the operand's {d}")
    return [x]


def _dynamic_update_ref(xs, attrs, out):
    x, upd, start = xs
    begin = _clamp_starts(start, x.shape, upd.shape)
    y = x.copy()
    y[tuple(slice(b, b + n) for b, n in zip(begin, upd.shape, strict=True))] = upd
    return y


define("dynamic_update_slice", ("x", "update", "start"), _dynamic_update_rule, _dynamic_update_ref,
       doc="A copy of x with the window at `start` replaced by `update`; start clamped into range.")


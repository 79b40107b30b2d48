"""Lowerings of the indexing ops (ptir/dialect/ops/indexing.py).

StableHLO's gather and dynamic slices clamp start indices into range and its scatter
skips out-of-range updates, the same rules as PTIR's.  IREE 3.13 clamps dynamic slices
but neither clamps gather indices nor skips scatter updates (it writes out of bounds),
so gather and scatter indices are fixed up here rather than left to the backend.  XLA
(jaxlib 0.10.2) folds a dynamic slice of a dynamic slice into one slice with one clamp of
the summed starts, which is not the two clamps one after the other ([10, 20, 30] sliced 2
at 2, i.e. at 1, then 1 at 0 gives 30, not 20), so dynamic slice starts are clamped here too.
"""

from __future__ import annotations

import numpy as np

from .emitter import Emitter, V, dims, i64s, scalar
from .table import lowering


def _gather(em: Emitter, x: V, starts: V, result, offset_dims, collapsed, start_map, slice_sizes) -> V:
    numbers = (f"#stablehlo.gather<offset_dims = {dims(offset_dims)}, collapsed_slice_dims = {dims(collapsed)}, "
               f"start_index_map = {dims(start_map)}, index_vector_dim = {starts.rank - 1}>")
    return em.hlo("gather", x, starts, result=result, dimension_numbers=numbers, slice_sizes=i64s(slice_sizes))


def _clamped(em: Emitter, indices: V, size: int) -> V:
    return em.hlo("clamp", em.like(indices, 0), indices, em.like(indices, max(size - 1, 0)))


@lowering("take")
def _take(em: Emitter, op, x: V, indices: V) -> V:
    axis, out = op.attrs["axis"], op.results[0].type
    starts = em.reshape(_clamped(em, indices, x.shape[axis]), (*indices.shape, 1))
    # The result is x's dims before `axis`, the index dims, then x's dims after `axis`.
    offset = [*range(axis), *range(axis + indices.rank, out.rank)]
    sizes = [1 if d == axis else n for d, n in enumerate(x.shape)]
    return _gather(em, x, starts, out, offset, [axis], [axis], sizes)


def full_coordinates(em: Emitter, indices: V, axis: int) -> V:
    """For torch-style gather/scatter: each element's full coordinate into x, `indices`
    along `axis` and its own position elsewhere, as indices.shape + [rank]."""
    column = (*indices.shape, 1)
    parts = [em.reshape(indices if d == axis else em.iota(indices.type, d), column) for d in range(indices.rank)]
    return em.concatenate(parts, indices.rank)


@lowering("gather")
def _torch_gather(em: Emitter, op, x: V, indices: V) -> V:
    axis, everything = op.attrs["axis"], list(range(x.rank))
    coords = full_coordinates(em, _clamped(em, indices, x.shape[axis]), axis)
    return _gather(em, x, coords, op.results[0].type, [], everything, everything, [1] * x.rank)


@lowering("scatter")
def _scatter(em: Emitter, op, x: V, indices: V, updates: V) -> V:
    """Out-of-range updates go to a spare slot appended along `axis`, then cut off.
    Backends may apply duplicate indices in any order: with reduce = "replace" which
    duplicate wins is unspecified (the reference keeps the last)."""
    axis, reduce, everything = op.attrs["axis"], op.attrs["reduce"], list(range(x.rank))
    n = x.shape[axis]
    valid = em.hlo("and", em.compare(indices, em.like(indices, 0), "ge"),
                   em.compare(indices, em.like(indices, n), "lt"))
    coords = full_coordinates(em, em.select(valid, indices, em.like(indices, n)), axis)
    spare = [int(d == axis) for d in everything]
    wide = em.hlo("pad", x, em.constant(0, x.dtype), result=x.type.with_shape(np.add(x.shape, spare)),
                  edge_padding_low=i64s([0] * x.rank), edge_padding_high=i64s(spare),
                  interior_padding=i64s([0] * x.rank))
    numbers = (f"#stablehlo.scatter<update_window_dims = [], inserted_window_dims = {dims(everything)}, "
               f"scatter_dims_to_operand_dims = {dims(everything)}, index_vector_dim = {x.rank}>")
    combine = {"add": "add", "max": "maximum", "min": "minimum"}
    region = em.region([scalar(x.dtype)] * 2, lambda old, new: new if reduce == "replace" else
                       em.hlo(combine[reduce], old, new))
    out = em.op("stablehlo.scatter", [wide, coords, updates], wide.type,
                {"scatter_dimension_numbers": numbers}, [region])
    return em.slice(out, [0] * x.rank, x.shape)


def _start_scalars(em: Emitter, start: V, x: V, sizes) -> list[V]:
    """The entries of a 1-D start tensor as rank-0 tensors, as dynamic slices take them,
    each clamped into [0, dim - size] (x's dims, the window's sizes) explicitly, so the
    meaning does not rest on how a backend folds the ops' own clamps."""
    out = []
    for i, (dim, size) in enumerate(zip(x.shape, sizes, strict=True)):
        s = em.reshape(em.slice(start, [i], [i + 1]), ())
        out.append(em.hlo("clamp", em.like(s, 0), s, em.like(s, dim - size)))
    return out


@lowering("dynamic_slice")
def _dynamic_slice(em: Emitter, op, x: V, start: V) -> V:
    out = op.results[0].type
    return em.op("stablehlo.dynamic_slice", [x, *_start_scalars(em, start, x, out.shape)], out,
                 {"slice_sizes": i64s(out.shape)})


@lowering("dynamic_update_slice")
def _dynamic_update_slice(em: Emitter, op, x: V, update: V, start: V) -> V:
    return em.op("stablehlo.dynamic_update_slice", [x, update, *_start_scalars(em, start, x, update.shape)], x.type)

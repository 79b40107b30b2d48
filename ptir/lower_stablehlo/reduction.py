"""Lowerings of the reductions (ptir/dialect/ops/reduction.py)."""

from __future__ import annotations

import numpy as np

from ..dialect import dtypes as dt
from ..dialect.ops.reduction import identity_of
from .emitter import Emitter, V, i64, i64s, pairs, scalar
from .table import lowering

_COMBINE = {"sum": "add", "prod": "multiply", "max": "maximum", "min": "minimum"}


def _init(em: Emitter, kind: str, dtype: dt.DType) -> V:
    return em.constant(identity_of(kind, dtype.np_dtype), dtype)


def _combiner(em: Emitter, kind: str):
    return lambda a, b: em.hlo(_COMBINE[kind], a, b)


@lowering("reduce")
def _reduce(em: Emitter, op, x: V) -> V:
    a = op.attrs
    kind, out = a["kind"], op.results[0].type
    wide = em.convert(x, a["accum"] or x.dtype)   # accumulate in `accum`, give back x's dtype
    if np.prod([x.shape[d] for d in a["axes"]], dtype=np.int64) == 1:
        # One element reduced (or none: no axes) is that element: no reduce, whose init value
        # would make a sum of -0 +0 on one target and not on another (XLA folds it away).
        return em.reshape(em.convert(wide, x.dtype), out.shape)
    (r,) = em.reduce([wide], [_init(em, kind, wide.dtype)], a["axes"], _combiner(em, kind))
    return em.reshape(em.convert(r, x.dtype), out.shape)   # keepdims


def ranks_before(em: Emitter, a: V, ai: V, b: V, bi: V, direction: str, nan_first: bool) -> V:
    """Whether (a, index ai) comes before (b, index bi) in the order `direction` ("gt":
    largest first, "lt": smallest first), NaN first or last, ties by the smaller index.
    A strict total order: it serves as a sort comparator and an argmax combiner."""
    better = em.compare(a, b, direction)
    equal = em.compare(a, b, "eq")
    if a.dtype.is_float:
        a_nan, b_nan = em.is_nan(a), em.is_nan(b)
        first, second = (a_nan, b_nan) if nan_first else (b_nan, a_nan)
        better = em.hlo("or", better, em.hlo("and", first, em.hlo("not", second)))
        equal = em.hlo("or", equal, em.hlo("and", a_nan, b_nan))
    return em.hlo("or", better, em.hlo("and", equal, em.compare(ai, bi, "lt")))


def _arg_rule(direction: str):
    def rule(em: Emitter, op, x: V) -> V:
        axis, out = op.attrs["axis"], op.results[0].type
        index = em.iota(x.type.with_dtype(out.dtype), axis)
        kind = "max" if direction == "gt" else "min"

        def pick(av, ai, bv, bi):
            # numpy's argmax and argmin both return the first NaN.
            take_a = ranks_before(em, av, ai, bv, bi, direction, nan_first=True)
            return em.select(take_a, av, bv), em.select(take_a, ai, bi)

        inits = [_init(em, kind, x.dtype), em.constant(0, out.dtype)]
        _, idx = em.reduce([x, index], inits, [axis], pick)
        return em.reshape(idx, out.shape)   # keepdims
    return rule


lowering("argmax")(_arg_rule("gt"))
lowering("argmin")(_arg_rule("lt"))


def covered_padding(shape, window, strides, padding) -> tuple[list[int], list[tuple[int, int]]]:
    """The input's extent each dim's windows read, and the padding they read: the high
    padding cut to what the last window reaches (negative: trailing elements it never
    reads, cut from the input instead).  The result is the same; IREE 3.13 fails to
    compile a reduce_window whose windows stop short of the padded input's end ("'linalg.
    generic' op inferred input/output operand #1 has shape's dimension #0 to be 5, but
    found 3")."""
    limit, out = [], []
    for size, w, st, (lo, hi) in zip(shape, window, strides, padding, strict=True):
        count = (size + lo + hi - w) // st + 1
        exact = (count - 1) * st + w - size - lo if count > 0 else hi
        limit.append(size + min(exact, 0))
        out.append((lo, max(min(exact, hi), 0)))
    return limit, out


@lowering("reduce_window")
def _reduce_window(em: Emitter, op, x: V) -> V:
    a = op.attrs
    kind = a["kind"]
    limit, padding = covered_padding(x.shape, a["window"], a["strides"], a["padding"])
    if limit != list(x.shape):
        x = em.slice(x, [0] * x.rank, limit)
    init = _init(em, kind, x.dtype)   # StableHLO pads with the init value: the identity
    region = em.region([scalar(x.dtype)] * 2, _combiner(em, kind))
    return em.op("stablehlo.reduce_window", [x, init], op.results[0].type,
                 {"window_dimensions": i64s(a["window"]), "window_strides": i64s(a["strides"]),
                  "padding": pairs(padding)}, [region])


@lowering("top_k")
def _top_k(em: Emitter, op, x: V) -> list[V]:
    a = op.attrs
    axis, k, n = a["axis"], a["k"], x.shape[a["axis"]]
    # The indices are a broadcast constant, not an iota: IREE rewrites iota -> sort -> slice
    # into its own top-k, which drops this comparator (NaN order, ties by index).
    index = em.broadcast(em.constant(np.arange(n), dt.i32), x.shape, [axis])
    direction = "gt" if a["largest"] else "lt"
    region = em.region([scalar(x.dtype)] * 2 + [scalar(dt.i32)] * 2,
                       lambda av, bv, ai, bi: ranks_before(em, av, ai, bv, bi, direction, nan_first=a["largest"]))
    values, indices = em.op("stablehlo.sort", [x, index], [x.type, index.type],
                            {"dimension": i64(axis), "is_stable": "true"}, [region])
    limit = [k if d == axis else size for d, size in enumerate(x.shape)]
    return [em.slice(values, [0] * x.rank, limit), em.slice(indices, [0] * x.rank, limit)]

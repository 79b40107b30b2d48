"""Lowerings of the ops that make or rearrange tensors (ptir/dialect/ops/shape.py)."""

from __future__ import annotations

import numpy as np

from ..dialect.ops._common import to_type
from .emitter import Emitter, V, i64s, scalar
from .table import lowering


@lowering("constant")
def _constant(em: Emitter, op) -> V:
    t = op.results[0].type
    return em.constant(np.broadcast_to(op.attrs["value"], t.shape), t.dtype)


@lowering("iota")
def _iota(em: Emitter, op) -> V:
    return em.iota(op.results[0].type, op.attrs["axis"])


@lowering("reshape")
def _reshape(em: Emitter, op, x: V) -> V:
    return em.hlo("reshape", x, result=op.results[0].type)


@lowering("broadcast_to")
def _broadcast_to(em: Emitter, op, x: V) -> V:
    return em.broadcast(x, op.results[0].type.shape)


@lowering("transpose")
def _transpose(em: Emitter, op, x: V) -> V:
    return em.hlo("transpose", x, result=op.results[0].type, permutation=i64s(op.attrs["perm"]))


@lowering("slice")
def _slice(em: Emitter, op, x: V) -> V:
    a = op.attrs
    return em.slice(x, a["start"], a["limit"], a["stride"])


@lowering("concat")
def _concat(em: Emitter, op, *xs: V) -> V:
    return em.concatenate(xs, op.attrs["axis"])


@lowering("pad")
def _pad(em: Emitter, op, x: V) -> V:
    a = op.attrs
    # The fill converts as the reference converts it (to_type), so both agree bit for bit.
    fill = em.constant(to_type(np.array(a["value"]), scalar(x.dtype)), x.dtype)
    return em.hlo("pad", x, fill, result=op.results[0].type, edge_padding_low=i64s(a["low"]),
                  edge_padding_high=i64s(a["high"]), interior_padding=i64s(a["interior"]))

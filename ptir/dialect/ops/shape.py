"""Ops that make or rearrange tensors: constant, iota, reshape, broadcast_to,
transpose, slice, concat, pad."""

from __future__ import annotations

import numpy as np

from ..registry import Attr, define
from ..types import TensorType, dim_eq
from ._common import fail, spatial, to_type


def _constant_rule(ins, attrs, out):
    lit = attrs["value"]
    t = out[0]
    if not t.is_static:
        fail(f"constant type {t} must be static")
    if lit.dtype != t.dtype.np_dtype:
        fail(f"literal dtype does not match {t.dtype}")
    if lit.shape != t.shape and lit.size != 1:
        fail(f"literal of shape {'x'.join(map(str, lit.shape)) or 'scalar'} does not fit {t}")
    return [t]


define("constant", (), _constant_rule,
       lambda xs, attrs, out: np.broadcast_to(attrs["value"], out[0].shape).copy(),
       attrs=(Attr("value", "literal", doc="the dense literal, written before the colon"),),
       result_given=True,
       doc="A tensor literal: `%c = ptir.constant dense<0.5> : tensor<4xf32>` (splat, nested list, "
           "or little-endian hex bytes `dense<\"0x...\">`).")


def _iota_rule(ins, attrs, out):
    t = out[0]
    if t.rank == 0:
        fail("iota needs a result of rank >= 1")
    if t.dtype.is_bool:
        fail("iota needs a number dtype, not i1")
    return [t]


def _iota_ref(xs, attrs, out):
    t = out[0]
    shape = [1] * t.rank
    shape[attrs["axis"]] = t.shape[attrs["axis"]]
    return np.broadcast_to(np.arange(t.shape[attrs["axis"]]).reshape(shape), t.shape).astype(t.dtype.np_dtype)


define("iota", (), _iota_rule, _iota_ref, attrs=(Attr("axis", "axis", rank_of="result"),),
       result_given=True, doc="Counts 0, 1, ... along `axis` of the result shape.")


def _reshape_rule(ins, attrs, out):
    x, y = ins[0], out[0]
    if x.dtype != y.dtype:
        fail(f"reshape changes the dtype {x.dtype} to {y.dtype}")
    if x.is_static and y.is_static and x.num_elements != y.num_elements:
        fail(f"reshape from {x.dims_str} ({x.num_elements} elements) to {y.dims_str} "
             f"({y.num_elements} elements) changes the element count")
    return [y]


define("reshape", ("x",), _reshape_rule, lambda xs, attrs, out: xs[0].reshape(out[0].shape),
       result_given=True, doc="Same elements in row-major order, new shape.")


def _broadcast_rule(ins, attrs, out):
    x, y = ins[0], out[0]
    if x.dtype != y.dtype:
        fail(f"broadcast_to changes the dtype {x.dtype} to {y.dtype}")
    if x.rank > y.rank:
        fail(f"cannot broadcast rank {x.rank} to rank {y.rank}")
    for i, d in enumerate(x.shape):
        target = y.shape[y.rank - x.rank + i]
        if d != 1 and not dim_eq(d, target):
            fail(f"cannot broadcast {x.dims_str} to {y.dims_str}: dim {i} is {d}, not 1 or {target}")
    return [y]


define("broadcast_to", ("x",), _broadcast_rule,
       lambda xs, attrs, out: np.broadcast_to(xs[0], out[0].shape).copy(),
       result_given=True, doc="numpy broadcasting, right-aligned, to the result shape.")


def _transpose_rule(ins, attrs, out):
    x, perm = ins[0], attrs["perm"]
    if sorted(perm) != list(range(x.rank)):
        fail(f"perm {list(perm)} is not a permutation of the {x.rank} dims")
    return [x.with_shape(x.shape[p] for p in perm)]


define("transpose", ("x",), _transpose_rule,
       lambda xs, attrs, out: np.ascontiguousarray(np.transpose(xs[0], attrs["perm"])),
       attrs=(Attr("perm", "ints"),), doc="Result dim i is operand dim perm[i].")


def _slice_rule(ins, attrs, out):
    x = ins[0]
    start, limit, stride = attrs["start"], attrs["limit"], attrs["stride"]
    for name, v in (("start", start), ("limit", limit), ("stride", stride)):
        if len(v) != x.rank:
            fail(f"'{name}' has {len(v)} entries for rank {x.rank}")
    shape = []
    for i, (s, l, st, d) in enumerate(zip(start, limit, stride, x.shape, strict=True)):
        if st < 1:
            fail(f"stride {st} in dim {i} must be >= 1")
        if not 0 <= s <= l or (d is not None and l > d):
            fail(f"dim {i}: need 0 <= start <= limit <= {d}, got start {s}, limit {l}")
        shape.append(-(-(l - s) // st))
    return [x.with_shape(shape)]


def _slice_ref(xs, attrs, out):
    idx = tuple(slice(s, l, st) for s, l, st in zip(attrs["start"], attrs["limit"], attrs["stride"],
                                                     strict=True))
    return np.ascontiguousarray(xs[0][idx])


define("slice", ("x",), _slice_rule, _slice_ref,
       attrs=(Attr("start", "ints"), Attr("limit", "ints"),
              Attr("stride", "ints", default=lambda ins: spatial(ins[0].rank, 1))),
       doc="Elements start <= i < limit with step stride in each dim.")


def _concat_rule(ins, attrs, out):
    axis, first = attrs["axis"], ins[0]
    total = 0
    for k, t in enumerate(ins):
        if t.dtype != first.dtype:
            fail(f"operand dtypes {first.dtype} and {t.dtype} differ")
        if t.rank != first.rank:
            fail(f"operand ranks {first.rank} and {t.rank} differ")
        for i in range(t.rank):
            if i != axis and not dim_eq(t.shape[i], first.shape[i]):
                fail(f"operand {k} shape {t.dims_str} differs from {first.dims_str} outside axis {axis}")
        total = None if total is None or t.shape[axis] is None else total + t.shape[axis]
    shape = list(first.shape)
    shape[axis] = total
    return [first.with_shape(shape)]


define("concat", ("xs...",), _concat_rule,
       lambda xs, attrs, out: np.concatenate(xs, axis=attrs["axis"]),
       attrs=(Attr("axis", "axis"),), doc="Join the operands along `axis`.")


def _pad_rule(ins, attrs, out):
    x = ins[0]
    low, high, interior = attrs["low"], attrs["high"], attrs["interior"]
    for name, v in (("low", low), ("high", high), ("interior", interior)):
        if len(v) != x.rank:
            fail(f"'{name}' has {len(v)} entries for rank {x.rank}")
    shape = []
    for i, (lo, hi, it, d) in enumerate(zip(low, high, interior, x.shape, strict=True)):
        if it < 0:
            fail(f"interior padding {it} in dim {i} must be >= 0")
        n = None if d is None else lo + hi + d + max(d - 1, 0) * it
        if n is not None and n < 0:
            fail(f"dim {i}: padding {lo}, {hi} crops {d} below zero")
        shape.append(n)
    if x.dtype.is_bool and attrs["value"] not in (0.0, 1.0):
        fail("the pad value of an i1 tensor must be 0 or 1")
    return [x.with_shape(shape)]


def _pad_ref(xs, attrs, out):
    x = xs[0]
    low, high, interior = attrs["low"], attrs["high"], attrs["interior"]
    # interior padding first, then edges; negative edges crop.
    grown = [d + max(d - 1, 0) * it for d, it in zip(x.shape, interior, strict=True)]
    fill = to_type(np.array(attrs["value"]), TensorType((), out[0].dtype))
    buf = np.full([g + max(lo, 0) + max(hi, 0) for g, lo, hi in zip(grown, low, high, strict=True)], fill,
                  dtype=x.dtype)
    place = tuple(slice(max(lo, 0), max(lo, 0) + g, it + 1)
                  for g, lo, it in zip(grown, low, interior, strict=True))
    buf[place] = x
    crop = tuple(slice(-min(lo, 0), n + min(hi, 0)) for lo, hi, n in zip(low, high, buf.shape, strict=True))
    return np.ascontiguousarray(buf[crop])


define("pad", ("x",), _pad_rule, _pad_ref,
       attrs=(Attr("low", "ints"), Attr("high", "ints"),
              Attr("interior", "ints", default=lambda ins: spatial(ins[0].rank, 0)),
              Attr("value", "float", default=0.0)),
       doc="Pad each dim with `low` before, `high` after and `interior` between elements, filled with "
           "`value`; negative low/high crop.")


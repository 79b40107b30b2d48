"""Contractions: dot_general and conv."""

from __future__ import annotations

import numpy as np

from ..registry import ABSENT, Attr, define
from ..types import dim_eq
from ._common import fail, spatial, to_type, widen


def dot_free_dims(lhs_rank: int, rhs_rank: int, attrs) -> tuple[list[int], list[int]]:
    """The free (neither batch nor contracting) dims of dot_general's lhs and rhs, in order:
    the result is the batch dims, then lhs's free dims, then rhs's."""
    fl = [i for i in range(lhs_rank) if i not in attrs["batch_lhs"] and i not in attrs["contract_lhs"]]
    fr = [i for i in range(rhs_rank) if i not in attrs["batch_rhs"] and i not in attrs["contract_rhs"]]
    return fl, fr


def _dot_rule(ins, attrs, out):
    lhs, rhs = ins
    bl, br, cl, cr = (attrs[k] for k in ("batch_lhs", "batch_rhs", "contract_lhs", "contract_rhs"))
    if lhs.dtype != rhs.dtype:
        fail(f"operand dtypes {lhs.dtype} and {rhs.dtype} differ")
    if lhs.dtype.is_bool:
        fail("dot_general needs a number dtype, not i1")
    if len(bl) != len(br):
        fail(f"batch_lhs has {len(bl)} dims, batch_rhs {len(br)}")
    if len(cl) != len(cr):
        fail(f"contract_lhs has {len(cl)} dims, contract_rhs {len(cr)}")
    if set(bl) & set(cl) or set(br) & set(cr):
        fail("a dim is both batch and contracting")
    for kind, ls, rs in (("batch", bl, br), ("contracting", cl, cr)):
        for a, b in zip(ls, rs, strict=True):
            if not dim_eq(lhs.shape[a], rhs.shape[b]):
                fail(f"{kind} dims differ: lhs dim {a} is {lhs.shape[a]}, rhs dim {b} is {rhs.shape[b]}")
    if attrs["accum"] is not None and attrs["accum"].is_float != lhs.dtype.is_float:
        fail(f"accum dtype {attrs['accum']} does not suit operand dtype {lhs.dtype}")
    fl, fr = dot_free_dims(lhs.rank, rhs.rank, attrs)
    return [lhs.with_shape([lhs.shape[i] for i in bl] + [lhs.shape[i] for i in fl] + [rhs.shape[i] for i in fr])]


def _dot_ref(xs, attrs, out):
    lhs, rhs = widen(xs[0]), widen(xs[1])
    bl, br, cl, cr = (list(attrs[k]) for k in ("batch_lhs", "batch_rhs", "contract_lhs", "contract_rhs"))
    fl, fr = dot_free_dims(lhs.ndim, rhs.ndim, attrs)
    # (batch, free, contract) @ (batch, contract, free) as one batched matmul.
    a = np.transpose(lhs, bl + fl + cl)
    b = np.transpose(rhs, br + cr + fr)
    nb = int(np.prod([lhs.shape[i] for i in bl]))
    m = int(np.prod([lhs.shape[i] for i in fl]))
    k = int(np.prod([lhs.shape[i] for i in cl]))
    n = int(np.prod([rhs.shape[i] for i in fr]))
    r = np.matmul(a.reshape(nb, m, k), b.reshape(nb, k, n))
    return to_type(r.reshape(out[0].shape), out[0])


define("dot_general", ("lhs", "rhs"), _dot_rule, _dot_ref,
       attrs=(Attr("batch_lhs", "axes", default=(), rank_of=0), Attr("batch_rhs", "axes", default=(), rank_of=1),
              Attr("contract_lhs", "axes", rank_of=0), Attr("contract_rhs", "axes", rank_of=1),
              Attr("accum", "dtype", default=ABSENT, doc="accumulation dtype; the result keeps lhs's")),
       doc="Generalised matrix product: result dims are the batch dims, then lhs's free dims, then "
           "rhs's free dims.")


def conv_dims(layout: str, rank: int):
    """(batch, channel, spatial dims) of x, and (out, in, spatial dims) of w, for a layout."""
    n = rank - 2
    if layout == "nchw":
        return (0, 1, list(range(2, rank))), (0, 1, list(range(2, rank)))
    return (0, rank - 1, list(range(1, rank - 1))), (rank - 1, rank - 2, list(range(n)))


def _conv_rule(ins, attrs, out):
    x, w = ins
    if x.dtype != w.dtype:
        fail(f"operand dtypes {x.dtype} and {w.dtype} differ")
    if not x.dtype.is_float and not x.dtype.is_int:
        fail(f"conv needs a number dtype, not {x.dtype}")
    if x.rank < 3 or x.rank > 5:
        fail(f"conv takes 1-D to 3-D convolutions (rank 3 to 5), not rank {x.rank}")
    if w.rank != x.rank:
        fail(f"weight rank {w.rank} differs from input rank {x.rank}")
    n = x.rank - 2
    strides, padding, dilation, groups = attrs["strides"], attrs["padding"], attrs["dilation"], attrs["groups"]
    for name, v in (("strides", strides), ("padding", padding), ("dilation", dilation)):
        if len(v) != n:
            fail(f"'{name}' has {len(v)} entries for {n} spatial dims")
    if any(s < 1 for s in strides) or any(d < 1 for d in dilation):
        fail("strides and dilation must be >= 1")
    if groups < 1:
        fail(f"groups {groups} must be >= 1")
    (xb, xc, xs), (wo, wi, ws) = conv_dims(attrs["layout"], x.rank)
    cin, cout = x.shape[xc], w.shape[wo]
    if cin is not None and cin % groups:
        fail(f"input channels {cin} are not divisible by groups {groups}")
    if cout is not None and cout % groups:
        fail(f"output channels {cout} are not divisible by groups {groups}")
    if cin is not None and w.shape[wi] is not None and w.shape[wi] * groups != cin:
        fail(f"weight in-channels {w.shape[wi]} x groups {groups} != input channels {cin}")
    sizes = []
    for i in range(n):
        d, k = x.shape[xs[i]], w.shape[ws[i]]
        lo, hi = padding[i]
        if lo < 0 or hi < 0:
            fail(f"spatial dim {i}: padding [{lo}, {hi}] must be >= 0")
        if d is None or k is None:
            sizes.append(None)
            continue
        eff = dilation[i] * (k - 1) + 1
        if d + lo + hi < eff:
            fail(f"spatial dim {i}: kernel extent {eff} is larger than the padded input {d + lo + hi}")
        sizes.append((d + lo + hi - eff) // strides[i] + 1)
    shape = [None] * x.rank
    shape[xb], shape[xc] = x.shape[xb], cout
    for i, s in zip(xs, sizes, strict=True):
        shape[i] = s
    return [x.with_shape(shape)]


def _conv_ref(xs, attrs, out):
    x, w = widen(xs[0]), widen(xs[1])
    rank, groups = x.ndim, attrs["groups"]
    (xb, xc, xsp), (wo, wi, wsp) = conv_dims(attrs["layout"], rank)
    # Work in N, C, spatial... and O, I, spatial... then restore the layout.
    x = np.transpose(x, [xb, xc] + xsp)
    w = np.transpose(w, [wo, wi] + wsp)
    n, cin = x.shape[:2]
    cout, cin_g = w.shape[:2]
    pads = [(0, 0), (0, 0)] + [tuple(p) for p in attrs["padding"]]
    xp = np.pad(x, pads)
    out_sp = [out[0].shape[i] for i in xsp]
    strides, dil = attrs["strides"], attrs["dilation"]
    acc = np.zeros([n, cout] + out_sp, dtype=x.dtype)
    xg = xp.reshape(n, groups, cin_g, *xp.shape[2:])
    wg = w.reshape(groups, cout // groups, cin_g, *w.shape[2:])
    for offset in np.ndindex(*w.shape[2:]):
        window = tuple(slice(o * d, o * d + (m - 1) * s + 1, s)
                       for o, d, m, s in zip(offset, dil, out_sp, strides, strict=True))
        patch = xg[(slice(None),) * 3 + window]                    # n, g, cin_g, *out_sp
        kern = wg[(slice(None),) * 3 + offset]                      # g, cout_g, cin_g
        acc += np.einsum("ngc...,goc->ngo...", patch, kern).reshape(acc.shape)
    inv = np.argsort([xb, xc] + xsp)
    return to_type(np.ascontiguousarray(np.transpose(acc, inv)), out[0])


define("conv", ("x", "w"), _conv_rule, _conv_ref,
       attrs=(Attr("layout", "str", default="nchw", choices=("nchw", "nhwc")),
              Attr("strides", "ints", default=lambda ins: spatial(ins[0].rank - 2, 1)),
              Attr("padding", "int_pairs", default=lambda ins: spatial(ins[0].rank - 2, (0, 0))),
              Attr("dilation", "ints", default=lambda ins: spatial(ins[0].rank - 2, 1)),
              Attr("groups", "int", default=1)),
       doc="Convolution (1-D to 3-D) without bias; weights OIHW for nchw, HWIO for nhwc; "
           "groups = channels gives depthwise.")

"""channels-last: convolutions in NHWC, with the transposes that takes sunk and cancelled.

Programs from NCHW frameworks (torch.export, ONNX) convolve in NCHW; CPU compilers do
best with channels last (IREE's im2col and data-tiled convolutions, XLA's CPU layout).
Each NCHW `conv` becomes `transpose(conv_nhwc(transpose(x), transpose(w)))` and every
transpose back to NCHW then sinks forward through the ops that do not care where the
channels are
(elementwise ops, pooling windows, reductions, concat, pad), so that the transpose out of
one convolution meets the transpose into the next and the two cancel (canonicalize's
transpose-of-transpose rule).  What remains is a transpose where the network leaves the
spatial layout (a flatten before a classifier), one per network.  Other transposes (a
program's own, e.g. attention's head shuffles) are left where the program put them.

Every rewrite moves elements without computing on them, and `ptir.conv` means the same
in both layouts (the reference computes both in one canonical order), so the results are
the same bits.  Weight transposes depend on the weights only: fold-params does them once.
"""

from __future__ import annotations

from ..dialect.registry import OPS
from . import canonicalize
from .manager import register_pass
from .rewrite import Patterns, producer, rewrite, splat

PATTERNS = Patterns()
on = PATTERNS.on

TO_NHWC, TO_NCHW = (0, 2, 3, 1), (0, 3, 1, 2)   # 2-d convolutions; OIHW -> HWIO is (2, 3, 1, 0)


def _inverse(perm) -> tuple[int, ...]:
    out = [0] * len(perm)
    for i, p in enumerate(perm):
        out[p] = i
    return tuple(out)


def _permuted(values, perm) -> list:
    """An attribute with one entry per dim, reordered as `transpose(perm)` reorders dims."""
    return [values[p] for p in perm]


@on("conv")
def nhwc_conv(rw, op):
    x, w = op.operands
    if op.attrs["layout"] != "nchw" or x.type.rank != 4:
        return None
    a = op.attrs
    y = rw.emit("conv", rw.emit("transpose", x, perm=TO_NHWC), rw.emit("transpose", w, perm=(2, 3, 1, 0)),
                layout="nhwc", strides=a["strides"], padding=a["padding"], dilation=a["dilation"], groups=a["groups"])
    return rw.emit("transpose", y, perm=TO_NCHW)


def _sunk(rw, v, perm):
    """`v` as it is before `transpose(perm)`: the transpose's operand, a splat of the
    permuted type, or a broadcast of a smaller value permuted first; None for anything
    else (moving it would cost a transpose of its own)."""
    t = producer(v, "transpose")
    if t is not None and t.attrs["perm"] == tuple(perm):
        return t.operands[0]
    inverse = _inverse(perm)
    shape = tuple(v.type.shape[i] for i in inverse)
    s = splat(v)
    if s is not None:
        return rw.constant(s, v.type.with_shape(shape))
    b = producer(v, "broadcast_to")
    if b is not None:
        small = b.operands[0]
        full = rw.emit("reshape", small, out=small.type.with_shape(
            (1,) * (v.type.rank - small.type.rank) + tuple(small.type.shape)))
        return rw.emit("broadcast_to", rw.emit("transpose", full, perm=inverse), out=v.type.with_shape(shape))
    return None


@on(*(name for name, opdef in OPS.items() if "elementwise" in opdef.traits))   # the registry says which
def sink_through_elementwise(rw, op):
    perms = {producer(v, "transpose").attrs["perm"] for v in op.operands if producer(v, "transpose") is not None}
    if perms != {TO_NCHW}:
        return None
    perm = TO_NCHW
    inner = [_sunk(rw, v, perm) for v in op.operands]
    if any(v is None for v in inner):
        return None
    out = op.result.type.with_shape(tuple(op.result.type.shape[i] for i in _inverse(perm)))
    y = rw.emit(op.name, *inner, out=out if op.opdef.result_given else None, **op.attrs)
    return rw.emit("transpose", y, perm=perm)


def _out_of_nhwc(v):
    """The transpose back to NCHW that a rewritten convolution made, if it produced `v`
    (only those sink: moving transposes a program wrote itself could cost)."""
    t = producer(v, "transpose")
    return t if t is not None and t.attrs["perm"] == TO_NCHW else None


# Ops whose attributes hold one entry per dim: the entries move with the dims.
PER_DIM = {"reduce_window": ("window", "strides", "padding"), "pad": ("low", "high", "interior")}


@on(*PER_DIM)
def sink_through_per_dim_attrs(rw, op):
    t = _out_of_nhwc(op.operands[0])
    if t is None:
        return None
    inverse = _inverse(TO_NCHW)
    attrs = {k: _permuted(v, inverse) if k in PER_DIM[op.name] else v for k, v in op.attrs.items()}
    return rw.emit("transpose", rw.emit(op.name, t.operands[0], **attrs), perm=TO_NCHW)


@on("reduce")
def sink_through_reduce(rw, op):
    t = _out_of_nhwc(op.operands[0])
    if t is None:
        return None
    perm, a = t.attrs["perm"], op.attrs
    axes = sorted(perm[i] for i in a["axes"])
    y = rw.emit("reduce", t.operands[0], kind=a["kind"], axes=axes, keepdims=a["keepdims"], accum=a["accum"])
    if a["keepdims"]:
        return rw.emit("transpose", y, perm=perm)
    kept = [p for i, p in enumerate(perm) if i not in a["axes"]]            # y's dims, in op's result order
    order = [sorted(kept).index(p) for p in kept]
    return y if order == sorted(order) else rw.emit("transpose", y, perm=order)


@on("concat")
def sink_through_concat(rw, op):
    ts = [_out_of_nhwc(v) for v in op.operands]
    if any(t is None for t in ts):
        return None
    perm = ts[0].attrs["perm"]
    y = rw.emit("concat", *(t.operands[0] for t in ts), axis=perm[op.attrs["axis"]])
    return rw.emit("transpose", y, perm=perm)


on("transpose")(canonicalize.transpose)   # a transpose meeting its inverse cancels


@register_pass("channels-last", "2-d NCHW convolutions in NHWC, their transposes sunk and cancelled")
def channels_last(program):
    return rewrite(program, PATTERNS)

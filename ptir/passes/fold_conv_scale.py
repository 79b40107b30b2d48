"""fold-conv-scale: a per-output-channel scale after a convolution moves into its weights.

    conv(x, w) * broadcast(s)   ->   conv(x, w * s')      (s' = s laid along w's O dim)

when `s` depends only on weights and constants, so that fold-params then computes
`w * s'` once: batch norm after a bias-free convolution becomes one convolution plus a
bias.  It reassociates (each product w[o,i,..] * x is scaled before the sum instead of
after it), so results move in the last bits: the pass is declared `reassociates` and is
not in the default pipeline; ask for it with `passes=` / `ptirc opt --passes`.
"""

from __future__ import annotations

from ..dialect.ops.linalg import conv_dims
from .manager import register_pass
from .rewrite import Patterns, producer, rewrite

PATTERNS = Patterns()


def weight_only(rw, v) -> bool:
    """Whether `v` is computed from ptir.param arguments and constants alone."""
    memo = rw.state.setdefault("weight_only", {})
    if id(v) not in memo:
        if v.owner is None:
            memo[id(v)] = any(a.value is v and a.param is not None for a in rw.fn.args)
        else:
            memo[id(v)] = all(weight_only(rw, o) for o in v.owner.operands)
    return memo[id(v)]


def channel_scale(op, conv, scale):
    """The 1-D per-channel vector behind `scale` (broadcast_to of a tensor that is 1 in every
    dim of the conv's result but the channel dim), or None."""
    b = producer(scale, "broadcast_to")
    if b is None:
        return None
    s = b.operands[0]
    out = conv.result.type
    channel = conv_dims(conv.attrs["layout"], out.rank)[0][1]
    aligned = (1,) * (out.rank - s.type.rank) + tuple(s.type.shape)
    if any(d != 1 for i, d in enumerate(aligned) if i != channel) or aligned[channel] != out.shape[channel]:
        return None
    return s


@PATTERNS.on("mul")
def scale_into_weights(rw, op):
    for y, scale in (op.operands, op.operands[::-1]):
        conv = producer(y, "conv")
        if conv is None or not op.result.type.dtype.is_float:
            continue
        s = channel_scale(op, conv, scale)
        x, w = conv.operands
        if s is None or not weight_only(rw, s) or not weight_only(rw, w):
            continue
        o_dim = conv_dims(conv.attrs["layout"], w.type.rank)[1][0]
        shape = [1] * w.type.rank
        shape[o_dim] = w.type.shape[o_dim]
        laid = rw.emit("reshape", s, out=w.type.with_shape(shape))
        scaled = rw.emit("mul", w, rw.emit("broadcast_to", laid, out=w.type))
        return rw.emit("conv", x, scaled, **conv.attrs)
    return None


@register_pass("fold-conv-scale", "move a per-channel scale after a conv into its weights (batch norm)",
               reassociates=True)
def fold_conv_scale(program):
    return rewrite(program, PATTERNS)

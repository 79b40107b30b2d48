"""Lowerings of the contractions (ptir/dialect/ops/linalg.py)."""

from __future__ import annotations

import numpy as np

from ..dialect.ops.linalg import conv_dims
from .emitter import Emitter, V, dims, i64, i64s, pairs
from .table import lowering


@lowering("dot_general")
def _dot_general(em: Emitter, op, lhs: V, rhs: V) -> V:
    a, out = op.attrs, op.results[0].type
    accum = a["accum"] or lhs.dtype   # multiply and accumulate in `accum`, give back lhs's dtype
    numbers = (f"#stablehlo.dot<lhs_batching_dimensions = {dims(a['batch_lhs'])}, "
               f"rhs_batching_dimensions = {dims(a['batch_rhs'])}, "
               f"lhs_contracting_dimensions = {dims(a['contract_lhs'])}, "
               f"rhs_contracting_dimensions = {dims(a['contract_rhs'])}>")
    r = em.hlo("dot_general", em.convert(lhs, accum), em.convert(rhs, accum), result=out.with_dtype(accum),
               dot_dimension_numbers=numbers)
    return em.convert(r, out.dtype)


def _conv_numbers(layout: str, rank: int) -> str:
    """`#stablehlo.conv<[b, f, 0, 1]x[o, i, 0, 1]->[b, f, 0, 1]>` for PTIR's layouts."""
    (xb, xc, xs), (wo, wi, ws) = conv_dims(layout, rank)
    x, w = [""] * rank, [""] * rank
    x[xb], x[xc], w[wo], w[wi] = "b", "f", "o", "i"
    for k, (i, j) in enumerate(zip(xs, ws, strict=True)):
        x[i], w[j] = str(k), str(k)
    xt, wt = ", ".join(x), ", ".join(w)
    return f"#stablehlo.conv<[{xt}]x[{wt}]->[{xt}]>"


def is_splat(v) -> bool:
    """Whether the PTIR value `v` (of more than one element) holds one value repeated: a
    one-element constant or tensor, through reshapes, transposes, casts and broadcasts."""
    n = v.type.num_elements
    while v.owner is not None and v.owner.name in ("reshape", "transpose", "cast", "broadcast_to"):
        v = v.owner.operands[0]
    one = v.type.num_elements == 1 or (v.owner is not None and v.owner.name == "constant"
                                       and np.size(v.owner.attrs["value"]) == 1)
    return n > 1 and one


@lowering("conv")
def _conv(em: Emitter, op, x: V, w: V) -> V:
    a = op.attrs
    if is_splat(op.operands[1]):
        # XLA's CPU compiler (jax 0.10.2) computes a convolution whose kernel is a splat
        # (a broadcast scalar: the ONNX light model zoo's ConstantOfShape weights) as NaN or
        # garbage, depending on the shapes; the barrier keeps it from seeing the splat.
        w = em.op("stablehlo.optimization_barrier", [w], w.type)
    return em.hlo("convolution", x, w, result=op.results[0].type,
                  dimension_numbers=_conv_numbers(a["layout"], x.rank), window_strides=i64s(a["strides"]),
                  padding=pairs(a["padding"]), rhs_dilation=i64s(a["dilation"]),
                  feature_group_count=i64(a["groups"]), batch_group_count=i64(1))

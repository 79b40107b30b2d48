"""sink-dequant-scale: a weight's per-channel dequantization scale moves after the product.

    dot_general(x, cast(q) * broadcast(s))   ->   dot_general(x, cast(q)) * broadcast(s')
    take(cast(q) * broadcast(s), i)          ->   cast(take(q, i)) * broadcast(s taken at i)
    dot_general(x, cast(q_int)), N ragged    ->   concat(dot over N's first 64k, dot over the rest)

when `q` is stored narrower than the product (int8, bf16, f16 weights widened to f32)
and `s` varies only along free (neither contracting nor batch) dims of that operand, so
it is constant within each sum: s' lays it along the result dims those free dims become.
The product then reads the narrow weight through a bare widening, which IREE fuses into
the matrix-vector code as it does bf16 -> f32 (measured: an int8 GPT-2 MLP chain twice as
fast as with the scale on the weight, which IREE dequantized to f32 on every call).  It
reassociates (each sum is scaled once instead of each product), so it is declared
`reassociates` and is not in the default pipeline: `ptir.nn.quantize_weights` users and
`--weights-dtype int8` ask for it.  The same reassociation IREE offers as
`--iree-global-opt-enable-quantized-matmul-reassociation`, here in PTIR so every target
gets it.
"""

from __future__ import annotations

from ..dialect.ops.linalg import dot_free_dims
from .manager import register_pass
from .rewrite import Patterns, producer, rewrite

PATTERNS = Patterns()


def dequantization(v):
    """(widened q, s) if v = cast(q) * broadcast_to(s) with q narrower than v, else None."""
    mul = producer(v, "mul")
    if mul is None or not v.type.dtype.is_float:
        return None
    for widened, scale in (mul.operands, mul.operands[::-1]):
        cast, b = producer(widened, "cast"), producer(scale, "broadcast_to")
        if cast is not None and b is not None and cast.operands[0].type.dtype.bits < v.type.dtype.bits:
            return widened, b.operands[0]
    return None


def varying_dims(s, rank: int) -> list[int]:
    """The dims of a rank-`rank` broadcast of `s` (numpy's right-aligned rule) along which
    it varies: where s's own size is not 1."""
    lead = rank - s.type.rank
    return [lead + i for i, d in enumerate(s.type.shape) if d != 1]


def reshaped(rw, v, shape):
    """v reshaped to `shape` (v itself when it has that shape already)."""
    shape = tuple(shape)
    return v if v.type.shape == shape else rw.emit("reshape", v, out=v.type.with_shape(shape))


def free_dims(op, side: int) -> tuple[list[int], int]:
    """The free dims of dot_general `op`'s operand `side` (0 lhs, 1 rhs), in order, and
    where the first of them lands in the result (batch dims, lhs free, rhs free)."""
    fl, fr = dot_free_dims(op.operands[0].type.rank, op.operands[1].type.rank, op.attrs)
    return (fl, fr)[side], len(op.attrs["batch_lhs"]) + (0 if side == 0 else len(fl))


@PATTERNS.on("dot_general")
def scale_after_product(rw, op):
    for side, operand in enumerate(op.operands):
        found = dequantization(operand)
        if found is None or any(d is None for d in op.result.type.shape):
            continue
        widened, s = found
        free, first = free_dims(op, side)
        vary = varying_dims(s, operand.type.rank)
        if not set(vary) <= set(free):
            continue
        out = op.result.type
        shape = [1] * out.rank
        for d in vary:
            shape[first + free.index(d)] = operand.type.shape[d]
        operands = [widened if i == side else v for i, v in enumerate(op.operands)]
        product = rw.emit("dot_general", *operands, **op.attrs)
        return rw.emit("mul", product, rw.emit("broadcast_to", reshaped(rw, s, shape), out=out))
    return None


@PATTERNS.on("take")
def dequantize_taken_rows(rw, op):
    """take(cast(q) * broadcast(s), i) -> cast(take(q, i)) * broadcast(s taken alike): an
    embedding lookup reads the narrow rows it needs instead of dequantizing the whole
    table (exact: the same product per element)."""
    found = dequantization(op.operands[0])
    if found is None or any(d is None for d in op.result.type.shape):
        return None
    (widened, s), idx, axis = found, op.operands[1], op.attrs["axis"]
    aligned = (1,) * (widened.type.rank - s.type.rank) + tuple(s.type.shape)
    if aligned[axis] == 1:   # constant along the rows taken: lay it along the result
        s = reshaped(rw, s, aligned[:axis] + (1,) * idx.type.rank + aligned[axis + 1:])
    else:
        s = rw.emit("take", reshaped(rw, s, aligned), idx, axis=axis)
    rows = rw.emit("take", widened.owner.operands[0], idx, axis=axis)
    out = op.result.type
    return rw.emit("mul", rw.emit("cast", rows, out=rows.type.with_dtype(out.dtype)),
                   rw.emit("broadcast_to", s, out=out))


# A narrow weight's free dim longer than this, and not a multiple of TILE, is split in two.
RAGGED_MIN, TILE = 4096, 64


@PATTERNS.on("dot_general")
def split_ragged_product(rw, op):
    """dot(x, cast(q)) with an integer q whose one free dim N is long and not a multiple of
    64 -> the product over the first floor(N / 64) * 64 and over the rest, concatenated
    (exact: the same sums).  IREE 3.13 picks its vector tile among the divisors of N, so an
    i8 product over GPT-2's 50257 vocabulary (29 x 1733) ran 3.7x slower than split
    (one worker, AVX-512 EPYC: 41 -> 11 ms); f32 and bf16 are tiled through data tiling's
    padded layouts and do not need it."""
    for side, operand in enumerate(op.operands):
        cast = producer(operand, "cast")
        if cast is None or not cast.operands[0].type.dtype.is_int:
            continue
        q = cast.operands[0]
        free, out_axis = free_dims(op, side)
        if len(free) != 1 or q.type.shape[free[0]] is None:
            continue
        d, n = free[0], q.type.shape[free[0]]
        if n <= RAGGED_MIN or n % TILE == 0:
            continue
        cut = n // TILE * TILE
        parts = []
        for lo, hi in ((0, cut), (cut, n)):
            start = [0] * q.type.rank
            limit = list(q.type.shape)
            start[d], limit[d] = lo, hi
            piece = rw.emit("slice", q, start=start, limit=limit)
            wide = rw.emit("cast", piece, out=piece.type.with_dtype(cast.result.type.dtype))
            operands = [wide if i == side else v for i, v in enumerate(op.operands)]
            parts.append(rw.emit("dot_general", *operands, **op.attrs))
        return rw.emit("concat", *parts, axis=out_axis)
    return None


@register_pass("sink-dequant-scale", "apply a narrow weight's per-channel dequantization scale to the "
               "product's result instead of the weight", reassociates=True)
def sink_dequant_scale(program):
    return rewrite(program, PATTERNS)

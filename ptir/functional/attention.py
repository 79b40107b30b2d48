"""Attention: scaled_dot_product_attention, KV-cache attention for prefill and decode,
and GPT-NeoX rotary embeddings."""

from __future__ import annotations

import math

import numpy as np

from ..dialect import dtypes as dt
from ..errors import TypeRuleError
from .core import as_tensor, broadcast_shapes, broadcast_to, cast, constant, iota, reduce, reshape
from .elementwise import cos, sin, where
from .normalization import softmax
from .shape import cat
from .tensor import Tensor
from .tracer import fail


def _repeat_heads(t: Tensor, groups: int) -> Tensor:
    """(..., H, S, E) -> (..., H * groups, S, E), each head repeated `groups` times in place
    (torch's repeat_interleave on dim -3: query head h reads kv head h // groups)."""
    if groups == 1:
        return t
    *lead, h, s, e = t.shape
    t = broadcast_to(reshape(t, (*lead, h, 1, s, e)), (*lead, h, groups, s, e))
    return reshape(t, (*lead, h * groups, s, e))


def _check_qkv(q: Tensor, k: Tensor, v: Tensor, enable_gqa: bool, op: str) -> tuple[Tensor, Tensor, Tensor]:
    """Validate shapes and dtypes; give q, k and v with one batch shape: with enable_gqa,
    k's and v's heads (dim -3) repeated to match q's (GQA/MQA), then the dims before the
    last two broadcast together, as torch's matmuls do (a 3-D query against 4-D keys)."""
    if min(q.ndim, k.ndim, v.ndim) < 2:
        fail(op, f"query, key and value must have rank >= 2, got shapes {q.shape}, {k.shape}, {v.shape}")
    if not q.dtype.is_float or k.dtype != q.dtype or v.dtype != q.dtype:
        fail(op, f"query, key and value must share a float dtype, got {q.dtype}, {k.dtype}, {v.dtype}")
    if k.shape[-1] != q.shape[-1]:
        fail(op, f"query embedding dim {q.shape[-1]} does not match key embedding dim {k.shape[-1]}")
    if k.shape[-2] != v.shape[-2]:
        fail(op, f"key length {k.shape[-2]} does not match value length {v.shape[-2]}")
    hq = q.shape[-3] if q.ndim >= 3 else None
    if enable_gqa and hq is not None and k.ndim >= 3 and v.ndim >= 3:
        for name, t in (("key", k), ("value", v)):
            if hq % t.shape[-3]:
                fail(op, f"query heads {hq} are not a multiple of {name} heads {t.shape[-3]}")
        k, v = _repeat_heads(k, hq // k.shape[-3]), _repeat_heads(v, hq // v.shape[-3])
    heads = {t.shape[-3] for t in (q, k, v) if t.ndim >= 3} - {1}
    if len(heads) > 1:
        hk = k.shape[-3] if k.ndim >= 3 else v.shape[-3]
        hint = " (a multiple needs enable_gqa=True)" if not enable_gqa and hq and hq % hk == 0 else ""
        fail(op, f"query heads {hq} do not match key/value heads {hk}{hint}")
    try:
        batch = broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2], op=op)
    except TypeRuleError:
        fail(op, f"query batch dims {q.shape[:-2]} do not broadcast with key batch dims {k.shape[:-2]} and value "
                 f"batch dims {v.shape[:-2]}")
    return tuple(broadcast_to(reshape(t, (1,) * (len(batch) + 2 - t.ndim) + t.shape), batch + t.shape[-2:])
                 for t in (q, k, v))


def _causal_mask(q_len: int, kv_len: int, offset, tracer) -> Tensor:
    """i1 (q_len, kv_len): key j is visible to query i when j <= i + offset."""
    rows = iota((q_len, kv_len), 0, tracer=tracer)
    cols = iota((q_len, kv_len), 1, tracer=tracer)
    return cols <= rows + offset


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p: float = 0.0,
                                 is_causal: bool = False, scale=None, enable_gqa: bool = False) -> Tensor:
    """softmax(q k^T * scale + mask) v over (..., L, E) queries and (..., S, E) keys.

    A bool mask keeps True positions (others get -inf); a float mask is added. is_causal
    is top-left aligned, as in torch.  With enable_gqa, fewer kv heads serve groups of
    query heads.  scale defaults to 1/sqrt(E) (Vaswani et al. 2017).  A query whose every
    key the mask hides (all False, or all -inf) gets an output row of 0, not the NaN of
    0/0, as torch gives (its _safe_softmax; docs/semantics.md).

    The dims before the last two broadcast together, as in torch's matmuls: a query of
    rank 3 against keys of rank 4, one kv head for many query heads.  query, key, value
    share one float dtype, kept (f16 and bf16 are computed in f32, as torch does); value
    (..., S, Ev) gives (..., L, Ev), ... the broadcast batch dims.  TypeRuleError for ranks
    below 2, batch dims that do not broadcast, query heads not a multiple of the kv heads
    with enable_gqa, mismatched dims or dtypes, a mask that does not broadcast to (..., L,
    S), both attn_mask and is_causal, or dropout_p != 0."""
    return _attend(query, key, value, attn_mask, dropout_p, is_causal, scale, enable_gqa, masked_rows=True)


def _attend(query, key, value, attn_mask, dropout_p, is_causal, scale, enable_gqa, masked_rows: bool) -> Tensor:
    """scaled_dot_product_attention; `masked_rows=False` when the caller knows every query
    sees a key (a causal mask), which spares the check for rows the mask hides entirely."""
    q, k, v = (as_tensor(t, op="scaled_dot_product_attention") for t in (query, key, value))
    op = "scaled_dot_product_attention"
    if dropout_p:
        fail(op, "dropout_p must be 0 (inference only)")
    if is_causal and attn_mask is not None:
        fail(op, "give either attn_mask or is_causal, not both")
    q, k, v = _check_qkv(q, k, v, enable_gqa, op)
    dtype = q.dtype
    if dtype in (dt.f16, dt.bf16):   # computed in f32 and rounded once, as torch's math kernel does
        q, k, v = (cast(t, dt.f32) for t in (q, k, v))
    r = q.ndim
    batch = list(range(r - 2))
    scores = q.tracer.op("dot_general", q, k, batch_lhs=batch, batch_rhs=batch, contract_lhs=[r - 1],
                         contract_rhs=[r - 1])
    scores = scores * (1.0 / math.sqrt(q.shape[-1]) if scale is None else scale)
    if is_causal:
        attn_mask, masked_rows = _causal_mask(q.shape[-2], k.shape[-2], 0, q.tracer), False   # key 0 is seen
    sees = None   # i1 (..., L, 1): whether each query sees a key, where the mask may hide them all
    if attn_mask is not None:
        mask = as_tensor(attn_mask, op=op)
        if broadcast_shapes(mask.shape, scores.shape, op=op) != scores.shape:
            fail(op, f"attn_mask shape {mask.shape} does not broadcast to the scores' shape {scores.shape}")
        if mask.dtype.is_bool:
            scores = where(mask, scores, -math.inf)
        elif mask.dtype == dtype:
            scores = scores + cast(mask, scores.dtype)
        else:
            fail(op, f"attn_mask dtype {mask.dtype} is neither i1 nor the query dtype {dtype}")
        if masked_rows:
            sees = reduce(mask if mask.dtype.is_bool else mask != -math.inf, "max", -1, keepdims=True, op=op)
    out = q.tracer.op("dot_general", softmax(scores, -1), v, batch_lhs=batch, batch_rhs=batch,
                      contract_lhs=[r - 1], contract_rhs=[r - 2])
    # Selected after the product, the softmax left as it is: IREE 3.13 (data tiling) miscompiled
    # a batch matmul whose weights came from anything but the plain softmax pattern.
    return cast(out if sees is None else where(sees, out, 0.0), dtype)


def _position(pos, tracer) -> Tensor:
    """The cache position as an index scalar tensor (shape ())."""
    p = as_tensor(pos, dt.i32 if isinstance(pos, int) else None, tracer, "attention")
    if not p.dtype.is_int or p.type.num_elements != 1:
        fail("attention", f"pos must be an integer scalar or 1-element tensor, got {p.type}")
    return reshape(cast(p, dt.i32) if p.dtype not in dt.INDEX else p, ())


def update_cache(cache, new, pos, axis: int = -2) -> Tensor:
    """`cache` with `new` written at position `pos` along `axis` (dynamic_update_slice).

    cache and new share rank, dtype and every dim but `axis`; pos is an integer scalar (or
    1-element tensor).  A write past the end is clamped back inside, as StableHLO does.
    TypeRuleError for mismatched shapes or dtypes, or more new entries than the capacity."""
    c, n = as_tensor(cache, op="update_cache"), as_tensor(new, op="update_cache")
    axis %= c.ndim
    if n.ndim != c.ndim or any(a != b for d, (a, b) in enumerate(zip(n.shape, c.shape, strict=True)) if d != axis):
        fail("update_cache", f"new entries of shape {n.shape} do not fit the cache of shape {c.shape} "
                             f"(dim {axis} aside)")
    if n.shape[axis] > c.shape[axis]:
        fail("update_cache", f"{n.shape[axis]} new positions exceed the cache capacity {c.shape[axis]}")
    if n.dtype != c.dtype:
        fail("update_cache", f"new entries dtype {n.dtype} does not match cache dtype {c.dtype}")
    p = _position(pos, c.tracer)
    zero = constant(0, p.dtype, (1,), c.tracer)
    start = cat([zero] * axis + [reshape(p, (1,))] + [zero] * (c.ndim - 1 - axis))
    return c.tracer.op("dynamic_update_slice", c, n, start)


def attention(query, key, value, k_cache, v_cache, pos, scale=None) -> tuple[Tensor, Tensor, Tensor]:
    """Causal attention with a fixed-capacity KV cache, for prefill and decode alike.

    query (B, Hq, T, D) and key/value (B, Hkv, T, D) are the T new tokens at positions
    pos .. pos+T-1; the caches are (B, Hkv, capacity, D) and pos is an integer scalar
    tensor (or int).  The new keys and values are written into the caches at `pos`, and
    each query attends to the cache positions up to its own, so positions beyond the
    filled length are masked.  Returns (output, new_k_cache, new_v_cache).  pos + T must
    not exceed the capacity (dynamic_update_slice would clamp the write).  All share one
    float dtype.  TypeRuleError for inputs that are not 4-D, and as `update_cache` and
    `scaled_dot_product_attention`."""
    q = as_tensor(query, op="attention")
    kc, vc = update_cache(k_cache, key, pos), update_cache(v_cache, value, pos)
    if q.ndim != 4 or kc.ndim != 4:
        fail("attention", f"query and caches must be 4-D (B, H, T, D), got shapes {q.shape} and {kc.shape}")
    mask = _causal_mask(q.shape[2], kc.shape[2], _position(pos, q.tracer), q.tracer)   # key 0 is always seen
    out = _attend(q, kc, vc, mask, 0.0, False, scale, True, masked_rows=False)
    return out, kc, vc


def rotary_cos_sin(seq_len: int, dim: int, base: float = 10000.0, offset=0, dtype="f32") -> tuple[Tensor, Tensor]:
    """cos and sin tables (seq_len, dim) for positions offset .. offset+seq_len-1, frequencies
    base^(-2i/dim) repeated for both halves (GPT-NeoX / HF layout). `offset` may be a tensor.

    Rotary position embedding of RoFormer (Su et al. 2021); angles in radians, tables in
    `dtype` (default f32).  TypeRuleError for an odd dim."""
    if dim % 2:
        fail("rotary_cos_sin", f"dim {dim} must be even")
    inv_freq = 1.0 / base ** (np.arange(0, dim, 2, dtype=np.float64) / dim)
    positions = iota((seq_len, 1), 0, dtype)
    if not (isinstance(offset, int) and offset == 0):
        positions = positions + cast(reshape(as_tensor(offset, op="rotary_cos_sin"), (1, 1)), positions.dtype)
    freqs = positions * constant(np.concatenate([inv_freq, inv_freq])[None, :], dtype, tracer=positions.tracer)
    return cos(freqs), sin(freqs)


def rotary_embedding(x, cos, sin) -> Tensor:
    """GPT-NeoX rotary embedding: x * cos + rotate_half(x) * sin on the first cos.shape[-1]
    features of x (..., T, D), where rotate_half(a, b) = (-b, a); the remaining features pass
    through (partial rotary).  cos and sin broadcast against (..., T, rot).

    x: a float dtype, kept; cos and sin must share x's dtype and one shape.  TypeRuleError
    for an odd rotary dim, one wider than x's features, or mismatched shapes or dtypes."""
    x, c, s = (as_tensor(t, op="rotary_embedding") for t in (x, cos, sin))
    rot = c.shape[-1]
    if c.shape != s.shape:
        fail("rotary_embedding", f"cos shape {c.shape} and sin shape {s.shape} differ")
    if rot % 2 or rot > x.shape[-1]:
        fail("rotary_embedding", f"rotary dim {rot} must be even and at most the feature dim {x.shape[-1]}")
    if c.dtype != x.dtype:
        fail("rotary_embedding", f"cos/sin dtype {c.dtype} does not match input dtype {x.dtype}")
    xr = x[..., :rot]
    rotated = cat([-xr[..., rot // 2:], xr[..., :rot // 2]], -1)
    out = xr * c + rotated * s
    return out if rot == x.shape[-1] else cat([out, x[..., rot:]], -1)

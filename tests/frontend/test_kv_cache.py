"""KV-cache attention: a prefill then single-token decode steps equal full-context attention."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import ptir
import ptir.functional as F
import ptir.nn as nn

from ._util import close, randn, t

CAPACITY = 12


@pytest.mark.parametrize("batch,heads,kv_heads", [(1, 2, 2), (2, 4, 2), (1, 4, 1)])
def test_prefill_then_decode_equals_full_attention(batch, heads, kv_heads, target, rng):
    d, prefill, steps = 8, 5, 4
    total = prefill + steps
    q = randn(rng, batch, heads, total, d)
    k, v = randn(rng, batch, kv_heads, total, d), randn(rng, batch, kv_heads, total, d)
    cache = np.zeros((batch, kv_heads, CAPACITY, d), np.float32)
    pos = np.array(0, np.int32)

    def step(n):
        return ptir.compile(F.attention, q[:, :, :n], k[:, :, :n], v[:, :, :n], cache, cache, pos, target=target)

    with torch.no_grad():
        want = TF.scaled_dot_product_attention(t(q), t(k), t(v), is_causal=True, enable_gqa=True)
    out, kc, vc = step(prefill)(q[:, :, :prefill], k[:, :, :prefill], v[:, :, :prefill], cache, cache, pos)
    close(out, want[:, :, :prefill], 1e-4, 1e-5)
    decode = step(1)
    for i in range(prefill, total):
        # stale garbage beyond the filled length must not matter: it is masked
        kc[:, :, i + 1:], vc[:, :, i + 1:] = 1e3, -1e3
        out, kc, vc = decode(q[:, :, i:i + 1], k[:, :, i:i + 1], v[:, :, i:i + 1], kc, vc, np.array(i, np.int32))
        close(out, want[:, :, i:i + 1], 1e-4, 1e-5)
    np.testing.assert_array_equal(kc[:, :, :total], k)
    np.testing.assert_array_equal(vc[:, :, :total], v)


def test_decode_capture_uses_dynamic_update_slice_at_a_tensor_position():
    prog = ptir.trace(F.update_cache, ptir.spec((1, 2, 8, 4)), ptir.spec((1, 2, 1, 4)), ptir.spec((), "i32"))
    ops = prog.entry().ops
    assert [op.name for op in ops][-2:] == ["concat", "dynamic_update_slice"]
    assert ops[-1].operands[2] is ops[-2].results[0]


def test_pos_as_i64_and_one_element(target, rng):
    q, k, v = randn(rng, 1, 1, 1, 4), randn(rng, 1, 1, 1, 4), randn(rng, 1, 1, 1, 4)
    cache = randn(rng, 1, 1, 4, 4)
    pos = np.array([2], np.int64)
    out, kc, _ = ptir.compile(F.attention, q, k, v, cache, cache, pos, target=target)(q, k, v, cache, cache, pos)
    np.testing.assert_array_equal(kc[0, 0, 2], k[0, 0, 0])
    keys, values = kc[:, :, :3], np.concatenate([cache[:, :, :2], v], 2)
    with torch.no_grad():
        close(out, TF.scaled_dot_product_attention(t(q), t(keys), t(values)), 1e-4, 1e-5)


@pytest.mark.parametrize("rot", [None, 4])
def test_causal_self_attention_with_cache(rot, target, rng):
    nn.manual_seed(1)
    dim, heads, kv, prefill, steps = 16, 4, 2, 3, 3
    layer = nn.CausalSelfAttention(dim, heads, kv, rotary_dim=rot)
    x = randn(rng, 2, prefill + steps, dim)
    full = layer.compile(x, target=target)(x)
    cache = np.zeros((2, kv, 8, dim // heads), np.float32)
    pos = np.array(0, np.int32)

    def compiled(n):   # a bound method of a module binds the module's weights by name too
        return ptir.compile(layer.forward, x[:, :n], cache, cache, pos, target=target)

    assert "q_proj.weight" in ptir.trace(layer.forward, x[:, :1], cache, cache, pos).entry().params
    y, kc, vc = compiled(prefill)(x[:, :prefill], cache, cache, pos)
    close(y, full[:, :prefill], 1e-4, 1e-5)
    decode = compiled(1)
    for i in range(prefill, prefill + steps):
        y, kc, vc = decode(x[:, i:i + 1], kc, vc, np.array(i, np.int32))
        close(y, full[:, i:i + 1], 1e-4, 1e-5)

"""Cases for every ptir.functional op against torch.nn.functional (same names and
arguments), including extreme inputs and each function's documented errors."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as TF

import ptir.functional as F

from .case import Case, booleans, fixed, integers, normal, uniform


def fn_case(name, covers, ptir, torch_fn, inputs, dtype="f32"):
    return Case(name, f"F.{covers}", ptir, torch_fn, inputs, dtype, group="functional")


def error_case(name, covers, ptir, inputs, message):
    return Case(name, f"F.{covers}", ptir, None, inputs, error=message, group="functional")


def _activations():
    acts = {"relu": (F.relu, TF.relu), "relu6": (F.relu6, TF.relu6), "silu": (F.silu, TF.silu),
            "sigmoid": (F.sigmoid, torch.sigmoid), "tanh": (F.tanh, torch.tanh),
            "gelu": (F.gelu, TF.gelu),
            "gelu_tanh": (lambda x: F.gelu(x, approximate="tanh"), lambda x: TF.gelu(x, approximate="tanh"))}
    for name, (pf, tf) in acts.items():
        covers = name.split("_")[0]
        yield fn_case(f"{name}_f32", covers, pf, tf, [normal((4, 37), scale=3.0)])
        yield fn_case(f"{name}_large_f32", covers, pf, tf, [normal((2, 64), scale=40.0)])
        yield fn_case(f"{name}_f16", covers, pf, tf, [normal((3, 16), "f16", 2.0)], "f16")
    yield fn_case("clamp_f32", "clamp", lambda x: F.clamp(x, -0.5, 0.7), lambda x: torch.clamp(x, -0.5, 0.7),
                  [normal((5, 6))])
    yield fn_case("clamp_min_only_f32", "clamp", lambda x: F.clamp(x, min=0.1), lambda x: torch.clamp(x, min=0.1),
                  [normal((5, 6))])
    yield fn_case("where_broadcast_f32", "where", F.where, torch.where,
                  [booleans((3, 1)), normal((3, 4)), normal((1, 4))])
    yield fn_case("dropout_inference_f32", "dropout", lambda x: F.dropout(x, 0.5, training=False),
                  lambda x: TF.dropout(x, 0.5, training=False), [normal((4, 4))])


def _linalg():
    yield fn_case("linear_f32", "linear", F.linear, TF.linear, [normal((3, 16)), normal((8, 16)), normal((8,))])
    yield fn_case("linear_batch1_no_bias_f32", "linear", F.linear, TF.linear, [normal((1, 5, 31)), normal((7, 31))])
    yield fn_case("linear_wide_f32", "linear", F.linear, TF.linear,
                  [normal((2, 768), scale=0.5), normal((257, 768), scale=0.05), normal((257,))])
    yield fn_case("matmul_broadcast_f32", "matmul", F.matmul, torch.matmul, [normal((2, 1, 4, 6)), normal((3, 6, 5))])
    yield fn_case("matmul_vector_f32", "matmul", F.matmul, torch.matmul, [normal((6,)), normal((6, 3))])
    yield fn_case("bmm_f32", "bmm", F.bmm, torch.bmm, [normal((4, 3, 9)), normal((4, 9, 2))])
    yield error_case("linear_bad_features", "linear", F.linear, [normal((3, 7)), normal((8, 16))],
                     "linear: input features 7 do not match weight in_features 16")
    yield error_case("bmm_bad_rank", "bmm", F.bmm, [normal((3, 4)), normal((4, 2))], "bmm")


def _normalization():
    yield fn_case("softmax_f32", "softmax", lambda x: F.softmax(x, dim=-1), lambda x: TF.softmax(x, dim=-1),
                  [normal((4, 33))])
    yield fn_case("softmax_large_logits_f32", "softmax", lambda x: F.softmax(x, dim=1),
                  lambda x: TF.softmax(x, dim=1), [normal((3, 50), scale=1000.0)])
    yield fn_case("softmax_dim0_f16", "softmax", lambda x: F.softmax(x, dim=0), lambda x: TF.softmax(x, dim=0),
                  [normal((7, 3), "f16")], "f16")
    yield fn_case("log_softmax_f32", "log_softmax", lambda x: F.log_softmax(x, dim=-1),
                  lambda x: TF.log_softmax(x, dim=-1), [normal((4, 19), scale=30.0)])
    yield fn_case("layer_norm_f32", "layer_norm", lambda x, w, b: F.layer_norm(x, (64,), w, b),
                  lambda x, w, b: TF.layer_norm(x, (64,), w, b), [normal((2, 5, 64), shift=3.0), normal((64,)),
                                                                  normal((64,))])
    yield fn_case("layer_norm_no_affine_f32", "layer_norm", lambda x: F.layer_norm(x, (3, 8)),
                  lambda x: TF.layer_norm(x, (3, 8)), [normal((2, 3, 8))])
    yield fn_case("rms_norm_f32", "rms_norm", lambda x, w: F.rms_norm(x, (32,), w, eps=1e-6),
                  lambda x, w: TF.rms_norm(x, (32,), w, eps=1e-6), [normal((3, 32)), normal((32,))])
    yield fn_case("batch_norm_f32", "batch_norm",
                  lambda x, m, v, w, b: F.batch_norm(x, m, v, w, b, eps=1e-5),
                  lambda x, m, v, w, b: TF.batch_norm(x, m, v, w, b, eps=1e-5),
                  [normal((2, 6, 5, 5)), normal((6,)), lambda rng: rng.uniform(0.5, 2.0, 6).astype(np.float32),
                   normal((6,)), normal((6,))])
    yield error_case("layer_norm_bad_shape", "layer_norm", lambda x: F.layer_norm(x, (5,)), [normal((2, 4))],
                     "layer_norm")


def _conv_pool():
    yield fn_case("conv2d_f32", "conv2d", lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1),
                  lambda x, w, b: TF.conv2d(x, w, b, stride=2, padding=1),
                  [normal((1, 3, 17, 17)), normal((16, 3, 3, 3), scale=0.3), normal((16,))])
    yield fn_case("conv2d_same_dilated_f32", "conv2d", lambda x, w: F.conv2d(x, w, padding="same", dilation=2),
                  lambda x, w: TF.conv2d(x, w, padding="same", dilation=2),
                  [normal((2, 4, 9, 9)), normal((5, 4, 3, 3), scale=0.3)])
    yield fn_case("conv2d_depthwise_f32", "conv2d", lambda x, w: F.conv2d(x, w, padding=1, groups=8),
                  lambda x, w: TF.conv2d(x, w, padding=1, groups=8),
                  [normal((1, 8, 12, 12)), normal((8, 1, 3, 3), scale=0.3)])
    yield fn_case("conv2d_nhwc_f32", "conv2d", lambda x, w: F.conv2d(x, w, stride=(1, 2), layout="nhwc"),
                  lambda x, w: TF.conv2d(x.permute(0, 3, 1, 2), w.permute(3, 2, 0, 1), stride=(1, 2)).permute(
                      0, 2, 3, 1), [normal((1, 7, 8, 3)), normal((3, 3, 3, 4), scale=0.3)])
    yield fn_case("max_pool2d_f32", "max_pool2d", lambda x: F.max_pool2d(x, 3, 2, 1),
                  lambda x: TF.max_pool2d(x, 3, 2, 1), [normal((1, 4, 15, 15))])
    yield fn_case("max_pool2d_ceil_f32", "max_pool2d", lambda x: F.max_pool2d(x, 2, ceil_mode=True),
                  lambda x: TF.max_pool2d(x, 2, ceil_mode=True), [normal((2, 3, 7, 7))])
    yield fn_case("avg_pool2d_f32", "avg_pool2d", lambda x: F.avg_pool2d(x, 3, 2, 1),
                  lambda x: TF.avg_pool2d(x, 3, 2, 1), [normal((1, 2, 9, 9))])
    yield fn_case("avg_pool2d_exclude_pad_f32", "avg_pool2d", lambda x: F.avg_pool2d(x, 3, 2, 1,
                                                                                        count_include_pad=False),
                  lambda x: TF.avg_pool2d(x, 3, 2, 1, count_include_pad=False), [normal((1, 2, 9, 9))])
    yield fn_case("adaptive_avg_pool2d_f32", "adaptive_avg_pool2d", lambda x: F.adaptive_avg_pool2d(x, 1),
                  lambda x: TF.adaptive_avg_pool2d(x, 1), [normal((2, 16, 7, 7))])
    yield error_case("conv2d_bad_channels", "conv2d", F.conv2d, [normal((1, 3, 8, 8)), normal((4, 2, 3, 3))],
                     "conv2d")


def _attention():
    q, k, v = normal((2, 4, 6, 16)), normal((2, 4, 9, 16)), normal((2, 4, 9, 16))
    yield fn_case("sdpa_f32", "scaled_dot_product_attention", F.scaled_dot_product_attention,
                  TF.scaled_dot_product_attention, [q, k, v])
    yield fn_case("sdpa_causal_f32", "scaled_dot_product_attention",
                  lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True),
                  lambda q, k, v: TF.scaled_dot_product_attention(q, k, v, is_causal=True),
                  [normal((1, 2, 7, 8)), normal((1, 2, 7, 8)), normal((1, 2, 7, 8))])
    yield fn_case("sdpa_bool_mask_f32", "scaled_dot_product_attention",
                  lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m),
                  lambda q, k, v, m: TF.scaled_dot_product_attention(q, k, v, attn_mask=m),
                  [q, k, v, fixed(np.tri(6, 9, 3, dtype=bool))])
    yield fn_case("sdpa_gqa_f32", "scaled_dot_product_attention",
                  lambda q, k, v: F.scaled_dot_product_attention(q, k, v, enable_gqa=True),
                  lambda q, k, v: TF.scaled_dot_product_attention(q, k, v, enable_gqa=True),
                  [normal((1, 8, 5, 16)), normal((1, 2, 5, 16)), normal((1, 2, 5, 16))])
    yield fn_case("sdpa_mqa_scale_f32", "scaled_dot_product_attention",
                  lambda q, k, v: F.scaled_dot_product_attention(q, k, v, scale=0.3, enable_gqa=True),
                  lambda q, k, v: TF.scaled_dot_product_attention(q, k, v, scale=0.3, enable_gqa=True),
                  [normal((2, 4, 3, 8)), normal((2, 1, 6, 8)), normal((2, 1, 6, 8))])
    yield error_case("sdpa_bad_heads", "scaled_dot_product_attention", F.scaled_dot_product_attention,
                     [normal((1, 3, 4, 8)), normal((1, 2, 4, 8)), normal((1, 2, 4, 8))],
                     "query heads 3 do not match key/value heads 2")

    def cached(q, k, v, kc, vc, pos):
        return F.attention(q, k, v, kc, vc, pos)

    def cached_ref(q, k, v, kc, vc, pos):
        p = int(pos)
        kc, vc = kc.clone(), vc.clone()
        kc[:, :, p:p + k.shape[2]], vc[:, :, p:p + v.shape[2]] = k, v
        mask = torch.arange(kc.shape[2])[None, :] <= (torch.arange(q.shape[2])[:, None] + p)
        return TF.scaled_dot_product_attention(q, kc, vc, attn_mask=mask), kc, vc
    cache = normal((1, 2, 12, 8))
    yield fn_case("attention_kv_prefill_f32", "attention", cached, cached_ref,
                  [normal((1, 2, 5, 8)), normal((1, 2, 5, 8)), normal((1, 2, 5, 8)), cache, cache,
                   fixed(np.array(0, np.int32))])
    yield fn_case("attention_kv_decode_f32", "attention", cached, cached_ref,
                  [normal((1, 2, 1, 8)), normal((1, 2, 1, 8)), normal((1, 2, 1, 8)), cache, cache,
                   fixed(np.array(7, np.int32))])
    yield fn_case("update_cache_f32", "update_cache", lambda c, n, p: F.update_cache(c, n, p),
                  lambda c, n, p: torch.cat([c[:, :int(p)], n, c[:, int(p) + n.shape[1]:]], 1),
                  [normal((2, 10, 4)), normal((2, 3, 4)), fixed(np.array(4, np.int32))])

    def rope(x):
        cos, sin = F.rotary_cos_sin(x.shape[-2], 8)
        return F.rotary_embedding(x, cos, sin)

    def rope_ref(x):
        inv = 1.0 / 10000.0 ** (torch.arange(0, 8, 2, dtype=torch.float64) / 8)
        freqs = torch.arange(x.shape[-2], dtype=torch.float64)[:, None] * torch.cat([inv, inv])[None]
        cos, sin = freqs.cos().float(), freqs.sin().float()
        xr, rest = x[..., :8], x[..., 8:]
        rotated = torch.cat([-xr[..., 4:], xr[..., :4]], -1)
        return torch.cat([xr * cos + rotated * sin, rest], -1)
    yield fn_case("rotary_embedding_partial_f32", "rotary_embedding", rope, rope_ref, [normal((1, 2, 6, 12))])
    yield fn_case("rotary_cos_sin_f32", "rotary_cos_sin",
                  lambda x: tuple(t + x for t in F.rotary_cos_sin(5, 4)),
                  lambda x: tuple(t + x for t in _cos_sin_ref(5, 4)), [normal((5, 4))])


def _cos_sin_ref(n, dim):
    inv = 1.0 / 10000.0 ** (torch.arange(0, dim, 2, dtype=torch.float64) / dim)
    freqs = torch.arange(n, dtype=torch.float64)[:, None] * torch.cat([inv, inv])[None]
    return freqs.cos().float(), freqs.sin().float()


def _shape():
    yield fn_case("embedding_f32", "embedding", F.embedding, lambda i, w: TF.embedding(i.long(), w),
                  [integers((2, 7), 0, 50, "i64"), normal((50, 16))])
    yield fn_case("pad_f32", "pad", lambda x: F.pad(x, (1, 2, 0, 3), value=0.5),
                  lambda x: TF.pad(x, (1, 2, 0, 3), value=0.5), [normal((2, 3, 4))])
    yield fn_case("cat_f32", "cat", lambda a, b: F.cat([a, b], dim=-1), lambda a, b: torch.cat([a, b], -1),
                  [normal((2, 3)), normal((2, 5))])
    yield fn_case("concat_f32", "concat", lambda a, b: F.concat([a, b], dim=0), lambda a, b: torch.cat([a, b], 0),
                  [normal((1, 3)), normal((4, 3))])
    yield fn_case("narrow_f32", "narrow", lambda x: F.narrow(x, 1, 2, 3), lambda x: torch.narrow(x, 1, 2, 3),
                  [normal((2, 7))])
    yield fn_case("split_f32", "split", lambda x: F.split(x, [2, 5], dim=1), lambda x: torch.split(x, [2, 5], 1),
                  [normal((3, 7))])
    yield fn_case("split_even_f32", "split", lambda x: F.split(x, 2, dim=0), lambda x: torch.split(x, 2, 0),
                  [normal((5, 3))])
    yield fn_case("argmax_dim_f32", "argmax", lambda x: F.argmax(x, dim=1), lambda x: torch.argmax(x, 1),
                  [normal((4, 100))])
    yield fn_case("argmax_flat_f32", "argmax", F.argmax, torch.argmax, [normal((3, 5))])

    def topk_ref(x):
        v, i = torch.sort(x, dim=-1, descending=True, stable=True)
        return v[..., :4], i[..., :4]
    yield fn_case("topk_f32", "topk", lambda x: F.topk(x, 4), topk_ref, [normal((3, 50))])
    yield error_case("topk_bad_k", "topk", lambda x: F.topk(x, 9), [normal((3, 5))], "topk")
    yield error_case("embedding_float_indices", "embedding", F.embedding, [normal((3,)), normal((5, 2))], "embedding")


def _elementwise_math():
    unary = {"exp": (F.exp, torch.exp, normal((4, 8))), "log": (F.log, torch.log, uniform((4, 8), 0.1, 5.0)),
             "sqrt": (F.sqrt, torch.sqrt, uniform((4, 8), 0.0, 5.0)),
             "rsqrt": (F.rsqrt, torch.rsqrt, uniform((4, 8), 0.1, 5.0)), "erf": (F.erf, torch.erf, normal((4, 8))),
             "sin": (F.sin, torch.sin, normal((4, 8))), "cos": (F.cos, torch.cos, normal((4, 8)))}
    for name, (pf, tf, make) in unary.items():
        yield fn_case(f"{name}_f32", name, pf, tf, [make])
    for name, pf, tf in (("maximum", F.maximum, torch.maximum), ("minimum", F.minimum, torch.minimum)):
        yield fn_case(f"{name}_f32", name, pf, tf, [normal((4, 8)), normal((4, 8))])


def _sharding():
    """A sharding constraint over a one-device mesh: the values pass unchanged on every
    target (tests/sharding runs real meshes on several virtual devices)."""
    mesh = F.Mesh(x=1)
    yield fn_case("shard_f32", "shard", lambda x: F.shard(x, mesh, ("x", None)) * 2.0, lambda x: x * 2.0,
                  [normal((4, 8))])
    yield Case("sharding_constraint_f32", "ptir.sharding_constraint",
               lambda x: F.shard(x, mesh, (None, "x")) + 1.0, lambda x: x + 1.0, [normal((2, 6))])


def cases() -> list[Case]:
    out = []
    for gen in (_activations, _linalg, _normalization, _conv_pool, _attention, _shape, _elementwise_math, _sharding):
        out.extend(gen())
    return out

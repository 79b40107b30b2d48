"""Every ptir.functional op against torch.nn.functional, run on each target in TARGETS."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import ptir.functional as F
from ptir.runtime import TARGETS

from ._util import close, randn, t

SHAPES = [(1,), (5,), (1, 1), (2, 3, 4), (1, 4, 1, 3)]

UNARY = {
    "relu": (F.relu, TF.relu),
    "relu6": (F.relu6, TF.relu6),
    "gelu": (F.gelu, TF.gelu),
    "gelu_tanh": (lambda x: F.gelu(x, approximate="tanh"), lambda x: TF.gelu(x, approximate="tanh")),
    "silu": (F.silu, TF.silu),
    "sigmoid": (F.sigmoid, torch.sigmoid),
    "tanh": (F.tanh, torch.tanh),
    "dropout": (lambda x: F.dropout(x, 0.3), lambda x: TF.dropout(x, 0.3, training=False)),
    "clamp": (lambda x: F.clamp(x, -0.5, 0.7), lambda x: torch.clamp(x, -0.5, 0.7)),
    "clamp_min": (lambda x: F.clamp(x, min=0.1), lambda x: torch.clamp(x, min=0.1)),
}


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name", UNARY)
def test_unary(name, shape, run, rng):
    ours, theirs = UNARY[name]
    x = randn(rng, *shape) * 3
    close(run(ours, x), theirs(t(x)))


@pytest.mark.parametrize("fn", ["softmax", "log_softmax"])
@pytest.mark.parametrize("shape,dim", [((5,), 0), ((1, 7), -1), ((2, 3, 4), 1), ((2, 1, 3), 1), ((3, 4), 0)])
def test_softmax(fn, shape, dim, run, rng):
    x = randn(rng, *shape) * 4
    close(run(lambda a: getattr(F, fn)(a, dim), x), getattr(TF, fn)(t(x), dim))


@pytest.mark.parametrize("shape,norm", [((1, 8), (8,)), ((2, 3, 8), (8,)), ((2, 3, 4), (3, 4)), ((4, 1), (1,))])
@pytest.mark.parametrize("affine", [True, False])
def test_layer_norm(shape, norm, affine, run, rng):
    x = randn(rng, *shape) * 2 + 1
    w, b = randn(rng, *norm), randn(rng, *norm)
    if affine:
        got = run(lambda a, ww, bb: F.layer_norm(a, norm, ww, bb, 1e-5), x, w, b)
        want = TF.layer_norm(t(x), norm, t(w), t(b), 1e-5)
    else:
        got, want = run(lambda a: F.layer_norm(a, norm), x), TF.layer_norm(t(x), norm)
    close(got, want, 1e-4, 1e-5)


@pytest.mark.parametrize("shape,norm", [((1, 8), (8,)), ((2, 3, 8), (8,)), ((2, 3, 4), (3, 4))])
@pytest.mark.parametrize("eps", [None, 1e-6])
def test_rms_norm(shape, norm, eps, run, rng):
    x, w = randn(rng, *shape), randn(rng, *norm)
    close(run(lambda a, ww: F.rms_norm(a, norm, ww, eps), x, w), TF.rms_norm(t(x), norm, t(w), eps), 1e-4, 1e-5)


@pytest.mark.parametrize("shape", [(1, 3), (2, 3, 5), (1, 3, 4, 4), (2, 3, 1, 2)])
def test_batch_norm(shape, run, rng):
    c = shape[1]
    x, mu, w, b = randn(rng, *shape), randn(rng, c), randn(rng, c), randn(rng, c)
    var = rng.uniform(0.5, 2.0, c).astype(np.float32)
    got = run(lambda *a: F.batch_norm(*a, eps=1e-3), x, mu, var, w, b)
    close(got, TF.batch_norm(t(x), t(mu), t(var), t(w), t(b), eps=1e-3), 1e-4, 1e-5)


def test_batch_norm_nhwc(run, rng):
    x, mu, var = randn(rng, 2, 3, 3, 4), randn(rng, 4), rng.uniform(0.5, 2, 4).astype(np.float32)
    got = run(lambda a, m, v: F.batch_norm(a, m, v, layout="nhwc"), x, mu, var)
    close(got, TF.batch_norm(t(x).permute(0, 3, 1, 2), t(mu), t(var)).permute(0, 2, 3, 1), 1e-4, 1e-5)


@pytest.mark.parametrize("xs,ws,bias", [((4, 8), (16, 8), True), ((1, 8), (3, 8), False), ((8,), (2, 8), True),
                                        ((2, 3, 5), (1, 5), True)])
def test_linear(xs, ws, bias, run, rng):
    x, w, b = randn(rng, *xs), randn(rng, *ws), randn(rng, ws[0])
    if bias:
        close(run(F.linear, x, w, b), TF.linear(t(x), t(w), t(b)), 1e-4, 1e-5)
    else:
        close(run(F.linear, x, w), TF.linear(t(x), t(w)), 1e-4, 1e-5)


@pytest.mark.parametrize("a,b", [((3,), (3,)), ((3,), (3, 4)), ((2, 3), (3,)), ((2, 3), (3, 4)), ((5, 2, 3), (3, 4)),
                                 ((5, 2, 3), (5, 3, 1)), ((1, 2, 3), (4, 3, 2)), ((3,), (2, 3, 4)),
                                 ((2, 1, 2, 3), (3, 3, 1))])
def test_matmul(a, b, run, rng):
    x, y = randn(rng, *a), randn(rng, *b)
    close(run(F.matmul, x, y), torch.matmul(t(x), t(y)), 1e-4, 1e-5)
    close(run(lambda p, q: p @ q, x, y), t(x) @ t(y), 1e-4, 1e-5)


@pytest.mark.parametrize("shape", [(1, 2, 3, 4), (3, 1, 1, 2)])
def test_bmm(shape, run, rng):
    b, n, m, p = shape
    x, y = randn(rng, b, n, m), randn(rng, b, m, p)
    close(run(F.bmm, x, y), torch.bmm(t(x), t(y)), 1e-4, 1e-5)


CONV = [  # (N, C, H, W), out channels, kernel, stride, padding, dilation, groups
    ((1, 3, 7, 7), 4, 3, 1, 0, 1, 1),
    ((2, 4, 8, 6), 6, 3, 2, 1, 1, 2),
    ((1, 4, 7, 7), 4, 3, 1, "same", 2, 1),
    ((1, 2, 6, 6), 2, (2, 3), 1, "same", 1, 1),
    ((2, 3, 5, 5), 2, 1, 1, "valid", 1, 1),
    ((1, 4, 9, 9), 4, 3, (2, 1), (1, 2), 1, 4),     # depthwise
    ((1, 1, 1, 1), 3, 1, 1, 0, 1, 1),
]


@pytest.mark.filterwarnings("ignore:Using padding=.same.")
@pytest.mark.parametrize("layout", ["nchw", "nhwc"])
@pytest.mark.parametrize("case", CONV)
def test_conv2d(case, layout, run, rng):
    shape, o, k, stride, padding, dilation, groups = case
    kh, kw = (k, k) if isinstance(k, int) else k
    x, w, b = randn(rng, *shape), randn(rng, o, shape[1] // groups, kh, kw), randn(rng, o)
    want = TF.conv2d(t(x), t(w), t(b), stride, padding, dilation, groups)
    if layout == "nchw":
        got = run(lambda *a: F.conv2d(*a, stride, padding, dilation, groups), x, w, b)
    else:
        x, w, want = x.transpose(0, 2, 3, 1), w.transpose(2, 3, 1, 0), want.permute(0, 2, 3, 1)
        got = run(lambda *a: F.conv2d(*a, stride, padding, dilation, groups, layout="nhwc"), x, w, b)
    close(got, want, 1e-4, 1e-4)


def test_conv2d_unbatched(run, rng):
    x, w = randn(rng, 2, 5, 5), randn(rng, 3, 2, 3, 3)
    close(run(lambda a, b: F.conv2d(a, b, padding=1), x, w), TF.conv2d(t(x), t(w), padding=1), 1e-4, 1e-4)


POOL = [  # kernel, stride, padding, ceil_mode
    (2, None, 0, False), (3, 2, 1, False), (3, 2, 1, True), (2, 2, 0, True), ((2, 3), (1, 2), (1, 0), False),
    (3, 3, 1, True),
]


@pytest.mark.parametrize("shape", [(1, 2, 7, 7), (2, 1, 6, 5)])
@pytest.mark.parametrize("case", POOL)
def test_max_pool2d(case, shape, run, rng):
    k, s, p, ceil = case
    x = randn(rng, *shape)
    close(run(lambda a: F.max_pool2d(a, k, s, p, ceil_mode=ceil), x), TF.max_pool2d(t(x), k, s, p, ceil_mode=ceil))


@pytest.mark.parametrize("include", [True, False])
@pytest.mark.parametrize("case", POOL)
def test_avg_pool2d(case, include, run, rng):
    k, s, p, ceil = case
    x = randn(rng, 2, 3, 7, 6)
    got = run(lambda a: F.avg_pool2d(a, k, s, p, ceil_mode=ceil, count_include_pad=include), x)
    close(got, TF.avg_pool2d(t(x), k, s, p, ceil_mode=ceil, count_include_pad=include))


def test_avg_pool2d_divisor_and_nhwc(run, rng):
    x = randn(rng, 1, 5, 5, 3)
    got = run(lambda a: F.avg_pool2d(a, 3, 2, 1, divisor_override=4, layout="nhwc"), x)
    close(got, TF.avg_pool2d(t(x).permute(0, 3, 1, 2), 3, 2, 1, divisor_override=4).permute(0, 2, 3, 1))
    got = run(lambda a: F.max_pool2d(a, 2, layout="nhwc"), x)
    close(got, TF.max_pool2d(t(x).permute(0, 3, 1, 2), 2).permute(0, 2, 3, 1))


@pytest.mark.parametrize("shape,out", [((1, 3, 4, 6), 1), ((2, 2, 4, 6), (2, 3)), ((1, 1, 6, 6), (None, 2)),
                                       ((1, 2, 5, 5), (5, 5))])
def test_adaptive_avg_pool2d(shape, out, run, rng):
    x = randn(rng, *shape)
    close(run(lambda a: F.adaptive_avg_pool2d(a, out), x), TF.adaptive_avg_pool2d(t(x), out))


SDPA = [  # q shape, kv shape
    ((1, 1, 1, 8), (1, 1, 1, 8)),
    ((2, 4, 5, 8), (2, 4, 5, 8)),
    ((2, 4, 3, 8), (2, 4, 6, 8)),
    ((3, 5, 4), (3, 7, 4)),
    ((1, 4, 5, 8), (1, 2, 5, 8)),      # GQA
    ((2, 4, 3, 8), (2, 1, 6, 8)),      # MQA
]


@pytest.mark.parametrize("mode", ["plain", "causal", "bool", "float", "scale"])
@pytest.mark.parametrize("qs,ks", SDPA)
def test_scaled_dot_product_attention(qs, ks, mode, run, rng):
    q, k, v = randn(rng, *qs), randn(rng, *ks), randn(rng, *ks[:-1], 6)
    gqa = qs[-3] != ks[-3] and len(qs) == 4
    kw = {"enable_gqa": gqa}
    if mode == "causal":
        kw["is_causal"] = True
    if mode == "scale":
        kw["scale"] = 0.3
    if mode == "bool":
        m = rng.uniform(size=(qs[-2], ks[-2])) > 0.4
        m[:, 0] = True   # no fully masked rows
        kw["attn_mask"] = m
    if mode == "float":
        kw["attn_mask"] = randn(rng, qs[-2], ks[-2])
    ours = {**kw, "attn_mask": kw.get("attn_mask")}
    arrays = (q, k, v) + ((ours.pop("attn_mask"),) if "attn_mask" in kw else ())
    got = run(lambda *a: F.scaled_dot_product_attention(*a, **ours), *arrays)
    theirs = {**kw, "attn_mask": t(kw["attn_mask"]) if "attn_mask" in kw else None}
    close(got, TF.scaled_dot_product_attention(t(q), t(k), t(v), **theirs), 1e-4, 1e-5)


@pytest.mark.parametrize("idx_dtype", [np.int64, np.int32])
@pytest.mark.parametrize("shape", [(1,), (2, 3), (1, 1)])
def test_embedding(shape, idx_dtype, run, rng):
    w = randn(rng, 10, 4)
    idx = rng.integers(0, 10, shape).astype(idx_dtype)
    close(run(F.embedding, idx, w), TF.embedding(t(idx).long(), t(w)))


@pytest.mark.parametrize("pads", [(1, 2), (0, 1, 2, 0), (1, 1, 1, 1, 1, 1), (-1, 2), (2, -1, 0, 0)])
def test_pad(pads, run, rng):
    x = randn(rng, 2, 3, 4)
    close(run(lambda a: F.pad(a, pads, value=1.5), x), TF.pad(t(x), pads, value=1.5))


def test_clamp_tensor_bounds(run, rng):
    x, lo, hi = randn(rng, 3, 4), randn(rng, 4) - 1, randn(rng, 3, 1) + 1
    close(run(lambda a, b, c: F.clamp(a, b, c), x, lo, hi), torch.clamp(t(x), t(lo), t(hi)))


def test_where(run, rng):
    c, x, y = rng.uniform(size=(3, 1)) > 0.5, randn(rng, 1, 4), randn(rng, 3, 4)
    close(run(F.where, c, x, y), torch.where(t(c), t(x), t(y)))
    close(run(lambda a, b: F.where(a, b, 0.0), c, x), torch.where(t(c), t(x), 0.0))


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cat(dim, run, rng):
    shapes = [[2, 3, 4]] * 3
    for i, s in enumerate(shapes):
        shapes[i] = list(s)
        shapes[i][dim] = i + 1
    xs = [randn(rng, *s) for s in shapes]
    close(run(lambda *a: F.cat(a, dim), *xs), torch.cat([t(x) for x in xs], dim))
    close(run(lambda *a: F.concat(a, dim=dim), *xs), torch.concat([t(x) for x in xs], dim=dim))


@pytest.mark.parametrize("split,dim", [(2, 0), (3, 1), ([1, 4], 1), ([2, 0, 3], -1), (5, 1)])
def test_split(split, dim, run, rng):
    x = randn(rng, 5, 5, 5)
    got = run(lambda a: F.split(a, split, dim), x)
    got = got if isinstance(got, tuple) else (got,)
    want = torch.split(t(x), split, dim)
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        close(g, w)


@pytest.mark.parametrize("dim,keepdim", [(None, False), (0, False), (1, True), (-1, False), (None, True)])
def test_argmax(dim, keepdim, run, rng):
    x = randn(rng, 3, 5)
    close(run(lambda a: F.argmax(a, dim, keepdim), x), torch.argmax(t(x), dim, keepdim))


@pytest.mark.parametrize("k,dim,largest", [(1, -1, True), (3, 1, True), (2, 0, False), (5, -1, False)])
def test_topk(k, dim, largest, run, rng):
    x = randn(rng, 4, 5)
    values, indices = run(lambda a: F.topk(a, k, dim, largest), x)
    want = torch.topk(t(x), k, dim, largest)
    close(values, want.values)
    close(indices, want.indices)


def _neox_rotary(x, cos, sin):
    """HF's GPT-NeoX apply_rotary_pos_emb, written out in torch."""
    rot = cos.shape[-1]
    xr, xp = x[..., :rot], x[..., rot:]
    half = torch.cat([-xr[..., rot // 2:], xr[..., :rot // 2]], -1)
    return torch.cat([xr * cos + half * sin, xp], -1)


def _torch_cos_sin(n, dim, base=10000.0, offset=0):
    inv = 1.0 / base ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim)
    freqs = torch.outer(torch.arange(offset, offset + n).float(), inv)
    emb = torch.cat([freqs, freqs], -1)
    return emb.cos(), emb.sin()


@pytest.mark.parametrize("shape,rot", [((1, 2, 5, 8), 8), ((2, 1, 3, 8), 4), ((1, 1, 1, 4), 4)])
def test_rotary(shape, rot, run, rng):
    x = randn(rng, *shape)
    cos, sin = _torch_cos_sin(shape[-2], rot, offset=3)
    got = run(lambda a: F.rotary_embedding(a, *F.rotary_cos_sin(shape[-2], rot, offset=3)), x)
    close(got, _neox_rotary(t(x), cos, sin), 1e-4, 1e-5)
    c, s = cos.numpy(), sin.numpy()
    close(run(F.rotary_embedding, x, c, s), _neox_rotary(t(x), cos, sin), 1e-5, 1e-6)


# --- edges the functionals define (docs/semantics.md), on every target whatever PTIR_FRONTEND_TARGETS says

EVERY_TARGET = pytest.mark.parametrize("target", list(TARGETS), indirect=True)


@EVERY_TARGET
@pytest.mark.parametrize("kind", ["bool", "float"])
def test_sdpa_query_that_sees_no_key_gives_zeros(kind, run, rng):
    """Query 1 has every key masked: torch gives a row of zeros (not NaN), and so must we."""
    q, k, v = randn(rng, 1, 3, 2), randn(rng, 1, 4, 2), randn(rng, 1, 4, 2)
    keep = np.ones((1, 3, 4), bool)
    keep[0, 1] = False
    mask = keep if kind == "bool" else np.where(keep, 0.0, -np.inf).astype(np.float32)
    got = run(lambda *a: F.scaled_dot_product_attention(*a), q, k, v, mask)
    want = TF.scaled_dot_product_attention(t(q), t(k), t(v), attn_mask=t(mask))
    assert (want[0, 1] == 0).all() and not want.isnan().any(), "torch's rule changed"
    close(got, want, 1e-5, 1e-6)


@EVERY_TARGET
@pytest.mark.parametrize("kind", ["bool", "float"])
@pytest.mark.parametrize("qs,ks", [((2, 2, 3, 4), (2, 2, 5, 4)), ((1, 2, 7, 8), (1, 2, 7, 8))])
def test_sdpa_fully_masked_rows_with_heads(qs, ks, kind, run, rng):
    # (1, 2, 7, 8): IREE's data tiling miscompiled weights that were not the plain softmax here.
    q, k, v = randn(rng, *qs), randn(rng, *ks), randn(rng, *ks[:-1], 6)
    keep = rng.uniform(size=(qs[0], 1, qs[2], ks[2])) > 0.3
    keep[-1, 0, 2] = False      # the last batch, query 2: no key, in every head
    keep[0, 0, 0] = False
    keep[0, 0, 0, -1] = True
    mask = keep if kind == "bool" else np.where(keep, 0.0, -np.inf).astype(np.float32)
    got = run(lambda *a: F.scaled_dot_product_attention(*a), q, k, v, mask)
    close(got, TF.scaled_dot_product_attention(t(q), t(k), t(v), attn_mask=t(mask)), 1e-5, 1e-6)


HUGE_ROWS = {
    "1e20": [[1e20, 2e20, 3e20, 4e20]],                # squared deviations overflow f32
    "1e29": [[-1e29, 2e29, 3e29, -4e29]],              # by 1e20 times, still inside the bound
    "tiny": [[1e-20, 3e-20, -2e-20, 0.0]],
    "constant": [[5.0, 5.0, 5.0, 5.0], [0.0, 0.0, 0.0, 0.0]],
}


@EVERY_TARGET
@pytest.mark.parametrize("name", list(HUGE_ROWS))
def test_layer_norm_of_rows_with_a_huge_spread(name, run, rng):
    """The right answer is representable, so it is what we give; torch in f32 gives NaN for
    the first two rows (its variance overflows), torch in f64 is the reference."""
    x = np.array(HUGE_ROWS[name], np.float32)
    w, b = randn(rng, 4), randn(rng, 4)
    want = TF.layer_norm(t(x).double(), (4,), t(w).double(), t(b).double()).float()
    close(run(lambda a, ww, bb: F.layer_norm(a, (4,), ww, bb), x, w, b), want, 1e-5, 1e-5)
    close(run(lambda a: F.layer_norm(a, 4), x), TF.layer_norm(t(x).double(), (4,)).float(), 1e-5, 1e-5)


@EVERY_TARGET
def test_layer_norm_of_gpt2_wide_rows_near_the_limit(run, rng):
    # Deviations of 1e29 (their squares overflow f32 ~1e20 times over), 768 wide: inside
    # the bound docs/semantics.md states (2^106 / sqrt(768) ~ 3e30).  Row 1 is ordinary.
    x = (randn(rng, 2, 768) * 1e29 + 2e29).astype(np.float32)
    x[1] = randn(rng, 768) * 2 + 1
    close(run(lambda a: F.layer_norm(a, 768), x), TF.layer_norm(t(x).double(), (768,)).float(), 1e-4, 1e-5)


@EVERY_TARGET
def test_layer_norm_beyond_the_bound_is_nan_as_in_torch(run, rng):
    """Rows whose scaled variance still overflows give NaN, as torch's f32 does, never a
    confident 0; the ordinary row beside them is unaffected."""
    x = np.stack([np.array([-3e38, 3e38, 1e38, -1e38] * 192, np.float32),
                  (randn(rng, 768) * 1e35).astype(np.float32), randn(rng, 768)])
    got = np.asarray(run(lambda a: F.layer_norm(a, 768), x))
    want = TF.layer_norm(t(x), (768,)).numpy()
    assert np.isnan(want[:2]).all() and np.isnan(got[:2]).all()
    close(got[2:], TF.layer_norm(t(x[2:]).double(), (768,)).float(), 1e-5, 1e-5)


# --- torch's argument space: the OpInfo gaps closed (conformance/opinfo.py), on every target

POOL_MORE = [  # input shape, kernel, stride, padding, dilation, ceil_mode, layout
    ((1, 2, 6, 6), 3, 2, 1, (1, 2), True, "nchw"),
    ((2, 2, 3, 6), (3, 2), (2, 1), (1, 1), 1, False, "nchw"),
    ((2, 6, 6), 3, None, 1, 2, False, "nchw"),                  # unbatched, dilated, default stride
    ((1, 7, 5, 3), (2, 3), 1, (1, 0), (2, 1), True, "nhwc"),
    ((1, 2, 3, 6), 3, None, 1, 1, False, "nchw"),              # windows stop short of the padded end
]


@EVERY_TARGET
@pytest.mark.parametrize("indices", [False, True])
@pytest.mark.parametrize("case", POOL_MORE)
def test_max_pool2d_dilation_and_indices(case, indices, run, rng):
    shape, k, s, p, d, ceil, layout = case
    x = randn(rng, *shape)
    tx = t(x).permute(0, 3, 1, 2) if layout == "nhwc" else t(x)
    want = TF.max_pool2d(tx, k, s, p, d, ceil_mode=ceil, return_indices=indices)
    want = tuple(w.permute(0, 2, 3, 1) for w in want) if indices and layout == "nhwc" else \
        want.permute(0, 2, 3, 1) if layout == "nhwc" else want
    got = run(lambda a: F.max_pool2d(a, k, s, p, d, ceil, indices, layout=layout), x)
    for g, w in zip(got, want, strict=True) if indices else [(got, want)]:
        close(g, w)


@EVERY_TARGET
def test_max_pool2d_indices_of_nan_and_minus_inf(run):
    """torch's scan: a window of -inf (the padding never counts) gives its first element
    inside the input; NaN beats any number, the last NaN wins."""
    x = np.full((1, 1, 4, 4), -np.inf, np.float32)
    x[0, 0, 0, 0] = x[0, 0, 0, 1] = np.nan
    x[0, 0, 3, 3] = 5.0
    got = run(lambda a: F.max_pool2d(a, 3, 2, 1, return_indices=True), x)
    want = TF.max_pool2d(t(x), 3, 2, 1, return_indices=True)
    assert want[1].tolist() == [[[[1, 1], [4, 15]]]], "torch's rule changed"
    close(got[0], want[0])
    close(got[1], want[1])


@EVERY_TARGET
@pytest.mark.parametrize("shape,out,layout", [((1, 2, 8, 8), (5, 7), "nchw"), ((2, 3, 4, 3), (5, None), "nchw"),
                                               ((3, 7, 5), 3, "nchw"), ((1, 6, 5, 2), (4, 3), "nhwc")])
def test_adaptive_avg_pool2d_uneven_windows(shape, out, layout, run, rng):
    x = randn(rng, *shape)
    if layout == "nhwc":
        want = TF.adaptive_avg_pool2d(t(x).permute(0, 3, 1, 2), out).permute(0, 2, 3, 1)
    else:
        want = TF.adaptive_avg_pool2d(t(x), out)
    close(run(lambda a: F.adaptive_avg_pool2d(a, out, layout=layout), x), want, 1e-5, 1e-6)


@EVERY_TARGET
def test_avg_pool2d_one_tuples_and_empty_stride(run, rng):
    x, y = randn(rng, 2, 3, 9, 9), randn(rng, 1, 1, 4, 4)
    got = run(lambda a: F.avg_pool2d(a, (3, 3), (1, 1), (1,), True, False, 2), x)
    close(got, TF.avg_pool2d(t(x), (3, 3), (1, 1), (1,), True, False, 2))
    got = run(lambda a: F.avg_pool2d(a, (2,), (), (0,), False, True, -2), y)
    close(got, TF.avg_pool2d(t(y), (2,), (), (0,), False, True, -2))


@EVERY_TARGET
def test_rank0_inputs(run):
    x = np.array(-1.5, np.float32)
    got = run(lambda a: (F.softmax(a, 0), F.log_softmax(a, -1), F.argmax(a), F.argmax(a, 0, True),
                         *F.topk(a, 1), *F.topk(a, 0, -1, largest=False)), x)
    tx = torch.tensor(x)      # t() would make it 1-D (np.ascontiguousarray)
    want = (TF.softmax(tx, 0), TF.log_softmax(tx, -1), torch.argmax(tx), torch.argmax(tx, 0, True),
            *torch.topk(tx, 1), *torch.topk(tx, 0, -1, largest=False))
    for g, w in zip(got, want, strict=True):
        close(g, w)


@EVERY_TARGET
@pytest.mark.parametrize("qs,ks,kw", [
    ((4, 3, 8), (4, 4, 6, 8), {}),                                # a 3-D query against 4-D keys
    ((4, 3, 8), (4, 4, 6, 8), {"is_causal": True, "enable_gqa": True}),
    ((2, 4, 3, 8), (2, 1, 6, 8), {}),                             # one kv head, broadcast without enable_gqa
    ((2, 4, 3, 8), (1, 2, 6, 8), {"enable_gqa": True}),           # grouped heads and a broadcast batch
    ((3, 8), (2, 2, 5, 8), {"mask": (3, 5)}),
])
def test_sdpa_broadcast_batch_dims(qs, ks, kw, run, rng):
    kw = dict(kw)
    q, k, v = randn(rng, *qs), randn(rng, *ks), randn(rng, *ks[:-1], 6)
    arrays = [q, k, v] + ([randn(rng, *kw.pop("mask"))] if "mask" in kw else [])
    got = run(lambda *a: F.scaled_dot_product_attention(*a, **kw), *arrays)
    close(got, TF.scaled_dot_product_attention(*(t(a) for a in arrays), **kw), 1e-4, 1e-5)


@EVERY_TARGET
@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, float("inf")])
def test_embedding_max_norm(norm_type, run, rng):
    w = randn(rng, 6, 4)
    w[1] *= 0.05                                              # one row under the norm: left as it is
    idx = np.array([[0, 1, 5], [5, 2, 1]], np.int64)
    got = run(lambda i, ww: F.embedding(i, ww, max_norm=1.0, norm_type=norm_type), idx, w)
    want = TF.embedding(t(idx), t(w.copy()), max_norm=1.0, norm_type=norm_type)   # torch renormalises in place
    close(got, want, 1e-5, 1e-6)


@EVERY_TARGET
def test_cat_skips_legacy_empty_tensors(run, rng):
    e, x, y = np.zeros(0, np.float32), randn(rng, 5, 5), randn(rng, 2, 5)
    close(run(lambda a, b, c: F.cat([a, b, c], 0), e, x, y), torch.cat([t(e), t(x), t(y)], 0))
    close(run(lambda a, b: F.cat([a, b], 1), e, x), torch.cat([t(e), t(x)], 1))
    close(run(lambda a, b: F.cat([a, b]), e, e), torch.cat([t(e), t(e)]))


@EVERY_TARGET
@pytest.mark.parametrize("start", [2, -3, 0])
def test_narrow_at_a_tensor_start(start, run, rng):
    x, s = randn(rng, 5, 6, 5), np.array(start, np.int64)
    close(run(lambda a, b: F.narrow(a, 1, b, 3), x, s), torch.narrow(t(x), 1, torch.tensor(s), 3))
    close(run(lambda a: F.narrow(a, -1, start, 2), x), torch.narrow(t(x), -1, start, 2))


@EVERY_TARGET
@pytest.mark.parametrize("pads", [(1, 2, 0, 0), (0, 2, 2, 1), (-1, 1, -2, 1), (2, -1, 1, 0)])
def test_pad_modes(pads, run, rng):
    x, modes = randn(rng, 1, 3, 4, 5), ("reflect", "replicate", "circular")
    got = run(lambda a: tuple(F.pad(a, pads, m) for m in modes), x)
    for g, m in zip(got, modes, strict=True):
        close(g, TF.pad(t(x), pads, m))


@EVERY_TARGET
def test_half_precision_computed_in_f32(run, rng):
    """torch computes rms_norm, attention, softmax and conv2d of f16 in f32 and rounds once:
    x^2 of 400 overflows f16, and IREE summed an f16 convolution in f16 (errors of 0.04 on
    values of 2) and failed to link an f16 softmax's max ("undefined symbol: fmaxf")."""
    x, w = (randn(rng, 2, 8) * 200).astype(np.float16), randn(rng, 8).astype(np.float16)
    q, k, v = (randn(rng, 2, 3, 8).astype(np.float16) * 3 for _ in range(3))
    img, kern = (randn(rng, 2, 4, 6, 6) * 5).astype(np.float16), (randn(rng, 8, 1, 3, 3) * 5).astype(np.float16)
    got = run(lambda a, b, qq, kk, vv, i, ker: (F.rms_norm(a, (8,), b), F.scaled_dot_product_attention(qq, kk, vv),
                                                F.softmax(qq, -1), F.log_softmax(qq, 0), F.conv2d(i, ker, groups=4)),
              x, w, q, k, v, img, kern)
    close(got[0], TF.rms_norm(t(x), (8,), t(w)), 1e-3, 1e-3)
    close(got[1], TF.scaled_dot_product_attention(t(q), t(k), t(v)), 1e-3, 1e-3)
    close(got[2], TF.softmax(t(q), -1), 1e-3, 1e-3)
    close(got[3], TF.log_softmax(t(q), 0), 1e-3, 1e-3)
    close(got[4], TF.conv2d(t(img), t(kern), groups=4), 2e-3, 2e-3)

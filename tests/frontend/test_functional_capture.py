"""What each functional captures (its canonical PTIR ops) and how it rejects bad operands."""

import pytest

import ptir
import ptir.functional as F
from ptir.errors import TypeRuleError

from ._util import ops

S = ptir.spec


def captured(fn, *specs):
    prog = ptir.trace(fn, *specs)
    ptir.verify(prog)
    assert str(ptir.parse(str(prog))) == str(prog)   # the captured text round-trips
    return prog


def only(prog, name):
    found = [op for op in prog.entry().ops if op.name == name]
    assert len(found) == 1, ops(prog)
    return found[0]


CAPTURES = [
    ("linear", lambda x, w, b: F.linear(x, w, b), [S((4, 8)), S((16, 8)), S((16,))],
     ["dot_general", "broadcast_to", "add"]),
    ("linear_nobias", lambda x, w: F.linear(x, w), [S((2, 3, 8)), S((16, 8))], ["dot_general"]),
    ("matmul_batched", F.matmul, [S((5, 2, 3)), S((1, 3, 4))], ["broadcast_to", "dot_general"]),
    ("matmul_vec", F.matmul, [S((3,)), S((3,))], ["reshape", "reshape", "dot_general", "reshape"]),
    ("bmm", F.bmm, [S((2, 3, 4)), S((2, 4, 5))], ["dot_general"]),
    ("relu", F.relu, [S((3,))], ["constant", "max"]),
    ("relu6", F.relu6, [S((3,))], ["constant", "max", "constant", "min"]),
    ("sigmoid", F.sigmoid, [S((3,))], ["logistic"]),
    ("tanh", F.tanh, [S((3,))], ["tanh"]),
    ("silu", F.silu, [S((3,))], ["logistic", "mul"]),
    ("gelu", F.gelu, [S((3,))], ["constant", "mul", "constant", "mul", "erf", "constant", "add", "mul"]),
    ("gelu_tanh", lambda x: F.gelu(x, approximate="tanh"), [S((3,))],
     ["constant", "mul", "mul", "mul", "constant", "mul", "add", "constant", "mul", "tanh", "constant", "add",
      "mul"]),
    ("softmax", lambda x: F.softmax(x, -1), [S((2, 5))],
     ["reduce", "broadcast_to", "sub", "exp", "reduce", "broadcast_to", "div"]),
    ("log_softmax", lambda x: F.log_softmax(x, 0), [S((2, 5))],
     ["reduce", "broadcast_to", "sub", "exp", "reduce", "log", "broadcast_to", "sub"]),
    ("layer_norm", lambda x, w, b: F.layer_norm(x, (8,), w, b), [S((2, 8)), S((8,)), S((8,))],
     ["reduce", "constant", "div", "broadcast_to", "sub", "constant", "mul", "mul", "reduce", "constant", "div",
      "constant", "compare", "constant", "add", "rsqrt", "constant", "select", "broadcast_to", "mul",
      "broadcast_to", "mul", "broadcast_to", "add"]),
    ("rms_norm", lambda x: F.rms_norm(x, 8, eps=1e-6), [S((2, 8))],
     ["mul", "reduce", "constant", "div", "constant", "add", "rsqrt", "broadcast_to", "mul"]),
    ("batch_norm", lambda x, m, v: F.batch_norm(x, m, v), [S((1, 3, 2, 2)), S((3,)), S((3,))],
     ["constant", "add", "rsqrt", "mul", "neg", "reshape", "broadcast_to", "mul", "reshape", "broadcast_to", "add"]),
    ("embedding", F.embedding, [S((2, 3), "i64"), S((10, 4))], ["take"]),
    ("conv2d", lambda x, w, b: F.conv2d(x, w, b, padding="same"), [S((1, 3, 5, 5)), S((4, 3, 3, 3)), S((4,))],
     ["conv", "reshape", "broadcast_to", "add"]),
    ("max_pool2d", lambda x: F.max_pool2d(x, 2), [S((1, 3, 4, 4))], ["reduce_window"]),
    ("avg_pool2d", lambda x: F.avg_pool2d(x, 2), [S((1, 3, 4, 4))], ["reduce_window", "constant", "div"]),
    ("avg_pool2d_exclude_pad", lambda x: F.avg_pool2d(x, 3, 1, 1, count_include_pad=False), [S((1, 3, 4, 4))],
     ["reduce_window", "constant", "reduce_window", "broadcast_to", "div"]),
    ("adaptive_avg_pool2d", lambda x: F.adaptive_avg_pool2d(x, 1), [S((1, 3, 4, 4))],
     ["reduce", "constant", "div"]),
    ("dropout", F.dropout, [S((3,))], []),
    ("pad", lambda x: F.pad(x, (1, 2)), [S((3, 4))], ["pad"]),
    ("cat", lambda a, b: F.cat([a, b], 1), [S((2, 1)), S((2, 3))], ["concat"]),
    ("split", lambda x: F.split(x, 2), [S((5,))], ["slice", "slice", "slice"]),
    ("argmax", lambda x: F.argmax(x, 1), [S((3, 4))], ["argmax"]),
    ("topk", lambda x: F.topk(x, 2), [S((3, 4))], ["top_k", "cast"]),
    ("where", lambda c, x: F.where(c, x, 0.0), [S((3,), "i1"), S((3,))], ["constant", "select"]),
    ("clamp", lambda x: F.clamp(x, max=1.0), [S((3,))], ["constant", "min"]),
]


@pytest.mark.parametrize("name,fn,specs,want", CAPTURES, ids=[c[0] for c in CAPTURES])
def test_capture(name, fn, specs, want):
    assert ops(captured(fn, *specs)) == want


def test_capture_attributes():
    conv = only(captured(lambda x, w: F.conv2d(x, w, stride=2, padding=(1, 2), dilation=1, groups=2),
                         S((1, 4, 8, 8)), S((6, 2, 3, 3))), "conv")
    assert conv.attrs["strides"] == (2, 2) and conv.attrs["groups"] == 2
    # the high padding ends the last window at the padded input's end (IREE 3.13 failed otherwise)
    assert conv.attrs["padding"] == ((1, 0), (2, 1))
    short = captured(lambda x, w: F.conv2d(x, w, stride=2), S((1, 2, 6, 6)), S((4, 2, 3, 3)))  # reads rows 0-4
    assert ops(short) == ["slice", "conv"] and only(short, "slice").attrs["limit"] == (1, 2, 5, 5)
    same = only(captured(lambda x, w: F.conv2d(x, w, padding="same"), S((1, 1, 5, 5)), S((1, 1, 4, 4))), "conv")
    assert same.attrs["padding"] == ((1, 2), (1, 2))    # the odd element goes last, as in torch
    nhwc = only(captured(lambda x, w: F.conv2d(x, w, layout="nhwc"), S((1, 5, 5, 3)), S((3, 3, 3, 8))), "conv")
    assert nhwc.attrs["layout"] == "nhwc" and nhwc.results[0].type.shape == (1, 3, 3, 8)
    pool = only(captured(lambda x: F.max_pool2d(x, 3, 2, 1, ceil_mode=True), S((1, 1, 6, 6))), "reduce_window")
    assert pool.attrs["window"] == (1, 1, 3, 3) and pool.attrs["padding"] == ((0, 0), (0, 0), (1, 2), (1, 2))
    pad = only(captured(lambda x: F.pad(x, (1, 2, 3, 4), value=2.0), S((2, 3, 4))), "pad")
    assert pad.attrs["low"] == (0, 3, 1) and pad.attrs["high"] == (0, 4, 2) and pad.attrs["value"] == 2.0
    arg = only(captured(lambda x: F.argmax(x, -1), S((3, 4))), "argmax")
    assert arg.results[0].type.dtype.name == "i64" and arg.attrs["axis"] == 1


def test_sdpa_capture():
    prog = captured(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True),
                    S((1, 4, 3, 8)), S((1, 2, 5, 8)), S((1, 2, 5, 8)))
    names = ops(prog)
    assert names.count("dot_general") == 2 and names.count("iota") == 2
    assert "select" in names and names.count("exp") == 1
    assert prog.entry().result_types[0].shape == (1, 4, 3, 8)


def test_attention_cache_capture():
    prog = captured(lambda q, k, v, kc, vc, pos: F.attention(q, k, v, kc, vc, pos),
                    S((1, 2, 1, 4)), S((1, 2, 1, 4)), S((1, 2, 1, 4)), S((1, 2, 8, 4)), S((1, 2, 8, 4)), S((), "i32"))
    names = ops(prog)
    assert names.count("dynamic_update_slice") == 2
    assert [str(t) for t in prog.entry().result_types] == ["tensor<1x2x1x4xf32>", "tensor<1x2x8x4xf32>",
                                                            "tensor<1x2x8x4xf32>"]


ERRORS = [
    (lambda x, w: F.linear(x, w), [S((4, 7)), S((16, 8))],
     "linear: input features 7 do not match weight in_features 8"),
    (lambda x, w: F.linear(x, w), [S((4, 8)), S((8,))], "linear: weight must be 2-D"),
    (lambda x, w, b: F.linear(x, w, b), [S((4, 8)), S((16, 8)), S((15,))],
     r"linear: bias shape \(15,\) does not match weight out_features 16"),
    (lambda x, w: F.linear(x, w), [S((4, 8), "f16"), S((16, 8))],
     "linear: input dtype f16 does not match weight dtype f32"),
    (F.matmul, [S((2, 3)), S((4, 5))], r"matmul: input \(2, 3\) and other \(4, 5\) differ in the contracted dim"),
    (F.matmul, [S((2, 2, 3)), S((3, 3, 4))], r"matmul: cannot broadcast shapes \(2,\), \(3,\)"),
    (F.bmm, [S((2, 3)), S((2, 3))], "bmm: expects 3-D tensors"),
    (F.bmm, [S((2, 3, 4)), S((3, 4, 5))], "bmm: batch sizes 2 and 3 differ"),
    (lambda x: F.gelu(x, approximate="fast"), [S((3,))], 'gelu: approximate must be "none" or "tanh"'),
    (F.gelu, [S((3,), "i32")], "gelu: input dtype i32 is not a float type"),
    (lambda x: F.softmax(x), [S((3,))], "softmax: dim must be given"),
    (lambda x: F.softmax(x, 2), [S((3, 4))], "softmax: argument 'dim': axis 2 is out of range for rank 2"),
    (lambda x: F.layer_norm(x, (5,)), [S((2, 4))], r"layer_norm: normalized_shape \(5,\) does not match"),
    (lambda x, w: F.layer_norm(x, 4, w), [S((2, 4)), S((3,))],
     r"layer_norm: weight shape \(3,\) does not match \(4,\)"),
    (lambda x, w: F.rms_norm(x, 4, w), [S((2, 4)), S((4,), "f16")], "rms_norm: weight dtype f16 does not match"),
    (lambda x, m, v: F.batch_norm(x, m, v), [S((1, 3, 2)), S((4,)), S((3,))],
     r"batch_norm: running_mean shape \(4,\) does not match \(3,\)"),
    (lambda x, m, v: F.batch_norm(x, m, v, training=True), [S((1, 3)), S((3,)), S((3,))], "batch_norm: training"),
    (F.embedding, [S((3,)), S((10, 4))], "embedding: indices dtype f32 is not an integer type"),
    (F.embedding, [S((3,), "i32"), S((10,))], "embedding: weight must be 2-D"),
    (lambda x, w: F.conv2d(x, w), [S((1, 3, 5, 5)), S((4, 2, 3, 3))],
     "conv2d: weight in-channels 2 x groups 1 != input channels 3"),
    (lambda x, w: F.conv2d(x, w, groups=2), [S((1, 3, 5, 5)), S((4, 2, 3, 3))],
     "conv2d: input channels 3 are not divisible by groups 2"),
    (lambda x, w: F.conv2d(x, w, groups=0), [S((1, 3, 5, 5)), S((4, 3, 3, 3))], "conv2d: groups 0 must be >= 1"),
    (lambda x, w: F.conv2d(x, w), [S((1, 3, 2, 2)), S((4, 3, 3, 3))],
     "conv2d: spatial dim 0: kernel extent 3 is larger than the padded input 2"),
    (lambda x, w: F.conv2d(x, w, stride=2, padding="same"), [S((1, 3, 5, 5)), S((4, 3, 3, 3))],
     'conv2d: padding="same" needs stride 1'),
    (lambda x, w: F.conv2d(x, w), [S((3, 5)), S((4, 3, 3, 3))], "conv2d: input must be 4-D"),
    (lambda x, w: F.conv2d(x, w, layout="hwcn"), [S((1, 3, 5, 5)), S((4, 3, 3, 3))], "conv2d: layout must be"),
    (lambda x: F.max_pool2d(x, 2, padding=2), [S((1, 1, 4, 4))], "max_pool2d: padding 2 should be at most half"),
    (lambda x: F.max_pool2d(x, 3, dilation=2), [S((1, 1, 4, 4))],
     "max_pool2d: dilated kernel extent 5 is larger than the padded input 4"),
    (lambda x: F.max_pool2d(x, 2, dilation=0), [S((1, 1, 4, 4))], "max_pool2d: kernel_size .* must be positive"),
    (lambda x: F.avg_pool2d(x, (2, 2, 2)), [S((1, 1, 4, 4))],
     r"avg_pool2d: kernel_size must be an int or a tuple of one or two ints, got \(2, 2, 2\)"),
    (lambda x: F.avg_pool2d(x, 5), [S((1, 1, 4, 4))], "avg_pool2d: kernel size 5 is larger than the padded input 4"),
    (lambda x: F.adaptive_avg_pool2d(x, (3, 0)), [S((1, 1, 4, 4))],
     r"adaptive_avg_pool2d: output_size \(3, 0\) must be positive"),
    (lambda q, k, v: F.scaled_dot_product_attention(q, k, v), [S((1, 2, 3, 8)), S((1, 2, 3, 4)), S((1, 2, 3, 4))],
     "scaled_dot_product_attention: query embedding dim 8 does not match key embedding dim 4"),
    (lambda q, k, v: F.scaled_dot_product_attention(q, k, v), [S((1, 4, 3, 8)), S((1, 2, 3, 8)), S((1, 2, 3, 8))],
     r"scaled_dot_product_attention: query heads 4 do not match key/value heads 2 \(a multiple needs enable_gqa"),
    (lambda q, k, v: F.scaled_dot_product_attention(q, k, v, enable_gqa=True),
     [S((1, 3, 3, 8)), S((1, 2, 3, 8)), S((1, 2, 3, 8))], "query heads 3 are not a multiple of key heads 2"),
    (lambda q, k, v: F.scaled_dot_product_attention(q, k, v), [S((2, 1, 3, 8)), S((3, 1, 5, 8)), S((3, 1, 5, 8))],
     r"query batch dims \(2, 1\) do not broadcast with key batch dims \(3, 1\)"),
    (lambda q, k, v: F.scaled_dot_product_attention(q, k, v), [S((8,)), S((5, 8)), S((5, 8))],
     "query, key and value must have rank >= 2"),
    (lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, m), [S((2, 3, 8)), S((2, 5, 8)), S((2, 5, 8)),
                                                                      S((3, 4), "i1")],
     "scaled_dot_product_attention: cannot broadcast shapes"),
    (lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, m, is_causal=True),
     [S((2, 3, 8)), S((2, 5, 8)), S((2, 5, 8)), S((3, 5), "i1")], "give either attn_mask or is_causal"),
    (lambda q, k, v: F.scaled_dot_product_attention(q, k, v, dropout_p=0.1), [S((2, 3, 8))] * 3, "dropout_p"),
    (lambda q, k, v, kc, vc: F.attention(q, k, v, kc, vc, 0), [S((1, 2, 1, 4))] * 3 + [S((1, 2, 8, 5))] * 2,
     "update_cache: new entries of shape"),
    (lambda q, k, v, kc, vc: F.attention(q, k, v, kc, vc, 0), [S((1, 2, 9, 4))] * 3 + [S((1, 2, 8, 4))] * 2,
     "update_cache: 9 new positions exceed the cache capacity 8"),
    (lambda q, k, v, kc, vc, p: F.attention(q, k, v, kc, vc, p), [S((1, 2, 1, 4))] * 3 + [S((1, 2, 8, 4))] * 2
     + [S((2,), "i32")], "attention: pos must be an integer scalar"),
    (lambda x, c, s: F.rotary_embedding(x, c, s), [S((1, 3, 4)), S((3, 6)), S((3, 6))],
     "rotary_embedding: rotary dim 6 must be even and at most the feature dim 4"),
    (lambda x: F.dropout(x, 0.5, training=True), [S((3,))], "dropout: training mode is not supported"),
    (lambda x: F.pad(x, (1, 2, 3)), [S((3, 4))], "pad: pad must hold pairs"),
    (lambda x: F.pad(x, (1, 1), mode="wrap"), [S((3, 4))],
     "pad: mode must be one of constant, reflect, replicate, circular, not 'wrap'"),
    (lambda x: F.pad(x, (4, 0), mode="reflect"), [S((3, 4))],
     r"pad: reflect padding \(4, 0\) must be smaller than dim 1 of size 4"),
    (lambda x: F.pad(x, (-2, 3), mode="circular"), [S((3, 4))],
     r"pad: circular padding \(-2, 3\) must be at most the size 2 dim 1 keeps"),
    (lambda i, w: F.embedding(i, w, max_norm=1.0), [S((3,), "i32"), S((10, 4), "i32")],
     "embedding: max_norm needs a float weight, not i32"),
    (lambda x, s: F.narrow(x, 0, s, 1), [S((3, 4)), S((1,), "i32")],
     "narrow: start must be an int or a rank-0 integer tensor, got tensor<1xi32>"),
    (lambda x: F.narrow(x, 0, -4, 1), [S((3, 4))], "narrow: start -4 and length 1 exceed dim 0 of size 3"),
    (lambda x: F.topk(x, 2), [S(())], r"topk: k = 2 is out of range for a rank-0 input \(0 or 1\)"),
    (lambda x: F.argmax(x, 1), [S(())], "argmax: argument 'dim': axis 1 is out of range for rank 0"),
    (lambda x: F.softmax(x, 1), [S(())], "softmax: argument 'dim': axis 1 is out of range for rank 0"),
    (lambda x: F.pad(x, (-3, -2)), [S((3, 4))], "pad: padding \\(-3, -2\\) crops dim 1 of size 4 below zero"),
    (lambda a, b: F.cat([a, b], 1), [S((2, 1)), S((3, 1))],
     "cat: operand 1 shape 3x1 differs from 2x1 outside axis 1"),
    (lambda x: F.cat([x], 2), [S((3, 4))], "cat: argument 'dim': axis 2 is out of range for rank 2"),
    (lambda x: F.narrow(x, -3, 0, 1), [S((3, 4))], "narrow: argument 'dim': axis -3 is out of range for rank 2"),
    (lambda x: F.split(x, [2, 2]), [S((5,))], r"split: sections \[2, 2\] do not add up to dim 0 of size 5"),
    (lambda x: F.topk(x, 5), [S((3, 4))], "topk: k = 5 is out of range for dim 1 of size 4"),
    (lambda x: F.argmax(x, 2), [S((3, 4))], "argmax: argument 'dim': axis 2 is out of range for rank 2"),
    (lambda x: F.clamp(x), [S((3,))], "clamp: at least one of min and max"),
    (lambda c, x, y: F.where(c, x, y), [S((3,), "i1"), S((4,)), S((4,))], "where: cannot broadcast shapes"),
]


@pytest.mark.parametrize("fn,specs,message", ERRORS, ids=[str(i) for i in range(len(ERRORS))])
def test_validation_message(fn, specs, message):
    with pytest.raises(TypeRuleError, match=message):
        ptir.trace(fn, *specs)

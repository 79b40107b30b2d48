"""Cases for every core op of PTIR.md, each against the torch computation that means
the same thing."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as TF

from ptir.dialect import dtypes as dt
from ptir.functional.tracer import current_tracer, spec

from .case import Case, booleans, fixed, integers, nonzero_integers, normal, permutation_rows, uniform
from .records import checked_ops, conformance_cases

T = {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16, "i32": torch.int32, "i64": torch.int64,
     "i8": torch.int8, "ui8": torch.uint8, "i1": torch.bool, "f64": torch.float64}


def emit(name, *operands, **kw):
    """Apply a core op directly (not through a functional): what the case tests."""
    return current_tracer().op(name, *operands, **kw)


def op_case(name, op, ptir, torch_fn, inputs, dtype="f32"):
    return Case(name, f"ptir.{op}", ptir, torch_fn, inputs, dtype)


# --- elementwise -------------------------------------------------------------------------------

def _elementwise_cases():
    """The ops with a record (OpDef.check) get their cases generated from it; below are
    the edges a record does not describe."""
    for op in checked_ops():
        yield from conformance_cases(op)
    yield op_case("exp_large_f32", "exp", lambda x: emit("exp", x), torch.exp,
                  [fixed(np.array([-100.0, -20.0, 0.0, 20.0, 88.0, 89.0, np.inf, -np.inf, np.nan], np.float32))])
    yield op_case("sign_f32_edges", "sign", lambda x: emit("sign", x), torch.sign,
                  [fixed(np.array([-2.0, -0.0, 0.0, 3.5, np.inf, -np.inf], np.float32))])
    yield op_case("max_nan_f32", "max", lambda a, b: emit("max", a, b), torch.maximum,
                  [fixed(np.array([np.nan, 1.0, -np.inf], np.float32)),
                   fixed(np.array([0.0, np.nan, 2.0], np.float32))])
    # Integer division and remainder truncate toward zero (torch's div needs rounding_mode for that).
    for op, fn in (("div", lambda a, b: torch.div(a, b, rounding_mode="trunc")), ("rem", torch.fmod)):
        yield op_case(f"{op}_i32", op, lambda a, b, op=op: emit(op, a, b), fn,
                      [integers((5, 7), -100, 100), nonzero_integers((5, 7), -20, 20)], "i32")
    yield op_case("pow_i32", "pow", lambda a, b: emit("pow", a, b), torch.pow,
                  [integers((3, 4), -5, 6), integers((3, 4), 0, 5)], "i32")


DIRECTIONS = {"lt": torch.lt, "le": torch.le, "eq": torch.eq, "ne": torch.ne, "ge": torch.ge, "gt": torch.gt}


def _compare_cases():
    special = fixed(np.array([1.0, np.nan, 2.0, -np.inf, 0.0, -0.0], np.float32))
    other = fixed(np.array([1.0, 1.0, np.nan, -np.inf, -0.0, 1.0], np.float32))
    for d, fn in DIRECTIONS.items():
        yield op_case(f"compare_{d}_f32", "compare", lambda a, b, d=d: emit("compare", a, b, direction=d), fn,
                      [integers((4, 9), -3, 3, "f32"), integers((4, 9), -3, 3, "f32")])
        yield op_case(f"compare_{d}_nan_f32", "compare", lambda a, b, d=d: emit("compare", a, b, direction=d), fn,
                      [special, other])
    yield op_case("compare_lt_i32", "compare", lambda a, b: emit("compare", a, b, direction="lt"), torch.lt,
                  [integers((6,), -3, 3), integers((6,), -3, 3)], "i32")


def _select_cast_cases():
    yield op_case("select_f32", "select", lambda p, a, b: emit("select", p, a, b), torch.where,
                  [booleans((3, 5)), normal((3, 5)), normal((3, 5))])
    casts = [("f32", "i32", normal((4, 6), scale=100.0)), ("f32", "f16", normal((4, 6))),
             ("f32", "bf16", normal((4, 6))), ("i32", "f32", integers((4, 6), -1000, 1000)),
             ("f32", "i1", fixed(np.array([0.0, -0.0, 1.5, np.nan, -3.0], np.float32))),
             ("i1", "f32", booleans((5,))), ("i64", "i32", integers((7,), -10**6, 10**6, "i64")),
             ("f16", "f32", normal((3, 3), "f16")), ("f32", "ui8", uniform((9,), 0.0, 255.0))]
    for src, dst, make in casts:
        def ptir_fn(x, dst=dst):
            return emit("cast", x, out=spec(x.shape, dst))
        yield op_case(f"cast_{src}_to_{dst}", "cast", ptir_fn, lambda x, dst=dst: x.to(T[dst]), [make], dst)


def _shape_cases():
    lit = np.arange(12, dtype=np.float32).reshape(3, 4) / 7
    yield op_case("constant_add_f32", "constant",
                  lambda x: x + emit("constant", out=spec((3, 4)), value=lit),
                  lambda x: x + torch.from_numpy(lit), [normal((3, 4))])
    yield op_case("iota_axis1_i32", "iota", lambda x: x + emit("iota", out=spec((3, 5), "i32"), axis=1),
                  lambda x: x + torch.arange(5, dtype=torch.int32).expand(3, 5), [integers((3, 5), 0, 9)], "i32")
    yield op_case("reshape_f32", "reshape", lambda x: emit("reshape", x, out=spec((6, 2, 5))),
                  lambda x: x.reshape(6, 2, 5), [normal((3, 4, 5))])
    yield op_case("broadcast_to_f32", "broadcast_to", lambda x: emit("broadcast_to", x, out=spec((2, 3, 4))),
                  lambda x: torch.broadcast_to(x, (2, 3, 4)), [normal((3, 1))])
    yield op_case("broadcast_scalar_f32", "broadcast_to", lambda x: emit("broadcast_to", x, out=spec((5, 2))),
                  lambda x: torch.broadcast_to(x, (5, 2)), [normal(())])
    yield op_case("transpose_f32", "transpose", lambda x: emit("transpose", x, perm=[2, 0, 1]),
                  lambda x: x.permute(2, 0, 1), [normal((2, 3, 5))])
    yield op_case("slice_strided_f32", "slice", lambda x: emit("slice", x, start=[1, 0], limit=[7, 9], stride=[2, 3]),
                  lambda x: x[1:7:2, 0:9:3], [normal((8, 9))])
    yield op_case("concat_axis1_f32", "concat", lambda a, b, c: emit("concat", a, b, c, axis=1),
                  lambda a, b, c: torch.cat([a, b, c], 1), [normal((2, 3)), normal((2, 1)), normal((2, 4))])
    yield op_case("pad_edges_f32", "pad", lambda x: emit("pad", x, low=[1, 2], high=[0, 3], value=-1.5),
                  lambda x: TF.pad(x, (2, 3, 1, 0), value=-1.5), [normal((3, 4))])
    yield op_case("pad_crop_f32", "pad", lambda x: emit("pad", x, low=[-1, 0], high=[1, -2]),
                  lambda x: TF.pad(x, (0, -2, -1, 1)), [normal((4, 5))])

    def interior(x):
        out = torch.zeros(x.shape[0] * 3 - 2, x.shape[1], dtype=x.dtype)
        out[::3] = x
        return out
    yield op_case("pad_interior_f32", "pad", lambda x: emit("pad", x, low=[0, 0], high=[0, 0], interior=[2, 0]),
                  interior, [normal((4, 3))])


REDUCE = {"sum": lambda x, d, k: torch.sum(x, d, keepdim=k), "max": lambda x, d, k: torch.amax(x, d, keepdim=k),
          "min": lambda x, d, k: torch.amin(x, d, keepdim=k), "prod": lambda x, d, k: torch.prod(x, d[0], keepdim=k)}


def _reduce_cases():
    for kind, fn in REDUCE.items():
        for dtype, shape, axes, keep in (("f32", (4, 37), [1], False), ("f32", (3, 5, 7), [-1], True),
                                         ("f16", (6, 9), [0], False)):
            scale = 0.5 if kind == "prod" else 1.0
            shift = 1.0 if kind == "prod" else 0.0
            name = f"reduce_{kind}_{dtype}_{'x'.join(map(str, shape))}"
            yield op_case(name, "reduce", lambda x, kind=kind, axes=axes, keep=keep:
                          emit("reduce", x, kind=kind, axes=axes, keepdims=keep),
                          lambda x, fn=fn, axes=axes, keep=keep: fn(x, axes, keep),
                          [normal(shape, dtype, scale, shift)], dtype)
    yield op_case("reduce_sum_two_axes_f32", "reduce", lambda x: emit("reduce", x, kind="sum", axes=[0, 2]),
                  lambda x: torch.sum(x, (0, 2)), [normal((5, 3, 64))])
    yield op_case("reduce_sum_wide_f32", "reduce", lambda x: emit("reduce", x, kind="sum", axes=[1]),
                  lambda x: torch.sum(x, 1), [normal((2, 4099))])
    yield op_case("reduce_sum_accum_f16", "reduce",
                  lambda x: emit("reduce", x, kind="sum", axes=[1], accum=dt.f32),
                  lambda x: torch.sum(x.float(), 1).half(), [normal((3, 500), "f16")], "f16")
    yield op_case("reduce_max_i32", "reduce", lambda x: emit("reduce", x, kind="max", axes=[1]),
                  lambda x: torch.amax(x, 1), [integers((4, 6), -99, 99)], "i32")
    for op, fn in (("argmax", torch.argmax), ("argmin", torch.argmin)):
        yield op_case(f"{op}_f32", op, lambda x, op=op: emit(op, x, axis=1), lambda x, fn=fn: fn(x, 1).int(),
                      [normal((5, 31))])
        yield op_case(f"{op}_ties_f32", op, lambda x, op=op: emit(op, x, axis=-1), lambda x, fn=fn: fn(x, -1).int(),
                      [fixed(np.array([[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, 2.0, 2.0]], np.float32))])


def _window_cases():
    yield op_case("reduce_window_max_f32", "reduce_window",
                  lambda x: emit("reduce_window", x, kind="max", window=[1, 1, 3, 3], strides=[1, 1, 2, 2],
                                 padding=[[0, 0], [0, 0], [1, 1], [1, 1]]),
                  lambda x: TF.max_pool2d(x, 3, 2, 1), [normal((1, 3, 9, 9))])
    yield op_case("reduce_window_sum_f32", "reduce_window",
                  lambda x: emit("reduce_window", x, kind="sum", window=[1, 1, 2, 2], strides=[1, 1, 2, 2]),
                  lambda x: TF.avg_pool2d(x, 2, 2) * 4, [normal((2, 2, 6, 8))])
    yield op_case("reduce_window_min_f32", "reduce_window",
                  lambda x: emit("reduce_window", x, kind="min", window=[3, 1], strides=[1, 1]),
                  lambda x: -TF.max_pool1d((-x).T.unsqueeze(0), 3, 1).squeeze(0).T, [normal((7, 3))])


def _linalg_cases():
    yield op_case("dot_general_matmul_f32", "dot_general",
                  lambda a, b: emit("dot_general", a, b, contract_lhs=[1], contract_rhs=[0]),
                  lambda a, b: a @ b, [normal((7, 129)), normal((129, 13))])
    yield op_case("dot_general_batched_f32", "dot_general",
                  lambda a, b: emit("dot_general", a, b, batch_lhs=[0], batch_rhs=[0], contract_lhs=[2],
                                    contract_rhs=[1]),
                  lambda a, b: torch.bmm(a, b), [normal((3, 5, 16)), normal((3, 16, 4))])
    yield op_case("dot_general_vector_f32", "dot_general",
                  lambda a, b: emit("dot_general", a, b, contract_lhs=[0], contract_rhs=[0]),
                  lambda a, b: torch.dot(a, b), [normal((1000,)), normal((1000,))])
    yield op_case("dot_general_f16", "dot_general",
                  lambda a, b: emit("dot_general", a, b, contract_lhs=[1], contract_rhs=[0]),
                  lambda a, b: a @ b, [normal((4, 32), "f16", 0.3), normal((32, 8), "f16", 0.3)], "f16")
    yield op_case("dot_general_i32", "dot_general",
                  lambda a, b: emit("dot_general", a, b, contract_lhs=[1], contract_rhs=[0]),
                  lambda a, b: a @ b, [integers((3, 4), -9, 9), integers((4, 2), -9, 9)], "i32")
    convs = [  # name, x shape, w shape, attrs, torch call
        ("conv_nchw_f32", (1, 3, 11, 11), (8, 3, 3, 3), dict(strides=[2, 2], padding=[[1, 1], [1, 1]]),
         lambda x, w: TF.conv2d(x, w, stride=2, padding=1)),
        ("conv_dilated_f32", (2, 4, 9, 9), (6, 4, 3, 3), dict(dilation=[2, 2]),
         lambda x, w: TF.conv2d(x, w, dilation=2)),
        ("conv_depthwise_f32", (1, 6, 8, 8), (6, 1, 3, 3), dict(groups=6, padding=[[1, 1], [1, 1]]),
         lambda x, w: TF.conv2d(x, w, padding=1, groups=6)),
        ("conv_grouped_f32", (1, 4, 7, 7), (6, 2, 1, 1), dict(groups=2), lambda x, w: TF.conv2d(x, w, groups=2)),
        ("conv_1d_f32", (2, 3, 20), (5, 3, 4), dict(strides=[3]), lambda x, w: TF.conv1d(x, w, stride=3)),
    ]
    for name, xs, ws, attrs, fn in convs:
        yield op_case(name, "conv", lambda x, w, attrs=attrs: emit("conv", x, w, **attrs), fn,
                      [normal(xs), normal(ws, scale=0.3)])
    yield op_case("conv_nhwc_f32", "conv",
                  lambda x, w: emit("conv", x, w, layout="nhwc", padding=[[1, 1], [1, 1]]),
                  lambda x, w: TF.conv2d(x.permute(0, 3, 1, 2), w.permute(3, 2, 0, 1), padding=1).permute(0, 2, 3, 1),
                  [normal((1, 6, 6, 5)), normal((3, 3, 5, 4), scale=0.3)])


def _indexing_cases():
    yield op_case("take_axis0_f32", "take", lambda x, i: emit("take", x, i, axis=0),
                  lambda x, i: x[i.long()], [normal((10, 4)), integers((2, 3), 0, 10)])
    yield op_case("take_axis1_f32", "take", lambda x, i: emit("take", x, i, axis=1),
                  lambda x, i: torch.index_select(x, 1, i.long()), [normal((3, 8)), integers((5,), 0, 8, "i64")])
    yield op_case("gather_f32", "gather", lambda x, i: emit("gather", x, i, axis=1),
                  lambda x, i: torch.gather(x, 1, i.long()), [normal((4, 6)), integers((4, 3), 0, 6, "i64")])
    for red, tred in (("add", "sum"), ("max", "amax"), ("min", "amin")):
        yield op_case(f"scatter_{red}_f32", "scatter", lambda x, i, u, red=red: emit("scatter", x, i, u, axis=1,
                                                                                      reduce=red),
                      lambda x, i, u, tred=tred: torch.scatter_reduce(x, 1, i.long(), u, tred),
                      [normal((3, 5)), integers((3, 4), 0, 5, "i64"), normal((3, 4))])
    yield op_case("scatter_replace_f32", "scatter", lambda x, i, u: emit("scatter", x, i, u, axis=1),
                  lambda x, i, u: torch.scatter(x, 1, i.long(), u),
                  [normal((3, 5)), permutation_rows((3, 5)), normal((3, 5))])

    def clamped(x, start, sizes):
        begin = [min(max(int(s), 0), n - k) for s, n, k in zip(start.tolist(), x.shape, sizes, strict=True)]
        return begin
    yield op_case("dynamic_slice_f32", "dynamic_slice",
                  lambda x, s: emit("dynamic_slice", x, s, out=spec((2, 3))),
                  lambda x, s: x[tuple(slice(b, b + k) for b, k in zip(clamped(x, s, (2, 3)), (2, 3), strict=True))],
                  [normal((5, 7)), fixed(np.array([1, 3], np.int32))])
    yield op_case("dynamic_slice_clamped_f32", "dynamic_slice",
                  lambda x, s: emit("dynamic_slice", x, s, out=spec((2, 3))),
                  lambda x, s: x[tuple(slice(b, b + k) for b, k in zip(clamped(x, s, (2, 3)), (2, 3), strict=True))],
                  [normal((5, 7)), fixed(np.array([9, -4], np.int64))])

    def updated(x, u, s):
        y = x.clone()
        b = clamped(x, s, u.shape)
        y[b[0]:b[0] + u.shape[0], b[1]:b[1] + u.shape[1]] = u
        return y
    for name, start in (("dynamic_update_slice_f32", [2, 1]), ("dynamic_update_slice_clamped_f32", [7, -2])):
        yield op_case(name, "dynamic_update_slice", lambda x, u, s: emit("dynamic_update_slice", x, u, s), updated,
                      [normal((6, 4)), normal((2, 3)), fixed(np.array(start, np.int32))])

    def stable_topk(x, k, largest=True):
        # torch.topk does not promise an order among ties; a stable sort does (PTIR's rule).
        v, i = torch.sort(x, dim=-1, descending=largest, stable=True)
        return v[..., :k], i[..., :k].int()
    yield op_case("top_k_f32", "top_k", lambda x: emit("top_k", x, k=5), lambda x: stable_topk(x, 5),
                  [normal((3, 40))])
    yield op_case("top_k_ties_f32", "top_k", lambda x: emit("top_k", x, k=3), lambda x: stable_topk(x, 3),
                  [fixed(np.array([[1.0, 2.0, 2.0, 0.0, 2.0], [5.0, 5.0, 5.0, 5.0, 5.0]], np.float32))])
    yield op_case("top_k_smallest_f32", "top_k", lambda x: emit("top_k", x, k=2, largest=False),
                  lambda x: stable_topk(x, 2, largest=False), [normal((4, 9))])


def cases() -> list[Case]:
    out = []
    for gen in (_elementwise_cases, _compare_cases, _select_cast_cases, _shape_cases, _reduce_cases,
                _window_cases, _linalg_cases, _indexing_cases):
        out.extend(gen())
    return out

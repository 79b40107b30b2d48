"""ONNX's own backend test cases as a conformance source: every node case
(`onnx.backend.test.case.node`, generated with their expected outputs by onnx itself)
and every model case the installed onnx package ships (`onnx/backend/test/data`: light
model-zoo networks, pytorch-converted, pytorch-operator, simple), each imported with
ptir.from_onnx, compiled for a target and compared with the expected outputs under
ONNX's own tolerance (rtol 1e-3, atol 1e-7, or the case's), unless a rule of
configs/conformance.json (test `onnx.<kind>.<case>`) says otherwise, with its reason.

Each case ends in one status: passed, failed (a wrong result, or a compile or run
error), unsupported (the import refused it, or the target cannot run its dtypes; the
reason is the importer's), out of scope (random ops, training), or xfail / xpass where a
rule of configs/conformance.json marks a known target failure (with its reason).
"""

from __future__ import annotations

import glob
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from functools import cache

import numpy as np

KINDS = ("node", "light", "pytorch-converted", "pytorch-operator", "simple")
STATUSES = ("passed", "failed", "unsupported", "out of scope", "xfail", "xpass")
RANDOM_OPS = {"RandomNormal", "RandomNormalLike", "RandomUniform", "RandomUniformLike", "Bernoulli", "Multinomial"}
TRAINING_OPS = {"Gradient"}

# The CI sample (tests/importers/test_onnx_backend.py): node cases for the compiled targets,
# one per entry of the table (the smallest case that reaches it), and a few for the paths
# inside entries (padding, dilation, negative steps, interpolation modes, function bodies).
CI_SAMPLE = (
    "test_abs", "test_add", "test_and2d", "test_argmax_keepdims_random", "test_argmin_keepdims_random",
    "test_averagepool_2d_ceil", "test_batchnorm_epsilon", "test_bitshift_left_int8", "test_bitwise_and_i16_3d",
    "test_bitwise_not_2d", "test_bitwise_or_i16_4d", "test_bitwise_xor_i16_3d", "test_cast_FLOAT16_to_FLOAT",
    "test_castlike_FLOAT16_to_FLOAT", "test_ceil", "test_celu", "test_clip", "test_compress_0",
    "test_concat_1d_axis_0", "test_constant", "test_constantofshape_int_zeros", "test_conv_with_autopad_same",
    "test_convtranspose", "test_cos", "test_cosh", "test_cumprod_2d_int32", "test_cumsum_2d_int32",
    "test_depthtospace_example", "test_dequantizelinear", "test_div", "test_dropout_default", "test_elu",
    "test_equal", "test_erf", "test_exp", "test_expand_dim_changed", "test_eyelike_without_dtype",
    "test_flatten_axis0", "test_floor", "test_gather_0", "test_gather_elements_0", "test_gathernd_example_int32",
    "test_gelu_tanh_1", "test_gemm_beta", "test_globalaveragepool", "test_globalmaxpool", "test_greater",
    "test_greater_equal", "test_group_normalization_epsilon", "test_hardsigmoid", "test_hardswish",
    "test_hardmax_axis_0", "test_identity", "test_if", "test_instancenorm_epsilon", "test_isinf", "test_isnan",
    "test_lrn", "test_layer_normalization_2d_axis0", "test_leakyrelu", "test_less", "test_less_equal", "test_log",
    "test_logsoftmax_axis_0", "test_l1normalization_axis_0", "test_lppool_2d_pads", "test_matmul_2d",
    "test_matmulinteger", "test_max_int8", "test_maxpool_2d_ceil", "test_mean_example", "test_mvn", "test_min_int8",
    "test_mish", "test_mod_uint8", "test_mul", "test_neg", "test_nonzero_example", "test_not_2d",
    "test_onehot_with_axis", "test_or2d", "test_prelu_example", "test_edge_pad", "test_pow", "test_quantizelinear",
    "test_rms_normalization_2d_axis0", "test_range_float_type_positive_delta", "test_reciprocal",
    "test_reduce_l1_empty_set", "test_reduce_l2_empty_set", "test_reduce_log_sum_default",
    "test_reduce_log_sum_exp_empty_set", "test_reduce_max_empty_set", "test_reduce_mean_keepdims_random",
    "test_reduce_min_empty_set", "test_reduce_prod_empty_set", "test_reduce_sum_empty_set",
    "test_reduce_sum_square_empty_set", "test_relu", "test_reshape_one_dim", "test_resize_tf_crop_and_resize",
    "test_round", "test_scatter_elements_with_axis", "test_scatternd", "test_selu", "test_shape", "test_shrink_hard",
    "test_sigmoid", "test_sign", "test_sin", "test_sinh", "test_size", "test_slice", "test_softmax_axis_0",
    "test_softplus", "test_softsign", "test_spacetodepth", "test_split_equal_parts_2d", "test_sqrt", "test_squeeze",
    "test_sub", "test_sum_example", "test_swish", "test_tan", "test_tanh", "test_thresholdedrelu", "test_tile",
    "test_top_k", "test_transpose_default", "test_tril", "test_unsqueeze_axis_0", "test_where_example", "test_xor2d",
    "test_einsum_batch_matmul_bfloat16", "test_conv_with_strides_and_asymmetric_padding", "test_maxpool_3d_default",
    "test_averagepool_2d_pads_count_include_pad", "test_resize_upsample_scales_linear",
    "test_resize_upsample_sizes_nearest", "test_resize_downsample_scales_cubic", "test_convtranspose_pads",
    "test_slice_neg_steps", "test_gather_negative_indices", "test_layer_normalization_3d_axis_negative_1_epsilon",
    "test_softmax_large_number", "test_attention_3d", "test_nllloss_NCd1", "test_reflect_pad",
    "test_maxpool_2d_dilations", "test_split_variable_parts_2d_opset18", "test_mod_mixed_sign_int32",
    "test_lstm_with_peepholes", "test_gru_bidirectional", "test_simple_rnn_defaults", "test_loop11", "test_scan9_sum",
    "test_asinh", "test_acosh", "test_atanh",
)

# The part of CI_SAMPLE CI runs on llvm-cpu, whose compiles take ~0.5 s each: the cases whose
# lowering has the most structure (windows, padding, gathers and scatters, interpolation,
# normalisations, attention, quantisation, integer arithmetic).
CI_SAMPLE_LLVM = (
    "test_conv_with_autopad_same", "test_conv_with_strides_and_asymmetric_padding", "test_convtranspose_pads",
    "test_maxpool_2d_ceil", "test_maxpool_3d_default", "test_maxpool_2d_dilations",
    "test_averagepool_2d_pads_count_include_pad", "test_averagepool_2d_ceil", "test_lppool_2d_pads",
    "test_globalaveragepool", "test_batchnorm_epsilon", "test_layer_normalization_3d_axis_negative_1_epsilon",
    "test_group_normalization_epsilon", "test_instancenorm_epsilon", "test_lrn", "test_rms_normalization_2d_axis0",
    "test_gemm_beta", "test_matmul_2d", "test_einsum_batch_matmul_bfloat16", "test_matmulinteger",
    "test_softmax_large_number", "test_logsoftmax_axis_0", "test_attention_3d", "test_nllloss_NCd1",
    "test_resize_upsample_scales_linear", "test_resize_upsample_sizes_nearest",
    "test_resize_downsample_scales_cubic", "test_resize_tf_crop_and_resize", "test_reflect_pad", "test_edge_pad",
    "test_slice_neg_steps", "test_gather_negative_indices", "test_gather_elements_0", "test_gathernd_example_int32",
    "test_scatter_elements_with_axis", "test_scatternd", "test_cumsum_2d_int32", "test_cumprod_2d_int32",
    "test_top_k", "test_argmax_keepdims_random", "test_hardmax_axis_0", "test_onehot_with_axis", "test_tril",
    "test_tile", "test_depthtospace_example", "test_split_variable_parts_2d_opset18",
    "test_reduce_log_sum_exp_empty_set", "test_reduce_max_empty_set", "test_reduce_mean_keepdims_random",
    "test_quantizelinear", "test_dequantizelinear", "test_round", "test_mod_mixed_sign_int32",
    "test_bitshift_left_int8", "test_cast_FLOAT16_to_FLOAT", "test_gelu_tanh_1", "test_mish", "test_where_example",
    "test_lstm_with_peepholes", "test_scan9_sum",
)


@dataclass
class OnnxCase:
    """One test of ONNX's suite: its name (`test_abs`), kind (node, light, ...), and how to
    load its model and data sets [(inputs, expected outputs)]."""

    name: str
    kind: str
    rtol: float
    atol: float
    source: object = field(repr=False)   # onnx's TestCase (node) or the model's file

    @property
    def test(self) -> str:
        """The id tolerance rules match: `onnx.node.test_abs`."""
        return f"onnx.{self.kind}.{self.name}"

    def load(self):
        """(model, [(inputs, outputs), ...])."""
        if self.kind == "node":
            from .onnx_backend import onnx_value

            return self.source.model, [([onnx_value(x) for x in i], [onnx_value(x) for x in o])
                                       for i, o in self.source.data_sets]
        if self.kind == "light":
            return _light(self.source)
        return _model_dir(self.source)


@cache
def _node_tests():
    import warnings

    from onnx.backend.test.loader import load_model_tests

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return load_model_tests(kind="node")


def data_dir() -> str:
    import onnx

    return os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data")


def _site() -> str:
    import onnx

    return os.path.dirname(os.path.dirname(onnx.__file__))


def cases(kinds=KINDS) -> list[OnnxCase]:
    """The cases of `kinds` ("node", "light", "pytorch-converted", "pytorch-operator",
    "simple"), sorted by name within each kind."""
    out = []
    for kind in kinds:
        if kind == "node":
            out += [OnnxCase(t.name, "node", t.rtol, t.atol, t) for t in sorted(_node_tests(), key=lambda t: t.name)]
        elif kind == "light":
            import json

            for f in sorted(glob.glob(os.path.join(data_dir(), "real", "*", "data.json"))):
                with open(f) as fh:
                    meta = json.load(fh)
                out.append(OnnxCase(os.path.basename(os.path.dirname(f)), "light", meta.get("rtol", 1e-3),
                                    meta.get("atol", 1e-7), os.path.join(_site(), meta["url"])))
        else:
            for d in sorted(glob.glob(os.path.join(data_dir(), kind, "test_*"))):
                if os.path.exists(os.path.join(d, "model.onnx")):
                    out.append(OnnxCase(os.path.basename(d), kind, 1e-3, 1e-7, d))
    return out


def select(selected: list[OnnxCase], pattern: str | None = None, ci: bool = False) -> list[OnnxCase]:
    """The cases whose test id (`onnx.node.test_abs`) or name (`test_abs`) matches
    `pattern` (a glob, or a substring of the id); with `ci`, only the CI sample's."""
    import fnmatch

    if ci:
        selected = [c for c in selected if c.kind == "node" and c.name in CI_SAMPLE]
    if pattern:
        selected = [c for c in selected if fnmatch.fnmatchcase(c.test, pattern) or fnmatch.fnmatchcase(c.name, pattern)
                    or pattern in c.test]
    return selected


def _read(path: str, type_proto):
    import onnx
    from onnx import numpy_helper

    with open(path, "rb") as f:
        data = f.read()
    kind = type_proto.WhichOneof("value") if type_proto is not None else "tensor_type"
    if kind == "sequence_type":
        seq = onnx.SequenceProto()
        seq.ParseFromString(data)
        return numpy_helper.to_list(seq)
    if kind == "optional_type":
        opt = onnx.OptionalProto()
        opt.ParseFromString(data)
        return numpy_helper.to_optional(opt)
    t = onnx.TensorProto()
    t.ParseFromString(data)
    return numpy_helper.to_array(t)


def _model_dir(d: str):
    import onnx

    model = onnx.load(os.path.join(d, "model.onnx"))
    sets = []
    for s in sorted(glob.glob(os.path.join(d, "test_data_set_*"))):
        n_in = len(glob.glob(os.path.join(s, "input_*.pb")))
        n_out = len(glob.glob(os.path.join(s, "output_*.pb")))
        ins = [_read(os.path.join(s, f"input_{i}.pb"), model.graph.input[i].type) for i in range(n_in)]
        outs = [_read(os.path.join(s, f"output_{i}.pb"), model.graph.output[i].type) for i in range(n_out)]
        sets.append((ins, outs))
    return model, sets


def _light(path: str):
    """A light model-zoo network: its inputs as onnx's runner makes them (arange / n over
    each non-initializer input), its expected output shipped beside it."""
    import onnx
    from onnx.backend.test.runner import Runner

    path = os.path.normpath(path)
    model = onnx.load(path)
    inits = {i.name for i in model.graph.initializer}
    ins = [Runner.generate_dummy_data(i, seed=0, name=path, random=False) for i in model.graph.input
           if i.name not in inits]
    outs = [_read(f"{os.path.splitext(path)[0]}_output_{i}.pb", o.type) for i, o in enumerate(model.graph.output)]
    return model, [(ins, outs)]


def out_of_scope(model) -> str | None:
    """Why a case is outside what PTIR means to run (random ops, training), or None."""
    def nodes(graph):
        for n in graph.node:
            yield n
            for a in n.attribute:
                for g in ([a.g] if a.HasField("g") else []) + list(a.graphs):
                    yield from nodes(g)

    for n in nodes(model.graph):
        if n.op_type in RANDOM_OPS or (n.op_type == "Dropout" and len(n.input) > 2 and n.input[2]):
            return f"random ({n.op_type})"
        if n.domain == "ai.onnx.preview.training" or n.op_type in TRAINING_OPS:
            return f"training ({n.op_type})"
        if n.op_type == "BatchNormalization" and any(a.name == "training_mode" and a.i for a in n.attribute):
            return "training (BatchNormalization training_mode=1)"
    return None


def lacked_type(model) -> str | None:
    """The first value type of `model` (graph inputs, outputs, initializers, and every value
    ONNX's shape inference types) that PTIR lacks: a dtype (`dtype uint16`), a sequence or
    an optional; None when all are tensors of PTIR's dtypes.  Such a case is outside the
    scope the issue's goal counts ("inference ops on the dtypes PTIR has")."""
    import onnx
    from onnx import helper

    from ptir.importers.onnx import DTYPES

    try:
        graph = onnx.shape_inference.infer_shapes(model).graph
    except Exception:   # noqa: BLE001 - a model onnx cannot infer: judged by what it declares
        graph = model.graph
    types = [v.type for v in [*graph.input, *graph.output, *graph.value_info]]
    elems = [i.data_type for i in graph.initializer]
    for t in types:
        kind = t.WhichOneof("value")
        if kind in ("sequence_type", "optional_type", "map_type", "sparse_tensor_type"):
            return f"a {kind.removesuffix('_type')} value"
        if kind == "tensor_type":
            elems.append(t.tensor_type.elem_type)
    for e in elems:
        if e != onnx.TensorProto.UNDEFINED and e not in DTYPES:
            return f"dtype {helper.tensor_dtype_to_string(e).removeprefix('TensorProto.').lower()}"
    return None


@dataclass
class OnnxResult:
    test: str
    target: str
    status: str                     # passed | failed | unsupported | out of scope | xfail | xpass
    reason: str = ""
    max_abs_err: float | None = None
    atol: float | None = None
    rtol: float | None = None
    rule: str = "onnx"
    seconds: float = 0.0
    lacks: str | None = None        # a value type PTIR lacks (lacked_type): outside the goal's scope

    def as_json(self) -> dict:
        return dict(self.__dict__)


def tolerance(case: OnnxCase, target: str, rules) -> tuple[float, float, str, str | None]:
    """(atol, rtol, where from, xfail): ONNX's own for the case unless a rule of `rules`
    names this test (or its kind) with its reason."""
    t = rules.lookup(case.test, target) if rules is not None else None
    if t is None or not t.rule.startswith("rules"):
        return case.atol, case.rtol, "onnx", t.xfail if t is not None else None
    return t.atol, t.rtol, t.rule, t.xfail


def run_case(case: OnnxCase, target: str, rules=None, passes=None) -> OnnxResult:
    """Import, compile and run one case on `target`, compared with its expected outputs."""
    from ptir.importers.onnx import OnnxImportError

    from .onnx_backend import ptir_backend
    from .tolerance import compare

    start = time.perf_counter()
    atol, rtol, rule, xfail = tolerance(case, target, rules)
    result = OnnxResult(case.test, target, "passed", atol=atol, rtol=rtol, rule=rule)
    try:
        model, sets = case.load()
    except Exception as e:   # a case whose data onnx itself cannot read
        return _done(result, "unsupported", f"cannot load the case: {type(e).__name__}: {e}", start)
    why = out_of_scope(model)
    if why:
        return _done(result, "out of scope", why, start)
    result.lacks = lacked_type(model)
    try:
        rep = ptir_backend(target, passes).prepare(model)
        worst = 0.0
        for inputs, want in sets:
            got = rep.run(inputs)
            if len(got) != len(want):
                return _done(result, "failed", f"{len(got)} outputs, expected {len(want)}", start, xfail)
            for i, (g, w) in enumerate(zip(got, want, strict=True)):
                if not isinstance(w, np.ndarray):
                    return _done(result, "unsupported", f"output {i} is a {type(w).__name__}", start)
                if g.dtype != w.dtype:
                    return _done(result, "failed", f"output {i}: dtype {g.dtype}, expected {w.dtype}", start, xfail)
                c = compare(g, w, atol, max(rtol, 2.0 ** -6) if w.dtype.name == "bfloat16" else rtol)
                worst = max(worst, c.max_abs_err)
                if not c.ok:
                    result.max_abs_err = worst
                    return _done(result, "failed", f"output {i}: {c.message}", start, xfail)
        result.max_abs_err = worst
    except OnnxImportError as e:
        return _done(result, "unsupported", _first_reason(str(e)), start)
    except Exception as e:   # a compile or run error (a crash in a target is a failure, never a pass)
        return _done(result, "failed", f"{type(e).__name__}: {_first_line(str(e))}", start, xfail)
    return _done(result, "passed", "", start, xfail)


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


def _first_reason(text: str) -> str:
    """The first listed problem of an import error (`Op (ai.onnx opset N): why`)."""
    lines = text.strip().splitlines()
    if len(lines) > 1:
        return lines[1].strip().split(" (x")[0]
    return _first_line(text).removeprefix("error: ")


def _done(result: OnnxResult, status: str, reason: str, start: float, xfail: str | None = None) -> OnnxResult:
    """Settle a result; a rule's xfail turns a failure into `xfail` and a pass into `xpass`."""
    if xfail:
        status, reason = ("xfail", f"{reason} (xfail: {xfail})") if status == "failed" else ("xpass", xfail)
    result.status, result.reason = status, reason
    result.seconds = round(time.perf_counter() - start, 4)
    return result


def run_cases(selected: list[OnnxCase], target: str, rules=None, passes=None, progress=None) -> list[OnnxResult]:
    """Every case on one target; `progress(1)` after each."""
    import warnings

    out = []
    for case in selected:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            out.append(run_case(case, target, rules, passes))
        progress and progress(1)
    return out


def summary(results: list[OnnxResult]) -> dict:
    """Counts per status, and each status's share of all cases (in percent); `in scope`:
    the cases neither out of scope nor holding a value type PTIR lacks (the issue's
    "inference ops on the dtypes PTIR has"), and `passed in scope`, with its share of them."""
    counts = Counter(r.status for r in results)
    total = len(results)
    scope = [r for r in results if r.status != "out of scope" and not r.lacks]
    passed = sum(r.status == "passed" for r in scope)
    return {"cases": total, **{s: counts.get(s, 0) for s in STATUSES},
            "share": {s: round(100.0 * counts.get(s, 0) / max(total, 1), 1) for s in STATUSES},
            "in scope": len(scope), "passed in scope": passed,
            "passed, share of in scope": round(100.0 * passed / max(len(scope), 1), 1)}


def reasons(results: list[OnnxResult], status: str, most: int = 20) -> list[tuple[str, int]]:
    """The most common reasons of one status, with their counts."""
    return Counter(r.reason for r in results if r.status == status).most_common(most)


def summary_markdown(results: dict[str, list[OnnxResult]], most: int = 12) -> str:
    """Per target, and per kind of case when there are several: the cases and each
    status's count (with its share of all cases), the in-scope cases and the passed share
    of them (summary), then the commonest reasons for refusing (on the first target)."""
    lines = ["| target | kind | cases | " + " | ".join(STATUSES) + " | in scope | passed, share of in scope |",
             "|---|---|---|" + "---|" * (len(STATUSES) + 2)]
    for target, rs in results.items():
        kinds = sorted({r.test.split(".")[1] for r in rs}, key=lambda k: KINDS.index(k) if k in KINDS else 99)
        for kind, part in [("all", rs)] + ([(k, [r for r in rs if r.test.split(".")[1] == k]) for k in kinds]
                                           if len(kinds) > 1 else []):
            s = summary(part)
            lines.append(f"| {target} | {kind} | {s['cases']} | "
                         + " | ".join(f"{s[k]} ({s['share'][k]}%)" for k in STATUSES)
                         + f" | {s['in scope']} | {s['passed in scope']} ({s['passed, share of in scope']}%) |")
    first = next(iter(results.values()), [])
    common = reasons(first, "unsupported", most)
    if common:
        lines += ["", "| unsupported because | cases |", "|---|---|"]
        lines += [f"| {why} | {n} |" for why, n in common]
    return "\n".join(lines)

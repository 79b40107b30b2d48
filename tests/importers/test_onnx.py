"""The ONNX importer: a small network with weights end to end (Python and ptirc), the one
error listing every unsupported node, opset conversion, external data, values computed
at import, inputs bound to constants, the CI sample covering the table, and docs/onnx.md
generated from it.  ONNX's own suite runs in test_onnx_backend.py."""

from __future__ import annotations

import os
import re

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

import ptir
from ptir.cli import main
from ptir.conformance import onnx_cases
from ptir.importers.onnx import ONNX, OnnxImportError, from_onnx, op_table_markdown

RNG = np.random.default_rng(0)
DOCS = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "onnx.md")


def weight(name, *shape):
    return numpy_helper.from_array((RNG.standard_normal(shape) * 0.3).astype(np.float32), name)


def model(nodes, inputs, outputs, initializers=(), opset=17):
    graph = helper.make_graph(nodes, "g", inputs, outputs, list(initializers))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def vi(name, shape, dtype=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, dtype, shape)


def convnet(opset=17):
    """Conv, BatchNormalization, Relu, MaxPool, a Shape-computed Reshape and a Gemm: the
    shape of a light model-zoo network."""
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1], name="conv"),
        helper.make_node("BatchNormalization", ["c", "scale", "bias", "mean", "var"], ["n"], epsilon=1e-3),
        helper.make_node("Relu", ["n"], ["r"]),
        helper.make_node("MaxPool", ["r"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Shape", ["p"], ["s"]),
        helper.make_node("Gather", ["s", "zero"], ["batch"], axis=0),
        helper.make_node("Unsqueeze", ["batch", "zero1"], ["b1"]),
        helper.make_node("Concat", ["b1", "minus1"], ["flat_shape"], axis=0),
        helper.make_node("Reshape", ["p", "flat_shape"], ["f"]),
        helper.make_node("Gemm", ["f", "fc_w", "fc_b"], ["y"], transB=1),
    ]
    inits = [weight("w", 4, 3, 3, 3), weight("b", 4), weight("scale", 4), weight("bias", 4), weight("mean", 4),
             numpy_helper.from_array(np.abs(RNG.standard_normal(4)).astype(np.float32) + 0.5, "var"),
             weight("fc_w", 5, 64), weight("fc_b", 5),
             numpy_helper.from_array(np.array(0, np.int64), "zero"),
             numpy_helper.from_array(np.array([0], np.int64), "zero1"),
             numpy_helper.from_array(np.array([-1], np.int64), "minus1")]
    return model(nodes, [vi("x", [2, 3, 8, 8])], [vi("y", [2, 5])], inits, opset)


def expected(m, *inputs):
    feeds = {i.name: x for i, x in zip([i for i in m.graph.input if i.name not in {t.name for t in
                                                                                    m.graph.initializer}],
                                       inputs, strict=True)}
    return ReferenceEvaluator(m).run(None, feeds)


def test_a_network_with_weights_on_every_target():
    m = convnet()
    program, weights = from_onnx(m)
    fn = program.entry()
    assert [a.value.name for a in fn.inputs] == ["x"]
    assert sorted(weights) == sorted(fn.params) == ["b", "bias", "fc_b", "fc_w", "mean", "scale", "var", "w"]
    assert "ptir.param = \"fc_w\"" in str(program)
    assert "zero" not in weights   # read at import, to compute the Reshape's shape
    x = RNG.standard_normal((2, 3, 8, 8)).astype(np.float32)
    (want,) = expected(m, x)
    for target in ("ref", "llvm-cpu"):
        got = ptir.compile(program, target=target, params=weights)(x)
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_every_unsupported_node_is_listed_once(tmp_path, capsys):
    nodes = [helper.make_node("Det", ["x"], ["d1"], name="det_a"), helper.make_node("Det", ["x"], ["d2"], name="det_b"),
             helper.make_node("MaxPool", ["x4"], ["p", "i"], kernel_shape=[2, 2], name="pool"),
             helper.make_node("Add", ["d1", "d2"], ["y"])]
    m = model(nodes, [vi("x", [2, 3, 3]), vi("x4", [1, 1, 4, 4])], [vi("y", [2]), vi("p", [1, 1, 2, 2]),
                                                                  vi("i", [1, 1, 2, 2], TensorProto.INT64)])
    with pytest.raises(OnnxImportError) as e:
        from_onnx(m)
    text = str(e.value)
    assert "cannot import 3 nodes (2 distinct)" in text
    assert 'Det (ai.onnx opset 17): no mapping to PTIR (x2) at node "det_a"; node "det_b"' in text
    assert 'MaxPool (ai.onnx opset 17): the Indices output (x1) at node "pool"' in text
    path = tmp_path / "m.onnx"
    onnx.save(m, path)
    assert main(["import", str(path), "-o", str(tmp_path / "m.ptir")]) == 1
    err = capsys.readouterr().err
    assert "Det (ai.onnx opset 17): no mapping to PTIR (x2)" in err and "Traceback" not in err
    assert not (tmp_path / "m.ptir").exists()


def test_ptirc_imports_lowers_and_runs_an_onnx_file(tmp_path, capsys):
    m = convnet()
    path = tmp_path / "net.onnx"
    onnx.save(m, path)
    x = RNG.standard_normal((2, 3, 8, 8)).astype(np.float32)
    np.savez(tmp_path / "in.npz", x=x)
    (want,) = expected(m, x)
    assert main(["import", str(path), "-o", str(tmp_path / "net.ptir"), "--params-out", str(tmp_path / "w.st")]) == 0
    assert main(["run", str(tmp_path / "net.ptir"), "--params", str(tmp_path / "w.st"), "--inputs",
                 str(tmp_path / "in.npz"), "-o", str(tmp_path / "a.npz")]) == 0
    assert main(["run", str(path), "--inputs", str(tmp_path / "in.npz"), "-o", str(tmp_path / "b.npz")]) == 0
    assert main(["lower", str(path), "--target", "llvm-cpu", "-o", str(tmp_path / "net.vmfb")]) == 0
    assert main(["run", str(tmp_path / "net.vmfb"), "--params", str(tmp_path / "w.st"), "--inputs",
                 str(tmp_path / "in.npz"), "-o", str(tmp_path / "c.npz")]) == 0
    for f in ("a", "b", "c"):
        np.testing.assert_allclose(np.load(tmp_path / f"{f}.npz")["result0"], want, rtol=1e-4, atol=1e-5)


def test_external_data_is_read_beside_the_model(tmp_path):
    m = convnet()
    fc_w = numpy_helper.to_array(m.graph.initializer[6])
    onnx.save_model(m, tmp_path / "ext.onnx", save_as_external_data=True, all_tensors_to_one_file=True,
                    location="ext.data", size_threshold=0)   # moves every initializer's bytes to ext.data
    assert (tmp_path / "ext.data").exists()
    program, weights = from_onnx(str(tmp_path / "ext.onnx"))
    np.testing.assert_array_equal(weights["fc_w"], fc_w)


def test_an_old_opset_is_converted_first():
    """Opset 9: Unsqueeze's axes are an attribute, BatchNormalization has no training_mode."""
    nodes = [helper.make_node("Unsqueeze", ["x"], ["u"], axes=[0]), helper.make_node("Relu", ["u"], ["y"])]
    m = model(nodes, [vi("x", [3, 4])], [vi("y", [1, 3, 4])], opset=9)
    program, _ = from_onnx(m)
    x = RNG.standard_normal((3, 4)).astype(np.float32)
    np.testing.assert_array_equal(ptir.compile(program)(x), np.maximum(x, 0)[None])


def test_values_known_at_import_are_computed_then():
    """ConstantOfShape, Range and shape arithmetic become literals (a splat stays one element)."""
    nodes = [helper.make_node("Shape", ["x"], ["s"]),
             helper.make_node("ConstantOfShape", ["s"], ["ones"],
                              value=numpy_helper.from_array(np.ones(1, np.float32))),
             helper.make_node("Range", ["start", "limit", "delta"], ["r"]),
             helper.make_node("Cast", ["r"], ["rf"], to=TensorProto.FLOAT),
             helper.make_node("Add", ["x", "ones"], ["a"]), helper.make_node("Add", ["a", "rf"], ["y"])]
    inits = [numpy_helper.from_array(np.array(v, np.int64), n) for n, v in (("start", 0), ("limit", 64),
                                                                           ("delta", 1))]
    m = model(nodes, [vi("x", [128, 64])], [vi("y", [128, 64])], inits)
    program, weights = from_onnx(m)
    text = str(program)
    assert "dense<1.0> : tensor<128x64xf32>" in text and weights == {}
    x = RNG.standard_normal((128, 64)).astype(np.float32)
    np.testing.assert_array_equal(ptir.compile(program)(x), x + 1 + np.arange(64, dtype=np.float32))


def test_a_shape_given_at_run_time_is_bound_by_value():
    nodes = [helper.make_node("Reshape", ["x", "shape"], ["y"])]
    m = model(nodes, [vi("x", [2, 6]), vi("shape", [2], TensorProto.INT64)], [vi("y", None)])
    with pytest.raises(OnnxImportError) as e:
        from_onnx(m)
    assert e.value.inputs_needed == ("shape",) and "must be known at import" in str(e.value)
    program, _ = from_onnx(m, constants={"shape": np.array([3, 4])})
    assert [a.value.name for a in program.entry().inputs] == ["x"]
    assert ptir.compile(program)(np.arange(12, dtype=np.float32).reshape(2, 6)).shape == (3, 4)


def test_a_dynamic_dim_is_fixed_by_shapes():
    m = model([helper.make_node("Relu", ["x"], ["y"])], [vi("x", ["N", 4])], [vi("y", ["N", 4])])
    with pytest.raises(OnnxImportError, match="no static shape"):
        from_onnx(m)
    program, _ = from_onnx(m, shapes={"x": (3, 4)})
    assert str(program.entry().inputs[0].value.type) == "tensor<3x4xf32>"


def test_random_and_training_are_out_of_scope():
    m = model([helper.make_node("RandomNormal", [], ["y"], shape=[2])], [], [vi("y", [2])])
    with pytest.raises(OnnxImportError, match="random"):
        from_onnx(m)
    assert onnx_cases.out_of_scope(m) == "random (RandomNormal)"


def test_the_ci_sample_covers_every_mapping():
    """Every entry of the table (and every op imported through its function body) is
    reached by a node case the CI runs on the compiled targets."""
    by_name = {c.name: c for c in onnx_cases.cases(["node"])}
    missing = [n for n in onnx_cases.CI_SAMPLE if n not in by_name]
    assert not missing, f"CI_SAMPLE names cases onnx does not have: {missing}"
    reached = {node.op_type for n in onnx_cases.CI_SAMPLE for node in by_name[n].source.model.graph.node}
    untested = sorted(set(ONNX) - reached)
    assert not untested, f"no CI case reaches {untested}: add one to onnx_cases.CI_SAMPLE"


def test_docs_table_is_generated_from_the_table():
    with open(DOCS, encoding="utf-8") as f:
        text = f.read()
    found = re.search(r"<!-- BEGIN ptirc import --onnx-ops -->\n(.*?)<!-- END ptirc import --onnx-ops -->", text,
                      re.S)
    assert found, "docs/onnx.md lacks the generated op table"
    assert found.group(1) == op_table_markdown(), \
        "docs/onnx.md's op table is stale: regenerate it with `ptirc import --onnx-ops` (see docs/onnx.md)"


def test_ptirc_conformance_runs_onnx_cases(tmp_path, capsys):
    report = tmp_path / "r.json"
    assert main(["conformance", "--onnx", "ci", "--target", "ref", "-k", "test_relu", "--report", str(report)]) == 0
    out = capsys.readouterr().out
    assert "| ref | all | 1 | 1 (100.0%) | 0 (0.0%)" in out
    assert "| 0 (0.0%) | 1 | 1 (100.0%) |" in out   # xpass, then in scope and the passed share of them
    assert '"status": "passed"' in report.read_text()
    assert main(["conformance", "--onnx", "node", "-k", "test_bernoulli*", "--list"]) == 0
    assert "onnx.node.test_bernoulli" in capsys.readouterr().out


def test_ptirc_import_fixes_a_dynamic_dim(tmp_path, capsys):
    m = model([helper.make_node("Relu", ["x"], ["y"])], [vi("x", ["N", 4])], [vi("y", ["N", 4])])
    onnx.save(m, tmp_path / "dyn.onnx")
    assert main(["import", str(tmp_path / "dyn.onnx"), "-o", str(tmp_path / "a.ptir")]) == 1
    assert "ptirc import --shape" in capsys.readouterr().err
    assert main(["import", str(tmp_path / "dyn.onnx"), "-o", str(tmp_path / "a.ptir"), "--shape", "x=3x4"]) == 0
    assert "%x: tensor<3x4xf32>" in (tmp_path / "a.ptir").read_text()


def splat_conv_model():
    """ConstantOfShape weights (the light model zoo's) into a Conv, then a ReduceSum: the
    shapes for which XLA 0.10.2's YNNPACK reduction fusion gave NaN or garbage."""
    fill = helper.make_tensor("v", TensorProto.FLOAT, [1], [0.02])
    nodes = [helper.make_node("Constant", [], ["wshape"], value=numpy_helper.from_array(np.array([32, 3, 3, 3]))),
             helper.make_node("ConstantOfShape", ["wshape"], ["w"], value=fill),
             helper.make_node("Conv", ["x", "w"], ["y"]),
             helper.make_node("ReduceSum", ["y", "axes"], ["z"], keepdims=0)]
    axes = numpy_helper.from_array(np.array([2, 3]), "axes")
    return model(nodes, [vi("x", [1, 3, 16, 16])], [vi("z", [1, 32])], [axes])


@pytest.mark.parametrize("target", ["xla-cpu", "llvm-cpu"])
def test_a_convolution_with_a_splat_kernel_is_right(target):
    m = splat_conv_model()
    x = RNG.random((1, 3, 16, 16)).astype(np.float32)
    (want,) = ReferenceEvaluator(m).run(None, {"x": x})
    program, weights = from_onnx(m)
    got = ptir.compile(program, target=target, params=weights)(x)
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-5)


def test_reduce_window_padding_no_window_reads_is_cut():
    """The lowering cuts the high padding (and input rows) the last window does not reach,
    for every program (an imported pooling's own padding included); the result is the
    reference's."""
    from ptir.lower_stablehlo.module import lower

    prog = ptir.parse("""module {
      func @main(%x: tensor<1x2x7x7xf32>) -> tensor<1x2x3x4xf32> {
        %0 = ptir.reduce_window %x {kind = "max", window = [1, 1, 2, 3], strides = [1, 1, 2, 2],
                                    padding = [[0, 0], [0, 0], [0, 0], [1, 2]]} : tensor<1x2x3x4xf32>
        return %0
      }
    }""")
    text = lower(prog).text
    assert "limit_indices = array<i64: 1, 2, 6, 7>" in text                 # row 7 is never read
    assert "padding = dense<[[0, 0], [0, 0], [0, 0], [1, 1]]>" in text      # nor the second padded column
    x = RNG.standard_normal((1, 2, 7, 7)).astype(np.float32)
    want = np.asarray(ptir.compile(prog, target="ref")(x))
    for target in ("llvm-cpu", "xla-cpu"):
        np.testing.assert_array_equal(np.asarray(ptir.compile(prog, target=target)(x)), want)


def test_f64_stays_f64_on_llvm_cpu():
    """IREE would demote f64 to f32 by default; the module keeps it."""
    m = model([helper.make_node("Mul", ["x", "x"], ["y"])], [vi("x", [3], TensorProto.DOUBLE)],
              [vi("y", [3], TensorProto.DOUBLE)])
    x = np.array([1 + 1e-12, 3.0, -2.5e100], np.float64)   # in f32: 1 and inf
    program, weights = from_onnx(m)
    got = np.asarray(ptir.compile(program, target="llvm-cpu", params=weights)(x))
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, ReferenceEvaluator(m).run(None, {"x": x})[0])


def test_cases_with_types_ptir_lacks_are_outside_the_goals_scope():
    relu = [helper.make_node("Relu", ["x"], ["y"])]
    assert onnx_cases.lacked_type(model(relu, [vi("x", [2])], [vi("y", [2])])) is None
    cast = [helper.make_node("Cast", ["x"], ["y"], to=TensorProto.UINT16)]
    assert onnx_cases.lacked_type(model(cast, [vi("x", [2])], [vi("y", [2], TensorProto.UINT16)])) == "dtype uint16"
    seq = [helper.make_node("SequenceConstruct", ["x"], ["s"])]
    out = helper.make_tensor_sequence_value_info("s", TensorProto.FLOAT, [2])
    assert onnx_cases.lacked_type(model(seq, [vi("x", [2])], [out])) == "a sequence value"
    results = [onnx_cases.OnnxResult("a", "ref", "passed"), onnx_cases.OnnxResult("b", "ref", "unsupported"),
               onnx_cases.OnnxResult("c", "ref", "unsupported", lacks="dtype uint16"),
               onnx_cases.OnnxResult("d", "ref", "out of scope")]
    s = onnx_cases.summary(results)
    assert (s["cases"], s["in scope"], s["passed in scope"], s["passed, share of in scope"]) == (4, 2, 1, 50.0)


@pytest.mark.parametrize("content", [b"", b"\x08\x07"])
def test_an_empty_file_is_not_a_model(content, tmp_path, capsys):
    """Protobuf parses zero bytes (and a bare ir_version) as a model with no graph: refused,
    and nothing is written."""
    p = tmp_path / "empty.onnx"
    p.write_bytes(content)
    with pytest.raises(OnnxImportError, match="empty.onnx"):
        from_onnx(str(p))
    assert main(["import", str(p), "-o", str(tmp_path / "e.ptir")]) == 1
    assert "empty.onnx" in capsys.readouterr().err and not (tmp_path / "e.ptir").exists()

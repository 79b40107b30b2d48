"""conv-algorithm: each algorithm against torch's conv2d on every target, the choice
table and its fallback, the context a compile gives the pass, and the weight transform
folded at compile time."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import ptir
import ptir.functional as F
import ptir.nn as nn
from ptir.errors import UsageError
from ptir.passes import PASSES, PassContext, run_pipeline
from ptir.passes.conv_algorithm import ALGORITHMS, applicable, choose, load_table, winograd_matrices

torch = pytest.importorskip("torch")

ROOT = Path(__file__).resolve().parents[2]


class ConvReLU(nn.Module):
    """relu(conv2d(x) + bias), NCHW in and out as torch has it: channels-last makes it NHWC."""

    def __init__(self, cin, cout, k, stride, padding, groups):
        super().__init__()
        self.c = nn.Conv2d(cin, cout, k, stride, padding, groups=groups, bias=True)

    def forward(self, x):
        return F.relu(self.c(x))


# (n, h, w, cin, cout, k, stride, padding, groups): odd sizes, padding 0 and 1, batch 2,
# outputs that Winograd's 2x2 and 4x4 tiles overhang (9x11, 5x4), 1x1, stride 2, depthwise.
SHAPES = {
    "3x3 pad1 batch2 9x11": (2, 9, 11, 5, 7, 3, 1, 1, 1),
    "3x3 pad0 7x6": (1, 7, 6, 4, 3, 3, 1, 0, 1),
    "3x3 stride2 pad1": (2, 9, 11, 6, 8, 3, 2, 1, 1),
    "1x1": (2, 5, 7, 6, 8, 1, 1, 0, 1),
    "depthwise pad1": (2, 9, 11, 6, 6, 3, 1, 1, 6),
    "depthwise stride2": (1, 10, 7, 4, 4, 3, 2, 1, 4),
}
CASES = {"im2col": ["3x3 pad1 batch2 9x11", "3x3 stride2 pad1", "1x1"],
         "winograd2": ["3x3 pad1 batch2 9x11", "3x3 pad0 7x6"],
         "winograd4": ["3x3 pad1 batch2 9x11", "3x3 pad0 7x6"],
         "shifted": ["depthwise pad1", "depthwise stride2"]}
# Error bound relative to the largest output, against torch in float64.  F(4x4, 3x3)
# multiplies by up to 8 and divides by 24 in its transforms: measured 0.7-1.9e-6 on these
# shapes (Lavin & Gray report the same order); the others measured below 2e-7.
BOUND = {"winograd4": 1e-5}


def _layer(shape, seed=0):
    n, h, w, cin, cout, k, stride, padding, groups = shape
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, cin, h, w)).astype(np.float32)
    wt = (rng.standard_normal((cout, cin // groups, k, k)) / np.sqrt(cin // groups * k * k)).astype(np.float32)
    b = rng.standard_normal(cout).astype(np.float32)
    want = torch.relu(torch.nn.functional.conv2d(*(torch.from_numpy(a).double() for a in (x, wt, b)),
                                                 stride=stride, padding=padding, groups=groups)).numpy()
    return ConvReLU(cin, cout, k, stride, padding, groups), x, {"c.weight": wt, "c.bias": b}, want


@pytest.mark.parametrize("target", ["ref", "llvm-cpu", "xla-cpu"])
@pytest.mark.parametrize("algorithm,shape", [(a, s) for a, ss in CASES.items() for s in ss])
def test_algorithm_matches_torch(algorithm, shape, target):
    module, x, params, want = _layer(SHAPES[shape])
    compiled = ptir.compile(module, ptir.spec(x.shape), target=target, params=params, conv_algorithm=algorithm,
                            cache=False) if target == "llvm-cpu" else \
        ptir.compile(module, ptir.spec(x.shape), target=target, params=params, conv_algorithm=algorithm)
    assert "conv" not in [op.name for op in compiled.program.entry().ops], "the algorithm was not applied"
    err = np.abs(compiled(x) - want).max() / np.abs(want).max()
    assert err < BOUND.get(algorithm, 1e-6), f"{algorithm} on {shape}, {target}: relative error {err:.2e}"


@pytest.mark.parametrize("m", [2, 4])
def test_winograd_matrices_compute_a_correlation(m):
    # The 1-D minimal filtering F(m, 3): Aᵀ[(G g) ⊙ (Bᵀ d)] is the valid correlation of d with g.
    at, g, bt = winograd_matrices(m)
    rng = np.random.default_rng(m)
    for _ in range(5):
        d, k = rng.standard_normal(m + 2), rng.standard_normal(3)
        np.testing.assert_allclose(at @ ((g @ k) * (bt @ d)), np.correlate(d, k, "valid"), rtol=1e-12, atol=1e-12)


def test_weight_transform_is_folded_once():
    module, x, params, want = _layer(SHAPES["3x3 pad1 batch2 9x11"])
    compiled = ptir.compile(module, ptir.spec(x.shape), target="ref", params=params, conv_algorithm="winograd4")
    fn = compiled.program.entry()
    weights = {a.param: a.value.type.shape for a in fn.args if a.param is not None}
    assert weights["c.weight.folded"] == (6, 6, 5, 7)   # G g Gᵀ at the 6x6 positions, computed once
    param_values = {id(a.value) for a in fn.args if a.param is not None}
    dots_on_weights = [op for op in fn.ops if op.name == "dot_general" and id(op.operands[0]) in param_values]
    assert dots_on_weights == []


def test_without_a_target_nothing_changes():
    module, x, params, _ = _layer(SHAPES["3x3 pad1 batch2 9x11"])
    program, _ = ptir.functional.capture.capture(module.forward, [ptir.spec(x.shape)], params)
    before = run_pipeline(program, ["canonicalize", "channels-last"])
    for context in (None, PassContext(), PassContext("ref", "avx512")):
        after = run_pipeline(before, ["conv-algorithm"], context=context)
        assert str(after) == str(before)
    forced = run_pipeline(before, ["conv-algorithm"], context=PassContext(conv_algorithm="im2col"))
    assert "ptir.conv" not in str(forced)


def test_applicable():
    def conv(shape, dtype="f32"):
        n, h, w, cin, cout, k, stride, padding, groups = shape
        oh, ow = ((h + 2 * padding - k) // stride + 1), ((w + 2 * padding - k) // stride + 1)
        text = f"""module {{
  func @main(%x: tensor<{n}x{h}x{w}x{cin}x{dtype}>, %w: tensor<{k}x{k}x{cin // groups}x{cout}x{dtype}>) -> tensor<{n}x{oh}x{ow}x{cout}x{dtype}> {{
    %0 = ptir.conv %x, %w {{layout = "nhwc", strides = [{stride}, {stride}], padding = [[{padding}, {padding}], [{padding}, {padding}]], groups = {groups}}} : tensor<{n}x{oh}x{ow}x{cout}x{dtype}>
    return %0
  }}
}}"""   # noqa: E501
        return ptir.parse(text).entry().ops[0]

    assert applicable(conv(SHAPES["3x3 pad0 7x6"])) == ("direct", "im2col", "winograd2", "winograd4")
    assert applicable(conv(SHAPES["3x3 pad0 7x6"], "f16")) == ("direct", "im2col")
    assert applicable(conv(SHAPES["3x3 stride2 pad1"])) == ("direct", "im2col")
    assert applicable(conv(SHAPES["depthwise pad1"])) == ("direct", "shifted")
    assert applicable(conv(SHAPES["3x3 pad0 7x6"], "i32")) == ("direct",)
    assert applicable(conv((0, 7, 6, 4, 3, 3, 1, 0, 1))) == ("direct",)   # empty: nothing to choose


def test_a_transposed_convolution_stays_direct():
    """A conv over an input spread out with zeros (ONNX ConvTranspose with strides 2): the
    exact zeros of its output stay exact (Winograd gave 1.5e-7 where ONNX's test wants 0)."""
    text = """module {
  func @main(%x: tensor<1x4x4x3xf32>, %w: tensor<3x3x3x2xf32>) -> tensor<1x5x5x2xf32> {
    %0 = ptir.pad %x {low = [0, 0, 0, 0], high = [0, 0, 0, 0], interior = [0, 1, 1, 0]} : tensor<1x7x7x3xf32>
    %1 = ptir.conv %0, %w {layout = "nhwc"} : tensor<1x5x5x2xf32>
    return %1
  }
}"""
    assert applicable(ptir.parse(text).entry().ops[1]) == ("direct",)


def _shape(h, cin, cout, k=3, stride=1, groups=1):
    return {"n": 1, "h": h, "w": h, "cin": cin, "cout": cout, "kernel": [k, k], "stride": [stride, stride],
            "groups": groups}


def test_choice_and_fallback():
    entries = ({"target": "llvm-cpu", "cpu": "avx2", "shape": _shape(56, 64, 64), "choice": "winograd4"},
               {"target": "llvm-cpu", "cpu": "avx2", "shape": _shape(7, 512, 512), "choice": "winograd2"},
               {"target": "llvm-cpu", "cpu": "avx2", "shape": _shape(56, 144, 144, groups=144), "choice": "direct"})
    dense = ("direct", "im2col", "winograd2", "winograd4")
    assert choose(_shape(56, 64, 64), dense, "llvm-cpu", "avx2", entries) == "winograd4"     # measured
    assert choose(_shape(8, 384, 384), dense, "llvm-cpu", "avx2", entries) == "winograd2"    # nearest
    assert choose(_shape(48, 48, 64), dense, "llvm-cpu", "avx2", entries) == "winograd4"
    assert choose(_shape(56, 64, 64), dense, "llvm-cpu", "avx512", entries) == "direct"     # CPU not measured
    assert choose(_shape(56, 64, 64), dense, "xla-cpu", "avx2", entries) == "direct"        # target not measured
    assert choose(_shape(56, 64, 64, k=1), dense, "llvm-cpu", "avx2", entries) == "direct"  # no 1x1 measured
    assert choose(_shape(56, 64, 64), ("direct", "im2col"), "llvm-cpu", "avx2", entries) == "direct"  # not suited


def test_shipped_table():
    entries = load_table()
    assert entries, "configs/conv_algorithms.json is missing or empty"
    for e in entries:
        s = e["shape"]
        assert e["choice"] in e["ms"], e
        if e["choice"].startswith("winograd"):
            assert s["kernel"] == [3, 3] and s["stride"] == [1, 1] and s["groups"] == 1, e
        if e["choice"] == "shifted":
            assert s["groups"] == s["cin"] == s["cout"], e


def test_bad_table_and_bad_algorithm(tmp_path):
    bad = tmp_path / "t.json"
    bad.write_text(json.dumps({"entries": [{"target": "llvm-cpu", "cpu": "avx2", "choice": "fft"}]}))
    with pytest.raises(UsageError, match="not a convolution algorithm table"):
        load_table(str(bad))
    with pytest.raises(UsageError, match="unknown convolution algorithm 'fft'"):
        ptir.compile(lambda x: F.relu(x), ptir.spec((2,)), target="ref", conv_algorithm="fft")


def test_compile_gives_the_pass_its_context(monkeypatch):
    seen = []
    real = PASSES["conv-algorithm"]
    monkeypatch.setitem(PASSES, "conv-algorithm", real.__class__(real.name, lambda p, c: seen.append(c) or p,
                                                                 real.description, True, True))
    ptir.compile(lambda x: F.relu(x), ptir.spec((2,)), target="xla-cpu", conv_algorithm="shifted")
    (context,) = seen
    assert (context.target, context.conv_algorithm) == ("xla-cpu", "shifted")
    assert context.cpu in ("avx512", "avx2", "generic")
    assert PASSES["conv-algorithm"].reassociates and "conv-algorithm" in ptir.passes.DEFAULT_PIPELINE


def test_cli_option(tmp_path):
    src = tmp_path / "conv.ptir"
    src.write_text((ROOT / "tests/passes/lit/conv-algorithm.ptir").read_text().split("// -----")[0])
    ptirc = [sys.executable, "-m", "ptir.cli"]
    r = subprocess.run([*ptirc, "lower", str(src), "-t", "xla-cpu", "--emit", "stablehlo", "-o",
                        str(tmp_path / "o.mlir"), "--conv-algorithm", "winograd2"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "stablehlo.convolution" not in (tmp_path / "o.mlir").read_text()
    r = subprocess.run([*ptirc, "run", str(src), "--conv-algorithm", "fft"], capture_output=True, text=True)
    assert r.returncode == 2 and "invalid choice: 'fft'" in r.stderr and "Traceback" not in r.stderr
    r = subprocess.run([*ptirc, "run", str(tmp_path / "m.vmfb"), "--conv-algorithm", "winograd2"],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "a .vmfb is compiled already" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.skipif(pytest.importorskip("onnxruntime") is None, reason="needs the bench extra")
def test_benchmark_quick(tmp_path):
    out = tmp_path / "table.json"
    r = subprocess.run([sys.executable, str(ROOT / "benchmarks/conv_layers.py"), "--quick",
                        "--targets", "xla-cpu", "--write", str(out)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    entries = load_table.__wrapped__(str(out))
    assert len(entries) == 3 and all(e["target"] == "xla-cpu" and e["choice"] in ALGORITHMS for e in entries)
    assert "| layer |" in r.stdout and "ONNX Runtime" in r.stdout

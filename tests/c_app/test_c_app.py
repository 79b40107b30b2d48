"""The C application of examples/c, built against IREE's C runtime: the same numbers as
`ptirc run` (and torch) for modules ptirc lowers, and one-line errors for bad input."""

from __future__ import annotations

import os
import re

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

from ptir.configs import CONFORMANCE
from ptir.conformance.tolerance import compare, load_rules

from .app import ROOT, build, ptirc, run_app

RULES = load_rules(CONFORMANCE)


def assert_ok(r):
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""


def assert_one_line_error(r, *fragments: str, code: int = 1):
    """Exit `code` (not a signal), one line on stderr naming the problem."""
    assert r.returncode == code, (r.returncode, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith(("ptir_app: error: ", "ptir_app_embedded: error: ")), lines[0]
    for f in fragments:
        assert f in lines[0], (f, lines[0])


def test_build_script_prints_the_app_relative_to_the_checkout(c_app):
    out = build()   # cached: only checks that nothing changed
    assert out == {"ptir_app": c_app}
    assert os.path.relpath(c_app, ROOT) == os.path.join("build", "c_app", "build", "ptir_app")


# --- the same numbers as ptirc run -----------------------------------------------------------

@pytest.mark.parametrize("device", ["local-task", "local-sync"])
def test_mlp_weights_as_parameters(c_app, mlp, tmp_path, device):
    y = tmp_path / "y.npy"
    r = run_app(c_app, mlp["vmfb"], "--params", mlp["weights"], "--input", mlp["x"], "--output", str(y),
                "--device", device)
    assert_ok(r)
    assert r.stdout.startswith("result0: 4x3xf32=[")
    got = np.load(y)
    assert got.dtype == np.float32 and got.shape == (4, 3)
    np.testing.assert_array_equal(got, mlp["want"])   # the same compiled code: the same bits


def test_mlp_weights_embedded(c_app, mlp, tmp_path):
    y = tmp_path / "y.npy"
    assert_ok(run_app(c_app, mlp["embedded"], "--input", mlp["x"], "--output", str(y)))
    tol = RULES.lookup("mlp", "llvm-cpu", "f32")   # constants folded by IREE: not always the same bits
    c = compare(np.load(y), mlp["want"], tol.atol, tol.rtol)
    assert c.ok, c.message


def test_module_compiled_into_the_binary(c_app, mlp, tmp_path):
    app = build("--embed", mlp["vmfb"])["ptir_app_embedded"]
    y = tmp_path / "y.npy"
    assert_ok(run_app(app, "--params", mlp["weights"], "--input", mlp["x"], "--output", str(y)))
    np.testing.assert_array_equal(np.load(y), mlp["want"])
    assert_one_line_error(run_app(app, "--input", mlp["x"]), "pass --params")
    assert_one_line_error(run_app(app, mlp["vmfb"]), "unexpected argument", code=2)


def top5(logits):
    return list(np.argsort(-logits.ravel(), kind="stable")[:5])


@pytest.mark.parametrize("device", ["local-task", "local-sync"])
def test_tiny_mobilenet_v2(c_app, mobilenet, tmp_path, device):
    y = tmp_path / "logits.npy"
    r = run_app(c_app, mobilenet["vmfb"], "--params", mobilenet["weights"], "--input", mobilenet["input"],
                "--output", str(y), "--device", device)
    assert_ok(r)
    got = np.load(y)
    tol = RULES.lookup("model.mobilenet_v2", "llvm-cpu", "f32")
    for name in ("ptirc", "torch"):
        want = mobilenet[name]
        c = compare(got, want, tol.atol, tol.rtol)
        assert c.ok, f"against {name}: {c.message}"
        assert top5(got) == top5(want), name
    assert np.abs(got - mobilenet["ptirc"]).max() <= 1e-6   # the same module on the same runtime code


def test_mobilenet_v2_with_the_file_ptirc_export_writes(c_app, mobilenet, tmp_path):
    exported = tmp_path / "w.safetensors"
    ptirc("export", "--model", "mobilenet_v2", "--size", "tiny", "-o", str(exported))
    y = tmp_path / "logits.npy"
    assert_ok(run_app(c_app, mobilenet["vmfb"], "--params", str(exported), "--input", mobilenet["input"],
                      "--output", str(y)))
    np.testing.assert_array_equal(np.load(y), mobilenet["ptirc"])


def test_bench_prints_the_median_latency(c_app, mobilenet):
    r = run_app(c_app, mobilenet["vmfb"], "--params", mobilenet["weights"], "--input", mobilenet["input"],
                "--bench", "5", "--warmup", "1", "--threads", "1")
    assert_ok(r)
    m = re.search(r"^latency: median ([0-9.]+) ms, min ([0-9.]+) ms, max ([0-9.]+) ms over 5 runs after 1 "
                  r"warm-up \(local-task\)$", r.stdout, re.M)
    assert m and 0 < float(m[2]) <= float(m[1]) <= float(m[3]), r.stdout


# --- bad input: one line, a non-zero exit, never a crash -------------------------------------

def damaged(tmp_path, data: bytes, name: str) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def test_bad_modules(c_app, mlp, tmp_path):
    data = open(mlp["vmfb"], "rb").read()
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0x10
    run = lambda path, *extra: run_app(c_app, path, "--params", mlp["weights"], "--input", mlp["x"], *extra)  # noqa: E731
    assert_one_line_error(run(str(tmp_path / "nope.vmfb")), "nope.vmfb", "NOT_FOUND")
    assert_one_line_error(run(damaged(tmp_path, bytes(flipped), "flipped.vmfb")),
                          "flipped.vmfb is damaged: its PTIR checksum does not match")
    digit = b"1" if data[-2:-1] == b"0" else b"0"
    assert_one_line_error(run(damaged(tmp_path, data[:-2] + digit + b"\n", "seal.vmfb")), "seal.vmfb is damaged")
    assert_one_line_error(run(damaged(tmp_path, data[:-1], "short.vmfb")), "short.vmfb is damaged")
    # Cut short, the seal is gone: IREE would not notice damage to the machine code.
    assert_one_line_error(run(damaged(tmp_path, data[: len(data) // 2], "cut.vmfb")), "cut.vmfb has no PTIR seal",
                          "--allow-unsealed")
    assert_one_line_error(run(damaged(tmp_path, b"", "empty.vmfb")), "empty.vmfb")
    assert_one_line_error(run(damaged(tmp_path, os.urandom(4096), "random.vmfb"), "--allow-unsealed"),
                          "random.vmfb")
    assert_one_line_error(run(str(tmp_path)), "loading")   # a folder


def test_unsealed_module_loads_when_allowed(c_app, mlp, tmp_path):
    data = open(mlp["vmfb"], "rb").read()
    body = data[: data.rindex(b"\n#PTIR-SHA256:")]
    path = damaged(tmp_path, body, "unsealed.vmfb")
    run = lambda *extra: run_app(c_app, path, "--params", mlp["weights"], "--input", mlp["x"], *extra)  # noqa: E731
    assert_one_line_error(run(), "no PTIR seal")
    assert_ok(run("--allow-unsealed"))


def test_bad_inputs(c_app, mlp, tmp_path):
    np.save(tmp_path / "wide.npy", np.zeros((4, 9), np.float32))
    np.save(tmp_path / "ints.npy", np.zeros((4, 8), np.int32))
    (tmp_path / "text.npy").write_text("not an array\n")
    run = lambda *inputs: run_app(c_app, mlp["vmfb"], "--params", mlp["weights"],  # noqa: E731
                                  *[a for p in inputs for a in ("--input", str(p))])
    assert_one_line_error(run(tmp_path / "nope.npy"), "reading input", "nope.npy")
    assert_one_line_error(run(tmp_path / "wide.npy"), "wide.npy holds 4x9xf32 but main's argument %x is "
                                                      "tensor<4x8xf32>")
    assert_one_line_error(run(tmp_path / "ints.npy"), "ints.npy holds 4x8xsi32")
    assert_one_line_error(run(tmp_path / "text.npy"), "text.npy")
    assert_one_line_error(run(), "main takes 1 input(s)", "got 0")
    assert_one_line_error(run(mlp["x"], mlp["x"]), "main takes 1 input(s)", "got 2")


def test_bad_weights(c_app, mlp, tmp_path):
    weights = load_file(mlp["weights"])
    save_file({k: v for k, v in weights.items() if k != "fc2.weight"}, tmp_path / "missing.safetensors")
    save_file(dict(weights, **{"fc1.bias": weights["fc1.bias"].astype(np.float64)}), tmp_path / "f64.safetensors")
    save_file(dict(weights, **{"fc1.weight": weights["fc1.weight"][:, :15].copy()}), tmp_path / "small.safetensors")
    (tmp_path / "junk.safetensors").write_bytes(b"\xff" * 64)
    run = lambda *params: run_app(c_app, mlp["vmfb"], "--input", mlp["x"],  # noqa: E731
                                  *[a for p in params for a in ("--params", str(p))])
    assert_one_line_error(run(), "main reads 3 weight(s) as IREE parameters", "--params W.safetensors")
    assert_one_line_error(run(tmp_path / "nope.safetensors"), "nope.safetensors", "NOT_FOUND")
    assert_one_line_error(run(tmp_path / "missing.safetensors"), "no weight named 'fc2.weight'")
    assert_one_line_error(run(tmp_path / "f64.safetensors"), "weight 'fc1.bias' has 128 bytes but main's %b1 is "
                                                             "tensor<16xf32> (64 bytes)")
    assert_one_line_error(run(tmp_path / "small.safetensors"), "weight 'fc1.weight' has 480 bytes")
    assert_one_line_error(run(tmp_path / "junk.safetensors"), "junk.safetensors")


def test_bad_usage_and_environment(c_app, mlp, tmp_path):
    args = (mlp["vmfb"], "--params", mlp["weights"], "--input", mlp["x"])
    assert_one_line_error(run_app(c_app, *args, "--device", "cuda"), "creating the cuda device")
    assert_one_line_error(run_app(c_app, *args, "--output", str(tmp_path / "no" / "y.npy")), "writing result 0")
    assert_one_line_error(run_app(c_app, *args, "--output", str(tmp_path / "a.npy"), "--output",
                                  str(tmp_path / "b.npy")), "main returns 1 result(s)")
    assert_one_line_error(run_app(c_app, *args, "--bench", "0"), "bad --bench '0'", code=2)
    assert_one_line_error(run_app(c_app, *args, "--threads=x"), "bad --threads 'x'", code=2)
    assert_one_line_error(run_app(c_app, *args, "--warmup"), "missing value for --warmup", code=2)
    assert_one_line_error(run_app(c_app, *args, "--frobnicate"), "unknown option --frobnicate", code=2)
    assert_one_line_error(run_app(c_app), "no MODEL.vmfb given", code=2)
    r = run_app(c_app, "--help")
    assert r.returncode == 0 and r.stdout.startswith("usage: ptir_app MODEL.vmfb")

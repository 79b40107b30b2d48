"""`ptirc lower` artifacts: run by ptirc, by the stock iree-run-module, and by an app
that uses only iree.runtime."""

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from ptir.cli import main
from ptir.weights import save_params

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
MLP = os.path.join(ROOT, "examples", "mlp.ptir")


@pytest.fixture
def lowered(tmp_path, mlp_params, mlp_input):
    save_params(mlp_params, tmp_path / "w.safetensors")
    np.save(tmp_path / "x.npy", mlp_input)
    np.savez(tmp_path / "in.npz", x=mlp_input)
    assert main(["lower", MLP, "--target", "llvm-cpu", "-o", str(tmp_path / "mlp.vmfb")]) == 0
    return tmp_path


def _ref(tmp_path):
    assert main(["run", MLP, "--target", "ref", "--params", str(tmp_path / "w.safetensors"),
                 "--inputs", str(tmp_path / "in.npz"), "-o", str(tmp_path / "ref.npz")]) == 0
    return np.load(tmp_path / "ref.npz")["result0"]


def test_vmfb_is_small_and_runs_under_ptirc(lowered):
    assert os.path.getsize(lowered / "mlp.vmfb") < 64 * 1024
    assert main(["run", str(lowered / "mlp.vmfb"), "--params", str(lowered / "w.safetensors"),
                 "--inputs", str(lowered / "in.npz"), "-o", str(lowered / "out.npz")]) == 0
    np.testing.assert_allclose(np.load(lowered / "out.npz")["result0"], _ref(lowered), rtol=1e-5, atol=1e-6)


def test_vmfb_runs_under_iree_run_module(lowered):
    tool = shutil.which("iree-run-module") or os.path.join(os.path.dirname(sys.executable), "iree-run-module")
    subprocess.run([tool, f"--module={lowered / 'mlp.vmfb'}", "--device=local-task", "--function=main",
                    f"--input=@{lowered / 'x.npy'}", f"--parameters=model={lowered / 'w.safetensors'}",
                    f"--output=@{lowered / 'y.npy'}"], check=True, capture_output=True)
    assert main(["run", str(lowered / "mlp.vmfb"), "--params", str(lowered / "w.safetensors"),
                 "--inputs", str(lowered / "in.npz"), "-o", str(lowered / "out.npz")]) == 0
    np.testing.assert_array_equal(np.load(lowered / "y.npy"), np.load(lowered / "out.npz")["result0"])


def test_example_app_uses_only_iree_runtime(lowered):
    app = os.path.join(ROOT, "examples", "embed_app.py")
    source = open(app).read()
    assert "import ptir" not in source and "from ptir" not in source
    subprocess.run([sys.executable, app, str(lowered / "mlp.vmfb"), "--params", str(lowered / "w.safetensors"),
                    "--input", str(lowered / "x.npy"), "--output", str(lowered / "z.npy")], check=True,
                   capture_output=True)
    np.testing.assert_allclose(np.load(lowered / "z.npy"), _ref(lowered), rtol=1e-5, atol=1e-6)


def test_vmfb_without_weights_names_the_missing_one(lowered, capsys):
    assert main(["run", str(lowered / "mlp.vmfb"), "--inputs", str(lowered / "in.npz")]) == 1
    err = capsys.readouterr().err
    assert 'missing weight "fc1.weight"' in err and "Traceback" not in err


@pytest.mark.parametrize("emit,target,magic", [("stablehlo", "xla-cpu", b"module @mlp"),
                                               ("vhlo", "xla-cpu", b"ML\xefR"),
                                               ("stablehlo", "llvm-cpu", b"module @mlp")])
def test_emit_stablehlo_and_vhlo(tmp_path, emit, target, magic):
    out = tmp_path / "out"
    assert main(["lower", MLP, "--target", target, "--emit", emit, "-o", str(out)]) == 0
    assert out.read_bytes().startswith(magic)


def test_failed_compile_leaves_no_artifact(tmp_path, capsys):
    out = tmp_path / "m.vmfb"
    assert main(["lower", MLP, "--target", "llvm-cpu", "-o", str(out), "--iree-flag=--no-such-flag"]) == 1
    err = capsys.readouterr().err
    assert "Unknown command line argument '--no-such-flag'" in err and "the StableHLO is at" in err
    assert os.listdir(tmp_path) == []


def test_usage_errors_exit_2(tmp_path, capsys):
    assert main(["lower", MLP, "--target", "xla-cpu", "--emit", "vmfb", "-o", str(tmp_path / "x")]) == 2
    assert "not available for --target xla-cpu" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["lower", MLP, "--target", "cuda", "-o", str(tmp_path / "x")])
    assert e.value.code == 2

"""Fixtures of the C application tests (examples/c): the app built once per session by
scripts/build_c_app.sh against IREE's runtime, and modules lowered by ptirc with the
outputs `ptirc run` gives for them, to compare with."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from safetensors.numpy import save_file

from .app import ROOT, build, iree_sources, ptirc


@pytest.fixture(scope="session")
def c_app() -> str:
    if iree_sources() is None:
        pytest.skip("no IREE runtime sources to build the C app: the vendored snapshot "
                    "(../shared/vendor/iree-runtime) is absent and IREE_SOURCE_DIR is not set")
    app = build()["ptir_app"]
    assert os.access(app, os.X_OK)
    return app


@pytest.fixture(scope="session")
def work(tmp_path_factory):
    """A folder for the session's files, and a compile cache of its own (real compiles)."""
    path = tmp_path_factory.mktemp("c_app")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PTIR_CACHE_DIR", str(path / "cache"))
        yield path


@pytest.fixture(scope="session")
def mlp(work):
    """examples/mlp.ptir lowered twice (weights as parameters; embedded), its weights,
    an input and `ptirc run`'s result."""
    d = work / "mlp"
    d.mkdir()
    rng = np.random.default_rng(0)
    weights = {"fc1.weight": rng.standard_normal((8, 16)).astype(np.float32),
               "fc1.bias": rng.standard_normal(16).astype(np.float32),
               "fc2.weight": rng.standard_normal((16, 3)).astype(np.float32)}
    files = {k: str(d / f) for k, f in (("vmfb", "mlp.vmfb"), ("embedded", "mlp_embedded.vmfb"),
                                         ("weights", "mlp.safetensors"), ("x", "x.npy"))}
    save_file(weights, files["weights"])
    x = rng.standard_normal((4, 8)).astype(np.float32)
    np.save(files["x"], x)
    np.savez(d / "in.npz", x=x)
    source = os.path.join(ROOT, "examples", "mlp.ptir")
    ptirc("lower", source, "--target", "llvm-cpu", "-o", files["vmfb"])
    ptirc("lower", source, "--target", "llvm-cpu", "--embed-params", "--params", files["weights"],
          "-o", files["embedded"])
    ptirc("run", files["vmfb"], "--params", files["weights"], "--inputs", str(d / "in.npz"),
          "--output", str(d / "out.npz"))
    files["want"] = np.load(d / "out.npz")["result0"]
    return files


@pytest.fixture(scope="session")
def mobilenet(work):
    """A tiny MobileNetV2 (examples/c/make_mobilenet.py) lowered by ptirc, with torch's
    and `ptirc run`'s logits."""
    d = work / "mobilenet"
    subprocess.run([sys.executable, os.path.join(ROOT, "examples", "c", "make_mobilenet.py"), str(d),
                    "--size", "tiny", "--torch"], check=True, capture_output=True)
    files = {k: str(d / f) for k, f in (("model", "model.ptir"), ("vmfb", "model.vmfb"),
                                         ("weights", "weights.safetensors"), ("input", "input.npy"))}
    ptirc("lower", files["model"], "--target", "llvm-cpu", "-o", files["vmfb"])
    np.savez(d / "in.npz", x=np.load(files["input"]))
    ptirc("run", files["vmfb"], "--params", files["weights"], "--inputs", str(d / "in.npz"),
          "--output", str(d / "out.npz"))
    files["ptirc"] = np.load(d / "out.npz")["result0"]
    files["torch"] = np.load(d / "torch.npy")
    return files

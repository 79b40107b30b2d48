"""The compile cache and the stage dumps."""

import json
import os
import shutil

import numpy as np
import pytest

import ptir
from ptir.passes import DEFAULT_PIPELINE
from ptir.runtime import cache
from ptir.runtime.stages import IREE_PHASES, stage_names


def _entries():
    root = cache.cache_dir()
    return [os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs if f.endswith(".vmfb")]


def test_second_compile_hits_the_cache(mlp, mlp_params, mlp_input, monkeypatch):
    from iree import compiler

    first = ptir.compile(mlp, "llvm-cpu", params=mlp_params)
    assert len(_entries()) == 1
    calls = []
    real = compiler.compile_str
    monkeypatch.setattr(compiler, "compile_str", lambda *a, **k: calls.append(1) or real(*a, **k))
    second = ptir.compile(mlp, "llvm-cpu", params=mlp_params)
    assert calls == []
    assert second.executable.vmfb == first.executable.vmfb
    ptir.compile(mlp, "llvm-cpu", params=mlp_params, flags=["--iree-opt-level=O3"])
    assert calls == [1], "other flags must miss the cache"


@pytest.mark.parametrize("damage", ["truncate", "flip"])
def test_corrupt_entry_is_recompiled_not_used(damage, mlp, mlp_params, mlp_input):
    want = ptir.compile(mlp, "llvm-cpu", params=mlp_params)(mlp_input)
    (path,) = _entries()
    blob = open(path, "rb").read()
    blob = blob[: len(blob) // 2] if damage == "truncate" else blob[:-100] + bytes(100)
    open(path, "wb").write(blob)
    got = ptir.compile(mlp, "llvm-cpu", params=mlp_params)(mlp_input)
    assert (got == want).all()
    assert open(path, "rb").read() != blob, "the corrupt entry must be replaced"


def test_llvm_cpu_dump_has_every_stage(tmp_path, mlp, mlp_params):
    d = tmp_path / "dump"
    ptir.compile(mlp, "llvm-cpu", params=mlp_params, dump_dir=str(d))
    index = json.loads((d / "index.json").read_text())
    written = [e["stage"] for e in index["stages"] if e["file"]]
    assert written == stage_names("llvm-cpu", [*DEFAULT_PIPELINE, "fold-params"])
    files = [e["file"] for e in index["stages"] if e["file"]]
    assert files == sorted(f for f in os.listdir(d) if f != "index.json")
    assert all(f.startswith(f"{i:02d}-{stage}") for i, (f, stage) in enumerate(zip(files, written, strict=True)))
    assert written[-15:] == ["stablehlo", *(f"iree.{p}" for p in IREE_PHASES), "iree.executables", "artifact"]
    executables = d / next(f for f in files if f.endswith("iree.executables"))
    assert any(f.endswith(".mlir") for f in os.listdir(executables))
    assert (d / "00-ptir.ptir").read_text() == str(mlp)
    stablehlo = next(f for f in files if f.endswith("-stablehlo.mlir"))
    assert "stablehlo.dot_general" in (d / stablehlo).read_text()


def test_baseline_dump_has_no_pass_stages(tmp_path, mlp, mlp_params):
    d = tmp_path / "dump"
    ptir.compile(mlp, "xla-cpu", params=mlp_params, dump_dir=str(d), passes=())
    assert [e["stage"] for e in json.loads((d / "index.json").read_text())["stages"]] == stage_names(
        "xla-cpu", files_only=False)


def test_xla_dump_has_optimized_hlo(tmp_path, mlp, mlp_params):
    d = tmp_path / "dump"
    ptir.compile(mlp, "xla-cpu", params=mlp_params, dump_dir=str(d), passes=())
    assert sorted(os.listdir(d)) == ["00-ptir.ptir", "01-stablehlo.mlir", "02-xla.hlo.txt", "index.json"]
    assert "HloModule" in (d / "02-xla.hlo.txt").read_text()


NEG = "module {\n  func @main(%x: tensor<4xf32>) -> tensor<4xf32> {\n    %0 = ptir.neg %x : tensor<4xf32>\n" \
      "    return %0\n  }\n}\n"
EXP = NEG.replace("ptir.neg", "ptir.exp")


@pytest.mark.parametrize("how", ["copy", "symlink"])
def test_another_programs_entry_is_a_miss(how):
    """An entry holds its own key: one program's entry put in another's place (copied over
    it, or linked to it) is never run for the other program."""
    x = np.array([0.0, 1.0, -2.0, 3.0], np.float32)
    neg, exp = ptir.parse(NEG), ptir.parse(EXP)
    ptir.compile(neg, "llvm-cpu")
    ptir.compile(exp, "llvm-cpu")
    by_size = sorted(_entries(), key=os.path.getmtime)
    neg_entry, exp_entry = by_size
    os.unlink(exp_entry)
    if how == "copy":
        shutil.copyfile(neg_entry, exp_entry)
    else:
        os.symlink(neg_entry, exp_entry)
    np.testing.assert_allclose(ptir.compile(exp, "llvm-cpu")(x), np.exp(x), rtol=1e-6)
    assert not os.path.islink(exp_entry) and open(exp_entry, "rb").read() != open(neg_entry, "rb").read()

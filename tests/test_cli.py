"""`ptirc check`, `fmt`, `run` and `ops` through `ptir.cli.main`."""

from __future__ import annotations

import io
import os

import numpy as np
import pytest

import ptir
from ptir.cli import main
from ptir.dialect import OPS

GOOD = """// adds and scales
func @main(%x: tensor<2x3xf32>, %y: tensor<2x3xf32>) -> (tensor<2x3xf32>, tensor<3xi32>) {
  %s = ptir.add %x, %y : tensor<2x3xf32>
  %c = ptir.constant dense<2.0> : tensor<2x3xf32>
  %m = ptir.mul %s, %c : tensor<2x3xf32>
  %a = ptir.argmax %m {axis = -2} : tensor<3xi32>
  return %m, %a
}
"""

BAD = """func @main(%x: tensor<4x8xf32>, %y: tensor<8x4xf32>) -> tensor<4x8xf32> {
  %0 = ptir.add %x, %y : tensor<4x8xf32>
  %1 = ptir.exp %0 {bad = 1} : tensor<4x8xf32>
  return %1
}
"""


@pytest.fixture
def good(tmp_path):
    p = tmp_path / "good.ptir"
    p.write_text(GOOD)
    return p


def _inputs(tmp_path, **arrays):
    p = tmp_path / "in.npz"
    np.savez(p, **arrays)
    return p


def _xy():
    rng = np.random.default_rng(0)
    return rng.standard_normal((2, 3)).astype(np.float32), rng.standard_normal((2, 3)).astype(np.float32)


def assert_one_line_error(err: str, *fragments: str):
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    for f in fragments:
        assert f in lines[0], (f, err)


# --- check and fmt -------------------------------------------------------------------------------

def test_check_ok(good, capsys):
    assert main(["check", str(good)]) == 0
    out, err = capsys.readouterr()
    assert out == f"{good}: ok (1 function, 4 ops)\n"
    assert err == ""


def test_check_prints_every_diagnostic(tmp_path, capsys):
    p = tmp_path / "bad.ptir"
    p.write_text(BAD)
    assert main(["check", str(p)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        f"{p}:2:3: error: ptir.add: operand shapes 4x8 and 8x4 differ",
        f"{p}:3:3: error: ptir.exp: unknown attribute 'bad' (known: none)",
    ]


def test_check_parse_error(tmp_path, capsys):
    p = tmp_path / "syntax.ptir"
    p.write_text("func @main(%x: tensor<4xf32>) -> tensor<4xf32> {\n  %0 = ptir.add %x, %q : tensor<4xf32>\n")
    assert main(["check", str(p)]) == 1
    _, err = capsys.readouterr()
    assert err == f"{p}:2:21: error: use of undefined value %q\n"


def test_check_from_stdin(monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.StringIO(BAD))
    assert main(["check", "-"]) == 1
    _, err = capsys.readouterr()
    assert err.splitlines()[0] == "<stdin>:2:3: error: ptir.add: operand shapes 4x8 and 8x4 differ"


@pytest.mark.parametrize("make", ["missing", "directory", "binary"])
def test_unreadable_file(tmp_path, capsys, make):
    p = tmp_path / "prog.ptir"
    if make == "directory":
        p.mkdir()
    elif make == "binary":
        p.write_bytes(b"\xff\xfe\x00func")
    for cmd in ("check", "fmt", "run"):
        assert main([cmd, str(p)]) == 1
        out, err = capsys.readouterr()
        assert out == ""
        assert_one_line_error(err, f"error: cannot read {p}")


def test_fmt_prints_canonical_text(good, capsys):
    assert main(["fmt", str(good)]) == 0
    out, _ = capsys.readouterr()
    assert out == str(ptir.parse(GOOD))
    assert "{axis = 0}" in out and "//" not in out and "%s" not in out
    # fmt is idempotent
    good.write_text(out)
    assert main(["fmt", str(good)]) == 0
    again, _ = capsys.readouterr()
    assert again == out


def test_fmt_of_an_ill_typed_file_fails(tmp_path, capsys):
    p = tmp_path / "bad.ptir"
    p.write_text(BAD)
    assert main(["fmt", str(p)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert len(err.splitlines()) == 2


# --- usage ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("argv", [[], ["bogus"], ["check"], ["run", "x.ptir", "--target", "tpu"],
                                  ["run", "x.ptir", "--seed", "many"], ["ops", "--format", "pdf"]])
def test_usage_errors_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    _, err = capsys.readouterr()
    assert "usage: ptirc" in err and "Traceback" not in err


def test_unknown_op_in_ops_is_a_usage_error(capsys):
    assert main(["ops", "nope"]) == 2
    _, err = capsys.readouterr()
    assert_one_line_error(err, "ptirc: error: unknown op 'nope'")


# --- ops -----------------------------------------------------------------------------------------

def test_ops_lists_every_op(capsys):
    assert main(["ops"]) == 0
    out, _ = capsys.readouterr()
    for name, opdef in OPS.items():
        assert f"ptir.{name}({', '.join(opdef.operands) or 'none'})" in out
    assert main(["ops", "--format", "md"]) == 0
    md, _ = capsys.readouterr()
    assert md.startswith("# PTIR op reference")
    assert md.count("\n## `ptir.") == len(OPS)


def test_ops_one_op(capsys):
    assert main(["ops", "ptir.top_k"]) == 0
    out, _ = capsys.readouterr()
    assert out.startswith("ptir.top_k(x) -> 2 results")
    assert "attr k: int (required)" in out
    assert "attr largest: bool (default true)" in out
    assert "ptir.add" not in out


# --- run -----------------------------------------------------------------------------------------

def test_run_with_inputs_and_output(good, tmp_path, capsys):
    x, y = _xy()
    out_path = tmp_path / "out.npz"
    assert main(["run", str(good), "--inputs", str(_inputs(tmp_path, x=x, y=y)), "--output", str(out_path)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    with np.load(out_path) as z:
        assert sorted(z.files) == ["result0", "result1"]
        np.testing.assert_allclose(z["result0"], (x + y) * 2, rtol=1e-6)
        assert z["result0"].dtype == np.float32
        np.testing.assert_array_equal(z["result1"], np.argmax((x + y) * 2, axis=0).astype(np.int32))
        assert z["result1"].dtype == np.int32
    assert [f.name for f in tmp_path.iterdir() if f.name.startswith(".ptir-")] == []


def test_run_prints_a_summary(good, tmp_path, capsys):
    x, y = _xy()
    assert main(["run", str(good), "--inputs", str(_inputs(tmp_path, x=x, y=y))]) == 0
    out, _ = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0].startswith("result0: float32 [2, 3]  min ")
    assert any(line.startswith("result1: int32 [3]") for line in lines)


def test_run_random_inputs_are_seeded(good, tmp_path, capsys):
    outs = []
    for seed in ("1", "1", "2"):
        p = tmp_path / f"o{len(outs)}.npz"
        assert main(["run", str(good), "--seed", seed, "-o", str(p)]) == 0
        with np.load(p) as z:
            outs.append(z["result0"])
    np.testing.assert_array_equal(outs[0], outs[1])
    assert not np.array_equal(outs[0], outs[2])


def test_run_entry_and_params(tmp_path, capsys):
    text = ('func @main(%x: tensor<2xf32>) -> tensor<2xf32> {\n  return %x\n}\n'
            'func @affine(%x: tensor<3xf32>, %w: tensor<3xf32> {ptir.param = "w"}) -> tensor<3xf32> {\n'
            '  %0 = ptir.mul %x, %w : tensor<3xf32>\n  return %0\n}\n')
    p = tmp_path / "two.ptir"
    p.write_text(text)
    from ptir.weights import save_params

    w = np.array([1.0, -2.0, 0.5], np.float32)
    save_params({"w": w}, tmp_path / "w.safetensors")
    x = np.array([3.0, 4.0, 5.0], np.float32)
    out = tmp_path / "o.npz"
    assert main(["run", str(p), "--entry", "affine", "--params", str(tmp_path / "w.safetensors"),
                 "--inputs", str(_inputs(tmp_path, x=x)), "-o", str(out)]) == 0
    with np.load(out) as z:
        np.testing.assert_array_equal(z["result0"], x * w)
    capsys.readouterr()
    assert main(["run", str(p), "--entry", "nope"]) == 1
    _, err = capsys.readouterr()
    assert_one_line_error(err, "no function @nope in the module (functions: @main, @affine)")
    assert main(["run", str(p), "--entry", "affine"]) == 1
    _, err = capsys.readouterr()
    assert_one_line_error(err, 'missing weight "w" for argument %w (tensor<3xf32>)')


def _run_fails(good, tmp_path, capsys, inputs, *fragments):
    out_path = tmp_path / "out.npz"
    assert main(["run", str(good), "--inputs", str(inputs), "--output", str(out_path)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert_one_line_error(err, *fragments)
    assert not out_path.exists()
    assert [f.name for f in tmp_path.iterdir() if f.name.startswith(".ptir-")] == []


def test_run_missing_input(good, tmp_path, capsys):
    x, _ = _xy()
    p = _inputs(tmp_path, x=x)
    _run_fails(good, tmp_path, capsys, p, f"error: {p}: missing input y of @main")


def test_run_missing_inputs(good, tmp_path, capsys):
    p = _inputs(tmp_path)
    _run_fails(good, tmp_path, capsys, p, f"error: {p}: missing inputs x, y of @main")


def test_run_extra_input(good, tmp_path, capsys):
    x, y = _xy()
    p = _inputs(tmp_path, x=x, y=y, z=x)
    _run_fails(good, tmp_path, capsys, p, f"error: {p}: 'z' is not an input of @main (inputs: x, y)")


def test_run_wrong_shape(good, tmp_path, capsys):
    x, y = _xy()
    p = _inputs(tmp_path, x=x.T.copy(), y=y)
    _run_fails(good, tmp_path, capsys, p,
               "error: input %x: expected tensor<2x3xf32>, got float32 array of shape (3, 2)")


def test_run_wrong_dtype(good, tmp_path, capsys):
    x, y = _xy()
    p = _inputs(tmp_path, x=x, y=y.astype(np.float64))
    _run_fails(good, tmp_path, capsys, p,
               "error: input %y: expected tensor<2x3xf32>, got float64 array of shape (2, 3)")


def test_run_unreadable_inputs(good, tmp_path, capsys):
    p = tmp_path / "in.npz"
    p.write_bytes(b"not a zip file")
    _run_fails(good, tmp_path, capsys, p, f"error: cannot read inputs {p}")
    _run_fails(good, tmp_path, capsys, tmp_path / "absent.npz", "error: cannot read inputs")


def test_run_output_into_a_missing_directory(good, tmp_path, capsys):
    x, y = _xy()
    target = tmp_path / "no" / "such" / "out.npz"
    assert main(["run", str(good), "--inputs", str(_inputs(tmp_path, x=x, y=y)), "-o", str(target)]) == 1
    _, err = capsys.readouterr()
    assert_one_line_error(err, f"cannot write {target}")
    assert not os.path.exists(target.parent)


def test_run_of_an_ill_typed_program(tmp_path, capsys):
    p = tmp_path / "bad.ptir"
    p.write_text(BAD)
    out = tmp_path / "o.npz"
    assert main(["run", str(p), "-o", str(out)]) == 1
    _, err = capsys.readouterr()
    assert "ptir.add: operand shapes 4x8 and 8x4 differ" in err and "Traceback" not in err
    assert not out.exists()


def test_run_with_an_npy_instead_of_npz(good, tmp_path, capsys):
    p = tmp_path / "in.npy"
    np.save(p, np.zeros(3))
    _run_fails(good, tmp_path, capsys, p, "holds one array; --inputs takes an .npz archive")


def test_docs_op_reference_is_generated_from_the_registry(capsys):
    """docs/ops.md is `ptirc ops --format md`; regenerate it when an op changes."""
    assert main(["ops", "--format", "md"]) == 0
    out = capsys.readouterr().out
    path = os.path.join(os.path.dirname(__file__), "..", "docs", "ops.md")
    with open(path) as f:
        assert f.read() == out, "docs/ops.md is stale: run `ptirc ops --format md > docs/ops.md`"

"""`ptirc opt`: the passes from the command line."""

from __future__ import annotations

import pytest

import ptir
from ptir.cli import main
from ptir.passes import DEFAULT_PIPELINE, PASSES, run_pipeline

from ._programs import CONV_BN

PROGRAM = """
module {
  func @main(%x: tensor<4xf32>) -> tensor<4xf32> {
    %one = ptir.constant dense<1.0> : tensor<4xf32>
    %0 = ptir.mul %x, %one : tensor<4xf32>
    %1 = ptir.exp %0 : tensor<4xf32>
    %2 = ptir.exp %0 : tensor<4xf32>
    %3 = ptir.add %1, %2 : tensor<4xf32>
    return %3
  }
}
"""


@pytest.fixture
def path(tmp_path):
    p = tmp_path / "prog.ptir"
    p.write_text(PROGRAM)
    return str(p)


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_opt_prints_the_optimized_program(capsys, path):
    code, out, err = run(capsys, "opt", path)
    assert code == 0 and err == ""
    assert out == str(run_pipeline(ptir.parse(PROGRAM)))
    assert out == ("module attributes {ptir.version = 1} {\n"
                   "  func @main(%x: tensor<4xf32>) -> tensor<4xf32> {\n"
                   "    %0 = ptir.exp %x : tensor<4xf32>\n"
                   "    %1 = ptir.add %0, %0 : tensor<4xf32>\n"
                   "    return %1\n"
                   "  }\n"
                   "}\n")


def test_opt_runs_the_passes_named(capsys, path):
    code, out, _ = run(capsys, "opt", path, "--passes", "cse")
    assert code == 0
    assert out == str(run_pipeline(ptir.parse(PROGRAM), ["cse"]))
    assert "ptir.mul" in out and out.count("ptir.exp") == 1


def test_print_after_all(capsys, path):
    code, out, _ = run(capsys, "opt", path, "--print-after-all", "--passes", "simplify,cse")
    assert code == 0
    heads = [line for line in out.splitlines() if line.startswith("// -----")]
    assert heads == ["// ----- after simplify -----", "// ----- after cse -----"]
    after_simplify = out.split("// ----- after cse -----\n")[0].split("// ----- after simplify -----\n")[1]
    assert after_simplify == str(run_pipeline(ptir.parse(PROGRAM), ["simplify"]))
    assert out.endswith(str(run_pipeline(ptir.parse(PROGRAM), ["simplify", "cse"])))


def test_unknown_pass_is_a_usage_error(capsys, path):
    code, out, err = run(capsys, "opt", path, "--passes", "canonicalize,nosuch")
    assert code == 2 and out == ""
    assert "unknown pass 'nosuch'" in err
    assert all(name in err for name in PASSES)


def test_list(capsys):
    code, out, _ = run(capsys, "opt", "--list")
    assert code == 0
    lines = out.splitlines()
    assert [line.split()[0] for line in lines] == list(PASSES)
    assert all(PASSES[line.split()[0]].description in line for line in lines)
    assert set(DEFAULT_PIPELINE) <= set(PASSES)


def test_missing_file(capsys, tmp_path):
    assert run(capsys, "opt")[0] == 2
    code, _, err = run(capsys, "opt", str(tmp_path / "nope.ptir"))
    assert code == 1 and "cannot read" in err


def test_errors_in_the_input_name_the_place(capsys, tmp_path):
    p = tmp_path / "bad.ptir"
    p.write_text(PROGRAM.replace("ptir.add %1, %2", "ptir.add %1, %9"))
    code, _, err = run(capsys, "opt", str(p))
    assert code == 1 and f"{p}:8:" in err and "Traceback" not in err


def test_fold_params(capsys, tmp_path):
    p = tmp_path / "conv_bn.ptir"
    p.write_text(CONV_BN)
    code, out, _ = run(capsys, "opt", str(p), "--fold-params")
    assert code == 0
    program, transform = out.split("// ----- fold-params: the new weights, computed from the original ones -----\n")
    assert '{ptir.param = "conv.weight.folded"}' in program and "rsqrt" not in program
    assert "// conv.weight.folded <- conv.weight, bn.weight, bn.running_var\n" in transform
    assert "module @fold_params" in transform and "ptir.rsqrt" in transform
    ptir.parse(program)
    ptir.parse(transform)

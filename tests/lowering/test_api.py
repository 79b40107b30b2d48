"""lower()'s errors, MLIR verification naming the PTIR op, and portable VHLO artifacts."""

from __future__ import annotations

import numpy as np
import pytest

import ptir
from ptir.dialect import OPS
from ptir.dialect.program import Builder, Program
from ptir.dialect.types import tensor
from ptir.errors import LoweringError
from ptir.lower_stablehlo import LOWERINGS, VHLO_TARGET, lower, to_vhlo, verify_mlir
from ptir.lower_stablehlo.emitter import i64s

from .cases import CASES, NP
from .runners import run_iree, run_xla
from .test_ops import check, lowered

SQUARE = """module {
  func @main(%x: tensor<3x3xf32>) -> tensor<3x3xf32> {
    %0 = ptir.exp %x : tensor<3x3xf32>
    return %0
  }
}"""


def test_dynamic_shapes_are_refused_naming_the_op():
    prog = ptir.parse("""module {
      func @main(%x: tensor<4xf32>) -> tensor<?xf32> {
        %0 = ptir.reshape %x : tensor<?xf32>
        return %0
      }
    }""", "dyn.ptir")
    with pytest.raises(LoweringError, match="dynamic shape") as e:
        lower(prog)
    assert e.value.op == "ptir.reshape" and str(e.value.loc).startswith("dyn.ptir:3:")


def break_exp(monkeypatch):
    """A broken rule for exp: the result type is right, but the permutation is not one of rank 2."""
    monkeypatch.setitem(LOWERINGS, OPS["exp"], lambda em, op, x: em.hlo("transpose", x, permutation=i64s([0])))


def test_invalid_emitted_stablehlo_names_the_ptir_op(monkeypatch):
    break_exp(monkeypatch)
    with pytest.raises(LoweringError, match="permutation") as e:
        lower(ptir.parse(SQUARE, "sq.ptir"))
    assert e.value.op == "ptir.exp" and str(e.value.loc).startswith("sq.ptir:3:")


def test_the_op_is_named_after_multi_line_ops(monkeypatch):
    # The reduce before it spans several lines (its region): line numbers must still match.
    break_exp(monkeypatch)
    prog = ptir.parse("""module {
      func @main(%x: tensor<3x3xf32>) -> tensor<3x3xf32> {
        %0 = ptir.reduce %x {kind = "sum", axes = [1], keepdims = true} : tensor<3x1xf32>
        %1 = ptir.broadcast_to %0 : tensor<3x3xf32>
        %2 = ptir.exp %1 : tensor<3x3xf32>
        return %2
      }
    }""", "multi.ptir")
    with pytest.raises(LoweringError, match="permutation") as e:
        lower(prog)
    assert e.value.op == "ptir.exp" and str(e.value.loc).startswith("multi.ptir:5:")


def test_a_rule_giving_the_wrong_type_is_caught(monkeypatch):
    monkeypatch.setitem(LOWERINGS, OPS["exp"], lambda em, op, x: em.constant(0, x.dtype, (3,)))
    with pytest.raises(LoweringError, match="tensor<3xf32> for a result of type tensor<3x3xf32>"):
        lower(ptir.parse(SQUARE))


def test_bad_arguments():
    prog = ptir.parse(SQUARE)
    with pytest.raises(LoweringError, match="params_mode"):
        lower(prog, params_mode="inline")
    with pytest.raises(LoweringError, match="no function @nope"):
        lower(prog, entry="nope")
    with_param = ptir.parse(SQUARE.replace("%x: tensor<3x3xf32>", '%x: tensor<3x3xf32> {ptir.param = "w"}'))
    with pytest.raises(LoweringError, match='needs the weight "w"'):
        lower(with_param, params_mode="constants", params={})
    with pytest.raises(LoweringError, match='weight "w" is float64'):
        lower(with_param, params_mode="constants", params={"w": np.zeros((3, 3))})


def test_verify_mlir_reports_the_diagnostic():
    verify_mlir(lower(ptir.parse(SQUARE)).text)
    with pytest.raises(LoweringError, match="does not verify"):
        verify_mlir('module {\n func.func @f(%a: tensor<2xf32>) -> tensor<3xf32> {\n "func.return"(%a) : '
                    "(tensor<2xf32>) -> ()\n }\n}")


def test_entry_is_always_main_and_other_functions_are_left_out():
    prog = ptir.parse(SQUARE.replace("func @main", "func @helper") + "\n")
    prog.functions["main"] = prog.functions["helper"]
    out = lower(prog, entry="helper")
    assert out.entry == "main" and "func.func public @main(" in out.text and "helper" not in out.text


def test_zero_size_tensors():
    prog = Program(name="empty")
    b = Builder.new_function(prog, "main", [("x", tensor((2, 3), "f32"))])
    for dtype in ("f32", "i32", "i1"):
        empty = b.op("constant", out=tensor((0, 3), dtype), value=np.zeros((0, 3), NP[dtype]))
        if dtype == "f32":
            joined = b.op("concat", b.args[0], empty, axis=0)
    b.ret(joined)
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    np.testing.assert_array_equal(run_xla(lower(prog).text, [x])[0], x)


# A few cases of different kinds: CHLO (erf, expanded on serialization), sorts, scatter, conv.
VHLO_CASES = ["erf-special", "top_k-f32-largest", "scatter-f32-max", "conv-f32-nchw", "cast-f32-i32",
              "argmax-f32-ties-nan"]


@pytest.mark.parametrize("case_id", VHLO_CASES)
def test_vhlo_artifact_runs_on_xla_and_iree(case_id):
    case = next(c for c in CASES if c.id == case_id)
    blob = to_vhlo(lowered(case_id))
    assert isinstance(blob, bytes) and blob.startswith(b"ML\xefR")   # MLIR bytecode
    check(case, run_xla(blob, case.inputs))
    check(case, run_iree(blob, case.inputs))


def test_vhlo_target_is_a_version():
    assert tuple(map(int, VHLO_TARGET.split("."))) >= (1, 0, 0)
    with pytest.raises(LoweringError, match="VHLO"):
        to_vhlo(lowered("erf-special"), "0.1.0")   # older than any reader

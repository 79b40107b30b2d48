"""fold-params: weight-only work moves into a transform run once on the weights."""

from __future__ import annotations

import numpy as np
import pytest

import ptir
from ptir.dialect.printer import print_function
from ptir.errors import RunError
from ptir.passes import fold_params

from ._programs import CONV_BN, assert_same_bits, random_data, run_ref


def check_same_results(program, folded, transform, seed=0):
    inputs, params = random_data(program, np.random.default_rng(seed), specials=False)
    new_params = transform(params)
    assert set(new_params) == set(folded.entry().params)
    assert_same_bits(run_ref(folded, inputs, new_params), run_ref(program, inputs, params))
    return new_params


def test_conv_batchnorm_folds_into_weight_and_bias():
    program = ptir.parse(CONV_BN)
    before = str(program)
    folded, transform = fold_params(program)
    assert str(program) == before
    text = str(folded)
    # Only the per-call work is left: the conv on the folded weight, the broadcast bias add.
    assert [op.name for op in folded.entry().ops] == ["conv", "broadcast_to", "add"]
    assert '%conv.weight.folded: tensor<4x3x3x3xf32> {ptir.param = "conv.weight.folded"}' in text
    assert '%bn.bias.folded: tensor<1x4x1x1xf32> {ptir.param = "bn.bias.folded"}' in text
    assert transform.names == ["conv.weight.folded", "bn.bias.folded"]
    assert transform.kept == []
    assert transform.sources == {"conv.weight.folded": ["conv.weight", "bn.weight", "bn.running_var"],
                                 "bn.bias.folded": ["bn.weight", "bn.bias", "bn.running_mean", "bn.running_var"]}
    ptir.verify(transform.program)
    assert "ptir.rsqrt" in str(transform.program) and "ptir.conv" not in str(transform.program)
    check_same_results(program, folded, transform)
    # The folded weight is what the frontend meant: w * gamma / sqrt(var + eps), per output channel.
    _, params = random_data(program, np.random.default_rng(0), specials=False)
    params["bn.running_var"] = np.abs(params["bn.running_var"])
    scale = params["bn.weight"] / np.sqrt(params["bn.running_var"] + np.float32(1e-5))
    np.testing.assert_allclose(transform(params)["conv.weight.folded"],
                               params["conv.weight"] * scale[:, None, None, None], rtol=1e-6)


TRANSPOSED = """
module {
  func @main(%x: tensor<2x8xf32>, %w: tensor<16x8xf32> {ptir.param = "fc.weight"},
             %b: tensor<16xf32> {ptir.param = "fc.bias"}) -> tensor<2x16xf32> {
    %wt = ptir.transpose %w {perm = [1, 0]} : tensor<8x16xf32>
    %y = ptir.dot_general %x, %wt {contract_lhs = [1], contract_rhs = [0]} : tensor<2x16xf32>
    %bb = ptir.broadcast_to %b : tensor<2x16xf32>
    %z = ptir.add %y, %bb : tensor<2x16xf32>
    return %z
  }
}
"""


def test_weight_transpose_is_hoisted_and_a_broadcast_bias_is_not():
    program = ptir.parse(TRANSPOSED)
    folded, transform = fold_params(program)
    # The bias stays as it is: broadcasting it to the batch would only make the weight bigger.
    assert transform.names == ["fc.weight.folded"] and transform.kept == ["fc.bias"]
    fn = folded.entry()
    assert [(a.value.name, a.param) for a in fn.args] == [("x", None), ("b", "fc.bias"),
                                                          ("fc.weight.folded", "fc.weight.folded")]
    assert [op.name for op in fn.ops] == ["dot_general", "broadcast_to", "add"]
    new_params = check_same_results(program, folded, transform)
    assert new_params["fc.weight.folded"].shape == (8, 16)


DEQUANTIZED = """
module {
  func @main(%x: tensor<2x8xf32>, %q: tensor<8x16xi8> {ptir.param = "fc.weight"},
             %s: tensor<16xf32> {ptir.param = "fc.scale"}, %h: tensor<16x8xbf16> {ptir.param = "out.weight"},
             %g: tensor<16x8xf32> {ptir.param = "out.gain"}) -> tensor<2x8xf32> {
    %qf = ptir.cast %q : tensor<8x16xf32>
    %sb = ptir.broadcast_to %s : tensor<8x16xf32>
    %w = ptir.mul %qf, %sb : tensor<8x16xf32>
    %y = ptir.dot_general %x, %w {contract_lhs = [1], contract_rhs = [0]} : tensor<2x16xf32>
    %hf = ptir.cast %h : tensor<16x8xf32>
    %v = ptir.mul %hf, %g : tensor<16x8xf32>
    %z = ptir.dot_general %y, %v {contract_lhs = [1], contract_rhs = [0]} : tensor<2x8xf32>
    return %z
  }
}
"""


def test_dequantization_stays_on_the_narrow_weights():
    """An int8 weight widened to f32 would be stored 4x as large: its dequantization stays
    in the program (where the matmul reads it).  A bf16 weight times an f32 weight of the
    same shape is no larger than the two together: that product is still folded."""
    program = ptir.parse(DEQUANTIZED)
    folded, transform = fold_params(program)
    assert transform.names == ["out.weight.folded"] and transform.kept == ["fc.weight", "fc.scale"]
    assert [op.name for op in folded.entry().ops] == ["cast", "broadcast_to", "mul", "dot_general", "dot_general"]
    check_same_results(program, folded, transform)


def test_nothing_to_fold_leaves_the_program_alone():
    text = open(__file__.replace("tests/passes/test_fold_params.py", "examples/mlp.ptir")).read()
    program = ptir.parse(text)
    folded, transform = fold_params(program)
    assert str(folded) == str(program)
    assert transform.names == [] and transform.kept == ["fc1.weight", "fc1.bias", "fc2.weight"]
    check_same_results(program, folded, transform)


SHARED = """
module {
  func @main(%x: tensor<4xf32>, %w: tensor<4xf32> {ptir.param = "w"}, %w2: tensor<4xf32> {ptir.param = "w.folded"},
             %unused: tensor<3xf32> {ptir.param = "unused"}) -> (tensor<4xf32>, tensor<4xf32>) {
    %e = ptir.exp %w : tensor<4xf32>
    %a = ptir.mul %x, %e : tensor<4xf32>
    %b = ptir.mul %x, %w : tensor<4xf32>
    %c = ptir.add %w2, %w : tensor<4xf32>
    %d = ptir.add %a, %c : tensor<4xf32>
    return %d, %b
  }
  func @other(%w: tensor<4xf32> {ptir.param = "w"}) -> tensor<4xf32> {
    %e = ptir.exp %w : tensor<4xf32>
    return %e
  }
}
"""


def test_weights_used_directly_stay_and_names_do_not_clash():
    program = ptir.parse(SHARED)
    folded, transform = fold_params(program)
    assert all(f is not program.functions[name] for name, f in folded.functions.items())
    # w feeds both a hoisted exp and a per-call mul: it stays, next to its folded forms.
    # Names follow first operands back to a weight: exp(w) -> "w.folded", which an original
    # weight has taken, so "w.folded.1"; w2 + w -> "w.folded" + ".folded".
    assert transform.names == ["w.folded.1", "w.folded.folded"]
    assert transform.kept == ["w", "unused"]
    assert [a.param for a in folded.entry().args] == [None, "w", "unused", "w.folded.1", "w.folded.folded"]
    assert print_function(folded.functions["other"]) == print_function(program.functions["other"])  # only @main
    check_same_results(program, folded, transform)


def test_transform_reports_a_missing_weight():
    folded, transform = fold_params(ptir.parse(CONV_BN))
    _, params = random_data(ptir.parse(CONV_BN), np.random.default_rng(0))
    del params["bn.running_var"]
    with pytest.raises(RunError, match="bn.running_var"):
        transform(params)


def test_entry_is_chosen_by_name():
    program = ptir.parse(SHARED)
    folded, transform = fold_params(program, "other")
    assert transform.names == ["w.folded"]      # names are unique within the function folded
    assert print_function(folded.functions["main"]) == print_function(program.functions["main"])
    assert [a.param for a in folded.functions["other"].args] == ["w.folded"]

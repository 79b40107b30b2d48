"""Negative tests: each type rule of each op, the SSA rules and the syntax, with the exact
diagnostic text and its line:col (StableHLO's verify tests with expected errors)."""

from __future__ import annotations

import numpy as np
import pytest

import ptir
from ptir.conformance.records import checked_ops
from ptir.dialect import Builder, Program, registry, tensor
from ptir.errors import ParseError, TypeRuleError, VerifyError

FILE = "t.ptir"


def program(args: str, *lines: str) -> str:
    """A function whose first op sits at line 2, column 3; it returns a constant of its own."""
    body = "".join(f"  {line}\n" for line in lines)
    return (f"func @main({args}) -> tensor<f32> {{\n{body}"
            "  %z = ptir.constant dense<0.0> : tensor<f32>\n  return %z\n}\n")


def verify_error(text: str) -> VerifyError:
    with pytest.raises(VerifyError) as info:
        ptir.parse(text, FILE)
    return info.value


def parse_error(text: str) -> ParseError:
    with pytest.raises(ParseError) as info:
        ptir.parse(text, FILE)
    return info.value


F4 = "%x: tensor<4xf32>"
F48 = "%x: tensor<4x8xf32>"
I4 = "%i: tensor<4xi32>"

# (arguments, the op, the message of its type rule).  The op is on line 2 at column 3.
TYPE_RULE_CASES = [
    # --- sharding_constraint (its fit to the mesh: tests/sharding) ---
    (F4, '%0 = ptir.sharding_constraint %x {sharding = [["x"], []]} : tensor<4xf32>',
     "sharding has 2 entries but the operand tensor<4xf32> has rank 1"),
    # --- generic checks every op goes through (registry.infer) ---
    (F4, "%0 = ptir.add %x : tensor<4xf32>", "expects 2 operands, got 1"),
    (F4, "%0 = ptir.exp %x, %x : tensor<4xf32>", "expects 1 operand, got 2"),
    (F4, "%0 = ptir.iota %x {axis = 0} : tensor<4xf32>", "expects 0 operands, got 1"),
    (F4, "%0 = ptir.concat {axis = 0} : tensor<4xf32>", "expects at least 1 operand, got 0"),
    (F4, "%0 = ptir.top_k %x {k = 1} : tensor<1xf32>", "has 2 results, but 1 result types are written"),
    (F4, "%0:2 = ptir.exp %x : tensor<4xf32>, tensor<4xf32>", "has 1 result, but 2 result types are written"),
    (F4, "%0 = ptir.add %x, %x : tensor<4xf64>", "result type tensor<4xf64> does not match the inferred "
                                                 "tensor<4xf32>"),
    (F4, "%0 = ptir.add %x, %x : tensor<5xf32>", "result type tensor<5xf32> does not match the inferred "
                                                 "tensor<4xf32>"),
    (F4, "%0 = ptir.add %x, %x : tensor<?xf32>", "result type tensor<?xf32> does not match the inferred "
                                                 "tensor<4xf32>"),
    (F4, "%0:2 = ptir.top_k %x {k = 3} : tensor<3xf32>, tensor<3xi64>",
     "result 1 type tensor<3xi64> does not match the inferred tensor<3xi32>"),
    (F4, "%0 = ptir.exp %x {foo = 1} : tensor<4xf32>", "unknown attribute 'foo' (known: none)"),
    (F48, "%0 = ptir.transpose %x {perm = [1, 0], bar = 1} : tensor<8x4xf32>",
     "unknown attribute 'bar' (known: perm)"),
    (F48, "%0 = ptir.transpose %x : tensor<8x4xf32>", "missing attribute 'perm'"),
    (F48, "%0 = ptir.transpose %x {perm = 1} : tensor<8x4xf32>", "attribute 'perm' must be an array of integers"),
    (F48, "%0 = ptir.transpose %x {perm = [1.0, 0]} : tensor<8x4xf32>",
     "attribute 'perm' must be an array of integers"),
    (F48, "%0 = ptir.argmax %x {axis = 1.0} : tensor<4xi32>", "attribute 'axis' must be an integer axis"),
    (F48, "%0 = ptir.argmax %x {axis = true} : tensor<4xi32>", "attribute 'axis' must be an integer axis"),
    (F48, "%0 = ptir.argmax %x {axis = 1, keepdims = 1} : tensor<4xi32>", "attribute 'keepdims' must be true or false"),
    (F4, "%0 = ptir.compare %x, %x {direction = 1} : tensor<4xi1>", "attribute 'direction' must be a string"),
    (F4, '%0 = ptir.compare %x, %x {direction = "lq"} : tensor<4xi1>',
     "attribute 'direction' must be one of \"lt\", \"le\", \"eq\", \"ne\", \"ge\", \"gt\", not \"lq\""),
    (F4, "%0 = ptir.compare %x, %x : tensor<4xi1>", "missing attribute 'direction'"),
    (F48, '%0 = ptir.reduce %x {kind = "sum", axes = [1], accum = "f64"} : tensor<4xf32>',
     "attribute 'accum' must be a dtype (e.g. f32)"),
    (F48, '%0 = ptir.reduce %x {kind = "sum", axes = [0.5]} : tensor<8xf32>',
     "attribute 'axes' must be an array of integer axes"),
    (F48, '%0 = ptir.reduce %x {kind = "sum", axes = 1} : tensor<4xf32>',
     "attribute 'axes' must be an array of integer axes"),
    (F48, '%0 = ptir.reduce %x {kind = "mean", axes = [1]} : tensor<4xf32>',
     "attribute 'kind' must be one of \"sum\", \"max\", \"min\", \"prod\", not \"mean\""),
    (F48, '%0 = ptir.reduce %x {kind = "sum", axes = [2]} : tensor<4xf32>',
     "attribute 'axes': axis 2 is out of range for rank 2"),
    (F48, '%0 = ptir.reduce %x {kind = "sum", axes = [-3]} : tensor<4xf32>',
     "attribute 'axes': axis -3 is out of range for rank 2"),
    (F48, '%0 = ptir.reduce %x {kind = "sum", axes = [0, -2]} : tensor<8xf32>',
     "attribute 'axes' repeats an axis: [0, 0]"),
    (F48, "%0 = ptir.pad %x {low = [0, 0], high = [0, 0], value = \"0\"} : tensor<4x8xf32>",
     "attribute 'value' must be a number"),
    (F48, "%0 = ptir.pad %x {low = [0, 0], high = [0, 0], value = true} : tensor<4x8xf32>",
     "attribute 'value' must be a number"),
    (F4, "%0:2 = ptir.top_k %x {k = 2.0} : tensor<2xf32>, tensor<2xi32>", "attribute 'k' must be an integer"),
    ("%x: tensor<1x3x5xf32>, %w: tensor<2x3x2xf32>", "%0 = ptir.conv %x, %w {padding = [1, 2]} : tensor<1x2x4xf32>",
     "attribute 'padding' must be an array of [lo, hi] integer pairs"),
    ("%x: tensor<1x3x5xf32>, %w: tensor<2x3x2xf32>",
     "%0 = ptir.conv %x, %w {padding = [[1, 2, 3]]} : tensor<1x2x4xf32>",
     "attribute 'padding' must be an array of [lo, hi] integer pairs"),
    # --- elementwise ---
    ("%x: tensor<4xi32>", "%0 = ptir.exp %x : tensor<4xi32>", "operand dtype i32 is not a float type"),
    ("%x: tensor<4xi1>", "%0 = ptir.neg %x : tensor<4xi1>", "operand dtype i1 is not a number type"),
    (F4, "%0 = ptir.not %x : tensor<4xf32>", "operand dtype f32 is not i1 or an integer type"),
    ("%x: tensor<4x8xf32>, %y: tensor<8x4xf32>", "%0 = ptir.add %x, %y : tensor<4x8xf32>",
     "operand shapes 4x8 and 8x4 differ"),
    ("%x: tensor<4xf32>, %y: tensor<4x1xf32>", "%0 = ptir.mul %x, %y : tensor<4xf32>",
     "operand shapes 4 and 4x1 differ"),
    ("%x: tensor<f32>, %y: tensor<1xf32>", "%0 = ptir.sub %x, %y : tensor<f32>", "operand shapes scalar and 1 differ"),
    ("%x: tensor<4xf32>, %y: tensor<4xf64>", "%0 = ptir.div %x, %y : tensor<4xf32>",
     "operand dtypes f32 and f64 differ"),
    ("%x: tensor<4xi1>, %y: tensor<4xi1>", "%0 = ptir.max %x, %y : tensor<4xi1>",
     "operand dtype i1 is not a number type"),
    ("%x: tensor<4xf32>, %y: tensor<4xf32>", "%0 = ptir.xor %x, %y : tensor<4xf32>",
     "operand dtype f32 is not i1 or an integer type"),
    ("%x: tensor<3xf32>, %y: tensor<4xf32>", '%0 = ptir.compare %x, %y {direction = "eq"} : tensor<3xi1>',
     "operand shapes 3 and 4 differ"),
    (F4, '%0 = ptir.compare %x, %x {direction = "eq"} : tensor<4xf32>',
     "result type tensor<4xf32> does not match the inferred tensor<4xi1>"),
    (F4, "%0 = ptir.select %x, %x, %x : tensor<4xf32>", "pred dtype f32 is not i1"),
    ("%p: tensor<4xi1>, %x: tensor<4xf32>, %y: tensor<4xi32>", "%0 = ptir.select %p, %x, %y : tensor<4xf32>",
     "operand dtypes f32 and i32 differ"),
    ("%p: tensor<3xi1>, %x: tensor<4xf32>", "%0 = ptir.select %p, %x, %x : tensor<4xf32>",
     "operand shapes 3 and 4 differ"),
    (F4, "%0 = ptir.cast %x : tensor<4x1xi32>", "cast changes the shape 4 to 4x1"),
    # --- shape ops ---
    (F4, "%0 = ptir.iota {axis = 0} : tensor<i32>", "attribute 'axis': axis 0 is out of range for rank 0"),
    (F4, "%0 = ptir.iota {axis = 0} : tensor<4xi1>", "iota needs a number dtype, not i1"),
    (F4, "%0 = ptir.iota : tensor<4xi32>", "missing attribute 'axis'"),
    ("%x: tensor<2x3xf32>", "%0 = ptir.reshape %x : tensor<4x2xf32>",
     "reshape from 2x3 (6 elements) to 4x2 (8 elements) changes the element count"),
    (F4, "%0 = ptir.reshape %x : tensor<2x2xf64>", "reshape changes the dtype f32 to f64"),
    ("%x: tensor<3xf32>", "%0 = ptir.broadcast_to %x : tensor<2x4xf32>",
     "cannot broadcast 3 to 2x4: dim 0 is 3, not 1 or 4"),
    (F48, "%0 = ptir.broadcast_to %x : tensor<8xf32>", "cannot broadcast rank 2 to rank 1"),
    (F4, "%0 = ptir.broadcast_to %x : tensor<2x4xi32>", "broadcast_to changes the dtype f32 to i32"),
    (F48, "%0 = ptir.transpose %x {perm = [0, 0]} : tensor<4x4xf32>", "perm [0, 0] is not a permutation of the 2 dims"),
    (F48, "%0 = ptir.transpose %x {perm = [1, 0, 2]} : tensor<8x4xf32>",
     "perm [1, 0, 2] is not a permutation of the 2 dims"),
    (F48, "%0 = ptir.slice %x {start = [0], limit = [4, 8]} : tensor<4x8xf32>", "'start' has 1 entries for rank 2"),
    (F48, "%0 = ptir.slice %x {start = [0, 0], limit = [4, 8], stride = [1, 0]} : tensor<4x8xf32>",
     "stride 0 in dim 1 must be >= 1"),
    (F48, "%0 = ptir.slice %x {start = [3, 0], limit = [5, 8]} : tensor<2x8xf32>",
     "dim 0: need 0 <= start <= limit <= 4, got start 3, limit 5"),
    (F48, "%0 = ptir.slice %x {start = [0, 5], limit = [4, 3]} : tensor<4x0xf32>",
     "dim 1: need 0 <= start <= limit <= 8, got start 5, limit 3"),
    (F48, "%0 = ptir.slice %x {start = [-1, 0], limit = [4, 8]} : tensor<5x8xf32>",
     "dim 0: need 0 <= start <= limit <= 4, got start -1, limit 4"),
    ("%x: tensor<2x4xf32>, %y: tensor<2x4xi32>", "%0 = ptir.concat %x, %y {axis = 0} : tensor<4x4xf32>",
     "operand dtypes f32 and i32 differ"),
    ("%x: tensor<2x4xf32>, %y: tensor<4xf32>", "%0 = ptir.concat %x, %y {axis = 0} : tensor<6x4xf32>",
     "operand ranks 2 and 1 differ"),
    ("%x: tensor<2x4xf32>, %y: tensor<3x4xf32>", "%0 = ptir.concat %x, %y {axis = 1} : tensor<2x8xf32>",
     "operand 1 shape 3x4 differs from 2x4 outside axis 1"),
    ("%x: tensor<2x4xf32>, %y: tensor<3x4xf32>", "%0 = ptir.concat %x, %y {axis = 2} : tensor<5x4xf32>",
     "attribute 'axis': axis 2 is out of range for rank 2"),
    (F48, "%0 = ptir.pad %x {low = [0], high = [0, 0]} : tensor<4x8xf32>", "'low' has 1 entries for rank 2"),
    (F48, "%0 = ptir.pad %x {low = [0, 0], high = [0, 0], interior = [-1, 0]} : tensor<4x8xf32>",
     "interior padding -1 in dim 0 must be >= 0"),
    (F48, "%0 = ptir.pad %x {low = [-3, 0], high = [-2, 0]} : tensor<0x8xf32>",
     "dim 0: padding -3, -2 crops 4 below zero"),
    ("%x: tensor<4xi1>", "%0 = ptir.pad %x {low = [1], high = [0], value = 2.0} : tensor<5xi1>",
     "the pad value of an i1 tensor must be 0 or 1"),
    (F48, "%0 = ptir.pad %x : tensor<4x8xf32>", "missing attribute 'low'"),
    # --- reductions ---
    (F48, '%0 = ptir.reduce %x {kind = "sum", axes = [1], accum = i32} : tensor<4xf32>',
     "accum dtype i32 does not suit operand dtype f32"),
    ("%x: tensor<4xi1>", '%0 = ptir.reduce %x {kind = "sum", axes = [0]} : tensor<i1>',
     "reduce kind \"sum\" needs a number dtype, not i1"),
    (F48, '%0 = ptir.reduce %x {kind = "max", axes = [1]} : tensor<8xf32>',
     "result type tensor<8xf32> does not match the inferred tensor<4xf32>"),
    (F48, "%0 = ptir.argmax %x {axis = 1} : tensor<4xf32>", "result dtype f32 is not i32 or i64"),
    (F48, "%0 = ptir.argmin %x {axis = 1} : tensor<4xi16>", "result dtype i16 is not i32 or i64"),
    (F48, "%0 = ptir.argmin %x {axis = 2} : tensor<4xi32>", "attribute 'axis': axis 2 is out of range for rank 2"),
    ("%x: tensor<f32>", "%0 = ptir.argmax %x {axis = 0} : tensor<i32>",
     "attribute 'axis': axis 0 is out of range for rank 0"),
    ("%x: tensor<0x3xf32>", "%0 = ptir.argmax %x {axis = 0} : tensor<3xi32>",
     "axis 0 of size 0 has no index to return"),
    (F48, '%0 = ptir.reduce_window %x {kind = "max", window = [2]} : tensor<3x8xf32>',
     "'window' has 1 entries for rank 2"),
    (F48, '%0 = ptir.reduce_window %x {kind = "max", window = [0, 1]} : tensor<3x8xf32>',
     "dim 0: window 0 and stride 1 must be >= 1"),
    (F48, '%0 = ptir.reduce_window %x {kind = "max", window = [1, 1], padding = [[0, 0], [-1, 0]]} '
          ": tensor<4x7xf32>", "dim 1: padding [-1, 0] must be >= 0"),
    (F48, '%0 = ptir.reduce_window %x {kind = "max", window = [5, 1]} : tensor<1x8xf32>',
     "dim 0: window 5 is larger than the padded size 4"),
    (F48, '%0 = ptir.reduce_window %x {kind = "prod", window = [1, 1]} : tensor<4x8xf32>',
     "attribute 'kind' must be one of \"sum\", \"max\", \"min\", not \"prod\""),
    ("%x: tensor<4xi1>", '%0 = ptir.reduce_window %x {kind = "max", window = [1]} : tensor<4xi1>',
     "reduce_window needs a number dtype, not i1"),
    (F4, "%0:2 = ptir.top_k %x {k = 5} : tensor<5xf32>, tensor<5xi32>", "k = 5 is out of range for dim 0 of size 4"),
    (F4, "%0:2 = ptir.top_k %x {k = -1} : tensor<4xf32>, tensor<4xi32>",
     "k = -1 is out of range for dim 0 of size 4"),
    (F48, "%0:2 = ptir.top_k %x {k = 1, axis = -3} : tensor<1x8xf32>, tensor<1x8xi32>",
     "attribute 'axis': axis -3 is out of range for rank 2"),
    ("%x: tensor<4xi1>", "%0:2 = ptir.top_k %x {k = 1} : tensor<1xi1>, tensor<1xi32>",
     "top_k needs a number dtype, not i1"),
    (F4, "%0:2 = ptir.top_k %x : tensor<4xf32>, tensor<4xi32>", "missing attribute 'k'"),
    # --- dot_general and conv ---
    ("%a: tensor<4x8xf32>, %b: tensor<8x4xf64>",
     "%0 = ptir.dot_general %a, %b {contract_lhs = [1], contract_rhs = [0]} : tensor<4x4xf32>",
     "operand dtypes f32 and f64 differ"),
    ("%a: tensor<4x8xi1>, %b: tensor<8x4xi1>",
     "%0 = ptir.dot_general %a, %b {contract_lhs = [1], contract_rhs = [0]} : tensor<4x4xi1>",
     "dot_general needs a number dtype, not i1"),
    ("%a: tensor<4x8xf32>, %b: tensor<8x4xf32>",
     "%0 = ptir.dot_general %a, %b {contract_lhs = [2], contract_rhs = [0]} : tensor<4x4xf32>",
     "attribute 'contract_lhs': axis 2 is out of range for rank 2"),
    ("%a: tensor<4x8xf32>, %b: tensor<8x4xf32>",
     "%0 = ptir.dot_general %a, %b {contract_lhs = [1], contract_rhs = [-3]} : tensor<4x4xf32>",
     "attribute 'contract_rhs': axis -3 is out of range for rank 2"),
    ("%a: tensor<4x8xf32>, %b: tensor<8x4xf32>",
     "%0 = ptir.dot_general %a, %b {contract_lhs = [1, 1], contract_rhs = [0, 0]} : tensor<4x4xf32>",
     "attribute 'contract_lhs' repeats an axis: [1, 1]"),
    ("%a: tensor<4x8xf32>, %b: tensor<8x4xf32>",
     "%0 = ptir.dot_general %a, %b {batch_lhs = [0], contract_lhs = [1], contract_rhs = [0]} : tensor<4x4xf32>",
     "batch_lhs has 1 dims, batch_rhs 0"),
    ("%a: tensor<4x8xf32>, %b: tensor<8x4xf32>",
     "%0 = ptir.dot_general %a, %b {contract_lhs = [1], contract_rhs = [0, 1]} : tensor<4xf32>",
     "contract_lhs has 1 dims, contract_rhs 2"),
    ("%a: tensor<4x8xf32>, %b: tensor<4x8xf32>",
     "%0 = ptir.dot_general %a, %b {batch_lhs = [0], batch_rhs = [0], contract_lhs = [0], contract_rhs = [1]} "
     ": tensor<4xf32>", "a dim is both batch and contracting"),
    ("%a: tensor<4x8xf32>, %b: tensor<4x4xf32>",
     "%0 = ptir.dot_general %a, %b {contract_lhs = [1], contract_rhs = [0]} : tensor<4x4xf32>",
     "contracting dims differ: lhs dim 1 is 8, rhs dim 0 is 4"),
    ("%a: tensor<2x4x8xf32>, %b: tensor<3x8x4xf32>",
     "%0 = ptir.dot_general %a, %b {batch_lhs = [0], batch_rhs = [0], contract_lhs = [2], contract_rhs = [1]} "
     ": tensor<2x4x4xf32>", "batch dims differ: lhs dim 0 is 2, rhs dim 0 is 3"),
    ("%a: tensor<4x8xf32>, %b: tensor<8x4xf32>",
     "%0 = ptir.dot_general %a, %b {contract_lhs = [1], contract_rhs = [0], accum = i32} : tensor<4x4xf32>",
     "accum dtype i32 does not suit operand dtype f32"),
    ("%a: tensor<4x8xf32>, %b: tensor<8x4xf32>",
     "%0 = ptir.dot_general %a, %b {contract_lhs = [1], contract_rhs = [0]} : tensor<4x4x1xf32>",
     "result type tensor<4x4x1xf32> does not match the inferred tensor<4x4xf32>"),
    ("%x: tensor<1x3x5xf32>, %w: tensor<2x3x2xf16>", "%0 = ptir.conv %x, %w : tensor<1x2x4xf32>",
     "operand dtypes f32 and f16 differ"),
    ("%x: tensor<1x3x5xi1>, %w: tensor<2x3x2xi1>", "%0 = ptir.conv %x, %w : tensor<1x2x4xi1>",
     "conv needs a number dtype, not i1"),
    ("%x: tensor<3x5xf32>, %w: tensor<2x3xf32>", "%0 = ptir.conv %x, %w : tensor<1x2xf32>",
     "conv takes 1-D to 3-D convolutions (rank 3 to 5), not rank 2"),
    ("%x: tensor<1x3x5x5xf32>, %w: tensor<2x3x2xf32>", "%0 = ptir.conv %x, %w : tensor<1x2x4x4xf32>",
     "weight rank 3 differs from input rank 4"),
    ("%x: tensor<1x3x5x5xf32>, %w: tensor<2x3x2x2xf32>",
     "%0 = ptir.conv %x, %w {strides = [1]} : tensor<1x2x4x4xf32>", "'strides' has 1 entries for 2 spatial dims"),
    ("%x: tensor<1x3x5x5xf32>, %w: tensor<2x3x2x2xf32>",
     "%0 = ptir.conv %x, %w {padding = [[0, 0]]} : tensor<1x2x4x4xf32>",
     "'padding' has 1 entries for 2 spatial dims"),
    ("%x: tensor<1x3x5x5xf32>, %w: tensor<2x3x2x2xf32>",
     "%0 = ptir.conv %x, %w {dilation = [1, 0]} : tensor<1x2x4x4xf32>", "strides and dilation must be >= 1"),
    ("%x: tensor<1x3x5x5xf32>, %w: tensor<2x3x2x2xf32>",
     "%0 = ptir.conv %x, %w {strides = [0, 1]} : tensor<1x2x4x4xf32>", "strides and dilation must be >= 1"),
    ("%x: tensor<1x3x5x5xf32>, %w: tensor<2x3x2x2xf32>",
     "%0 = ptir.conv %x, %w {groups = 0} : tensor<1x2x4x4xf32>", "groups 0 must be >= 1"),
    ("%x: tensor<1x3x5x5xf32>, %w: tensor<2x3x2x2xf32>",
     "%0 = ptir.conv %x, %w {groups = 2} : tensor<1x2x4x4xf32>", "input channels 3 are not divisible by groups 2"),
    ("%x: tensor<1x4x5x5xf32>, %w: tensor<3x2x2x2xf32>",
     "%0 = ptir.conv %x, %w {groups = 2} : tensor<1x3x4x4xf32>", "output channels 3 are not divisible by groups 2"),
    ("%x: tensor<1x3x5x5xf32>, %w: tensor<2x2x2x2xf32>",
     "%0 = ptir.conv %x, %w : tensor<1x2x4x4xf32>", "weight in-channels 2 x groups 1 != input channels 3"),
    ("%x: tensor<1x5x5x3xf32>, %w: tensor<2x2x2x2xf32>",
     '%0 = ptir.conv %x, %w {layout = "nhwc"} : tensor<1x4x4x2xf32>',
     "weight in-channels 2 x groups 1 != input channels 3"),
    ("%x: tensor<1x3x4xf32>, %w: tensor<2x3x3xf32>",
     "%0 = ptir.conv %x, %w {dilation = [2]} : tensor<1x2x1xf32>",
     "spatial dim 0: kernel extent 5 is larger than the padded input 4"),
    ("%x: tensor<1x3x4xf32>, %w: tensor<2x3x3xf32>",
     "%0 = ptir.conv %x, %w {padding = [[-1, 2]]} : tensor<1x2x3xf32>",
     "spatial dim 0: padding [-1, 2] must be >= 0"),
    ("%x: tensor<1x3x4xf32>, %w: tensor<2x3x3xf32>",
     '%0 = ptir.conv %x, %w {layout = "ncw"} : tensor<1x2x2xf32>',
     "attribute 'layout' must be one of \"nchw\", \"nhwc\", not \"ncw\""),
    # --- indexing ---
    ("%x: tensor<4x3xf32>, %i: tensor<2xf32>", "%0 = ptir.take %x, %i : tensor<2x3xf32>",
     "indices dtype f32 is not i32 or i64"),
    ("%x: tensor<4x3xf32>, %i: tensor<2xi16>", "%0 = ptir.take %x, %i : tensor<2x3xf32>",
     "indices dtype i16 is not i32 or i64"),
    ("%x: tensor<4x3xf32>, %i: tensor<2xi32>", "%0 = ptir.take %x, %i {axis = 2} : tensor<2x3xf32>",
     "attribute 'axis': axis 2 is out of range for rank 2"),
    ("%x: tensor<4x3xf32>, %i: tensor<2xi32>", "%0 = ptir.take %x, %i : tensor<4x2xf32>",
     "result type tensor<4x2xf32> does not match the inferred tensor<2x3xf32>"),
    ("%x: tensor<0x3xf32>, %i: tensor<2xi32>", "%0 = ptir.take %x, %i : tensor<2x3xf32>",
     "cannot index axis 0 of size 0"),
    ("%x: tensor<4x3xf32>, %i: tensor<4xi32>", "%0 = ptir.gather %x, %i {axis = 0} : tensor<4xf32>",
     "indices rank 1 differs from operand rank 2"),
    ("%x: tensor<4x3xf32>, %i: tensor<2x4xi32>", "%0 = ptir.gather %x, %i {axis = 0} : tensor<2x4xf32>",
     "indices dim 1 is 4, larger than the operand's 3"),
    ("%x: tensor<4x3xf32>, %i: tensor<2x3xi64>", "%0 = ptir.gather %x, %i : tensor<2x3xf32>",
     "missing attribute 'axis'"),
    ("%x: tensor<4x0xf32>, %i: tensor<4x2xi64>", "%0 = ptir.gather %x, %i {axis = 1} : tensor<4x2xf32>",
     "cannot index axis 1 of size 0"),
    ("%x: tensor<4x3xf32>, %i: tensor<2x3xi32>, %u: tensor<2x2xf32>",
     "%0 = ptir.scatter %x, %i, %u {axis = 0} : tensor<4x3xf32>", "updates shape 2x2 differs from indices shape 2x3"),
    ("%x: tensor<4x3xf32>, %i: tensor<2x3xi32>, %u: tensor<2x3xf64>",
     "%0 = ptir.scatter %x, %i, %u {axis = 0} : tensor<4x3xf32>", "updates dtype f64 differs from operand dtype f32"),
    ("%x: tensor<4x3xf32>, %i: tensor<6xi32>, %u: tensor<6xf32>",
     "%0 = ptir.scatter %x, %i, %u {axis = 0} : tensor<4x3xf32>", "indices rank 1 differs from operand rank 2"),
    ("%x: tensor<4x3xf32>, %i: tensor<5x3xi32>, %u: tensor<5x3xf32>",
     "%0 = ptir.scatter %x, %i, %u {axis = 1} : tensor<4x3xf32>", "indices dim 0 is 5, larger than the operand's 4"),
    ("%x: tensor<4x3xf32>, %i: tensor<2x3xf32>, %u: tensor<2x3xf32>",
     "%0 = ptir.scatter %x, %i, %u {axis = 0} : tensor<4x3xf32>", "indices dtype f32 is not i32 or i64"),
    ("%x: tensor<4x3xf32>, %i: tensor<2x3xi32>, %u: tensor<2x3xf32>",
     '%0 = ptir.scatter %x, %i, %u {axis = 0, reduce = "mul"} : tensor<4x3xf32>',
     "attribute 'reduce' must be one of \"add\", \"max\", \"min\", \"replace\", not \"mul\""),
    ("%x: tensor<4x4xf32>, %s: tensor<2xf32>", "%0 = ptir.dynamic_slice %x, %s : tensor<2x2xf32>",
     "start dtype f32 is not i32 or i64"),
    ("%x: tensor<4x4xf32>, %s: tensor<3xi32>", "%0 = ptir.dynamic_slice %x, %s : tensor<2x2xf32>",
     "start must be 1-D with 2 entries, got tensor<3xi32>"),
    ("%x: tensor<4x4xf32>, %s: tensor<1x2xi32>", "%0 = ptir.dynamic_slice %x, %s : tensor<2x2xf32>",
     "start must be 1-D with 2 entries, got tensor<1x2xi32>"),
    ("%x: tensor<4x4xf32>, %s: tensor<2xi32>", "%0 = ptir.dynamic_slice %x, %s : tensor<2xf32>",
     "result tensor<2xf32> must have the operand's dtype and rank (tensor<4x4xf32>)"),
    ("%x: tensor<4x4xf32>, %s: tensor<2xi32>", "%0 = ptir.dynamic_slice %x, %s : tensor<2x2xf64>",
     "result tensor<2x2xf64> must have the operand's dtype and rank (tensor<4x4xf32>)"),
    ("%x: tensor<4x4xf32>, %s: tensor<2xi32>", "%0 = ptir.dynamic_slice %x, %s : tensor<5x2xf32>",
     "slice size 5 in dim 0 is larger than the operand's 4"),
    ("%x: tensor<4x4xf32>, %s: tensor<2xi32>", "%0 = ptir.dynamic_slice %x, %s : tensor<?x2xf32>",
     "the result shape (the slice sizes) must be static"),
    ("%x: tensor<4x4xf32>, %u: tensor<2xf32>, %s: tensor<2xi32>",
     "%0 = ptir.dynamic_update_slice %x, %u, %s : tensor<4x4xf32>",
     "update tensor<2xf32> must have the operand's dtype and rank (tensor<4x4xf32>)"),
    ("%x: tensor<4x4xf32>, %u: tensor<2x5xf32>, %s: tensor<2xi32>",
     "%0 = ptir.dynamic_update_slice %x, %u, %s : tensor<4x4xf32>",
     "update size 5 in dim 1 is larger than the operand's 4"),
    ("%x: tensor<4x4xf32>, %u: tensor<2x2xf32>, %s: tensor<2xi1>",
     "%0 = ptir.dynamic_update_slice %x, %u, %s : tensor<4x4xf32>", "start dtype i1 is not i32 or i64"),
]


def _op_name(line: str) -> str:
    return line.split("ptir.", 1)[1].split()[0]


@pytest.mark.parametrize("args,line,message", TYPE_RULE_CASES,
                         ids=[f"{_op_name(c[1])}-{i}" for i, c in enumerate(TYPE_RULE_CASES)])
def test_type_rule(args, line, message):
    err = verify_error(program(args, line))
    assert str(err) == f"{FILE}:2:3: error: ptir.{_op_name(line)}: {message}"
    assert (err.loc.line, err.loc.col, err.op, err.message) == (2, 3, f"ptir.{_op_name(line)}", message)
    assert len(err.errors) == 1


def _is_about_results(message: str) -> bool:
    return message.startswith(("result type", "result 1 type", "result dtype", "has "))


@pytest.mark.parametrize("args,line,message", [c for c in TYPE_RULE_CASES if not _is_about_results(c[2])],
                         ids=[f"{_op_name(c[1])}-{i}" for i, c in enumerate(TYPE_RULE_CASES)
                              if not _is_about_results(c[2])])
def test_builder_uses_the_same_type_rule(args, line, message):
    """The builder checks an op with the verifier's rule and says the same thing."""
    op = ptir.parse(program(args, line), FILE, verify=False).functions["main"].ops[0]
    prog = Program()
    b = Builder.new_function(prog, "main", [(f"a{i}", v.type) for i, v in enumerate(op.operands)])
    out = [r.type for r in op.results] if op.opdef.result_given else None
    with pytest.raises(TypeRuleError) as info:
        b.op(op.name, *b.args, out=out, **op.attrs)
    assert info.value.message == message
    assert info.value.op == f"ptir.{op.name}"
    assert not b.function.ops


def test_builder_names_the_op_and_location():
    prog = Program()
    b = Builder.new_function(prog, "main", [("x", tensor((4, 8), "f32")), ("y", tensor((8, 4), "f32"))])
    where = ptir.errors.Location("model.py", 12, 5)
    with pytest.raises(TypeRuleError) as info:
        b.op("add", *b.args, loc=where)
    assert str(info.value) == "model.py:12:5: error: ptir.add: operand shapes 4x8 and 8x4 differ"
    with pytest.raises(TypeRuleError, match=r"^error: unknown op 'ptir.nope'$"):
        b.op("nope", b.args[0])
    with pytest.raises(TypeRuleError, match="needs its result type"):
        b.op("reshape", b.args[0])


def test_builder_infers_what_the_verifier_checks():
    prog = Program()
    b = Builder.new_function(prog, "main", [("x", tensor((2, 3, 4), "f32"))])
    x = b.args[0]
    assert b.op("reduce", x, kind="sum", axes=[-1]).type == tensor((2, 3), "f32")
    assert b.op("argmax", x, axis=-2, keepdims=True).type == tensor((2, 1, 4), "i32")
    vals, idx = b.op("top_k", x, k=2, axis=0)
    assert (vals.type, idx.type) == (tensor((2, 3, 4), "f32"), tensor((2, 3, 4), "i32"))
    y = b.op("dot_general", x, x, batch_lhs=[0], batch_rhs=[0], contract_lhs=[-1], contract_rhs=[2])
    assert y.type == tensor((2, 3, 3), "f32")
    b.ret(y)
    assert b.function.ops[0].attrs["axes"] == (2,)
    assert b.function.ops[3].attrs["contract_lhs"] == (2,)
    ptir.verify(prog)


def test_all_diagnostics_are_collected():
    text = program("%x: tensor<4xf32>, %y: tensor<5xf32>",
                   "%0 = ptir.add %x, %y : tensor<4xf32>",
                   "%1 = ptir.exp %0 {bad = 1} : tensor<4xf32>",
                   "%2 = ptir.neg %1 : tensor<4xf32>",
                   "%3 = ptir.log %x : tensor<4xf64>")
    err = verify_error(text)
    assert [str(e) for e in err.errors] == [
        f"{FILE}:2:3: error: ptir.add: operand shapes 4 and 5 differ",
        f"{FILE}:3:3: error: ptir.exp: unknown attribute 'bad' (known: none)",
        f"{FILE}:5:3: error: ptir.log: result type tensor<4xf64> does not match the inferred tensor<4xf32>",
    ]
    assert str(err) == "\n".join(str(e) for e in err.errors)
    assert (err.loc.line, err.loc.col, err.op) == (2, 3, "ptir.add")


def test_errors_in_several_functions():
    text = ("func @a(%x: tensor<2xf32>) -> tensor<2xf32> {\n  %0 = ptir.not %x : tensor<2xf32>\n  return %0\n}\n"
            "func @b(%x: tensor<2xi32>) -> tensor<2xi32> {\n  %0 = ptir.exp %x : tensor<2xi32>\n  return %0\n}\n")
    err = verify_error(text)
    assert [str(e) for e in err.errors] == [
        f"{FILE}:2:3: error: ptir.not: operand dtype f32 is not i1 or an integer type",
        f"{FILE}:6:3: error: ptir.exp: operand dtype i32 is not a float type",
    ]


# --- SSA rules: the parser's ---------------------------------------------------------------------

SSA_CASES = [
    # (text, line, col, message)
    (program("%x: tensor<4xf32>", "%0 = ptir.add %x, %y : tensor<4xf32>"), 2, 21, "use of undefined value %y"),
    (program("%x: tensor<4xf32>", "%0 = ptir.add %x, %1 : tensor<4xf32>", "%1 = ptir.neg %x : tensor<4xf32>"),
     2, 21, "use of undefined value %1"),
    (program("%x: tensor<4xf32>", "%0 = ptir.neg %0 : tensor<4xf32>"), 2, 17, "use of undefined value %0"),
    (program("%x: tensor<4xf32>", "%a = ptir.neg %x : tensor<4xf32>", "%a = ptir.exp %x : tensor<4xf32>"),
     3, 3, "redefinition of %a (first defined at 2:3)"),
    (program("%x: tensor<4xf32>", "%x = ptir.neg %x : tensor<4xf32>"), 2, 3,
     "redefinition of %x (first defined at 1:12)"),
    (program("%x: tensor<4xf32>, %x: tensor<4xf32>"), 1, 31, "redefinition of %x (first defined at 1:12)"),
    (program("%x: tensor<4xf32>", "%t:2 = ptir.top_k %x {k = 2} : tensor<2xf32>, tensor<2xi32>",
             "%0 = ptir.neg %t : tensor<2xf32>"), 3, 17, "use of undefined value %t"),
    (program("%x: tensor<4xf32>", "%t:2 = ptir.top_k %x {k = 2} : tensor<2xf32>, tensor<2xi32>",
             "%0 = ptir.neg %t#2 : tensor<2xf32>"), 3, 17, "use of undefined value %t#2"),
    (program("%x: tensor<4xf32>", "%t = ptir.neg %x : tensor<4xf32>", "%0 = ptir.neg %t#0 : tensor<4xf32>"),
     3, 17, "use of undefined value %t#0"),
    (program("%x: tensor<4xf32>", "%t:2 = ptir.top_k %x {k = 2} : tensor<2xf32>"), 2, 3,
     "ptir.top_k: 2 results named but 1 result types written"),
    (program("%x: tensor<4xf32>", "%t = ptir.neg %x : tensor<4xf32>, tensor<4xf32>"), 2, 3,
     "ptir.neg: 1 result named but 2 result types written"),
    (program("%x: tensor<4xf32>", "%t:0 = ptir.neg %x : tensor<4xf32>"), 2, 7, "expected a result count after ':'"),
    ("func @f(%x: tensor<2xf32>) -> tensor<2xf32> {\n  return %x\n}\n"
     "func @main(%y: tensor<2xf32>) -> tensor<2xf32> {\n  %0 = ptir.neg %x : tensor<2xf32>\n  return %0\n}\n",
     5, 17, "use of undefined value %x"),
    ("func @f(%x: tensor<2xf32>) -> tensor<2xf32> {\n  return %x\n}\n"
     "func @f(%x: tensor<2xf32>) -> tensor<2xf32> {\n  return %x\n}\n", 4, 1, "redefinition of function @f"),
    ("func @f(%x: tensor<2xf32>) -> tensor<2xf32> {\n  return %y\n}\n", 2, 10, "use of undefined value %y"),
    (program("%x: tensor<4xf32>", "%0 = ptir.nope %x : tensor<4xf32>"), 2, 8,
     "unknown op 'ptir.nope' (see `ptirc ops`)"),
    (program("%x: tensor<4xf32>", "%0 = stablehlo.add %x, %x : tensor<4xf32>"), 2, 8,
     "unknown op 'stablehlo.add' (PTIR ops are written ptir.<name>)"),
]


@pytest.mark.parametrize("text,line,col,message", SSA_CASES, ids=[c[3][:30] for c in SSA_CASES])
def test_ssa_rules(text, line, col, message):
    err = parse_error(text)
    assert str(err) == f"{FILE}:{line}:{col}: error: {message}"
    assert (err.loc.file, err.loc.line, err.loc.col) == (FILE, line, col)


RETURN_CASES = [
    ("func @main(%x: tensor<4xf32>) -> tensor<4xf32> {\n  %0 = ptir.neg %x : tensor<4xf32>\n  return %0, %x\n}\n",
     3, 3, "@main returns 2 values but its signature has 1 result"),
    ("func @main(%x: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {\n  return %x\n}\n",
     2, 3, "@main returns 1 value but its signature has 2 results"),
    ("func @main(%x: tensor<4xf32>) -> tensor<4xf32> {\n  return\n}\n",
     2, 3, "@main returns 0 values but its signature has 1 result"),
    ("func @main(%x: tensor<4xf32>) -> tensor<4xf64> {\n  // nothing\n    return %x\n}\n",
     3, 5, "return value 0 has type tensor<4xf32>, but the signature of @main says tensor<4xf64>"),
    ("func @main(%x: tensor<4xf32>) -> (tensor<4xf32>, tensor<?xf32>) {\n  return %x, %x\n}\n",
     2, 3, "return value 1 has type tensor<4xf32>, but the signature of @main says tensor<?xf32>"),
    ('func @main(%a: tensor<4xf32> {ptir.param = "w"}, %b: tensor<4xf32> {ptir.param = "w"}) -> tensor<4xf32> {\n'
     "  return %a\n}\n", 1, 1, '@main: weight "w" is bound to two arguments'),
]


@pytest.mark.parametrize("text,line,col,message", RETURN_CASES, ids=[c[3][:30] for c in RETURN_CASES])
def test_return_and_signature_rules(text, line, col, message):
    err = verify_error(text)
    assert str(err) == f"{FILE}:{line}:{col}: error: {message}"
    assert err.op is None


def test_value_from_another_function_built_in_python():
    prog = Program()
    other = Builder.new_function(prog, "other", [("x", tensor((2,), "f32"))])
    foreign = other.op("neg", other.args[0])
    other.ret(foreign)
    b = Builder.new_function(prog, "main", [("y", tensor((2,), "f32"))])
    b.ret(b.op("add", b.args[0], foreign))
    with pytest.raises(VerifyError) as info:
        ptir.verify(prog)
    assert str(info.value) == ("<program>: error: ptir.add: operand 0 is used before it is defined (or comes from "
                               "another function)").replace("operand 0", "operand 1")


def test_return_of_an_undefined_value_built_in_python():
    prog = Program()
    other = Builder.new_function(prog, "other", [("x", tensor((2,), "f32"))])
    other.ret(other.args[0])
    b = Builder.new_function(prog, "main", [("y", tensor((2,), "f32"))])
    b.ret(other.args[0])
    prog.source = "built.py"
    with pytest.raises(VerifyError) as info:
        ptir.verify(prog)
    assert str(info.value) == "built.py: error: return value 0 is not defined in @main"


def test_use_before_definition_built_in_python():
    prog = Program()
    b = Builder.new_function(prog, "main", [("x", tensor((2,), "f32"))])
    y = b.op("neg", b.args[0])
    z = b.op("exp", y)
    b.ret(z)
    b.function.ops.reverse()
    with pytest.raises(VerifyError, match=r"ptir.exp: operand 0 is used before it is defined"):
        ptir.verify(prog)


# --- syntax --------------------------------------------------------------------------------------

SYNTAX_CASES = [
    ("func @main(%x: tensor<4xf32>) -> tensor<4xf32> {\n  return %x\n", 3, 1,
     "expected '}' after return, found end of input"),
    ("func @main(%x: tensor<4xf32>) -> tensor<4xf32> {\n  %0 = ptir.neg %x : tensor<4xf32>\n", 3, 1,
     "expected 'return' before the end of the function, found end of input"),
    ("module {\n  func @main(%x: tensor<4xf32>) -> tensor<4xf32> {\n    return %x\n  }\n", 5, 1,
     "expected '}' to close the module, found end of input"),
    ("module {\n}\n", 3, 1, "the module has no functions"),
    ("", 1, 1, "the module has no functions"),
    ("module attributes {ptir.version = 2} {\n  func @main() -> () {\n    return\n  }\n}\n", 1, 1,
     "unsupported ptir.version 2 (this tool reads version 1)"),
    ("func @main(%x: tensor<4xf33>) -> tensor<4xf32> {\n  return %x\n}\n", 1, 16,
     "unknown element type 'f33' in tensor<4xf33> (known: i1, i8, i16, i32, i64, ui8, f16, bf16, f32, f64)"),
    ("func @main(%x: tensor<4x-1xf32>) -> tensor<4xf32> {\n  return %x\n}\n", 1, 16,
     "bad dimension '-1' in tensor<4x-1xf32> (a dimension is a number or '?')"),
    ("func @main(%x: tensor<4x\u00b2xf32>) -> tensor<4xf32> {\n  return %x\n}\n", 1, 16,
     "bad dimension '\u00b2' in tensor<4x\u00b2xf32> (a dimension is a number or '?')"),
    ("func @main(%x: memref<4xf32>) -> tensor<4xf32> {\n  return %x\n}\n", 1, 16,
     "expected a type like 'tensor<4xf32>', found 'memref<4xf32>)'"),
    ('func @main(%x: tensor<4xf32> {ptir.bad = "w"}) -> tensor<4xf32> {\n  return %x\n}\n', 1, 31,
     "unknown argument attribute 'ptir.bad' (known: ptir.param, ptir.sharding)"),
    ("func @main(%x: tensor<4xf32> {ptir.param = 3}) -> tensor<4xf32> {\n  return %x\n}\n", 1, 31,
     "ptir.param must be a non-empty string naming the weight"),
    ('func @main(%x: tensor<4xf32> {ptir.param = ""}) -> tensor<4xf32> {\n  return %x\n}\n', 1, 31,
     "ptir.param must be a non-empty string naming the weight"),
    ('func @main(%x: tensor<4xf32> {ptir.param = "a\\q"}) -> tensor<4xf32> {\n  return %x\n}\n', 1, 46,
     "bad escape in string: Invalid \\escape"),
    ('func @main(%x: tensor<4xf32> {ptir.param = "abc}) -> tensor<4xf32> {\n  return %x\n}\n', 1, 44,
     "unterminated string"),
    (program("%x: tensor<4xf32>", "%0 = ptir.reduce %x {kind = \"sum\", kind = \"max\"} : tensor<f32>"), 2, 38,
     "attribute 'kind' is given twice"),
    (program("%x: tensor<4xf32>", "%0 = ptir.reduce %x {kind = sum} : tensor<f32>"), 2, 31,
     "expected an attribute value (number, true/false, string, dtype or [...]), found 'sum'"),
    (program("%x: tensor<4xf32>", "%0 = ptir.reduce %x {kind = [1, 2} : tensor<f32>"), 2, 36,
     "expected ',' or ']', found '}'"),
    (program("%x: tensor<4xf32>", "%0 = ptir.neg %x"), 3, 3, "expected ':' and the result type, found '%z'"),
    (program("%x: tensor<4xf32>", "%0 = ptir.constant dense<[1.0, 2.0]> : tensor<3xf32>"), 2, 22,
     "literal of shape 2 does not fit tensor<3xf32>"),
    (program("", "%0 = ptir.constant dense<[[1.0], [2.0, 3.0]]> : tensor<2x2xf32>"), 2, 22,
     "bad literal element for tensor<2x2xf32>: ragged nested literal"),
    (program("", "%0 = ptir.constant dense<1.5> : tensor<2xi32>"), 2, 22,
     "bad literal element for tensor<2xi32>: expected an integer for i32, got 1.5"),
    (program("", "%0 = ptir.constant dense<300> : tensor<i8>"), 2, 22,
     "bad literal element for tensor<i8>: 300 does not fit i8"),
    (program("", "%0 = ptir.constant dense<-1> : tensor<ui8>"), 2, 22,
     "bad literal element for tensor<ui8>: -1 does not fit ui8"),
    (program("", "%0 = ptir.constant dense<1> : tensor<i1>"), 2, 22,
     "bad literal element for tensor<i1>: expected true or false for i1, got 1"),
    (program("", "%0 = ptir.constant dense<true> : tensor<f32>"), 2, 22,
     "bad literal element for tensor<f32>: could not convert string to float: 'true'"),
    (program("", "%0 = ptir.constant dense<0.0> : tensor<?xf32>"), 2, 22,
     "a constant needs a static type, not tensor<?xf32>"),
    (program("", '%0 = ptir.constant dense<"0x0000"> : tensor<2xf32>'), 2, 28,
     "bad hex literal for tensor<2xf32>: 2 bytes are not a whole number of f32 elements"),
    (program("", '%0 = ptir.constant dense<"0x000000000000000000000000"> : tensor<2xf32>'), 2, 28,
     "bad hex literal for tensor<2xf32>: hex literal has 3 elements, the type needs 2"),
    (program("", '%0 = ptir.constant dense<"0xZZ"> : tensor<f32>'), 2, 28,
     "bad hex literal for tensor<f32>: non-hexadecimal number found in fromhex() arg at position 0"),
    (program("", '%0 = ptir.constant dense<"12"> : tensor<f32>'), 2, 28, 'a hex literal is written dense<"0x...">'),
    (program("", "%0 = ptir.constant 1.0 : tensor<f32>"), 2, 22, "expected a dense<...> literal, found '1.0'"),
]


@pytest.mark.parametrize("text,line,col,message", SYNTAX_CASES, ids=[c[3][:30] for c in SYNTAX_CASES])
def test_syntax_errors(text, line, col, message):
    err = parse_error(text)
    assert str(err) == f"{FILE}:{line}:{col}: error: {message}"


def test_parse_without_verify_reads_ill_typed_programs():
    text = program("%x: tensor<4xf32>, %y: tensor<5xf32>", "%0 = ptir.add %x, %y : tensor<9xf32>")
    prog = ptir.parse(text, FILE, verify=False)
    assert prog.functions["main"].ops[0].name == "add"
    with pytest.raises(VerifyError, match="operand shapes 4 and 5 differ"):
        ptir.verify(prog)


def test_every_op_has_a_negative_case():
    covered = {_op_name(c[1]) for c in TYPE_RULE_CASES}
    # constant's rule is reached from Python (the parser checks literals first)
    covered.add("constant")
    covered |= {op.name for op in checked_ops()}   # the verifier family of tests/ops/test_op_records.py
    missing = sorted(set(registry.OPS) - covered)
    assert not missing, f"ops without a negative verifier case: {missing}"


def test_constant_rule_from_python():
    prog = Program()
    b = Builder.new_function(prog, "main", [])
    with pytest.raises(TypeRuleError, match=r"^error: ptir.constant: literal dtype does not match f32$"):
        b.op("constant", out=tensor((2,), "f32"), value=np.zeros(2))
    with pytest.raises(TypeRuleError, match=r"literal of shape 3 does not fit tensor<2xf32>"):
        b.op("constant", out=tensor((2,), "f32"), value=np.zeros(3, np.float32))
    with pytest.raises(TypeRuleError, match=r"constant type tensor<\?xf32> must be static"):
        b.op("constant", out=tensor((None,), "f32"), value=np.zeros(1, np.float32))
    with pytest.raises(TypeRuleError, match=r"attribute 'value' must be a dense literal"):
        b.op("constant", out=tensor((), "f32"), value=1.0)
    with pytest.raises(TypeRuleError, match=r"missing attribute 'value'"):
        b.op("constant", out=tensor((), "f32"))

"""Print -> parse -> print is the identity, bit for bit (StableHLO's print/parse tests).

Each case is written in canonical form, so `print(parse(text)) == text` checks both
that the parser reads everything the printer writes and that nothing is lost.
"""

from __future__ import annotations

import math
import struct

import ml_dtypes
import numpy as np
import pytest

import ptir
from ptir.conformance.records import checked_ops
from ptir.dialect import OPS, Builder, Program, tensor
from ptir.dialect import dtypes as dt
from ptir.dialect.literals import DECIMAL_LIMIT

from ._util import dedent, func, module

# (case id, signature, body): canonical text of one function exercising an op.  The ops with
# a record (OpDef.check) round-trip in every dtype they accept in tests/ops/test_op_records.py.
OP_CASES: list[tuple[str, str, list[str]]] = []

OP_CASES += [
    ("not_i1", "(%p: tensor<4xi1>) -> tensor<4xi1>", ["%0 = ptir.not %p : tensor<4xi1>", "return %0"]),
    ("not_i32", "(%p: tensor<4xi32>) -> tensor<4xi32>", ["%0 = ptir.not %p : tensor<4xi32>", "return %0"]),
    ("neg_dynamic", "(%x: tensor<?x768xbf16>) -> tensor<?x768xbf16>",
     ["%0 = ptir.neg %x : tensor<?x768xbf16>", "return %0"]),
    ("compare", "(%x: tensor<3xf32>, %y: tensor<3xf32>) -> tensor<3xi1>",
     ['%0 = ptir.compare %x, %y {direction = "ge"} : tensor<3xi1>', "return %0"]),
    ("select", "(%p: tensor<3xi1>, %x: tensor<3xf32>, %y: tensor<3xf32>) -> tensor<3xf32>",
     ["%0 = ptir.select %p, %x, %y : tensor<3xf32>", "return %0"]),
    ("cast", "(%x: tensor<3xf32>) -> tensor<3xui8>", ["%0 = ptir.cast %x : tensor<3xui8>", "return %0"]),
    ("constant", "() -> tensor<2x2xf32>", ["%0 = ptir.constant dense<[[1.0, 2.0], [3.5, -4.0]]> : tensor<2x2xf32>",
                                            "return %0"]),
    ("iota", "() -> tensor<2x5xi64>", ["%0 = ptir.iota {axis = 1} : tensor<2x5xi64>", "return %0"]),
    ("reshape", "(%x: tensor<2x6xf32>) -> tensor<3x4xf32>", ["%0 = ptir.reshape %x : tensor<3x4xf32>", "return %0"]),
    ("broadcast_to", "(%x: tensor<3xf32>) -> tensor<2x3xf32>",
     ["%0 = ptir.broadcast_to %x : tensor<2x3xf32>", "return %0"]),
    ("transpose", "(%x: tensor<2x3x4xf32>) -> tensor<4x2x3xf32>",
     ["%0 = ptir.transpose %x {perm = [2, 0, 1]} : tensor<4x2x3xf32>", "return %0"]),
    ("slice", "(%x: tensor<8x8xf32>) -> tensor<3x2xf32>",
     ["%0 = ptir.slice %x {start = [1, 0], limit = [7, 4], stride = [2, 2]} : tensor<3x2xf32>", "return %0"]),
    ("concat", "(%x: tensor<2x3xf32>, %y: tensor<2x1xf32>, %z: tensor<2x0xf32>) -> tensor<2x4xf32>",
     ["%0 = ptir.concat %x, %y, %z {axis = 1} : tensor<2x4xf32>", "return %0"]),
    ("pad", "(%x: tensor<4x5xf32>) -> tensor<9x3xf32>",
     ["%0 = ptir.pad %x {low = [1, -1], high = [1, -1], interior = [1, 0], value = -inf} : tensor<9x3xf32>",
      "return %0"]),
    ("reduce", "(%x: tensor<2x3x4xf16>) -> tensor<2x1x1xf16>",
     ['%0 = ptir.reduce %x {kind = "sum", axes = [1, 2], keepdims = true, accum = f32} : tensor<2x1x1xf16>',
      "return %0"]),
    ("argmax", "(%x: tensor<2x3xf32>) -> tensor<2xi64>",
     ["%0 = ptir.argmax %x {axis = 1} : tensor<2xi64>", "return %0"]),
    ("argmin", "(%x: tensor<2x3xf32>) -> tensor<1x3xi32>",
     ["%0 = ptir.argmin %x {axis = 0, keepdims = true} : tensor<1x3xi32>", "return %0"]),
    ("dot_general", "(%a: tensor<5x2x3xf32>, %b: tensor<5x3x4xf32>) -> tensor<5x2x4xf32>",
     ["%0 = ptir.dot_general %a, %b {batch_lhs = [0], batch_rhs = [0], contract_lhs = [2], contract_rhs = [1], "
      "accum = f64} : tensor<5x2x4xf32>", "return %0"]),
    ("conv", "(%x: tensor<1x7x7x4xf32>, %w: tensor<3x3x2x8xf32>) -> tensor<1x3x3x8xf32>",
     ['%0 = ptir.conv %x, %w {layout = "nhwc", strides = [2, 2], padding = [[0, 0], [1, 2]], dilation = [1, 2], '
      "groups = 2} : tensor<1x3x3x8xf32>", "return %0"]),
    ("reduce_window", "(%x: tensor<1x1x6x6xf32>) -> tensor<1x1x3x3xf32>",
     ['%0 = ptir.reduce_window %x {kind = "max", window = [1, 1, 3, 3], strides = [1, 1, 2, 2], '
      "padding = [[0, 0], [0, 0], [1, 0], [1, 0]]} : tensor<1x1x3x3xf32>", "return %0"]),
    ("take", "(%x: tensor<5x3xf32>, %i: tensor<2x2xi32>) -> tensor<5x2x2xf32>",
     ["%0 = ptir.take %x, %i {axis = 1} : tensor<5x2x2xf32>", "return %0"]),
    ("gather", "(%x: tensor<5x3xf32>, %i: tensor<2x3xi64>) -> tensor<2x3xf32>",
     ["%0 = ptir.gather %x, %i {axis = 0} : tensor<2x3xf32>", "return %0"]),
    ("scatter", "(%x: tensor<5x3xf32>, %i: tensor<2x3xi32>, %u: tensor<2x3xf32>) -> tensor<5x3xf32>",
     ['%0 = ptir.scatter %x, %i, %u {axis = 0, reduce = "add"} : tensor<5x3xf32>', "return %0"]),
    ("dynamic_slice", "(%x: tensor<5x3xf32>, %s: tensor<2xi32>) -> tensor<2x3xf32>",
     ["%0 = ptir.dynamic_slice %x, %s : tensor<2x3xf32>", "return %0"]),
    ("dynamic_update_slice", "(%x: tensor<5x3xf32>, %u: tensor<2x2xf32>, %s: tensor<2xi64>) -> tensor<5x3xf32>",
     ["%0 = ptir.dynamic_update_slice %x, %u, %s : tensor<5x3xf32>", "return %0"]),
    ("top_k", "(%x: tensor<3x10xf32>) -> (tensor<3x4xf32>, tensor<3x4xi32>)",
     ["%0:2 = ptir.top_k %x {k = 4} : tensor<3x4xf32>, tensor<3x4xi32>", "return %0#0, %0#1"]),
    ("top_k_attrs", "(%x: tensor<10x3xf32>) -> tensor<4x3xi32>",
     ["%0:2 = ptir.top_k %x {k = 4, axis = 0, largest = false} : tensor<4x3xf32>, tensor<4x3xi32>",
      "%1 = ptir.neg %0#0 : tensor<4x3xf32>", "return %0#1"]),
]


def _case_text(case) -> str:
    _, signature, body = case
    return module(func(signature, *body))


def assert_roundtrip(text: str) -> ptir.Program:
    """`text` is canonical: parsing and printing it gives it back, and so does doing it twice."""
    prog = ptir.parse(text, "case.ptir")
    printed = str(prog)
    assert printed == text
    assert str(ptir.parse(printed)) == printed
    return prog


@pytest.mark.parametrize("case", OP_CASES, ids=[c[0] for c in OP_CASES])
def test_op_roundtrip(case):
    assert_roundtrip(_case_text(case))


def test_every_registered_op_has_a_roundtrip_case():
    covered = set()
    for case in OP_CASES:
        prog = ptir.parse(_case_text(case))
        covered.update(op.name for f in prog.functions.values() for op in f.ops)
    covered |= {op.name for f in assert_roundtrip(SHARDED).functions.values() for op in f.ops}
    covered |= {op.name for op in checked_ops()}
    missing = sorted(set(OPS) - covered)
    assert not missing, f"ops without a round-trip case: {missing}"


# A constraint needs the module's mesh (more in tests/sharding).
SHARDED = ('module attributes {ptir.version = 1, ptir.mesh = [["x", 2], ["y", 1]]} {\n'
           + func('(%x: tensor<4x6xf32> {ptir.sharding = [["x", "y"], []]}) -> (tensor<4x6xf32> '
                  '{ptir.sharding = [[], []]}, tensor<4x6xf32>)',
                  '%0 = ptir.sharding_constraint %x {sharding = [[], ["x"]]} : tensor<4x6xf32>', "return %0, %x")
           + "\n}\n")


def test_sharded_roundtrip():
    assert_roundtrip(SHARDED)


# --- attributes ------------------------------------------------------------------------------------

ATTRIBUTE_VALUES = ["0", "3", "-1", "-9223372036854775808", "18446744073709551616", "1.0", "-2.5", "1.0e-05",
                    "1.0e+20", "5.0e-324", "-0.0", "0.1", "inf", "-inf", "nan", "true", "false", '"sum"', '""',
                    '"a \\"quoted\\" \\\\ line\\nbreak"', '"caf\\u00e9"', "f32", "bf16", "i1", "ui8", "[]",
                    "[1, 2]", "[-1, 2.5, true, \"s\", f16]", "[[1, 1], [0, 0]]", "[[], [[3]]]"]


@pytest.mark.parametrize("value", ATTRIBUTE_VALUES)
def test_attribute_forms_roundtrip(value):
    # The module header prints any attribute value through the same code as ops do.
    text = ("module @m attributes {ptir.version = 1, test.value = " + value + "} {\n"
            + func("(%x: tensor<f32>) -> tensor<f32>", "return %x") + "\n}\n")
    assert_roundtrip(text)


@pytest.mark.parametrize("x", [0.1, 1.0e-05, 1 / 3, -1.5e300, 5e-324, 2.0 ** 70, -0.0, 123456789.0, 1e16,
                               math.inf, -math.inf, float.fromhex("0x1.fffffffffffffp+1023")])
def test_float_attribute_keeps_its_bits(x):
    prog = Program()
    b = Builder.new_function(prog, "main", [("x", tensor((3,), "f64"))])
    b.ret(b.op("pad", b.args[0], low=[1], high=[0], value=x))
    text = str(prog)
    back = ptir.parse(text).functions["main"].ops[0].attrs["value"]
    assert struct.pack("<d", back) == struct.pack("<d", x)
    assert str(ptir.parse(text)) == text


def test_nan_attribute_reads_back_as_nan():
    text = module(func("(%x: tensor<3xf32>) -> tensor<4xf32>",
                       "%0 = ptir.pad %x {low = [1], high = [0], value = nan} : tensor<4xf32>", "return %0"))
    prog = assert_roundtrip(text)
    assert math.isnan(prog.functions["main"].ops[0].attrs["value"])


def test_multi_result_ops_and_several_functions():
    text = module(
        func("(%x: tensor<3x10xf32>) -> (tensor<3x4xf32>, tensor<3x4xi32>)",
             "%0:2 = ptir.top_k %x {k = 4} : tensor<3x4xf32>, tensor<3x4xi32>",
             "%1:2 = ptir.top_k %0#0 {k = 4, largest = false} : tensor<3x4xf32>, tensor<3x4xi32>",
             "%2 = ptir.add %0#1, %1#1 : tensor<3x4xi32>",
             "return %1#0, %2"),
        func("(%a: tensor<2xf32>, %b: tensor<2xf32>) -> tensor<2xf32>",
             "%0 = ptir.mul %a, %b : tensor<2xf32>", "return %0", name="helper"),
        func("() -> ()", "return", name="empty"),
    )
    prog = assert_roundtrip(text)
    assert list(prog.functions) == ["main", "helper", "empty"]


def test_param_arguments():
    text = module(func('(%x: tensor<4x8xf32>, %w: tensor<8x16xf32> {ptir.param = "fc.weight"}, '
                       '%b: tensor<16xf32> {ptir.param = "fc.bias \\u00e9\\ud83d\\ude00"}) -> tensor<4x16xf32>',
                       "%0 = ptir.dot_general %x, %w {contract_lhs = [1], contract_rhs = [0]} : tensor<4x16xf32>",
                       "%1 = ptir.broadcast_to %b : tensor<4x16xf32>",
                       "%2 = ptir.add %0, %1 : tensor<4x16xf32>",
                       "return %2"))
    prog = assert_roundtrip(text)
    fn = prog.functions["main"]
    assert [a.param for a in fn.args] == [None, "fc.weight", "fc.bias \u00e9\U0001F600"]
    assert [a.value.name for a in fn.inputs] == ["x"]


def test_param_name_survives_a_roundtrip_from_python():
    prog = Program()
    name = 'w "q" \\ \t caf\u00e9 \U0001F600'
    b = Builder.new_function(prog, "main", [("w", tensor((2,), "f32"), name)])
    b.ret(b.args[0])
    back = ptir.parse(str(prog))
    assert back.functions["main"].args[0].param == name
    assert str(back) == str(prog)


def test_comments_and_layout_are_not_kept():
    text = dedent("""
        // leading comment
        module @net {   // no attributes on input
          func @main(%x: tensor<4xf32>,   // the input
                     %y: tensor<4xf32>) -> tensor<4xf32> {
            // a comment line
            %s = ptir.add %x,%y: tensor<4xf32>  // trailing comment
            %t   =   ptir.exp   %s   :   tensor<4xf32>
            return %t // done
          }
        }
        // trailing comment
    """)
    want = ("module @net attributes {ptir.version = 1} {\n"
            + func("(%x: tensor<4xf32>, %y: tensor<4xf32>) -> tensor<4xf32>",
                   "%0 = ptir.add %x, %y : tensor<4xf32>", "%1 = ptir.exp %0 : tensor<4xf32>", "return %1")
            + "\n}\n")
    assert str(ptir.parse(text)) == want
    assert_roundtrip(want)


def test_bare_functions_get_a_module():
    text = "func @f(%x: tensor<f32>) -> tensor<f32> {\n  return %x\n}\n"
    assert str(ptir.parse(text)) == module(func("(%x: tensor<f32>) -> tensor<f32>", "return %x", name="f"))


def test_values_are_renumbered_and_argument_names_kept():
    text = dedent("""
        func @main(%0: tensor<2xf32>, %arg1: tensor<2xf32>) -> tensor<2xf32> {
          %zzz = ptir.add %0, %arg1 : tensor<2xf32>
          %a.b_c = ptir.mul %zzz, %zzz : tensor<2xf32>
          return %a.b_c
        }
    """)
    printed = str(ptir.parse(text))
    assert printed == module(func("(%0_1: tensor<2xf32>, %arg1: tensor<2xf32>) -> tensor<2xf32>",
                                  "%0 = ptir.add %0_1, %arg1 : tensor<2xf32>",
                                  "%1 = ptir.mul %0, %0 : tensor<2xf32>", "return %1"))
    assert_roundtrip(printed)


# --- canonical form: negative axes normalised, defaults left out ---------------------------------

X = "%x: tensor<2x3x4xf32>"
CANONICAL = [
    # (arguments, the op as written, the op as printed)
    (X, 'reduce %x {kind = "max", axes = [-1, -3], keepdims = false} : tensor<3xf32>',
     'reduce %x {kind = "max", axes = [2, 0]} : tensor<3xf32>'),
    (X, "argmax %x {axis = -2, keepdims = false} : tensor<2x4xi32>", "argmax %x {axis = 1} : tensor<2x4xi32>"),
    (X, "concat %x, %x {axis = -1} : tensor<2x3x8xf32>", "concat %x, %x {axis = 2} : tensor<2x3x8xf32>"),
    (X, "top_k %x {k = 2, axis = -1, largest = true} : tensor<2x3x2xf32>, tensor<2x3x2xi32>",
     "top_k %x {k = 2} : tensor<2x3x2xf32>, tensor<2x3x2xi32>"),
    (X, "top_k %x {k = 2, axis = 2} : tensor<2x3x2xf32>, tensor<2x3x2xi32>",
     "top_k %x {k = 2} : tensor<2x3x2xf32>, tensor<2x3x2xi32>"),
    (X, "top_k %x {k = 1, axis = -3} : tensor<1x3x4xf32>, tensor<1x3x4xi32>",
     "top_k %x {k = 1, axis = 0} : tensor<1x3x4xf32>, tensor<1x3x4xi32>"),
    (X + ", %i: tensor<5xi32>", "take %x, %i {axis = 0} : tensor<5x3x4xf32>", "take %x, %i : tensor<5x3x4xf32>"),
    (X + ", %i: tensor<5xi32>", "take %x, %i {axis = -1} : tensor<2x3x5xf32>",
     "take %x, %i {axis = 2} : tensor<2x3x5xf32>"),
    (X + ", %j: tensor<1x1x1xi32>", "gather %x, %j {axis = -3} : tensor<1x1x1xf32>",
     "gather %x, %j {axis = 0} : tensor<1x1x1xf32>"),
    (X + ", %j: tensor<1x1x1xi32>, %u: tensor<1x1x1xf32>",
     'scatter %x, %j, %u {axis = -2, reduce = "replace"} : tensor<2x3x4xf32>',
     "scatter %x, %j, %u {axis = 1} : tensor<2x3x4xf32>"),
    (X, "slice %x {start = [0, 0, 0], limit = [1, 2, 3], stride = [1, 1, 1]} : tensor<1x2x3xf32>",
     "slice %x {start = [0, 0, 0], limit = [1, 2, 3]} : tensor<1x2x3xf32>"),
    (X, "pad %x {low = [0, 0, 1], high = [0, 0, 0], interior = [0, 0, 0], value = 0.0} : tensor<2x3x5xf32>",
     "pad %x {low = [0, 0, 1], high = [0, 0, 0]} : tensor<2x3x5xf32>"),
    (X, "pad %x {low = [0, 0, 1], high = [0, 0, 0], value = 0} : tensor<2x3x5xf32>",
     "pad %x {low = [0, 0, 1], high = [0, 0, 0]} : tensor<2x3x5xf32>"),
    (X, "pad %x {low = [0, 0, 1], high = [0, 0, 0], value = -0.0} : tensor<2x3x5xf32>",
     "pad %x {low = [0, 0, 1], high = [0, 0, 0], value = -0.0} : tensor<2x3x5xf32>"),
    (X, 'reduce_window %x {kind = "sum", window = [1, 1, 2], strides = [1, 1, 1], '
        "padding = [[0, 0], [0, 0], [0, 0]]} : tensor<2x3x3xf32>",
     'reduce_window %x {kind = "sum", window = [1, 1, 2]} : tensor<2x3x3xf32>'),
    (X, 'conv %x, %w {layout = "nchw", strides = [1], padding = [[0, 0]], dilation = [1], groups = 1} '
        ": tensor<2x5x3xf32>", "conv %x, %w : tensor<2x5x3xf32>"),
    (X, "dot_general %x, %x {batch_lhs = [], batch_rhs = [], contract_lhs = [2], contract_rhs = [2]} "
        ": tensor<2x3x2x3xf32>",
     "dot_general %x, %x {contract_lhs = [2], contract_rhs = [2]} : tensor<2x3x2x3xf32>"),
    (X, "iota {axis = -1} : tensor<2x3x4xi32>", "iota {axis = 2} : tensor<2x3x4xi32>"),
]


@pytest.mark.parametrize("args,given,want", CANONICAL, ids=[c[1].split()[0] + str(i) for i, c in enumerate(CANONICAL)])
def test_canonical_form(args, given, want):
    if given.startswith("conv"):
        args += ", %w: tensor<5x3x2xf32>"
    n = "0:2" if given.startswith("top_k") else "0"
    r = "r:2" if given.startswith("top_k") else "r"
    text = func(f"({args}) -> tensor<2x3x4xf32>", f"%{r} = ptir.{given}", "return %x")
    want_text = module(func(f"({args}) -> tensor<2x3x4xf32>", f"%{n} = ptir.{want}", "return %x"))
    assert str(ptir.parse(text)) == want_text
    assert_roundtrip(want_text)


# --- dense literals --------------------------------------------------------------------------------

def _constant_program(arr: np.ndarray, dtype) -> Program:
    prog = Program()
    b = Builder.new_function(prog, "main", [])
    b.ret(b.op("constant", out=tensor(arr.shape, dtype), value=arr))
    return prog


def _literal_of(text: str) -> np.ndarray:
    """The constant's value as the op means it: a splat's one element broadcast to the type."""
    op = ptir.parse(text).functions["main"].ops[0]
    return np.broadcast_to(op.attrs["value"], op.results[0].type.shape)


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def _literal_line(text: str) -> str:
    return text.splitlines()[2].strip()


def _specials(d: dt.DType) -> list:
    if d.is_bool:
        return [True, False]
    if d.is_int:
        info = np.iinfo(d.np_dtype)
        return [0, 1, -1 if info.min < 0 else 2, int(info.min), int(info.max)]
    if d == dt.bf16:
        info = ml_dtypes.finfo(ml_dtypes.bfloat16)
    else:
        info = np.finfo(d.np_dtype)
    return [0.0, -0.0, 1.0, -2.5, 0.1, math.inf, -math.inf, math.nan, float(info.max), float(info.min),
            float(info.smallest_subnormal), float(info.eps)]


@pytest.mark.parametrize("d", dt.ALL, ids=lambda d: d.name)
@pytest.mark.parametrize("size", [0, 1, 3, DECIMAL_LIMIT, DECIMAL_LIMIT + 1, 200])
def test_dense_literal_roundtrip_every_dtype(d, size):
    rng = np.random.default_rng(size)
    specials = np.array(_specials(d)).astype(d.np_dtype)
    if d.is_float:
        rand = rng.standard_normal(size) * 10.0 ** rng.integers(-8, 8, size)
    else:
        rand = rng.integers(-200, 200, size)
    with np.errstate(all="ignore"):
        arr = np.concatenate([specials, rand.astype(d.np_dtype)])[:size] if size else np.zeros(0, d.np_dtype)
    arr = arr.astype(d.np_dtype)
    for shaped in (arr, arr.reshape(1, size, 1)):
        text = str(_constant_program(shaped, d))
        back = _literal_of(text)
        assert _same_bits(back, shaped), text
        assert str(ptir.parse(text)) == text
        if size > DECIMAL_LIMIT:
            assert 'dense<"0x' in text     # large literals are written in hex


@pytest.mark.parametrize("d", dt.ALL, ids=lambda d: d.name)
def test_splat_literal_every_dtype(d):
    for v in _specials(d):
        one = np.array(v).astype(d.np_dtype)
        arr = np.full((3, 4), one, dtype=d.np_dtype)
        text = str(_constant_program(arr, d))
        body = _literal_line(text)
        assert "[" not in body      # a splat, never a list
        assert _same_bits(_literal_of(text), arr)
        assert str(ptir.parse(text)) == text
        scalar = str(_constant_program(one.reshape(()), d))
        assert _same_bits(_literal_of(scalar), one.reshape(()))
        assert str(ptir.parse(scalar)) == scalar


@pytest.mark.parametrize("literal,typ", [
    ("dense<0.5>", "tensor<4x16xf32>"),
    ("dense<-0.0>", "tensor<3xf32>"),
    ("dense<nan>", "tensor<2xf64>"),
    ("dense<-inf>", "tensor<2x2xbf16>"),
    ("dense<1.0e-05>", "tensor<f32>"),
    ("dense<true>", "tensor<2xi1>"),
    ("dense<-128>", "tensor<3xi8>"),
    ("dense<255>", "tensor<3xui8>"),
    ("dense<[[1.0, 2.0]]>", "tensor<1x2xf32>"),
    ("dense<[[true, false], [false, true]]>", "tensor<2x2xi1>"),
    ("dense<[-9223372036854775808, 9223372036854775807]>", "tensor<2xi64>"),
    ("dense<[0.0, -0.0, inf, -inf, nan, 1.0e-45]>", "tensor<6xf32>"),
    ("dense<[6.55e+04, 6.0e-08, -0.0]>", "tensor<3xf16>"),
    ("dense<[3.3895314e+38, 0.00390625]>", "tensor<2xbf16>"),
    ('dense<"0x0100C07F">', "tensor<5xf32>"),           # hex splat of a NaN payload the decimal form can't hold
    ('dense<"0x0000C0FF0000803F">', "tensor<2xf32>"),   # -nan: kept in hex
    ('dense<"0x0000C0FF">', "tensor<f32>"),
    ("dense<[]>", "tensor<0xf32>"),
    ("dense<[[], []]>", "tensor<2x0xi32>"),
])
def test_dense_literal_canonical_forms(literal, typ):
    text = module(func(f"() -> {typ}", f"%0 = ptir.constant {literal} : {typ}", "return %0"))
    assert_roundtrip(text)


def test_hex_literal_reads_little_endian_bytes():
    want = np.array([[1.0, -2.0, 0.5], [np.nan, np.inf, -0.0]], dtype=np.float32)
    hexed = want.astype("<f4").tobytes().hex()
    for h in (hexed, hexed.upper()):
        text = func("() -> tensor<2x3xf32>", f'%0 = ptir.constant dense<"0x{h}"> : tensor<2x3xf32>', "return %0")
        assert _same_bits(_literal_of(text), want)
    # small literals whose decimal form is exact print in decimal
    printed = str(ptir.parse(text))
    assert "dense<[[1.0, -2.0, 0.5], [nan, inf, -0.0]]>" in printed
    assert str(ptir.parse(printed)) == printed


def test_hex_splat_fills_the_type():
    text = func("() -> tensor<3x17xi16>", '%0 = ptir.constant dense<"0x3412"> : tensor<3x17xi16>', "return %0")
    lit = _literal_of(text)
    assert _same_bits(lit, np.full((3, 17), 0x1234, dtype=np.int16))
    assert "dense<4660>" in str(ptir.parse(text))


@pytest.mark.parametrize("shape", [(0,), (0, 3), (2, 0), (2, 0, 3), (3, 4, 0)])
@pytest.mark.parametrize("d", [dt.f32, dt.i1, dt.bf16], ids=lambda d: d.name)
def test_zero_size_literals(shape, d):
    arr = np.zeros(shape, dtype=d.np_dtype)
    text = str(_constant_program(arr, d))
    assert _same_bits(_literal_of(text), arr)
    assert str(ptir.parse(text)) == text


def test_size_one_splat_from_builder_is_printed_as_splat():
    # A builder constant may hold a one-element literal for a bigger type (a splat).
    for value in (np.array([0.5], np.float32), np.array(0.5, np.float32), np.array([[0.5]], np.float32)):
        prog = Program()
        b = Builder.new_function(prog, "main", [])
        b.ret(b.op("constant", out=tensor((2, 3), "f32"), value=value))
        text = str(prog)
        assert "dense<0.5>" in text
        assert _same_bits(_literal_of(text), np.full((2, 3), 0.5, np.float32))
        np.testing.assert_array_equal(ptir.compile(ptir.parse(text))(), np.full((2, 3), 0.5, np.float32))


def test_large_literal_is_hex_and_exact():
    arr = np.random.default_rng(0).standard_normal((64, 64)).astype(np.float32)
    text = str(_constant_program(arr, dt.f32))
    assert len(text) < 2 * arr.nbytes + 400
    assert _literal_line(text).startswith('%0 = ptir.constant dense<"0x')
    assert _same_bits(_literal_of(text), arr)
    assert str(ptir.parse(text)) == text

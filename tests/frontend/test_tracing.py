"""ptir.trace: operators, broadcasting and promotion made explicit, indexing, constants."""

import numpy as np
import pytest

import ptir
from ptir.errors import TypeRuleError

from ._util import ops


def test_trace_names_arguments_and_prints_canonical_text():
    prog = ptir.trace(lambda x, w: x @ w, ptir.spec((4, 8)), ptir.spec((8, 2)))
    assert str(prog) == (
        "module attributes {ptir.version = 1} {\n"
        "  func @main(%x: tensor<4x8xf32>, %w: tensor<8x2xf32>) -> tensor<4x2xf32> {\n"
        "    %0 = ptir.dot_general %x, %w {contract_lhs = [1], contract_rhs = [0]} : tensor<4x2xf32>\n"
        "    return %0\n"
        "  }\n"
        "}\n")
    assert str(ptir.parse(str(prog))) == str(prog)


def test_specs_from_arrays_and_names(rng):
    prog = ptir.trace(lambda a: a + 1, np.zeros((2, 3), np.int32), name="f")
    fn = prog.entry("f")
    assert str(fn.args[0].value.type) == "tensor<2x3xi32>"
    assert ops(prog, "f") == ["constant", "add"]
    with pytest.raises(TypeRuleError, match="a spec must be"):
        ptir.trace(lambda a: a, (2, 3))


def test_broadcasting_is_explicit():
    prog = ptir.trace(lambda a, b: a * b, ptir.spec((3, 1)), ptir.spec((4,)))
    assert ops(prog) == ["broadcast_to", "broadcast_to", "mul"]
    assert prog.entry().result_types[0].shape == (3, 4)
    with pytest.raises(TypeRuleError, match=r"mul: cannot broadcast shapes \(3,\), \(4,\)"):
        ptir.trace(lambda a, b: a * b, ptir.spec((3,)), ptir.spec((4,)))


@pytest.mark.parametrize("a,b,want", [("i32", "f32", "f32"), ("f16", "f32", "f32"), ("i8", "i32", "i32"),
                                      ("bf16", "f16", "f32"), ("i1", "i32", "i32"), ("ui8", "i8", "i16")])
def test_promotion_is_explicit(a, b, want):
    prog = ptir.trace(lambda x, y: x + y, ptir.spec((2,), a), ptir.spec((2,), b))
    assert ops(prog) == ["cast"] * (2 - [a, b].count(want)) + ["add"]
    assert prog.entry().result_types[0].dtype.name == want


@pytest.mark.parametrize("dtype,scalar,want", [("f16", 2.5, "f16"), ("i32", 2, "i32"), ("i32", 2.5, "f32"),
                                               ("i1", 1, "i64"), ("bf16", 3, "bf16")])
def test_python_scalars_are_weak(dtype, scalar, want):
    prog = ptir.trace(lambda x: x * scalar, ptir.spec((2, 2), dtype))
    assert prog.entry().result_types[0].dtype.name == want
    const = next(op for op in prog.entry().ops if op.name == "constant")
    assert const.attrs["value"].size == 1 and const.results[0].type.shape == (2, 2)   # a splat


def test_operators(run, rng):
    x, y = rng.standard_normal((3, 4)).astype(np.float32), rng.uniform(1, 2, (4,)).astype(np.float32)
    fns = [lambda a, b: a + b, lambda a, b: a - b, lambda a, b: a * b, lambda a, b: a / b, lambda a, b: -a + 2,
           lambda a, b: 2 - a, lambda a, b: 1 / b, lambda a, b: b ** 2, lambda a, b: abs(a), lambda a, b: 3 * a,
           lambda a, b: a.T, lambda a, b: a.reshape(2, -1), lambda a, b: a.reshape((-1,)), lambda a, b: a.sum(1),
           lambda a, b: a.mean(), lambda a, b: a.max(0, keepdims=True), lambda a, b: a.transpose(1, 0)]
    want = [x + y, x - y, x * y, x / y, -x + 2, 2 - x, 1 / y, y ** 2, abs(x), 3 * x, x.T, x.reshape(2, -1),
            x.reshape(-1), x.sum(1), x.mean(), x.max(0, keepdims=True), x.T]
    for f, w in zip(fns, want, strict=True):
        got = run(f, x, y)
        assert got.shape == w.shape and got.dtype == np.float32
        np.testing.assert_allclose(got, w, rtol=1e-6, atol=1e-6)


def test_comparisons_give_i1(run, rng):
    x, y = rng.integers(0, 3, (5,)).astype(np.int32), rng.integers(0, 3, (5,)).astype(np.int32)
    for f, w in [(lambda a, b: a < b, x < y), (lambda a, b: a <= b, x <= y), (lambda a, b: a > 1, x > 1),
                 (lambda a, b: a >= b, x >= y), (lambda a, b: a == b, x == y), (lambda a, b: a != 1, x != 1),
                 (lambda a, b: (a < b) & (a > 0), (x < y) & (x > 0)), (lambda a, b: ~(a == b), x != y)]:
        got = run(f, x, y)
        assert got.dtype == np.bool_
        np.testing.assert_array_equal(got, w)


def test_integer_true_division_gives_f32(run):
    x = np.array([1, 2, 7], np.int32)
    got = run(lambda a: a / 2, x)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, [0.5, 1.0, 3.5])


def test_astype_and_numpy_constants(run):
    x = np.array([1.7, -2.2, 3.9], np.float32)
    got = run(lambda a: a.astype("i32"), x)
    np.testing.assert_array_equal(got, [1, -2, 3])
    got = run(lambda a: a.astype(np.float16) * np.array([1, 2, 3], np.float16), x)
    assert got.dtype == np.float16
    prog = ptir.trace(lambda a: a + np.arange(3, dtype=np.float32), x)
    assert ops(prog) == ["constant", "add"]


INDICES = [(1,), (-1,), (slice(1, None),), (slice(None, None, 2),), (slice(None, None, -1),), (Ellipsis, 0),
           (None, 1), (0, None, slice(1, 3)), (slice(-3, -1), Ellipsis, None), (1, -2, 0), (Ellipsis,),
           (slice(5, 1, -2), 0), (slice(2, 2),), (np.array([2, 0, -1]),), (slice(None), np.array([[1, 0]]))]


@pytest.mark.parametrize("index", INDICES, ids=[str(i) for i in range(len(INDICES))])
def test_indexing_matches_numpy(index, run, rng):
    x = rng.standard_normal((4, 3, 2)).astype(np.float32)
    got = run(lambda a: a[index], x)
    np.testing.assert_array_equal(got, x[index])


def test_iteration_unpacks_the_first_dim(run, rng):
    x = rng.standard_normal((2, 3)).astype(np.float32)
    np.testing.assert_array_equal(run(lambda a: sum(a), x), x.sum(0))


def test_tensor_index(run, rng):
    x = rng.standard_normal((5, 2)).astype(np.float32)
    idx = np.array([4, -1, 0], np.int64)
    np.testing.assert_array_equal(run(lambda a, i: a[i], x, idx), x[idx])


def test_indexing_errors():
    with pytest.raises(TypeRuleError, match="getitem: index 3 is out of range for dim 0 of size 3"):
        ptir.trace(lambda a: a[3], ptir.spec((3,)))
    with pytest.raises(TypeRuleError, match="too many indices"):
        ptir.trace(lambda a: a[0, 0], ptir.spec((3,)))
    with pytest.raises(TypeRuleError, match="cannot reshape"):
        ptir.trace(lambda a: a.reshape(4, -1), ptir.spec((3, 2)))


def test_no_truth_value_and_bad_results():
    with pytest.raises(TypeRuleError, match="no truth value"):
        ptir.trace(lambda a: a if a > 0 else -a, ptir.spec((3,)))
    with pytest.raises(TypeRuleError, match="result 0 of the traced function is a int"):
        ptir.trace(lambda a: 3, ptir.spec((3,)))


def test_compile_callable_and_positional_target(rng):
    x = rng.standard_normal((2, 3)).astype(np.float32)
    f = ptir.compile(lambda a: (a * 2, a.sum()), ptir.spec((2, 3)), target="ref")
    y, s = f(x)
    np.testing.assert_allclose(y, x * 2)
    assert s.shape == ()
    prog = ptir.trace(lambda a: a + 1, x)
    np.testing.assert_allclose(ptir.compile(prog, "ref")(x), x + 1)

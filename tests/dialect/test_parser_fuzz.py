"""Fuzzing the text format: whatever the input, the parser and verifier either accept it or
raise ParseError/VerifyError with a place, never another exception; what they accept prints
canonically (print -> parse -> print is the identity)."""

from __future__ import annotations

import warnings

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ptir
from ptir.errors import ParseError, VerifyError

from ._util import dedent

SEEDS = [
    dedent("""
        // a two-layer perceptron
        module @mlp attributes {ptir.version = 1} {
          func @main(%x: tensor<4x8xf32>, %w: tensor<8x16xf32> {ptir.param = "fc.weight"}, %b: tensor<16xf32>)
              -> tensor<4x16xf32> {
            %0 = ptir.dot_general %x, %w {contract_lhs = [1], contract_rhs = [0]} : tensor<4x16xf32>
            %1 = ptir.broadcast_to %b : tensor<4x16xf32>
            %2 = ptir.add %0, %1 : tensor<4x16xf32>
            %c = ptir.constant dense<0.5> : tensor<4x16xf32>
            %3 = ptir.mul %2, %c : tensor<4x16xf32>
            %4 = ptir.tanh %3 : tensor<4x16xf32>
            %m = ptir.reduce %4 {kind = "max", axes = [-1], keepdims = true} : tensor<4x1xf32>
            return %4
          }
        }
    """),
    dedent("""
        func @main(%x: tensor<3x10xf32>, %i: tensor<2xi32>) -> (tensor<3x4xf32>, tensor<3x4xi32>) {
          %t:2 = ptir.top_k %x {k = 4, largest = false} : tensor<3x4xf32>, tensor<3x4xi32>
          %p = ptir.pad %x {low = [1, -1], high = [0, 2], interior = [1, 0], value = -inf} : tensor<6x11xf32>
          %s = ptir.slice %p {start = [0, 1], limit = [6, 9], stride = [2, 3]} : tensor<3x3xf32>
          %d = ptir.dynamic_slice %x, %i : tensor<2x5xf32>
          %k = ptir.constant dense<[[1, 2], [3, -4]]> : tensor<2x2xi64>
          %h = ptir.constant dense<"0x0000803F000000C0"> : tensor<2xf32>
          %q = ptir.compare %h, %h {direction = "ne"} : tensor<2xi1>
          %e = ptir.cast %q : tensor<2xf16>
          return %t#0, %t#1
        }
        func @other(%a: tensor<?x8xbf16>) -> tensor<?x8xbf16> {
          %0 = ptir.exp %a : tensor<?x8xbf16>
          return %0
        }
    """),
    dedent("""
        module {
          func @conv(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) -> tensor<1x4x4x4xf32> {
            %0 = ptir.conv %x, %w {strides = [2, 2], padding = [[1, 1], [1, 1]],
                                   dilation = [1, 1]} : tensor<1x4x4x4xf32>
            %1 = ptir.reduce_window %0 {kind = "sum", window = [1, 1, 2, 2],
                                        padding = [[0, 0], [0, 0], [1, 0], [1, 0]]} : tensor<1x4x4x4xf32>
            %2 = ptir.iota {axis = 1} : tensor<1x4x4x4xi32>
            %3 = ptir.argmax %1 {axis = -1} : tensor<1x4x4xi64>
            %4 = ptir.concat %0, %1 {axis = 0} : tensor<2x4x4x4xf32>
            return %1
          }
        }
    """),
]

TOKENS = ["%", "%0", "%x", "%t#1", "@", "{", "}", "[", "]", "(", ")", "<", ">", ",", ":", "=", "->", "\"", "//",
          "\n", " ", "ptir.add", "ptir.top_k", "ptir.constant", "tensor<", "x", "?", "f32", "i1", "bf16", "dense<",
          '"0x', "0x", "inf", "-", "nan", "1.0e-05", "-1", "0", "99999", "true", "axis", "k", "return", "func",
          "module", "attributes", "ptir.param", "ptir.version", "\\", "\\u12", "#", "\u00b2", "\u0663", "\U0001F600"]

mutation = st.tuples(st.sampled_from(["insert", "delete", "replace", "token", "truncate"]),
                     st.floats(0, 1, allow_nan=False), st.integers(1, 8),
                     st.one_of(st.characters(), st.sampled_from(TOKENS)))


def mutate(text: str, steps) -> str:
    for kind, where, n, piece in steps:
        i = int(where * len(text))
        if kind == "insert":
            text = text[:i] + piece[:1] + text[i:]
        elif kind == "token":
            text = text[:i] + piece + text[i:]
        elif kind == "delete":
            text = text[:i] + text[i + n:]
        elif kind == "replace":
            text = text[:i] + piece[:1] + text[i + 1:]
        else:
            text = text[:i]
    return text


def check(text: str) -> None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)   # e.g. 1e39 read as an f32 literal is inf
            prog = ptir.parse(text, "fuzz.ptir")
    except (ParseError, VerifyError) as e:
        assert e.loc is not None and e.loc.file == "fuzz.ptir" and e.loc.line >= 1, str(e)
        assert 1 <= e.loc.line <= text.count("\n") + 1
        assert e.loc.col >= 1
        assert str(e).startswith(f"fuzz.ptir:{e.loc.line}:{e.loc.col}: error: ")
        if isinstance(e, VerifyError):
            assert all(d.loc is not None and d.loc.line >= 1 for d in e.errors)
        return
    printed = str(prog)
    again = ptir.parse(printed, "printed.ptir")
    assert str(again) == printed


FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)


def test_seeds_are_valid():
    for seed in SEEDS:
        ptir.parse(seed)


@FUZZ
@given(st.sampled_from(range(len(SEEDS))), st.lists(mutation, min_size=1, max_size=4))
def test_mutated_programs(seed, steps):
    check(mutate(SEEDS[seed], steps))


@FUZZ
@given(st.sampled_from(range(len(SEEDS))), st.integers(0, 10_000))
def test_truncated_programs(seed, cut):
    text = SEEDS[seed]
    check(text[:cut % (len(text) + 1)])


@FUZZ
@given(st.lists(st.one_of(st.sampled_from(TOKENS), st.text(max_size=3)), max_size=40))
def test_random_token_soup(pieces):
    check(" ".join(pieces))


@FUZZ
@given(st.text(max_size=200))
def test_random_text(text):
    check(text)

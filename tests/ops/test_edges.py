"""The edges of the ops that have no record (indexing and reductions), one table: each case
runs on every target against the reference, exactly (NaN where the reference has NaN,
zeros with their sign).  Where the answer is plain, `want` states it too, so the reference
is held to it as well.

Indexing: starts and indices out of range, negative, at the extremes of their dtype, and
nested (a slice of a slice, an update of a window).  Reductions: every kind over a size-1
axis, over no axes, over an empty axis, and over rows that are all NaN, all inf, or mixed.
All cases of a target compile as one program (a failure to compile falls back to one
program per case, so it is reported against its own case).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest

import ptir
from ptir.conformance.families import check_edges
from ptir.conformance.records import EXACT
from ptir.dialect.program import Builder, Program
from ptir.dialect.types import tensor
from ptir.errors import PtirError
from ptir.runtime import TARGETS

NAN, INF = np.nan, np.inf
I32, I64 = np.iinfo(np.int32), np.iinfo(np.int64)


@dataclass(frozen=True)
class Edge:
    id: str
    inputs: tuple[np.ndarray, ...]
    body: Callable            # body(builder, *args) -> one value
    want: object = None       # the answer, where it is plain (checked against every target)


CASES: list[Edge] = []


def edge(id: str, inputs, body, want=None) -> None:
    CASES.append(Edge(id, tuple(np.asarray(x) for x in inputs), body, want))


def f32(*v):
    return np.array(v, np.float32)


def idx(*v, dtype=np.int32):
    return np.array(v, dtype)


# --- dynamic slices: starts clamped into [0, dim - size], each on its own --------------------------

def _ds(size, dtype="f32"):
    return lambda b, x, s: b.op("dynamic_slice", x, s, out=tensor(size, dtype))


X5 = f32(10, 20, 30, 40, 50)
for _s, _want in ((-1, [10, 20]), (4, [40, 50]), (3, [40, 50]), (I32.min, [10, 20]), (I32.max, [40, 50])):
    edge(f"dynamic_slice-start{_s}", [X5, idx(_s)], _ds((2,)), f32(*_want))
edge("dynamic_slice-i64-extremes", [np.arange(12, dtype=np.float32).reshape(3, 4),
                                    idx(I64.max, I64.min, dtype=np.int64)],
     _ds((2, 3)), np.array([[4, 5, 6], [8, 9, 10]], np.float32))
edge("dynamic_slice-whole", [X5, idx(3)], _ds((5,)), X5)
edge("dynamic_slice-size1-axis", [np.arange(6, dtype=np.int32).reshape(1, 6), idx(5, -2)], _ds((1, 2), "i32"),
     np.array([[0, 1]], np.int32))
for _i, _j in ((3, 1), (-9, 9), (1, -1)):
    # [10 .. 50][clamp(i) : +3][clamp(j) : +2]
    edge(f"dynamic_slice-nested-{_i}-{_j}", [X5, idx(_i), idx(_j)],
         lambda b, x, i, j: b.op("dynamic_slice", b.op("dynamic_slice", x, i, out=tensor((3,), "f32")), j,
                                 out=tensor((2,), "f32")),
         X5[min(max(_i, 0), 2) + min(max(_j, 0), 1):][:2])
for _s in (-3, 2, 7, I32.min):
    edge(f"dynamic_update_slice-start{_s}", [X5, f32(-1, -2, -3), idx(_s)],
         lambda b, x, u, s: b.op("dynamic_update_slice", x, u, s))
edge("dynamic_update_slice-whole", [X5, f32(1, 2, 3, 4, 5), idx(4)],
     lambda b, x, u, s: b.op("dynamic_update_slice", x, u, s), f32(1, 2, 3, 4, 5))
edge("dynamic_update_slice-i64-2d", [np.zeros((3, 3), np.int32), np.ones((2, 1), np.int32),
                                     idx(-5, 99, dtype=np.int64)],
     lambda b, x, u, s: b.op("dynamic_update_slice", x, u, s), np.array([[0, 0, 1], [0, 0, 1], [0, 0, 0]], np.int32))


def _window_update(b, x, u, i, j):
    """x with its 3-wide window at clamp(i) replaced by the window updated at clamp(j)."""
    window = b.op("dynamic_slice", x, i, out=tensor((3,), "f32"))
    return b.op("dynamic_update_slice", x, b.op("dynamic_update_slice", window, u, j), i)


for _i, _j in ((4, 5), (-2, 1), (1, -7)):
    edge(f"dynamic_update_slice-nested-{_i}-{_j}", [X5, f32(-1, -2), idx(_i), idx(_j)], _window_update)

# --- take and gather: indices clamped into [0, dim - 1] --------------------------------------------

edge("take-out-of-range", [X5, idx(-1, 5, 2, I32.min, I32.max)], lambda b, x, i: b.op("take", x, i),
     f32(10, 50, 30, 10, 50))
edge("take-i64-extremes-axis1", [np.arange(6, dtype=np.float32).reshape(2, 3), idx(I64.min, I64.max, dtype=np.int64)],
     lambda b, x, i: b.op("take", x, i, axis=1), np.array([[0, 2], [3, 5]], np.float32))
edge("take-nested", [X5, idx(4, -3, 1), idx(2, 9, -1, 0)],
     lambda b, x, i, j: b.op("take", b.op("take", x, i), j), f32(20, 20, 50, 50))
edge("take-of-indices-taken", [X5, idx(7, -1, 3), idx(1, 0, 2)],
     lambda b, x, i, j: b.op("take", x, b.op("take", i, j)), f32(10, 50, 40))
edge("gather-out-of-range", [np.arange(6, dtype=np.float32).reshape(2, 3), idx(-4, 3, 1, 9, 0, -1).reshape(2, 3)],
     lambda b, x, i: b.op("gather", x, i, axis=1), np.array([[0, 2, 1], [5, 3, 3]], np.float32))
edge("gather-i64-axis0", [np.arange(6, dtype=np.int32).reshape(3, 2),
                          idx(I64.max, I64.min, dtype=np.int64).reshape(1, 2)],
     lambda b, x, i: b.op("gather", x, i, axis=0), np.array([[4, 1]], np.int32))
edge("gather-nested", [np.arange(8, dtype=np.float32).reshape(2, 4), idx(3, 9, -2, 1, 0, 2, 2, 5).reshape(2, 4),
                       idx(0, 3, 3, -1, 1, 1, 0, 7).reshape(2, 4)],
     lambda b, x, i, j: b.op("gather", b.op("gather", x, i, axis=1), j, axis=1))

# --- reductions ------------------------------------------------------------------------------------

ROWS = np.array([[NAN, NAN, NAN], [INF, INF, INF], [-INF, -INF, -INF], [INF, -INF, 1], [NAN, INF, -INF],
                 [-0.0, 0.0, -0.0], [-0.0, -0.0, -0.0], [1, NAN, 2]], np.float32)
for _kind in ("sum", "max", "min", "prod"):
    edge(f"reduce-{_kind}-special-rows", [ROWS], lambda b, x, k=_kind: b.op("reduce", x, kind=k, axes=[1]))
    # One element reduced, or none, is that element: -0 stays -0, as the sum of [-0, -0] is -0.
    edge(f"reduce-{_kind}-size1-axis", [ROWS[:, :1].copy()],
         lambda b, x, k=_kind: b.op("reduce", x, kind=k, axes=[1], keepdims=True), ROWS[:, :1])
    edge(f"reduce-{_kind}-no-axes", [ROWS], lambda b, x, k=_kind: b.op("reduce", x, kind=k, axes=[]), ROWS)
    edge(f"reduce-{_kind}-empty-axis", [np.zeros((2, 0), np.float32)],
         lambda b, x, k=_kind: b.op("reduce", x, kind=k, axes=[1]),
         np.full(2, {"sum": 0, "max": -INF, "min": INF, "prod": 1}[_kind], np.float32))
    edge(f"reduce-{_kind}-i32-extremes", [np.array([[I32.max, 1], [I32.min, -1], [I32.min, I32.max]], np.int32)],
         lambda b, x, k=_kind: b.op("reduce", x, kind=k, axes=[1]))
    edge(f"reduce-{_kind}-i32-empty-axis", [np.zeros((0, 3), np.int32)],
         lambda b, x, k=_kind: b.op("reduce", x, kind=k, axes=[0]),
         np.full(3, {"sum": 0, "max": I32.min, "min": I32.max, "prod": 1}[_kind], np.int32))
edge("reduce-sum-ui8-wraps", [np.array([[200, 100], [255, 1]], np.uint8)],
     lambda b, x: b.op("reduce", x, kind="sum", axes=[1]), np.array([44, 0], np.uint8))

ARG_ROWS = np.array([[NAN, NAN, NAN], [-INF, -INF, -INF], [INF, INF, INF], [1, NAN, 2], [3, 5, NAN],
                     [-0.0, 0.0, 0.0], [2, 2, 1]], np.float32)
for _op in ("argmax", "argmin"):
    edge(f"{_op}-special-rows", [ARG_ROWS], lambda b, x, op=_op: b.op(op, x, axis=1))
    edge(f"{_op}-size1-axis", [ARG_ROWS[:, :1].copy()], lambda b, x, op=_op: b.op(op, x, axis=1),
         np.zeros(len(ARG_ROWS), np.int32))
    edge(f"{_op}-i32-extremes", [np.array([[I32.min, I32.max, I32.max], [I32.min, I32.min, 0]], np.int32)],
         lambda b, x, op=_op: b.op(op, x, axis=1, out=tensor((2,), "i64")))
for _id, _row, _want in (("all-nan", [NAN] * 3, 0), ("first-nan", [1, NAN, 2], 1), ("all-minus-inf", [-INF] * 3, 0)):
    edge(f"argmax-{_id}", [f32(*_row)], lambda b, x: b.op("argmax", x, axis=0), np.int32(_want))


# --- running them ----------------------------------------------------------------------------------

def _program(cases: list[Edge]) -> Program:
    """One main holding every case: the cases' inputs as arguments, their results in order."""
    prog = Program(name="edges")
    types = [(f"a{i}", tensor(x.shape, x.dtype)) for i, x in enumerate(x for c in cases for x in c.inputs)]
    b = Builder.new_function(prog, "main", types)
    args, out = iter(b.args), []
    for c in cases:
        out.append(c.body(b, *[next(args) for _ in c.inputs]))
    b.ret(*out)
    return prog


def _run(cases: list[Edge], target: str) -> list[np.ndarray]:
    out = ptir.compile(_program(cases), target=target, passes=())(*[x for c in cases for x in c.inputs])
    return list(out) if isinstance(out, tuple) else [out]


@functools.cache
def results(target: str) -> dict[str, np.ndarray | Exception]:
    """Every case's result on `target`, by id: one compile for all, or one per case when
    that fails (the case's Exception then stands for its result)."""
    try:
        return dict(zip((c.id for c in CASES), _run(CASES, target), strict=True))
    except PtirError:
        found: dict[str, np.ndarray | Exception] = {}
        for c in CASES:
            try:
                found[c.id] = _run([c], target)[0]
            except PtirError as e:
                found[c.id] = e
        return found


def test_case_ids_are_unique():
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_edge(case, target):
    got, want = results(target)[case.id], results("ref")[case.id]
    for r in (got, want):
        if isinstance(r, Exception):
            raise r
    if case.want is not None:
        check_edges(want, np.asarray(case.want, want.dtype), EXACT, f"{case.id}: ref vs the stated answer")
    check_edges(got, want, EXACT, f"{case.id}: {target} vs ref")

"""The test families generated from an op's record (`OpDef.check`, ptir/dialect/registry.py).

Adding an op with a record means its registry entry and its lowering rule, and nothing
else: each family below picks it up (tests/ops/test_op_records.py runs them for every
registered op that has a record; `ptirc conformance` runs its conformance cases).

    roundtrip    print -> parse -> print is the identity, for every dtype it accepts
    verifier     the type rule accepts exactly the record's dtypes, and a bad operand
                 count or dtype is a located diagnostic naming the op
    reference    the numpy reference against the torch oracle
    lowering     MLIR-verified StableHLO, run on each target, against the reference
    conformance  cases against torch on each target and pipeline, under configs/conformance.json
    edges        every combination of special operands (records.edge_values: NaN, +-inf,
                 +-0, subnormals, extremes, INT_MIN, ...) on each target against the
                 reference; one program per target and dtype holds every op

Each `check_*` raises AssertionError saying what differs.
"""

from __future__ import annotations

import numpy as np

import ptir
from ptir.dialect import dtypes as dt
from ptir.dialect.program import Builder, Program
from ptir.dialect.registry import OpDef, infer
from ptir.dialect.types import tensor
from ptir.errors import PtirError, TypeRuleError

from .case import to_torch
from .records import (
    Tol,
    build,
    conformance_cases,
    edge_grid,
    edge_kept,
    edge_pairs,
    edge_tolerance,
    flush_subnormals,
    make_inputs,
    oracle,
    tolerance,
)
from .runner import CONFIG, run_case
from .tolerance import load_rules

FAMILIES = ("roundtrip", "verifier", "reference", "lowering", "conformance", "edges")


def _expect(ok: bool, message: str) -> None:
    if not ok:
        raise AssertionError(message)


def _close(got: np.ndarray, want: np.ndarray, tol: Tol, what: str) -> None:
    _expect(got.dtype == want.dtype and got.shape == want.shape,
            f"{what}: got {got.dtype}{got.shape}, want {want.dtype}{want.shape}")
    if got.dtype.kind in "biu":
        np.testing.assert_array_equal(got, want, err_msg=what)
    else:
        np.testing.assert_allclose(got.astype(np.float64), want.astype(np.float64), rtol=tol.rtol, atol=tol.atol,
                                   equal_nan=True, err_msg=f"{what} (tolerance: {tol.why})")


def check_roundtrip(opdef: OpDef, dtype: str) -> None:
    """The printed program parses back to the same text, bit for bit."""
    text = str(build(opdef, dtype))
    again = str(ptir.parse(text, f"{opdef.name}.ptir"))
    _expect(again == text, f"ptir.{opdef.name} ({dtype}) does not survive print -> parse -> print:\n{text}\n{again}")


def check_verifier(opdef: OpDef) -> None:
    """The type rule accepts exactly the record's dtypes; the parser's verifier reports a
    rejected dtype and a wrong operand count at the op's line, naming it."""
    n = len(opdef.operands)
    accepted = []
    for d in dt.ALL:
        try:
            infer(opdef, [tensor((2,), d)] * n, {})
            accepted.append(d.name)
        except TypeRuleError:
            pass
    _expect(sorted(accepted) == sorted(opdef.check.dtypes),
            f"ptir.{opdef.name} accepts {accepted}; its record says {list(opdef.check.dtypes)}")
    rejected = next((d.name for d in dt.ALL if d.name not in opdef.check.dtypes), None)
    bad = [f"{rejected}" if rejected else None, opdef.check.dtypes[0]]
    for dtype, count in ((bad[0], n), (bad[1], n + 1)):
        if dtype is None:
            continue
        text = str(build(opdef, opdef.check.dtypes[0])).replace(opdef.check.dtypes[0], dtype)
        if count != n:
            text = text.replace(f"ptir.{opdef.name} %a0", f"ptir.{opdef.name} %a0, %a0", 1)
        try:
            ptir.parse(text, "bad.ptir")
        except PtirError as e:
            line = next(i for i, ln in enumerate(text.splitlines(), 1) if f"ptir.{opdef.name} " in ln)
            _expect(f"bad.ptir:{line}:" in str(e) and f"ptir.{opdef.name}" in str(e),
                    f"diagnostic for ptir.{opdef.name} does not name its place and op: {e}")
        else:
            raise AssertionError(f"ptir.{opdef.name} with {count} {dtype} operands was accepted:\n{text}")


def check_reference(opdef: OpDef, dtype: str) -> None:
    """The reference interpreter's result against the torch oracle."""
    inputs = make_inputs(opdef, dtype)
    got = ptir.compile(build(opdef, dtype), target="ref")(*inputs)
    want = oracle(opdef)(*[to_torch(x) for x in inputs])
    if dtype == "bf16":
        want = want.float().numpy().astype(dt.bf16.np_dtype)
    else:
        want = want.numpy()
    _close(got, want, tolerance(opdef, dtype)[0], f"ref ptir.{opdef.name} ({dtype}) vs {opdef.check.oracle}")


def check_lowering(opdef: OpDef, target: str, dtype: str) -> None:
    """The op's StableHLO (verified by MLIR inside the pipeline) run on `target`, against
    the reference interpreter."""
    prog, inputs = build(opdef, dtype), make_inputs(opdef, dtype)
    want = ptir.compile(prog, target="ref")(*inputs)
    got = ptir.compile(prog, target=target, passes=())(*inputs)
    _close(got, want, tolerance(opdef, dtype)[1], f"ptir.{opdef.name} ({dtype}) on {target} vs ref")


def check_conformance(opdef: OpDef, target: str, pipeline: str) -> None:
    """Every conformance case of the op on `target` and `pipeline`, under the shipped rules."""
    rules = load_rules(CONFIG)
    for case in conformance_cases(opdef):
        result = run_case(case, target, pipeline, rules)
        _expect(result.status in ("ok", "xpass"), f"{case.name} on {target} ({pipeline}): {result.message}")


# --- edges ----------------------------------------------------------------------------------------

def _matches(g: np.ndarray, w: np.ndarray, tol: Tol) -> np.ndarray:
    """Elementwise: equal integers; for floats NaN where `w` is NaN, zeros and infinities
    equal with their sign, other values within `tol`."""
    if g.dtype.kind in "biu":
        return g == w
    g, w = g.astype(np.float64), w.astype(np.float64)
    with np.errstate(invalid="ignore"):
        return np.where(np.isnan(w), np.isnan(g),
                        np.where((w == 0) | np.isinf(w), (g == w) & (np.signbit(g) == np.signbit(w)),
                                 np.abs(g - w) <= tol.atol + tol.rtol * np.abs(w)))


def check_edges(got: np.ndarray, want: np.ndarray, tol: Tol, what: str, inputs=(), also=None) -> None:
    """`got` against the reference `want` (elementwise results on `inputs`, which the message
    quotes): integers and booleans equal; floats NaN exactly where `want` is NaN, zeros and
    infinities equal with their sign, other values within `tol` (bit-equal at 0).  An element
    that matches `also` (another acceptable result, e.g. with subnormals flushed) passes too."""
    _expect(got.dtype == want.dtype and got.shape == want.shape,
            f"{what}: got {got.dtype}{got.shape}, want {want.dtype}{want.shape}")
    g, w = got.reshape(-1), want.reshape(-1)
    ok = _matches(g, w, tol)
    if also is not None:
        ok |= _matches(g, also.reshape(-1), tol)
    g, w = g.astype(np.float64), w.astype(np.float64)
    bad = np.flatnonzero(~ok)

    def at(i) -> str:
        args = ", ".join(repr(x.reshape(-1)[i].item()) for x in inputs)
        return f"({args}) -> got {g[i].item()!r}, want {w[i].item()!r}"
    _expect(not bad.size, f"{what}: {bad.size} of {ok.size} differ (tolerance: {tol.why}): "
                          + "; ".join(map(at, bad[:6])))


def edge_program(ops: list[OpDef], dtype: str) -> Program:
    """main(e1, e2_0, e2_1, ...) -> every op in `ops`, each applied to the edge grid of its
    operand count (records.edge_grid), all of `dtype`: one compile for the lot."""
    arities = sorted({len(op.operands) for op in ops})
    size = {n: edge_grid(n, dtype)[0].size for n in arities}
    prog = Program(name=f"edges_{dtype}")
    b = Builder.new_function(prog, "main", [(f"e{n}_{i}", tensor((size[n],), dtype)) for n in arities
                                            for i in range(n)])
    grids, args = {}, iter(b.args)
    for n in arities:
        grids[n] = [next(args) for _ in range(n)]
    b.ret(*(b.op(op.name, *grids[len(op.operands)]) for op in ops))
    return prog


def _edge_inputs(ops: list[OpDef], dtype: str) -> list[np.ndarray]:
    return [g for n in sorted({len(op.operands) for op in ops}) for g in edge_grid(n, dtype)]


def edge_results(target: str, dtype: str, flush: bool = False, ops: list[OpDef] | None = None
                 ) -> dict[str, np.ndarray | Exception]:
    """Each sweep op of `dtype` (records.edge_pairs; or just `ops`) on its edge grid on
    `target`, by op name: one program for all of them (passes off, as the lowering family),
    or, when that does not compile or run, one per op, so a failure is reported against its
    own op (as the Exception).  With `flush`, subnormal operands and results are flushed to
    zero (records.flush_subnormals)."""
    ops = [op for op, d in edge_pairs() if d == dtype] if ops is None else ops
    hold = flush_subnormals if flush else (lambda x: x)

    def run(group: list[OpDef]) -> list[np.ndarray]:
        inputs = [hold(x) for x in _edge_inputs(group, dtype)]
        out = ptir.compile(edge_program(group, dtype), target=target, passes=())(*inputs)
        return [hold(x) for x in (out if isinstance(out, tuple) else [out])]

    try:
        return dict(zip((op.name for op in ops), run(ops), strict=True))
    except PtirError:
        results: dict[str, np.ndarray | Exception] = {}
        for op in ops:
            try:
                results[op.name] = run([op])[0]
            except PtirError as e:
                results[op.name] = e
        return results


def check_edge_results(opdef: OpDef, dtype: str, target: str, got, want, flushed=None) -> None:
    """One op's sweep results on `target` against the reference's (from `edge_results`);
    `flushed` is the reference's with subnormals flushed, also accepted where given.  Grid
    points an EDGE_SKIPS entry names for the op on `target` are left out."""
    for r in (got, want, flushed):
        if isinstance(r, Exception):
            raise AssertionError(f"ptir.{opdef.name} ({dtype}) on the edge grid: {r}") from r
    grid = edge_grid(len(opdef.operands), dtype)
    keep = edge_kept(target, opdef.name, dtype, grid)
    check_edges(got[keep], want[keep], edge_tolerance(opdef, dtype), f"ptir.{opdef.name} ({dtype}) on {target} "
                "vs ref", [g[keep] for g in grid], None if flushed is None else flushed[keep])

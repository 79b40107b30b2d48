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

Each `check_*` raises AssertionError saying what differs.
"""

from __future__ import annotations

import numpy as np

import ptir
from ptir.dialect import dtypes as dt
from ptir.dialect.registry import OpDef, infer
from ptir.dialect.types import tensor
from ptir.errors import PtirError, TypeRuleError

from .case import to_torch
from .records import Tol, build, conformance_cases, make_inputs, oracle, tolerance
from .runner import CONFIG, run_case
from .tolerance import load_rules

FAMILIES = ("roundtrip", "verifier", "reference", "lowering", "conformance")


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

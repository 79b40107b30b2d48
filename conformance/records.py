"""What the tests generated from an op's record (`OpDef.check`, ptir/dialect/registry.py)
draw on: the ops that have one, their seeded inputs, the program applying one, the torch
oracle, the tolerance classes, and the op's conformance cases (which `ptirc conformance`
runs with every other case).  The families that use them are in families.py.
"""

from __future__ import annotations

import importlib
import zlib
from dataclasses import dataclass

import numpy as np

from ptir.dialect import dtypes as dt
from ptir.dialect.program import Builder, Program
from ptir.dialect.registry import OPS, OpDef
from ptir.dialect.types import tensor
from ptir.functional.tracer import current_tracer

from .case import Case

SHAPE = (3, 17)
SPECIALS = (np.nan, np.inf, -np.inf, -0.0, 0.0)


@dataclass(frozen=True)
class Tol:
    rtol: float
    atol: float
    why: str


EXACT = Tol(0.0, 0.0, "correctly rounded or exact: bit-equal")
# (reference vs the torch oracle, target vs the reference), by tolerance class and dtype.
TOLERANCES: dict[str, dict[str, tuple[Tol, Tol]]] = {
    "exact": {
        "f32": (EXACT, EXACT), "f64": (EXACT, EXACT),
        "f16": (EXACT, Tol(1e-2, 1e-2, "f16 on a target: backends may keep intermediate f16 values")),
        "bf16": (EXACT, Tol(2e-2, 2e-2, "bf16 on a target: one ulp is 2^-7")),
    },
    "transcendental": {
        "f32": (Tol(4e-7, 1e-40, "torch computes in f32 (within an ulp); the reference rounds an f64 "
                                 "result once"),
                Tol(2e-6, 1e-6, "XLA and IREE use polynomial approximations within a few ulp of the f64 "
                                "reference")),
        "f64": (Tol(1e-14, 0.0, "torch's f64 functions are within a few ulp of correctly rounded"), EXACT),
        "f16": (Tol(1e-3, 1e-7, "torch computes in f32 and rounds to f16; the reference rounds f64 once"),
                Tol(1e-2, 1e-2, "f16 on a target: backends may keep intermediate f16 values")),
        "bf16": (Tol(8e-3, 1e-7, "torch computes in f32 and rounds to bf16; the reference rounds f64 once"),
                 Tol(2e-2, 2e-2, "bf16 on a target: one ulp is 2^-7")),
    },
}


def checked_ops() -> list[OpDef]:
    """Every registered op that has a record, in registration order."""
    return [op for op in OPS.values() if op.check is not None]


def tolerance(opdef: OpDef, dtype: str) -> tuple[Tol, Tol]:
    """(reference vs oracle, target vs reference) for `dtype`; integers and i1 are exact."""
    if not dt.from_name(dtype).is_float:
        return EXACT, EXACT
    return TOLERANCES[opdef.check.tolerance][dtype]


def make_inputs(opdef: OpDef, dtype: str, shape=SHAPE, seed: int | None = None,
                specials: bool | None = None) -> list[np.ndarray]:
    """Seeded operands of `dtype` for the op, each of `shape`: drawn from its record's
    domain (floats, after every combination of NaN, +-inf and +-0 when the record allows
    them; `specials=False` leaves them out), [-50, 50) (integers; [0, 50) unsigned) or
    coin flips (i1)."""
    d = dt.from_name(dtype)
    n = len(opdef.operands)
    rng = np.random.default_rng(seed if seed is not None else zlib.crc32(f"{opdef.name}/{dtype}".encode()))
    out = []
    # With specials, the first elements hold every combination of them across the operands
    # (StableHLO's interpreter tests do the same), the rest are drawn from the domain.
    grid = np.array(np.meshgrid(*[SPECIALS] * n, indexing="ij")).reshape(n, -1)
    for i, (lo, hi) in enumerate(opdef.check.domains(n)):
        if d.is_bool:
            x = rng.random(shape) < 0.5
        elif d.is_float:
            x = rng.uniform(lo, hi, shape)
            if opdef.check.specials if specials is None else specials:
                k = min(grid.shape[1], x.size)
                x.reshape(-1)[:k] = grid[i, :k]
        else:
            x = rng.integers(0 if d.is_unsigned else -50, 50, shape)
        out.append(np.asarray(x).astype(d.np_dtype))
    return out


def build(opdef: OpDef, dtype: str, shape=SHAPE) -> Program:
    """main(a0, a1, ...) -> the op applied to its arguments, all of `dtype`."""
    prog = Program(name=f"check_{opdef.name}")
    b = Builder.new_function(prog, "main", [(f"a{i}", tensor(shape, dtype)) for i in range(len(opdef.operands))])
    b.ret(b.op(opdef.name, *b.args))
    return prog


def oracle(opdef: OpDef):
    """The record's torch function (named, or given as a callable)."""
    if callable(opdef.check.oracle):
        return opdef.check.oracle
    module, _, name = opdef.check.oracle.rpartition(".")
    return getattr(importlib.import_module(module), name)


def conformance_cases(opdef: OpDef) -> list[Case]:
    """The op against its torch oracle: one case per compared dtype at SHAPE, and one
    of a single element in f32 (drawn from the domain)."""
    def emit(*xs, name=opdef.name):
        return current_tracer().op(name, *xs)

    def case(dtype: str, shape, specials: bool) -> Case:
        def operand(i):
            return lambda rng: make_inputs(opdef, dtype, shape, specials=specials)[i]
        return Case(f"{opdef.name}_{dtype}_{'x'.join(map(str, shape))}", f"ptir.{opdef.name}", emit,
                    oracle(opdef), [operand(i) for i in range(len(opdef.operands))], dtype)

    out = [case(dtype, SHAPE, opdef.check.specials) for dtype in opdef.check.compare]
    if "f32" in opdef.check.compare:
        out.append(case("f32", (1,), False))
    return out

"""What the tests generated from an op's record (`OpDef.check`, ptir/dialect/registry.py)
draw on: the ops that have one, their seeded inputs, the program applying one, the torch
oracle, the tolerance classes, and the op's conformance cases (which `ptirc conformance`
runs with every other case).  The families that use them are in families.py.
"""

from __future__ import annotations

import importlib
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import ml_dtypes
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
        "f64": (Tol(1e-14, 0.0, "torch's f64 functions are within a few ulp of correctly rounded"),
                Tol(1e-15, 0.0, "XLA's f64 exp, tanh, logistic and rsqrt are within a few ulp of numpy's "
                                "(1 ulp on the edge sweep)")),
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


# --- the edge sweep: every combination of special operands, on every target -------------------------

@dataclass(frozen=True)
class EdgeSkip:
    """What the edge sweep leaves out on a target, and why: an op (or every op, "*") in a
    dtype (or every dtype), at the grid points where `where(*operands)` is true (None: all)."""

    target: str
    op: str
    dtype: str
    reason: str
    where: Callable[..., np.ndarray] | None = None


def _beyond_ten(x: np.ndarray) -> np.ndarray:
    return np.abs(x.astype(np.float64)) > 10


# PTIR's ops whose f64 IREE 3.13's llvm-cpu cannot link (the libm function it calls), kept f64.
IREE_F64_UNLINKED = {"sin": "sin", "cos": "cos", "tanh": "tanh", "rem": "fmod"}

# The one list of what the sweep leaves out (compiler deviations the lowering does not work around).
EDGE_SKIPS: tuple[EdgeSkip, ...] = (
    # f64 is kept on llvm-cpu (KEEP_F64 in ptir/runtime/iree_backend.py); these ops are not right in it.
    *(EdgeSkip("llvm-cpu", name, "f64", f"IREE 3.13's llvm-cpu links no f64 {fn}: 'iree-lld: error: undefined "
               f"symbol: {fn}'") for name, fn in IREE_F64_UNLINKED.items()),
    EdgeSkip("llvm-cpu", "log1p", "f64", "IREE 3.13's f64 log1p gives +0.0 for -0.0"),
    EdgeSkip("llvm-cpu", "pow", "f64", "IREE 3.13's f64 pow is 1.2e-14 off (relative) at DBL_MAX ** 0.5 "
             "(1.3407807929942438e154 for 1.3407807929942596e154)"),
    *(EdgeSkip("llvm-cpu", name, "*", "IREE 3.13 reduces sin/cos arguments by pi/2 in f32 arithmetic: the "
               "error grows as |x| * 3e-7, past the transcendental tolerance from |x| ~ 10 (3e-4 at 1e3, 0.3 at "
               "1e6), and from 1e8 the results are not even in [-1, 1] (-inf for FLT_MAX); a Payne-Hanek "
               "reduction is not spelled out in the lowering", _beyond_ten)
      for name in ("sin", "cos")),
)


# Compiled targets that may flush subnormal floats to zero (keeping the sign), in operands
# and results alike: the sweep accepts, element by element, the reference's result or the
# reference's result on flushed operands, flushed.
FLUSHES_SUBNORMALS: dict[str, str] = {
    "llvm-cpu": "IREE's CPU runtime runs with denormals flushed to zero (FTZ/DAZ): 1 * 1e-45 is 0",
    "xla-cpu": "XLA's CPU runtime runs with denormals flushed to zero (FTZ/DAZ): 1 * 1e-45 is 0",
}


def flush_subnormals(x: np.ndarray) -> np.ndarray:
    """`x` with its subnormal floats replaced by zeros of their sign (other dtypes as they are)."""
    if not dt.from_numpy(x.dtype).is_float:
        return x
    wide = x.astype(np.float64)
    tiny = float(ml_dtypes.finfo(x.dtype).smallest_normal)
    return np.where(np.abs(wide) < tiny, np.copysign(0.0, wide), wide).astype(x.dtype)


def edge_values(dtype: str) -> np.ndarray:
    """The special operands of `dtype` the edge sweep combines, 1-D.  Floats: +-0, +-1,
    +-inf, NaN, the smallest subnormal, the largest finite, -2.5, -3, 2 and 0.5 (13).
    Integers: 0, 1, -1, 2, the minimum and the maximum, those the type holds, once each
    (ui8: 0, 1, 2, 255).  ValueError for i1."""
    d = dt.from_name(dtype)
    if d.is_float:
        info = ml_dtypes.finfo(d.np_dtype)
        values = [0.0, -0.0, 1.0, -1.0, np.inf, -np.inf, np.nan, float(info.smallest_subnormal), float(info.max),
                  -2.5, -3.0, 2.0, 0.5]
        return np.array(values, np.float64).astype(d.np_dtype)   # each value is exact in its type
    if not d.is_int:
        raise ValueError(f"the edge sweep has no special values for {dtype}")
    info = np.iinfo(d.np_dtype)
    values = dict.fromkeys(v for v in (0, 1, -1, 2, int(info.min), int(info.max)) if info.min <= v <= info.max)
    return np.array(list(values), d.np_dtype)


def edge_grid(n: int, dtype: str) -> list[np.ndarray]:
    """`n` 1-D operands holding every combination of `edge_values(dtype)` across them
    (k^n elements for k values; operand i varies slowest for i = 0)."""
    values = edge_values(dtype)
    return [g.reshape(-1) for g in np.meshgrid(*[values] * n, indexing="ij")]


def edge_pairs() -> list[tuple[OpDef, str]]:
    """Every (op with a record, float or integer dtype its record accepts)."""
    return [(op, d) for op in checked_ops() for d in op.check.dtypes if not dt.from_name(d).is_bool]


def _skips(target: str, op: str, dtype: str) -> list[EdgeSkip]:
    return [s for s in EDGE_SKIPS if s.target == target and s.op in ("*", op) and s.dtype in ("*", dtype)]


def edge_skipped(target: str, op: str, dtype: str) -> str | None:
    """Why `op` in `dtype` is left out on `target` altogether (EDGE_SKIPS), or None."""
    return next((s.reason for s in _skips(target, op, dtype) if s.where is None), None)


def edge_kept(target: str, op: str, dtype: str, operands: list[np.ndarray]) -> np.ndarray:
    """Where `op`'s results on `operands` (same shapes) are checked on `target`: a bool mask,
    false at the points an EDGE_SKIPS entry's `where` names (and everywhere for a whole skip)."""
    keep = np.ones(np.shape(operands[0]), bool)
    for s in _skips(target, op, dtype):
        keep &= False if s.where is None else ~s.where(*operands)
    return keep


def edge_tolerance(opdef: OpDef, dtype: str) -> Tol:
    """A target against the reference in the sweep: exact (NaN where the reference has
    NaN, zeros and infinities with their sign) except for the "transcendental" class, whose
    finite non-zero results may differ by the class's target tolerance."""
    if opdef.check.tolerance == "transcendental" and dt.from_name(dtype).is_float:
        return TOLERANCES["transcendental"][dtype][1]
    return EXACT


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

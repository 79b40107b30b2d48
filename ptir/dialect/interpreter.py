"""The reference interpreter: runs a verified program with numpy, op by op, from the
registry's reference semantics.  It is PTIR's executable spec."""

from __future__ import annotations

import numpy as np

from ..errors import RunError
from .ops._common import to_type
from .program import Function, Op
from .types import TensorType


def evaluate_op(op: Op, args: list[np.ndarray]) -> list[np.ndarray]:
    """Run one op on numpy arrays; results have exactly the op's result types."""
    types = [r.type for r in op.results]
    return evaluate(op.opdef, args, op.attrs, types)


def evaluate(opdef, args: list[np.ndarray], attrs: dict, types: list[TensorType]) -> list[np.ndarray]:
    out = opdef.reference(args, attrs, types)
    outs = list(out) if isinstance(out, tuple | list) else [out]
    # asarray(order="C"), not ascontiguousarray: the latter turns rank-0 results into shape (1,)
    return [np.asarray(to_type(o, t), order="C") for o, t in zip(outs, types, strict=True)]


def run_function(fn: Function, args: list[np.ndarray]) -> list[np.ndarray]:
    """Evaluate `fn` on arrays for all of its arguments (params included), in order."""
    env: dict[int, np.ndarray] = {}
    for a, x in zip(fn.args, args, strict=True):
        env[id(a.value)] = x
    for op in fn.ops:
        try:
            outs = evaluate_op(op, [env[id(v)] for v in op.operands])
        except Exception as e:   # a reference rule failing is a bug, but say where
            raise RunError(f"reference evaluation failed: {e}", op.loc, op.opdef.full_name) from e
        for r, o in zip(op.results, outs, strict=True):
            if r.type.is_static and o.shape != r.type.shape:
                raise RunError(f"reference result shape {o.shape} differs from {r.type}", op.loc,
                               op.opdef.full_name)
            env[id(r)] = o
    return [env[id(v)] for v in fn.results]

"""cse and dce: merge identical ops; drop unused ones.

Both rely on every PTIR core op being pure: the same op on the same operands with the
same attributes gives the same results, and an op nobody uses can go.
"""

from __future__ import annotations

import struct

import numpy as np

from .manager import register_pass
from .rewrite import keep, literal_key, rewrite


def attr_key(v):
    """A hashable key for an attribute value, equal only for identical values: floats by
    their bits (so -0.0 is not 0.0 and nan is nan), literals by dtype and elements."""
    if isinstance(v, np.ndarray):
        return literal_key(v)
    if isinstance(v, float):
        return ("float", struct.pack("<d", v))
    if isinstance(v, list | tuple):
        return tuple(attr_key(x) for x in v)
    return v


def op_key(op) -> tuple:
    operands = [id(v) for v in op.operands]
    if "commutative" in op.opdef.traits:   # a + b and b + a are the same bits
        operands.sort()
    return (op.name, tuple(operands), tuple((k, attr_key(v)) for k, v in op.attrs.items()),
            tuple(r.type for r in op.results))


def merge_identical(rw, op):
    seen = rw.state.setdefault("cse", {})
    key = op_key(op)
    if key in seen:
        return seen[key]
    seen[key] = op.results
    return None


@register_pass("cse", "merge identical ops (same op, operands, attributes and result types)")
def cse(program):
    return rewrite(program, merge_identical)


@register_pass("dce", "remove ops whose results are unused (all core ops are pure)")
def dce(program):
    return rewrite(program, keep)

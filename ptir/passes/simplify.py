"""simplify: algebraic identities that hold bit for bit.

Float identities are taken only where IEEE 754 arithmetic (round to nearest) gives
exactly the same bits for every x, infinities, NaN and signed zeros included (the
payload and sign of a NaN aside, which IEEE leaves open).  So:

    x + (-0.0) = x     -0.0 + -0.0 = -0.0 and +0.0 + -0.0 = +0.0
    x + (+0.0) != x    for x = -0.0: -0.0 + +0.0 = +0.0         (not done)
    x - (+0.0) = x     it is x + (-0.0)
    x - (-0.0) != x    it is x + (+0.0)                         (not done)
    x * 1 = x / 1 = x;  x * -1 = x / -1 = -x
    x * 0 != 0         NaN * 0 and inf * 0 are NaN, -1 * 0 is -0.0 (done for integers only)

Integers (two's complement, wrapping) have one zero, so x + 0, x - 0 and x * 0 fold.
Constants count only when every element has the same bits (a splat).
"""

from __future__ import annotations

import numpy as np

from .manager import register_pass
from .rewrite import Patterns, all_ones, is_splat_of, producer, rewrite, splat, stand_in

PATTERNS = Patterns()
on = PATTERNS.on


def orders(op):
    """(x, y) operand pairs to try: both ways round for commutative ops."""
    a, b = op.operands
    return [(a, b), (b, a)] if "commutative" in op.opdef.traits else [(a, b)]


def is_float(op) -> bool:
    return op.result.type.dtype.is_float


def zeros(rw, op):
    return rw.constant(np.zeros((), op.result.type.dtype.np_dtype), op.result.type)


@on("add")
def add_zero(rw, op):
    zero = -0.0 if is_float(op) else 0   # see the module doc: x + (+0.0) is not x for x = -0.0
    for x, c in orders(op):
        if is_splat_of(c, zero):
            return stand_in(x, op)


@on("sub")
def sub_zero(rw, op):
    x, c = op.operands
    if is_splat_of(c, 0):       # +0.0 for floats: x - (+0.0) = x + (-0.0) = x
        return stand_in(x, op)


@on("mul")
def mul_one(rw, op):
    for x, c in orders(op):
        if is_splat_of(c, 1):
            return stand_in(x, op)
        if is_splat_of(c, -1) and x.type == op.result.type:   # only the sign changes; integers wrap alike
            return rw.emit("neg", x)
        if not is_float(op) and is_splat_of(c, 0):           # never for floats (module doc)
            return zeros(rw, op)


@on("div")
def div_one(rw, op):
    x, c = op.operands
    if is_splat_of(c, 1):
        return stand_in(x, op)
    # Floats only: integer MIN / -1 overflows, and the target need not wrap it as neg does.
    if is_float(op) and is_splat_of(c, -1) and x.type == op.result.type:
        return rw.emit("neg", x)


@on("neg", "not")
def involution(rw, op):
    # -(-x) = x (integers wrap both ways alike); not(not(x)) = x bitwise and logically.
    inner = producer(op.operands[0], op.name)
    if inner is not None:
        return stand_in(inner.operands[0], op)


@on("abs")
def abs_of_sign_change(rw, op):
    # |(|x|)| = |-x| = |x|
    inner = producer(op.operands[0], "abs") or producer(op.operands[0], "neg")
    if inner is not None:
        return rw.emit("abs", inner.operands[0], out=op.result.type)


@on("max", "min", "and", "or")
def idempotent(rw, op):
    x, y = op.operands
    if x is y:
        return stand_in(x, op)


@on("sub", "xor")
def self_cancel(rw, op):
    # x - x and x ^ x are 0, for integers (and i1) only: inf - inf is NaN.
    x, y = op.operands
    if x is y and not is_float(op):
        return zeros(rw, op)


@on("and", "or", "xor")
def logic_constant(rw, op):
    name = op.name
    for x, c in orders(op):
        if (name in ("or", "xor") and is_splat_of(c, 0)) or (name == "and" and all_ones(c)):
            return stand_in(x, op)     # the identity element
        if (name == "and" and is_splat_of(c, 0)) or (name == "or" and all_ones(c)):
            return rw.constant(splat(c), op.result.type)     # the absorbing element


@on("select")
def select(rw, op):
    pred, a, b = op.operands
    if a is b:
        return stand_in(a, op)
    p = splat(pred)
    if p is not None:
        return stand_in(a if bool(p) else b, op)


@register_pass("simplify", "algebraic identities that hold bit for bit: x+(-0.0), x-0, x*1, x/1, -(-x), "
                           "x*0 for integers, select on a constant, ...")
def simplify(program):
    return rewrite(program, PATTERNS)

"""canonicalize: fold away data movement that does nothing or composes into one op.

Every rewrite here moves or copies elements without computing on them, so results
are the same bits.  A value replaces an op only if its type is the op's result type
exactly; folds that depend on a shape being what it says need static types.
"""

from __future__ import annotations

from .manager import register_pass
from .rewrite import Patterns, producer, rewrite, splat, stand_in

PATTERNS = Patterns()
on = PATTERNS.on


@on("reshape", "broadcast_to", "transpose", "slice")
def rearranged_splat(rw, op):
    # Moving, copying or dropping equal elements leaves equal elements: a splat of the new
    # type, whatever its size (the literal keeps one element).
    s = splat(op.operands[0])
    if s is not None and op.result.type.is_static:
        return rw.constant(s, op.result.type)


@on("reshape", "broadcast_to", "dynamic_slice")
def to_same_type(rw, op):
    # reshape/broadcast_to to the operand's own type are copies; a dynamic_slice as large
    # as its operand can only start at 0 (starts are clamped).
    return stand_in(op.operands[0], op, static=True)


@on("cast")
def cast_to_same_dtype(rw, op):
    return stand_in(op.operands[0], op)


@on("reshape")
def reshape_of_reshape(rw, op):
    # reshape never reorders elements (row-major), so only the last shape counts.
    inner = producer(op.operands[0], "reshape")
    if inner is not None:
        return rw.emit("reshape", inner.operands[0], out=op.result.type)


@on("broadcast_to")
def broadcast_of_broadcast(rw, op):
    # Every dim of x is 1 or the middle type's dim, which is 1 or the outer dim: x
    # broadcasts to the outer type directly, to the same elements.
    inner = producer(op.operands[0], "broadcast_to")
    if inner is not None:
        return rw.emit("broadcast_to", inner.operands[0], out=op.result.type)


@on("transpose")
def transpose(rw, op):
    perm = op.attrs["perm"]
    if perm == tuple(range(len(perm))):
        return stand_in(op.operands[0], op)
    inner = producer(op.operands[0], "transpose")
    if inner is not None:
        # result dim i = middle dim perm[i] = operand dim inner_perm[perm[i]]
        first = inner.attrs["perm"]
        return rw.emit("transpose", inner.operands[0], perm=[first[p] for p in perm], out=op.result.type)


@on("slice")
def slice_(rw, op):
    x, a = op.operands[0], op.attrs
    if all(s == 0 and st == 1 and lim == d
           for s, lim, st, d in zip(a["start"], a["limit"], a["stride"], x.type.shape, strict=True)):
        return stand_in(x, op)
    inner = producer(x, "slice")
    if inner is None:
        return None
    # Outer index j picks middle index s2 + j*st2, which is operand index s1 + (s2 + j*st2)*st1.
    b = inner.attrs
    start, limit, stride = [], [], []
    for s1, st1, s2, l2, st2 in zip(b["start"], b["stride"], a["start"], a["limit"], a["stride"], strict=True):
        n = len(range(s2, l2, st2))
        s, st = (s1 + s2 * st1, st1 * st2) if n else (0, 1)
        start.append(s)
        stride.append(st)
        limit.append(s + (n - 1) * st + 1 if n else s)
    return rw.emit("slice", inner.operands[0], start=start, limit=limit, stride=stride, out=op.result.type)


@on("concat")
def concat(rw, op):
    xs, axis = op.operands, op.attrs["axis"]
    if len(xs) == 1:
        return stand_in(xs[0], op)
    nonempty = [x for x in xs if x.type.shape[axis] != 0]   # empty operands add nothing
    if nonempty and len(nonempty) < len(xs):
        return rw.emit("concat", *nonempty, axis=axis, out=op.result.type)


@on("pad")
def pad_nothing(rw, op):
    a = op.attrs
    if not any(a["low"]) and not any(a["high"]) and not any(a["interior"]):
        return stand_in(op.operands[0], op)


@on("dynamic_update_slice")
def update_everything(rw, op):
    # An update as large as the operand can only start at 0 (starts are clamped): it is
    # the whole result.
    x, update = op.operands[0], op.operands[1]
    return stand_in(update, op, static=True) if x.type == update.type else None


@register_pass("canonicalize", "fold no-op and composable data movement: reshape, transpose, broadcast_to, "
                               "slice, cast, concat, pad, dynamic slices")
def canonicalize(program):
    return rewrite(program, PATTERNS)

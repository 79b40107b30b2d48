"""fold-constants: ops whose operands are all constants become constants.

The values come from the op's reference semantics in the registry (the same code the
`ref` target runs), so a folded program computes exactly what it did.  An elementwise
op on splats is evaluated on one element, whatever the size; any other op is folded
only if its results are at most `max_elements` large, so the text and the artifact
do not swell with literals that were cheap to compute.  Ops without operands (iota)
are left alone: they are already as small as a constant can be.
"""

from __future__ import annotations

from functools import partial

from ..dialect.interpreter import evaluate
from .manager import register_pass
from .rewrite import literal, producer, rewrite, splat

MAX_ELEMENTS = 1 << 20


def fold(rw, op, max_elements=MAX_ELEMENTS):
    if not op.operands or any(producer(v, "constant") is None for v in op.operands):
        return None
    types = [r.type for r in op.results]
    if not all(t.is_static for t in types):
        return None
    splats = [splat(v) for v in op.operands]
    if "elementwise" in op.opdef.traits and all(s is not None for s in splats):
        args, types = splats, [t.with_shape(()) for t in types]
    elif sum(t.num_elements for t in types) <= max_elements:
        args = [literal(v) for v in op.operands]
    else:
        return None
    try:
        outs = evaluate(op.opdef, args, op.attrs, types)
    except Exception:   # a reference rule that fails is a bug there; leave the op to the target
        return None
    return [rw.constant(o, r.type) for o, r in zip(outs, op.results, strict=True)]


def fold_constants(program, max_elements: int = MAX_ELEMENTS):
    return rewrite(program, partial(fold, max_elements=max_elements))


register_pass("fold-constants", f"evaluate ops on constants with the reference semantics (results up to "
                                f"{MAX_ELEMENTS} elements; elementwise ops on splats at any size)")(fold_constants)

"""The table of lowering rules, keyed by the op's definition (one rule per op), as JAX
keys a primitive's lowering by the primitive (`mlir.register_lowering`).

A rule is `rule(em, op, *operands) -> V | list[V]`: it gets the emitter, the PTIR op
(attributes normalised: axes non-negative, defaults filled in) and the lowered operand
values, and returns the lowered result values.
"""

from __future__ import annotations

from collections.abc import Callable

from ..dialect.registry import OpDef, lookup

Rule = Callable[..., object]

LOWERINGS: dict[OpDef, Rule] = {}


def _opdef(op: OpDef | str) -> OpDef:
    """An OpDef given itself or a registered name (ValueError for an unknown name)."""
    if isinstance(op, OpDef):
        return op
    found = lookup(op)
    if found is None:
        raise ValueError(f"no op named {op} to register a lowering for")
    return found


def lowering(*ops: OpDef | str):
    """Register the decorated function as the lowering rule of each op in `ops` (OpDefs,
    or the names of registered ops); ValueError when an op has a rule already."""
    def register(rule: Rule) -> Rule:
        for op in map(_opdef, ops):
            if op in LOWERINGS:
                raise ValueError(f"lowering for {op.name} registered twice")
            LOWERINGS[op] = rule
        return rule
    return register


def unregister(op: OpDef) -> None:
    """Remove an op's rule (for tests that register a throwaway op)."""
    LOWERINGS.pop(op, None)

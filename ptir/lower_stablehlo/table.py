"""The table of lowering rules, keyed by PTIR op name (one rule per op).

A rule is `rule(em, op, *operands) -> V | list[V]`: it gets the emitter, the PTIR op
(attributes normalised: axes non-negative, defaults filled in) and the lowered operand
values, and returns the lowered result values.
"""

from __future__ import annotations

from collections.abc import Callable

Rule = Callable[..., object]

LOWERINGS: dict[str, Rule] = {}


def lowering(*names: str):
    """Register the decorated function as the lowering rule of each op in `names`."""
    def register(rule: Rule) -> Rule:
        for name in names:
            if name in LOWERINGS:
                raise ValueError(f"lowering for {name} registered twice")
            LOWERINGS[name] = rule
        return rule
    return register

"""The op reference, generated from the registry (`ptirc ops`, docs/ops.md)."""

from __future__ import annotations

from ..errors import UsageError
from . import registry
from .registry import REQUIRED


def _attr_line(a) -> str:
    if a.default is REQUIRED:
        d = "required"
    elif a.default is None:
        d = "optional"
    elif callable(a.default):
        d = "default per operand rank"
    else:
        from .printer import format_attr_value
        d = f"default {format_attr_value(a.default)}"
    kind = a.kind + (" " + "|".join(f'"{c}"' for c in a.choices) if a.choices else "")
    return f"{a.name}: {kind} ({d})" + (f" - {a.doc}" if a.doc else "")


def op_reference(name: str | None = None, markdown: bool = False) -> str:
    ops = registry.OPS
    if name is not None:
        opdef = registry.lookup(name)
        if opdef is None:
            raise UsageError(f"unknown op '{name}' (ptirc ops lists them)")
        ops = {opdef.name: opdef}
    blocks = []
    if markdown:
        blocks.append("# PTIR op reference\n\nGenerated from the op registry by `ptirc ops --format md`.")
    for opdef in ops.values():
        operands = ", ".join(opdef.operands) or "none"
        results = f"{opdef.num_results} results" if opdef.num_results > 1 else "1 result"
        if opdef.result_given:
            results += " (type written in the text)"
        attrs = [_attr_line(a) for a in opdef.attrs]
        if markdown:
            lines = [f"## `ptir.{opdef.name}`", "", opdef.doc, "",
                     f"- operands: {operands}", f"- results: {results}"]
            lines += [f"- attribute {x}" for x in attrs]
        else:
            lines = [f"ptir.{opdef.name}({operands}) -> {results}", f"    {opdef.doc}"]
            lines += [f"    attr {x}" for x in attrs]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)

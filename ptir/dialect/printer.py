"""The canonical PTIR text of a program (see PTIR.md).

Arguments keep their names; op results are numbered %0, %1, ... in order; attributes
are written in the op's declared order and left out when they hold their default.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

from . import registry
from .dtypes import DType
from .literals import format_dense, format_float

if TYPE_CHECKING:   # annotations only: program.py prints itself through this module
    from .program import Function, Op, Program, Value

VERSION = 1
_NAME = re.compile(r"^[A-Za-z0-9_.]+$")


def format_attr_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return format_float(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, DType):
        return v.name
    if isinstance(v, list | tuple):
        return "[" + ", ".join(format_attr_value(x) for x in v) + "]"
    if hasattr(v, "item"):   # numpy scalars
        return format_attr_value(v.item())
    raise TypeError(f"cannot print attribute value {v!r}")


def format_attr_dict(attrs: dict) -> str:
    return "{" + ", ".join(f"{k} = {format_attr_value(v)}" for k, v in attrs.items()) + "}"


class _Namer:
    def __init__(self, fn: Function):
        self.names: dict[int, str] = {}
        taken: set[str] = set()
        for i, a in enumerate(fn.args):
            base = a.value.name if a.value.name and _NAME.match(a.value.name) else f"arg{i}"
            name, k = base, 1
            while name in taken or name.isdigit():
                name, k = f"{base}_{k}", k + 1
            taken.add(name)
            self.names[id(a.value)] = name
        self.taken = taken
        self.counter = 0

    def define(self, op: Op) -> str:
        while str(self.counter) in self.taken:
            self.counter += 1
        base = str(self.counter)
        self.counter += 1
        for i, r in enumerate(op.results):
            self.names[id(r)] = base if len(op.results) == 1 else f"{base}#{i}"
        return base if len(op.results) == 1 else f"{base}:{len(op.results)}"

    def use(self, v: Value) -> str:
        return "%" + self.names.get(id(v), "<undefined>")


def print_op(op: Op, namer: _Namer) -> str:
    ins = [o.type for o in op.operands]
    operands = ", ".join(namer.use(o) for o in op.operands)
    shown = {}
    for k, v in op.attrs.items():
        if k == "value" and op.name == "constant":
            continue
        try:
            if op.opdef.attr(k) is not None and registry.is_default(op.opdef, k, v, ins):
                continue
        except Exception:   # an unverified program may hold attributes of the wrong kind
            pass
        if v is not None:
            shown[k] = v
    parts = [f"%{namer.define(op)} = {op.opdef.full_name}"]
    if op.name == "constant":
        value, rtype = op.attrs["value"], op.results[0].type
        if value.size == 1 and value.shape != rtype.shape:
            value = value.reshape(())   # a one-element literal for a bigger type is a splat
        parts.append(f"dense<{format_dense(value, rtype.dtype)}>")
    if operands:
        parts.append(operands)
    if shown:
        parts.append(format_attr_dict(shown))
    return " ".join(parts) + " : " + ", ".join(str(r.type) for r in op.results)


def print_function(fn: Function) -> str:
    namer = _Namer(fn)
    args = []
    for a in fn.args:
        attrs = {"ptir.param": a.param} if a.param is not None else {}
        if a.sharding is not None:
            attrs["ptir.sharding"] = [list(d) for d in a.sharding]
        args.append(f"{namer.use(a.value)}: {a.value.type}" + (f" {format_attr_dict(attrs)}" if attrs else ""))
    rt = fn.result_types
    shardings = list(fn.result_shardings) + [None] * (len(rt) - len(fn.result_shardings))
    if any(s is not None for s in shardings):   # result attributes are written in the parenthesized form
        results = "(" + ", ".join(str(t) + ("" if s is None else " {ptir.sharding = "
                                            + format_attr_value([list(d) for d in s]) + "}")
                                  for t, s in zip(rt, shardings, strict=True)) + ")"
    else:
        results = str(rt[0]) if len(rt) == 1 else "(" + ", ".join(map(str, rt)) + ")"
    lines = [f"  func @{fn.name}({', '.join(args)}) -> {results} {{"]
    lines += ["    " + print_op(op, namer) for op in fn.ops]
    ret = ", ".join(namer.use(v) for v in fn.results)
    lines.append("    return" + (" " + ret if ret else ""))
    lines.append("  }")
    return "\n".join(lines)


def print_program(program: Program) -> str:
    attrs = {"ptir.version": VERSION}
    attrs.update({k: v for k, v in program.attributes.items() if k != "ptir.version"})
    head = "module" + (f" @{program.name}" if program.name else "") + f" attributes {format_attr_dict(attrs)} {{"
    body = [print_function(f) for f in program.functions.values()]
    return "\n".join([head, *body, "}"]) + "\n"

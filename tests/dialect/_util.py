"""Helpers shared by the dialect tests."""

from __future__ import annotations

import textwrap

import numpy as np

import ptir
from ptir.dialect import Builder, Program, tensor


def module(*functions: str) -> str:
    """The canonical text of a module holding `functions` (each already indented by 2)."""
    return "module attributes {ptir.version = 1} {\n" + "\n".join(functions) + "\n}\n"


def func(signature: str, *body: str, name: str = "main") -> str:
    """A canonical function: `signature` is `(args) -> results`; `body` lines hold ops and return."""
    lines = [f"  func @{name}{signature} {{"] + ["    " + line for line in body] + ["  }"]
    return "\n".join(lines)


def dedent(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def build(name: str, *arrays, out=None, **attrs) -> Program:
    """A program applying op `name` to arguments typed like `arrays`, returning its results."""
    prog = Program()
    b = Builder.new_function(prog, "main", [(f"x{i}", tensor(np.shape(a), np.asarray(a).dtype))
                                            for i, a in enumerate(arrays)])
    r = b.op(name, *b.args, out=out, **attrs)
    b.ret(*(r if isinstance(r, tuple) else (r,)))
    return prog


def run_op(name: str, *arrays, out=None, **attrs):
    """Apply one op to numpy arrays on the reference backend.

    The built program goes through its text first (print, parse, verify), so what runs
    is exactly what the text says.
    """
    prog = ptir.parse(str(build(name, *arrays, out=out, **attrs)))
    return ptir.compile(prog, "ref")(*[np.asarray(a) for a in arrays])


def run_text(text: str, *arrays, entry: str = "main"):
    return ptir.compile(ptir.parse(text), "ref", entry=entry)(*arrays)

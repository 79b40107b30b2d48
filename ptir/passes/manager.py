"""The pass registry and pipelines.

A pass is a pure function Program -> Program: it builds a new program and leaves its
input alone, and it keeps results bit for bit (NaN payloads aside) unless it declares
`reassociates` (none of the core passes does).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..dialect.program import Program
from ..errors import UsageError


@dataclass(frozen=True)
class Pass:
    name: str
    run: Callable[[Program], Program]
    description: str                 # one line, for `ptirc opt --list`
    reassociates: bool = False       # may reorder float arithmetic (results change in the last bits)


PASSES: dict[str, Pass] = {}

DEFAULT_PIPELINE = ("canonicalize", "channels-last", "simplify", "fold-constants", "cse", "dce")


def register_pass(name: str, description: str, *, reassociates: bool = False):
    """Decorator: register a Program -> Program function as pass `name`."""
    def deco(fn):
        if name in PASSES:
            raise ValueError(f"pass {name} registered twice")
        PASSES[name] = Pass(name, fn, description, reassociates)
        return fn
    return deco


def resolve(passes: str | Sequence[str]) -> list[Pass]:
    """Passes by name, from a sequence or a comma-separated string; UsageError naming the
    known passes for an unknown one."""
    names = [n.strip() for n in passes.split(",") if n.strip()] if isinstance(passes, str) else list(passes)
    for n in names:
        if n not in PASSES:
            raise UsageError(f"unknown pass '{n}' (known: {', '.join(PASSES)})")
    return [PASSES[n] for n in names]


def run_pipeline(program: Program, passes: str | Sequence[str] = DEFAULT_PIPELINE,
                 on_stage: Callable[[str, Program], None] | None = None) -> Program:
    """Run `passes` in order; `on_stage(name, program)` sees the program after each one
    (for dumps as stage `pass.<name>` and for --print-after-all)."""
    for p in resolve(passes):
        program = p.run(program)
        if on_stage is not None:
            on_stage(p.name, program)
    return program


def optimize(program: Program, params: dict | None = None, passes: str | Sequence[str] = DEFAULT_PIPELINE, *,
             entry: str = "main", on_stage: Callable[[str, Program], None] | None = None):
    """The whole optimizer: `passes`, then, when the weights are known at compile time
    (`params` given), fold-params on `entry`.

    Returns (program, params): the params are those the new program takes (the folded
    tensors computed once with the reference interpreter, and the weights it still uses
    as they are), or None if none were given.  Stage `fold-params` is reported after it
    runs, like a pass.
    """
    from .fold_params import fold_params

    program = run_pipeline(program, passes, on_stage)
    if params is None:
        return program, None
    program, transform = fold_params(program, entry)
    if on_stage is not None:
        on_stage("fold-params", program)
    return program, transform(params)

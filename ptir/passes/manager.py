"""The pass registry and pipelines.

A pass is a pure function Program -> Program: it builds a new program and leaves its
input alone, and it keeps results bit for bit (NaN payloads aside) unless it declares
`reassociates`.  A pass whose rewrite depends on where the program will run (the
target, the host CPU's features: conv-algorithm) declares `needs_context` and is called
as `run(program, context)` with the pipeline's PassContext; every other pass sees only
the program.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..dialect.program import Program
from ..errors import UsageError


@dataclass(frozen=True)
class PassContext:
    """Where the program will run, for the passes that declare `needs_context`.

    `target` is the backend's name (`ref`, `llvm-cpu`, `xla-cpu`; None when unknown, as in
    `ptirc opt`), `cpu` the CPU's feature class (`avx512`, `avx2`, `generic`, or the name
    of a CPU compiled for by name; None when unknown), `conv_algorithm` what conv-algorithm
    does (`auto`: its table's choice; or one algorithm forced on every convolution it suits).
    """

    target: str | None = None
    cpu: str | None = None
    conv_algorithm: str = "auto"

    @classmethod
    def for_target(cls, target: str, cpu: str = "host", conv_algorithm: str = "auto") -> PassContext:
        """The context of a compile for `target`: the host's feature class for cpu="host"
        (what IREE's `--iree-llvmcpu-target-cpu=host` and XLA compile for), else `cpu` as named."""
        return cls(target, host_cpu_class() if cpu == "host" else cpu, conv_algorithm)


@functools.cache
def host_cpu_class() -> str:
    """This host's x86 vector feature class: `avx512` (AVX-512F), `avx2` (AVX2 and FMA), else
    `generic`; read once from /proc/cpuinfo's flags (the CPUID bits LLVM's host detection
    reads too), `generic` where that file does not exist."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), [])
    except OSError:
        return "generic"
    if "avx512f" in flags:
        return "avx512"
    return "avx2" if {"avx2", "fma"} <= set(flags) else "generic"


@dataclass(frozen=True)
class Pass:
    name: str
    run: Callable[..., Program]      # (program) -> program, or (program, context) with needs_context
    description: str                 # one line, for `ptirc opt --list`
    reassociates: bool = False       # may reorder float arithmetic (results change in the last bits)
    needs_context: bool = False      # run(program, PassContext): the rewrite depends on the target

    def __call__(self, program: Program, context: PassContext | None = None) -> Program:
        """The pass on `program`; a pass that needs a context gets `context` (or an empty
        one: target and CPU unknown)."""
        return self.run(program, context or PassContext()) if self.needs_context else self.run(program)


PASSES: dict[str, Pass] = {}

DEFAULT_PIPELINE = ("canonicalize", "channels-last", "simplify", "conv-algorithm", "fold-constants", "cse", "dce")


def register_pass(name: str, description: str, *, reassociates: bool = False, needs_context: bool = False):
    """Decorator: register a Program -> Program function as pass `name` (a
    (Program, PassContext) -> Program function with `needs_context`)."""
    def deco(fn):
        if name in PASSES:
            raise ValueError(f"pass {name} registered twice")
        PASSES[name] = Pass(name, fn, description, reassociates, needs_context)
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
                 on_stage: Callable[[str, Program], None] | None = None,
                 context: PassContext | None = None) -> Program:
    """Run `passes` in order; `on_stage(name, program)` sees the program after each one
    (for dumps as stage `pass.<name>` and for --print-after-all).  `context` goes to the
    passes that need one (None: target and CPU unknown)."""
    for p in resolve(passes):
        program = p(program, context)
        if on_stage is not None:
            on_stage(p.name, program)
    return program


def optimize(program: Program, params: dict | None = None, passes: str | Sequence[str] = DEFAULT_PIPELINE, *,
             entry: str = "main", on_stage: Callable[[str, Program], None] | None = None,
             context: PassContext | None = None):
    """The whole optimizer: `passes` (with `context`, as run_pipeline), then, when the
    weights are known at compile time (`params` given), fold-params on `entry`.

    Returns (program, params): the params are those the new program takes (the folded
    tensors computed once with the reference interpreter, and the weights it still uses
    as they are), or None if none were given.  Stage `fold-params` is reported after it
    runs, like a pass.
    """
    from .fold_params import fold_params

    program = run_pipeline(program, passes, on_stage, context)
    if params is None:
        return program, None
    program, transform = fold_params(program, entry)
    if on_stage is not None:
        on_stage("fold-params", program)
    return program, transform(params)

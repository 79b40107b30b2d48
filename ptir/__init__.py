"""PTIR: a portable tensor IR, lowered through StableHLO to IREE and XLA.

    prog = ptir.parse(text)          # parse and verify
    f = ptir.compile(prog, target="llvm-cpu")
    y = f(x)                         # numpy in, numpy out
"""

from __future__ import annotations

from .dialect import Builder, Program, TensorType, tensor
from .dialect import parse as _parse
from .dialect import verify as _verify
from .errors import PtirError
from .functional.tracing import Tensor, spec, trace

__all__ = ["parse", "verify", "compile", "Program", "Builder", "TensorType", "tensor", "PtirError"]
__all__ += ["trace", "spec", "Tensor"]


def parse(text: str, file: str = "<input>", verify: bool = True) -> Program:
    """Parse PTIR text; verified unless `verify=False`. Raises ParseError/VerifyError."""
    program = _parse(text, file)
    return _verify(program) if verify else program


def verify(program: Program) -> Program:
    """Check SSA and every op's type rule; raises VerifyError with all diagnostics."""
    return _verify(program)


class Compiled:
    """A compiled entry function as a Python callable: one array for one result, a tuple
    for several."""

    def __init__(self, executable):
        self.executable = executable

    def __call__(self, *arrays):
        outs = self.executable(*arrays)
        return outs[0] if len(outs) == 1 else tuple(outs)


def compile(program: Program, *specs, target: str = "ref", entry: str = "main", params=None, flags=(),
            dump_dir=None, passes=None, **target_options) -> Compiled:
    """Compile `program`'s entry function for `target` (`ref`, `llvm-cpu`, `xla-cpu`).

    `params` maps ptir.param names to arrays, or is a path to a safetensors file.
    `flags` are extra compiler flags (IREE's, for llvm-cpu); `dump_dir` receives every
    stage's IR; `target_options` are further CompileOptions fields (cpu, driver,
    embed_params, cache).  `passes` is the optimizer pipeline (None: the default one;
    `()`: none, the baseline); with weights given, parameter-only work is folded too.
    `program` may also be a Python callable or ptir.nn.Module, traced first on `specs`
    (a module's weights default to its state_dict): `ptir.compile(fn, ptir.spec((4, 8)), target="ref")`.
    """
    from .functional.tracing import capture
    from .passes import DEFAULT_PIPELINE, optimize
    from .runtime import CompileOptions, get_backend
    from .runtime.stages import DumpDir
    from .weights import load_params

    if not isinstance(program, Program):
        program, params = capture(program, specs, params)
    elif specs:   # compile(program, "llvm-cpu"): the target by position
        (target,) = specs

    if isinstance(params, str) or hasattr(params, "__fspath__"):
        params = load_params(params)
    backend = get_backend(target)
    program = _verify(program)
    dump = DumpDir(dump_dir) if dump_dir else None
    if dump is not None:
        dump.write("ptir", str(program), ".ptir")
    on_stage = (lambda name, p: dump.write(f"pass.{name}", str(p), ".ptir")) if dump else None
    if passes is None:
        passes = DEFAULT_PIPELINE
    if passes:
        program, folded = optimize(program, params, passes, entry=entry, on_stage=on_stage)
        params = folded if folded is not None else params
    options = CompileOptions(entry=entry, params=dict(params or {}), flags=list(flags), dump=dump,
                             **target_options)
    return Compiled(backend.compile(program, options))

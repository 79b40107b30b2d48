"""The `ref` target: the numpy reference interpreter behind the backend protocol."""

from __future__ import annotations

from ..dialect.interpreter import run_function
from ..dialect.program import Program
from ..dialect.signature import check_params, interleave
from .backend import Backend, CompileOptions, Emit, Executable, no_emit


class RefExecutable(Executable):
    """The entry function run op by op by the numpy reference interpreter."""

    def __init__(self, fn, weights):
        super().__init__(fn)
        self.weights = weights

    def run_device(self, arrays):
        return run_function(self.fn, interleave(self.fn, arrays, self.weights))


class RefBackend(Backend):
    """The `ref` target: no lowering; the PTIR program is the executable."""

    name = "ref"
    lowers = False

    def compile(self, module: Program, options: CompileOptions, emit: Emit = no_emit) -> RefExecutable:
        """The entry of `module` bound to its weights (RunError for a missing or mis-shaped one)."""
        fn = module.entry(options.entry)
        return RefExecutable(fn, check_params(fn, options.params))

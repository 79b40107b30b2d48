"""The `ref` target: the numpy reference interpreter behind the backend protocol."""

from __future__ import annotations

from ..dialect.interpreter import run_function
from ..dialect.program import Program
from ..dialect.signature import check_params, interleave
from .backend import Backend, CompileOptions, Executable


class RefExecutable(Executable):
    def __init__(self, fn, weights):
        super().__init__(fn)
        self.weights = weights

    def run_device(self, arrays):
        return run_function(self.fn, interleave(self.fn, arrays, self.weights))


class RefBackend(Backend):
    name = "ref"

    def compile(self, program: Program, options: CompileOptions | None = None) -> RefExecutable:
        options = options or CompileOptions()
        fn = program.entry(options.entry)
        return RefExecutable(fn, check_params(fn, options.params))

"""The `ref` target: the numpy reference interpreter behind the backend protocol."""

from __future__ import annotations

import warnings

from ..dialect.interpreter import run_function
from ..dialect.program import Program
from ..dialect.sharding import is_sharded
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
        """The entry of `module` bound to its weights (RunError for a missing or mis-shaped one).
        Shardings are ignored, with a warning: the reference runs on one device."""
        fn = module.entry(options.entry)
        if is_sharded(module, fn):
            warnings.warn(f"ptir: the shardings of @{fn.name} are ignored on this target (it runs on one device)",
                          stacklevel=2)
        return RefExecutable(fn, check_params(fn, options.params))

"""The `xla-cpu` target: the same StableHLO that IREE gets, compiled and run by XLA
through JAX's PJRT CPU client.  XLA reads no IREE parameter globals, so weights are
ordinary arguments of @main, placed on the device once at compile time."""

from __future__ import annotations

import time

import numpy as np

from ..dialect.program import Program
from ..dialect.signature import bind_params, check_params, interleave
from ..errors import CompileError, RunError
from .backend import Backend, CompileOptions, Executable


def _client():
    import jax
    from jax.extend.backend import get_backend

    # PTIR types are exact: without x64, jax.device_put would turn i64/f64 arrays into 32 bits.
    jax.config.update("jax_enable_x64", True)

    backend = get_backend("cpu")
    return backend, backend.devices()[0]


class XlaExecutable(Executable):
    def __init__(self, fn, loaded, weights):
        super().__init__(fn)
        self.loaded = loaded
        self.weights = weights   # device arrays, in param order; None when unbound

    def run_device(self, values):
        import jax

        if self.weights is None:
            check_params(self.fn, {})   # raises, naming the first missing weight
        _, device = _client()
        args = interleave(self.fn, [v if self.on_device(v) else jax.device_put(v, device) for v in values],
                          self.weights or [])
        try:
            return list(self.loaded.execute(args))
        except Exception as e:   # jax.errors.JaxRuntimeError and friends
            raise RunError(f"XLA failed to run @{self.fn.name}: {e}") from None

    def on_device(self, value) -> bool:
        import jax

        return isinstance(value, jax.Array)

    def to_host(self, value) -> np.ndarray:
        return np.array(value, copy=True)

    def optimized_hlo(self) -> str:
        return "\n\n".join(m.to_string() for m in self.loaded.hlo_modules())


class XlaBackend(Backend):
    name = "xla-cpu"

    def compile(self, program: Program, options: CompileOptions | None = None) -> XlaExecutable:
        import jax
        from jaxlib import xla_client as xc

        from ..lower_stablehlo import lower

        options = options or CompileOptions()
        fn = program.entry(options.entry)
        start = time.perf_counter()
        lowered = lower(program, entry=options.entry, params_mode="arguments")
        if options.dump is not None:
            options.dump.write("stablehlo", lowered.text, ".mlir", time.perf_counter() - start)
        backend, device = _client()
        start = time.perf_counter()
        try:
            loaded = backend.compile_and_load(lowered.text, xc.DeviceList((device,)), xc.CompileOptions())
        except Exception as e:
            raise CompileError(f"XLA failed to compile the module: {str(e).strip()[:1500]}") from None
        exe = XlaExecutable(fn, loaded, None)
        if options.dump is not None:
            options.dump.write("xla.hlo", exe.optimized_hlo(), ".txt", time.perf_counter() - start)
        if fn.params and options.params:
            exe.weights = [jax.device_put(w, device) for w in bind_params(fn, options.params).values()]
        elif not fn.params:
            exe.weights = []
        return exe

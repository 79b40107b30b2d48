"""The `xla-cpu` target: the same StableHLO that IREE gets, compiled and run by XLA
through JAX's PJRT CPU client.  XLA reads no IREE parameter globals, so weights are
ordinary arguments of @main, placed on the device once at compile time."""

from __future__ import annotations

import numpy as np

from ..dialect.signature import bind_params, check_params, interleave
from ..errors import CompileError, RunError
from ..lower_stablehlo.module import LoweredModule
from .backend import Backend, CompileOptions, Emit, Executable, no_emit
from .stages import StageEvent, Timer


def _client():
    import jax
    from jax.extend.backend import get_backend

    # PTIR types are exact: without x64, jax.device_put would turn i64/f64 arrays into 32 bits.
    jax.config.update("jax_enable_x64", True)

    backend = get_backend("cpu")
    return backend, backend.devices()[0]


class XlaExecutable(Executable):
    """A loaded XLA executable; its weights stay on the device between calls."""

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
        """XLA's HLO after its optimization passes, as text."""
        return "\n\n".join(m.to_string() for m in self.loaded.hlo_modules())


class XlaBackend(Backend):
    """XLA's CPU compiler through JAX's PJRT client; weights are ordinary arguments."""

    name = "xla-cpu"

    def compile(self, module: LoweredModule, options: CompileOptions, emit: Emit = no_emit) -> XlaExecutable:
        """Compile and load `module`; weights in `options.params` go to the device once.
        Raises CompileError with XLA's message when XLA rejects the module."""
        import jax
        from jaxlib import xla_client as xc

        fn = module.function
        backend, device = _client()
        timer = Timer()
        try:
            loaded = backend.compile_and_load(module.text, xc.DeviceList((device,)), xc.CompileOptions())
        except Exception as e:
            raise CompileError(f"XLA failed to compile the module: {str(e).strip()[:1500]}") from None
        emit(StageEvent("xla.compile", seconds=timer.seconds, start=timer.start))
        exe = XlaExecutable(fn, loaded, None)
        emit(StageEvent("xla.hlo", exe.optimized_hlo(), ".txt"))
        if fn.params and options.params:
            exe.weights = [jax.device_put(w, device) for w in bind_params(fn, options.params).values()]
        elif not fn.params:
            exe.weights = []
        return exe

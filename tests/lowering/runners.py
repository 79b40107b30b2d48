"""Run StableHLO text on XLA (PJRT CPU) and on IREE (llvm-cpu) from the tests.

Small on purpose: ptir/runtime/ will own the real backends; these only check the lowering.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import numpy as np

IREE_FLAGS = ["--iree-llvmcpu-target-cpu=host"]


def run_xla(text: str | bytes, args) -> list[np.ndarray]:
    """Compile `text` (StableHLO text or VHLO bytes; runs @main) with XLA CPU and call it."""
    import jax
    from jax.extend.backend import get_backend
    from jaxlib import xla_client as xc

    be = get_backend("cpu")
    dev = be.devices()[0]
    exe = be.compile_and_load(text, xc.DeviceList((dev,)), xc.CompileOptions())
    with jax.enable_x64(True):   # else device_put narrows i64/f64 inputs to 32 bits
        outs = exe.execute([jax.device_put(np.asarray(a), dev) for a in args])
    return [np.array(o, copy=True) for o in outs]


def compile_iree(text: str | bytes) -> bytes:
    import iree.compiler

    return iree.compiler.compile_str(text, input_type="stablehlo", target_backends=["llvm-cpu"],
                                     extra_args=IREE_FLAGS)


class IreeModule:
    """A compiled vmfb loaded in its own context; `call(fn, *args)` gives numpy copies."""

    def __init__(self, vmfb: bytes, config=None, modules=()):
        import iree.runtime as rt

        # `modules` (e.g. a parameters module) must be built on `config`'s instance.
        config = config or rt.Config("local-task")
        self.module = rt.VmModule.copy_buffer(config.vm_instance, vmfb)
        self.ctx = rt.SystemContext(vm_modules=[*modules, self.module], config=config)

    def call(self, fn: str, *args) -> list[np.ndarray]:
        out = self.ctx.modules[self.module.name][fn](*args)
        outs = out if isinstance(out, list | tuple) else [out]
        # to_host() views memory the device array owns: copy before it goes away.
        return [np.array(o.to_host(), copy=True) for o in outs]


def run_iree(text: str | bytes, args) -> list[np.ndarray]:
    return IreeModule(compile_iree(text)).call("main", *args)


_MAIN = re.compile(r"func\.func public @main\(")


def symbol(key: str) -> str:
    return "case_" + re.sub(r"[^A-Za-z0-9_]", "_", key)


def merge(texts: dict[str, str]) -> str:
    """One module holding each one-function module's @main renamed to its key, so IREE
    compiles many cases at once.  Only function-local names exist, so bodies combine."""
    bodies = []
    for name, text in texts.items():
        lines = text.strip().splitlines()
        assert lines[0].startswith("module") and lines[-1] == "}", "expects lower()'s arguments-mode layout"
        bodies.append(_MAIN.sub(f"func.func public @{symbol(name)}(", "\n".join(lines[1:-1]), count=1))
    return "module @cases {\n" + "\n".join(bodies) + "\n}\n"


def compile_batches(texts: dict[str, str], batches: int = 2) -> dict[str, Callable | Exception]:
    """Each case's @main as a callable (arrays in, numpy copies out), compiled in a few
    merged modules in parallel (each compile is a subprocess).  A batch that fails is
    compiled case by case, so a failure is reported against its own case."""
    names = list(texts)
    assert len({symbol(n) for n in names}) == len(names), "case names collide as symbols"
    groups = [names[i::batches] for i in range(batches)]

    def build(group):
        try:
            module = IreeModule(compile_iree(merge({n: texts[n] for n in group})))
            return {n: partial(module.call, symbol(n)) for n in group}
        except Exception:
            return {n: _one(texts[n], n) for n in group}

    result: dict[str, IreeModule | Exception] = {}
    with ThreadPoolExecutor(batches) as pool:
        for part in pool.map(build, [g for g in groups if g]):
            result.update(part)
    return result


def _one(text: str, name: str):
    try:
        return partial(IreeModule(compile_iree(merge({name: text}))).call, symbol(name))
    except Exception as e:   # reported when the case runs
        return e

"""The `llvm-cpu` target: StableHLO compiled by IREE to a .vmfb, run by IREE's runtime.

Weights (`ptir.param` arguments) are IREE named parameters by default: the module
declares `#flow.parameter.named<"model"::NAME>` globals and the runtime binds them from
arrays or a safetensors file.  The .vmfb stays small, the compile does not depend on
the weights (so the cache hits across checkpoints), and the stock
`iree-run-module --parameters=model=weights.safetensors` runs it.
`CompileOptions(embed_params=True)` inlines them as constants instead.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
import warnings

import numpy as np

from ..dialect.program import Function, Program
from ..dialect.signature import bind_params, check_params, function_from_signature, signature
from ..errors import CompileError, RunError, UsageError
from . import cache
from .backend import Backend, CompileOptions, Executable
from .stages import IREE_PHASES, DumpDir

PARAM_SCOPE = "model"
# Chosen by measurement (benchmarks/iree_flags.py; numbers in docs/lowering.md): data
# tiling with ukernels made matmuls ~18% faster and left convolutions alone; O3 without
# data tiling made a 3x3 convolution slower.  The larger stack limit is needed by
# data-tiled layer norms (TOOLCHAIN.md).
DEFAULT_FLAGS = ("--iree-opt-level=O3", "--iree-opt-data-tiling", "--iree-llvmcpu-enable-ukernels=all",
                 "--iree-llvmcpu-stack-allocation-limit=65536")
DRIVERS = ("local-task", "local-sync")


def compiler_version() -> str:
    from importlib.metadata import version
    return version("iree-base-compiler")


def iree_flags(options: CompileOptions) -> list[str]:
    for f in options.flags:
        if not f.startswith("--") or len(f) < 3:
            raise UsageError(f"malformed IREE flag '{f}' (flags look like --iree-opt-level=O3)")
    return [f"--iree-llvmcpu-target-cpu={options.cpu}", *DEFAULT_FLAGS, *options.flags]


DATA_TILING = "--iree-opt-data-tiling"


def compile_vmfb(text: str, flags: list[str], dump: DumpDir | None = None, use_cache: bool = True) -> bytes:
    """StableHLO text to .vmfb bytes through the cache; with `dump`, all phases are written.

    IREE 3.13's data tiling fails on some modules (e.g. an i1 mask argument selecting on a
    matmul result: "linalg.pack op expected padding_value has 'i8' but got 'i1'"); such a
    module is compiled again without data tiling, with a warning, rather than not at all.
    """
    k = cache.key(text, "llvm-cpu", "\0".join(flags), compiler_version())
    if use_cache and dump is None and cache.enabled():
        hit = cache.load(k)
        if hit is not None:
            return hit
    tiled = DATA_TILING in flags
    try:
        vmfb = _invoke(text, flags, dump, keep_failed=not tiled)
    except CompileError as e:
        if not tiled:
            raise
        first = e.message.split(" | ")[0].removeprefix("IREE failed to compile the module: ")
        warnings.warn(f"IREE's data tiling failed on this module ({first}); compiled without it", stacklevel=2)
        vmfb = _invoke(text, [f for f in flags if f != DATA_TILING], dump)
    if cache.enabled():
        cache.store(k, vmfb)
    return vmfb


def _invoke(text: str, flags: list[str], dump: DumpDir | None, keep_failed: bool = True) -> bytes:
    """One iree-compile run; a failure names where the StableHLO was kept (`keep_failed`)."""
    from iree import compiler as ic

    extra = list(flags)
    if dump is not None:
        phases, executables = dump.scratch("phases"), dump.scratch("executables")
        extra += [f"--dump-compilation-phases-to={phases}", f"--iree-hal-dump-executable-files-to={executables}"]
    start = time.perf_counter()
    try:
        vmfb = ic.compile_str(text, input_type="stablehlo", target_backends=["llvm-cpu"], extra_args=extra)
    except ic.CompilerToolError as e:
        where = f"; the StableHLO is at {_keep(text, dump)}" if keep_failed else ""
        raise CompileError(f"IREE failed to compile the module: {_diagnostic(e)}{where}") from None
    if dump is not None:
        _adopt_phases(dump, phases, executables, time.perf_counter() - start)
        dump.write("artifact", vmfb, ".vmfb")
    return vmfb


def _diagnostic(e) -> str:
    """The compiler's own message: its first error lines, without the invocation."""
    text = str(e)
    body = text.split("Diagnostics:", 1)[-1].split("Invoked with:", 1)[0]
    lines = [ln.strip() for ln in body.splitlines() if ln.strip()]
    errors = [ln for ln in lines if "error" in ln.lower()] or lines or [text.strip()]
    # The target description lists ~150 CPU features: keep the message readable.
    errors = [re.sub(r'cpu_features = "[^"]*"', 'cpu_features = "..."', ln.split("  Try: ")[0]) for ln in errors]
    return " | ".join(errors[:3])[:1500]


def _keep(text: str, dump: DumpDir | None) -> str:
    if dump is not None:
        return os.path.join(dump.path, next(e["file"] for e in dump.entries if e["stage"] == "stablehlo"))
    fd, path = tempfile.mkstemp(prefix="ptir-failed-", suffix=".stablehlo.mlir")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    return path


def _adopt_phases(dump: DumpDir, phases: str, executables: str, seconds: float) -> None:
    files = sorted(os.listdir(phases))
    dump.time("iree.compile", seconds)
    for phase in IREE_PHASES:
        match = next((f for f in files if f.endswith(f".{phase}.mlir")), None)
        if match is not None:
            dump.adopt(f"iree.{phase}", os.path.join(phases, match), ".mlir")
    dump.adopt("iree.executables", executables)
    os.rmdir(phases) if not os.listdir(phases) else None


class _Runtime:
    """One IREE VM instance per process and one device per driver."""

    instance = None
    devices: dict = {}

    @classmethod
    def get(cls, driver: str):
        import iree.runtime as rt

        if driver not in DRIVERS:
            raise UsageError(f"unknown IREE driver '{driver}' (known: {', '.join(DRIVERS)})")
        if cls.instance is None:
            cls.instance = rt.VmInstance()
        if driver not in cls.devices:
            cls.devices[driver] = rt.get_device(driver)
        return cls.instance, cls.devices[driver]


class IreeExecutable(Executable):
    def __init__(self, fn: Function, vmfb: bytes, weights: dict[str, np.ndarray] | None,
                 driver: str = "local-task"):
        super().__init__(fn)
        self.vmfb = vmfb
        # A module whose weights are not bound yet can still be written out (ptirc lower);
        # it is loaded when it can run.
        self.invoker = None if fn.params and weights is None else self._load(weights, driver)

    def _load(self, weights, driver):
        import iree.runtime as rt

        instance, device = _Runtime.get(driver)
        modules = []
        if self.fn.params:
            index = rt.ParameterIndex()
            # The index refers to these buffers; keep them alive with the executable.
            self._weights = {k: np.ascontiguousarray(v) for k, v in weights.items()}
            for name, arr in self._weights.items():
                index.add_buffer(name, arr)
            modules.append(rt.create_io_parameters_module(instance, index.create_provider(scope=PARAM_SCOPE)))
        module = rt.VmModule.copy_buffer(instance, self.vmfb)
        modules += [rt.create_hal_module(instance, device), module]
        try:
            context = rt.VmContext(instance, modules=modules)
        except (RuntimeError, ValueError) as e:
            raise RunError(f"IREE could not load the module: {e}") from None
        return rt.FunctionInvoker(context, device, module.lookup_function("main"))

    def run_device(self, values):
        if self.invoker is None:
            check_params(self.fn, {})   # raises, naming the first missing weight
        try:
            outs = self.invoker(*values)
        except (RuntimeError, ValueError) as e:
            raise RunError(f"IREE failed to run @{self.fn.name}: {e}") from None
        return list(outs) if isinstance(outs, tuple | list) else [outs]

    def on_device(self, value) -> bool:
        from iree.runtime import DeviceArray

        return isinstance(value, DeviceArray)

    def to_host(self, value) -> np.ndarray:
        # to_host() views memory the device array owns: copy before it can be released.
        return np.array(value.to_host(), copy=True)


class IreeBackend(Backend):
    name = "llvm-cpu"

    def compile(self, program: Program, options: CompileOptions | None = None) -> IreeExecutable:
        from ..lower_stablehlo import lower

        options = options or CompileOptions()
        fn = program.entry(options.entry)
        # Without weights the module still compiles (they are bound at run time), unless
        # they are to be embedded.
        weights = bind_params(fn, options.params) if options.params or options.embed_params else None
        mode = "constants" if options.embed_params else "globals"
        start = time.perf_counter()
        sig = signature(fn, with_params=not options.embed_params)
        lowered = lower(program, entry=options.entry, params_mode=mode, params=weights,
                        reflection={"ptir.signature": json.dumps(sig)})
        dump = options.dump
        if dump is not None:
            dump.write("stablehlo", lowered.text, ".mlir", time.perf_counter() - start)
        vmfb = compile_vmfb(lowered.text, iree_flags(options), dump, options.cache)
        if options.embed_params:
            fn = function_from_signature(sig)
        return IreeExecutable(fn, vmfb, weights, options.driver)


def load_vmfb(path: str, params: dict[str, np.ndarray] | None = None, driver: str = "local-task") -> IreeExecutable:
    """An executable from a .vmfb that ptir wrote; `params` binds its named weights."""
    import iree.runtime as rt

    try:
        with open(path, "rb") as f:
            vmfb = f.read()
        instance, _ = _Runtime.get(driver)
        module = rt.VmModule.copy_buffer(instance, vmfb)   # must outlive the function looked up in it
        reflection = dict(module.lookup_function("main").reflection)
        del module
    except (OSError, RuntimeError, ValueError) as e:
        raise RunError(f"cannot load {path}: {e}") from None
    if "ptir.signature" not in reflection:
        raise RunError(f"{path} was not written by ptirc (it has no ptir.signature); "
                       "run it with iree-run-module instead")
    fn = function_from_signature(json.loads(reflection["ptir.signature"]))
    weights = bind_params(fn, params) if params is not None else None
    return IreeExecutable(fn, vmfb, weights, driver)

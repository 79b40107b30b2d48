"""The `llvm-cpu` target: StableHLO compiled by IREE to a .vmfb, run by IREE's runtime.

Weights (`ptir.param` arguments) are IREE named parameters by default: the module
declares `#flow.parameter.named<"model"::NAME>` globals and the runtime binds them from
arrays or a safetensors file.  The .vmfb stays small, the compile does not depend on
the weights (so the cache hits across checkpoints), and the stock
`iree-run-module --parameters=model=weights.safetensors` runs it.
`CompileOptions(embed_params=True)` inlines them as constants instead.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import warnings

import numpy as np

from ..dialect.program import Function
from ..dialect.signature import bind_params, check_params, function_from_signature, signature
from ..errors import CompileError, PtirError, RunError, UsageError
from ..lower_stablehlo.module import PARAM_SCOPE, LoweredModule
from . import cache
from .backend import Artifact, Backend, CompileOptions, Emit, Executable, no_emit
from .stages import IREE_PHASES, StageEvent, Timer

# Chosen by measurement (benchmarks/iree_flags.py; numbers in docs/lowering.md): data
# tiling with ukernels made matmuls ~18% faster and left convolutions alone; O3 without
# data tiling made a 3x3 convolution slower.  The larger stack limit is needed by
# data-tiled layer norms (TOOLCHAIN.md).
DEFAULT_FLAGS = ("--iree-opt-level=O3", "--iree-opt-data-tiling", "--iree-llvmcpu-enable-ukernels=all",
                 "--iree-llvmcpu-stack-allocation-limit=65536")
DRIVERS = ("local-task", "local-sync")


def compiler_version() -> str:
    """The installed iree-base-compiler's version (part of every cache key)."""
    from importlib.metadata import version
    return version("iree-base-compiler")


def iree_flags(options: CompileOptions) -> list[str]:
    """The iree-compile flags for `options`: the target CPU, PTIR's measured defaults,
    then the caller's own (which win); UsageError for one that is not `--name[=value]`."""
    for f in options.flags:
        if not f.startswith("--") or len(f) < 3:
            raise UsageError(f"malformed IREE flag '{f}' (flags look like --iree-opt-level=O3)")
    return [f"--iree-llvmcpu-target-cpu={options.cpu}", *DEFAULT_FLAGS, *options.flags]


DATA_TILING = "--iree-opt-data-tiling"
# IREE demotes f64 to f32 unless told not to (the module would then take and give f32 where
# PTIR's signature says f64); its llvm-cpu computes f64 right when kept.  Given only for a
# module with f64, so f32 programs keep their compile-cache keys.
KEEP_F64 = "--iree-input-demote-f64-to-f32=false"


def module_flags(text: str, options: CompileOptions) -> list[str]:
    """iree_flags, and KEEP_F64 when the StableHLO `text` has an f64 tensor."""
    keep = [KEEP_F64] if re.search(r"[x<]f64>", text) else []
    return [*iree_flags(options), *keep]


def compile_vmfb(text: str, flags: list[str], emit: Emit = no_emit, scratch: str | None = None,
                 use_cache: bool = True) -> bytes:
    """StableHLO text to .vmfb bytes through the cache.  With `scratch` (a folder), IREE
    writes its phases and executables there and each is reported through `emit`; such a
    compile bypasses the cache, since a cached artifact has no phases to show.

    IREE 3.13's data tiling fails on some modules (e.g. an i1 mask argument selecting on a
    matmul result: "linalg.pack op expected padding_value has 'i8' but got 'i1'"); such a
    module is compiled again without data tiling, with a warning, rather than not at all.
    Raises CompileError with IREE's first diagnostics and where the StableHLO was kept.
    """
    k = cache.key(text, "llvm-cpu", "\0".join(flags), compiler_version())
    if use_cache and scratch is None and cache.enabled():
        hit = cache.load(k)
        if hit is not None:
            return hit
    tiled = DATA_TILING in flags
    try:
        vmfb = _invoke(text, flags, emit, scratch, keep_failed=not tiled)
    except CompileError as e:
        if not tiled:
            raise
        try:
            vmfb = _invoke(text, [f for f in flags if f != DATA_TILING], emit, scratch, keep_failed=False)
        except CompileError:   # not data tiling's fault (a bad flag, say): report the first failure
            raise CompileError(f"{e.message}; the StableHLO is at {_keep(text)}") from None
        first = e.message.split(" | ")[0].removeprefix("IREE failed to compile the module: ")
        warnings.warn(f"IREE's data tiling failed on this module ({first}); compiled without it", stacklevel=2)
    if cache.enabled():
        cache.store(k, vmfb)
    return vmfb


def _invoke(text: str, flags: list[str], emit: Emit, scratch: str | None, keep_failed: bool = True) -> bytes:
    """One iree-compile run; a failure names where the StableHLO was kept (`keep_failed`)."""
    from iree import compiler as ic

    extra = list(flags)
    if scratch is not None:
        phases, executables = os.path.join(scratch, "phases"), os.path.join(scratch, "executables")
        for d in (phases, executables):
            shutil.rmtree(d, ignore_errors=True)   # a retry without data tiling starts clean
            os.makedirs(d)
        extra += [f"--dump-compilation-phases-to={phases}", f"--iree-hal-dump-executable-files-to={executables}"]
    timer = Timer()
    try:
        vmfb = ic.compile_str(text, input_type="stablehlo", target_backends=["llvm-cpu"], extra_args=extra)
    except ic.CompilerToolError as e:
        where = f"; the StableHLO is at {_keep(text)}" if keep_failed else ""
        raise CompileError(f"IREE failed to compile the module: {_diagnostic(e)}{where}") from None
    emit(StageEvent("iree.compile", seconds=timer.seconds, start=timer.start))
    if scratch is not None:
        _emit_phases(emit, phases, executables)
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


def _keep(text: str) -> str:
    """The failed StableHLO in a temporary file, for the user to look at or report."""
    fd, path = tempfile.mkstemp(prefix="ptir-failed-", suffix=".stablehlo.mlir")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    return path


def _emit_phases(emit: Emit, phases: str, executables: str) -> None:
    files = sorted(os.listdir(phases))
    for phase in IREE_PHASES:
        match = next((f for f in files if f.endswith(f".{phase}.mlir")), None)
        if match is not None:
            emit(StageEvent(f"iree.{phase}", path=os.path.join(phases, match), ext=".mlir"))
    emit(StageEvent("iree.executables", path=executables))


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


_WORKERS: list[int | None] = []   # the local-task worker count, fixed by the first call in a process


def set_task_workers(threads: int | None) -> int | None:
    """Ask for `threads` workers in IREE's local-task device; the count in effect
    (None: IREE's default, one per core).  IREE reads the setting when it creates the
    device, so only the first call in a process, made before any llvm-cpu run, counts."""
    if not _WORKERS:
        made = "local-task" in _Runtime.devices
        if threads and not made:
            import iree.runtime as rt

            rt.flags.parse_flags(f"--task_topology_group_count={threads}")
        _WORKERS.append(None if made else threads)
    return _WORKERS[0]


class IreeExecutable(Executable):
    """A .vmfb loaded into IREE's runtime (`local-task` runs on a thread pool)."""

    def __init__(self, fn: Function, vmfb: bytes, weights: dict[str, np.ndarray] | None,
                 driver: str = "local-task"):
        super().__init__(fn)
        self.vmfb = vmfb
        self.artifact = Artifact("vmfb", seal(vmfb), ".vmfb")
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
        except (RuntimeError, ValueError, IndexError, KeyError, OSError) as e:   # IREE status codes
            raise RunError(f"IREE could not load the module: {e}") from None
        return rt.FunctionInvoker(context, device, module.lookup_function("main"))

    def run_device(self, values):
        if self.invoker is None:
            check_params(self.fn, {})   # raises, naming the first missing weight
        try:
            outs = self.invoker(*values)
        except (RuntimeError, ValueError, IndexError, KeyError, OSError) as e:   # IREE status codes
            raise RunError(f"IREE failed to run @{self.fn.name}: {e}") from None
        if outs is None:   # a function with no results
            return []
        return list(outs) if isinstance(outs, tuple | list) else [outs]

    def on_device(self, value) -> bool:
        from iree.runtime import DeviceArray

        return isinstance(value, DeviceArray)

    def to_host(self, value) -> np.ndarray:
        # to_host() views memory the device array owns: copy before it can be released.
        return np.array(value.to_host(), copy=True)


class IreeBackend(Backend):
    """IREE's llvm-cpu target: a .vmfb for this host's CPU (or `options.cpu`)."""

    name = "llvm-cpu"

    def lowering(self, fn: Function, options: CompileOptions) -> dict:
        """Weights as IREE named parameters (or constants with embed_params), the
        entry's signature in IREE's reflection so the .vmfb runs without the source, and
        no shardings (IREE reads no `sdy`; one device, same numbers)."""
        sig = signature(fn, with_params=not options.embed_params)
        return {"params_mode": "constants" if options.embed_params else "globals",
                "reflection": {"ptir.signature": json.dumps(sig)}, "shardings": "drop"}

    def compile(self, module: LoweredModule, options: CompileOptions, emit: Emit = no_emit) -> IreeExecutable:
        """The .vmfb of `module`, loaded with the weights of `options.params` when given
        (without them it can still be written out and run later with --params)."""
        fn = module.function
        weights = bind_params(fn, options.params) if options.params and not options.embed_params else None
        vmfb = compile_vmfb(module.text, module_flags(module.text, options), emit, options.scratch, options.cache)
        if options.embed_params:
            fn = function_from_signature(signature(fn, with_params=False))
        return IreeExecutable(fn, vmfb, weights, options.driver)


# ptirc seals every .vmfb it writes with this footer: a SHA-256 of the module's bytes.
# IREE reads a module from its own header and ignores what follows it (the stock
# iree-run-module runs a sealed file as it is), and a damaged file is refused before
# IREE parses a byte of it (docs/abi.md).
SEAL = b"\n#PTIR-SHA256:"
_SEAL_LEN = len(SEAL) + 64 + 1


def seal(vmfb: bytes) -> bytes:
    """`vmfb` with PTIR's checksum footer appended."""
    return vmfb + SEAL + hashlib.sha256(vmfb).hexdigest().encode() + b"\n"


def unseal(data: bytes, path: str) -> tuple[bytes, bool]:
    """(the module's bytes, whether ptirc sealed it); RunError when a seal is there and
    does not match, i.e. the file was damaged after ptirc wrote it."""
    tail = data[-_SEAL_LEN - 16:]
    if SEAL.strip() not in tail:
        return data, False
    body = data[:-_SEAL_LEN]
    footer = data[-_SEAL_LEN:]
    if not footer.startswith(SEAL) or footer[len(SEAL):-1] != hashlib.sha256(body).hexdigest().encode():
        raise RunError(f"{path} is damaged: its PTIR checksum does not match its contents")
    return body, True


# Run in a child process for a module ptirc did not seal: IREE may crash reading a
# damaged one, and that must not take ptirc down with it.
_PROBE = """
import json, sys
import iree.runtime as rt
instance = rt.VmInstance()
m = rt.VmModule.copy_buffer(instance, open(sys.argv[1], "rb").read())
f = m.lookup_function("main")
print(json.dumps(dict(f.reflection) if f is not None else None), flush=True)
try:   # loading the executables (ELF relocation) is where a damaged module can crash
    rt.VmContext(instance, modules=[rt.create_hal_module(instance, rt.get_device("local-sync")), m])
except Exception:
    pass   # e.g. it needs its parameters: an error the caller reports itself
"""


def _probe_reflection(path: str) -> dict | None:
    """@main's reflection as read by a child process, None when the module has no @main;
    RunError when IREE cannot read the module (or crashes reading it)."""
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-c", _PROBE, path], capture_output=True, text=True)
    if r.returncode != 0 or not r.stdout.strip():
        last = (r.stderr.strip().splitlines() or [f"IREE crashed (signal {-r.returncode})"])[-1]
        raise RunError(f"cannot load {path}: not a module IREE can read ({last[:300]})")
    return json.loads(r.stdout.splitlines()[0])


def load_vmfb(path: str, params: dict[str, np.ndarray] | None = None, driver: str = "local-task") -> IreeExecutable:
    """An executable from a .vmfb that ptirc wrote; `params` binds its named weights.
    Raises RunError for an unreadable, damaged or foreign file (one without PTIR's
    signature: run those with iree-run-module), never crashes on one."""
    try:
        with open(path, "rb") as f:
            vmfb, sealed = unseal(f.read(), path)
    except OSError as e:
        raise RunError(f"cannot read {path}: {e.strerror or e}") from None
    if sealed:
        reflection = _reflection(vmfb, path, driver)
    else:
        reflection = _probe_reflection(path)
    if reflection is None:
        raise RunError(f"{path} has no function @main")
    if "ptir.signature" not in reflection:
        raise RunError(f"{path} was not written by ptirc (it has no ptir.signature); "
                       "run it with iree-run-module instead")
    try:
        fn = function_from_signature(json.loads(reflection["ptir.signature"]))
    except (ValueError, KeyError, TypeError, PtirError) as e:
        raise RunError(f"{path}: its ptir.signature cannot be read ({e})") from None
    weights = bind_params(fn, params) if params is not None else None
    return IreeExecutable(fn, vmfb, weights, driver)


def _reflection(vmfb: bytes, path: str, driver: str) -> dict | None:
    import iree.runtime as rt

    try:
        instance, _ = _Runtime.get(driver)
        module = rt.VmModule.copy_buffer(instance, vmfb)   # must outlive the function looked up in it
        f = module.lookup_function("main")
        return dict(f.reflection) if f is not None else None
    except (RuntimeError, ValueError, IndexError, KeyError, OSError) as e:   # IREE status codes
        raise RunError(f"cannot load {path}: {e}") from None

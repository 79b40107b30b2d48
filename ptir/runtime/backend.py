"""One backend protocol for every target.

    backend = get_backend("llvm-cpu")
    how = backend.lowering(fn, options)           # what the pipeline's lowering must produce
    exe = backend.compile(lowered, options, emit)  # the lowered module (Program for `ref`)
    outs = exe(*arrays)          # a list of numpy arrays that own their memory
    exe.artifact                 # Artifact(kind="vmfb", data=...) or None

Backends receive what the compile pipeline (ptir.pipeline) lowered; they never lower
or optimize themselves.  `emit(StageEvent)` reports the stages of the target's own
compiler (IREE's phases, XLA's optimized HLO) to the pipeline's observers.
Targets are named like IREE's: `ref` (numpy), `llvm-cpu` (IREE), `xla-cpu` (JAX/XLA).
Adding a target is one module and one line in `TARGETS`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..dialect.program import Function
from ..dialect.signature import check_inputs
from ..errors import UsageError
from .stages import StageEvent

# target name -> "module:Class"; modules are imported only when used.
TARGETS = {
    "ref": "ptir.runtime.ref:RefBackend",
    "llvm-cpu": "ptir.runtime.iree_backend:IreeBackend",
    "xla-cpu": "ptir.runtime.xla_backend:XlaBackend",
}


@dataclass
class CompileOptions:
    """How to compile for a target; fields a target does not use are ignored by it."""

    entry: str = "main"
    params: dict[str, np.ndarray] = field(default_factory=dict)   # weights by ptir.param name
    flags: list[str] = field(default_factory=list)                # extra compiler flags (IREE)
    cache: bool = True             # llvm-cpu: use the on-disk compile cache (runtime/cache.py)
    cpu: str = "host"              # llvm-cpu: the CPU to compile for; name one for portable artifacts
    driver: str = "local-task"     # llvm-cpu: IREE's runtime driver (threads) or local-sync
    embed_params: bool = False     # llvm-cpu: weights as constants instead of named parameters
    scratch: str | None = None     # a folder for the compiler's intermediate files (set by the pipeline)


@dataclass(frozen=True)
class Artifact:
    """What a target runs, as bytes to write to a file: `kind` names the format
    ("vmfb"), `ext` its file extension."""

    kind: str
    data: bytes
    ext: str


Emit = Callable[[StageEvent], None]


def no_emit(event: StageEvent) -> None:
    """An `emit` for a compile that nobody observes."""


class Executable:
    """A compiled entry function: call it with the non-param inputs, in order.
    `artifact` is what a target can write to a file (None where there is none)."""

    artifact: Artifact | None = None

    def __init__(self, fn: Function):
        self.fn = fn
        self.input_types = [a.value.type for a in fn.inputs]
        self.input_names = [a.value.name for a in fn.inputs]
        self.result_types = list(fn.result_types)

    def __call__(self, *arrays) -> list[np.ndarray]:
        """numpy arrays in, numpy arrays that own their memory out."""
        return [self.to_host(v) for v in self.device_call(*arrays)]

    def device_call(self, *values) -> list:
        """Like calling, but the results stay where the backend keeps them (IREE device
        arrays, XLA buffers) so they can be passed back in without a round trip through
        host memory; `to_host` brings one back.  Inputs are numpy arrays or such results.
        A device input may be updated in place (IREE does so for a dynamic_update_slice of
        an argument, e.g. a KV cache): pass back only values you no longer need."""
        return self.run_device(check_inputs(self.fn, values, self.on_device))

    def run_device(self, values: list) -> list:
        """The backend's call on checked inputs; results stay on the device."""
        raise NotImplementedError

    def on_device(self, value) -> bool:
        """Whether `value` is this backend's own device value (not a host array)."""
        return False

    def to_host(self, value) -> np.ndarray:
        """A result of `device_call` as a numpy array that owns its memory."""
        return np.asarray(value)


class Backend:
    """A target: how its module is lowered, and how it is compiled into an Executable."""

    name = "?"
    lowers = True     # False: the target runs the PTIR program itself (ref)

    def lowering(self, fn: Function, options: CompileOptions) -> dict:
        """Keyword arguments for ptir.lower_stablehlo.lower: how weights appear in the
        module (`params_mode`) and any reflection metadata to attach to @main."""
        return {"params_mode": "arguments"}

    def compile(self, module, options: CompileOptions, emit: Emit = no_emit) -> Executable:
        """Compile a LoweredModule (a Program where `lowers` is False); raises
        CompileError when the target's compiler fails, RunError for bad weights."""
        raise NotImplementedError


def get_backend(target: str) -> Backend:
    """The backend of target `target`; UsageError naming the known targets otherwise."""
    if target not in TARGETS:
        raise UsageError(f"unknown target '{target}' (known: {', '.join(TARGETS)})")
    module, cls = TARGETS[target].split(":")
    return getattr(importlib.import_module(module), cls)()



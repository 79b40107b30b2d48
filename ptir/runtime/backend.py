"""One backend protocol for every target.

    backend = get_backend("llvm-cpu")
    exe = backend.compile(program, CompileOptions(entry="main", params={...}))
    outs = exe(*arrays)          # a list of numpy arrays that own their memory

Targets are named like IREE's: `ref` (numpy), `llvm-cpu` (IREE), `xla-cpu` (JAX/XLA).
Adding a target is one module and one line in `TARGETS`.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field

import numpy as np

from ..dialect.program import Function, Program
from ..dialect.signature import (
    check_inputs,
)
from ..errors import UsageError
from .stages import DumpDir

# target name -> "module:Class"; modules are imported only when used.
TARGETS = {
    "ref": "ptir.runtime.ref:RefBackend",
    "llvm-cpu": "ptir.runtime.iree_backend:IreeBackend",
    "xla-cpu": "ptir.runtime.xla_backend:XlaBackend",
}


@dataclass
class CompileOptions:
    entry: str = "main"
    params: dict[str, np.ndarray] = field(default_factory=dict)   # weights by ptir.param name
    flags: list[str] = field(default_factory=list)                # extra compiler flags (IREE)
    dump: DumpDir | None = None                                   # write every stage here
    cache: bool = True
    cpu: str = "host"              # llvm-cpu: the CPU to compile for; name one for portable artifacts
    driver: str = "local-task"     # llvm-cpu: IREE's runtime driver (threads) or local-sync
    embed_params: bool = False     # llvm-cpu: weights as constants instead of named parameters


class Executable:
    """A compiled entry function: call it with the non-param inputs, in order."""

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
        raise NotImplementedError

    def on_device(self, value) -> bool:
        """Whether `value` is this backend's own device value (not a host array)."""
        return False

    def to_host(self, value) -> np.ndarray:
        return np.asarray(value)


class Backend:
    name = "?"

    def compile(self, program: Program, options: CompileOptions | None = None) -> Executable:
        raise NotImplementedError


def get_backend(target: str) -> Backend:
    if target not in TARGETS:
        raise UsageError(f"unknown target '{target}' (known: {', '.join(TARGETS)})")
    module, cls = TARGETS[target].split(":")
    return getattr(importlib.import_module(module), cls)()



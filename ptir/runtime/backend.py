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
from ..dialect.types import TensorType
from ..errors import RunError, UsageError
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


def describe(x) -> str:
    return f"{np.dtype(x.dtype)} array of shape ({', '.join(map(str, x.shape))})"


def matches(t: TensorType, x) -> bool:
    """Whether an array (host or device: anything with .shape and .dtype) has type `t`."""
    return np.dtype(x.dtype) == t.dtype.np_dtype and len(x.shape) == t.rank and all(
        d is None or d == n for d, n in zip(t.shape, x.shape, strict=True))


def check_inputs(fn: Function, values, on_device=lambda v: False) -> list:
    """The caller's inputs as arrays (or device values) of exactly the declared types, or a
    RunError naming the first that is not."""
    inputs = fn.inputs
    if len(values) != len(inputs):
        names = ", ".join("%" + a.value.name for a in inputs)
        raise RunError(f"@{fn.name} takes {len(inputs)} input{'s' if len(inputs) != 1 else ''} ({names}), "
                       f"got {len(values)}")
    out = []
    for a, x in zip(inputs, values, strict=True):
        if not on_device(x):
            x = np.asarray(x)
        if not matches(a.value.type, x):
            raise RunError(f"input %{a.value.name}: expected {a.value.type}, got {describe(x)}")
        out.append(x)
    return out


def check_params(fn: Function, params: dict[str, np.ndarray]) -> list[np.ndarray]:
    """The weights of `fn`'s ptir.param arguments, in argument order, or a RunError naming
    the missing or mis-shaped one."""
    out = []
    for name, arg in fn.params.items():
        if name not in params:
            raise RunError(f"missing weight \"{name}\" for argument %{arg.value.name} ({arg.value.type}); "
                           "give the weights with --params / params=")
        x = np.asarray(params[name])
        if not matches(arg.value.type, x):
            raise RunError(f"weight \"{name}\": expected {arg.value.type}, got {describe(x)}")
        out.append(x)
    return out


def bind_params(fn: Function, params: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """`fn`'s weights by name, checked (see check_params)."""
    return dict(zip(fn.params, check_params(fn, params), strict=True))


def interleave(fn: Function, inputs: list[np.ndarray], weights: list[np.ndarray]) -> list[np.ndarray]:
    """All arguments of `fn` in declaration order, from its inputs and its weights."""
    it_in, it_w = iter(inputs), iter(weights)
    return [next(it_w) if a.param is not None else next(it_in) for a in fn.args]


def signature(fn: Function, with_params: bool = True) -> dict:
    """The entry's calling convention, stored in artifacts so they run without the source
    (`with_params=False` when the weights are baked into the artifact)."""
    return {"entry": fn.name,
            "args": [{"name": a.value.name, "type": str(a.value.type), "param": a.param}
                     for a in fn.args if with_params or a.param is None],
            "results": [str(t) for t in fn.result_types]}


def function_from_signature(sig: dict) -> Function:
    """A body-less Function with the signature's arguments and results."""
    from ..dialect.parser import Parser
    from ..dialect.program import Argument, Value

    def typ(text):
        return Parser(text, "<signature>").type()

    args = [Argument(Value(typ(a["type"]), a["name"], None, i), a.get("param"))
            for i, a in enumerate(sig["args"])]
    return Function(sig.get("entry", "main"), args, [typ(t) for t in sig["results"]])

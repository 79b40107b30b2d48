"""A function's calling convention: the arrays a caller gives, checked against its
arguments (inputs in order, weights by their `ptir.param` names), and the signature an
artifact stores so that it runs without the source.  Errors are RunErrors naming the
argument and both types."""

from __future__ import annotations

import numpy as np

from ..errors import RunError
from .parser import Parser
from .program import Argument, Function, Value
from .types import TensorType


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
    def typ(text):
        return Parser(text, "<signature>").type()

    args = [Argument(Value(typ(a["type"]), a["name"], None, i), a.get("param"))
            for i, a in enumerate(sig["args"])]
    return Function(sig.get("entry", "main"), args, [typ(t) for t in sig["results"]])

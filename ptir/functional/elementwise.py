"""Activations and elementwise functions, composed from the dialect's elementwise ops."""

from __future__ import annotations

import math

from ..dialect import dtypes as dt
from .tracing import Tensor, as_tensor, binary, broadcast_shapes, broadcast_to, cast, fail, promote


def _float(x, op: str) -> Tensor:
    x = as_tensor(x, op=op)
    if not x.dtype.is_float:
        fail(op, f"input dtype {x.dtype} is not a float type")
    return x


def _unary(name: str, x, op: str | None = None) -> Tensor:
    x = _float(x, op or name)
    return x.tracer.op(name, x)


def exp(x) -> Tensor:
    return _unary("exp", x)


def log(x) -> Tensor:
    return _unary("log", x)


def sqrt(x) -> Tensor:
    return _unary("sqrt", x)


def rsqrt(x) -> Tensor:
    return _unary("rsqrt", x)


def erf(x) -> Tensor:
    return _unary("erf", x)


def sin(x) -> Tensor:
    return _unary("sin", x)


def cos(x) -> Tensor:
    return _unary("cos", x)


def tanh(input) -> Tensor:
    return _unary("tanh", input)


def sigmoid(input) -> Tensor:
    return _unary("logistic", input, "sigmoid")


def maximum(input, other) -> Tensor:
    return binary("max", input, other, "maximum")


def minimum(input, other) -> Tensor:
    return binary("min", input, other, "minimum")


def relu(input) -> Tensor:
    return maximum(as_tensor(input, op="relu"), 0)


def relu6(input) -> Tensor:
    return clamp(input, 0, 6)


def silu(input) -> Tensor:
    x = _float(input, "silu")
    return x * sigmoid(x)


def gelu(input, approximate: str = "none") -> Tensor:
    """`none`: x/2 (1 + erf(x/sqrt 2)); `tanh`: x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""
    x = _float(input, "gelu")
    if approximate == "none":
        return 0.5 * x * (1.0 + erf(x * (1.0 / math.sqrt(2.0))))
    if approximate == "tanh":
        return 0.5 * x * (1.0 + tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * (x * x * x))))
    fail("gelu", f'approximate must be "none" or "tanh", not {approximate!r}')


def clamp(input, min=None, max=None) -> Tensor:
    """torch.clamp: max(x, min) then min(., max); bounds may be scalars or tensors."""
    if min is None and max is None:
        fail("clamp", "at least one of min and max must be given")
    x = as_tensor(input, op="clamp")
    if min is not None:
        x = binary("max", x, min, "clamp")
    if max is not None:
        x = binary("min", x, max, "clamp")
    return x


def where(condition, input, other) -> Tensor:
    """torch.where: elementwise choice with all three operands broadcast; input and other promoted."""
    cond = as_tensor(condition, op="where")
    if not cond.dtype.is_bool:
        cond = cast(cond, dt.i1)   # nonzero is true, as in torch
    a, b = promote(input, other, op="where")
    shape = broadcast_shapes(cond.shape, a.shape, op="where")
    return a.tracer.op("select", broadcast_to(cond, shape), broadcast_to(a, shape), broadcast_to(b, shape))

"""Activations and elementwise functions, composed from the dialect's elementwise ops."""

from __future__ import annotations

import math

from ..dialect import dtypes as dt
from .core import as_tensor, binary, broadcast_shapes, broadcast_to, cast, promote
from .tensor import Tensor
from .tracer import fail


def _float(x, op: str) -> Tensor:
    x = as_tensor(x, op=op)
    if not x.dtype.is_float:
        fail(op, f"input dtype {x.dtype} is not a float type")
    return x


def _unary(name: str, x, op: str | None = None) -> Tensor:
    x = _float(x, op or name)
    return x.tracer.op(name, x)


def exp(x) -> Tensor:
    """e to the power x, elementwise (torch.exp).

    x: any shape, a float dtype (f16, bf16, f32, f64), kept in the result.
    TypeRuleError if x is not a float tensor."""
    return _unary("exp", x)


def log(x) -> Tensor:
    """Natural logarithm, elementwise (torch.log): log(0) = -inf, negative x gives nan.

    x: any shape, a float dtype (f16, bf16, f32, f64), kept in the result.
    TypeRuleError if x is not a float tensor."""
    return _unary("log", x)


def sqrt(x) -> Tensor:
    """Square root, elementwise (torch.sqrt): negative x gives nan.

    x: any shape, a float dtype (f16, bf16, f32, f64), kept in the result.
    TypeRuleError if x is not a float tensor."""
    return _unary("sqrt", x)


def rsqrt(x) -> Tensor:
    """1 / sqrt(x), elementwise (torch.rsqrt): rsqrt(0) = inf, negative x gives nan.

    x: any shape, a float dtype (f16, bf16, f32, f64), kept in the result.
    TypeRuleError if x is not a float tensor."""
    return _unary("rsqrt", x)


def erf(x) -> Tensor:
    """Gauss error function 2/sqrt(pi) * integral_0^x exp(-t^2) dt, elementwise (torch.erf).

    x: any shape, a float dtype (f16, bf16, f32, f64), kept in the result.
    TypeRuleError if x is not a float tensor."""
    return _unary("erf", x)


def sin(x) -> Tensor:
    """Sine of x in radians, elementwise (torch.sin).

    x: any shape, a float dtype (f16, bf16, f32, f64), kept in the result.
    TypeRuleError if x is not a float tensor."""
    return _unary("sin", x)


def cos(x) -> Tensor:
    """Cosine of x in radians, elementwise (torch.cos).

    x: any shape, a float dtype (f16, bf16, f32, f64), kept in the result.
    TypeRuleError if x is not a float tensor."""
    return _unary("cos", x)


def tanh(input) -> Tensor:
    """Hyperbolic tangent, elementwise (torch.tanh); values in (-1, 1).

    input: any shape, a float dtype, kept.  TypeRuleError if it is not a float tensor."""
    return _unary("tanh", input)


def sigmoid(input) -> Tensor:
    """Logistic sigmoid 1 / (1 + exp(-x)), elementwise (torch.sigmoid, one `ptir.logistic`).

    input: any shape, a float dtype, kept.  TypeRuleError if it is not a float tensor."""
    return _unary("logistic", input, "sigmoid")


def maximum(input, other) -> Tensor:
    """Elementwise maximum (torch.maximum); a NaN in either operand gives NaN.

    input, other: tensors, arrays or scalars, broadcast and promoted as the operators are
    (numpy rules, weak Python scalars); any number dtype (not i1).  TypeRuleError if the
    shapes do not broadcast."""
    return binary("max", input, other, "maximum")


def minimum(input, other) -> Tensor:
    """Elementwise minimum (torch.minimum); a NaN in either operand gives NaN.

    Operands, dtypes and errors as `maximum`."""
    return binary("min", input, other, "minimum")


def relu(input) -> Tensor:
    """max(x, 0), elementwise (torch.nn.functional.relu).

    input: any shape and number dtype (not i1), kept; NaN stays NaN."""
    return maximum(as_tensor(input, op="relu"), 0)


def relu6(input) -> Tensor:
    """min(max(x, 0), 6), elementwise: the bounded ReLU of MobileNet (Howard et al. 2017),
    as torch.nn.functional.relu6.

    input: any shape and number dtype (not i1), kept."""
    return clamp(input, 0, 6)


def silu(input) -> Tensor:
    """SiLU / swish x * sigmoid(x), elementwise (Elfwing et al. 2018; Ramachandran et al.
    2017), as torch.nn.functional.silu.

    input: any shape, a float dtype, kept.  TypeRuleError if it is not a float tensor."""
    x = _float(input, "silu")
    return x * sigmoid(x)


def gelu(input, approximate: str = "none") -> Tensor:
    """GELU x * Phi(x) (Hendrycks & Gimpel 2016), as torch.nn.functional.gelu.

    `approximate="none"`: the exact x/2 (1 + erf(x/sqrt 2)); `"tanh"`: the paper's tanh
    approximation x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), as GPT-2 uses.
    input: any shape, a float dtype, kept.  TypeRuleError for a non-float input or another
    `approximate`."""
    x = _float(input, "gelu")
    if approximate == "none":
        return 0.5 * x * (1.0 + erf(x * (1.0 / math.sqrt(2.0))))
    if approximate == "tanh":
        return 0.5 * x * (1.0 + tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * (x * x * x))))
    fail("gelu", f'approximate must be "none" or "tanh", not {approximate!r}')


def clamp(input, min=None, max=None) -> Tensor:
    """torch.clamp: max(x, min) then min(., max); bounds may be scalars or tensors.

    Bounds broadcast against input and promote with it as the operators do (a float bound
    makes an integer input f32).  TypeRuleError if both bounds are None or shapes do not
    broadcast."""
    if min is None and max is None:
        fail("clamp", "at least one of min and max must be given")
    x = as_tensor(input, op="clamp")
    if min is not None:
        x = binary("max", x, min, "clamp")
    if max is not None:
        x = binary("min", x, max, "clamp")
    return x


def where(condition, input, other) -> Tensor:
    """torch.where: `input` where `condition` holds, else `other`, elementwise.

    All three broadcast together; a non-i1 condition counts nonzero as true; input and
    other promote to one dtype (the result's).  TypeRuleError if the shapes do not broadcast."""
    cond = as_tensor(condition, op="where")
    if not cond.dtype.is_bool:
        cond = cast(cond, dt.i1)   # nonzero is true, as in torch
    a, b = promote(input, other, op="where")
    shape = broadcast_shapes(cond.shape, a.shape, op="where")
    return a.tracer.op("select", broadcast_to(cond, shape), broadcast_to(a, shape), broadcast_to(b, shape))

"""softmax, log_softmax and the normalisations, in their canonical PTIR forms."""

from __future__ import annotations

import numpy as np

from ..dialect import dtypes as dt
from .core import as_tensor, cast, mean, reduce, reshape, scalar_dim
from .elementwise import exp, log, rsqrt, where
from .tensor import Tensor
from .tracer import fail


def _float_input(input, op: str, dtype=None) -> Tensor:
    x = as_tensor(input, op=op)
    x = x if dtype is None else cast(x, dtype)
    if not x.dtype.is_float:
        fail(op, f"input dtype {x.dtype} is not a float type")
    return x


def _shifted(input, dim, dtype, op: str) -> tuple[Tensor, int, bool, dt.DType]:
    """x - max(x) along dim: the numerically stable start of (log_)softmax, and the
    result's dtype.  f16 and bf16 are computed in f32 and rounded once, as torch does (and
    IREE 3.13 failed to link an f16 max: "undefined symbol: fmaxf"); a scalar input comes
    as shape (1,) (and True)."""
    if dim is None:
        fail(op, "dim must be given")
    x, dim, scalar = scalar_dim(_float_input(input, op, dtype), dim, op)
    out = x.dtype
    x = cast(x, dt.f32) if out in (dt.f16, dt.bf16) else x
    return x - reduce(x, "max", dim, keepdims=True, op=op), dim, scalar, out


def softmax(input, dim=None, dtype=None) -> Tensor:
    """exp(x - max) / sum(exp(x - max)) along `dim`, as torch.nn.functional.softmax (the max
    subtracted for stability).

    input: any shape, a float dtype (or cast to `dtype` first), kept in the result (f16
    and bf16 computed in f32); a rank-0 input takes dim 0 or -1 (its softmax is 1, NaN
    for NaN or an infinity).
    TypeRuleError if dim is None (no implicit dim), out of range (ptir.reduce's rule), or
    the input is not float."""
    s, axis, scalar, out = _shifted(input, dim, dtype, "softmax")
    e = exp(s)
    y = cast(e / e.sum(axis, keepdims=True), out)
    return reshape(y, ()) if scalar else y


def log_softmax(input, dim=None, dtype=None) -> Tensor:
    """(x - max) - log(sum(exp(x - max))) along `dim`, as torch.nn.functional.log_softmax.

    Shapes, dtypes and errors as `softmax` (a scalar's log_softmax is 0)."""
    s, axis, scalar, out = _shifted(input, dim, dtype, "log_softmax")
    y = cast(s - log(exp(s).sum(axis, keepdims=True)), out)
    return reshape(y, ()) if scalar else y


def _affine_operand(t, shape, name: str, x: Tensor, op: str) -> Tensor | None:
    if t is None:
        return None
    t = as_tensor(t, op=op)
    if t.shape != tuple(shape):
        fail(op, f"{name} shape {t.shape} does not match {tuple(shape)}")
    if t.dtype != x.dtype:
        fail(op, f"{name} dtype {t.dtype} does not match input dtype {x.dtype}")
    return t


def _normalized_axes(x: Tensor, normalized_shape, op: str) -> tuple[tuple, list[int]]:
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    n = len(shape)
    if n == 0 or n > x.ndim or x.shape[x.ndim - n:] != shape:
        fail(op, f"normalized_shape {shape} does not match the trailing dims of input shape {x.shape}")
    return shape, list(range(x.ndim - n, x.ndim))


def _deviation_scale(dtype: dt.DType, eps: float) -> float:
    """2^-k, the power of two `_normalized` multiplies the deviations by before squaring.

    Squaring overflows at |x - mean| >= 2^(emax/2) (1.8e19 in f32); scaled by 2^-k it
    overflows only from 2^(emax/2 + k).  Multiplying by a power of two is exact, so the
    result does not change, unless it pushes the squares that still matter into
    subnormals: var + eps rounds to eps once var < eps * 2^-p (p the mantissa bits), so the
    squares need to stay normal down to about eps * 2^-p, that is 2^-2k * eps * 2^-p >= tiny.
    k is the largest such, capped at emax/2 (beyond it nothing can overflow); eps = 0
    gives k = 0, the textbook form.  In f32 with eps 1e-5, k = 42: a row of n deviations
    up to 2^106 / sqrt(n) (~3e30 for GPT-2's 768) normalises."""
    info = np.finfo(dtype.np_dtype)
    if eps <= 0:
        return 1.0
    k = (np.log2(float(eps)) - info.nmant - 1 - np.log2(float(info.tiny))) / 2
    return 2.0 ** -int(max(0, min(np.floor(k), info.maxexp // 2)))


def _normalized(x: Tensor, axes: list[int], eps: float) -> Tensor:
    """(x - mean) / sqrt(var + eps) over `axes`, as (c (x - mean)) / sqrt(mean((c (x - mean))^2)
    + c^2 eps) with c = `_deviation_scale`: the same numbers, and rows whose squared
    deviations would overflow (a spread of 1e20 in f32) still normalise.  A row beyond
    even that (a variance that is inf after scaling) gives NaN, as torch's f32 does, never
    a confident 0.  The mean reads x itself and the scale is a constant: a reduction over
    an elementwise function of x, or one more reduction, made IREE 3.13 drop loop peeling
    or need 246 KB of stack in GPT-2's layer norms (docs/semantics.md has the numbers)."""
    c = _deviation_scale(x.dtype, eps)
    xc = (x - mean(x, axes, keepdims=True, op="layer_norm")) * c
    var = mean(xc * xc, axes, keepdims=True)
    r = where(var == float("inf"), float("nan"), rsqrt(var + eps * c * c))
    return xc * r


def layer_norm(input, normalized_shape, weight=None, bias=None, eps: float = 1e-5) -> Tensor:
    """(x - mean) / sqrt(var + eps) * weight + bias over the trailing `normalized_shape` dims
    (Ba et al. 2016), as torch.nn.functional.layer_norm; var is the biased variance; f16 and
    bf16 inputs are computed in f32 and rounded once, as torch does.

    input: (..., *normalized_shape), a float dtype, kept; weight and bias: normalized_shape,
    the input's dtype, or None.  TypeRuleError if the shapes or dtypes do not match."""
    x = _float_input(input, "layer_norm")
    shape, axes = _normalized_axes(x, normalized_shape, "layer_norm")
    w = _affine_operand(weight, shape, "weight", x, "layer_norm")
    b = _affine_operand(bias, shape, "bias", x, "layer_norm")
    wide = dt.f32 if x.dtype in (dt.f16, dt.bf16) else x.dtype
    y = _normalized(cast(x, wide), axes, eps)
    y = y if w is None else y * cast(w, wide)
    y = y if b is None else y + cast(b, wide)
    return cast(y, x.dtype)


def rms_norm(input, normalized_shape, weight=None, eps: float | None = None) -> Tensor:
    """x / sqrt(mean(x^2) + eps) * weight over the trailing `normalized_shape` dims (Zhang &
    Sennrich 2019), as torch.nn.functional.rms_norm; eps defaults to the dtype's machine epsilon.

    f16 and bf16 inputs are normalised in f32 and rounded before the weight multiplies, as
    torch does (x^2 of an f16 above 256 would overflow).  Shapes, dtypes and errors as
    `layer_norm` (no bias)."""
    x = _float_input(input, "rms_norm")
    shape, axes = _normalized_axes(x, normalized_shape, "rms_norm")
    w = _affine_operand(weight, shape, "weight", x, "rms_norm")
    eps = float(np.finfo(x.dtype.np_dtype).eps) if eps is None else eps
    wide = cast(x, dt.f32 if x.dtype in (dt.f16, dt.bf16) else x.dtype)
    y = cast(wide * rsqrt(mean(wide * wide, axes, keepdims=True) + eps), x.dtype)
    return y if w is None else y * w


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5, layout: str = "nchw") -> Tensor:
    """Inference batch norm (Ioffe & Szegedy 2015) with the running statistics, folded per
    channel into x * scale + shift (scale = weight / sqrt(var + eps), shift = bias - mean * scale).

    input: (N, C, ...) for nchw, (N, ..., C) for nhwc, a float dtype, kept; running_mean,
    running_var, weight, bias: (C,) in that dtype (weight, bias may be None).  TypeRuleError
    for training=True, rank < 2, another layout, or statistics of the wrong shape or dtype."""
    if training:
        fail("batch_norm", "training mode is not supported (inference only: pass training=False)")
    x = _float_input(input, "batch_norm")
    if x.ndim < 2:
        fail("batch_norm", f"input must have rank >= 2, got shape {x.shape}")
    if layout not in ("nchw", "nhwc"):
        fail("batch_norm", f'layout must be "nchw" or "nhwc", not {layout!r}')
    axis = 1 if layout == "nchw" else x.ndim - 1
    c = (x.shape[axis],)
    mu = _affine_operand(running_mean, c, "running_mean", x, "batch_norm")
    var = _affine_operand(running_var, c, "running_var", x, "batch_norm")
    scale = rsqrt(var + eps)
    w = _affine_operand(weight, c, "weight", x, "batch_norm")
    scale = scale if w is None else scale * w
    shift = -(mu * scale)
    b = _affine_operand(bias, c, "bias", x, "batch_norm")
    shift = shift if b is None else shift + b
    per_channel = c + (1,) * (x.ndim - 1 - axis)   # (C, 1, 1) for nchw, (C,) for nhwc
    return x * reshape(scale, per_channel) + reshape(shift, per_channel)

"""Weight-only reduced precision: weights stored in bf16 or int8, computed with in f32.

    model.load_state_dict(weights)
    quantize_weights(model, "int8", {"fc.weight": 0})   # per output channel, axis 0 of (out, in)
    f = ptir.compile(model, ptir.spec((1, 768)), target="llvm-cpu", passes=PIPELINE)

A quantized weight is a `ptir.param` of the narrow dtype; reading it while the module is
traced gives its dequantization, `cast(q, f32)` (bf16) or `cast(q, f32) * scale` (int8,
the scale broadcast along the output channel), so the program reads the narrow weight
and the compilers fuse the widening into the product that uses it (fold-params keeps it
there: it never stores a weight larger than what it comes from; PIPELINE moves each int8
scale after the product, where it costs one multiply per output).  Activations and
accumulation stay f32.  This changes numerics: the results are those of the rounded
weights, and `ptirc eval --weights-dtype` measures how far they move.

int8 is symmetric and per output channel: scale = max |w| / 127 over the other axes, q =
round(w / scale) in [-127, 127] (as in Jacob et al. 2018 and LLM.int8's vector-wise
weights, without zero points); a channel of zeros gets scale 1.  bf16 is round to nearest
even (ml_dtypes), no scale.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..dialect import dtypes as dt
from ..errors import UsageError
from ..functional.core import cast, reshape
from ..passes import DEFAULT_PIPELINE
from .module import Module, Parameter

DTYPES = ("f32", "bf16", "int8")
# What a quantized module's programs compile with: the default passes, then the int8
# scales moved after the products that read the weights (passes/dequant_scale.py).
PIPELINE = (*DEFAULT_PIPELINE, "sink-dequant-scale")


def quantize(w: np.ndarray, dtype: str, axis: int = 0) -> tuple[np.ndarray, np.ndarray | None]:
    """(stored weight, scale) of float array `w` in `dtype`: "bf16" gives (w rounded to
    bfloat16, None); "int8" gives (int8 array of w's shape, f32 scale of shape
    (w.shape[axis],)), w ~ q * scale along `axis`; "f32" gives (w as f32, None).
    UsageError for another dtype or an axis outside w."""
    w = np.asarray(w, np.float32)
    if dtype == "f32":
        return w, None
    if dtype == "bf16":
        return w.astype(dt.bf16.np_dtype), None
    if dtype != "int8":
        raise UsageError(f"weights dtype '{dtype}' is not one of {', '.join(DTYPES)}")
    if not -w.ndim <= axis < w.ndim:
        raise UsageError(f"quantization axis {axis} is outside a weight of shape {w.shape}")
    axis %= w.ndim
    others = tuple(a for a in range(w.ndim) if a != axis)
    peak = np.abs(w).max(axis=others, keepdims=True) if others else np.abs(w)
    scale = np.where(peak > 0, peak / 127, 1).astype(np.float32)
    q = np.clip(np.rint(w / scale), -127, 127).astype(np.int8)
    return q, scale.reshape(w.shape[axis])


class QuantizedParameter(Parameter):
    """A weight stored narrow (`data`: bf16 or int8) with its f32 `scale` Parameter (int8)
    along `axis`; traced, it reads as the f32 dequantized tensor."""

    __slots__ = ("scale", "axis")

    def __init__(self, data, scale: Parameter | None = None, axis: int = 0):
        super().__init__(data)
        self.scale, self.axis = scale, axis

    def traced(self, tracer):
        """cast(q, f32), times the scale broadcast along `axis` when there is one."""
        x = cast(tracer.param(self, self.data), dt.f32)
        if self.scale is None:
            return x
        shape = [1] * self.data.ndim
        shape[self.axis] = self.data.shape[self.axis]
        return x * reshape(self.scale.traced(tracer), tuple(shape))


def quantize_weights(module: Module, dtype: str, axes: Mapping[str, int]) -> Module:
    """Store the weights named in `axes` (state_dict keys -> output-channel axis) in `dtype`
    ("f32" leaves the module alone), in place; int8 scales become buffers named
    `<weight>_scale`, so `state_dict()` then holds what the compiled program reads.
    Returns the module.  UsageError for an unknown dtype, a name that is not a float
    weight of the module, or a weight already quantized."""
    if dtype not in DTYPES:
        raise UsageError(f"weights dtype '{dtype}' is not one of {', '.join(DTYPES)}")
    if dtype == "f32":
        return module
    owners = {f"{prefix}.{name}" if prefix else name: (m, name)
              for prefix, m in module.named_modules() for name in m.__dict__["_parameters"]}
    for key, axis in axes.items():
        if key not in owners:
            raise UsageError(f"cannot quantize '{key}': the module has no such parameter")
        m, name = owners[key]
        w = m.__dict__["_parameters"][name]
        if isinstance(w, QuantizedParameter) or not np.issubdtype(w.data.dtype, np.floating):
            raise UsageError(f"cannot quantize '{key}': it is stored as {w.data.dtype} already")
        q, scale = quantize(w.data, dtype, axis)
        s = None
        if scale is not None:
            s = Parameter(scale)
            m.register_buffer(f"{name}_scale", s)
        m.__dict__["_parameters"][name] = QuantizedParameter(q, s, axis % w.data.ndim)   # same key, narrow
    return module

"""A conformance case: one PTIR computation, the torch computation it must match, and
seeded inputs.  Cases are target-independent; the runner runs each on every target."""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ptir.dialect import dtypes as dt


@dataclass
class Case:
    name: str                                   # the test id rules match: "softmax_large_logits_f32"
    covers: str                                 # the core op ("ptir.reduce") or functional ("F.softmax")
    ptir: Callable                              # traced on the inputs (or a ptir.nn.Module)
    torch: Callable | None                      # the reference, on torch tensors; None for error cases
    inputs: list[Callable[[np.random.Generator], np.ndarray]] = field(default_factory=list)
    dtype: str = "f32"                          # for the per-dtype tolerance defaults
    error: str | None = None                    # an error case: the capture must fail with this text
    params: Callable[[], dict] | None = None    # weights for ptir.param arguments (models)
    program: Callable[[], tuple] | None = None  # (Program, weights) made another way than tracing `ptir`
    group: str = "ops"                          # "ops", "functional" or "models"

    def make_inputs(self) -> list[np.ndarray]:
        rng = np.random.default_rng(zlib.crc32(self.name.encode()))
        return [make(rng) for make in self.inputs]


def _np_dtype(dtype: str) -> np.dtype:
    return dt.from_name(dtype).np_dtype


def normal(shape, dtype="f32", scale=1.0, shift=0.0):
    return lambda rng: (rng.standard_normal(shape) * scale + shift).astype(_np_dtype(dtype))


def uniform(shape, low, high, dtype="f32"):
    return lambda rng: rng.uniform(low, high, shape).astype(_np_dtype(dtype))


def integers(shape, low, high, dtype="i32"):
    return lambda rng: rng.integers(low, high, shape).astype(_np_dtype(dtype))


def nonzero_integers(shape, low, high, dtype="i32"):
    def make(rng):
        x = rng.integers(low, high, shape)
        return np.where(x == 0, 1, x).astype(_np_dtype(dtype))
    return make


def booleans(shape):
    return lambda rng: rng.random(shape) < 0.5


def fixed(array):
    """Inputs that must be exactly these values (ties, NaN, inf): edge cases by design."""
    return lambda rng: np.array(array)


def permutation_rows(shape, dtype="i64"):
    """Each row along the last axis a permutation of 0..n-1 (unique scatter indices)."""
    def make(rng):
        rows = int(np.prod(shape[:-1]))
        return np.stack([rng.permutation(shape[-1]) for _ in range(rows)]).reshape(shape).astype(
            _np_dtype(dtype))
    return make


def to_torch(x: np.ndarray):
    """A numpy array as a torch tensor of the same dtype (bf16 included)."""
    import torch

    if x.dtype == dt.bf16.np_dtype:   # torch cannot read ml_dtypes' bfloat16: go through f32 (exact)
        return torch.from_numpy(x.astype(np.float32)).to(torch.bfloat16)
    return torch.from_numpy(np.ascontiguousarray(x))

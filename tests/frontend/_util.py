"""Shared helpers of the frontend tests (`from ._util import ...`)."""

import numpy as np
import torch

import ptir


def ops(program: ptir.Program, entry: str = "main") -> list[str]:
    """The op names of a captured function, in order."""
    return [op.name for op in program.entry(entry).ops]


def t(x) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(x))


def close(got, want, rtol=1e-5, atol=1e-5):
    want = want.detach().numpy() if isinstance(want, torch.Tensor) else np.asarray(want)
    assert got.shape == want.shape, (got.shape, want.shape)
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)


def randn(rng, *shape, dtype=np.float32):
    return rng.standard_normal(shape).astype(dtype)

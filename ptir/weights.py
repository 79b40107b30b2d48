"""Weights for `ptir.param` arguments, read from safetensors files."""

from __future__ import annotations

import os

import numpy as np

from .errors import RunError


def load_params(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """All tensors of a safetensors file, by name (numpy arrays of the stored dtypes and
    shapes); RunError for a missing, folder, unreadable or malformed file."""
    from safetensors import SafetensorError
    from safetensors.numpy import load_file

    if os.path.isdir(path):
        raise RunError(f"weights file {path} is a folder (give a .safetensors file)")
    if not os.path.isfile(path):
        raise RunError(f"weights file {path} does not exist")
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as e:
        raise RunError(f"cannot read weights file {path}: {e}") from None


def save_params(params: dict[str, np.ndarray], path: str | os.PathLike) -> None:
    from safetensors.numpy import save_file

    save_file({k: np.asarray(v, order="C") for k, v in params.items()}, str(path))

"""File input and output: readable errors (a PtirError naming the file) and atomic writes.

Shared by the CLI, the conformance rules and the model loaders; it knows nothing of
programs (`ptir.cli.io.load_program` parses them)."""

from __future__ import annotations

import os
import sys
import tempfile
from contextlib import contextmanager

import numpy as np

from .errors import PtirError, RunError


def read_text(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise PtirError(f"cannot read {path}: {getattr(e, 'strerror', None) or e}") from None


def read_json(path: str, error: type[PtirError] = PtirError, what: str = ""):
    """A JSON file's value; `error` (with the file's line and column for bad JSON) otherwise."""
    import json

    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except OSError as e:
        raise error(f"cannot read {what + ' ' if what else ''}{path}: {e.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        where = f"{path}:{e.lineno}:{e.colno}" if isinstance(e, json.JSONDecodeError) else path
        raise error(f"{where}: invalid JSON: {getattr(e, 'msg', e)}") from None


@contextmanager
def atomic_output(path: str, mode: str = "wb"):
    """Write to a temporary file beside `path` and move it into place only on success,
    so a failed command never leaves a half-written artifact."""
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise PtirError(f"cannot write {path}: directory {directory} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=".ptir-", dir=directory)
    try:
        with os.fdopen(fd, mode) as f:
            yield f
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)   # mkstemp makes 0600; give the file the usual mode
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load_npz(path: str) -> dict[str, np.ndarray]:
    try:
        z = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise RunError(f"cannot read inputs {path}: {e}") from None
    if not isinstance(z, np.lib.npyio.NpzFile):
        raise RunError(f"{path} holds one array; --inputs takes an .npz archive keyed by argument name "
                       "(numpy.savez(path, x=...))")
    with z:
        return {k: z[k] for k in z.files}


def save_npz(path: str, arrays: dict[str, np.ndarray]) -> None:
    with atomic_output(path) as f:
        np.savez(f, **arrays)

"""File input and output: readable errors (a PtirError naming the file) and atomic writes.

Shared by the CLI, the conformance rules and the model loaders; it knows nothing of
programs (`ptir.cli.io.load_program` parses them)."""

from __future__ import annotations

import os
import stat
import sys
import tempfile
from contextlib import contextmanager

import numpy as np

from .errors import PtirError, RunError, UsageError


def read_text(path: str) -> str:
    """A UTF-8 text file's contents (`-`: standard input), a leading byte-order mark
    dropped; PtirError naming the file when it cannot be read or is not UTF-8."""
    if path == "-":
        return sys.stdin.read().removeprefix("\ufeff")
    try:
        with open(path, encoding="utf-8-sig") as f:
            return f.read()
    except IsADirectoryError:
        raise PtirError(f"cannot read {path}: it is a folder") from None
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


def check_output(path: str) -> tuple[str, bool]:
    """Where a command may write its output `path`, checked before any work is done:
    (the file to write, whether to write it atomically).  A symlink is followed (its
    target is written); a device or FIFO that exists is written directly, never replaced
    by a file.  Raises UsageError for an empty path, PtirError for a folder, a missing
    or unwritable parent folder."""
    if not path:
        raise UsageError("the output path is empty")
    real = os.path.realpath(path)
    if os.path.isdir(real):
        raise PtirError(f"cannot write {path}: it is a folder (give a file name)")
    if os.path.exists(real) and not stat.S_ISREG(os.stat(real).st_mode):
        return real, False
    directory = os.path.dirname(real)
    if not os.path.isdir(directory):
        raise PtirError(f"cannot write {path}: folder {directory} does not exist")
    if not os.access(directory, os.W_OK):
        raise PtirError(f"cannot write {path}: folder {directory} is not writable")
    return real, True


@contextmanager
def atomic_output(path: str, mode: str = "wb"):
    """Write to a temporary file beside `path` and move it into place only on success,
    so a failed command never leaves a half-written artifact (for a regular file; see
    check_output for links, devices and FIFOs).  OS errors become PtirErrors naming `path`."""
    real, atomic = check_output(path)
    try:
        if not atomic:
            with open(real, mode) as f:
                yield f
            return
        fd, tmp = tempfile.mkstemp(prefix=".ptir-", dir=os.path.dirname(real))
    except OSError as e:
        raise PtirError(f"cannot write {path}: {e.strerror or e}") from None
    try:
        with os.fdopen(fd, mode) as f:
            yield f
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)   # mkstemp makes 0600; give the file the usual mode
        os.replace(tmp, real)
    except OSError as e:
        raise PtirError(f"cannot write {path}: {e.strerror or e}") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def load_npz(path: str) -> dict[str, np.ndarray]:
    """The arrays of an `.npz` archive by name (numpy.savez).  Every member's header is
    checked against the bytes it holds before anything is allocated, so a small file that
    claims a huge array is refused; pickled (object) arrays are refused.  Raises RunError
    naming the file and the member for anything that is not such an archive."""
    import zipfile

    try:
        archive = zipfile.ZipFile(path)
    except FileNotFoundError:
        raise RunError(f"cannot read inputs {path}: no such file") from None
    except IsADirectoryError:
        raise RunError(f"cannot read inputs {path}: it is a folder") from None
    except (OSError, zipfile.BadZipFile, EOFError, ValueError) as e:
        if _is_npy(path):
            raise RunError(f"{path} holds one array; --inputs takes an .npz archive keyed by argument name "
                           "(numpy.savez(path, x=...))") from None
        raise RunError(f"cannot read inputs {path}: not an .npz archive ({e})") from None
    with archive:
        return {info.filename.removesuffix(".npy"): _npz_member(path, archive, info)
                for info in archive.infolist()}


def _is_npy(path: str) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(6) == b"\x93NUMPY"
    except OSError:
        return False


def _npz_member(path: str, archive, info) -> np.ndarray:
    """One member of an .npz, its header checked against its size first."""
    import zipfile

    fmt = np.lib.format
    where = f"{path}: array {info.filename!r}"
    try:
        with archive.open(info) as f:
            version = fmt.read_magic(f)
            read_header = {(1, 0): fmt.read_array_header_1_0, (2, 0): fmt.read_array_header_2_0}.get(version)
            if read_header is None:
                raise RunError(f"{where}: .npy format version {version} is not read (1.0 and 2.0 are)")
            shape, _, dtype = read_header(f)
            if dtype.hasobject:
                raise RunError(f"{where} holds Python objects (pickled); only numeric arrays are read")
            claimed = int(np.prod(shape, dtype=object)) * dtype.itemsize
            if claimed > info.file_size:
                raise RunError(f"{where}: its header claims {claimed} bytes ({dtype}, shape {shape}) "
                               f"but the archive holds {info.file_size}")
        with archive.open(info) as f:
            return fmt.read_array(f, allow_pickle=False)
    except RunError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, RuntimeError) as e:
        raise RunError(f"{where} is damaged: {e}") from None


def save_npz(path: str, arrays: dict[str, np.ndarray]) -> None:
    with atomic_output(path) as f:
        np.savez(f, **arrays)

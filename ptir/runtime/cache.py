"""The on-disk compile cache.

An entry is keyed by a hash of everything that changes the artifact: the StableHLO
text, the target, the compiler flags and the versions of the compiler and of ptir.
Entries are written atomically (temporary file, then rename) and stored with their
own SHA-256, so a corrupt or truncated entry is detected, deleted and recompiled,
never used.  `PTIR_CACHE_DIR` moves the cache; `PTIR_CACHE=0` turns it off.
"""

from __future__ import annotations

import hashlib
import os
import tempfile

_MAGIC = b"PTIRCACHE1\n"


def cache_dir() -> str:
    return os.environ.get("PTIR_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "ptir")


def enabled() -> bool:
    return os.environ.get("PTIR_CACHE", "1") != "0"


def key(*parts: str | bytes) -> str:
    h = hashlib.sha256()
    for p in parts:
        b = p.encode() if isinstance(p, str) else p
        h.update(len(b).to_bytes(8, "little"))
        h.update(b)
    return h.hexdigest()


def _path(k: str, suffix: str) -> str:
    return os.path.join(cache_dir(), k[:2], k + suffix)


def load(k: str, suffix: str = ".vmfb") -> bytes | None:
    """The cached payload for key `k`, or None (missing, or corrupt and now removed)."""
    path = _path(k, suffix)
    try:
        with open(path, "rb") as f:
            blob = f.read()
    except OSError:
        return None
    head = len(_MAGIC) + 64
    payload = blob[head + 1:]
    if (blob[:len(_MAGIC)] != _MAGIC or blob[head:head + 1] != b"\n"
            or blob[len(_MAGIC):head].decode("ascii", "replace") != hashlib.sha256(payload).hexdigest()):
        try:
            os.unlink(path)
        except OSError:
            pass
        return None
    return payload


def store(k: str, payload: bytes, suffix: str = ".vmfb") -> None:
    """Write an entry atomically; a cache that cannot be written is skipped silently."""
    path = _path(k, suffix)
    tmp = None
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
        with os.fdopen(fd, "wb") as f:
            f.write(_MAGIC + hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload)
        os.replace(tmp, path)
    except OSError:
        if tmp and os.path.exists(tmp):
            os.unlink(tmp)

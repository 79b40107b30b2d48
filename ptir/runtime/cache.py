"""The on-disk compile cache.

An entry is keyed by a hash of everything that changes the artifact: the StableHLO
text, the target, the compiler flags and the compiler's version.  Entries are written
atomically (temporary file, then rename) and carry their full key and a SHA-256 of key
and payload, so a corrupt or truncated entry, another key's entry copied over it, or a
symlink in its place is a miss: deleted and recompiled, never run.
`PTIR_CACHE_DIR` moves the cache; `PTIR_CACHE=0` turns it off.
"""

from __future__ import annotations

import hashlib
import os
import tempfile

_MAGIC = b"PTIRCACHE2\n"   # then the key, the SHA-256 of key and payload (hex), a newline, the payload


def cache_dir() -> str:
    return os.environ.get("PTIR_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "ptir")


def enabled() -> bool:
    return os.environ.get("PTIR_CACHE", "1") != "0"


def key(*parts: str | bytes) -> str:
    """The SHA-256 (hex) of `parts`, each length-prefixed so that no two lists collide."""
    h = hashlib.sha256()
    for p in parts:
        b = p.encode() if isinstance(p, str) else p
        h.update(len(b).to_bytes(8, "little"))
        h.update(b)
    return h.hexdigest()


def _path(k: str, suffix: str) -> str:
    return os.path.join(cache_dir(), k[:2], k + suffix)


def _digest(k: str, payload: bytes) -> str:
    return hashlib.sha256(k.encode() + b"\0" + payload).hexdigest()


def load(k: str, suffix: str = ".vmfb") -> bytes | None:
    """The cached payload for key `k`, or None: missing, or not exactly an entry written
    for `k` (corrupt, truncated, another key's entry copied over it, a symlink), which is
    then removed so the next store replaces it."""
    path = _path(k, suffix)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))   # an entry is never a link
        with os.fdopen(fd, "rb") as f:
            blob = f.read()
    except FileNotFoundError:
        return None
    except OSError:   # a symlink (ELOOP), a folder, unreadable: not an entry
        _remove(path)
        return None
    head = len(_MAGIC) + 64 + 64
    payload = blob[head + 1:]
    if (blob[:len(_MAGIC)] != _MAGIC or blob[head:head + 1] != b"\n"
            or blob[len(_MAGIC):len(_MAGIC) + 64] != k.encode()
            or blob[len(_MAGIC) + 64:head] != _digest(k, payload).encode()):
        _remove(path)
        return None
    return payload


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def store(k: str, payload: bytes, suffix: str = ".vmfb") -> None:
    """Write an entry atomically; a cache that cannot be written is skipped silently."""
    path = _path(k, suffix)
    tmp = None
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
        with os.fdopen(fd, "wb") as f:
            f.write(_MAGIC + k.encode() + _digest(k, payload).encode() + b"\n" + payload)
        os.replace(tmp, path)
    except OSError:
        if tmp and os.path.exists(tmp):
            os.unlink(tmp)

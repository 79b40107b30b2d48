"""Reading programs for the CLI (file input and output in general is ptir.io)."""

from __future__ import annotations

from ..dialect import parse, verify
from ..io import atomic_output, load_npz, read_json, read_text, save_npz

__all__ = ["atomic_output", "load_npz", "load_program", "read_json", "read_text", "save_npz"]


def load_program(path: str):
    """The verified program in file `path` (`-`: standard input); ParseError/VerifyError
    with file:line:col otherwise."""
    return verify(parse(read_text(path), "<stdin>" if path == "-" else path))

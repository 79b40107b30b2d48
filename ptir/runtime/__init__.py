"""Backends behind one protocol: `ref`, `llvm-cpu` (IREE), `xla-cpu` (XLA)."""

from .backend import TARGETS, Backend, CompileOptions, Executable, get_backend

__all__ = ["TARGETS", "Backend", "CompileOptions", "Executable", "get_backend"]

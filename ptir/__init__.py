"""PTIR: a portable tensor IR, lowered through StableHLO to IREE and XLA.

    prog = ptir.parse(text)          # parse and verify
    f = ptir.compile(prog, target="llvm-cpu")
    y = f(x)                         # numpy in, numpy out
"""

from __future__ import annotations

from .dialect import Builder, Program, TensorType, tensor
from .dialect import parse as _parse
from .dialect import verify as _verify
from .errors import PtirError
from .functional import Tensor, spec, trace
from .importers import from_onnx, from_torch
from .pipeline import Compiled, compile, observing

__all__ = ["parse", "verify", "compile", "Program", "Builder", "TensorType", "tensor", "PtirError"]
__all__ += ["trace", "spec", "Tensor", "Compiled", "observing", "from_torch", "from_onnx"]


def parse(text: str, file: str = "<input>", verify: bool = True) -> Program:
    """Parse PTIR text; verified unless `verify=False`. Raises ParseError/VerifyError."""
    program = _parse(text, file)
    return _verify(program) if verify else program


def verify(program: Program) -> Program:
    """Check SSA and every op's type rule; raises VerifyError with all diagnostics."""
    return _verify(program)

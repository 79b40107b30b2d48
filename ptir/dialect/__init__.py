"""The PTIR dialect: dtypes, types, the op registry, programs, text, verifier, interpreter."""

from . import ops  # noqa: F401  (registers the core ops)
from .dtypes import DType
from .parser import parse
from .program import Argument, Builder, Function, Op, Program, Value
from .registry import OPS, Attr, OpDef
from .types import TensorType, tensor
from .verifier import verify

__all__ = ["DType", "TensorType", "tensor", "OPS", "OpDef", "Attr", "Program", "Function", "Argument", "Op",
           "Value", "Builder", "parse", "verify"]

"""Lowering of PTIR programs to StableHLO MLIR text, one rule per op.

    lowered = lower(program)               # .text, .entry ("main"), .input_args, .params
    blob = to_vhlo(lowered.text)           # portable artifact for XLA and IREE

Rules live in `LOWERINGS` (table.py), filled by the modules that mirror
ptir/dialect/ops/: elementwise, shape, reduction, linalg, indexing.
"""

from . import elementwise, indexing, linalg, reduction, shape  # noqa: F401  (register the rules)
from .emitter import Emitter, V
from .mlir import VHLO_TARGET, to_vhlo, verify_mlir
from .module import PARAM_SCOPE, PARAMS_MODES, LoweredModule, lower
from .table import LOWERINGS, lowering

__all__ = ["lower", "LoweredModule", "to_vhlo", "verify_mlir", "VHLO_TARGET", "PARAMS_MODES", "PARAM_SCOPE",
           "LOWERINGS", "lowering", "Emitter", "V"]

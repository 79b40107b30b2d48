"""Lowering of PTIR programs to StableHLO MLIR text, one rule per op.

    lowered = lower(program)               # .text, .entry ("main"), .input_args, .params
    blob = to_vhlo(lowered.text)           # portable artifact for XLA and IREE

Rules live in `LOWERINGS` (table.py), filled by the modules that mirror
ptir/dialect/ops/: elementwise, shape, reduction, linalg, indexing.  Each emits what the
reference semantics say even where StableHLO leaves a case undefined or a backend strays
from the spec (integer division by 0, float-to-int overflow, out-of-range gather and
scatter indices on IREE, IREE's own top-k rewrite).  Left to the backend: the order in
which duplicate scatter indices are applied (so `replace` with duplicates is
unspecified), and IREE demoting f64 to f32 unless told otherwise.
"""

from . import elementwise, indexing, linalg, reduction, shape, sharding  # noqa: F401  (register the rules)
from .emitter import Emitter, V
from .mlir import VHLO_TARGET, to_vhlo, verify_mlir
from .module import PARAM_SCOPE, PARAMS_MODES, LoweredModule, lower
from .table import LOWERINGS, lowering

__all__ = ["lower", "LoweredModule", "to_vhlo", "verify_mlir", "VHLO_TARGET", "PARAMS_MODES", "PARAM_SCOPE",
           "LOWERINGS", "lowering", "Emitter", "V"]

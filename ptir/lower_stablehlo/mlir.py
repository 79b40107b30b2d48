"""MLIR's own checks on the emitted text, and the portable (VHLO) artifact."""

from __future__ import annotations

import re

from ..errors import LoweringError

# The StableHLO version portable artifacts are written for: 1.0.0 is the first stable
# release, so every consumer since then (XLA, IREE) reads the bytes.
VHLO_TARGET = "1.0.0"

_LINE = re.compile(r'"-":(\d+):(\d+)')


def verify_mlir(text: str, line_owner: dict | None = None, shardy: bool = False) -> None:
    """Parse and verify `text` with MLIR (IREE's bindings register stablehlo, chlo, util
    and flow; with `shardy`, jaxlib's, which also register Shardy's `sdy`).  Raises
    LoweringError with the diagnostic; `line_owner` maps text lines to the PTIR ops they
    were lowered from, so the error can name that op."""
    if shardy:
        from jax._src.interpreters.mlir import make_ir_context
        from jax._src.lib.mlir import ir

        context = make_ir_context()
    else:
        from iree.compiler import ir

        context = ir.Context()
    with context:
        try:
            module = ir.Module.parse(text)   # parsing runs the verifier as well
            module.operation.verify()
        except ir.MLIRError as e:
            diags = e.error_diagnostics or []
            message = "; ".join(d.message for d in diags) or e.message
            where = _LINE.search(str(diags[0].location)) if diags else None
            op = (line_owner or {}).get(int(where.group(1))) if where else None
            if op is None:
                raise LoweringError(f"emitted StableHLO does not verify: {message}") from None
            raise LoweringError(f"lowering emitted invalid StableHLO: {message}", op.loc,
                                op.opdef.full_name) from None


def to_vhlo(text: str, target_version: str = VHLO_TARGET) -> bytes:
    """The StableHLO module `text` as a portable artifact (VHLO bytecode) for
    `target_version`; XLA and IREE (input_type="stablehlo") both accept it.  CHLO ops are
    expanded into StableHLO on the way.  IREE's util/flow ops ("globals" mode) have no
    portable form: lower with params_mode "arguments" or "constants"."""
    from jax.extend.mlir import serialize_portable_artifact

    try:
        return serialize_portable_artifact(text, target_version)
    except Exception as e:   # jaxlib raises plain ValueError/RuntimeError with MLIR's message
        raise LoweringError(f"cannot serialize to VHLO {target_version}: {e}") from None

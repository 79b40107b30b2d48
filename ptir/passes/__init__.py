"""The optimizer: named passes, each a pure function Program -> Program, and pipelines.

    from ptir.passes import run_pipeline, fold_params, optimize
    program = run_pipeline(program)                        # the default pipeline
    program = run_pipeline(program, "canonicalize,dce", on_stage=lambda name, p: ...)
    program, transform = fold_params(program)              # weight-only work, hoisted
    params = transform(params)                             # ... done once, here
    program, params = optimize(program, params)            # both: what ptir.compile calls

In ptir.compile, after verifying and before the backend (stage `pass.<name>` per pass):

    on_stage = (lambda name, p: dump.write(f"pass.{name}", str(p), ".ptir")) if dump else None
    program, folded = optimize(program, params, entry=entry, on_stage=on_stage)
    params = folded if folded is not None else params

fold-params runs only when the weights are given at compile time: it renames them, so
an artifact that takes its weights later (a .vmfb run with the original safetensors)
must be compiled without (params=None).

Every pass keeps results bit for bit (NaN payloads aside) unless it declares
`reassociates` (fold-conv-scale, conv-algorithm), and is built on one driver
(`rewrite.py`) that rebuilds a function op by op through the ops' type rules.
conv-algorithm, in the default pipeline, needs to know where the program runs: ptir.compile
gives it a PassContext (target, the host CPU's feature class, a forced algorithm); without
one (ptirc opt, run_pipeline alone, the `ref` target) it changes nothing, so the default
pipeline stays bit for bit there.
"""

from . import canonicalize, channels_last, conv_algorithm, cse, dequant_scale, fold_constants, fold_conv_scale, simplify  # noqa: F401
from .fold_params import ParamTransform, fold_params
from .manager import DEFAULT_PIPELINE, PASSES, Pass, PassContext, optimize, register_pass, resolve, run_pipeline

__all__ = ["PASSES", "DEFAULT_PIPELINE", "Pass", "PassContext", "register_pass", "resolve", "run_pipeline",
           "optimize", "fold_params", "ParamTransform"]

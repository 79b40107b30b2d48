"""The optimizer: named passes, each a pure function Program -> Program, and pipelines.

    from ptir.passes import run_pipeline, fold_params, optimize
    program = run_pipeline(program)                        # the default pipeline
    program = run_pipeline(program, "canonicalize,dce", on_stage=lambda name, p: ...)
    program, transform = fold_params(program)              # weight-only work, hoisted
    params = transform(params)                             # ... done once, here
    program, params = optimize(program, params)            # both: what ptir.compile calls

Every pass keeps results bit for bit (NaN payloads aside) and is built on one driver
(`rewrite.py`) that rebuilds a function op by op through the ops' type rules.
"""

from . import canonicalize, cse, fold_constants, simplify  # noqa: F401  (register the passes)
from .fold_params import ParamTransform, fold_params
from .manager import DEFAULT_PIPELINE, PASSES, Pass, optimize, register_pass, resolve, run_pipeline

__all__ = ["PASSES", "DEFAULT_PIPELINE", "Pass", "register_pass", "resolve", "run_pipeline", "optimize",
           "fold_params", "ParamTransform"]

"""`ptirc eval --weights-dtype bf16|int8`: how far weights stored in fewer bits move a
language model from its f32 self.

The measure is teacher-forced: one forward pass over a fixed text (seeded token ids,
256 of them or the model's context if smaller), so every position predicts its next
token from the same true context, and each position's argmax is compared with the
argmax of the torch f32 reference.  The share that agree, and the largest and mean
absolute logit error, are judged by the rule for `model.NAME.weights-DTYPE` in the
tolerance file (its `agreement` and `atol`/`rtol`).
"""

from __future__ import annotations

import numpy as np

from ptir.errors import UsageError
from ptir.nn.quantize import DTYPES, PIPELINE, quantize_weights

from .loading import Model, compile_forward
from .options import EvalOptions, Report
from .reference import first_array, torch_forward

TEXT_TOKENS = 256


def check_narrow(family, opts: EvalOptions) -> None:
    """UsageError unless --weights-dtype names a known dtype and, when not f32, the family has
    a narrow-weights mode and the workload uses it (validate, bench, run)."""
    if opts.weights_dtype not in DTYPES:
        raise UsageError(f"unknown --weights-dtype '{opts.weights_dtype}' (known: {', '.join(DTYPES)})")
    if opts.weights_dtype == "f32":
        return
    if not hasattr(family, "quantization_axes"):
        raise UsageError(f"{family.name} has no narrow-weights mode: --weights-dtype {opts.weights_dtype} is for "
                         "language models (gpt2)")
    if opts.workload == "trace":
        raise UsageError("--workload trace compares with torch layer by layer in f32: it takes no --weights-dtype")


def narrow_model(m: Model, dtype: str):
    """A fresh copy of the model's ptir module with its family's weights stored in `dtype`."""
    return quantize_weights(m.family.bind(m.config, m.weights), dtype, m.family.quantization_axes(m.config))


def fixed_text(m: Model, seed: int) -> np.ndarray:
    """Token ids (1, T), T = min(256, context), seeded: the text every mode is judged on."""
    n = min(TEXT_TOKENS, m.config["n_positions"])
    return np.random.default_rng(seed).integers(0, m.config["vocab_size"], (1, n), dtype=np.int64)


def validate_narrow(m: Model, opts: EvalOptions) -> Report:
    """The narrow-weight model's logits on the fixed text against torch f32: next-token
    agreement (share of positions), max and mean absolute logit error, under the rule for
    `model.NAME.weights-DTYPE` on the target.  The Report's error says what is out of it."""
    from ptir.conformance.tolerance import compare, load_rules

    tol = load_rules(opts.tolerances).lookup(f"model.{m.name}.weights-{opts.weights_dtype}", opts.target, "f32")
    module = narrow_model(m, opts.weights_dtype)
    ids = fixed_text(m, opts.seed)
    got = first_array(compile_forward(m, module.forward, [ids], opts, module=module, passes=PIPELINE)(ids))
    want, _ = torch_forward(m, [ids])
    agreement = float(np.mean(got.argmax(-1) == want.argmax(-1)))
    c = compare(got, want, tol.atol, tol.rtol)
    problems = [] if c.ok else [f"logits out of tolerance: {c.message}"]
    if agreement < tol.agreement:
        problems.append(f"next-token argmax agrees with f32 at {agreement:.1%} of positions, below {tol.agreement:.1%}")
    row = {"model": m.name, "target": opts.target, "weights_dtype": opts.weights_dtype, "positions": ids.shape[1],
           "agreement": agreement, "min_agreement": tol.agreement, "max_abs_err": c.max_abs_err,
           "mean_abs_err": float(np.abs(got.astype(np.float64) - want).mean()), "atol": tol.atol, "rtol": tol.rtol,
           "rule": tol.rule, "ref_absmax": float(np.abs(want).max()), "ok": not problems}
    error = f"{m.name} with {opts.weights_dtype} weights on {opts.target}: " + "; ".join(problems) if problems else ""
    return Report(f"validate {m.name} with {opts.weights_dtype} weights on {opts.target} against torch f32",
                  dict(row, message="; ".join(problems)), [row], error)

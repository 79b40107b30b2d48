"""What a model is judged against: the torch reference's outputs (with forward hooks on
named submodules) and the tolerance rules of configs/conformance.json for its target."""

from __future__ import annotations

import numpy as np

from ptir.errors import RunError

from .loading import Model
from .options import EvalOptions


def first_array(out) -> np.ndarray:
    """The main output as numpy: a transformers output's logits, a tuple's first element, a tensor."""
    out = getattr(out, "logits", out)
    if isinstance(out, tuple | list):
        out = out[0]
    return out.detach().cpu().numpy() if hasattr(out, "detach") else np.asarray(out)


def torch_forward(m: Model, inputs, hooks: list[str] = ()) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The torch reference's output, and the outputs of its submodules named in `hooks`.

    `inputs` are numpy arrays in the model's input order.  RunError if the torch model has
    no submodule of a name in `hooks`."""
    import torch

    model = m.torch()
    modules = dict(model.named_modules())
    missing = [n for n in hooks if n not in modules]
    if missing:
        raise RunError(f"the torch {m.name} has no submodule(s) {', '.join(missing)}")
    taps: dict[str, np.ndarray] = {}

    def hook(name):
        def record(module, args, out):   # returns None: a hook's return value would replace the output
            taps.setdefault(name, first_array(out))
        return record

    handles = [modules[n].register_forward_hook(hook(n)) for n in hooks]
    try:
        with torch.no_grad():
            out = model(*(torch.from_numpy(x) for x in inputs))
    finally:
        for h in handles:
            h.remove()
    return first_array(out), taps


def tolerance_rules(m: Model, opts: EvalOptions):
    """(want, layer) -> the Tolerance on this target for want's dtype: test `model.NAME` for
    the model's output, `model.NAME.layers` for inner activations (larger values, so larger
    rounding errors).  The rules file is read now, so a bad one fails before anything compiles
(ConfigError)."""
    from ptir.conformance.tolerance import load_rules

    rules = load_rules(opts.tolerances)
    return lambda want, layer=False: rules.lookup(f"model.{m.name}" + ".layers" * layer, opts.target,
                                                  want.dtype.name.replace("float", "f"))

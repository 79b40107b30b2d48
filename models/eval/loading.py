"""A model ready for a workload: its family, config and weights bound to its ptir module
(Model), loaded once and kept for the next run of a suite (load_model), and compiled for
the target with its weights (compile_forward)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import ptir

from ..base import get_model
from .options import EvalOptions
from .watch import progress


@dataclass
class Model:
    """A model family with its config and weights (name -> array), bound to its ptir
    module; the torch reference is built on first use."""

    family: object
    config: dict
    weights: dict[str, np.ndarray]
    module: object
    _torch: object = None

    @property
    def name(self) -> str:
        """The family's registered name (resnet34, mobilenet_v2, gpt2, ...)."""
        return self.family.name

    def torch(self):
        """The torch reference, built once."""
        if self._torch is None:
            with progress(f"building the torch reference of {self.name}"):
                self._torch = self.family.torch_module(self.config, self.weights)
        return self._torch


_LOADED: dict[tuple, Model] = {}   # the last model loaded, for the next run of a suite


def load_model(opts: EvalOptions) -> Model:
    """The family, its config and weights (a checkpoint, or seeded random ones), bound to its ptir module.

    Only the last model loaded is kept: the next call with the same model, weights, size
    and seed returns it.  UsageError for an unknown model; the family's errors (RunError)
    for an unreadable or mismatched checkpoint."""
    key = (opts.model, opts.weights, opts.size, opts.seed)
    if key not in _LOADED:
        _LOADED.clear()
        _LOADED[key] = _load_model(opts)
    return _LOADED[key]


def _load_model(opts: EvalOptions) -> Model:
    family = get_model(opts.model)
    if opts.weights:
        weights, config = family.load_checkpoint(opts.weights)
    else:
        config = family.config(opts.size)
        with progress(f"generating seeded {opts.size} {opts.model} weights"):
            weights = family.random_weights(config, opts.seed)
    return Model(family, config, weights, family.bind(config, weights))


def compile_forward(m: Model, fn, inputs, opts: EvalOptions, module=None, **options):
    """`fn` (a method of the model's ptir module, or of `module`, a copy of it with other
    weights) compiled for the target with that module's weights."""
    if opts.target == "llvm-cpu":
        options["flags"] = [*m.family.iree_flags, *opts.iree_flags]
    options.setdefault("conv_algorithm", opts.conv_algorithm)
    return ptir.compile(fn, *inputs, target=opts.target, params=(module or m.module).state_dict(), **options)

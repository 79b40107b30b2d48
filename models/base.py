"""The interface every model family implements, and the registry of families.

A family module (resnet.py, mobilenet.py, gpt2.py) defines a subclass of ModelFamily
and registers one instance with `register`.  Weights are always a dict of numpy arrays
keyed by the torch `state_dict` names, so a torchvision / transformers checkpoint loads
without renaming tables.
"""

from __future__ import annotations

import importlib

import numpy as np

from ptir.errors import UsageError

# name -> "module:attribute"; imported on first use so `ptirc` starts fast.
_FAMILIES = {
    "resnet34": "models.resnet:RESNET34",
    "mobilenet_v2": "models.mobilenet:MOBILENET_V2",
    "gpt2": "models.gpt2:GPT2",
}
MODELS = tuple(_FAMILIES)


class ModelFamily:
    name: str = "?"
    kind: str = "vision"            # "vision" (image -> logits) or "lm" (tokens -> logits)

    def config(self, size: str = "full", **overrides) -> dict:
        """A JSON-able config: size "full" (the real architecture) or "tiny" (for CI)."""
        raise NotImplementedError

    def random_weights(self, config: dict, seed: int = 0) -> dict[str, np.ndarray]:
        """Seeded weights that give non-degenerate outputs (real activations, not ~1e-9)."""
        raise NotImplementedError

    def load_checkpoint(self, path: str) -> tuple[dict[str, np.ndarray], dict]:
        """(weights, config) from a torchvision / transformers checkpoint file or directory."""
        raise NotImplementedError

    def ptir_module(self, config: dict):
        """The ptir.nn.Module for `config` (weights bound separately by name)."""
        raise NotImplementedError

    def torch_module(self, config: dict, weights: dict[str, np.ndarray]):
        """The reference torch module (torchvision / transformers) with these weights, in eval mode."""
        raise NotImplementedError

    def example_inputs(self, config: dict, seed: int = 0, batch: int = 1) -> list[np.ndarray]:
        """Seeded inputs for one forward call."""
        raise NotImplementedError

    # Optional hook for kind "lm" (a family without it does not generate):
    #
    #   generate(config, weights, prompt_ids, max_tokens, target, **options) -> list[int]
    #       The new token ids after `prompt_ids`, greedy unless options say otherwise
    #       (temperature, top_k, seed, eos_id; kv_cache=False recomputes the full context
    #       per token).  Compiled programs are reused across tokens and calls.


def get_model(name: str) -> ModelFamily:
    if name not in _FAMILIES:
        raise UsageError(f"unknown model '{name}' (known: {', '.join(MODELS)})")
    module, attr = _FAMILIES[name].split(":")
    return getattr(importlib.import_module(module), attr)

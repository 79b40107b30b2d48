"""The interface every model family implements, and the registry of families.

A family module (resnet.py, mobilenet.py, gpt2.py) defines a subclass of ModelFamily
and registers one instance with `register`.  Weights are always a dict of numpy arrays
keyed by the torch `state_dict` names, so a torchvision / transformers checkpoint loads
without renaming tables.
"""

from __future__ import annotations

import importlib
import json
import os

import numpy as np

from ptir.errors import RunError, UsageError

# name -> "module:attribute"; imported on first use so `ptirc` starts fast.
_FAMILIES = {
    "resnet34": "ptir.models.resnet:RESNET34",
    "mobilenet_v2": "ptir.models.mobilenet:MOBILENET_V2",
    "gpt2": "ptir.models.gpt2:GPT2",
}
MODELS = tuple(_FAMILIES)


class ModelFamily:
    name: str = "?"
    kind: str = "vision"            # "vision" (image -> logits) or "lm" (tokens -> logits)
    # iree-compile flags measured to pay for this model on llvm-cpu (docs/performance.md),
    # added after ptir's defaults; `ptirc eval --iree-flag` adds more.
    iree_flags: tuple[str, ...] = ()

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

    def bind(self, config: dict, weights: dict[str, np.ndarray]):
        """The ptir module with `weights` loaded; a StateDictError that counts the missing,
        unexpected and mis-shaped keys and names the first few of each (a checkpoint of
        another model would otherwise list hundreds)."""
        from ptir.nn.module import StateDictError

        module = self.ptir_module(config)
        own = module.state_dict()
        problems = [_some("missing", [k for k in own if k not in weights]),
                    _some("unexpected", [k for k in weights if k not in own]),
                    _some("mis-shaped", [f"{k} (expected shape {own[k].shape}, got {np.shape(weights[k])})"
                                         for k in own if k in weights and np.shape(weights[k]) != own[k].shape])]
        if any(problems):
            raise StateDictError(f"the weights do not fit {self.name} {_describe(config)}: "
                                 + "; ".join(p for p in problems if p))
        return module.load_state_dict(weights)

    def generate(self, config: dict, weights: dict[str, np.ndarray], prompt_ids, max_tokens: int,
                 target: str = "ref", **options) -> list[int]:
        """kind "lm", optional: the token ids generated after `prompt_ids` (`ptirc eval --workload
        run`), greedy unless options say otherwise (temperature, top_k, seed, eos_id;
        kv_cache=False recomputes the full context per token).  Compiled programs are reused
        across tokens and calls."""
        raise NotImplementedError

    # An optional hook for `ptirc eval --workload trace`: the ptir module's
    # forward_taps(*inputs) returns the outputs of its layers in order and leaves their
    # torch submodule names in `.tap_names`, to be compared with torch forward hooks.
    #
    # An optional hook for `--weights-dtype bf16|int8` (lm): quantization_axes(config) names
    # the weights stored narrow, state_dict key -> output-channel axis (ptir.nn.quantize_weights).


def _some(what: str, keys: list[str], shown: int = 4) -> str:
    if not keys:
        return ""
    more = f", ... ({len(keys) - shown} more)" if len(keys) > shown else ""
    return f"{len(keys)} {what} key{'s' * (len(keys) > 1)}: {', '.join(keys[:shown])}{more}"


def _describe(config: dict) -> str:
    return "(" + ", ".join(f"{k}={v}" for k, v in config.items() if not isinstance(v, list | dict)) + ")"


METADATA_MODEL, METADATA_CONFIG = "ptir.model", "ptir.config"


class Int:
    """A config entry that is an integer in [lo, hi] (None allowed with `optional`)."""

    def __init__(self, lo: int, hi: int, optional: bool = False):
        self.lo, self.hi, self.optional = lo, hi, optional

    def problem(self, v) -> str | None:
        if v is None and self.optional:
            return None
        if isinstance(v, bool) or not isinstance(v, int) or not self.lo <= v <= self.hi:
            return f"an integer from {self.lo} to {self.hi}"
        return None


class Float:
    """A config entry that is a finite number in (lo, hi]."""

    def __init__(self, lo: float, hi: float):
        self.lo, self.hi = lo, hi

    def problem(self, v) -> str | None:
        if isinstance(v, bool) or not isinstance(v, int | float) or not self.lo < v <= self.hi:
            return f"a number above {self.lo:g} and at most {self.hi:g}"
        return None


class OneOf:
    """A config entry that is one of `choices`."""

    def __init__(self, *choices):
        self.choices = choices

    def problem(self, v) -> str | None:
        return None if v in self.choices else "one of " + ", ".join(map(repr, self.choices))


class ListOf:
    """A config entry that is a list of `length` items (any length when None), each of `item`."""

    def __init__(self, item, length: int | None = None, max_length: int = 64):
        self.item, self.length, self.max_length = item, length, max_length

    def problem(self, v) -> str | None:
        n = f"{self.length}" if self.length is not None else f"1 to {self.max_length}"
        what = f"a list of {n} items"
        if not isinstance(v, list | tuple) or not (
                len(v) == self.length if self.length is not None else 1 <= len(v) <= self.max_length):
            return what
        bad = next((p for p in map(self.item.problem, v) if p), None)
        return f"{what}, each {bad}" if bad else None


def check_config(family: str, config, schema: dict) -> dict:
    """`config` with exactly the keys of `schema`, each value checked against its rule
    (Int, Float, OneOf, ListOf) before anything is built from it, so a file's config
    cannot ask for a billion layers or a zero head count.  Raises RunError naming the key."""
    if not isinstance(config, dict):
        raise RunError(f"{family} config must be a JSON object, not {type(config).__name__}")
    missing = [k for k in schema if k not in config]
    if missing:
        raise RunError(f"{family} config lacks {', '.join(missing)}")
    for key, rule in schema.items():
        problem = rule.problem(config[key])
        if problem:
            raise RunError(f"{family} config: '{key}' must be {problem}, not {config[key]!r}")
    return {k: config[k] for k in schema}


def checkpoint_bytes(name: str, config: dict, weights: dict[str, np.ndarray]) -> bytes:
    """A safetensors file of `weights` (torch state_dict names) that carries the family
    name and its JSON config in the header metadata, so the file alone rebuilds the model."""
    from safetensors.numpy import save

    # np.asarray, not np.ascontiguousarray: that makes 0-d arrays (num_batches_tracked) 1-d
    return save({k: np.asarray(v, order="C") for k, v in weights.items()},
                metadata={METADATA_MODEL: name, METADATA_CONFIG: json.dumps(config)})


def read_checkpoint(path: str, name: str) -> tuple[dict[str, np.ndarray], dict | None]:
    """Weights and config (None when the file has none) of model `name` from a safetensors
    file, e.g. one `ptirc export` wrote, or a torch .pt/.pth state_dict."""
    if not os.path.isfile(path):
        raise RunError(f"weights file {path} does not exist")
    if path.endswith((".pt", ".pth", ".bin")):
        return _read_torch(path), None
    from safetensors import SafetensorError, safe_open

    from ptir.weights import load_params

    weights = load_params(path)
    try:
        with safe_open(path, framework="np") as f:
            meta = f.metadata() or {}
    except (SafetensorError, OSError) as e:
        raise RunError(f"cannot read weights file {path}: {e}") from None
    if meta.get(METADATA_MODEL, name) != name:
        raise RunError(f"{path} holds {meta[METADATA_MODEL]} weights, not {name}")
    try:
        config = json.loads(meta[METADATA_CONFIG]) if METADATA_CONFIG in meta else None
    except json.JSONDecodeError as e:
        raise RunError(f"{path}: the {METADATA_CONFIG} metadata is not JSON: {e}") from None
    if config is not None and not isinstance(config, dict):   # never a path to read: the file speaks for itself
        raise RunError(f"{path}: the {METADATA_CONFIG} metadata must be a JSON object, not "
                       f"{type(config).__name__}")
    return weights, config


def _read_torch(path: str) -> dict[str, np.ndarray]:
    import pickle

    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, pickle.UnpicklingError, EOFError, ValueError) as e:
        first = str(e).strip().splitlines()[0].split(". ")[0] if str(e).strip() else type(e).__name__
        raise RunError(f"cannot read torch checkpoint {path}: {first}") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise RunError(f"{path} is not a state_dict (a dict of tensors)")
    return {k: v.detach().cpu().numpy() for k, v in state.items()}


def get_model(name: str) -> ModelFamily:
    if name not in _FAMILIES:
        raise UsageError(f"unknown model '{name}' (known: {', '.join(MODELS)})")
    module, attr = _FAMILIES[name].split(":")
    return getattr(importlib.import_module(module), attr)

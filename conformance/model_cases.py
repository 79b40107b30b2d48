"""Cases for the full models (`ptirc conformance --models`): each registered model family
in its tiny configuration with seeded weights, against its torch reference
(torchvision / transformers).  Test names are `model.NAME`, as in `ptirc eval`."""

from __future__ import annotations

from functools import cache

from ptir.models import MODELS, get_model

from .case import Case


@cache
def _model(name: str):
    family = get_model(name)
    config = family.config("tiny")
    weights = family.random_weights(config, seed=0)
    return family, config, weights


def _torch_call(name: str):
    @cache
    def module():
        family, config, weights = _model(name)
        return family.torch_module(config, weights)

    def call(*xs):
        out = module()(*xs)
        return getattr(out, "logits", out)   # transformers wraps its logits
    return call


def _case(name: str) -> Case:
    def ptir_module():
        family, config, weights = _model(name)
        return family.bind(config, weights)

    def inputs():
        family, config, _ = _model(name)
        return family.example_inputs(config, seed=0)

    module = ptir_module()
    return Case(f"model.{name}", f"model.{name}", module, _torch_call(name),
                inputs=[lambda rng, i=i: inputs()[i] for i in range(len(inputs()))],
                params=module.state_dict, group="models")


def cases() -> list[Case]:
    return [_case(name) for name in MODELS]

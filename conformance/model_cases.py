"""Cases for the full models (`ptirc conformance --models`): each registered model family
in its tiny configuration with seeded weights, against its torch reference
(torchvision / transformers), test names `model.NAME` as in `ptirc eval`; and each model
of the torch zoo imported through torch.export, `model.torch.NAME`."""

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


def _imported(name: str) -> Case:
    """A torch zoo model (torch_zoo.py) imported with ptir.from_torch, against itself in torch."""
    from . import torch_zoo

    @cache
    def built():
        return torch_zoo.build(name)

    def program():
        from ptir.importers.torch_export import from_torch

        module, inputs, kwargs = built()
        return from_torch(module, *inputs, **kwargs)

    def call(*xs):
        module, _, kwargs = built()
        out = module(*xs, **kwargs)
        return tuple(out.to_tuple()) if hasattr(out, "to_tuple") else out   # transformers' outputs, in order

    return Case(f"model.torch.{name}", f"model.torch.{name}", None, call,
                inputs=[lambda rng: built()[1][0].numpy()], group="models", program=program)


def cases() -> list[Case]:
    from .torch_zoo import ZOO

    return [_case(name) for name in MODELS] + [_imported(name) for name in ZOO]

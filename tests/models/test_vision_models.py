"""Tiny ResNet34 and MobileNetV2 against torchvision on every target, under the
conformance tolerance rules; the architecture's names, weights and taps."""


import numpy as np
import pytest
import torch

import ptir
from ptir.configs import CONFORMANCE
from ptir.conformance.tolerance import compare, load_rules

VISION = ("resnet34", "mobilenet_v2")
TARGETS = ("ref", "llvm-cpu", "xla-cpu")
RULES = load_rules(CONFORMANCE)


def reference(model, x):
    with torch.no_grad():
        return model.torch(torch.from_numpy(x)).numpy()


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("name", VISION)
def test_logits_match_torchvision(tiny_models, name, target):
    m = tiny_models[name]
    got = ptir.compile(m.module.forward, m.x, target=target, params=m.module.state_dict())(m.x)
    want = reference(m, m.x)
    tol = RULES.lookup(f"model.{name}", target, "f32")
    c = compare(got, want, tol.atol, tol.rtol)
    assert c.ok, c.message


@pytest.mark.parametrize("name", VISION)
def test_nchw_layout_matches_too(name, tiny_models):
    """The config's layout changes only the inside of the network."""
    m = tiny_models[name]
    module = m.family.bind(m.family.config("tiny", layout="nchw"), m.weights)
    got = ptir.compile(module.forward, m.x, target="ref", params=module.state_dict())(m.x)
    assert compare(got, reference(m, m.x), 1e-4, 1e-4).ok


@pytest.mark.parametrize("name", VISION)
def test_random_weights_are_seeded_and_not_degenerate(name, tiny_models):
    m = tiny_models[name]
    again = m.family.random_weights(m.config, 0)
    assert all(np.array_equal(again[k], v) for k, v in m.weights.items())
    other = m.family.random_weights(m.config, 1)
    assert not np.array_equal(other["fc.weight" if name == "resnet34" else "classifier.1.weight"],
                              again["fc.weight" if name == "resnet34" else "classifier.1.weight"])
    logits = reference(m, m.x)
    assert 0.05 < logits.std() < 20, logits.std()          # O(1), not ~1e-9 nor exploding


@pytest.mark.parametrize("name", VISION)
def test_state_dict_names_are_torchvision_names(name, tiny_models):
    m = tiny_models[name]
    ours = {k: v.shape for k, v in m.family.ptir_module(m.config).state_dict().items()}
    theirs = {k: tuple(v.shape) for k, v in m.torch.state_dict().items()}
    assert ours == theirs


def test_full_configs_have_torchvision_shapes():
    """Full size, checked on names and shapes only (no compile): the real architectures."""
    import torchvision

    from ptir.models import get_model

    for name, build in (("resnet34", torchvision.models.resnet34), ("mobilenet_v2", torchvision.models.mobilenet_v2)):
        family = get_model(name)
        ours = {k: v.shape for k, v in family.ptir_module(family.config("full")).state_dict().items()}
        assert ours == {k: tuple(v.shape) for k, v in build(weights=None).state_dict().items()}


def test_batch_norm_is_folded_into_the_convolutions(tiny_models):
    """With the weights known, fold-params leaves one conv plus a bias per conv-bn pair:
    no rsqrt and no per-channel scaling left in the program."""
    from ptir.passes import optimize

    m = tiny_models["resnet34"]
    program, _ = optimize(ptir.trace(m.module.forward, m.x), m.module.state_dict())
    names = [op.name for op in program.entry().ops]
    assert names.count("conv") == 1 + 2 * 4 + 3          # stem, two per block, three downsamples
    assert not {"mul", "sub", "rsqrt"} & set(names), names


@pytest.mark.parametrize("name", VISION)
def test_taps_are_torch_module_names(name, tiny_models):
    m = tiny_models[name]
    ptir.trace(m.module.forward_taps, m.x)
    modules = dict(m.torch.named_modules())
    assert m.module.tap_names and all(n in modules for n in m.module.tap_names)
    assert m.module.tap_names[-1] in ("fc", "classifier")

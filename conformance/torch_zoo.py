"""Models as people have them, from torch's own definitions, for the torch.export importer.

    module, inputs = build("resnet18", size="tiny")     # seeded weights, calibrated
    program, weights = ptir.from_torch(module, *inputs)

Each entry builds the torchvision (or transformers) module at a CI size ("tiny": few
classes, small images or widths) or its real size ("full"), with seeded random weights
calibrated so activations stay O(1) (torchvision's own initialisation leaves many nets
with outputs near 1e-9, or exactly zero where a head starts at zero).  Real checkpoints
load the usual way (`module.load_state_dict(torch.load(path, weights_only=True))`)
before importing.  `ptirc conformance --models` and tests/importers/ run them.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torchvision
from torchvision.models import convnext, vision_transformer

_TINY_IMAGE = 64


def _tv(name: str, **kwargs) -> Callable[[str], torch.nn.Module]:
    def make(size: str) -> torch.nn.Module:
        return getattr(torchvision.models, name)(**({"num_classes": 10} if size == "tiny" else {}), **kwargs)
    return make


def _densenet(size: str) -> torch.nn.Module:
    if size == "full":
        return torchvision.models.densenet121()
    return torchvision.models.DenseNet(growth_rate=8, block_config=(2, 2, 2, 2), num_init_features=16, num_classes=10)


def _convnext(size: str) -> torch.nn.Module:
    if size == "full":
        return torchvision.models.convnext_tiny()
    c = convnext.CNBlockConfig
    return convnext.ConvNeXt([c(16, 32, 1), c(32, None, 1)], num_classes=10)


def _vit(size: str) -> torch.nn.Module:
    if size == "full":
        return torchvision.models.vit_b_16()
    return vision_transformer.VisionTransformer(image_size=32, patch_size=8, num_layers=2, num_heads=2, hidden_dim=32,
                                                mlp_dim=64, num_classes=10)


# name -> (builder by size, tiny image size)
ZOO: dict[str, tuple[Callable[[str], torch.nn.Module], int]] = {
    "resnet18": (_tv("resnet18"), _TINY_IMAGE),
    "resnet50": (_tv("resnet50"), _TINY_IMAGE),
    "mobilenet_v2": (_tv("mobilenet_v2", width_mult=0.5), _TINY_IMAGE),
    "mobilenet_v3_small": (_tv("mobilenet_v3_small"), _TINY_IMAGE),
    "efficientnet_b0": (_tv("efficientnet_b0"), _TINY_IMAGE),
    "squeezenet1_1": (_tv("squeezenet1_1"), _TINY_IMAGE),
    "shufflenet_v2_x1_0": (_tv("shufflenet_v2_x1_0"), _TINY_IMAGE),
    "densenet121": (_densenet, _TINY_IMAGE),
    "googlenet": (_tv("googlenet", aux_logits=False, init_weights=True), _TINY_IMAGE),
    "mnasnet0_5": (_tv("mnasnet0_5"), _TINY_IMAGE),
    "regnet_y_400mf": (_tv("regnet_y_400mf"), _TINY_IMAGE),
    "convnext_tiny": (_convnext, _TINY_IMAGE),
    "vit_b_16": (_vit, 32),
}


def build(name: str, size: str = "tiny", seed: int = 0, batch: int = 1) -> tuple[torch.nn.Module, list[torch.Tensor]]:
    """(the module in eval mode with seeded, calibrated weights, its example inputs)."""
    make, tiny_image = ZOO[name]
    torch.manual_seed(seed)
    module = make(size)
    image = tiny_image if size == "tiny" else 224
    x = torch.randn(batch, 3, image, image, generator=torch.Generator().manual_seed(seed + 1))
    calibrate(module, x, seed)
    return module.eval(), [x]


def calibrate(module: torch.nn.Module, x: torch.Tensor, seed: int = 0) -> None:
    """Seeded weights with O(1) activations: every weight of two or more dims drawn with
    variance 1/fan_in (He/LeCun scaling), one-dim scales near 1 and biases near 0, then
    each batch norm's statistics set to those of its input on a random batch (as
    ptir.models' vision families do), all with one thread so the numbers are the same in
    any process."""
    g = torch.Generator().manual_seed(seed)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.no_grad():
            for name, p in module.named_parameters():
                if p.dim() >= 2:
                    fan_in = int(np.prod(p.shape[1:])) or 1
                    p.copy_(torch.randn(p.shape, generator=g) / np.sqrt(fan_in))
                elif name.endswith("bias"):
                    p.copy_(0.1 * torch.randn(p.shape, generator=g))
                else:
                    p.copy_(torch.rand(p.shape, generator=g) + 0.5)
            norms = [m for m in module.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
            for bn in norms:
                bn.reset_running_stats()
                bn.momentum = None   # the running statistics become this batch's
            if norms:
                module.train()
                module(torch.cat([x] * 4) + 0.1 * torch.randn((4 * x.shape[0], *x.shape[1:]), generator=g))
    finally:
        torch.set_num_threads(threads)
        module.eval()

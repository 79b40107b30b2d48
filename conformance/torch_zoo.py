"""Models as people have them, from torch's own definitions, for the torch.export importer.

    module, inputs, kwargs = build("resnet18", size="tiny")     # seeded weights, calibrated
    program, weights = ptir.from_torch(module, *inputs, **kwargs)

Each entry builds the torchvision (or transformers: GPT-2, BERT, Llama) module at a CI size ("tiny": few
classes, small images or widths) or its real size ("full"), with seeded random weights
calibrated so activations stay O(1) (torchvision's own initialisation leaves many nets
with outputs near 1e-9, or exactly zero where a head starts at zero).  Real checkpoints
load the usual way (`module.load_state_dict(torch.load(path, weights_only=True))`)
before importing.  `ptirc conformance --models` and tests/importers/ run them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

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


def _swin(size: str) -> torch.nn.Module:
    if size == "full":
        return torchvision.models.swin_t()
    return torchvision.models.SwinTransformer(patch_size=[4, 4], embed_dim=16, depths=[2, 2], num_heads=[2, 4],
                                              window_size=[4, 4], num_classes=10)


def _gpt2(size: str) -> torch.nn.Module:
    import transformers

    small = dict(n_layer=2, n_head=2, n_embd=32, n_positions=64, vocab_size=100, bos_token_id=0, eos_token_id=0)
    return transformers.GPT2LMHeadModel(transformers.GPT2Config(**(small if size == "tiny" else {})))


def _bert(size: str) -> torch.nn.Module:
    import transformers

    small = dict(num_hidden_layers=2, num_attention_heads=2, hidden_size=32, intermediate_size=64, vocab_size=100,
                 max_position_embeddings=64)
    return transformers.BertModel(transformers.BertConfig(**(small if size == "tiny" else {})))


def _llama(size: str) -> torch.nn.Module:
    import transformers

    dims = dict(num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=1, hidden_size=32,
                intermediate_size=64, vocab_size=100, max_position_embeddings=64) if size == "tiny" else dict(
        num_hidden_layers=12, num_attention_heads=12, num_key_value_heads=4, hidden_size=768, intermediate_size=2048,
        vocab_size=32000, max_position_embeddings=2048)   # a 125M-parameter Llama: GQA, RoPE, SwiGLU
    return transformers.LlamaForCausalLM(transformers.LlamaConfig(**dims, bos_token_id=0, eos_token_id=0))


@dataclass(frozen=True)
class Entry:
    """A model of the zoo: its module by size, its inputs (an image batch of `image`
    pixels, or token ids when `tokens`), and constant keyword arguments."""

    make: Callable[[str], torch.nn.Module]
    image: int = _TINY_IMAGE                  # tiny image size (full: 224)
    tokens: bool = False                      # token ids (1, 16) tiny, (1, 128) full
    kwargs: tuple = ()                        # e.g. (("use_cache", False),)


ZOO: dict[str, Entry] = {
    "resnet18": Entry(_tv("resnet18")),
    "resnet50": Entry(_tv("resnet50")),
    "mobilenet_v2": Entry(_tv("mobilenet_v2", width_mult=0.5)),
    "mobilenet_v3_small": Entry(_tv("mobilenet_v3_small")),
    "efficientnet_b0": Entry(_tv("efficientnet_b0")),
    "squeezenet1_1": Entry(_tv("squeezenet1_1")),
    "shufflenet_v2_x1_0": Entry(_tv("shufflenet_v2_x1_0")),
    "densenet121": Entry(_densenet),
    "googlenet": Entry(_tv("googlenet", aux_logits=False, init_weights=True)),
    "mnasnet0_5": Entry(_tv("mnasnet0_5")),
    "regnet_y_400mf": Entry(_tv("regnet_y_400mf")),
    "convnext_tiny": Entry(_convnext),
    "vit_b_16": Entry(_vit, image=32),
    "swin_t": Entry(_swin, image=32),
    "gpt2": Entry(_gpt2, tokens=True, kwargs=(("use_cache", False),)),
    "bert": Entry(_bert, tokens=True),
    "llama": Entry(_llama, tokens=True, kwargs=(("use_cache", False),)),
}


def build(name: str, size: str = "tiny", seed: int = 0, batch: int = 1) -> tuple[torch.nn.Module, list, dict]:
    """(the module in eval mode with seeded, calibrated weights, its example inputs, its
    constant keyword arguments)."""
    entry = ZOO[name]
    torch.manual_seed(seed)
    module = entry.make(size)
    g = torch.Generator().manual_seed(seed + 1)
    if entry.tokens:
        vocab = module.get_input_embeddings().num_embeddings
        x = torch.randint(0, vocab, (batch, 16 if size == "tiny" else 128), generator=g)
    else:
        image = entry.image if size == "tiny" else 224
        x = torch.randn(batch, 3, image, image, generator=g)
    calibrate(module, x, seed)
    return module.eval(), [x], dict(entry.kwargs)


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
            if norms and x.is_floating_point():
                module.train()
                module(torch.cat([x] * 4) + 0.1 * torch.randn((4 * x.shape[0], *x.shape[1:]), generator=g))
    finally:
        torch.set_num_threads(threads)
        module.eval()

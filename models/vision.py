"""What the image classifiers (resnet.py, mobilenet.py) share: batch norm folded into
the convolution, named layer outputs for `ptirc eval --workload trace`, seeded
non-degenerate weights, checkpoints, and ImageNet preprocessing.

The input is NCHW float32, as torchvision's; the config's `layout` says what the
network uses inside ("nhwc" transposes the input once, and the taps back for the
comparison with torch).  NHWC is the default: full ResNet34 on llvm-cpu ran 1.5 s
against 2.8 s in NCHW (one run each, an AVX2 host; a single 3x3 conv 10 vs 119 ms).
"""

from __future__ import annotations

import numpy as np

import ptir.functional as F
import ptir.nn as nn
from ptir.errors import RunError, UsageError
from ptir.functional.core import reshape, transpose

from .base import ModelFamily, check_config, read_checkpoint

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], np.float32)
LAYOUTS = ("nchw", "nhwc")


def conv_bn(x, conv: nn.Conv2d, bn: nn.BatchNorm2d):
    """bn(conv(x)) with the batch norm folded into the convolution's weights and bias.

    The folding is written as weight-only arithmetic, so fold-params computes the folded
    weights once at compile time and the compiled program is one convolution plus a bias."""
    scale = bn.weight * F.rsqrt(bn.running_var + bn.eps)
    w = conv.weight * reshape(scale, (-1, 1, 1, 1))             # OIHW, scaled per output channel
    shift = bn.bias - bn.running_mean * scale
    if conv.layout == "nhwc":
        w = transpose(w, (2, 3, 1, 0))                           # HWIO
    return F.conv2d(x, w, shift, conv.stride, conv.padding, conv.dilation, conv.groups, layout=conv.layout)


class VisionNet(nn.Module):
    """A classifier whose layers report their outputs through `tap(name, y)`, named like
    the torch submodules they match, so one network body serves forward and trace."""

    def __init__(self, layout: str):
        super().__init__()
        if layout not in LAYOUTS:
            raise UsageError(f"layout must be one of {', '.join(LAYOUTS)}, not {layout!r}")
        self.layout = layout

    def body(self, x, tap):
        raise NotImplementedError

    def forward(self, x):
        """NCHW float32 images -> logits."""
        return self.body(self.from_nchw(x), lambda name, y: y)

    def forward_taps(self, x):
        """Every tapped layer's output (4-D ones as NCHW), in order; their torch module
        names are left in `self.tap_names`."""
        taps = []
        self.body(self.from_nchw(x), lambda name, y: taps.append((name, y)) or y)
        self.tap_names = [name for name, _ in taps]
        return tuple(self.to_nchw(y) for _, y in taps)

    def from_nchw(self, x):
        return transpose(x, (0, 2, 3, 1)) if self.layout == "nhwc" else x

    def to_nchw(self, y):
        return transpose(y, (0, 3, 1, 2)) if self.layout == "nhwc" and y.ndim == 4 else y

    def pool(self, x):
        """Global average pooling to (N, C)."""
        y = F.adaptive_avg_pool2d(x, 1, layout=self.layout)
        return reshape(y, (y.shape[0], -1))


class VisionFamily(ModelFamily):
    """A torchvision classifier: subclasses give the configs, the ptir network and the
    torchvision architecture (`torch_arch`); weights, checkpoints and inputs are shared."""

    kind = "vision"
    sizes: dict[str, dict] = {}

    schema: dict = {}   # config key -> rule (models/base.py: Int, Float, OneOf, ListOf)

    def config(self, size: str = "full", **overrides) -> dict:
        """The config of `size` with `overrides`, checked against the family's schema."""
        if size not in self.sizes:
            raise UsageError(f"unknown size '{size}' for {self.name} (known: {', '.join(self.sizes)})")
        config = dict(self.sizes[size])
        unknown = set(overrides) - set(config)
        if unknown:
            raise UsageError(f"unknown {self.name} config key(s) {', '.join(sorted(unknown))} "
                             f"(known: {', '.join(config)})")
        return check_config(self.name, config | overrides, self.schema)

    def torch_arch(self, config: dict):
        """The torchvision module for `config`, freshly initialised."""
        raise NotImplementedError

    def infer_config(self, weights: dict[str, np.ndarray]) -> dict:
        """The config of a checkpoint without one (a torchvision state_dict)."""
        raise NotImplementedError

    def random_weights(self, config: dict, seed: int = 0) -> dict[str, np.ndarray]:
        """torchvision's seeded initialisation, then every batch norm given a random affine
        map and the statistics of its input on a seeded random batch.  torchvision's own
        statistics (mean 0, variance 1) leave activations unnormalised: logits near 1e-9
        for MobileNetV2 and huge ones for deep ResNets."""
        import torch

        torch.manual_seed(seed)
        model = self.torch_arch(config)
        norms = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
        with torch.no_grad():
            for bn in norms:
                bn.weight.uniform_(0.5, 1.5)
                bn.bias.normal_(0.0, 0.1)
                bn.reset_running_stats()
                bn.momentum = None            # the running statistics become this batch's
            model.train()
            batch = torch.randn(8, 3, config["image_size"], config["image_size"])
            # One thread: torch's reductions differ in their last bits with the thread count,
            # and the same seed must give the same weights in any process.
            threads = torch.get_num_threads()
            torch.set_num_threads(1)
            try:
                model(batch)
            finally:
                torch.set_num_threads(threads)
        return {k: v.numpy().copy() for k, v in model.state_dict().items()}

    def load_checkpoint(self, path: str) -> tuple[dict[str, np.ndarray], dict]:
        weights, config = read_checkpoint(path, self.name)
        return weights, check_config(self.name, config, self.schema) if config else self.infer_config(weights)

    def torch_module(self, config: dict, weights: dict[str, np.ndarray]):
        import torch

        model = self.torch_arch(config)
        model.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in weights.items()})
        return model.eval()

    def example_inputs(self, config: dict, seed: int = 0, batch: int = 1) -> list[np.ndarray]:
        size = config["image_size"]
        return [np.random.default_rng(seed).standard_normal((batch, 3, size, size)).astype(np.float32)]

    def load_image(self, config: dict, path: str) -> np.ndarray:
        """An image file as a (1, 3, S, S) batch, preprocessed as for ImageNet: the short side
        resized to S * 256 / 224, the centre S x S cropped, scaled to [0, 1] and normalised."""
        from PIL import Image, UnidentifiedImageError

        size = config["image_size"]
        try:
            with Image.open(path) as im:
                im = im.convert("RGB")
        except (OSError, UnidentifiedImageError) as e:
            raise RunError(f"cannot read image {path}: {getattr(e, 'strerror', None) or e}") from None
        short = round(size * 256 / 224)
        w, h = im.size
        im = im.resize((max(short, int(w * short / h)), max(short, int(h * short / w))), Image.BILINEAR)
        left, top = (im.size[0] - size) // 2, (im.size[1] - size) // 2
        im = im.crop((left, top, left + size, top + size))
        x = (np.asarray(im, np.float32) / 255.0 - IMAGENET_MEAN) / IMAGENET_STD
        return np.ascontiguousarray(x.transpose(2, 0, 1)[None])

    def class_names(self, config: dict) -> list[str] | None:
        """ImageNet's class names (shipped with torchvision) for 1000-class models."""
        if config["num_classes"] != 1000:
            return None
        from torchvision.models import ResNet34_Weights

        return list(ResNet34_Weights.IMAGENET1K_V1.meta["categories"])

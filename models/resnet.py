"""ResNet34 (torchvision.models.resnet34) from ptir.nn, with torchvision's state_dict names.

"tiny" keeps the architecture and widths but has one block per stage, 64x64 images and
10 classes: the same code path, small enough for CI.
"""

from __future__ import annotations

import re

import ptir.functional as F
import ptir.nn as nn

from .base import Int, ListOf, OneOf
from .vision import LAYOUTS, VisionFamily, VisionNet, conv_bn

WIDTHS = (64, 128, 256, 512)


class BasicBlock(nn.Module):
    def __init__(self, inplanes: int, planes: int, stride: int, layout: str):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False, layout=layout)
        self.bn1 = nn.BatchNorm2d(planes, layout=layout)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False, layout=layout)
        self.bn2 = nn.BatchNorm2d(planes, layout=layout)
        # assigned once: ptir.nn.Module keeps a plain attribute even when a module is assigned over it
        self.downsample = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride, bias=False, layout=layout),
                                        nn.BatchNorm2d(planes, layout=layout)) \
            if stride != 1 or inplanes != planes else None

    def forward(self, x):
        y = F.relu(conv_bn(x, self.conv1, self.bn1))
        y = conv_bn(y, self.conv2, self.bn2)
        identity = x if self.downsample is None else conv_bn(x, self.downsample[0], self.downsample[1])
        return F.relu(y + identity)


class ResNet(VisionNet):
    def __init__(self, config: dict):
        super().__init__(config["layout"])
        layout = self.layout
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False, layout=layout)
        self.bn1 = nn.BatchNorm2d(64, layout=layout)
        inplanes = 64
        for i, (planes, n) in enumerate(zip(WIDTHS, config["layers"], strict=True)):
            stride = 1 if i == 0 else 2
            blocks = [BasicBlock(inplanes if j == 0 else planes, planes, stride if j == 0 else 1, layout)
                      for j in range(n)]
            setattr(self, f"layer{i + 1}", nn.Sequential(*blocks))
            inplanes = planes
        self.fc = nn.Linear(WIDTHS[-1], config["num_classes"])

    def body(self, x, tap):
        x = tap("relu", F.relu(conv_bn(x, self.conv1, self.bn1)))
        x = tap("maxpool", F.max_pool2d(x, 3, 2, 1, layout=self.layout))
        for i in range(1, len(WIDTHS) + 1):
            for j, block in enumerate(getattr(self, f"layer{i}")):
                x = tap(f"layer{i}.{j}", block(x))
        return tap("fc", self.fc(self.pool(x)))


class ResNetFamily(VisionFamily):
    name = "resnet34"
    # IREE's direct convolutions are slow on AVX2 CPUs; as matmuls over im2col patches
    # (which data tiling then packs) ResNet34 ran 10x faster: 1888 -> 188 ms, measured with
    # benchmarks/iree_flags.py --model resnet34 (docs/performance.md).  MobileNetV2's
    # depthwise convolutions run 2.7x slower that way, so it keeps the defaults.  Where
    # configs/conv_algorithms.json has entries for the host's CPU class, the conv-algorithm
    # pass rewrites the layers that pay and this flag reaches only the rest (measured
    # neutral on AVX-512: ResNet34 auto 57.9 vs 56.3 ms without it, docs/performance.md
    # entry 12); the table has no AVX2 entries yet, and there the flag is what keeps
    # ResNet34 fast.
    iree_flags = ("--iree-global-opt-use-im2col-for-convs",)
    sizes = {
        "full": {"layers": [3, 4, 6, 3], "num_classes": 1000, "image_size": 224, "layout": "nhwc"},
        "tiny": {"layers": [1, 1, 1, 1], "num_classes": 10, "image_size": 64, "layout": "nhwc"},
    }

    schema = {"layers": ListOf(Int(1, 64), length=4), "num_classes": Int(1, 1 << 20), "image_size": Int(32, 4096),
              "layout": OneOf(*LAYOUTS)}

    def ptir_module(self, config: dict) -> ResNet:
        return ResNet(config)

    def torch_arch(self, config: dict):
        from torchvision.models.resnet import BasicBlock as TorchBasicBlock
        from torchvision.models.resnet import ResNet as TorchResNet

        return TorchResNet(TorchBasicBlock, list(config["layers"]), num_classes=config["num_classes"])

    def infer_config(self, weights) -> dict:
        """Blocks per stage from the `layerI.J.` keys, classes from fc.weight."""
        blocks = [0] * len(WIDTHS)
        for key in weights:
            m = re.match(r"layer(\d)\.(\d+)\.", key)
            if m and 1 <= int(m[1]) <= len(WIDTHS):
                blocks[int(m[1]) - 1] = max(blocks[int(m[1]) - 1], int(m[2]) + 1)
        fc = weights.get("fc.weight")
        classes = fc.shape[0] if fc is not None and fc.ndim == 2 else 1000
        return self.config("full", layers=blocks if all(blocks) else [3, 4, 6, 3], num_classes=classes)


RESNET34 = ResNetFamily()

"""MobileNetV2 (torchvision.models.mobilenet_v2) from ptir.nn, with torchvision's state_dict names.

"tiny" is the same network at half width with fewer repeats per stage (residual blocks
kept), 64x64 images and 10 classes.
"""

from __future__ import annotations

import ptir.functional as F
import ptir.nn as nn

from .base import Float, Int, ListOf, OneOf
from .vision import LAYOUTS, VisionFamily, VisionNet, conv_bn

# torchvision's inverted residual setting: expansion t, channels c, repeats n, first stride s
FULL_SETTING = [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1], [6, 160, 3, 2],
                [6, 320, 1, 1]]
TINY_SETTING = [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 2, 2], [6, 64, 1, 2], [6, 96, 1, 1], [6, 160, 1, 2],
                [6, 320, 1, 1]]


def make_divisible(v: float, divisor: int = 8) -> int:
    """Channels rounded to a multiple of `divisor`, never more than 10% below `v` (torchvision's rule)."""
    r = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return r + divisor if r < 0.9 * v else r


class ConvBNReLU6(nn.Sequential):
    """torchvision's Conv2dNormActivation: keys `0.weight` (conv) and `1.*` (batch norm)."""

    def __init__(self, cin: int, cout: int, kernel: int = 3, stride: int = 1, groups: int = 1, layout="nchw"):
        super().__init__(nn.Conv2d(cin, cout, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False,
                                   layout=layout),
                         nn.BatchNorm2d(cout, layout=layout))

    def forward(self, x):
        return F.relu6(conv_bn(x, self[0], self[1]))


class InvertedResidual(nn.Module):
    """Expand (1x1, unless t = 1), depthwise 3x3, project (1x1, linear); a residual when
    the shape is kept."""

    def __init__(self, cin: int, cout: int, stride: int, expand: int, layout: str):
        super().__init__()
        hidden = int(round(cin * expand))
        self.residual = stride == 1 and cin == cout
        layers = [ConvBNReLU6(cin, hidden, 1, layout=layout)] if expand != 1 else []
        layers += [ConvBNReLU6(hidden, hidden, 3, stride, groups=hidden, layout=layout),
                   nn.Conv2d(hidden, cout, 1, bias=False, layout=layout), nn.BatchNorm2d(cout, layout=layout)]
        self.conv = nn.Sequential(*layers)

    def forward(self, x):
        *acts, project, bn = (self.conv[i] for i in range(len(self.conv)))
        y = x
        for layer in acts:
            y = layer(y)
        y = conv_bn(y, project, bn)
        return x + y if self.residual else y


class MobileNetV2(VisionNet):
    def __init__(self, config: dict):
        super().__init__(config["layout"])
        width, layout = config["width_mult"], self.layout
        cin = make_divisible(32 * width)
        last = make_divisible(1280 * max(1.0, width))
        features = [ConvBNReLU6(3, cin, 3, 2, layout=layout)]
        for t, c, n, s in config["setting"]:
            cout = make_divisible(c * width)
            for i in range(n):
                features.append(InvertedResidual(cin, cout, s if i == 0 else 1, t, layout))
                cin = cout
        features.append(ConvBNReLU6(cin, last, 1, layout=layout))
        self.features = nn.Sequential(*features)
        # index 0 is torchvision's Dropout, the identity at inference
        self.classifier = nn.Sequential(nn.layers.Parameterless(lambda x: x), nn.Linear(last, config["num_classes"]))

    def body(self, x, tap):
        for i, layer in enumerate(self.features):
            x = tap(f"features.{i}", layer(x))
        return tap("classifier", self.classifier(self.pool(x)))


class MobileNetFamily(VisionFamily):
    name = "mobilenet_v2"
    # setting rows are torchvision's inverted-residual settings [t, c, n, s]: expansion,
    # channels, repeats, stride
    schema = {"width_mult": Float(0.0, 4.0), "setting": ListOf(ListOf(Int(1, 4096), length=4), max_length=32),
              "num_classes": Int(1, 1 << 20), "image_size": Int(32, 4096), "layout": OneOf(*LAYOUTS)}
    sizes = {
        "full": {"width_mult": 1.0, "setting": FULL_SETTING, "num_classes": 1000, "image_size": 224,
                 "layout": "nhwc"},
        "tiny": {"width_mult": 0.5, "setting": TINY_SETTING, "num_classes": 10, "image_size": 64,
                 "layout": "nhwc"},
    }

    def ptir_module(self, config: dict) -> MobileNetV2:
        return MobileNetV2(config)

    def torch_arch(self, config: dict):
        from torchvision.models import mobilenet_v2

        return mobilenet_v2(weights=None, num_classes=config["num_classes"], width_mult=config["width_mult"],
                            inverted_residual_setting=config["setting"])

    def infer_config(self, weights) -> dict:
        """The full architecture; classes from the classifier (other shapes are checked on load)."""
        fc = weights.get("classifier.1.weight")
        return self.config("full", num_classes=fc.shape[0] if fc is not None and fc.ndim == 2 else 1000)


MOBILENET_V2 = MobileNetFamily()

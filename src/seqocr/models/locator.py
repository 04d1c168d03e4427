"""The locator: a small fully convolutional network that maps an image to where its
handwritten digit strings are (a text / not-text map at a quarter of the resolution).

In the spirit of DBNet and CRAFT, kept small: an encoder down to 1/32 (a unit there
sees a whole string and the printed label beside it), a top-down path that adds each
finer level back down to 1/4, and a head there. Each map cell's target is the share of
it inside a string's box, so the boxes' edges are found to a fraction of a cell
(seqocr/locating.py). `stem` and `stages` of the ModelConfig set the widths: the stem
at 1/2, then one stage per halving. A head at 1/2 and dilated convolutions at 1/16
cost twice the time for boxes no better at IoU 0.5.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from seqocr.config import ModelConfig, PreprocessConfig
from seqocr.models.crnn import conv_block
from seqocr.models.registry import RecognitionModel, register

STRIDE = 4  # input pixels per map cell


class Locator(RecognitionModel):
    """(B, 1, H, W) grey images in [0, 1], H and W multiples of 32 -> text logits (B, 1, H/4, W/4)."""

    family = "locator"
    class_indexed = ()

    def __init__(self, stem: int, widths: tuple[int, ...]):
        super().__init__()
        self.stem = conv_block(1, stem, stride=2)  # 1/2
        levels, c_in = [], stem
        for c_out in widths:  # 1/4, 1/8, 1/16, 1/32
            levels.append(nn.Sequential(conv_block(c_in, c_out, stride=2), conv_block(c_out, c_out)))
            c_in = c_out
        self.levels = nn.ModuleList(levels)
        fine = widths[:-1]  # the channels of each level (1/4 to 1/16) the top-down path adds back
        self.lateral = nn.ModuleList(nn.Conv2d(c, c, 1) for c in fine)
        self.reduce = nn.ModuleList(nn.Conv2d(c_hi, c_lo, 1) for c_hi, c_lo in zip(widths[1:], fine, strict=True))
        self.head = nn.Sequential(conv_block(widths[0], widths[0]), nn.Conv2d(widths[0], 1, 1))

    def forward(self, images: Tensor) -> Tensor:
        x = self.stem(images - 0.5)  # (B, stem, H/2, W/2)
        features = []
        for level in self.levels:
            x = level(x)
            features.append(x)  # (B, widths[k], H/2^(k+2), W/2^(k+2))
        for k in range(len(features) - 2, -1, -1):
            fine = features[k]
            x = F.interpolate(self.reduce[k](x), size=fine.shape[-2:], mode="nearest") + self.lateral[k](fine)
            x = F.relu(x)
        return self.head(x)  # (B, 1, H/4, W/4)

    def loss_of(self, images: Tensor, targets: Tensor, weights: Tensor) -> Tensor:
        """Binary cross-entropy plus a soft Dice term (strings are a small share of a
        cell), over the map cells `weights` keeps (padding has weight 0)."""
        logits = self(images)
        bce = F.binary_cross_entropy_with_logits(logits, targets, weight=weights, reduction="sum")
        bce = bce / weights.sum().clamp(min=1)
        p = logits.sigmoid() * weights
        dice = 1 - (2 * (p * targets).sum() + 1) / (p.sum() + (targets * weights).sum() + 1)
        return bce + dice


@register("locator", reads=False)
def build_locator(config: ModelConfig, preprocess: PreprocessConfig, num_classes: int) -> RecognitionModel:
    return Locator(config.stem, tuple(c for c, _, _ in config.stages))


LOCATOR_CONFIG = ModelConfig(arch="locator", stem=8, stages=((16, 2, 2), (32, 2, 2), (64, 2, 2), (64, 2, 2)))

"""The zero-shot part of the detector: what every FashionMNIST image has by construction.

FashionMNIST's conversion stretched each image's contrast to the full 8-bit range, so the
brightest pixel of every one of its 70,000 images is at grey level 254 or 255. A generator's
tanh output reaches 255 only where it saturates, and a good GAN's images keep a little short of
it: 81 % of the shipped generator's images have their brightest pixel below 254
(`python bench/zero_shot.py`, docs/zero_shot.json). No generated image is needed to know this,
so it holds for generators the detector has never seen.

A JPEG round trip lowers the brightest pixel of some real images too (ringing around a small
bright patch), and the policy is that a re-saved real photo stays real (docs/detector.md). The
cut is therefore set on real images after JPEG: the level below which only `jpeg_budget` of
held-out real training-split images fall after a round trip at `jpeg_quality`. Clean real images
(254 or 255) are never below it.

    BrightestLevel      image [N, 1, 28, 28] in model range -> real_logit [N]
    fit_brightest_cut   the cut from held-out real images (JPEG round trip, budget)
"""
import numpy as np
import torch
from torch import nn

from train.data import grey_levels
from train.detection.sanity import pillow_round_trip

LEVEL_SLOPE = 1.0  # logit per grey level: 3 levels below the cut is "generated" with P = 0.97


def brightest_levels(images: np.ndarray) -> np.ndarray:
    """uint8 images [N, H, W] -> the grey level of each one's brightest pixel, int [N]."""
    return images.reshape(len(images), -1).max(1).astype(np.int64)


class BrightestLevel(nn.Module):
    """image [N, 1, 28, 28] -> real_logit [N] = LEVEL_SLOPE * (brightest level - cut + 1/2):
    real when the brightest pixel is at `cut` or above."""

    def __init__(self, cut: int = 0):
        super().__init__()
        self.register_buffer("cut", torch.tensor(float(cut)))

    def forward(self, image: torch.Tensor) -> torch.Tensor:  # `image`: the ONNX input's name
        brightest = grey_levels(image).flatten(1).amax(1).round()
        return LEVEL_SLOPE * (brightest - self.cut + 0.5)


def fit_brightest_cut(real: np.ndarray, jpeg_quality: int, jpeg_budget: float) -> int:
    """The cut for real uint8 images [N, 28, 28] (held out of any training): the lowest level
    such that at most `jpeg_budget` of them fall below it after a JPEG round trip at
    `jpeg_quality`, and never above the darkest brightest level of the images as they are."""
    levels = brightest_levels(pillow_round_trip(real, "JPEG", quality=jpeg_quality))
    cut = int(np.quantile(levels, jpeg_budget, method="lower"))   # at most jpeg_budget below it
    return min(cut, int(brightest_levels(real).min()))

"""The top-levels part of the detector: how an image's brightest grey levels sit, above the floor.

The zero-shot part (zero_shot.py) lets through every image whose brightest pixel reaches the
format's floor (254). Above it, a real FashionMNIST image still shows the dataset's contrast
stretch: few pixels near the peak, and gaps between its top levels (a stretched image's levels are
spaced by its stretch factor), where a generator that reaches 254 mostly does so by saturating a
whole bright patch. `TopLevels` is a logistic regression on eleven statistics of an image's top
levels (`top_level_features`), fitted on the images at or above the floor, real training images
against the fit's generated ones, its cut set on held-out real images at a small false-positive
budget (`--top-levels-fpr`). Below the floor it abstains (logit ABSTAIN, which the detector's
minimum never picks): those images are the zero-shot part's to judge, JPEG copies included.

It is learnt from generated images, so it is not zero-shot: `python -m train.detector --strangers`
measures it alone on generators it was not fitted on (docs/strangers.json, `top_levels`).

    top_level_features  grey levels [N, 1, H, W] -> [N, 11]
    TopLevels           image [N, 1, H, W] in model range -> real_logit [N]
    fit_top_levels      the part from real and generated uint8 images
"""
import numpy as np
import torch
from torch import nn

from train.data import grey_levels
from train.detection.calibration import fit_logistic

TOP = 16  # the brightest pixels read
DROPS = (1, 3, 7, 15)  # the peak minus the (k+1)-th brightest pixel, for each k
COUNT_LEVELS = (250, 245, 240, 230, 220, 200)  # log(1 + the number of pixels at each level or above)
FEATURES = 1 + len(DROPS) + len(COUNT_LEVELS)
ABSTAIN = 100.0  # the logit below the floor: no objection (P(real) = 1 - 4e-44)


def top_level_features(levels: torch.Tensor) -> torch.Tensor:
    """Grey levels [N, 1, H, W] (whole numbers 0..255) -> [N, FEATURES]: the peak at 255 (0/1),
    the drops from the peak (DROPS), the log counts of bright pixels (COUNT_LEVELS)."""
    flat = levels.flatten(1)
    brightest = flat.topk(TOP, dim=1).values                               # [N, TOP], descending
    peak = brightest[:, 0]
    drops = [peak - brightest[:, k] for k in DROPS]
    counts = [torch.log1p((flat >= level).float().sum(1)) for level in COUNT_LEVELS]
    return torch.stack([(peak >= 255).float(), *drops, *counts], 1)


class TopLevels(nn.Module):
    """image [N, 1, H, W] -> real_logit [N]: the logistic regression's log-odds of real minus its
    cut at or above `floor`, ABSTAIN below it. Unfitted (all weights 0, cut -ABSTAIN) it objects
    to nothing."""

    def __init__(self, floor: int = 254):
        super().__init__()
        self.register_buffer("floor", torch.tensor(float(floor)))
        self.register_buffer("mean", torch.zeros(FEATURES))
        self.register_buffer("scale", torch.ones(FEATURES))
        self.register_buffer("weights", torch.zeros(FEATURES))
        self.register_buffer("bias", torch.zeros(()))
        self.register_buffer("cut", torch.tensor(-ABSTAIN))

    def log_odds(self, levels: torch.Tensor) -> torch.Tensor:
        return ((top_level_features(levels) - self.mean) / self.scale) @ self.weights + self.bias

    def forward(self, image: torch.Tensor) -> torch.Tensor:  # `image`: the ONNX input's name
        levels = grey_levels(image).round()
        above = levels.flatten(1).amax(1) >= self.floor
        return torch.where(above, self.log_odds(levels) - self.cut, torch.full_like(levels[:, 0, 0, 0], ABSTAIN))


def at_or_above(images: np.ndarray, floor: int) -> np.ndarray:
    return images[images.reshape(len(images), -1).max(1) >= floor]


def levels_of(images: np.ndarray) -> torch.Tensor:
    """uint8 images [N, H, W] -> their grey levels as floats [N, 1, H, W]."""
    return torch.from_numpy(images).float().unsqueeze(1)


def fit_top_levels(real_train: np.ndarray, generated: np.ndarray, real_calibration: np.ndarray,
                   floor: int, fpr: float) -> tuple[TopLevels, dict]:
    """The part from uint8 images [N, H, W]: the regression on those at or above `floor` (real
    training images against generated ones), the cut at the `fpr` quantile of the held-out real
    images' log-odds; and what the metadata says of it. With no generated image at the floor it
    stays unfitted (objects to nothing)."""
    part = TopLevels(floor)
    real, fake = at_or_above(real_train, floor), at_or_above(generated, floor)
    about = {"part": "top_levels", "floor": floor, "fpr": fpr, "real": len(real), "generated": len(fake)}
    if len(fake) < 2 or len(real) < 2:
        return part, about
    features = torch.cat([top_level_features(levels_of(real)), top_level_features(levels_of(fake))]).double()
    part.mean.copy_(features.mean(0))
    part.scale.copy_(features.std(0) + 1e-6)   # a constant feature (all at 255) must not divide by 0
    weights = fit_logistic(((features - part.mean.double()) / part.scale.double()).numpy(),
                           np.r_[np.ones(len(real)), np.zeros(len(fake))])
    part.weights.copy_(torch.from_numpy(weights[:-1]))
    part.bias.fill_(float(weights[-1]))
    with torch.inference_mode():
        held_out = part.log_odds(levels_of(real_calibration)).double().numpy()
    part.cut.fill_(float(np.quantile(held_out, fpr)))
    return part, {**about, "cut": float(part.cut)}

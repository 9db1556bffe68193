"""The model of real images: what an untouched FashionMNIST image looks like, fitted on real images only.

A detector trained on some GANs' fingerprints learns "real" as "whatever is not one of these
GANs" and calls pure noise real (UnivFD, CVPR 2023). This part needs no generated image: it
measures a few statistics of every image, knows from real training images how far each one
ranges, and flags an image when any statistic falls outside that range. What each catches:

    total_variation   mean |horizontal and vertical pixel steps|: noise (high), blur and flat images (low)
    pca_residual      the part of the image outside the 32 main directions of real images: noise,
                      speckle, checkerboards, anything no garment explains
    edge_pixels       pixels far from the mean of their 3x3 neighbourhood: real garments have crisp
                      silhouettes; blurred and smeared images have none
    black_pixels      pixels exactly black: FashionMNIST's background is 0; noise and grey films have none
    isolated_pixels   pixels brighter or darker than all four neighbours by a step: salt-and-pepper
                      speckle (too many only: UPPER_TAIL_ONLY)
    busiest_block     the 7x7 block with the most local contrast: noise confined to part of the image

Each statistic s is put in tail units against real training images, with lo, median and hi its
0.1 % / 50 % / 99.9 % quantiles: z = (s - hi) / (hi - median) above the range, (lo - s) / (median - lo)
below it, so z > 0 is outside what 99.8 % of real images do, z = 1 is as far again. The image's
outlier score is its largest z; the logit is SLOPE * (cut - score), where `cut` keeps a chosen
fraction of held-out real images (fit.py). docs/detector.md gives each statistic's score alone.
"""
import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from train.data import grey_levels

STATISTICS = ("total_variation", "pca_residual", "edge_pixels", "black_pixels", "isolated_pixels",
              "busiest_block")
# isolated_pixels has no lower tail: most real images have none or one, and none is no sign of
# anything (a two-sided range would put every image without one exactly on its edge).
UPPER_TAIL_ONLY = ("isolated_pixels",)
TAIL_QUANTILE = 0.001  # lo and hi are these quantiles of the real training images
SLOPE = 8.0  # logit per tail unit: an image one unit past the cut is called generated with P = 0.9997
EDGE_STEP = 0.25  # |pixel - its 3x3 mean| on the 0..1 scale that makes an edge pixel
ISOLATED_STEP = 0.2  # how far (0..1) a pixel must stand above or below all four neighbours
BLOCK = 7  # side of the blocks busiest_block compares (a 4x4 grid of them on 28x28)
EPS = 1e-4
MIN_WIDTH = 1e-3  # least distance of lo and hi from the median, in the statistic's own units
NO_TAIL = 1e6  # lo this far below the median: a statistic with no lower tail


def local_contrast(x: torch.Tensor) -> torch.Tensor:
    """x [N, 1, H, W] on 0..1 -> |x - mean of its 3x3 neighbourhood| (edges repeated at the border)."""
    return (x - F.avg_pool2d(F.pad(x, [1] * 4, mode="replicate"), 3, 1)).abs()


def isolated_fraction(x: torch.Tensor) -> torch.Tensor:
    """[N]: fraction of pixels above the brightest or below the darkest of their four neighbours by ISOLATED_STEP."""
    p = F.pad(x, [1] * 4, mode="replicate")
    neighbours = torch.stack([p[..., :-2, 1:-1], p[..., 2:, 1:-1], p[..., 1:-1, :-2], p[..., 1:-1, 2:]])
    spikes = (x - neighbours.amax(0) > ISOLATED_STEP) | (neighbours.amin(0) - x > ISOLATED_STEP)
    return spikes.float().mean((1, 2, 3))


class RealStatistics(nn.Module):
    """image [N, 1, 28, 28] in model range [-1, 1] -> real_logit [N]; every buffer filled by `fit_real_statistics`."""

    def __init__(self, components: int = 32):
        super().__init__()
        self.register_buffer("pca_mean", torch.zeros(784))
        self.register_buffer("pca_basis", torch.zeros(components, 784))      # rows: main directions
        self.register_buffer("lo", -torch.ones(len(STATISTICS)))
        self.register_buffer("median", torch.zeros(len(STATISTICS)))
        self.register_buffer("hi", torch.ones(len(STATISTICS)))
        self.register_buffer("cut", torch.zeros(()))

    def statistics(self, images: torch.Tensor) -> torch.Tensor:
        """[N, len(STATISTICS)], in STATISTICS' order."""
        x = grey_levels(images) / 255                                         # [N, 1, 28, 28] on 0..1
        steps = (x[..., 1:] - x[..., :-1]).abs().mean((1, 2, 3)) + (x[..., 1:, :] - x[..., :-1, :]).abs().mean((1, 2, 3))
        flat = images.flatten(1) - self.pca_mean                              # [N, 784]
        residual = flat - (flat @ self.pca_basis.T) @ self.pca_basis
        contrast = local_contrast(x)
        busiest = F.avg_pool2d(contrast, BLOCK).flatten(1).amax(1)            # [N]
        return torch.stack([
            torch.log(steps + EPS),
            torch.log(residual.pow(2).mean(1) + 1e-6),
            torch.log((contrast > EDGE_STEP).float().mean((1, 2, 3)) + 1e-3),
            (x < 0.5 / 255).float().mean((1, 2, 3)),
            torch.log(isolated_fraction(x) + 1 / 784),
            torch.log(busiest + EPS),
        ], dim=1)

    def tail_units(self, images: torch.Tensor) -> torch.Tensor:
        """[N, len(STATISTICS)]: how far outside the real range each statistic is (> 0: outside)."""
        return in_tail_units(self.statistics(images), self.lo, self.median, self.hi)

    def outlier_score(self, images: torch.Tensor) -> torch.Tensor:
        return self.tail_units(images).amax(1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return SLOPE * (self.cut - self.outlier_score(images))


def in_tail_units(values, lo, median, hi):
    """Statistics [N, S] in tail units against their range (lo, median, hi, each [S]); torch or numpy."""
    above, below = (values - hi) / (hi - median), (lo - values) / (median - lo)
    return torch.maximum(above, below) if isinstance(above, torch.Tensor) else np.maximum(above, below)


def tail_range(values: np.ndarray, lower_tail: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lo, median, hi) of statistics [N, S] of real images: the TAIL_QUANTILE quantiles and the
    median, at least MIN_WIDTH apart; a statistic without `lower_tail` gets lo NO_TAIL below."""
    lo, median, hi = np.quantile(values, [TAIL_QUANTILE, 0.5, 1 - TAIL_QUANTILE], axis=0)
    # A statistic pinned at its floor (most real images have no isolated pixel) has lo = median:
    # a least width keeps its tail units finite.
    lo, hi = np.minimum(lo, median - MIN_WIDTH), np.maximum(hi, median + MIN_WIDTH)
    return np.where(lower_tail, lo, median - NO_TAIL), median, hi  # no lower tail: units near -1 always


def fit_real_statistics(model: RealStatistics, images: torch.Tensor) -> RealStatistics:
    """Fill the PCA and the statistics' quantiles from real images [N, 1, 28, 28] in model range
    (the cut stays for the calibration: fit.py)."""
    flat = images.flatten(1).double().numpy()
    mean = flat.mean(0)
    _, eigenvectors = np.linalg.eigh(np.cov(flat - mean, rowvar=False))
    basis = eigenvectors[:, ::-1][:, : model.pca_basis.shape[0]].T          # largest first
    model.pca_mean.copy_(torch.as_tensor(mean, dtype=torch.float32))
    model.pca_basis.copy_(torch.as_tensor(np.ascontiguousarray(basis), dtype=torch.float32))
    with torch.inference_mode():
        s = torch.cat([model.statistics(batch) for batch in images.split(4096)]).double().numpy()
    lo, median, hi = tail_range(s, np.array([name not in UPPER_TAIL_ONLY for name in STATISTICS]))
    for name, value in (("lo", lo), ("median", median), ("hi", hi)):
        getattr(model, name).copy_(torch.as_tensor(value, dtype=torch.float32))
    return model

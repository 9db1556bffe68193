"""The zero-shot part of the detector: what every FashionMNIST image has by construction.

FashionMNIST's conversion stretched each image's contrast to the full 8-bit range, so the
brightest pixel of every one of its 70,000 images is at grey level 254 or 255. A generator's
tanh output reaches 255 only where it saturates, and a good GAN's images mostly keep a little
short of it (the shipped generator's: `brightest_strict` in docs/zero_shot.json, written by
`python bench/zero_shot.py`). No generated image is needed to know this,
so it holds for generators the detector has never seen.

A JPEG round trip lowers the brightest pixel of some real images too (ringing around a small
bright patch), and the policy is that a re-saved real photo stays real (docs/detector.md). JPEG
leaves its own trace, though: it zeroes high frequencies of each 8x8 block, so in the image's
blocks with content many high-frequency DCT coefficients are near 0 (`jpeg_trace`), where a
clean real image or a generator's has few. The rule, every threshold set on real images alone:

    brightest >= floor (254)                            real (every clean FashionMNIST image)
    cut <= brightest < 254 and jpeg_trace >= trace_cut  real (a re-saved real image)
    otherwise                                           generated

`floor` is the darkest brightest level of the real training images (254 for FashionMNIST's);
`cut` the level below which only `jpeg_budget` of JPEG-75 copies of held-out real images fall;
`trace_cut` the trace below which only `trace_budget` of JPEG copies (quality 75 and 95) of the
same images fall, among those below the floor.

    BrightestLevel      image [N, 1, 28, 28] in model range -> real_logit [N]
    jpeg_trace          image -> the fraction of near-zero high-frequency DCT coefficients
    fit_brightest_cut, fit_trace_cut   the thresholds from real images
"""
import numpy as np
import torch
from torch import nn

from train.data import grey_levels
from train.detection.sanity import pillow_round_trip

LEVEL_SLOPE = 1.0  # logit per grey level: 3 levels below the cut is "generated" with P = 0.97
TRACE_SLOPE = 100.0  # logit per unit of jpeg_trace: 0.03 below trace_cut is "generated" with P = 0.95
# logit per grey level around the floor: an image at the floor or above is real by the format (logit
# >= 8, so the part never lowers a clean image's confidence below the other parts'); one below it,
# only by its trace
FLOOR_SLOPE = 16.0
BLOCK = 8  # JPEG's block side
LOW_FREQUENCIES = 3  # the 3x3 lowest frequencies of a block survive JPEG: not counted in the trace
BUSY_BLOCK = 40.0  # grey levels: sum of |first-row and first-column AC coefficients| of a block with content
NEAR_ZERO = 0.5  # |coefficient| this small counts as zeroed (decoding rounds to whole levels)


def dct_matrix(n: int = BLOCK) -> torch.Tensor:
    """The orthonormal DCT-II matrix D [n, n]: coefficients of a block B are D @ B @ D.T."""
    k, i = torch.arange(n, dtype=torch.float64)[:, None], torch.arange(n, dtype=torch.float64)[None, :]
    d = torch.cos(torch.pi * (2 * i + 1) * k / (2 * n)) * (2 / n) ** 0.5
    d[0] /= 2 ** 0.5
    return d.float()


def jpeg_trace(levels: torch.Tensor, dct: torch.Tensor) -> torch.Tensor:
    """Grey levels [N, 1, H, W] (H, W <= 32) -> [N]: over the 8x8 blocks of the image as a JPEG
    encoder cuts it (edges repeated up to whole blocks), those with content, the mean fraction
    of high-frequency DCT coefficients within NEAR_ZERO of 0 (0 for an image without such blocks)."""
    n, _, h, w = levels.shape
    padded = torch.nn.functional.pad(levels - 128, (0, (-w) % BLOCK, 0, (-h) % BLOCK), mode="replicate")
    rows, cols = padded.shape[2] // BLOCK, padded.shape[3] // BLOCK
    blocks = padded.reshape(n, rows, BLOCK, cols, BLOCK).transpose(2, 3)      # [N, r, c, 8, 8]
    coefficients = dct @ blocks @ dct.T
    busy = (coefficients[..., 0, 1:].abs().sum(-1) + coefficients[..., 1:, 0].abs().sum(-1) > BUSY_BLOCK).float()
    high = torch.ones(BLOCK, BLOCK)
    high[:LOW_FREQUENCIES, :LOW_FREQUENCIES] = 0
    near_zero = ((coefficients.abs() < NEAR_ZERO).float() * high).sum((-2, -1)) / high.sum()  # [N, r, c]
    return (near_zero * busy).sum((1, 2)) / busy.sum((1, 2)).clamp(min=1)


def brightest_levels(images: np.ndarray) -> np.ndarray:
    """uint8 images [N, H, W] -> the grey level of each one's brightest pixel, int [N]."""
    return images.reshape(len(images), -1).max(1).astype(np.int64)


class BrightestLevel(nn.Module):
    """image [N, 1, 28, 28] -> real_logit [N] = min(above the cut, max(at the floor, JPEG trace)),
    each term a logit (the module docstring's rule). A `trace_cut` of -1 (the default) lets every
    image at or above `cut` through: the plain cut."""

    def __init__(self, cut: int = 0, trace_cut: float = -1.0, floor: int = 254):
        super().__init__()
        self.register_buffer("cut", torch.tensor(float(cut)))
        self.register_buffer("floor", torch.tensor(float(floor)))
        self.register_buffer("trace_cut", torch.tensor(float(trace_cut)))
        self.register_buffer("dct", dct_matrix())

    def forward(self, image: torch.Tensor) -> torch.Tensor:  # `image`: the ONNX input's name
        levels = grey_levels(image).round()
        brightest = levels.flatten(1).amax(1)
        above_cut = LEVEL_SLOPE * (brightest - self.cut + 0.5)
        at_floor = FLOOR_SLOPE * (brightest - self.floor + 0.5)
        re_saved = TRACE_SLOPE * (jpeg_trace(levels, self.dct) - self.trace_cut)
        return torch.minimum(above_cut, torch.maximum(at_floor, re_saved))


def fit_brightest_cut(real: np.ndarray, jpeg_quality: int, jpeg_budget: float) -> int:
    """The cut for real uint8 images [N, 28, 28] (held out of any training): the lowest level
    such that at most `jpeg_budget` of them fall below it after a JPEG round trip at
    `jpeg_quality`, and never above the darkest brightest level of the images as they are."""
    levels = brightest_levels(pillow_round_trip(real, "JPEG", quality=jpeg_quality))
    cut = int(np.quantile(levels, jpeg_budget, method="lower"))   # at most jpeg_budget below it
    return min(cut, int(brightest_levels(real).min()))


TRACE_QUALITIES = (75, 95)  # the JPEG copies whose traces set trace_cut: a common and a light setting


def fit_floor(real: np.ndarray) -> int:
    """The darkest brightest level of real uint8 images [N, 28, 28]: what every one of them reaches."""
    return int(brightest_levels(real).min())


def fit_trace_cut(real: np.ndarray, trace_budget: float, floor: int,
                  jpeg_qualities: tuple = TRACE_QUALITIES) -> float:
    """The JPEG trace below which at most `trace_budget` of the JPEG copies (each quality) of
    real uint8 images [N, 28, 28] fall, among the copies whose brightest pixel is below `floor`."""
    copies = np.concatenate([pillow_round_trip(real, "JPEG", quality=q) for q in jpeg_qualities])
    below = copies[brightest_levels(copies) < floor]
    if len(below) == 0:
        return -1.0
    traces = jpeg_trace(torch.from_numpy(below).float().unsqueeze(1), dct_matrix()).numpy()
    return float(np.quantile(traces, trace_budget, method="lower"))

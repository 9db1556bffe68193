"""Augmentations applied alike to real and generated training images, so that the detector
cannot lean on what they erase (exact pixel grids, high-frequency grain, JPEG-free pixels) and
learns cues that survive them. Each takes and returns model-range images [N, 1, 28, 28].
"""
import io

import numpy as np
import torch
from PIL import Image
from torch.nn import functional as F

from train.data import to_model_range, to_uint8


def shift(images: torch.Tensor, rng: torch.Generator, max_pixels: int = 2) -> torch.Tensor:
    """Move each image by whole pixels (up to max_pixels each way), filling with black (-1)."""
    n = len(images)
    padded = F.pad(images, [max_pixels] * 4, value=-1.0)
    dx = torch.randint(0, 2 * max_pixels + 1, (n,), generator=rng)
    dy = torch.randint(0, 2 * max_pixels + 1, (n,), generator=rng)
    rows = (dy[:, None] + torch.arange(28))[:, :, None]                    # [N, 28, 1]
    cols = (dx[:, None] + torch.arange(28))[:, None, :]                    # [N, 1, 28]
    return padded[torch.arange(n)[:, None, None], 0, rows, cols][:, None]


def blur(images: torch.Tensor, rng: torch.Generator, max_sigma: float = 1.0) -> torch.Tensor:
    """A 3x3 Gaussian blur whose sigma is drawn per image from [0.3, max_sigma]."""
    sigma = 0.3 + (max_sigma - 0.3) * torch.rand(len(images), generator=rng)
    taps = torch.exp(-torch.tensor([1.0, 0.0, 1.0])[None] / (2 * sigma[:, None] ** 2))  # [N, 3]
    taps = taps / taps.sum(1, keepdim=True)
    kernels = (taps[:, :, None] * taps[:, None, :])[:, None]                # [N, 1, 3, 3]
    padded = F.pad(images, [1] * 4, mode="replicate").transpose(0, 1)     # [1, N, 30, 30]
    return F.conv2d(padded, kernels, groups=len(images)).transpose(0, 1)


def noise(images: torch.Tensor, rng: torch.Generator, max_std: float = 0.08) -> torch.Tensor:
    """Gaussian pixel noise, its standard deviation drawn per image from [0, max_std]."""
    std = max_std * torch.rand(len(images), 1, 1, 1, generator=rng)
    return images + std * torch.randn(images.shape, generator=rng)


def jpeg(images: torch.Tensor, rng: torch.Generator, qualities: tuple = (50, 95)) -> torch.Tensor:
    """A JPEG round trip through Pillow at a quality drawn per image."""
    pixels = to_uint8(images).numpy()
    quality = torch.randint(qualities[0], qualities[1] + 1, (len(images),), generator=rng).tolist()
    out = np.empty_like(pixels)
    for i, (image, q) in enumerate(zip(pixels, quality)):
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format="JPEG", quality=q)
        out[i] = np.asarray(Image.open(buffer).convert("L"))
    return to_model_range(torch.from_numpy(out))


# (augmentation, fraction of images it is applied to)
AUGMENTATIONS = ((shift, 0.5), (blur, 0.1), (noise, 0.1), (jpeg, 0.1))


def augment(images: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
    """Each augmentation on a random subset of the batch, then back onto the uint8 grid
    that every input the detector sees comes from."""
    images = images.clone()
    for function, fraction in AUGMENTATIONS:
        chosen = torch.rand(len(images), generator=rng) < fraction
        if chosen.any():
            images[chosen] = function(images[chosen], rng)
    return to_model_range(to_uint8(images))

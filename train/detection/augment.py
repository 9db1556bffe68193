"""Augmentations applied alike to real and generated training images of the fingerprint CNN,
each taking and returning model-range images [N, 1, 28, 28].

Only what a real image meets in ordinary handling and stays real after: a shift by whole pixels
(framing) and a JPEG round trip (re-saving). Noise and blur are deliberately absent: added to
both classes they teach the CNN that grain and smearing are no evidence, and it then calls pure
noise real. Images damaged that way are the real-image model's to flag (real_model.py), and
the sanity battery (sanity.py) measures where each lands.
"""
import io

import numpy as np
import torch
from PIL import Image
from torch.nn import functional as F

from detector.metadata import PIXEL_OFFSET
from train.data import to_model_range, to_uint8


def shift(images: torch.Tensor, rng: torch.Generator, max_pixels: int = 2) -> torch.Tensor:
    """Move each image by whole pixels (up to max_pixels each way), filling with black."""
    n, height, width = len(images), images.shape[-2], images.shape[-1]
    padded = F.pad(images, [max_pixels] * 4, value=PIXEL_OFFSET)          # grey level 0 in model range
    dx = torch.randint(0, 2 * max_pixels + 1, (n,), generator=rng)
    dy = torch.randint(0, 2 * max_pixels + 1, (n,), generator=rng)
    rows = (dy[:, None] + torch.arange(height))[:, :, None]                # [N, H, 1]
    cols = (dx[:, None] + torch.arange(width))[:, None, :]                 # [N, 1, W]
    return padded[torch.arange(n)[:, None, None], 0, rows, cols][:, None]


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
AUGMENTATIONS = ((shift, 0.5), (jpeg, 0.2))


def augment(images: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
    """Each augmentation on a random subset of the batch, then back onto the uint8 grid
    that every input the detector sees comes from."""
    images = images.clone()
    for function, fraction in AUGMENTATIONS:
        chosen = torch.rand(len(images), generator=rng) < fraction
        if chosen.any():
            images[chosen] = function(images[chosen], rng)
    return to_model_range(to_uint8(images))

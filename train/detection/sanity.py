"""The sanity battery: image sets whose right answer is known, and a detector's score on them.

A detector trained only on the fingerprints of some GANs can learn "real" as "whatever is not one
of these GANs" and then call pure noise real. These sets ask the questions any person answers at
a glance:

- must be called **generated**: uniform noise, Gaussian noise, flat images of one grey level, real
  images whose top or bottom half is replaced by noise;
- must be called **real**: clean real test images, and the same after a PNG round trip (lossless,
  so the same pixels: a detector that changed its mind would be reading the file, not the image);
- **report only** (expected None): ordinary damage to real images, where which answer is right is
  a policy choice (additive noise, 15 % salt-and-pepper speckle, Gaussian blur, JPEG at quality
  75 and 95, a one-pixel shift). They are measured and printed; nothing passes or fails on them.

`BATTERY` is the one place that says which set expects which label. Each set is made from real
uint8 images [N, 28, 28] and a numpy Generator seeded by (seed, set name), so a set's images do
not change when another set is added. Pure numpy and Pillow: no model and no torch here.
"""
import io
import zlib
from typing import Callable, NamedTuple, Optional

import numpy as np
from PIL import Image, ImageFilter

from train.errors import EvaluationError

GENERATED, REAL = "generated", "real"
# A set passes when at least this fraction of its images get the expected label: room for the
# ~2 % of real images a detector calibrated to 2 % FPR calls generated, and no more.
PASS_FRACTION = 0.95
GAUSSIAN_SD = 64.0  # grey levels: Gaussian-noise images spread over most of 0..255
ADDED_NOISE_SD = 12.0  # grey levels (~5 % of the range): visible grain on a real image
SPECKLE_FRACTION = 0.15  # pixels set to black or white at random
BLUR_RADIUS = 1.0  # Pillow's GaussianBlur radius (its standard deviation), in pixels


def round_to_uint8(values: np.ndarray) -> np.ndarray:
    """Round and clip to the 0..255 grid of an 8-bit image."""
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


def uniform_noise(real: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return rng.integers(0, 256, real.shape, dtype=np.uint8)


def gaussian_noise(real: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return round_to_uint8(rng.normal(127.5, GAUSSIAN_SD, real.shape))


def flat_grey(real: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each image one grey level, drawn uniformly from 0..255 (black ones included)."""
    levels = rng.integers(0, 256, (len(real), 1, 1), dtype=np.uint8)
    return np.broadcast_to(levels, real.shape).copy()


def half_noise(real: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Real images with their top or bottom 14 rows (a coin flip per image) replaced by uniform noise."""
    out, noise = real.copy(), uniform_noise(real, rng)
    half = real.shape[1] // 2
    top = rng.random(len(real)) < 0.5
    out[top, :half] = noise[top, :half]
    out[~top, half:] = noise[~top, half:]
    return out


def unchanged(real: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return real.copy()


def pillow_round_trip(images: np.ndarray, format: str, **options) -> np.ndarray:
    """Each image encoded by Pillow in `format` (PNG, JPEG) and decoded again, as a file would be."""
    out = np.empty_like(images)
    for i, image in enumerate(images):
        buffer = io.BytesIO()
        Image.fromarray(image, mode="L").save(buffer, format=format, **options)
        out[i] = np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("L"))
    return out


def png(real: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return pillow_round_trip(real, "PNG")


def jpeg(quality: int) -> Callable:
    def make(real: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return pillow_round_trip(real, "JPEG", quality=quality)
    return make


def added_noise(real: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return round_to_uint8(real + rng.normal(0.0, ADDED_NOISE_SD, real.shape))


def speckle(real: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Salt and pepper: SPECKLE_FRACTION of the pixels, chosen at random, set to 0 or 255 (a coin flip each)."""
    out = real.copy()
    hit = rng.random(real.shape) < SPECKLE_FRACTION
    out[hit] = np.where(rng.random(int(hit.sum())) < 0.5, 0, 255)
    return out


def blurred(real: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    blur = ImageFilter.GaussianBlur(BLUR_RADIUS)
    return np.stack([np.asarray(Image.fromarray(image, mode="L").filter(blur)) for image in real])


# (dy, dx) of a one-pixel shift: down, up, right, left.
SHIFTS = ((1, 0), (-1, 0), (0, 1), (0, -1))


def shifted(real: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each image moved one pixel in a random direction (SHIFTS), the uncovered edge black
    (FashionMNIST's background), nothing wrapped round."""
    height, width = real.shape[1:]
    padded = np.pad(real, ((0, 0), (1, 1), (1, 1)))
    direction = rng.integers(0, len(SHIFTS), len(real))
    out = np.empty_like(real)
    for k, (dy, dx) in enumerate(SHIFTS):
        pick = direction == k
        out[pick] = padded[pick, 1 - dy:1 - dy + height, 1 - dx:1 - dx + width]
    return out


class SanitySet(NamedTuple):
    expected: Optional[str]  # GENERATED, REAL, or None: report only
    make: Callable[[np.ndarray, np.random.Generator], np.ndarray]  # (real uint8 [N,28,28], rng) -> [N,28,28]
    what: str  # one line for the report


BATTERY = {
    "uniform_noise": SanitySet(GENERATED, uniform_noise, "uniform noise, each pixel 0-255"),
    "gaussian_noise": SanitySet(GENERATED, gaussian_noise, f"Gaussian noise, mean 127.5, sd {GAUSSIAN_SD:g}"),
    "flat_grey": SanitySet(GENERATED, flat_grey, "one random grey level per image"),
    "half_noise": SanitySet(GENERATED, half_noise, "real, top or bottom half replaced by uniform noise"),
    "real": SanitySet(REAL, unchanged, "real test images"),
    "real_png": SanitySet(REAL, png, "real, after a PNG round trip (Pillow)"),
    "real_noise": SanitySet(None, added_noise, f"real + Gaussian noise, sd {ADDED_NOISE_SD:g}"),
    "real_speckle": SanitySet(None, speckle, f"real + {SPECKLE_FRACTION:.0%} salt-and-pepper speckle"),
    "real_blur": SanitySet(None, blurred, f"real, Gaussian blur radius {BLUR_RADIUS:g}"),
    "real_jpeg75": SanitySet(None, jpeg(75), "real, after JPEG quality 75 (Pillow)"),
    "real_jpeg95": SanitySet(None, jpeg(95), "real, after JPEG quality 95 (Pillow)"),
    "real_shifted": SanitySet(None, shifted, "real, shifted one pixel (random direction)"),
}


def set_rng(seed: int, name: str) -> np.random.Generator:
    """The Generator of one set: seeded by the name too, so sets stay put when others are added."""
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


def check_real(real: np.ndarray) -> np.ndarray:
    real = np.asarray(real)
    if real.dtype != np.uint8 or real.ndim != 3 or len(real) == 0:
        raise EvaluationError(f"the sanity battery needs real uint8 images [N, H, W], N > 0; "
                              f"got {real.dtype} {list(real.shape)}")
    return real


def make_set(name: str, real: np.ndarray, seed: int = 0) -> np.ndarray:
    """The images of BATTERY[name], as many as `real` has, uint8 [N, H, W]."""
    if name not in BATTERY:
        raise EvaluationError(f"no sanity set {name!r}; the sets are {', '.join(BATTERY)}")
    return BATTERY[name].make(check_real(real), set_rng(seed, name))


def make_battery(real: np.ndarray, seed: int = 0) -> dict:
    """Every set of BATTERY, in its order: name -> uint8 [N, H, W]."""
    return {name: make_set(name, real, seed) for name in BATTERY}


def score_set(expected: Optional[str], logits: np.ndarray, threshold: float, pass_fraction: float) -> dict:
    """Fractions called real (logit >= threshold, as the CLI's label) and generated; `passes` is
    None for a report-only set, else whether >= pass_fraction got `expected`."""
    called_real = float(np.mean(logits >= threshold))
    row = {"expected": expected, "images": len(logits), "called_real": called_real,
           "called_generated": 1.0 - called_real}
    row["passes"] = None if expected is None else bool(row[f"called_{expected}"] >= pass_fraction)
    return row


def run_battery(logits: Callable[[np.ndarray], np.ndarray], real: np.ndarray, threshold: float = 0.0,
                seed: int = 0, pass_fraction: float = PASS_FRACTION) -> dict:
    """Score every set with `logits` (uint8 [N, H, W] -> real-vs-generated logits [N], higher =
    more real): set name -> score_set's row."""
    rows = {}
    for name, images in make_battery(real, seed).items():
        values = np.asarray(logits(images), dtype=np.float64)
        if values.shape != (len(images),) or np.isnan(values).any():
            raise EvaluationError(f"sanity set {name}: the model gave logits of shape {list(values.shape)}"
                                  f"{' with NaN' if np.isnan(values).any() else ''} for {len(images)} images")
        rows[name] = score_set(BATTERY[name].expected, values, threshold, pass_fraction)
    return rows


def passed(rows: dict) -> tuple[int, int]:
    """(sets passed, sets checked) of run_battery's rows: report-only sets are not checked."""
    checked = [row["passes"] for row in rows.values() if row["passes"] is not None]
    return sum(checked), len(checked)

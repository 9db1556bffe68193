"""`python -m train.wreath`: an Advent wreath whose candles a GAN drew (a seasonal toy).

    python -m train --dataset npy --data-path candle.npy --run-dir runs/candle   # once
    python -m train.wreath --run-dir runs/candle [--date 2026-12-13] [--out wreath.png] [--seed N]

candle.npy is the Quick, Draw! "candle" bitmap file (CANDLE_NPY_URL). The 4th Advent is the last
Sunday on or before 24 December and the 1st is 21 days earlier; the lit candles are the Advent
Sundays on or before --date (default today). From 25 December to 6 January a fifth candle
appears, lit too: the wreath counted on past Christmas. Before the 1st Advent the wreath is
drawn unlit, and the printed line names the 1st Advent's date.
"""
import datetime as dt
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Optional

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from train.command import run_command
from train.errors import WreathError
from train.gan.checkpoint import is_unconditional
from train.gan.runtime import pick_device
from train.gan.sampling import load_generator, sample_images
from train.run.rundir import RunDir

CANDLE_NPY_URL = "https://storage.googleapis.com/quickdraw_dataset/full/numpy_bitmap/candle.npy"
CANDLE_CLASS = "candle"
BACKGROUND, BERRY = (16, 20, 44, 255), (190, 24, 32, 255)
GREENS = ((24, 92, 40, 255), (34, 120, 52, 255), (18, 70, 34, 255), (52, 140, 60, 255))
LIT_WAX, UNLIT_WAX = (255, 240, 190, 255), (112, 112, 118, 255)
GLOW, FLAME = (255, 150, 30), (255, 220, 90, 255)


@dataclass
class WreathConfig:
    run_dir: Path = field(default=Path("runs/candle"), metadata={
        "help": "run trained on Quick, Draw! candles (python -m train --dataset npy --data-path "
                "candle.npy); its checkpoints/latest.pt draws the candles"})
    date: Optional[str] = field(default=None, metadata={
        "help": "YYYY-MM-DD deciding how many candles are lit (default: today)"})
    out: Path = field(default=Path("wreath.png"), metadata={"help": "the PNG to write"})
    seed: int = field(default=0, metadata={"help": "seed of the candles' noise and the greenery"})
    size: int = field(default=512, metadata={"help": "width and height of the PNG in pixels"})
    device: Literal["auto", "cpu", "cuda"] = field(default="auto", metadata={
        "help": "where to run the generator; auto picks CUDA when present"})


def advent_sundays(year: int) -> list[dt.date]:
    """The four Advent Sundays of `year`: the 4th is the last Sunday on or before 24 December."""
    christmas_eve = dt.date(year, 12, 24)
    fourth = christmas_eve - dt.timedelta(days=(christmas_eve.weekday() + 1) % 7)  # Sunday = 6
    return [fourth - dt.timedelta(weeks=3 - i) for i in range(4)]


def in_christmas_season(day: dt.date) -> bool:
    """25 December to 6 January (Epiphany): the fifth candle's days."""
    return (day.month == 12 and day.day >= 25) or (day.month == 1 and day.day <= 6)


def lit_candles(day: dt.date) -> int:
    """0 before the 1st Advent, 1-4 in Advent, 5 from 25 December to 6 January."""
    if in_christmas_season(day):
        return 5
    return sum(sunday <= day for sunday in advent_sundays(day.year))


def parse_date(text: Optional[str]) -> dt.date:
    if text is None:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise WreathError(f"--date {text!r} is not a YYYY-MM-DD date") from None


def caption(day: dt.date, lit: int) -> str:
    if lit == 0:
        return f"{day:%d %B %Y}: Advent begins {advent_sundays(day.year)[0]:%d %B}"
    if lit == 5:
        return f"{day:%d %B %Y}: a fifth candle - we missed Christmas"
    return f"{day:%d %B %Y}: {lit}{['st', 'nd', 'rd', 'th'][lit - 1]} Advent"


def candle_label(checkpoint: dict) -> int:
    """The generator's label for a candle: the "candle" class, or 0 for --unconditional runs."""
    if is_unconditional(checkpoint):
        return 0
    names = [str(name) for name in checkpoint["class_names"]]
    folded = [name.casefold() for name in names]
    if CANDLE_CLASS not in folded:
        raise WreathError(f"this run has no {CANDLE_CLASS!r} class (its classes: {', '.join(names)}); "
                          f"train one with --dataset npy --data-path {CANDLE_CLASS}.npy")
    return folded.index(CANDLE_CLASS)


def missing_run_message(run_dir: Path) -> str:
    return (f"no candle generator at {RunDir(run_dir).latest}; train one first with\n"
            f"  python -m train --dataset npy --data-path candle.npy --run-dir {run_dir}\n"
            f"where candle.npy is the Quick, Draw! numpy bitmap file {CANDLE_NPY_URL}")


def draw_candles(config: WreathConfig, n: int) -> tuple[np.ndarray, int]:
    """n candle images uint8 [n, 28, 28] (ink bright) from the run, and the run's step."""
    if not RunDir(config.run_dir).latest.is_file():
        raise WreathError(missing_run_message(config.run_dir))
    device = pick_device(config.device)
    generator, checkpoint = load_generator(config.run_dir, device)
    labels = np.full(n, candle_label(checkpoint), dtype=np.int64)
    return sample_images(generator, labels, config.seed, device), int(checkpoint["step"])


def ring_point(size: int, angle: float, scale: float = 1.0) -> tuple[float, float]:
    """A point on the wreath's ellipse (seen from slightly above), centre low in the picture."""
    return (size * (0.5 + 0.34 * scale * math.cos(angle)),
            size * (0.68 + 0.13 * scale * math.sin(angle)))


def draw_greenery(canvas: Image.Image, rng: np.random.Generator) -> None:
    size, draw = canvas.width, ImageDraw.Draw(canvas)
    for _ in range(260):
        x, y = ring_point(size, rng.uniform(0, 2 * math.pi), rng.uniform(0.82, 1.18))
        r = size * rng.uniform(0.018, 0.032)
        draw.ellipse((x - r, y - r * 0.7, x + r, y + r * 0.7), fill=GREENS[rng.integers(len(GREENS))])
    for _ in range(14):
        x, y = ring_point(size, rng.uniform(0, 2 * math.pi), rng.uniform(0.9, 1.1))
        r = size * 0.009
        draw.ellipse((x - r, y - r, x + r, y + r), fill=BERRY)


def flame_point(image: np.ndarray) -> tuple[float, float]:
    """Where the flame goes, as fractions of the image: the topmost ink, at its centre."""
    rows = np.flatnonzero(image.max(axis=1) > 96)
    if len(rows) == 0:
        return 0.5, 0.1
    top = image[rows[0]]
    x = float((np.arange(len(top)) * top).sum() / max(top.sum(), 1))
    return (x + 0.5) / image.shape[1], (rows[0] + 1.0) / image.shape[0]


def paste_candle(canvas: Image.Image, image: np.ndarray, bottom: tuple[float, float], lit: bool) -> None:
    """One generated candle standing on `bottom`: warm and glowing when lit, grey when not."""
    side = canvas.width // 4
    left, top = int(bottom[0] - side / 2), int(bottom[1] - side * 0.92)
    mask = Image.fromarray(image, mode="L").resize((side, side), Image.Resampling.BILINEAR)
    fx, fy = flame_point(image)
    fx, fy = left + fx * side, top + fy * side
    if lit:
        glow = Image.new("RGBA", canvas.size, GLOW + (0,))
        r = side * 0.32
        ImageDraw.Draw(glow).ellipse((fx - r, fy - r, fx + r, fy + r), fill=GLOW + (170,))
        canvas.alpha_composite(glow.filter(ImageFilter.GaussianBlur(side / 7)))
    canvas.paste(LIT_WAX if lit else UNLIT_WAX, (left, top, left + side, top + side), mask)
    if lit:
        w, h = side * 0.05, side * 0.09
        ImageDraw.Draw(canvas).ellipse((fx - w, fy - h, fx + w, fy + h * 0.6), fill=FLAME)


def render_wreath(candles: np.ndarray, lit: int, text: str, size: int = 512, seed: int = 0) -> Image.Image:
    """The picture: greenery on a dark ground, len(candles) candles on it (the first `lit`
    lit, going round), back ones first, and a caption."""
    canvas = Image.new("RGBA", (size, size), BACKGROUND)
    draw_greenery(canvas, np.random.default_rng(seed))
    n = len(candles)
    angles = [math.pi / 2 + 2 * math.pi * (k + 0.5 * (n % 2 == 0)) / n for k in range(n)]
    for k in sorted(range(n), key=lambda k: math.sin(angles[k])):  # back (top) ones first
        paste_candle(canvas, candles[k], ring_point(size, angles[k]), k < lit)
    font = ImageFont.load_default(size=max(size // 28, 8))
    ImageDraw.Draw(canvas).text((size / 2, size * 0.94), text, fill=(235, 235, 235, 255), font=font,
                                anchor="mm")
    return canvas.convert("RGB")


def make_wreath(config: WreathConfig) -> dict:
    """Draw the wreath for config.date into config.out; returns what was drawn."""
    if config.size < 64:
        raise WreathError(f"--size must be at least 64 pixels, not {config.size}")
    day = parse_date(config.date)
    lit = lit_candles(day)
    candles, step = draw_candles(config, max(lit, 4))
    picture = render_wreath(candles, lit, caption(day, lit), config.size, config.seed)
    config.out.parent.mkdir(parents=True, exist_ok=True)
    picture.save(config.out)
    return {"out": str(config.out), "date": day.isoformat(), "lit": lit, "candles": len(candles),
            "step": step, "first_advent": advent_sundays(day.year)[0].isoformat()}


def describe(config: WreathConfig, s: dict) -> str:
    lit = f"{s['lit']} of {s['candles']} candles lit" if s["lit"] else \
        f"no candle lit yet (1st Advent {s['first_advent']})"
    return f"wrote {s['out']}: {lit} on {s['date']} (generator step {s['step']})"


def main(argv=None) -> int:
    return run_command(WreathConfig, argv, module="train.wreath", action=make_wreath,
                       description="Draw an Advent wreath with candles from a GAN trained on "
                                   "Quick, Draw! candles.", describe=describe)


if __name__ == "__main__":
    sys.exit(main())

"""The trainer's sample figures: the epoch grid and, at the end, pairs.png.

Conditional runs draw one labelled row per class and pair each class's generated image with a
real one of that class. Unconditional runs (--unconditional) have no classes to show: the grid
is a plain grid of the same fixed noise (rows are not classes, and are labelled so), and
pairs.png puts generated images beside real training images with no class pairing.
"""
from pathlib import Path
from typing import Sequence

import numpy as np

from . import plots
from .data import ImageSet


def save_grid(grid: np.ndarray, class_names: Sequence[str], path: Path, title: str,
              unconditional: bool) -> None:
    if unconditional:
        plots.save_plain_grid(grid, len(class_names), path, title)
    else:
        plots.save_class_grid(grid, class_names, path, title)


def first_real_per_class(data: ImageSet) -> np.ndarray:
    """uint8 [classes, H, W]: each class's first training image (black when the class is absent)."""
    names = data.class_names
    real = np.zeros((len(names), *data.images.shape[1:]), dtype=np.uint8)
    for c in range(len(names)):
        found = (data.labels == c).nonzero()
        if len(found):
            real[c] = data.images[found[0, 0]].cpu().numpy()
    return real


def save_pairs(grid: np.ndarray, data: ImageSet, path: Path, per_row: int,
               unconditional: bool) -> None:
    """Conditional: per class, a generated image beside a real one. Unconditional: as many
    rows of a generated image beside a real training image, unpaired (rows are not classes)."""
    if not unconditional:
        plots.save_pairs(grid[::per_row], first_real_per_class(data), data.class_names, path)
        return
    rows = min(len(data.class_names), len(grid), len(data.images))
    real = data.images[:rows].cpu().numpy()
    plots.save_pairs(grid[:rows], real, [f"sample {i + 1}" for i in range(rows)], path,
                     title="generated vs real (unconditional: not paired by class)")

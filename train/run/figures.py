"""A run's figures: loss curves, the epoch sample grid and, at the end, pairs.png.

Conditional runs draw one labelled row per class and pair each class's generated image with a
real one of that class. Unconditional runs (--unconditional) have no classes to show: the grid
is a plain grid of the same fixed noise (rows are not classes, and are labelled so), and
pairs.png puts generated images beside real training images with no class pairing.
"""

from pathlib import Path
from typing import Sequence

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from train.data import ImageSet  # noqa: E402
from train.run.metrics_log import step_rows  # noqa: E402


def tile(images: np.ndarray, rows: int, pad: int = 2) -> np.ndarray:
    """uint8 [rows*cols, H, W] -> one uint8 image with the tiles in row-major order; RGB tiles
    [rows*cols, 3, H, W] -> one [height, width, 3] image."""
    if images.ndim == 4:
        images = images.transpose(0, 2, 3, 1)
    n, h, w = images.shape[:3]
    cols = -(-n // rows)
    canvas = np.full((rows * (h + pad) + pad, cols * (w + pad) + pad, *images.shape[3:]), 64, dtype=np.uint8)
    for i, image in enumerate(images):
        r, c = divmod(i, cols)
        canvas[pad + r * (h + pad): pad + r * (h + pad) + h,
               pad + c * (w + pad): pad + c * (w + pad) + w] = image
    return canvas


def _save_labelled_grid(canvas: np.ndarray, row_labels: Sequence[str], path: Path,
                        title: str, col_labels: Sequence[str] = ()) -> None:
    rows = len(row_labels)
    row_height = canvas.shape[0] / rows
    fig, ax = plt.subplots(figsize=(2.2 + canvas.shape[1] / 40, 0.6 + canvas.shape[0] / 40))
    ax.imshow(canvas, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
    ax.set_yticks([row_height * (r + 0.5) for r in range(rows)], labels=row_labels)
    if col_labels:
        col_width = canvas.shape[1] / len(col_labels)
        ax.set_xticks([col_width * (c + 0.5) for c in range(len(col_labels))], labels=col_labels)
        ax.xaxis.tick_top()
    else:
        ax.set_xticks([])
    ax.tick_params(length=0)
    ax.set_title(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def save_class_grid(images: np.ndarray, class_names: Sequence[str], path: Path, title: str) -> None:
    """uint8 [classes*k, 28, 28], class-major (row r = class r) -> a labelled PNG."""
    _save_labelled_grid(tile(images, len(class_names)), class_names, path, title)


def save_plain_grid(images: np.ndarray, rows: int, path: Path, title: str) -> None:
    """uint8 [rows*k, 28, 28] of an unconditional generator: rows are not classes."""
    _save_labelled_grid(tile(images, rows), [f"row {r + 1}" for r in range(rows)], path,
                        f"{title} (unconditional: rows are not classes)")


def draw_pairs(generated: np.ndarray, real: np.ndarray, class_names: Sequence[str], path: Path,
               title: str = "generated vs real") -> None:
    """One row per class: a generated image beside a real one of that class."""
    pairs = np.stack([generated, real], axis=1).reshape(-1, *generated.shape[1:])
    _save_labelled_grid(tile(pairs, len(class_names)), class_names, path,
                        title, col_labels=("generated", "real"))


def smooth(values: np.ndarray, weight: float = 0.98) -> np.ndarray:
    """Bias-corrected exponential moving average, as TensorBoard's smoothing slider."""
    out, last = np.empty(len(values)), 0.0
    for i, v in enumerate(values):
        last = weight * last + (1 - weight) * v
        out[i] = last / (1 - weight ** (i + 1))
    return out


def _raw_and_smoothed(ax, steps: np.ndarray, rows: Sequence[dict], key: str, colour: str,
                      label: str) -> None:
    values = np.array([r[key] for r in rows])
    ax.plot(steps, values, color=colour, alpha=0.25, linewidth=0.6)
    ax.plot(steps, smooth(values), color=colour, label=label)


def save_loss_curves(rows: Sequence[dict], path: Path) -> None:
    """Over steps (raw, faint; smoothed, solid): G and D losses; D(x) and D(G(z)); and D's
    real-vs-generated accuracy on each batch, against chance (0.5), when the rows have it.
    Rows without losses (the domain FID rows of metrics.jsonl) are left out."""
    rows = step_rows(rows)
    steps = np.array([r["step"] for r in rows])
    has_accuracy = bool(rows) and all("d_accuracy" in r for r in rows)
    fig, axes = plt.subplots(3 if has_accuracy else 2, 1, figsize=(8, 8.5 if has_accuracy else 6),
                             sharex=True)
    for key, colour in (("loss_d", "tab:blue"), ("loss_g", "tab:orange")):
        _raw_and_smoothed(axes[0], steps, rows, key, colour, f"{key} (smoothed)")
    axes[0].set_ylabel("loss")
    for key, colour, label in (("d_real", "tab:green", "D(x)"), ("d_fake", "tab:red", "D(G(z))")):
        _raw_and_smoothed(axes[1], steps, rows, key, colour, label)
    axes[1].set_ylim(0, 1)
    axes[1].set_ylabel("mean sigmoid output")
    if has_accuracy:
        _raw_and_smoothed(axes[2], steps, rows, "d_accuracy", "tab:purple",
                          "D accuracy, real vs generated (batch)")
        axes[2].axhline(0.5, color="grey", linestyle="--", linewidth=0.8, label="chance")
        axes[2].set_ylim(0, 1)
        axes[2].set_ylabel("accuracy")
    for ax in axes:
        ax.legend()
    axes[-1].set_xlabel("step")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def save_grid(grid: np.ndarray, class_names: Sequence[str], path: Path, title: str,
              unconditional: bool) -> None:
    if unconditional:
        save_plain_grid(grid, len(class_names), path, title)
    else:
        save_class_grid(grid, class_names, path, title)


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
        draw_pairs(grid[::per_row], first_real_per_class(data), data.class_names, path)
        return
    rows = min(max(len(data.class_names), len(grid) // per_row), len(grid), len(data.images))
    real = data.images[:rows].cpu().numpy()
    draw_pairs(grid[:rows], real, [f"sample {i + 1}" for i in range(rows)], path,
                     title="generated vs real (unconditional: not paired by class)")

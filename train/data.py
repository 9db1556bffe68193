"""FashionMNIST from its four IDX files, held in memory as one uint8 tensor.

Looks in --data-dir, then Debian's `dataset-fashion-mnist` folder, then falls back to
torchvision's downloader (for machines with neither).
"""
import gzip
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import torch

from .errors import DataError

CLASS_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
DOWNLOAD_DIR = Path.home() / ".cache" / "fmnist-gan"
SPLIT_PREFIX = {"train": "train", "test": "t10k"}
_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


@dataclass
class ImageSet:
    images: torch.Tensor  # [N, 28, 28] uint8, 0 = black background
    labels: torch.Tensor  # [N] int64 class indices
    class_names: tuple

    def __len__(self) -> int:
        return len(self.labels)


def read_idx(path: Path) -> np.ndarray:
    """Read one IDX file (gzipped or not): magic 00 00 TYPE NDIM, big-endian dims, then data."""
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as e:
        raise DataError(f"cannot read IDX file {path}: {e}") from e
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise DataError(f"{path} is not an IDX file (magic bytes {raw[:4].hex()})")
    ndim = raw[3]
    offset = 4 + 4 * ndim
    if len(raw) < offset:
        raise DataError(f"{path}: truncated header ({len(raw)} bytes; {ndim} dimensions need {offset})")
    dims = np.frombuffer(raw, dtype=">u4", count=ndim, offset=4)
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    expected = int(np.prod(dims)) * dtype.itemsize
    if len(raw) - offset != expected:
        raise DataError(f"{path}: header says {tuple(int(d) for d in dims)} "
                        f"({expected} bytes) but {len(raw) - offset} bytes follow")
    # frombuffer is read-only; copy so torch.from_numpy gets writable memory.
    return np.frombuffer(raw, dtype=dtype, offset=offset).reshape(dims).copy()


def _idx_path(folder: Path, split: str, kind: str) -> Optional[Path]:
    stem = f"{SPLIT_PREFIX[split]}-{kind}-ubyte"
    for candidate in (folder / f"{stem}.gz", folder / stem):
        if candidate.is_file():
            return candidate
    return None


def _has_split(folder: Path, split: str) -> bool:
    return all(_idx_path(folder, split, kind) for kind in ("images-idx3", "labels-idx1"))


def _download(split: str) -> Path:
    try:
        from torchvision.datasets import FashionMNIST
        FashionMNIST(root=DOWNLOAD_DIR, train=split == "train", download=True)
    except Exception as e:  # torchvision raises plain RuntimeError/URLError here
        raise DataError(f"FashionMNIST not found in {DEBIAN_DIR} and torchvision could not "
                        f"download it into {DOWNLOAD_DIR}: {e}. Install Debian's "
                        "dataset-fashion-mnist or pass --data-dir") from e
    return DOWNLOAD_DIR / "FashionMNIST" / "raw"


def find_idx_dir(data_dir: Optional[Path], split: str, candidates, download) -> Path:
    """The folder holding `split`'s IDX files: `data_dir` when given (it must have them), else
    the first of `candidates` that has them, else what `download(split)` returns."""
    if data_dir is not None:
        if not _has_split(Path(data_dir), split):
            raise DataError(f"--data-dir {data_dir} lacks {SPLIT_PREFIX[split]}-images-idx3-ubyte"
                            f"[.gz] and {SPLIT_PREFIX[split]}-labels-idx1-ubyte[.gz]")
        return Path(data_dir)
    for folder in candidates:
        if _has_split(folder, split):
            return folder
    return download(split)


def find_data_dir(data_dir: Optional[Path], split: str = "train") -> Path:
    """FashionMNIST's folder: the given one, Debian's, or a fresh download."""
    return find_idx_dir(data_dir, split, (DEBIAN_DIR, DOWNLOAD_DIR / "FashionMNIST" / "raw"),
                        _download)


def load_fashion_mnist(split: str = "train", data_dir: Optional[Path] = None) -> ImageSet:
    """One split as uint8 images [N,28,28] and int64 labels [N]."""
    return read_split(find_data_dir(data_dir, split), split, CLASS_NAMES)


def read_split(folder: Path, split: str, class_names: tuple) -> ImageSet:
    """One split's IDX image and label files in `folder`, checked against each other and the
    class count (FashionMNIST and MNIST share this format)."""
    images = read_idx(_idx_path(folder, split, "images-idx3"))
    labels = read_idx(_idx_path(folder, split, "labels-idx1"))
    if images.ndim != 3 or images.dtype != np.uint8 or labels.shape != images.shape[:1]:
        raise DataError(f"{folder}: images {images.shape} {images.dtype} do not match "
                        f"labels {labels.shape}")
    if labels.size and labels.max() >= len(class_names):
        raise DataError(f"{folder}: label {labels.max()} outside 0..{len(class_names) - 1}")
    return ImageSet(torch.from_numpy(images), torch.from_numpy(labels.astype(np.int64)), class_names)


def write_idx(path: Path, array: np.ndarray) -> None:
    """Write a uint8 array as an IDX file (gzipped when the name ends in .gz); used by tests."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wb") as f:
        f.write(header + array.tobytes())


def to_model_range(images: torch.Tensor) -> torch.Tensor:
    """uint8 pixels [N,28,28] -> float [N,1,28,28] in [-1, 1], the range both networks use."""
    return images.unsqueeze(1).float().div_(127.5).sub_(1.0)


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """Inverse of to_model_range, rounding and clamping: float [N,1,H,W] -> uint8 [N,H,W]."""
    return images.squeeze(1).add(1.0).mul(127.5).round().clamp(0, 255).to(torch.uint8)

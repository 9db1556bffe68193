"""`--dataset fashion-mnist|mnist|npy`: the training images, whichever set they come from.

- fashion-mnist (default): train/data.py, exactly as before.
- mnist: the same four IDX files and reader, found in --data-dir, else in torchvision's download
  folder (~/.cache/fmnist-gan/MNIST/raw), else downloaded there by torchvision. Debian has no
  MNIST package, so there is no system folder to look in. Classes "0".."9".
- npy: one class per `--data-path` file, named after the file's stem (candle.npy -> "candle"),
  each an N×784 or N×28×28 uint8 array such as a Quick, Draw! category bitmap file. These files
  have no test split: training uses every image, and the test split is refused (DataError), so
  the classifier metrics (domain FID, train.evaluate) are skipped for such runs.
"""
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import torch

from .data import DOWNLOAD_DIR, ImageSet, find_idx_dir, load_fashion_mnist, read_split
from .errors import DataError

DATASETS = ("fashion-mnist", "mnist", "npy")
MNIST_CLASS_NAMES = tuple(str(d) for d in range(10))
MNIST_DOWNLOAD_DIR = DOWNLOAD_DIR / "MNIST" / "raw"


def _download_mnist(split: str) -> Path:
    try:
        from torchvision.datasets import MNIST
        MNIST(root=DOWNLOAD_DIR, train=split == "train", download=True)
    except Exception as e:  # torchvision raises plain RuntimeError/URLError here
        raise DataError(f"MNIST not found in {MNIST_DOWNLOAD_DIR} and torchvision could not "
                        f"download it there: {e}. Pass --data-dir with the IDX files") from e
    return MNIST_DOWNLOAD_DIR


def find_mnist_dir(data_dir: Optional[Path], split: str = "train") -> Path:
    """The folder holding MNIST `split`'s IDX files: the given one, or torchvision's."""
    return find_idx_dir(data_dir, split, (MNIST_DOWNLOAD_DIR,), _download_mnist)


def load_mnist(split: str = "train", data_dir: Optional[Path] = None) -> ImageSet:
    return read_split(find_mnist_dir(data_dir, split), split, MNIST_CLASS_NAMES)


def read_npy_class(path: Path) -> np.ndarray:
    """One class's images from an .npy file as uint8 [N, 28, 28]; DataError when it is not."""
    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as e:
        raise DataError(f"cannot read {path} as a .npy array: {e}") from e
    shape_ok = array.ndim == 2 and array.shape[1] == 784 or array.ndim == 3 and array.shape[1:] == (28, 28)
    if array.dtype != np.uint8 or not shape_ok or len(array) == 0:
        raise DataError(f"{path}: array {array.shape} {array.dtype}; need N×784 or N×28×28 uint8 "
                        "with N >= 1 (e.g. a Quick, Draw! numpy bitmap file)")
    return array.reshape(-1, 28, 28)


def load_npy(paths: Sequence, split: str = "train") -> ImageSet:
    """Every file one class, in the order given; only a training split."""
    if split != "train":
        raise DataError(f"--dataset npy has no {split} split: every image of the .npy files trains")
    if not paths:
        raise DataError("--dataset npy needs at least one --data-path FILE.npy")
    names = tuple(Path(p).stem for p in paths)
    if len(set(names)) != len(names):
        raise DataError(f"--data-path files must have distinct stems (class names): {list(names)}")
    arrays = [read_npy_class(Path(p)) for p in paths]
    labels = np.concatenate([np.full(len(a), c, dtype=np.int64) for c, a in enumerate(arrays)])
    images = np.ascontiguousarray(np.concatenate(arrays))
    return ImageSet(torch.from_numpy(images), torch.from_numpy(labels), names)


def load_dataset(config, split: str = "train") -> ImageSet:
    """The `split` of the dataset a TrainConfig (or anything with its dataset fields) names."""
    dataset = getattr(config, "dataset", "fashion-mnist")
    if dataset == "fashion-mnist":
        return load_fashion_mnist(split, config.data_dir)
    if dataset == "mnist":
        return load_mnist(split, config.data_dir)
    if dataset == "npy":
        return load_npy(config.data_path, split)
    raise DataError(f"unknown --dataset {dataset!r}; choose one of {', '.join(DATASETS)}")


def has_classifier_metrics(config) -> bool:
    """The domain FID and classifier metrics use a FashionMNIST classifier and test split."""
    return getattr(config, "dataset", "fashion-mnist") == "fashion-mnist"


def evaluation_images(run_config, data_dir: Optional[Path]) -> tuple[ImageSet, str]:
    """The real images train.evaluate compares a run with, and their split: the test split of
    the run's dataset, or for npy (no test split) its training images. data_dir (evaluate's or
    export's --data-dir) wins; without it a fashion-mnist run uses the default lookup (as before
    --dataset existed) and an mnist run the folder it trained from."""
    if data_dir is not None or run_config.dataset == "fashion-mnist":
        run_config.data_dir = data_dir
    split = "train" if run_config.dataset == "npy" else "test"
    return load_dataset(run_config, split), split

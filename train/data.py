"""The training images, held in memory as uint8 tensors, their pixel scaling, and how a batch
of them goes through a network (batched_outputs).

`--dataset` picks the set (`load_dataset`):
- fashion-mnist (default): its four IDX files, found in --data-dir, then Debian's
  `dataset-fashion-mnist` folder, then downloaded by torchvision (for machines with neither).
- mnist: the same IDX format and reader, found in --data-dir, else in torchvision's download
  folder (~/.cache/fmnist-gan/MNIST/raw), else downloaded there. Debian has no MNIST package.
  Classes "0".."9".
- npy: one class per `--data-path` file, named after the file's stem (candle.npy -> "candle"),
  each an N×784 or N×28×28 uint8 array such as a Quick, Draw! category bitmap file. These files
  have no test split: training uses every image, and the test split is refused (DataError), so
  the classifier metrics (domain FID, train.evaluate) are skipped for such runs.
- dogs, folder: photographs cut and scaled to --image-size (32 or 64) RGB, prepared once into a
  cache in RUN_DIR/data (train/folders.py); no test split either.

Images are uint8 [N, H, W] (grey) or [N, 3, H, W] (RGB, channels first as the networks read them).
"""
import gzip
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import torch
from torch import nn

from detector.metadata import PIXEL_OFFSET, PIXEL_SCALE
from train.errors import DataError
from train.folders import describe_counts, FOLDER_DATASETS, load_folder

CLASS_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
DOWNLOAD_DIR = Path.home() / ".cache" / "fmnist-gan"
SPLIT_PREFIX = {"train": "train", "test": "t10k"}
_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


@dataclass
class ImageSet:
    images: torch.Tensor  # [N, 28, 28] uint8, 0 = black background; RGB sets [N, 3, S, S]
    labels: torch.Tensor  # [N] int64 class indices
    class_names: tuple
    note: str = ""        # what preparing the set counted (folder datasets), for the log

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
    """uint8 pixels [N,28,28] -> float [N,1,28,28] in [-1, 1], the range both networks use:
    pixel * PIXEL_SCALE + PIXEL_OFFSET, the scaling the exported models' metadata states.
    RGB images [N,3,H,W] keep their shape."""
    # Divided by 1 / PIXEL_SCALE (exactly 127.5): one correctly rounded float32 step, where a
    # multiplication by the inexact float PIXEL_SCALE would move 111 of the 256 values by an ulp.
    images = images.unsqueeze(1) if images.dim() == 3 else images
    return images.float().div_(1 / PIXEL_SCALE).add_(PIXEL_OFFSET)


def grey_levels(images: torch.Tensor) -> torch.Tensor:
    """Model-range images -> the same in grey levels, float 0..255 (unrounded: to_uint8 rounds)."""
    return (images - PIXEL_OFFSET) / PIXEL_SCALE


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """Inverse of to_model_range, rounding and clamping: float [N,1,H,W] -> uint8 [N,H,W]
    (RGB [N,3,H,W] stays [N,3,H,W])."""
    return grey_levels(images).squeeze(1).round().clamp(0, 255).to(torch.uint8)


@torch.inference_mode()
def batched_outputs(network, images: np.ndarray, batch_size: int, device="cpu") -> np.ndarray:
    """What `network` (a module, put in eval mode, or a method such as Classifier.features) gives
    for uint8 images [N, 28, 28], fed to it in model range `batch_size` at a time on `device`;
    concatenated along the batch as a numpy array on the CPU, in the network's dtype."""
    if isinstance(network, nn.Module):
        network.eval()
    batches = (torch.from_numpy(np.ascontiguousarray(images[i:i + batch_size])).to(device)
               for i in range(0, len(images), batch_size))
    out = [network(to_model_range(batch)).cpu() for batch in batches]
    return torch.cat(out).numpy() if out else np.empty((0,), dtype=np.float32)


DATASETS = ("fashion-mnist", "mnist", "npy", *FOLDER_DATASETS)
GREY_SIZE = 28  # FashionMNIST, MNIST and npy sets: 28×28 grey, their only size
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
    if dataset in FOLDER_DATASETS:
        return load_photos(config, split)
    raise DataError(f"unknown --dataset {dataset!r}; choose one of {', '.join(DATASETS)}")


def image_shape(config) -> tuple[int, int]:
    """(channels, size) of a config's images: (1, 28) for the grey sets, (3, --image-size) for
    photographs (64 when not given); DataError for a size the dataset cannot have."""
    dataset, size = getattr(config, "dataset", "fashion-mnist"), getattr(config, "image_size", None)
    if dataset in FOLDER_DATASETS:
        return 3, 64 if size is None else size
    if size not in (None, GREY_SIZE):
        raise DataError(f"--image-size {size}: --dataset {dataset} has only 28×28 images")
    return 1, GREY_SIZE


def load_photos(config, split: str) -> ImageSet:
    """A dogs or folder set's crops, from the cache in RUN_DIR/data or prepared now; train only."""
    if split != "train":
        raise DataError(f"--dataset {config.dataset} has no {split} split: every crop trains")
    size = image_shape(config)[1]
    cache_dir = getattr(config, "crop_cache", None) or (Path(config.run_dir) / "data")
    prepared, cached = load_folder(config.dataset, config.data_dir, size, cache_dir,
                                   getattr(config, "progress", False))
    note = ("crops from the cache " if cached else "prepared ") + describe_counts(prepared.counts)
    return ImageSet(torch.from_numpy(np.ascontiguousarray(prepared.images)),
                    torch.from_numpy(prepared.labels), prepared.class_names, note)


def has_classifier_metrics(config) -> bool:
    """The domain FID and classifier metrics use a FashionMNIST classifier and test split."""
    return getattr(config, "dataset", "fashion-mnist") == "fashion-mnist"


def evaluation_images(run_config, data_dir: Optional[Path]) -> tuple[ImageSet, str]:
    """The real images train.evaluate compares a run with, and their split: the test split of
    the run's dataset, or for npy (no test split) its training images. data_dir (evaluate's or
    export's --data-dir) wins; without it a fashion-mnist run uses the default lookup (the
    run's saved folder is not used) and an mnist run the folder it trained from."""
    if data_dir is not None or run_config.dataset == "fashion-mnist":
        run_config.data_dir = data_dir
    split = "train" if run_config.dataset in ("npy", *FOLDER_DATASETS) else "test"
    return load_dataset(run_config, split), split


def real_sample(images: torch.Tensor, labels: torch.Tensor, n: int, seed: int):
    """min(n, N) images drawn uniformly without replacement (seeded), as numpy arrays: the real
    half of the 1k + 1k accuracy tests (train.evaluate, train.detection.evaluate)."""
    pick = real_sample_indices(len(labels), n, seed)
    return images.numpy()[pick], labels.numpy()[pick]


def real_sample_indices(total: int, n: int, seed: int) -> np.ndarray:
    """The sorted indices real_sample draws: min(n, total) of range(total), seeded."""
    return np.sort(np.random.default_rng(seed).choice(total, min(n, total), replace=False))

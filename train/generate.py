"""`python -m train.generate`: write N generated images as PNGs plus one images.npz.

    python -m train.generate --run-dir runs/fmnist-cgan --n 10000 --out gen/
    python -m train.generate --run-dir runs/fmnist-cgan --n 100 --out sneakers/ --class Sneaker

Classes are balanced (N // 10 each, the remainder to the first classes) unless --class is
given; the same --seed gives the same images.
"""
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Optional, Sequence

import numpy as np
from PIL import Image
from tqdm import tqdm

from train.command import run_command
from train.errors import TrainError
from train.gan.checkpoint import is_unconditional, model_class_names
from train.gan.sampling import balanced_labels, class_index, load_generator, sample_images
from train.gan.trainer import pick_device
from train.run.rundir import DEFAULT_RUN_DIR


@dataclass
class GenerateConfig:
    run_dir: Path = field(default=DEFAULT_RUN_DIR, metadata={
        "help": "run directory whose checkpoints/latest.pt is used"})
    out: Path = field(default=Path("generated"), metadata={
        "help": "folder for the PNGs and images.npz (created if missing)"})
    n: int = field(default=100, metadata={"help": "number of images"})
    class_: Optional[str] = field(default=None, metadata={
        "args": ["--class"], "help": "only this class, by index (3) or name (Sneaker)"})
    seed: int = field(default=0, metadata={"help": "seed of the noise"})
    device: Literal["auto", "cpu", "cuda"] = field(default="auto", metadata={
        "help": "where to run the generator; auto picks CUDA when present"})
    batch_size: int = field(default=500, metadata={"help": "images per generator call"})
    progress: bool = field(default=True, metadata={"help": "show tqdm progress bars"})
    npz: bool = field(default=True, metadata={
        "help": "also write OUT/images.npz (--no-npz: the PNGs alone, as run.sh wants)"})


def requested_labels(n: int, class_spec: Optional[str], class_names: Sequence[str]) -> np.ndarray:
    """Balanced labels, or n copies of the one class asked for."""
    if class_spec is None:
        return balanced_labels(n, len(class_names))
    return np.full(n, class_index(class_spec, class_names), dtype=np.int64)


def refuse_class_if_unconditional(class_spec: Optional[str], checkpoint: dict) -> None:
    """An --unconditional run's generator has no class to ask for."""
    if class_spec is not None and is_unconditional(checkpoint):
        raise TrainError(f"--class {class_spec}: this run was trained with --unconditional; "
                         "its generator takes no class (leave out --class)")


def file_name(index: int, class_name: str, digits: int = 5) -> str:
    """00007_Sneaker.png; '/' and spaces in names become '-' ('T-shirt-top', 'Ankle-boot')."""
    return f"{index:0{digits}d}_{re.sub(r'[^A-Za-z0-9]+', '-', class_name)}.png"


def write_images(images: np.ndarray, labels: np.ndarray, class_names: Sequence[str], out: Path,
                 progress: bool = False, npz: bool = True) -> list[Path]:
    """One PNG per image (grey, or RGB for [N,3,H,W]) plus, with npz, out/images.npz (images
    uint8 [N,28,28] or [N,3,H,W], labels int64 [N])."""
    out.mkdir(parents=True, exist_ok=True)
    digits = max(5, len(str(max(len(images) - 1, 0))))
    paths = []
    for i, (image, label) in enumerate(tqdm(zip(images, labels), total=len(images), desc="write",
                                            unit="img", disable=not progress, leave=False)):
        path = out / file_name(i, class_names[label], digits)
        Image.fromarray(image.transpose(1, 2, 0) if image.ndim == 3 else image).save(path)
        paths.append(path)
    if npz:
        np.savez_compressed(out / "images.npz", images=images, labels=labels.astype(np.int64),
                            class_names=np.array(class_names))
    return paths


def generate_run(config: GenerateConfig) -> dict:
    """Generate and write config.n images; returns a summary (count per class, step)."""
    if config.n < 1:
        raise TrainError(f"--n must be at least 1, got {config.n}")
    device = pick_device(config.device)
    generator, checkpoint = load_generator(config.run_dir, device)
    refuse_class_if_unconditional(config.class_, checkpoint)
    class_names = model_class_names(checkpoint)
    labels = requested_labels(config.n, config.class_, class_names)
    images = sample_images(generator, labels, config.seed, device, config.batch_size, config.progress)
    write_images(images, labels, class_names, config.out, config.progress, config.npz)
    counts = np.bincount(labels, minlength=len(class_names))
    return {"n": config.n, "step": checkpoint["step"], "out": str(config.out),
            "per_class": {name: int(c) for name, c in zip(class_names, counts) if c}}


def main(argv=None) -> int:
    return run_command(
        GenerateConfig, argv, module="train.generate", action=generate_run,
        description="Write images from a trained run's generator.",
        describe=lambda config, s: f"wrote {s['n']} images (step {s['step']}) to {s['out']}: "
                                   + ", ".join(f"{k} {v}" for k, v in s["per_class"].items()))


if __name__ == "__main__":
    sys.exit(main())

"""`python -m export.examples`: write a few real test images and generated ones as PNGs.

    python -m export.examples --models models --out examples [--per-kind 5] [--seed 0]

Generated images come from the exported generator.onnx (so this is also a check that the
shipped generator runs without PyTorch); real ones from FashionMNIST's test split.
"""
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np
import onnxruntime as ort
from argparse_dataclass import ArgumentParser
from PIL import Image

from train.data import load_fashion_mnist
from train.errors import TrainError
from train.gan.sampling import generated_images, is_conditional


@dataclass
class ExamplesConfig:
    models: Path = field(default=Path("models"), metadata={"help": "folder holding generator.onnx"})
    out: Path = field(default=Path("examples"), metadata={"help": "folder to write the PNGs into"})
    data_dir: Optional[Path] = field(default=None, metadata={"help": "FashionMNIST folder"})
    per_kind: int = field(default=5, metadata={"help": "real and generated images to write"})
    seed: int = field(default=0, metadata={"help": "which test images and which noise"})


def slug(name: str) -> str:
    return name.lower().replace("/", "_").replace(" ", "_").replace("-", "_")


def write_examples(config: ExamplesConfig) -> list[Path]:
    rng = np.random.default_rng(config.seed)
    test = load_fashion_mnist("test", config.data_dir)
    session = ort.InferenceSession(str(config.models / "generator.onnx"), providers=["CPUExecutionProvider"])
    names = json.loads(session.get_modelmeta().custom_metadata_map["class_names"])
    if names != list(test.class_names):  # the real examples come from FashionMNIST's test split
        raise TrainError(f"{config.models / 'generator.onnx'} draws {names}, not FashionMNIST's classes")
    if not 1 <= config.per_kind <= len(names):  # one image per class drawn
        raise TrainError(f"--per-kind must be 1 to {len(names)}, not {config.per_kind}")
    conditional = is_conditional(session)
    classes = rng.choice(len(names), size=config.per_kind, replace=False)
    real_index = [int(rng.choice(np.flatnonzero(test.labels.numpy() == c))) for c in classes]
    config.out.mkdir(parents=True, exist_ok=True)
    written = []
    for kind, images in (("real", test.images.numpy()[real_index]),
                         ("generated", generated_images(config.models, classes, rng))):
        for i, (image, c) in enumerate(zip(images, classes)):
            # An unconditional generator draws no class: its images are numbered, not named.
            path = config.out / (f"{kind}_{slug(names[c])}.png" if kind == "real" or conditional
                                 else f"{kind}_{i + 1}.png")
            Image.fromarray(image, mode="L").save(path)
            written.append(path)
    return written


def main(argv=None) -> int:
    config = ArgumentParser(ExamplesConfig, prog="python -m export.examples").parse_args(argv)
    try:
        for path in write_examples(config):
            print(path)
    except (TrainError, OSError) as e:
        print(f"export.examples: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`python -m train.fid GENERATED REAL`: the Inception FID between two image sources, the way
pytorch-fid is called, plus Kaggle's MiFID (REAL taken as the training images).

    python -m train.fid result/images_inference runs/dogs/data/dogs_64.npz
    python -m train.fid gen/ real/ --n 2000 --json fid.json

Each source is a folder tree of image files (any size; grey or RGB) or a uint8 .npy/.npz array
(a run's crop cache). The features are the project's Inception features
(train/metrics/inception.py), the distance train/metrics/fid.py's, MiFID train/metrics/mifid.py's.
"""
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Optional

from train.command import run_command
from train.errors import EvaluationError
from train.gan.runtime import pick_device
from train.metrics.fid import fid_from_features
from train.metrics.image_source import read_source
from train.metrics.inception import inception_features
from train.metrics.mifid import COSINE_EPS, memorization_distance, mifid, thresholded
from train.run.atomic import write_text_atomic


@dataclass
class FidConfig:
    paths: list[str] = field(default_factory=list, metadata={
        "args": ["paths"], "nargs": 2, "help": "GENERATED REAL: folders of images or uint8 .npy/.npz arrays"})
    n: Optional[int] = field(default=None, metadata={
        "help": "use a seeded sample of N images of each side (default: all)"})
    seed: int = field(default=0, metadata={"help": "seed of the --n samples"})
    batch_size: int = field(default=50, metadata={"help": "images per Inception forward pass"})
    device: Literal["auto", "cpu", "cuda"] = field(default="auto", metadata={
        "help": "where Inception runs; auto picks CUDA when present"})
    json: Optional[Path] = field(default=None, metadata={"help": "also write the figures to this JSON file"})
    progress: bool = field(default=True, metadata={"help": "show tqdm progress bars"})


def folder_fid(config: FidConfig) -> dict:
    """FID, the memorisation distance and MiFID of paths[0] (generated) against paths[1] (real)."""
    if config.n is not None and config.n < 2 or config.batch_size < 1:
        raise EvaluationError(f"--n must be at least 2 and --batch-size at least 1 (got {config.n}, "
                              f"{config.batch_size})")
    device, started = str(pick_device(config.device)), time.perf_counter()
    features = [inception_features(read_source(Path(p), config.n, config.seed), config.batch_size, device,
                                   config.progress, desc=f"inception {p}") for p in config.paths]
    fid = fid_from_features(*features, low_rank=True)
    distance = memorization_distance(*features)
    result = {"fid": fid, "mifid": mifid(fid, distance), "memorization_distance": distance,
              "memorization_distance_thresholded": thresholded(distance), "cosine_eps": COSINE_EPS,
              "generated": config.paths[0], "real": config.paths[1],
              "n_generated": len(features[0]), "n_real": len(features[1]),
              "seconds": round(time.perf_counter() - started, 1)}
    if config.json is not None:
        write_text_atomic(config.json, json.dumps(result, indent=2) + "\n")
    return result


def describe(config: FidConfig, r: dict) -> str:
    fid = max(r["fid"], 0.0)  # d² >= 0: a negative value is rounding on (near-)identical sets
    return (f"FID {fid:.2f} ({r['n_generated']} generated vs {r['n_real']} real images); MiFID "
            f"{r['mifid']:.2f} (memorisation distance {r['memorization_distance']:.4f}, thresholded "
            f"{r['memorization_distance_thresholded']:.4g})")


def main(argv=None) -> int:
    return run_command(FidConfig, argv, module="train.fid", action=folder_fid,
                       description="Inception FID and MiFID between two image folders or arrays.",
                       describe=describe)


if __name__ == "__main__":
    sys.exit(main())

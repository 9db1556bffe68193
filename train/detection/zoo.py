"""The generator zoo a detector learns from: trained runs, grouped into families, sampled.

A family is what built the generator (architecture, loss, conditioning: `family_of`), so a
leave-one-family-out test asks whether the detector catches a kind of GAN it has never seen.
Within a family the variety is seeds, EMA or raw weights and snapshots from early to late.
A zoo member is a run directory's checkpoint, or an exported generator (a folder with
`python -m export`'s generator.onnx, as strong_zoo/ keeps the strong runs that take an hour to
train): its family then comes from the ONNX metadata and its images from onnxruntime.
"""
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from train.data import CLASS_NAMES
from train.errors import TrainError
from train.gan.checkpoint import generator_from_checkpoint, load_checkpoint
from train.gan.config import TrainConfig
from train.gan.sampling import balanced_labels, conditional_metadata, generated_images, sample_images
from train.run.onnx_file import read_metadata
from train.run.rundir import RunDir


@dataclass(frozen=True)
class ZooGenerator:
    family: str
    checkpoint: Path
    ema: bool  # the run's averaged weights (--ema) rather than the trained ones
    final: bool  # its run's last checkpoint: the best generator of the run, the hardest to catch
    progress: float = 1.0  # how far into its run: snapshot number / number of snapshots

    @property
    def exported(self) -> bool:
        return self.checkpoint.suffix == ".onnx"

    @property
    def run_dir(self) -> Path:
        """The run's directory, or the exported generator's folder (what --zoo and --focus name)."""
        return self.checkpoint.parent if self.exported else self.checkpoint.parent.parent

    @property
    def name(self) -> str:
        if self.exported:
            return f"{self.run_dir.name}/onnx"
        return f"{self.run_dir.name}/{self.checkpoint.stem}" + ("/ema" if self.ema else "")


def family_name(generator: str, loss: str, unconditional: bool, kind: str = "gan") -> str:
    """A GAN's `convtranspose-ns`, `mlp-ns`, `convtranspose-ns-unconditional`, ...; a VAE's
    (python -m train.vae) `vae-convtranspose`, ... (its decoder's architecture)."""
    if kind == "vae":
        return f"vae-{generator}"
    return f"{generator}-{loss}" + ("-unconditional" if unconditional else "")


def family_of(checkpoint: dict) -> str:
    config = TrainConfig.from_json(checkpoint["config"])
    return family_name(config.generator, config.loss, config.unconditional, checkpoint.get("kind", "gan"))


def exported_generator(folder: Path) -> ZooGenerator:
    """The generator.onnx in `folder` (python -m export's) as a final zoo member; its family from
    the metadata (`architecture`, `loss`, `conditional`), which exports before `loss` lack."""
    path = folder / "generator.onnx"
    meta = read_metadata(path)
    if "loss" not in meta:
        raise TrainError(f"{path} has no `loss` in its metadata (exported before it was written): "
                         "export the run again to use it in the zoo")
    family = family_name(meta["architecture"], meta["loss"], not conditional_metadata(meta))
    return ZooGenerator(family, path, ema=meta.get("generator_weights") == "ema", final=True)


def is_exported(path: Path) -> bool:
    return (path / "generator.onnx").is_file() and not RunDir(path).latest.is_file()


def find_runs(paths: list) -> list[Path]:
    """Runs among `paths`: each is a run directory (has checkpoints/latest.pt), an exported
    generator's folder (generator.onnx), or a folder of either."""
    runs = []
    for path in map(Path, paths):
        if RunDir(path).latest.is_file() or is_exported(path):
            runs.append(path)
        elif path.is_dir():
            runs.extend(sorted(p for p in path.iterdir() if RunDir(p).latest.is_file() or is_exported(p)))
        else:
            raise TrainError(f"zoo path {path} is neither a run directory nor a folder of runs")
    if not runs:
        raise TrainError(f"no trained runs (checkpoints/latest.pt) under {', '.join(map(str, paths))}; "
                         "train some first: scripts/train_zoo.sh")
    return runs


def run_generators(run_dir: Path) -> list[ZooGenerator]:
    """Every snapshot of one run (epoch_*.pt, and latest.pt unless it repeats the last epoch),
    with raw and, for --ema runs, averaged weights; an exported generator's folder: its one generator."""
    if is_exported(run_dir):
        return [exported_generator(run_dir)]
    run = RunDir(run_dir)
    latest = load_checkpoint(run.latest)
    family = family_of(latest)
    snapshots = sorted(run.checkpoints.glob("epoch_*.pt"))
    last_epoch_step = load_checkpoint(snapshots[-1])["step"] if snapshots else None
    if last_epoch_step != latest["step"]:
        snapshots.append(run.latest)
    weights = [False, True] if "ema" in latest else [False]
    return [ZooGenerator(family, path, ema, final=path == snapshots[-1], progress=(i + 1) / len(snapshots))
            for i, path in enumerate(snapshots) for ema in weights]


def zoo_generators(paths: list) -> list[ZooGenerator]:
    return [g for run in find_runs(paths) for g in run_generators(run)]


def families(generators: list[ZooGenerator]) -> list[str]:
    return sorted({g.family for g in generators})


def sample_generator(generator: ZooGenerator, n: int, seed: int) -> np.ndarray:
    """n uint8 images [n, 28, 28] from one zoo generator, classes balanced, noise from `seed`."""
    if generator.exported:
        return generated_images(generator.checkpoint.parent, balanced_labels(n, len(CLASS_NAMES)),
                                np.random.default_rng(seed))
    checkpoint = load_checkpoint(generator.checkpoint)
    network = generator_from_checkpoint(checkpoint, ema=generator.ema)
    labels = balanced_labels(n, network.num_classes)
    return sample_images(network, labels, seed, torch.device("cpu"))


def shares(n: int, weights) -> np.ndarray:
    """n split in proportion to `weights`, whole numbers adding up to n (largest remainders)."""
    exact = n * np.asarray(weights, dtype=np.float64) / np.sum(weights)
    counts = np.floor(exact).astype(int)
    counts[np.argsort(counts - exact, kind="stable")[: n - counts.sum()]] += 1
    return counts


def sample_zoo(generators: list[ZooGenerator], n: int, seed: int, weights=None) -> tuple[np.ndarray, np.ndarray]:
    """n images spread over `generators` in proportion to `weights` (default: evenly), and the
    index of the generator behind each; each generator's noise has its own seed."""
    if not generators:
        raise TrainError("no generators to sample from")
    counts = shares(n, np.ones(len(generators)) if weights is None else weights)
    images = [sample_generator(g, int(c), seed * 1009 + i) for i, (g, c) in enumerate(zip(generators, counts)) if c]
    sources = np.repeat(np.arange(len(generators)), counts)
    return np.concatenate(images), sources

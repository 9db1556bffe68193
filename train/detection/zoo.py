"""The generator zoo a detector learns from: trained runs, grouped into families, sampled.

A family is what built the generator (architecture, loss, conditioning: `family_of`), so a
leave-one-family-out test asks whether the detector catches a kind of GAN it has never seen.
Within a family the variety is seeds, EMA or raw weights and snapshots from early to late.
"""
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from train.errors import TrainError
from train.gan.checkpoint import generator_from_checkpoint, load_checkpoint
from train.gan.config import TrainConfig
from train.gan.sampling import balanced_labels, sample_images
from train.run.rundir import RunDir


@dataclass(frozen=True)
class ZooGenerator:
    family: str
    checkpoint: Path
    ema: bool  # the run's averaged weights (--ema) rather than the trained ones
    final: bool  # its run's last checkpoint: the best generator of the run, the hardest to catch
    progress: float = 1.0  # how far into its run: snapshot number / number of snapshots

    @property
    def name(self) -> str:
        run = self.checkpoint.parent.parent.name
        return f"{run}/{self.checkpoint.stem}" + ("/ema" if self.ema else "")


def family_of(checkpoint: dict) -> str:
    """A GAN's `convtranspose-ns`, `mlp-ns`, `convtranspose-ns-unconditional`, ...; a VAE's
    (python -m train.vae) `vae-convtranspose`, ... (its decoder's architecture)."""
    config = TrainConfig.from_json(checkpoint["config"])
    if checkpoint.get("kind", "gan") == "vae":
        return f"vae-{config.generator}"
    return f"{config.generator}-{config.loss}" + ("-unconditional" if config.unconditional else "")


def find_runs(paths: list) -> list[Path]:
    """Run directories among `paths`: each is a run (has checkpoints/latest.pt) or a folder of runs."""
    runs = []
    for path in map(Path, paths):
        if RunDir(path).latest.is_file():
            runs.append(path)
        elif path.is_dir():
            runs.extend(sorted(p for p in path.iterdir() if RunDir(p).latest.is_file()))
        else:
            raise TrainError(f"zoo path {path} is neither a run directory nor a folder of runs")
    if not runs:
        raise TrainError(f"no trained runs (checkpoints/latest.pt) under {', '.join(map(str, paths))}; "
                         "train some first: scripts/train_zoo.sh")
    return runs


def run_generators(run_dir: Path) -> list[ZooGenerator]:
    """Every snapshot of one run (epoch_*.pt, and latest.pt unless it repeats the last epoch),
    with raw and, for --ema runs, averaged weights."""
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

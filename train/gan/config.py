"""The configuration of `python -m train` (TrainConfig, every field a flag) and its --resume merge.

(`_help` builds a field's help metadata; train/detection/config.py reuses it.)
"""
import argparse
import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Optional

from argparse_dataclass import ArgumentParser

from train.data import DATASETS, image_shape
from train.errors import TrainError
from train.gan.losses import LOSSES
from train.gan.networks import build_networks, GENERATORS
from train.metrics.classifier import DEFAULT_CLASSIFIER
from train.run.atomic import write_text_atomic
from train.run.rundir import DEFAULT_RUN_DIR


def _help(text: str, **more) -> dict:
    return {"help": text, **more}


def json_values(config) -> dict:
    """A config dataclass's fields as JSON values (paths as strings): what config.json and
    eval.json store."""
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in dataclasses.asdict(config).items()}


def save_config(config, path: Path) -> None:
    """Write a config dataclass as config.json, whole or not at all: `--resume` reads it back."""
    write_text_atomic(path, json.dumps(json_values(config), indent=2) + "\n")


@dataclass
class TrainConfig:
    # Where things go
    run_dir: Path = field(default=DEFAULT_RUN_DIR, metadata=_help(
        "run directory: config.json, metrics.jsonl, checkpoints/, samples/, figures"))
    data_dir: Optional[Path] = field(default=None, metadata=_help(
        "folder with the four FashionMNIST IDX .gz files (default: /usr/share/datasets/"
        "fashion-mnist if present, else torchvision's download into ~/.cache/fmnist-gan)"))
    dataset: Literal[DATASETS] = field(default="fashion-mnist", metadata=_help(
        "training images (train/data.py): fashion-mnist, mnist (IDX files in --data-dir, else "
        "torchvision's download), npy (one class per --data-path file), dogs (the Stanford Dogs "
        "layout in --data-dir: photos cut by their boxes) or folder (any image tree in --data-dir)"))
    data_path: list[str] = field(default_factory=list, metadata=_help(
        "with --dataset npy: N×784 or N×28×28 uint8 .npy files, one class each, named after "
        "the file stem (--data-path a.npy b.npy); all images train, there is no test split",
        nargs="+"))
    crop_cache: Optional[Path] = field(default=None, metadata=_help(
        "with --dataset dogs or folder: where the prepared crops are cached (default RUN_DIR/data)"))
    image_size: Optional[int] = field(default=None, metadata=_help(
        "side of the square training images: 28 for fashion-mnist, mnist and npy (their only "
        "size); 32 or 64 (default 64) RGB crops for --dataset dogs and folder"))
    resume: bool = field(default=False, metadata=_help(
        "continue from RUN_DIR/checkpoints/latest.pt (model, optimizers, step, RNG, metrics)"))
    # How long
    epochs: int = field(default=125, metadata=_help(
        "passes over the 60k training images (the default takes just under an hour on 2 CPU "
        "cores: docs/recipe.md; python bench/train_speed.py measures the speed)"))
    max_steps: Optional[int] = field(default=None, metadata=_help(
        "stop after this many optimisation steps in total (for smoke runs)"))
    max_minutes: Optional[float] = field(default=None, metadata=_help(
        "stop after this many minutes of training in this invocation (a time budget: equal "
        "budgets compare losses fairly); saves, draws and measures as at the end of a run"))
    batch_size: int = field(default=128, metadata=_help("images per step (real and generated each)"))
    # Model
    latent_dim: int = field(default=64, metadata=_help("size of the generator's noise vector z"))
    width: int = field(default=32, metadata=_help("base channel count of both networks"))
    generator: Literal[tuple(GENERATORS)] = field(default="convtranspose", metadata=_help(
        "generator architecture (train/gan/networks.py GENERATORS): transposed convs, nearest or "
        "bilinear upsampling + 3x3 convs, sub-pixel convs (pixel shuffle), or fully connected layers"))
    spectral_norm: bool = field(default=False, metadata=_help(
        "spectral normalisation of every discriminator weight (Miyato et al. 2018)"))
    unconditional: bool = field(default=False, metadata=_help(
        "train without labels: noise is the generator's only input and the AC-GAN class term "
        "is dropped (networks.model_classes); sample grids are plain grids"))
    # Optimisation: DCGAN's Adam settings (the two time-scale ones of RECIPE_CHANGES started
    # slower at equal CPU time: docs/recipe.md)
    lr_g: float = field(default=2e-4, metadata=_help("generator learning rate"))
    lr_d: float = field(default=2e-4, metadata=_help("discriminator learning rate"))
    beta1: float = field(default=0.5, metadata=_help("Adam beta1 for both networks"))
    beta2: float = field(default=0.999, metadata=_help("Adam beta2 for both networks"))
    class_weight: float = field(default=1.0, metadata=_help(
        "weight of the auxiliary classification loss (AC-GAN) in both losses"))
    loss: Literal[tuple(LOSSES)] = field(default="hinge", metadata=_help(
        "adversarial loss (docs/losses.md): hinge, ns = non-saturating BCE, or wgan-gp = "
        "Wasserstein with gradient penalty; the AC-GAN class term is added to each"))
    critic_steps: int = field(default=1, metadata=_help(
        "discriminator updates per generator update, each against new generated images and "
        "the step's real batch (WGAN-GP commonly uses 5)"))
    gp_weight: float = field(default=10.0, metadata=_help(
        "weight of the gradient penalty with --loss wgan-gp"))
    ema: float = field(default=0.999, metadata=_help(
        "decay of an exponential moving average of the generator's weights (e.g. 0.999), used "
        "for sample grids, the domain FID, generate/evaluate and export; 0 disables"))
    # Running
    device: Literal["auto", "cpu", "cuda"] = field(default="auto", metadata=_help(
        "where to train; auto picks CUDA when present"))
    precision: Literal["auto", "fp32", "bf16"] = field(default="auto", metadata=_help(
        "number format of the forward passes: bf16 autocasts convolutions and matrix products to "
        "bfloat16 (on a CPU with AMX or AVX-512 BF16 too: bench/train_speed.py measures the gain); "
        "fp32 does not; auto is bf16 on CUDA and fp32 on the CPU"))
    compile: bool = field(default=False, metadata=_help(
        "torch.compile the generator and discriminator (inductor; on the CPU it needs a C++ "
        "compiler; not with --loss wgan-gp): the first steps compile, then each step is faster "
        "(bench/train_speed.py --compile measures both)"))
    seed: int = field(default=0, metadata=_help("seed for weights, noise and batch order"))
    log_every: int = field(default=1, metadata=_help("write a metrics.jsonl row every N steps"))
    progress: bool = field(default=True, metadata=_help("show tqdm progress bars"))
    tensorboard: bool = field(default=False, metadata=_help(
        "also write scalars and sample grids to RUN_DIR/tensorboard (needs the tensorboard package)"))
    # Monitoring (train/gan/monitor.py)
    domain_fid_every: int = field(default=5, metadata=_help(
        "every N epochs, log to metrics.jsonl the FID of generated images in the feature space "
        "of the FashionMNIST classifier (a few seconds); 0 disables"))
    domain_fid_samples: int = field(default=2000, metadata=_help(
        "generated images (balanced classes) per domain FID, against the 10,000 test images"))
    domain_fid_classifier: Path = field(default=DEFAULT_CLASSIFIER, metadata=_help(
        "classifier behind the domain FID (python -m train.classifier); when missing the domain "
        "FID is skipped with a note"))

    def check(self, world_size: int = 1) -> None:
        """Refuse option values that cannot train, before anything is written."""
        counts = {"--epochs": self.epochs, "--batch-size": self.batch_size, "--log-every": self.log_every,
                  "--critic-steps": self.critic_steps, "--domain-fid-samples": self.domain_fid_samples,
                  "--max-steps": 1 if self.max_steps is None else self.max_steps}
        for flag, value in counts.items():
            if value < 1:
                raise TrainError(f"{flag} must be at least 1, not {value}")
        if self.domain_fid_every < 0:
            raise TrainError(f"--domain-fid-every must be 0 (off) or more, not {self.domain_fid_every}")
        if self.max_minutes is not None and self.max_minutes <= 0:
            raise TrainError(f"--max-minutes must be positive, not {self.max_minutes}")
        if self.gp_weight < 0:
            raise TrainError(f"--gp-weight must be >= 0, not {self.gp_weight}")
        if not 0 <= self.ema < 1:
            raise TrainError(f"--ema must be in [0, 1) (0 disables), not {self.ema}")
        if self.compile and self.loss == "wgan-gp":  # its penalty differentiates D twice
            raise TrainError("--compile cannot train --loss wgan-gp: torch.compile does not support "
                             "the double backward of the gradient penalty")
        if self.batch_size % world_size:
            raise TrainError(f"--batch-size {self.batch_size} (the global batch) does not split "
                             f"into {world_size} equal per-rank slices")

    def networks(self, num_classes: int):
        """(generator, discriminator) of this config's architecture (ARCHITECTURE_FIELDS), newly
        initialised from torch's global seed."""
        return build_networks(self.latent_dim, self.width, num_classes, self.unconditional,
                              self.generator, self.spectral_norm, image_shape(self))

    def sample_rows(self, num_classes: int) -> int:
        """Rows of the epoch sample grids: one per class; an unconditional photograph run (one
        class) gets 8 rows (28×28 runs keep one row per class: their noise stream is unchanged)."""
        return 8 if self.unconditional and image_shape(self) != (1, 28) else num_classes

    def to_json(self) -> dict:
        return json_values(self)

    @classmethod
    def from_json(cls, values: dict) -> "TrainConfig":
        """The config a config.json (or checkpoint) stored; a field it lacks takes the value
        that reproduces the run that wrote it (ABSENT_MEANS), else today's default."""
        known = {f.name: f for f in dataclasses.fields(cls)}
        kwargs = {k: v for k, v in ABSENT_MEANS.items() if k not in values}
        for name, value in values.items():
            if name in known:
                is_path = "Path" in str(known[name].type)
                kwargs[name] = Path(value) if is_path and value is not None else value
        return cls(**kwargs)

    def save(self, path: Path) -> None:
        """Write config.json whole or not at all: `--resume` reads it back."""
        save_config(self, path)


# The recipe before docs/recipe.md's ablation (DCGAN's Adam settings, non-saturating loss,
# transposed convs, no spectral norm, no EMA): `python -m train` + as_flags(DCGAN_RECIPE)
# trains as the project once did by default.
DCGAN_RECIPE = {"loss": "ns", "generator": "convtranspose", "spectral_norm": False,
                "lr_g": 2e-4, "lr_d": 2e-4, "beta1": 0.5, "beta2": 0.999, "ema": 0.0, "epochs": 20}

# The changes to DCGAN_RECIPE that bench/ablation.py measures alone and together (docs/recipe.md);
# the default recipe is DCGAN_RECIPE with DEFAULT_CHANGES, the ones the measurements kept, and
# more epochs (TrainConfig.epochs).
RECIPE_CHANGES = {
    "hinge loss": {"loss": "hinge"},
    "spectral norm in D": {"spectral_norm": True},
    "TTUR, Adam(0, 0.9)": {"lr_g": 1e-4, "lr_d": 4e-4, "beta1": 0.0, "beta2": 0.9},
    "EMA generator": {"ema": 0.999},
    "upsample + conv": {"generator": "upsample"},
}
# Hinge led at 4 and 15 CPU minutes; EMA lost early and won from epoch 60 on (bench/ema.py).
DEFAULT_CHANGES = ("hinge loss", "EMA generator")


# The 64×64 RGB recipe of ./run.sh (the dog-images brief): DCGAN's networks at width 64 (G: 512
# channels at 4×4 down to 64 at 32×32), unconditional, the default hinge loss and EMA, spectral
# norm in D (which has no BatchNorm), batch 64; `python -m train` + as_flags(DOGS_RECIPE).
DOGS_RECIPE = {"dataset": "dogs", "image_size": 64, "unconditional": True, "latent_dim": 128,
               "width": 64, "spectral_norm": True, "batch_size": 64, "epochs": 50,
               "domain_fid_every": 0}


def as_flags(values: dict) -> list[str]:
    """TrainConfig field values -> the `python -m train` arguments that set them
    ({"loss": "ns", "spectral_norm": True} -> ["--loss", "ns", "--spectral-norm"]; a bool
    equal to its default needs no flag)."""
    defaults, flags = TrainConfig(), []
    for name, value in values.items():
        if not hasattr(defaults, name):
            raise TrainError(f"{name!r} is not a TrainConfig field")
        flag = "--" + name.replace("_", "-")
        if isinstance(value, bool):
            if value != getattr(defaults, name):  # a bool flag can only move away from its default
                flags.append(flag if value else "--no-" + flag[2:])
        else:
            flags += [flag, str(value)]
    return flags


# Fields that decide the networks' shapes: a checkpoint can only be loaded into the same values.
ARCHITECTURE_FIELDS = ("latent_dim", "width", "generator", "spectral_norm", "unconditional", "image_size")
# Fields added after runs were written: what their absence from a saved config means.
ABSENT_MEANS = {"spectral_norm": False}


def non_default_values(config: TrainConfig) -> dict:
    """{field: value} of the fields whose values differ from TrainConfig's defaults."""
    defaults = TrainConfig()
    return {f.name: getattr(config, f.name) for f in dataclasses.fields(TrainConfig)
            if getattr(config, f.name) != getattr(defaults, f.name)}


def fields_given(argv) -> set[str]:
    """The TrainConfig fields the command line `argv` sets, whatever their values (a flag given
    at its default value counts too)."""
    parser, unset = ArgumentParser(TrainConfig), object()
    parser.set_defaults(**{f.name: unset for f in dataclasses.fields(TrainConfig)})
    namespace = argparse.ArgumentParser.parse_args(parser, argv)  # the raw namespace, before the dataclass
    return {name for name, value in vars(namespace).items() if value is not unset}


def resume_config(given: TrainConfig, flags: Optional[set] = None) -> TrainConfig:
    """With --resume, start from the run's saved config and apply only the flags given now.

    `flags`: the fields the command line set (fields_given), so `--resume --epochs 40` extends a
    run, `--resume --ema 0.999` adds EMA to a run without it, and `--resume` alone continues it
    with the settings it was started with. Without `flags` (a config built in code), the fields
    that differ from their defaults count as given.
    """
    saved_path = Path(given.run_dir) / "config.json"
    if not given.resume or not saved_path.is_file():
        return given
    try:
        saved = json.loads(saved_path.read_text())
    except (OSError, ValueError) as e:
        raise TrainError(f"{saved_path} is not a readable run config: {e}") from e
    if not isinstance(saved, dict):
        raise TrainError(f"{saved_path} is not a readable run config: not a JSON object")
    changed = non_default_values(given) if flags is None else {name: getattr(given, name) for name in flags}
    merged = dataclasses.replace(TrainConfig.from_json(saved), **changed)
    merged.run_dir, merged.resume = given.run_dir, True
    return merged

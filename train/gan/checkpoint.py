"""A checkpoint is one dict: weights, optimizers, step, RNG states and the config that built it.

Written atomically (temp file, fsync, rename) so a killed process never leaves a torn file,
and read by exactly one function, `load_checkpoint`.
"""
import os  # noqa: F401  (tests patch os.replace and torch.save through these names)
from pathlib import Path
from typing import Optional, Protocol

import torch

from train.data import image_shape
from train.errors import CheckpointError
from train.gan.config import ARCHITECTURE_FIELDS, TrainConfig
from train.gan.networks import (Discriminator, Generator, make_discriminator, make_generator, model_classes,
                                with_spectral_norm, without_spectral_norm)
from train.run.atomic import save_torch_atomic

CHECKPOINT_VERSION = 1
# What a checkpoint's "kind" (absent: "gan") says it holds beyond "generator", "config" and
# "step": a GAN run's discriminator, or a VAE run's encoder (python -m train.vae).
KINDS = {"gan": {"discriminator"}, "vae": {"encoder"}}


class TrainingParts(Protocol):
    """What a checkpoint holds of a training run (the trainer's TrainState)."""
    generator: Generator
    discriminator: Discriminator
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    noise_rng: torch.Generator
    fixed_noise: torch.Tensor
    fixed_labels: torch.Tensor
    step: int
    ema: Optional[Generator]


def to_checkpoint(state: TrainingParts, config: TrainConfig, class_names) -> dict:
    """The checkpoint dict of a training state: every key save_checkpoint writes but "version"."""
    ema = {} if state.ema is None else {"ema": state.ema.state_dict()}
    return {**ema, "generator": state.generator.state_dict(), "discriminator": state.discriminator.state_dict(),
            "opt_g": state.opt_g.state_dict(), "opt_d": state.opt_d.state_dict(),
            "step": state.step, "config": config.to_json(), "class_names": list(class_names),
            "noise_rng": state.noise_rng.get_state(), "fixed_noise": state.fixed_noise.cpu(),
            "fixed_labels": state.fixed_labels.cpu()}


def restore_training(state: TrainingParts, checkpoint: dict) -> None:
    """Load a checkpoint into a newly built state of the same architecture (check_compatible):
    weights, optimizer states (with their saved lr/betas), noise RNG, fixed noise and step."""
    device = state.fixed_noise.device
    state.generator.load_state_dict(checkpoint["generator"])
    state.discriminator.load_state_dict(checkpoint["discriminator"])
    state.opt_g.load_state_dict(checkpoint["opt_g"])
    state.opt_d.load_state_dict(checkpoint["opt_d"])
    try:
        state.noise_rng.set_state(checkpoint["noise_rng"].cpu())
    except RuntimeError:  # saved by a run whose noise RNG lived on a GPU
        raise CheckpointError("the checkpoint's noise RNG state is not a CPU generator's: "
                              "it cannot be resumed here") from None
    state.fixed_noise = checkpoint["fixed_noise"].to(device)
    state.fixed_labels = checkpoint["fixed_labels"].to(device)
    state.step = checkpoint["step"]
    if state.ema is not None:  # a run that gains --ema on resume starts averaging from here
        state.ema.load_state_dict(checkpoint.get("ema", checkpoint["generator"]))


def save_checkpoint(checkpoint: dict, path: Path) -> None:
    """Write `checkpoint` to `path` so that `path` is always either the old or the new file.

    A failed write (a full disk: OSError, or RuntimeError from torch's zip writer) raises
    CheckpointError and leaves the old file in place.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        save_torch_atomic({**checkpoint, "version": CHECKPOINT_VERSION}, path)
    except (OSError, RuntimeError) as e:
        raise CheckpointError(f"cannot write checkpoint {path}: {e}") from e


def load_checkpoint(path: Path, map_location="cpu") -> dict:
    """Read a checkpoint written by save_checkpoint; the only place checkpoints are loaded."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}")
    try:
        checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # torch raises several unrelated types for corrupt files
        raise CheckpointError(f"cannot read checkpoint {path}: {e}") from e
    kind = checkpoint.get("kind", "gan")
    missing = ({"generator", "config", "step"} | KINDS.get(kind, set())) - set(checkpoint)
    if kind not in KINDS or missing or checkpoint.get("version") != CHECKPOINT_VERSION:
        raise CheckpointError(f"{path} is not a checkpoint of this project "
                              f"(missing {sorted(missing)}, version {checkpoint.get('version')})")
    return checkpoint


def check_compatible(checkpoint: dict, config: TrainConfig, path: Path,
                     num_classes: Optional[int] = None) -> None:
    """Refuse to resume into networks of another shape, naming the fields that differ (and the
    class count, which follows --dataset / --data-path), or with another --batch-size."""
    if checkpoint.get("kind", "gan") != "gan":
        raise CheckpointError(f"{path} is a {checkpoint['kind']} run's checkpoint, not a GAN's")
    saved = TrainConfig.from_json(checkpoint["config"])  # fields older runs lack get their defaults
    differ = [f"{k}: checkpoint {getattr(saved, k)!r}, now {getattr(config, k)!r}"
              for k in ARCHITECTURE_FIELDS if k != "image_size" and getattr(saved, k) != getattr(config, k)]
    if image_shape(saved) != image_shape(config):  # --image-size, or channels by --dataset
        differ.append(f"image shape (channels, size): checkpoint {image_shape(saved)}, now {image_shape(config)}")
    if num_classes is not None and len(checkpoint["class_names"]) != num_classes:
        differ.append(f"classes: checkpoint {len(checkpoint['class_names'])} "
                      f"{list(checkpoint['class_names'])}, now {num_classes} (--dataset/--data-path)")
    if differ:
        raise CheckpointError(f"{path} was trained with another architecture ({'; '.join(differ)})")
    if saved.batch_size != config.batch_size:  # its step counts epochs of the saved batch size
        raise CheckpointError(f"{path} was trained with --batch-size {saved.batch_size}; resume it with "
                              f"that, not {config.batch_size}")


def is_unconditional(checkpoint: dict) -> bool:
    """Whether the run was trained with --unconditional (older checkpoints: no, conditional)."""
    return bool(checkpoint["config"].get("unconditional", False))


def model_class_names(checkpoint: dict) -> list:
    """The classes the generator draws: the run's, or one "unconditional" pseudo-class whose
    label is always 0 (networks.model_classes)."""
    return ["unconditional"] if is_unconditional(checkpoint) else list(checkpoint["class_names"])


def generator_weights(checkpoint: dict) -> str:
    """Which weights networks_from_checkpoint gives the generator: "ema" (--ema runs) or "raw"."""
    return "ema" if "ema" in checkpoint else "raw"


def described(checkpoint: dict) -> str:
    """How an error names a loaded checkpoint: by the run that wrote it (the dict holds no file path)."""
    return f"the {checkpoint.get('kind', 'gan')} checkpoint of run {checkpoint['config'].get('run_dir', '?')}"


def first_mismatch(error: RuntimeError) -> str:
    """torch's load_state_dict error: a header line, then every mismatched tensor; the first says what is wrong."""
    lines = str(error).splitlines()
    return lines[1].strip() if len(lines) > 1 else str(error)


def generator_from_checkpoint(checkpoint: dict, ema: bool = True) -> Generator:
    """The generator (a VAE run's decoder) rebuilt from the checkpoint's config, in eval mode,
    for inference; with the EMA weights when the run kept them (--ema), unless ema=False."""
    config = TrainConfig.from_json(checkpoint["config"])  # a VAE's config has the fields this reads
    num_classes = model_classes(len(checkpoint["class_names"]), config.unconditional)
    generator = make_generator(config.generator, config.latent_dim, num_classes, config.width,
                               image_shape(config))
    use_ema = ema and generator_weights(checkpoint) == "ema"
    try:
        generator.load_state_dict(checkpoint["ema" if use_ema else "generator"])
    except RuntimeError as e:
        raise CheckpointError(f"{described(checkpoint)} holds weights that do not fit its own config: "
                              f"{first_mismatch(e)}") from e
    return generator.eval()


def networks_from_checkpoint(checkpoint: dict, ema: bool = True) -> tuple[Generator, Discriminator, TrainConfig]:
    """A GAN run's generator (generator_from_checkpoint) and discriminator, in eval mode, for
    inference: spectral norm folded into plain weights."""
    if "discriminator" not in checkpoint:
        raise CheckpointError(f"{described(checkpoint)} has no discriminator: this needs a GAN run's "
                              "checkpoint (python -m train)")
    config = TrainConfig.from_json(checkpoint["config"])
    discriminator = make_discriminator(model_classes(len(checkpoint["class_names"]), config.unconditional),
                                       config.width, image_shape(config))
    if config.spectral_norm:  # the stored weights are the parametrization's (weight.original, u, v)
        with_spectral_norm(discriminator)
    try:
        discriminator.load_state_dict(checkpoint["discriminator"])
    except RuntimeError as e:
        raise CheckpointError(f"{described(checkpoint)} holds weights that do not fit its own config: "
                              f"{first_mismatch(e)}") from e
    return generator_from_checkpoint(checkpoint, ema), without_spectral_norm(discriminator.eval()), config

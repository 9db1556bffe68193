"""`python -m train.vae`: a conditional VAE, the zoo's non-GAN generator family.

A detector that has only met GANs learns GAN fingerprints; a VAE fails differently (blur, no
adversarial sharpening: Kingma & Welling 2014), so scripts/train_zoo.sh trains these too and the
leave-one-family-out test holds them out like any family. The decoder is one of the GAN's
generator architectures (`--generator`, train/gan/networks.py GENERATORS), so its checkpoints
carry a "generator" that every sampler of the project draws from (z ~ N(0, I), a class label);
they have no discriminator (checkpoint.KINDS).
"""
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Optional

import torch
import torch.nn.functional as F
from argparse_dataclass import ArgumentParser
from torch import nn

from train.data import load_fashion_mnist, to_model_range
from train.errors import TrainError
from train.gan.checkpoint import save_checkpoint
from train.gan.config import _help, json_values, save_config
from train.gan.networks import build_generator, dcgan_init, GENERATORS
from train.gan.runtime import deadline_after, usable_cpus
from train.run.rundir import RunDir


@dataclass
class VAEConfig:
    run_dir: Path = field(default=Path("runs/vae"), metadata=_help(
        "run directory: config.json and checkpoints/ (epoch_*.pt and latest.pt)"))
    data_dir: Optional[Path] = field(default=None, metadata=_help("FashionMNIST folder (as in python -m train)"))
    generator: Literal[tuple(GENERATORS)] = field(default="convtranspose", metadata=_help(
        "the decoder's architecture: one of python -m train's generators"))
    latent_dim: int = field(default=16, metadata=_help("size of the latent code z"))
    width: int = field(default=32, metadata=_help("base channel count of encoder and decoder"))
    kl_weight: float = field(default=1.0, metadata=_help(
        "weight of the KL term (1 = the ELBO; above 1 a beta-VAE: blurrier, smoother latents)"))
    epochs: int = field(default=20, metadata=_help("passes over the 60k training images"))
    max_minutes: Optional[float] = field(default=None, metadata=_help("stop after this many minutes"))
    batch_size: int = field(default=128, metadata=_help("images per step"))
    lr: float = field(default=1e-3, metadata=_help("Adam learning rate"))
    seed: int = field(default=0, metadata=_help("seed for weights, noise and batch order"))

    def to_json(self) -> dict:
        return json_values(self)


class Encoder(nn.Module):
    """(image [N, 1, 28, 28] in [-1, 1], class y [N]) -> (mean, log variance) of q(z | x, y), [N, latent]."""

    def __init__(self, latent_dim: int, num_classes: int, width: int):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, width, 4, 2, 1), nn.LeakyReLU(0.2),           # [N, w, 14, 14]
            nn.Conv2d(width, 2 * width, 4, 2, 1), nn.LeakyReLU(0.2),   # [N, 2w, 7, 7]
            nn.Flatten())                                              # [N, 2w*49]
        self.label = nn.Embedding(num_classes, 2 * width * 7 * 7)
        self.head = nn.Linear(2 * width * 7 * 7, 2 * latent_dim)

    def forward(self, images: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean, log_var = self.head(self.features(images) + self.label(labels)).chunk(2, dim=1)
        return mean, log_var


def negative_elbo(images: torch.Tensor, decoded: torch.Tensor, mean: torch.Tensor, log_var: torch.Tensor,
                  kl_weight: float) -> torch.Tensor:
    """-ELBO per image: Bernoulli reconstruction loss of the [0, 1] pixels, sum over pixels,
    plus kl_weight * KL(N(mean, exp(log_var)) || N(0, I)); decoded is the decoder's tanh
    output, whose (x + 1) / 2 is the pixel probability."""
    target, probability = (images + 1) / 2, ((decoded + 1) / 2).clamp(1e-6, 1 - 1e-6)
    reconstruction = F.binary_cross_entropy(probability, target, reduction="sum")
    kl = -0.5 * torch.sum(1 + log_var - mean.pow(2) - log_var.exp())
    return (reconstruction + kl_weight * kl) / len(images)


def vae_step(encoder, decoder, optimizer, images, labels, kl_weight: float, rng: torch.Generator) -> float:
    """One update: minimise -ELBO, with z = mean + sigma * epsilon (the reparameterisation)."""
    mean, log_var = encoder(images, labels)
    epsilon = torch.randn(mean.shape, generator=rng)
    decoded = decoder(mean + (0.5 * log_var).exp() * epsilon, labels)
    loss = negative_elbo(images, decoded, mean, log_var, kl_weight)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss.item()


def vae_checkpoint(config: VAEConfig, encoder, decoder, step: int, class_names) -> dict:
    return {"kind": "vae", "generator": decoder.state_dict(), "encoder": encoder.state_dict(),
            "config": config.to_json(), "step": step, "class_names": list(class_names)}


def train_vae(config: VAEConfig) -> int:
    """Train on the CPU; writes config.json, then checkpoints/epoch_NNN.pt after each epoch and
    latest.pt; returns the steps."""
    torch.manual_seed(config.seed)
    torch.set_num_threads(usable_cpus())
    run = RunDir(config.run_dir)
    run.prepare(resume=False)
    save_config(config, run.config)
    data = load_fashion_mnist("train", config.data_dir)
    encoder = dcgan_init(Encoder(config.latent_dim, len(data.class_names), config.width))
    decoder = build_generator(config.generator, config.latent_dim, len(data.class_names), config.width)
    optimizer = torch.optim.Adam([*encoder.parameters(), *decoder.parameters()], config.lr)
    rng, step, deadline = torch.Generator().manual_seed(config.seed), 0, deadline_after(config.max_minutes)
    steps_per_epoch = len(data) // config.batch_size
    for epoch in range(1, config.epochs + 1):
        started, losses = time.perf_counter(), []
        order = torch.randperm(len(data), generator=rng)[: steps_per_epoch * config.batch_size]
        for index in order.view(steps_per_epoch, config.batch_size):
            losses.append(vae_step(encoder, decoder, optimizer, to_model_range(data.images[index]),
                                   data.labels[index], config.kl_weight, rng))
            step += 1
        checkpoint = vae_checkpoint(config, encoder, decoder, step, data.class_names)
        save_checkpoint(checkpoint, run.epoch_checkpoint(epoch))
        save_checkpoint(checkpoint, run.latest)
        print(f"epoch {epoch}/{config.epochs} step {step} | -ELBO {sum(losses) / len(losses):.1f} "
              f"| {time.perf_counter() - started:.0f} s", flush=True)
        if deadline is not None and time.monotonic() > deadline:
            break
    return step


def main(argv=None) -> int:
    config = ArgumentParser(VAEConfig, prog="python -m train.vae",
                            description="Train a conditional VAE on FashionMNIST (a zoo generator).").parse_args(argv)
    try:
        train_vae(config)
    except TrainError as e:
        print(f"train.vae: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

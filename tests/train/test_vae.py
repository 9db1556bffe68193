import json
import math

import numpy as np
import pytest
import torch

from train.detection.zoo import run_generators, sample_generator
from train.errors import CheckpointError
from train.gan.checkpoint import load_checkpoint, networks_from_checkpoint
from train.gan.config import TrainConfig
from train.gan.trainer import train
from train.run.rundir import RunDir
from train.vae import negative_elbo, train_vae, VAEConfig


def test_a_half_grey_guess_of_a_black_image_costs_log_2_a_pixel():
    images, decoded = -torch.ones(3, 1, 28, 28), torch.zeros(3, 1, 28, 28)  # p = 0.5 everywhere
    zeros = torch.zeros(3, 4)
    assert negative_elbo(images, decoded, zeros, zeros, 1.0).item() == pytest.approx(784 * math.log(2), rel=1e-5)


@pytest.mark.parametrize("mean, log_var, kl_weight, kl", [
    (1.0, 0.0, 1.0, 4 * 0.5),            # KL(N(1, 1) || N(0, 1)) = 1/2 a dimension
    (0.0, math.log(2), 1.0, 4 * 0.5 * (2 - 1 - math.log(2))),
    (1.0, 0.0, 3.0, 3 * 4 * 0.5),        # the weight scales the KL term only
])
def test_the_kl_term_has_its_closed_form(mean, log_var, kl_weight, kl):
    images = -torch.ones(2, 1, 28, 28)
    decoded = -torch.ones(2, 1, 28, 28)  # a perfect reconstruction: only the clamp's cost is left
    reconstruction = negative_elbo(images, decoded, torch.zeros(2, 4), torch.zeros(2, 4), 1.0).item()
    loss = negative_elbo(images, decoded, torch.full((2, 4), mean), torch.full((2, 4), log_var), kl_weight).item()
    assert loss - reconstruction == pytest.approx(kl, rel=1e-5)


@pytest.fixture(scope="module")
def vae_run(tmp_path_factory, tiny_data_dir):
    run_dir = tmp_path_factory.mktemp("vae") / "vae-bilinear"
    steps = train_vae(VAEConfig(run_dir=run_dir, data_dir=tiny_data_dir, generator="bilinear",
                                latent_dim=4, width=8, epochs=2, batch_size=32))
    assert steps == 2 * (96 // 32)
    return run_dir


def test_a_vae_run_is_a_zoo_family_of_its_own(vae_run):
    assert json.loads((vae_run / "config.json").read_text())["generator"] == "bilinear"
    generators = run_generators(vae_run)
    assert {g.family for g in generators} == {"vae-bilinear"}
    assert [(g.checkpoint.name, g.final) for g in generators] == [("epoch_001.pt", False), ("epoch_002.pt", True)]
    images = sample_generator(generators[-1], 20, seed=0)
    assert images.shape == (20, 28, 28) and images.dtype == np.uint8


def test_a_vae_checkpoint_has_no_discriminator_to_export_or_resume(vae_run):
    checkpoint = load_checkpoint(RunDir(vae_run).latest)
    with pytest.raises(CheckpointError, match="no discriminator"):
        networks_from_checkpoint(checkpoint)
    with pytest.raises(CheckpointError, match="vae run's checkpoint"):
        train(TrainConfig(run_dir=vae_run, resume=True, generator="bilinear", latent_dim=4, width=8,
                          device="cpu", progress=False, domain_fid_every=0))

"""A tiny zoo for the detector's tests: two families of small runs on a small FashionMNIST-format set."""
import pytest

from train.gan.config import DCGAN_RECIPE, TrainConfig
from train.gan.trainer import train

N_TRAIN, N_TEST = 400, 200


@pytest.fixture(scope="session")
def detector_data_dir(tmp_path_factory, write_fmnist):
    return write_fmnist(tmp_path_factory.mktemp("detector-fmnist"), n_train=N_TRAIN, n_test=N_TEST)


def tiny_run(run_dir, data_dir, **options):
    """2 epochs of a small model (12 steps each): two epoch snapshots and latest.pt. The DCGAN
    recipe (convtranspose, ns, no EMA) pinned, as the tests name its families, so that changing
    TrainConfig's defaults does not rename them."""
    values = dict(DCGAN_RECIPE, run_dir=run_dir, data_dir=data_dir, epochs=2, batch_size=32, width=8,
                  latent_dim=8, device="cpu", progress=False, domain_fid_every=0)
    train(TrainConfig(**{**values, **options}))
    return run_dir


@pytest.fixture(scope="session")
def tiny_zoo(tmp_path_factory, detector_data_dir):
    """A folder of three runs: convtranspose-ns (with --ema), mlp-ns and an unconditional one."""
    zoo = tmp_path_factory.mktemp("zoo")
    tiny_run(zoo / "a", detector_data_dir, ema=0.9)
    tiny_run(zoo / "b", detector_data_dir, generator="mlp", seed=1)
    tiny_run(zoo / "c", detector_data_dir, unconditional=True, seed=2)
    return zoo

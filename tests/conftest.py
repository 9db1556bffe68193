"""Fixtures shared across packages: a tiny FashionMNIST-format dataset and a trained tiny run."""
import numpy as np
import pytest

from train.data import write_idx


def write_fashion_mnist(folder, n_train=96, n_test=64, seed=0):
    """Write the four IDX .gz files with images whose brightness depends on the class."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        labels = np.arange(n) % 10
        images = rng.integers(0, 40, (n, 28, 28)) + (labels * 20)[:, None, None]
        write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", images.astype(np.uint8))
        write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", labels.astype(np.uint8))
    return folder


@pytest.fixture(scope="session")
def tiny_data_dir(tmp_path_factory):
    return write_fashion_mnist(tmp_path_factory.mktemp("fashion-mnist"))


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, tiny_data_dir):
    """A 4-step run of a small model on the tiny data; returns its run directory."""
    from train.gan.config import TrainConfig
    from train.gan.trainer import train

    run_dir = tmp_path_factory.mktemp("runs") / "tiny"
    train(TrainConfig(run_dir=run_dir, data_dir=tiny_data_dir, epochs=1, max_steps=4,
                      batch_size=16, width=8, latent_dim=8, device="cpu", progress=False,
                      domain_fid_every=0))
    return run_dir


@pytest.fixture(scope="session")
def write_fmnist():
    """write_fashion_mnist, for tests that need a set of another size (conftest is not imported)."""
    return write_fashion_mnist

"""Fixtures for the training workspace's tests: a tiny FashionMNIST-format set and small configs.

The tiny set has 64 training images of 4 classes, so with batch_size=16 an epoch is 4 steps.
"""
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from train.data import write_idx
from train.gan.config import TrainConfig

N_TRAIN, N_TEST, N_CLASSES = 64, 16, 4
BATCH_SIZE = 16
STEPS_PER_EPOCH = N_TRAIN // BATCH_SIZE


def tiny_arrays(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """uint8 images [n, 28, 28] whose brightness depends on the class, and labels 0..3."""
    labels = (np.arange(n) % N_CLASSES).astype(np.uint8)
    noise = np.random.default_rng(seed).integers(0, 60, (n, 28, 28))
    return (noise + 60 * labels[:, None, None]).astype(np.uint8), labels


def write_tiny_fmnist(folder, suffix: str = ".gz"):
    """Write train and t10k IDX files (gzipped unless suffix="") into `folder`; returns it."""
    folder.mkdir(parents=True, exist_ok=True)
    for prefix, n, seed in (("train", N_TRAIN, 0), ("t10k", N_TEST, 1)):
        images, labels = tiny_arrays(n, seed)
        write_idx(folder / f"{prefix}-images-idx3-ubyte{suffix}", images)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte{suffix}", labels)
    return folder


def small_config(run_dir, data_dir, **overrides) -> TrainConfig:
    """A config that trains a small model on the CPU in well under a second per step.
    No domain FID (it would need models/fmnist_classifier.pt): tests/train/gan/test_monitor.py
    turns it on with a classifier of its own."""
    values = dict(run_dir=run_dir, data_dir=data_dir, batch_size=BATCH_SIZE, width=8,
                  latent_dim=8, device="cpu", progress=False, seed=0, domain_fid_every=0)
    return TrainConfig(**{**values, **overrides})


# Test modules get the helpers through a fixture: importing conftest by name is fragile.
@pytest.fixture(scope="session")
def tiny():
    return SimpleNamespace(write=write_tiny_fmnist, arrays=tiny_arrays, config=small_config,
                           n_train=N_TRAIN, n_test=N_TEST, n_classes=N_CLASSES,
                           batch_size=BATCH_SIZE, steps_per_epoch=STEPS_PER_EPOCH)


@pytest.fixture(scope="session")
def fmnist_dir(tmp_path_factory):
    """A folder to pass as TrainConfig(data_dir=...); the tests only read it."""
    return write_tiny_fmnist(tmp_path_factory.mktemp("fmnist"))


@pytest.fixture
def make_config(tmp_path, fmnist_dir):
    """make_config(**fields): a small CPU config on the tiny set, run dir tmp_path/"run"."""
    def make(**overrides):
        return small_config(overrides.pop("run_dir", tmp_path / "run"), fmnist_dir, **overrides)
    return make


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Train on one thread: `setup` asks for os.cpu_count() threads, and on a busy 2-core
    machine two threads made each tiny step ~100x slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(torch, "set_num_threads", lambda n: None)
        yield
    torch.set_num_threads(threads)

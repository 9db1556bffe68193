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


BREEDS = ("n02085620-Chihuahua", "n02086240-Shih-Tzu", "n02088364-beagle")
VOC = ("<annotation><size><width>{w}</width><height>{h}</height><depth>3</depth></size>"
       "<object><name>{breed}</name><bndbox><xmin>{x0}</xmin><ymin>{y0}</ymin><xmax>{x1}</xmax>"
       "<ymax>{y1}</ymax></bndbox></object></annotation>")


def write_dogs_layout(folder, per_breed=24, seed=0):
    """The Stanford Dogs layout with synthetic photos: images/<breed>/<wnid>_<n>.jpg of various
    sizes (a bright "dog" rectangle on a dark background) and annotations/<breed>/<wnid>_<n>
    with one VOC box around the rectangle; returns `folder`."""
    from PIL import Image
    rng = np.random.default_rng(seed)
    for b, breed in enumerate(BREEDS):
        wnid = breed.split("-")[0]
        (folder / "images" / breed).mkdir(parents=True, exist_ok=True)
        (folder / "annotations" / breed).mkdir(parents=True, exist_ok=True)
        for n in range(per_breed):
            w, h = int(rng.integers(40, 130)), int(rng.integers(40, 110))
            x0, y0 = int(rng.integers(0, w // 3)), int(rng.integers(0, h // 3))
            x1, y1 = int(rng.integers(2 * w // 3, w)), int(rng.integers(2 * h // 3, h))
            pixels = rng.integers(0, 60, (h, w, 3))
            pixels[y0:y1, x0:x1] = (200 - 60 * b, 80 + 50 * b, 120)
            Image.fromarray(pixels.astype(np.uint8)).save(folder / "images" / breed / f"{wnid}_{n}.jpg")
            (folder / "annotations" / breed / f"{wnid}_{n}").write_text(
                VOC.format(w=w, h=h, breed=breed, x0=x0 + 1, y0=y0 + 1, x1=x1, y1=y1))
    return folder


@pytest.fixture(scope="session")
def dogs_dir(tmp_path_factory):
    """A synthetic Stanford Dogs folder (3 breeds × 24 photos, one box each); tests only read it."""
    return write_dogs_layout(tmp_path_factory.mktemp("dogs"))

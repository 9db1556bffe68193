"""A short unconditional run on a synthetic Stanford Dogs folder: RGB crops train, the run's
grids and checkpoint hold RGB images, and train.generate writes RGB PNGs of the run's size."""
import numpy as np
import pytest
from PIL import Image

from train.gan.config import TrainConfig
from train.gan.trainer import train
from train.generate import main as generate_main


@pytest.fixture(scope="module")
def dogs_run(tmp_path_factory, dogs_dir):
    run_dir = tmp_path_factory.mktemp("dogs-run")
    config = TrainConfig(run_dir=run_dir, dataset="dogs", data_dir=dogs_dir, image_size=32, unconditional=True,
                         batch_size=16, width=4, latent_dim=8, max_steps=3, device="cpu", progress=False,
                         domain_fid_every=0)
    train(config)
    return run_dir


def test_run_keeps_its_crop_cache_and_figures(dogs_run):
    assert (dogs_run / "data" / "dogs_32.npz").is_file()
    assert (dogs_run / "samples" / "epoch_001.png").is_file() and (dogs_run / "pairs.png").is_file()
    assert Image.open(dogs_run / "samples" / "epoch_001.png").mode in ("RGB", "RGBA")


def test_generate_writes_rgb_pngs_without_npz(dogs_run, tmp_path):
    assert generate_main(["--run-dir", str(dogs_run), "--n", "7", "--out", str(tmp_path / "g"),
                          "--device", "cpu", "--no-progress", "--no-npz"]) == 0
    files = sorted((tmp_path / "g").iterdir())
    assert len(files) == 7 and all(f.suffix == ".png" for f in files)
    image = Image.open(files[0])
    assert image.mode == "RGB" and image.size == (32, 32)
    assert np.asarray(image).std() > 0


def test_resume_continues_the_rgb_run(dogs_run, dogs_dir):
    config = TrainConfig(run_dir=dogs_run, dataset="dogs", data_dir=dogs_dir, image_size=32, unconditional=True, batch_size=16,
                         width=4, latent_dim=8, max_steps=5, device="cpu", progress=False,
                         domain_fid_every=0, resume=True)
    assert train(config).step == 5


def test_resume_at_another_image_size_is_refused(dogs_run, dogs_dir):
    from train.errors import CheckpointError
    config = TrainConfig(run_dir=dogs_run, dataset="dogs", data_dir=dogs_dir, image_size=64, unconditional=True,
                         batch_size=16, width=4, latent_dim=8, max_steps=9, device="cpu", progress=False,
                         domain_fid_every=0, resume=True)
    with pytest.raises(CheckpointError, match=r"image shape \(channels, size\): checkpoint \(3, 32\), now \(3, 64\)"):
        train(config)


def test_a_folder_of_classes_trains_conditionally(tmp_path, dogs_dir):
    """--dataset folder without --unconditional: one class per subfolder (here the breeds)."""
    state = train(TrainConfig(run_dir=tmp_path / "run", dataset="folder", data_dir=dogs_dir / "images", image_size=32,
                              batch_size=16, width=4, latent_dim=8, max_steps=2, device="cpu", progress=False,
                              domain_fid_every=0))
    assert state.generator.num_classes == 3 and state.step == 2
    assert (tmp_path / "run" / "pairs.png").is_file()


def test_unconditional_photo_grids_have_8_rows_of_8(dogs_run):
    import torch
    checkpoint = torch.load(dogs_run / "checkpoints" / "latest.pt", weights_only=False)
    assert checkpoint["fixed_noise"].shape == (64, 8)

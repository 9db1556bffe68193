"""--dataset mnist|npy (train/data.py) on tiny synthetic files the tests write."""
import numpy as np
import pytest
import torch

from train import data as data_module
from train.data import load_dataset, load_mnist, load_npy, MNIST_CLASS_NAMES
from train.errors import CheckpointError, DataError
from train.evaluate import evaluate_run, EvaluateConfig
from train.gan.checkpoint import load_checkpoint
from train.gan.config import TrainConfig
from train.gan.monitor import DomainFID
from train.gan.trainer import train
from train.run.rundir import RunDir


def write_mnist(folder, n: int = 20):
    """An MNIST-named IDX set (train and t10k) whose labels use all ten digits."""
    from train.data import write_idx
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for prefix in ("train", "t10k"):
        write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)))
        write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", np.arange(n) % 10)
    return folder


def write_npy(path, n: int, shape=(784,), dtype=np.uint8, value: int = 0):
    np.save(path, np.full((n, *shape), value, dtype=dtype))
    return path


def test_mnist_reads_idx_files_with_digit_class_names(tmp_path):
    folder = write_mnist(tmp_path / "mnist")
    for split in ("train", "test"):
        data = load_mnist(split, folder)
        assert data.images.shape == (20, 28, 28) and data.images.dtype == torch.uint8
        assert data.labels.tolist() == [i % 10 for i in range(20)]
        assert data.class_names == MNIST_CLASS_NAMES == tuple("0123456789")
    config = TrainConfig(dataset="mnist", data_dir=folder)
    assert load_dataset(config, "train").class_names == MNIST_CLASS_NAMES


def test_evaluation_images_follow_the_run_and_the_given_data_dir(tmp_path, tiny, monkeypatch):
    mnist = write_mnist(tmp_path / "mnist")
    test, split = data_module.evaluation_images(TrainConfig(dataset="mnist", data_dir=mnist), None)
    assert split == "test" and test.class_names == MNIST_CLASS_NAMES
    fashion = tiny.write(tmp_path / "fashion")
    run = TrainConfig(data_dir=tmp_path / "gone")  # fashion-mnist: the run's folder is not used
    test, split = data_module.evaluation_images(run, fashion)
    assert split == "test" and len(test) == tiny.n_test and run.data_dir == fashion
    seen = []
    monkeypatch.setattr(data_module, "load_fashion_mnist", lambda split, d: seen.append((split, d)))
    data_module.evaluation_images(TrainConfig(data_dir=tmp_path / "gone"), None)
    assert seen == [("test", None)]  # the default lookup, not the run's saved folder


def test_mnist_without_data_dir_uses_torchvision_folder(tmp_path, monkeypatch):
    folder = write_mnist(tmp_path / "MNIST" / "raw")
    monkeypatch.setattr(data_module, "MNIST_DOWNLOAD_DIR", folder)
    assert data_module.find_mnist_dir(None, "train") == folder
    with pytest.raises(DataError, match="lacks train-images-idx3-ubyte"):
        data_module.find_mnist_dir(tmp_path, "train")


def test_npy_files_are_classes_named_after_their_stems(tmp_path):
    a = write_npy(tmp_path / "candle.npy", 3, (784,), value=7)
    b = write_npy(tmp_path / "cat.npy", 2, (28, 28), value=9)
    data = load_npy([str(a), str(b)])
    assert data.class_names == ("candle", "cat") and len(data) == 5
    assert data.labels.tolist() == [0, 0, 0, 1, 1]
    assert data.images.shape == (5, 28, 28) and data.images.dtype == torch.uint8
    assert data.images[:3].eq(7).all() and data.images[3:].eq(9).all()


@pytest.mark.parametrize("shape, dtype, found", [((784,), np.float32, r"\(4, 784\) float32"),
                                                 ((28, 27), np.uint8, r"\(4, 28, 27\) uint8"),
                                                 ((), np.uint8, r"\(4,\) uint8")])
def test_npy_refuses_wrong_dtype_or_shape_naming_file_and_shape(tmp_path, shape, dtype, found):
    path = write_npy(tmp_path / "bad.npy", 4, shape, dtype)
    with pytest.raises(DataError, match=rf"bad\.npy: array {found}; need N×784 or N×28×28 uint8"):
        load_npy([str(path)])


def test_npy_refusals(tmp_path):
    with pytest.raises(DataError, match="needs at least one --data-path"):
        load_npy([])
    (tmp_path / "junk.npy").write_bytes(b"not numpy")
    with pytest.raises(DataError, match="cannot read .*junk.npy"):
        load_npy([str(tmp_path / "junk.npy")])
    ok = write_npy(tmp_path / "x.npy", 2)
    with pytest.raises(DataError, match="distinct stems"):
        load_npy([str(ok), str(ok)])
    with pytest.raises(DataError, match="no test split"):
        load_npy([str(ok)], "test")


def test_domain_fid_is_skipped_with_a_note_for_other_datasets(tmp_path, capsys):
    config = TrainConfig(dataset="npy", domain_fid_every=1)
    assert DomainFID.for_config(config) is None
    assert "no domain FID for --dataset npy" in capsys.readouterr().out


def test_three_steps_on_two_npy_classes(tiny, tmp_path):
    rng = np.random.default_rng(0)
    paths = []
    for name, offset in (("candle", 0), ("star", 120)):
        paths.append(str(tmp_path / f"{name}.npy"))
        np.save(paths[-1], (rng.integers(0, 100, (24, 784)) + offset).astype(np.uint8))
    config = tiny.config(tmp_path / "run", None, dataset="npy", data_path=paths, max_steps=3,
                         domain_fid_every=1)
    state = train(config)
    assert state.step == 3 and state.generator.num_classes == 2
    checkpoint = load_checkpoint(RunDir(config.run_dir).latest)
    assert list(checkpoint["class_names"]) == ["candle", "star"]
    assert len(RunDir(config.run_dir).read_metrics()) == 3
    # train.evaluate: real images are the training images; FashionMNIST-only metrics skipped
    result = evaluate_run(EvaluateConfig(run_dir=config.run_dir, accuracy_samples=8, device="cpu",
                                         model=tmp_path / "none.onnx", progress=False))
    assert result["class_names"] == ["candle", "star"]
    assert result["discriminator_accuracy"]["real_images"].startswith("train split")
    assert "--dataset npy" in result["fid"]["skipped"] and "--dataset npy" in result["domain"]["skipped"]


def test_resume_with_another_class_count_is_refused(tiny, tmp_path):
    paths = [str(write_npy(tmp_path / f"{name}.npy", 20, value=v)) for name, v in (("a", 1), ("b", 2))]
    config = tiny.config(tmp_path / "run", None, dataset="npy", data_path=paths, max_steps=1)
    train(config)
    config = tiny.config(tmp_path / "run", None, dataset="npy", data_path=paths[:1], max_steps=2,
                         resume=True)
    with pytest.raises(CheckpointError, match=r"classes: checkpoint 2 \['a', 'b'\], now 1"):
        train(config)

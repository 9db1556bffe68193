import gzip

import numpy as np
import pytest
import torch

from detector.metadata import PIXEL_OFFSET, PIXEL_SCALE
from detector.model import to_batch
from train import data
from train.data import (batched_outputs, DataError, find_data_dir, load_fashion_mnist, read_idx, to_model_range,
                        to_uint8, write_idx)


@pytest.mark.parametrize("name", ["x-idx3-ubyte.gz", "x-idx3-ubyte"])
@pytest.mark.parametrize("shape", [(5, 28, 28), (7,), (2, 3, 4, 5)])
def test_idx_round_trip(tmp_path, name, shape):
    array = np.random.default_rng(0).integers(0, 256, shape).astype(np.uint8)
    write_idx(tmp_path / name, array)
    back = read_idx(tmp_path / name)
    assert back.dtype == np.uint8 and back.shape == shape
    np.testing.assert_array_equal(back, array)
    back[...] = 0  # writable, so torch.from_numpy gets its own memory


def test_gz_file_is_compressed_and_plain_file_is_not(tmp_path):
    array = np.zeros((3, 28, 28), np.uint8)
    write_idx(tmp_path / "a.gz", array)
    write_idx(tmp_path / "a", array)
    assert gzip.decompress((tmp_path / "a.gz").read_bytes()) == (tmp_path / "a").read_bytes()
    assert (tmp_path / "a").read_bytes()[:8] == bytes([0, 0, 8, 3, 0, 0, 0, 3])


@pytest.mark.parametrize("suffix", [".gz", ""])
@pytest.mark.parametrize("split, seed", [("train", 0), ("test", 1)])
def test_load_fashion_mnist_returns_written_images_and_labels(tmp_path, tiny, suffix, split, seed):
    tiny.write(tmp_path, suffix)
    n = tiny.n_train if split == "train" else tiny.n_test
    images, labels = tiny.arrays(n, seed)
    loaded = load_fashion_mnist(split, tmp_path)
    assert loaded.images.dtype == torch.uint8 and loaded.images.shape == (n, 28, 28)
    assert loaded.labels.dtype == torch.int64 and len(loaded) == n
    np.testing.assert_array_equal(loaded.images.numpy(), images)
    np.testing.assert_array_equal(loaded.labels.numpy(), labels)
    assert loaded.class_names[0] == "T-shirt/top" and len(loaded.class_names) == 10


@pytest.mark.parametrize("content", [
    b"",                                     # empty
    bytes([1, 0, 8, 1, 0, 0, 0, 0]),         # first byte not 0
    bytes([0, 0, 0x07, 1, 0, 0, 0, 0]),      # unknown type code
    b"PK\x03\x04 a zip file",
])
def test_bad_magic_raises_data_error(tmp_path, content):
    path = tmp_path / "bad-idx1-ubyte"
    path.write_bytes(content)
    with pytest.raises(DataError, match="not an IDX file"):
        read_idx(path)


def _idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 8, array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
    return header + array.astype(np.uint8).tobytes()


@pytest.mark.parametrize("name, content", [
    ("short-data", _idx_bytes(np.zeros((2, 28, 28)))[:-1]),
    ("extra-data", _idx_bytes(np.zeros((2, 28, 28))) + b"\0"),
    ("short-header", bytes([0, 0, 8, 3, 0, 0, 0, 2, 0, 0])),
    ("short-gzip.gz", gzip.compress(_idx_bytes(np.zeros((2, 28, 28))))[:30]),
    ("not-gzip.gz", _idx_bytes(np.zeros((2, 28, 28)))),
])
def test_truncated_or_mismatched_file_raises_data_error_naming_the_path(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DataError) as error:
        read_idx(path)
    assert str(path) in str(error.value)


@pytest.mark.parametrize("missing", [
    "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "all"])
def test_data_dir_lacking_files_raises_data_error(tmp_path, tiny, missing):
    folder = tiny.write(tmp_path / "data")
    for path in folder.iterdir():
        if missing in ("all", path.name):
            path.unlink()
    with pytest.raises(DataError, match="--data-dir .*lacks train-images"):
        load_fashion_mnist("train", folder)


def test_data_dir_lacking_only_test_split_still_loads_train(tmp_path, tiny):
    folder = tiny.write(tmp_path)
    (folder / "t10k-images-idx3-ubyte.gz").unlink()
    assert len(load_fashion_mnist("train", folder)) == tiny.n_train
    with pytest.raises(DataError, match="t10k-images"):
        load_fashion_mnist("test", folder)


def test_labels_outside_the_ten_classes_raise_data_error(tmp_path, tiny):
    folder = tiny.write(tmp_path)
    write_idx(folder / "train-labels-idx1-ubyte.gz", np.full(tiny.n_train, 10, np.uint8))
    with pytest.raises(DataError, match="label 10 outside 0..9"):
        load_fashion_mnist("train", folder)


def test_image_and_label_counts_must_match(tmp_path, tiny):
    folder = tiny.write(tmp_path)
    write_idx(folder / "train-labels-idx1-ubyte.gz", np.zeros(tiny.n_train - 1, np.uint8))
    with pytest.raises(DataError, match="do not match"):
        load_fashion_mnist("train", folder)


@pytest.fixture
def fake_homes(tmp_path, monkeypatch):
    """Point Debian's folder and the download cache into tmp_path; downloading is recorded."""
    debian, cache = tmp_path / "debian", tmp_path / "cache"
    monkeypatch.setattr(data, "DEBIAN_DIR", debian)
    monkeypatch.setattr(data, "DOWNLOAD_DIR", cache)
    downloads = []
    monkeypatch.setattr(data, "_download", lambda split: downloads.append(split) or tmp_path / "new")
    return debian, cache / "FashionMNIST" / "raw", downloads


@pytest.mark.parametrize("present, given, expected", [
    (("given", "debian", "cache"), True, "given"),
    (("debian", "cache"), False, "debian"),
    (("cache",), False, "cache"),
    ((), False, "download"),
])
def test_find_data_dir_preference_order(tmp_path, tiny, fake_homes, present, given, expected):
    debian, cache, downloads = fake_homes
    folders = {"given": tmp_path / "given", "debian": debian, "cache": cache,
               "download": tmp_path / "new"}
    for name in present:
        tiny.write(folders[name])
    found = find_data_dir(folders["given"] if given else None, "train")
    assert found == folders[expected]
    assert downloads == (["train"] if expected == "download" else [])


def test_given_data_dir_is_never_replaced_by_another(tmp_path, tiny, fake_homes):
    debian, _, downloads = fake_homes
    tiny.write(debian)
    with pytest.raises(DataError, match="--data-dir"):
        find_data_dir(tmp_path / "empty", "train")
    assert downloads == []


@pytest.mark.parametrize("pixel, value", [(0, -1.0), (255, 1.0), (51, -0.6)])
def test_to_model_range_known_values(pixel, value):
    out = to_model_range(torch.full((2, 28, 28), pixel, dtype=torch.uint8))
    assert out.shape == (2, 1, 28, 28) and out.dtype == torch.float32
    torch.testing.assert_close(out, torch.full_like(out, value))


def test_to_uint8_inverts_to_model_range_for_every_pixel_value():
    pixels = torch.arange(256, dtype=torch.uint8).view(1, 16, 16)
    assert torch.equal(to_uint8(to_model_range(pixels)), pixels)


def test_to_uint8_clamps_out_of_range_values():
    out = to_uint8(torch.tensor([-3.0, -1.0, 1.0, 2.0]).view(1, 1, 1, 4))
    assert out.tolist() == [[[0, 0, 255, 255]]]


def test_training_and_runtime_scale_every_pixel_alike():
    """to_model_range (torch, training) and the runtime's to_batch (numpy, from the contract's
    constants) agree within float32 rounding on all 256 values; 0 and 255 exactly."""
    pixels = np.arange(256, dtype=np.uint8).reshape(1, 16, 16)
    torch_side = to_model_range(torch.from_numpy(pixels)).numpy()
    runtime_side = to_batch(pixels, PIXEL_SCALE, PIXEL_OFFSET)
    np.testing.assert_allclose(torch_side, runtime_side, rtol=0, atol=1.2e-7)
    assert torch_side.ravel()[[0, 255]].tolist() == runtime_side.ravel()[[0, 255]].tolist() == [-1.0, 1.0]


def test_batched_outputs_feeds_model_range_in_batches_and_sets_eval_mode():
    class MeanPixel(torch.nn.Module):
        def forward(self, x):
            self.sizes.append(len(x))
            return x.flatten(1).mean(1) * (2.0 if self.training else 1.0)

    network = MeanPixel().train()
    network.sizes = []
    images = np.repeat(np.array([0, 51, 255, 255, 0, 51, 0], np.uint8), 784).reshape(7, 28, 28)
    out = batched_outputs(network, images, batch_size=3)
    assert network.sizes == [3, 3, 1] and not network.training
    np.testing.assert_allclose(out, [-1, -0.6, 1, 1, -1, -0.6, -1], atol=1e-6)
    assert out.dtype == np.float32
    assert batched_outputs(network, images[:0], batch_size=3).shape == (0,)

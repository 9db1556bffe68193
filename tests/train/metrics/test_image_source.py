"""What an FID between folders reads: grey files stay grey, others become RGB [3, H, W], arrays
(.npy, a crop cache .npz) are read as they are, and --n draws a seeded sample."""
import numpy as np
import pytest
from PIL import Image

from train.errors import EvaluationError
from train.metrics.image_source import read_array, read_image, read_source


@pytest.mark.parametrize("mode, shape", [("L", (20, 30)), ("RGB", (3, 20, 30)), ("RGBA", (3, 20, 30)),
                                         ("P", (3, 20, 30)), ("1", (20, 30))])
def test_read_image_shapes(tmp_path, mode, shape):
    Image.new(mode, (30, 20)).save(tmp_path / "a.png")
    image = read_image(tmp_path / "a.png")
    assert image.shape == shape and image.dtype == np.uint8


def test_rgb_channels_come_first(tmp_path):
    Image.new("RGB", (4, 3), (10, 20, 30)).save(tmp_path / "a.png")
    assert read_image(tmp_path / "a.png")[:, 0, 0].tolist() == [10, 20, 30]


@pytest.mark.parametrize("write", [
    lambda p: Image.new("CMYK", (5, 5)).save(p.with_suffix(".jpg")),
    lambda p: Image.fromarray(np.zeros((5, 5), np.uint16)).save(p.with_suffix(".png")),
    lambda p: p.with_suffix(".png").write_bytes(b"\x89PNG broken"),
])
def test_unusable_files_are_one_line_errors(tmp_path, write):
    write(tmp_path / "a")
    with pytest.raises(EvaluationError) as e:
        read_source(tmp_path)
    assert "\n" not in str(e.value)


def test_arrays_channels_last_are_transposed(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (4, 8, 8, 3), dtype=np.uint8)
    np.savez(tmp_path / "cache.npz", images=images)
    assert np.array_equal(read_array(tmp_path / "cache.npz"), images.transpose(0, 3, 1, 2))
    np.save(tmp_path / "grey.npy", images[..., 0])
    assert read_array(tmp_path / "grey.npy").shape == (4, 8, 8)


def test_float_arrays_are_refused(tmp_path):
    np.save(tmp_path / "f.npy", np.zeros((2, 4, 4)))
    with pytest.raises(EvaluationError, match="uint8"):
        read_array(tmp_path / "f.npy")


def test_a_sample_is_seeded_and_without_repeats(tmp_path):
    np.save(tmp_path / "a.npy", np.arange(50, dtype=np.uint8)[:, None, None].repeat(2, 1).repeat(2, 2))
    first, again = read_source(tmp_path / "a.npy", 10, seed=3), read_source(tmp_path / "a.npy", 10, seed=3)
    assert np.array_equal(first, again) and len(set(first[:, 0, 0].tolist())) == 10


@pytest.mark.parametrize("make", [lambda p: p.mkdir(), lambda p: None])
def test_empty_or_missing_sources_are_refused(tmp_path, make):
    make(tmp_path / "x")
    with pytest.raises(EvaluationError):
        read_source(tmp_path / "x")

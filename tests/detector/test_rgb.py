"""RGB models in the runtime: the "channels" metadata key, RGB decoding, the [N, 3, H, W] batch."""
import io

import numpy as np
import pytest
from PIL import Image

from detector.errors import ImageError, ImageSizeError, ModelError
from detector.images import load_pixels
from detector.metadata import contract_metadata, parse_metadata
from detector.model import to_batch


def test_grey_models_carry_no_channels_key_and_parse_as_1():
    meta = contract_metadata("discriminator", ["a"])
    assert "channels" not in meta
    assert parse_metadata(meta, "m").channels == 1 and parse_metadata(meta, "m").pixel_shape == (28, 28)


def test_rgb_models_say_3_channels_and_their_size():
    info = parse_metadata(contract_metadata("discriminator", ["dog"], image_size=(64, 64), channels=3), "m")
    assert (info.channels, info.image_size, info.pixel_shape) == (3, (64, 64), (64, 64, 3))
    assert "channels" not in info.extra


@pytest.mark.parametrize("value", ["2", "rgb", "0"])
def test_other_channel_counts_are_refused(value):
    meta = {**contract_metadata("discriminator", ["a"]), "channels": value}
    with pytest.raises(ModelError, match="channels must be 1 or 3"):
        parse_metadata(meta, "m")


def png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


@pytest.mark.parametrize("image, expected", [
    (Image.new("RGB", (8, 6), (10, 20, 30)), (10, 20, 30)),
    (Image.new("L", (8, 6), 77), (77, 77, 77)),
    (Image.new("RGBA", (8, 6), (200, 100, 50, 0)), (0, 0, 0)),    # transparent: black
    (Image.fromarray(np.full((6, 8), 65535, np.uint16)), (255, 255, 255)),  # 16-bit grey, scaled
])
def test_rgb_decoding(image, expected):
    pixels = load_pixels(png(image), (6, 8), channels=3)
    assert pixels.shape == (6, 8, 3) and pixels.dtype == np.uint8
    assert tuple(pixels[0, 0]) == expected


def test_rgb_other_sizes_are_refused_or_resized():
    data = png(Image.new("RGB", (70, 50), (1, 2, 3)))
    with pytest.raises(ImageSizeError, match="image is 70x50, expected 64x64; pass --resize"):
        load_pixels(data, (64, 64), channels=3)
    assert load_pixels(data, (64, 64), resize=True, channels=3).shape == (64, 64, 3)


def test_rgb_arrays_must_be_hwc_uint8():
    with pytest.raises(ImageError, match=r"uint8 \[H, W, 3\]"):
        load_pixels(np.zeros((4, 4), np.uint8), (4, 4), channels=3)


def test_rgb_batch_is_channels_first():
    pixels = np.zeros((2, 4, 5, 3), np.uint8)
    pixels[..., 1] = 255
    batch = to_batch(pixels, 1 / 127.5, -1.0)
    assert batch.shape == (2, 3, 4, 5) and batch.dtype == np.float32
    assert (batch[:, 0] == -1).all() and (batch[:, 1] == 1).all()

"""Decoding: format and mode conversions, sizes, the PNG shortcut, and hostile inputs."""

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from detector import ImageError
from detector.fastpng import decode_gray8
from detector.images import load_pixels, MAX_PIXELS

SIZE = (28, 28)
RNG = np.random.default_rng(0)
GRAY = RNG.integers(0, 256, SIZE, dtype=np.uint8)  # arbitrary content: conversions must be exact


def encode(image, format="PNG", **save):
    buffer = io.BytesIO()
    image.save(buffer, format=format, **save)
    return buffer.getvalue()


def gray_as(mode):
    """GRAY in another mode whose pixels convert back to GRAY exactly."""
    if mode == "RGB":
        return Image.fromarray(np.stack([GRAY] * 3, -1))
    if mode == "RGBA":
        return Image.fromarray(np.dstack([GRAY] * 3 + [np.full(SIZE, 255, np.uint8)]))
    if mode == "LA":
        return Image.fromarray(GRAY).convert("LA")
    if mode == "P":
        image = Image.fromarray(GRAY).convert("P")  # keeps exact values: "L"->"P" is grayscale
        image.putpalette([v for i in range(256) for v in (i, i, i)])
        image.putdata(GRAY.ravel().tolist())
        return image
    if mode == "I;16":
        return Image.fromarray(GRAY.astype(np.uint16) * 257)  # 257 * v scales back to v
    raise AssertionError(mode)


@pytest.mark.parametrize("mode,format", [(m, "PNG") for m in ("RGB", "RGBA", "LA", "P", "I;16")]
                         + [(m, "TIFF") for m in ("RGB", "RGBA", "LA", "I;16")])
def test_modes_convert_exactly_to_gray(mode, format):
    image = gray_as(mode)
    assert Image.open(io.BytesIO(encode(image, format))).mode == mode
    np.testing.assert_array_equal(load_pixels(encode(image, format), SIZE), GRAY)


@pytest.mark.parametrize("format,save", [("BMP", {}), ("WEBP", {"lossless": True}),
                                         ("GIF", {}), ("TIFF", {"compression": "tiff_lzw"})])
def test_other_lossless_formats(format, save):
    np.testing.assert_array_equal(load_pixels(encode(Image.fromarray(GRAY), format, **save), SIZE),
                                  GRAY)


def test_jpeg_is_read():
    pixels = load_pixels(encode(Image.fromarray(GRAY), "JPEG", quality=95), SIZE)
    assert pixels.shape == SIZE and np.abs(pixels.astype(int) - GRAY).mean() < 20


def test_sixteen_bit_is_scaled_not_clipped():
    values = np.array([[0, 128, 257, 32896, 65280, 65535]], np.uint16).repeat(28, 0)
    values = np.pad(values, ((0, 0), (0, 22)))
    got = load_pixels(encode(Image.fromarray(values)), SIZE)
    assert got[0, :6].tolist() == [0, 0, 1, 128, 254, 255]  # v / 257, rounded


def test_alpha_is_composited_on_black():
    rgba = np.zeros((28, 28, 4), np.uint8)
    rgba[..., :3] = 200
    rgba[:, :10, 3] = 0      # transparent: background
    rgba[:, 10:20, 3] = 128  # half: 200 * 128 / 255
    rgba[:, 20:, 3] = 255
    got = load_pixels(encode(Image.fromarray(rgba)), SIZE)
    assert (got[:, :10] == 0).all() and (got[:, 10:20] == 100).all() and (got[:, 20:] == 200).all()


def test_palette_transparency_is_composited_on_black():
    image = Image.fromarray(np.full(SIZE, 255, np.uint8)).convert("P")
    image.info["transparency"] = image.getpixel((0, 0))
    assert (load_pixels(encode(image, "PNG", transparency=image.getpixel((0, 0))), SIZE) == 0).all()


def test_animated_gif_gives_first_frame():
    frames = [Image.fromarray(np.full(SIZE, v, np.uint8)) for v in (10, 240)]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:])
    assert Image.open(io.BytesIO(data)).n_frames == 2
    assert (load_pixels(data, SIZE) == 10).all()


WIDE = RNG.integers(0, 256, (28, 30), dtype=np.uint8)  # stored 30 wide, 28 high
UPRIGHT = {1: WIDE, 2: WIDE[:, ::-1], 3: WIDE[::-1, ::-1], 4: WIDE[::-1], 5: WIDE.T,
           6: np.rot90(WIDE, -1), 7: WIDE[::-1, ::-1].T, 8: np.rot90(WIDE, 1)}


@pytest.mark.parametrize("orientation", sorted(UPRIGHT))
@pytest.mark.parametrize("format,save", [("PNG", {}), ("TIFF", {}), ("WEBP", {"lossless": True}),
                                         ("JPEG", {"quality": 100})])
def test_exif_orientation_is_applied(format, save, orientation):
    """Read upright, as viewers show it; the size checked is the upright one too."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = encode(Image.fromarray(WIDE), format, exif=exif.tobytes(), **save)
    expected = UPRIGHT[orientation]
    got = load_pixels(data, expected.shape).astype(int)
    assert np.abs(got - expected).mean() <= (8 if format == "JPEG" else 0)
    if orientation >= 5:  # a quarter turn: the stored size is the wrong one
        with pytest.raises(ImageError, match="image is 28x30, expected 30x28"):
            load_pixels(data, (28, 30))


@pytest.mark.parametrize("shape", [(32, 32), (28, 29), (1, 1)])
def test_wrong_size_names_the_size(shape):
    data = encode(Image.fromarray(np.zeros(shape, np.uint8)))
    h, w = shape
    with pytest.raises(ImageError, match=f"image is {w}x{h}, expected 28x28; pass --resize"):
        load_pixels(data, SIZE)


def test_resize():
    big = np.kron(GRAY, np.ones((4, 4), np.uint8))  # 112 x 112, each pixel a 4x4 block
    got = load_pixels(encode(Image.fromarray(big)), SIZE, resize=True)
    assert got.shape == SIZE and np.abs(got.astype(int) - GRAY).max() <= 60
    rgb = Image.fromarray(np.zeros((50, 40, 3), np.uint8))
    assert load_pixels(encode(rgb, "JPEG"), SIZE, resize=True).shape == SIZE


def test_float_images_are_refused():
    with pytest.raises(ImageError, match="floating-point"):
        load_pixels(encode(Image.fromarray(GRAY.astype(np.float32)), "TIFF"), SIZE)


# --- the PNG shortcut must agree with Pillow, and step aside whenever it is not sure ---

def chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def handmade_png(pixels, filters=None, idat_parts=1, extra=b"", ihdr=None):
    h, w = pixels.shape
    rows = b"".join(bytes([filters[i] if filters else 0]) + pixels[i].tobytes()
                    for i in range(h))
    if filters:  # apply Sub (1) or Up (2) so that un-filtering is exercised
        out = bytearray()
        prev = np.zeros(w, np.int32)
        for i in range(h):
            row = pixels[i].astype(np.int32)
            f = filters[i]
            left = np.concatenate([[0], row[:-1]])
            delta = {0: row, 1: row - left, 2: row - prev}[f]
            out += bytes([f]) + (delta % 256).astype(np.uint8).tobytes()
            prev = row
        rows = bytes(out)
    stream = zlib.compress(rows)
    step = -(-len(stream) // idat_parts)
    idats = b"".join(chunk(b"IDAT", stream[i:i + step]) for i in range(0, len(stream), step))
    ihdr = ihdr or struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + extra + idats + chunk(b"IEND", b"")


@pytest.mark.parametrize("save", [{}, {"optimize": True}, {"compress_level": 0},
                                  {"compress_level": 9}])
def test_shortcut_matches_pillow_on_pillow_pngs(save):
    for seed in range(20):
        image = np.random.default_rng(seed).integers(0, 256, SIZE, dtype=np.uint8)
        image[: seed % 28] = 0  # vary content so the encoder picks different row filters
        data = encode(Image.fromarray(image), **save)
        fast = decode_gray8(data, SIZE)
        assert fast is not None
        np.testing.assert_array_equal(fast, np.asarray(Image.open(io.BytesIO(data))))


@pytest.mark.parametrize("parts", [1, 3])
def test_shortcut_on_handmade_pngs(parts):
    filters = [i % 3 for i in range(28)]
    data = handmade_png(GRAY, filters, idat_parts=parts, extra=chunk(b"tEXt", b"k\0v"))
    np.testing.assert_array_equal(decode_gray8(data, SIZE), GRAY)
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(data))), GRAY)


@pytest.mark.parametrize("case", ["rgb", "interlaced", "16bit", "trns", "exif", "size",
                                  "bad_crc", "truncated"])
def test_shortcut_steps_aside(case):
    if case == "rgb":
        data = encode(Image.fromarray(np.stack([GRAY] * 3, -1)))
    elif case == "interlaced":
        data = handmade_png(GRAY, ihdr=struct.pack(">IIBBBBB", 28, 28, 8, 0, 0, 0, 1))
    elif case == "16bit":
        data = encode(Image.fromarray(GRAY.astype(np.uint16)))
    elif case == "trns":
        data = handmade_png(GRAY, extra=chunk(b"tRNS", b"\0\0"))
    elif case == "exif":  # it may say "rotate", which only the general path does
        data = handmade_png(GRAY, extra=chunk(b"eXIf", b"MM\0*\0\0\0\x08\0\0"))
    elif case == "size":
        data = encode(Image.fromarray(np.zeros((27, 28), np.uint8)))
    elif case == "bad_crc":
        data = bytearray(encode(Image.fromarray(GRAY)))
        data[-20] ^= 0xFF  # inside the IDAT payload
        data = bytes(data)
    else:
        data = encode(Image.fromarray(GRAY))[:-40]
    assert decode_gray8(data, SIZE) is None


# --- hostile or broken inputs: always ImageError, never another exception ---

def bomb_png(width, height):
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0,
                                                               0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + chunk(b"IEND", b""))


BAD_INPUTS = {
    "empty": (b"", "empty file"),
    "text": (b"hello, this is not an image\n", "not an image"),
    "random": (np.random.default_rng(1).bytes(4096), "not an image"),
    "truncated_png": (encode(Image.fromarray(GRAY))[:60], "truncated|cannot"),
    "truncated_jpeg": (encode(Image.fromarray(GRAY), "JPEG")[:200], "truncated|cannot"),
    "png_signature_only": (b"\x89PNG\r\n\x1a\n", "cannot|truncated|not an image"),
    "bomb_100000": (bomb_png(100000, 100000), "decompression bomb"),
    "bomb_10000": (bomb_png(10000, 10000), "decompression bomb"),
    "over_our_limit": (bomb_png(5000, 5000), "more than .* decompression bomb"),
    "tiff_garbage": (b"II*\0" + b"\xff" * 40, "not an image|cannot"),
    "bmp_garbage": (b"BM" + b"\0" * 50, "cannot"),
    "gif_garbage": (b"GIF89a" + b"\xff" * 20, "not an image|cannot"),
    "bad_header_crc": (encode(Image.fromarray(GRAY))[:29] + b"XXXX"
                       + encode(Image.fromarray(GRAY))[33:], "cannot|broken"),
}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
@pytest.mark.parametrize("resize", [False, True])
def test_bad_inputs_raise_image_error(name, resize, recwarn):
    data, message = BAD_INPUTS[name]
    with pytest.raises(ImageError, match=message):
        load_pixels(data, SIZE, resize=resize)
    assert not recwarn.list  # neither bomb warnings nor Pillow's chatter reach stderr


def test_unreadable_paths(tmp_path):
    with pytest.raises(ImageError, match="No such file"):
        load_pixels(tmp_path / "missing.png", SIZE)
    with pytest.raises(ImageError, match="directory"):
        load_pixels(tmp_path, SIZE)


def test_limit_is_checked_before_decoding():
    assert 5000 * 5000 > MAX_PIXELS  # the "over_our_limit" case above relies on it


@pytest.mark.parametrize("array", [np.zeros(SIZE, np.float32), np.zeros((28, 28, 3), np.uint8)])
def test_bad_arrays(array):
    with pytest.raises(ImageError, match="uint8"):
        load_pixels(array, SIZE)


@pytest.mark.parametrize("data, kind", [
    (b"just some text", "UnsupportedImageError"),
    (encode(Image.fromarray(np.zeros((2000, 2000), np.uint8))), "ImageSizeError"),
    (encode(Image.fromarray(np.zeros((5000, 5000), np.uint8))), "ImageTooLargeError"),
    (encode(Image.fromarray(GRAY))[:40], "ImageError"),
])
def test_error_kinds(data, kind):
    """The subclass says what went wrong (the HTTP server maps it to a status) without a
    caller matching on message text."""
    with pytest.raises(ImageError) as caught:
        load_pixels(data, SIZE)
    assert type(caught.value).__name__ == kind


def test_size_error_carries_both_sizes():
    with pytest.raises(ImageError) as caught:
        load_pixels(encode(Image.fromarray(np.zeros((20, 30), np.uint8))), SIZE)
    assert (caught.value.size, caught.value.expected) == ((30, 20), (28, 28))

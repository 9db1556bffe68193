"""Decode one image into the model's input contract: 8-bit grayscale, H x W pixels (or, for a
model whose metadata says 3 channels, 8-bit RGB, H x W x 3: the same rules, colour kept).

FashionMNIST images are white-ish garments on a black (0) background, so:
- colour is reduced to luma (ITU-R 601-2, Pillow's "L" conversion);
- transparency is composited onto black, i.e. a transparent pixel is background;
- 16-bit images are scaled to 8 bits (value / 257, rounded), never clipped;
- animated images (GIF, APNG, WebP) give their first frame;
- an EXIF Orientation tag is applied, so the image is read upright, as viewers show it.
Another size is an error unless ``resize`` is set, in which case the image is stretched to
H x W with a Lanczos filter. Sizes are checked on the header before any pixel is decoded, so a
small file declaring a huge image (a decompression bomb) is refused cheaply.
"""

import io
import logging
import os
import stat
import warnings

import numpy as np
from PIL import ExifTags, Image

from . import fastpng
from .errors import (DetectorError, ImageError, ImageSizeError, ImageTooLargeError,
                     UnsupportedImageError)

# Pillow logs some refusals (TIFF: "More samples per pixel than can be decoded") at ERROR
# level, which Python prints to stderr when the application configured no logging. The
# ImageError says it already; applications that configure logging still receive the records.
logging.getLogger("PIL").addHandler(logging.NullHandler())

# Common formats first: Pillow loads every plugin the first time it must look past these.
FORMATS = ("PNG", "JPEG", "BMP", "GIF", "TIFF", "WEBP")
EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".gif"})
# Checked on the size a header declares, before any pixel is decoded: a tiny file can declare
# gigapixels. 4096 x 4096 leaves room for --resize of ordinary photos.
MAX_PIXELS = 4096 * 4096
# Refuse to read more than this from one file (a 28 x 28 image is well under 10 kB).
MAX_FILE_BYTES = 64 * 1024 * 1024
# O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever.
OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
SIXTEEN_BIT_MODES = frozenset({"I;16", "I;16L", "I;16B", "I;16N", "I"})
ALPHA_MODES = frozenset({"RGBA", "LA", "PA", "RGBa", "La"})
# EXIF Orientation -> the transpose that shows the image upright (as Pillow's exif_transpose).
ORIENTATIONS = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
                4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE,
                6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
                8: Image.Transpose.ROTATE_90}
SWAPS_SIDES = frozenset({Image.Transpose.TRANSPOSE, Image.Transpose.ROTATE_270,
                         Image.Transpose.TRANSVERSE, Image.Transpose.ROTATE_90})


def load_pixels(source, size: tuple[int, int], *, resize: bool = False, channels: int = 1) -> np.ndarray:
    """Return ``source`` as a uint8 [H, W] array (channels 3: [H, W, 3] RGB), ``size`` being (H, W).

    ``source`` is a path, the bytes of an encoded image, a PIL image, or a uint8 [H, W] array.
    Raises ImageError for anything that cannot be read or does not fit.
    """
    if channels == 3:
        return _load_rgb(source, size, resize)
    if isinstance(source, np.ndarray):
        return _from_array(source, size, resize)
    if isinstance(source, Image.Image):
        return _decode(source, size, resize)
    if isinstance(source, (bytes, bytearray)):
        _check_length(len(source), "image data")
        data = source
    else:
        data = _read_file(source)
    pixels = fastpng.decode_gray8(data, size)
    return pixels if pixels is not None else _decode(data, size, resize)


def _load_rgb(source, size: tuple[int, int], resize: bool) -> np.ndarray:
    """load_pixels for an RGB model: Pillow's reader always (fastpng reads grey PNGs only)."""
    if isinstance(source, np.ndarray):
        if source.dtype != np.uint8 or source.ndim != 3 or source.shape[2] != 3:
            raise ImageError(f"arrays must be uint8 [H, W, 3], got {source.dtype} {list(source.shape)}")
        if source.shape[:2] == tuple(size):
            return source
        return _decode(Image.fromarray(source), size, resize, _to_rgb)
    if isinstance(source, Image.Image):
        return _decode(source, size, resize, _to_rgb)
    if isinstance(source, (bytes, bytearray)):
        _check_length(len(source), "image data")
        return _decode(bytes(source), size, resize, _to_rgb)
    return _decode(_read_file(source), size, resize, _to_rgb)


def _decode(source, size: tuple[int, int], resize: bool, convert=None) -> np.ndarray:
    """Pillow's full reader, for a PIL image or encoded bytes; `convert` (default _to_gray)
    turns the opened image into the model's mode."""
    convert = convert or _to_gray
    with warnings.catch_warnings():
        # Pillow warns about oddities it survives (corrupt EXIF, ...): stderr stays one line per
        # failure. Its bomb warning, though, becomes an error.
        warnings.simplefilter("ignore")
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        if isinstance(source, Image.Image):
            return _pixels(source, size, resize, convert)
        with _open(source) as img:
            return _pixels(img, size, resize, convert)


def _open(data: bytes) -> Image.Image:
    if not data:
        raise ImageError("empty file")
    try:
        if data.startswith(fastpng.SIGNATURE):
            # Opened directly: Image.open first imports five format plugins (~20 ms of a
            # ~0.25 s cold start). Its bomb check is not missed: _pixels applies a stricter one.
            # Imported here: plain gray PNGs (fastpng) never need the plugin (~10 ms).
            from PIL import PngImagePlugin
            return PngImagePlugin.PngImageFile(io.BytesIO(data))
        return Image.open(io.BytesIO(data), formats=FORMATS)
    except Image.UnidentifiedImageError:
        raise UnsupportedImageError("not an image in a supported format "
                         "(PNG, JPEG, BMP, GIF, TIFF, WebP)") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageTooLargeError(f"refused as a possible decompression bomb: {exc}") from None
    except Exception as exc:  # corrupt headers raise many types (OSError, SyntaxError, ...)
        raise ImageError(f"cannot read image header: {exc}") from None


def _read_file(path) -> bytes:
    # One unbuffered read of the whole file is several times faster than letting Pillow issue
    # many small reads; for a 28 x 28 PNG the open and read are a good part of the cost.
    try:
        fd = os.open(path, OPEN_FLAGS)
        with open(fd, "rb", buffering=0) as file:
            info = os.fstat(fd)
            if stat.S_ISDIR(info.st_mode):
                raise ImageError("Is a directory")
            if not stat.S_ISREG(info.st_mode):  # a FIFO, socket or device: may never end
                raise ImageError("not a regular file (a FIFO, socket or device)")
            _check_length(info.st_size, "file")
            return file.readall()
    except OSError as exc:
        raise ImageError(exc.strerror or str(exc)) from None
    except (TypeError, ValueError) as exc:  # not a path at all, or one with a NUL byte
        raise ImageError(f"not a readable path: {exc}") from None


def _pixels(img: Image.Image, size: tuple[int, int], resize: bool, convert) -> np.ndarray:
    height, width = size
    w, h = img.size  # from the header: nothing is decoded yet
    transpose = _orientation(img)
    if transpose in SWAPS_SIDES:
        w, h = h, w  # the size as displayed, which is what the user sees and measures
    if w * h > MAX_PIXELS:
        raise ImageTooLargeError(f"image is {w}x{h}, more than the {MAX_PIXELS} pixels allowed "
                         f"(refused unread as a possible decompression bomb)")
    if (w, h) != (width, height) and not resize:
        raise ImageSizeError(f"image is {w}x{h}, expected {width}x{height}; pass --resize to "
                             f"scale it", (w, h), (width, height))
    try:
        converted = convert(img)
        if transpose is not None:
            converted = converted.transpose(transpose)
        if converted.size != (width, height):
            converted = converted.resize((width, height), Image.Resampling.LANCZOS)
        return np.asarray(converted)
    except DetectorError:
        raise
    except Exception as exc:  # truncated or corrupt data surfaces only while decoding
        raise ImageError(f"cannot decode image: {exc}") from None


def _orientation(img: Image.Image):
    """The transpose that EXIF's Orientation tag asks for (None: none), found without decoding."""
    if img.format == "TIFF":
        return None  # Pillow's TIFF reader reports the upright size and turns the pixels itself
    if img.format == "PNG" and "exif" not in img.info:
        return None  # Pillow would decode the whole PNG to look for an eXIf chunk after the pixels
    try:
        return ORIENTATIONS.get(img.getexif().get(ExifTags.Base.Orientation, 1))
    except Exception:  # a corrupt EXIF block: ignore it, as image viewers do
        return None


def _to_gray(img: Image.Image) -> Image.Image:
    mode = img.mode
    if mode == "L" and "transparency" not in img.info:
        return img
    if mode in SIXTEEN_BIT_MODES:
        # "I" (32-bit) is how some readers hand over 16-bit data; values are taken as 16-bit.
        values = np.clip(np.asarray(img), 0, 65535).astype(np.uint32)
        return Image.fromarray(((values * 255 + 32767) // 65535).astype(np.uint8))
    if mode == "F":
        raise UnsupportedImageError("floating-point images are not supported "
                                    "(no defined 0-255 range)")
    if mode in ALPHA_MODES or "transparency" in img.info:
        la = np.asarray(img if mode == "LA" else img.convert("RGBA").convert("LA"))
        gray, alpha = la[..., 0].astype(np.uint16), la[..., 1]
        return Image.fromarray(((gray * alpha + 127) // 255).astype(np.uint8))
    try:
        return img.convert("L")
    except ValueError:
        raise UnsupportedImageError(f"unsupported pixel mode {mode}") from None


def _to_rgb(img: Image.Image) -> Image.Image:
    """RGB, by the grey rules for grey and 16-bit images; transparency composited onto black."""
    mode = img.mode
    if mode == "RGB" and "transparency" not in img.info:
        return img
    if mode in SIXTEEN_BIT_MODES or mode in ("L", "LA", "F", "1"):
        return _to_gray(img).convert("RGB")
    if mode in ALPHA_MODES or "transparency" in img.info:
        rgba = np.asarray(img.convert("RGBA")).astype(np.uint16)
        return Image.fromarray(((rgba[..., :3] * rgba[..., 3:] + 127) // 255).astype(np.uint8))
    try:
        return img.convert("RGB")
    except ValueError:
        raise UnsupportedImageError(f"unsupported pixel mode {mode}") from None


def _from_array(array: np.ndarray, size: tuple[int, int], resize: bool) -> np.ndarray:
    if array.dtype != np.uint8 or array.ndim != 2:
        raise ImageError(f"arrays must be uint8 [H, W], got {array.dtype} {list(array.shape)}")
    if array.shape == tuple(size):
        return array
    return _decode(Image.fromarray(array), size, resize)


def _check_length(length: int, what: str) -> None:
    if length > MAX_FILE_BYTES:
        raise ImageTooLargeError(f"{what} is larger than {MAX_FILE_BYTES // 2**20} MiB")


def is_image_name(name: str) -> bool:
    """Whether a file name has one of the image extensions a directory scan picks up."""
    return os.path.splitext(name)[1].lower() in EXTENSIONS

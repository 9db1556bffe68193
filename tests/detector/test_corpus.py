"""A corpus of hostile and unusual inputs, written by the test, through `python -m detector`.

Every bad input must give one JSON row with "error", one stderr line, exit status 1 and no
traceback, within seconds; every odd-but-valid one (16-bit, palette, alpha, animated, CMYK,
EXIF-rotated, a name that is not UTF-8) must get its known answer. Each case runs in-process;
one subprocess runs the whole corpus as a batch (and would hang, not fail, if a FIFO blocked).
"""

import contextlib
import json
import os
import re
import signal
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile

from detector import images as images_module

ROOT = Path(__file__).resolve().parents[2]
SECONDS = 5  # the most one input may take, damaged or not
NOT_UTF8 = b"caf\xe9-\xff.png"  # Latin-1 bytes: not valid UTF-8


def uniform(value, shape=(28, 28), dtype=np.uint8):
    return np.full(shape, value, dtype)


def rewrite_png_size(png: bytes, width: int, height: int) -> bytes:
    ihdr = b"IHDR" + width.to_bytes(4, "big") + height.to_bytes(4, "big") + png[24:29]
    return png[:12] + ihdr + zlib.crc32(ihdr).to_bytes(4, "big") + png[33:]


def rewrite_jpeg_size(jpeg: bytes, side: int) -> bytes:
    at = jpeg.index(b"\xff\xc0") + 5  # SOF0: length (2), precision (1), height (2), width (2)
    return jpeg[:at] + side.to_bytes(2, "big") * 2 + jpeg[at + 4:]


def rewrite_gif_size(gif: bytes, side: int) -> bytes:
    screen = side.to_bytes(2, "little") * 2
    at = gif.index(b"\x2c", 13)  # the first image descriptor: left, top, width, height
    gif = gif[:6] + screen + gif[10:]
    return gif[:at + 5] + screen + gif[at + 9:]


def exif(orientation: int) -> bytes:
    data = Image.Exif()
    data[0x0112] = orientation
    return data.tobytes()


def valid_files(encode) -> dict:
    """name -> (bytes, mean pixel value the detector must see)."""
    animated = [Image.fromarray(uniform(v)) for v in (10, 240)]
    rgba = np.dstack([uniform(200)] * 3 + [uniform(128)])  # 200 * 128/255 on black: 100
    palette = Image.fromarray(uniform(60)).convert("P")
    return {
        "gray16.png": (encode(uniform(30 * 257, dtype=np.uint16)), 30),
        "palette.png": (encode(palette), 60),
        "la.png": (encode(Image.fromarray(uniform(90)).convert("LA")), 90),
        "rgba.png": (encode(rgba), 100),
        "animated.gif": (encode(animated[0], "GIF", save_all=True, append_images=animated[1:]),
                         10),
        "cmyk.jpg": (encode(Image.fromarray(uniform(150)).convert("CMYK"), "JPEG", quality=95),
                     150),
        "exif-rotated.jpg": (encode(uniform(250), "JPEG", quality=95, exif=exif(6)), 250),
    }


def bad_files(encode) -> dict:
    """name -> (bytes, pattern its error must match)."""
    png, jpeg = encode(uniform(7)), encode(uniform(7), "JPEG")
    gif = encode(uniform(7), "GIF")
    lzw = bytearray(encode(np.random.default_rng(0).integers(0, 256, (28, 28), np.uint8),
                           "TIFF", compression="tiff_lzw"))
    lzw[28:68] = b"\xff" * 40  # libtiff prints "Using code not yet in table." to fd 2
    rgb_tiff = bytearray(encode(uniform(7, (28, 28, 3)), "TIFF"))
    at = rgb_tiff.index(struct.pack("<HHI", 277, 3, 1))  # SamplesPerPixel: 3
    rgb_tiff[at + 8:at + 10] = struct.pack("<H", 122)  # Pillow logs an ERROR, then refuses it
    return {
        "empty.png": (b"", "^empty file$"),
        "text.png": (b"just some text\n", "not an image"),
        "random.jpg": (np.random.default_rng(0).bytes(3000), "not an image"),
        "truncated.png": (png[:len(png) // 2], "truncated|cannot"),
        "truncated.jpg": (jpeg[:len(jpeg) // 2], "truncated|cannot"),
        "header-only.png": (png[:33], "truncated|cannot"),
        "bomb.png": (rewrite_png_size(png, 100_000, 100_000), "decompression bomb"),
        "bomb.jpg": (rewrite_jpeg_size(jpeg, 65_000), "decompression bomb"),
        "bomb.gif": (rewrite_gif_size(gif, 65_535), "decompression bomb"),
        "huge-real.png": (encode(uniform(0, (5000, 5000))), "5000x5000, more than"),
        "big-real.png": (encode(uniform(0, (2000, 2000))), "2000x2000, expected 28x28"),
        "garbled-lzw.tif": (bytes(lzw), "cannot decode image"),
        "bad-samples.tif": (bytes(rgb_tiff), "not an image"),
    }


def special_files(folder: Path) -> dict:
    """Files that are not plain files: name -> pattern of the error they must give."""
    os.symlink("nowhere.png", folder / "broken-link.png")
    os.symlink("loop.png", folder / "loop.png")
    os.mkfifo(folder / "fifo.png")
    with open(folder / "oversized.png", "wb") as file:  # sparse: costs no disk
        file.write(b"\x89PNG\r\n\x1a\n")
        file.truncate(images_module.MAX_FILE_BYTES + 1)
    return {"broken-link.png": "No such file", "loop.png": "Too many levels of symbolic links",
            "fifo.png": "not a regular file", "oversized.png": "larger than 64 MiB"}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, helpers):
    """(folder, {name: ("answer", mean) or ("error", pattern)}); plus an empty folder."""
    folder = tmp_path_factory.mktemp("corpus")
    expect = {}
    for name, (data, mean) in valid_files(helpers.encode).items():
        (folder / name).write_bytes(data)
        expect[name] = ("answer", mean)
    (Path(os.fsdecode(bytes(folder))) / os.fsdecode(NOT_UTF8)).write_bytes(
        helpers.encode(uniform(200)))
    expect[os.fsdecode(NOT_UTF8)] = ("answer", 200)
    for name, (data, pattern) in bad_files(helpers.encode).items():
        (folder / name).write_bytes(data)
        expect[name] = ("error", pattern)
    for name, pattern in special_files(folder).items():
        expect[name] = ("error", pattern)
    (folder / "empty-dir").mkdir()  # not an image name: the scan skips it
    return folder, expect


@contextlib.contextmanager
def deadline(seconds=SECONDS):
    """Fail, rather than hang the whole suite, when an input blocks (as a FIFO would)."""
    def expired(*_):
        raise TimeoutError(f"an input took more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def check_answer(row, mean, helpers, exact=True):
    label, confidence = helpers.expected(mean)
    assert row["label"] == label, row
    assert row["confidence"] == pytest.approx(round(confidence, 4), abs=0 if exact else 3e-3)


def test_corpus_names(corpus):
    """The corpus holds all 25 kinds of input it is built from (guards against a silent shrink)."""
    names = set(corpus[1])
    assert len(names) == 25 and os.fsdecode(NOT_UTF8) in names


@pytest.mark.parametrize("name", ["gray16.png", "palette.png", "la.png", "rgba.png",
                                  "animated.gif", "cmyk.jpg", "exif-rotated.jpg",
                                  os.fsdecode(NOT_UTF8)])
def test_valid_inputs_get_their_known_answer(cli, tiny_model, corpus, helpers, name):
    folder, expect = corpus
    with deadline():
        code, out, err = cli("--model", tiny_model, folder / name)
    assert (code, err) == (0, "")
    check_answer(json.loads(out), expect[name][1], helpers, exact=not name.endswith(".jpg"))


@pytest.mark.parametrize("name", ["empty.png", "text.png", "random.jpg", "truncated.png",
                                  "truncated.jpg", "header-only.png", "bomb.png", "bomb.jpg",
                                  "bomb.gif", "huge-real.png", "big-real.png", "broken-link.png",
                                  "loop.png", "fifo.png", "oversized.png", "garbled-lzw.tif",
                                  "bad-samples.tif"])
def test_bad_inputs_give_one_error_row_and_one_line(cli, tiny_model, corpus, name, recwarn):
    folder, expect = corpus
    with deadline():
        code, out, err = cli("--model", tiny_model, folder / name)
    (line,) = out.splitlines()
    row = json.loads(line)
    assert code == 1 and list(row) == ["error"]
    assert re.search(expect[name][1], row["error"]), row
    assert err == f"detector: {folder / name}: {row['error']}\n"
    assert not recwarn.list


def test_empty_directory(cli, tiny_model, corpus):
    folder, _ = corpus
    code, out, err = cli("--model", tiny_model, folder / "empty-dir")
    assert code == 1 and json.loads(out)["error"].startswith("no image files in this directory")
    assert err.count("\n") == 1


def test_huge_real_image_is_scaled_with_resize(cli, tiny_model, corpus, helpers):
    folder, _ = corpus
    with deadline():
        code, out, _ = cli("--model", tiny_model, "--resize", folder / "big-real.png")
    assert code == 0
    check_answer(json.loads(out), 0, helpers)


def test_unreadable_file(cli, tiny_model, tmp_path, helpers, monkeypatch):
    """chmod 000 where it works; as root (which reads anything) os.open is made to refuse."""
    path = tmp_path / "secret.png"
    path.write_bytes(helpers.encode(uniform(0)))
    path.chmod(0)
    if os.access(path, os.R_OK):  # root: simulate what the kernel would answer anyone else
        real_open = os.open

        def refuse(name, *args, **kwargs):
            if os.fspath(name) == str(path):
                raise PermissionError(13, "Permission denied", str(name))
            return real_open(name, *args, **kwargs)

        monkeypatch.setattr(images_module.os, "open", refuse)
    code, out, err = cli("--model", tiny_model, path)
    assert code == 1 and json.loads(out) == {"error": "Permission denied"}
    assert err == f"detector: {path}: Permission denied\n"


@pytest.mark.parametrize("name", ["bomb.png", "bomb.jpg", "bomb.gif", "huge-real.png"])
def test_bombs_are_refused_before_any_pixel_is_decoded(corpus, monkeypatch, name):
    def no_decoding(self, *args):
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(images_module.Image.Image, "load", no_decoding)
    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    with pytest.raises(images_module.ImageError, match="decompression bomb"):
        images_module.load_pixels(corpus[0] / name, (28, 28), resize=True)


def test_whole_corpus_in_one_subprocess_batch(tiny_model, corpus, helpers):
    folder, expect = corpus
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "detector", "--model", str(tiny_model),
                           str(folder), str(folder / "empty-dir")], cwd=ROOT,
                          capture_output=True, timeout=60)
    assert time.monotonic() - started < SECONDS * 3
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    names = [os.path.basename(row["path"]) for row in rows]
    assert names == sorted(expect) + ["empty-dir"]
    for row, name in zip(rows, names[:-1]):
        kind, known = expect[name]
        if kind == "answer":
            check_answer(row, known, helpers, exact=not name.endswith(".jpg"))
        else:
            assert re.search(known, row["error"]), row
    # a name that is not UTF-8 comes back as the same bytes
    assert bytes(folder) + b"/" + NOT_UTF8 in {os.fsencode(row["path"]) for row in rows}
    stderr = done.stderr.decode(errors="replace").splitlines()
    failures = sum("error" in row for row in rows)
    # one line each: C libraries' own chatter (libtiff) does not reach stderr
    assert done.returncode == 1 and failures == 18 and len(stderr) == failures
    assert all(line.startswith("detector: ") for line in stderr)
    assert b"Traceback" not in done.stderr and b"Warning" not in done.stderr

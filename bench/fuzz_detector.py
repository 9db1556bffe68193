"""Fuzz the detector's decoding path for a while and report how many inputs it survived.

    python bench/fuzz_detector.py [--seconds 600] [--seed 0] [--crash-dir DIR]

Each input is a valid image of some format and mode (the seeds below) damaged by a few random
edits - bit flips, bytes set to edge values, cuts, deletions, duplications, insertions -
with the PNG checksums recomputed half of the time so the damage reaches the decoder instead
of stopping at the CRC check; one input in eight is random bytes (half of those after a
format's signature). Every input goes
through `detector.images.load_pixels` twice (without and with resize). A crash is anything but
a uint8 [28, 28] array or an ImageError: another exception, a wrong result, or one input taking
more than 5 s. Crashing inputs are written to --crash-dir. A hard crash (segfault) kills this
single process; faulthandler then prints where.

tests/detector/test_fuzz.py draws the same edits with hypothesis for a bounded number of cases.
"""

import argparse
import faulthandler
import io
import struct
import sys
import time
import traceback
import warnings
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if __name__ == "__main__":  # run as a script, bench/ comes first and bench/detector.py
    sys.path[0] = str(ROOT)  # would shadow the detector package

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from detector.__main__ import native_stderr_silenced  # noqa: E402
from detector.errors import ImageError  # noqa: E402
from detector.images import load_pixels  # noqa: E402

SIZE = (28, 28)
SLOW_SECONDS = 5.0
EDGE_VALUES = (0x00, 0x01, 0x7F, 0x80, 0xFE, 0xFF)
N_EDITS = 7  # kinds of edit that `edit` knows
# How each format starts: random bytes after one reach that format's parser.
SIGNATURES = {"png": b"\x89PNG\r\n\x1a\n", "jpeg": b"\xff\xd8\xff", "gif": b"GIF89a",
              "bmp": b"BM", "tiff-le": b"II*\x00", "tiff-be": b"MM\x00*",
              "webp": b"RIFF\x00\x01\x00\x00WEBPVP8 "}


def _encode(image: Image.Image, format: str, **save) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=format, **save)
    return buffer.getvalue()


def seeds() -> list:
    """(name, bytes) of valid images in the formats and modes the detector reads."""
    rng = np.random.default_rng(0)
    gray = Image.fromarray(rng.integers(0, 256, SIZE, dtype=np.uint8))
    rgb = Image.fromarray(rng.integers(0, 256, (*SIZE, 3), dtype=np.uint8))
    frames = [gray, gray.transpose(Image.Transpose.ROTATE_90)]
    exif = Image.Exif()
    exif[0x0112] = 6
    return [
        ("png-gray", _encode(gray, "PNG")), ("png-rgb", _encode(rgb, "PNG")),
        ("png-rgba", _encode(rgb.convert("RGBA"), "PNG")),
        ("png-la", _encode(gray.convert("LA"), "PNG")),
        ("png-palette", _encode(rgb.convert("P"), "PNG", transparency=0)),
        ("png-16bit", _encode(Image.fromarray(np.asarray(gray).astype(np.uint16) * 257), "PNG")),
        ("png-1bit", _encode(gray.convert("1"), "PNG")),
        ("png-32x32", _encode(gray.resize((32, 32)), "PNG")),
        ("jpeg-gray", _encode(gray, "JPEG")), ("jpeg-rgb", _encode(rgb, "JPEG", quality=90)),
        ("jpeg-progressive", _encode(rgb, "JPEG", progressive=True)),
        ("jpeg-cmyk", _encode(rgb.convert("CMYK"), "JPEG")),
        ("jpeg-exif", _encode(gray, "JPEG", exif=exif.tobytes())),
        ("gif-animated", _encode(frames[0], "GIF", save_all=True, append_images=frames[1:])),
        ("bmp-gray", _encode(gray, "BMP")), ("bmp-rgb", _encode(rgb, "BMP")),
        ("tiff-gray", _encode(gray, "TIFF")), ("tiff-lzw", _encode(rgb, "TIFF",
                                                                   compression="tiff_lzw")),
        ("tiff-16bit", _encode(Image.fromarray(np.asarray(gray).astype(np.uint16)), "TIFF")),
        ("webp-lossless", _encode(gray, "WEBP", lossless=True)),
        ("webp-lossy", _encode(rgb, "WEBP", quality=50)),
    ]


def edit(data: bytes, kind: int, where: int, value: int) -> bytes:
    """One damaging edit; `where` picks a position, `value` a byte or a length."""
    if not data:
        return bytes([value & 0xFF])
    pos = where % len(data)
    span = 1 + value % 64
    if kind == 0:  # flip one bit
        return data[:pos] + bytes([data[pos] ^ (1 << (value % 8))]) + data[pos + 1:]
    if kind == 1:  # a run of up to four bytes set to an edge value (sizes, lengths, counts)
        run = bytes([EDGE_VALUES[value % len(EDGE_VALUES)]]) * (1 + value % 4)
        return data[:pos] + run + data[pos + len(run):]
    if kind == 2:  # cut the file short
        return data[:pos]
    if kind == 3:  # delete a span
        return data[:pos] + data[pos + span:]
    if kind == 4:  # duplicate a span
        return data[:pos + span] + data[pos:pos + span] + data[pos + span:]
    if kind == 5:  # insert bytes
        return data[:pos] + bytes([value & 0xFF]) * span + data[pos:]
    return data[:pos] + bytes([value & 0xFF]) + data[pos + 1:]  # set one byte


def fix_png_crcs(data: bytes) -> bytes:
    """Recompute every complete PNG chunk's CRC, so damage inside chunks gets decoded."""
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return data
    out, pos = bytearray(data), 8
    while pos + 12 <= len(out):
        (length,) = struct.unpack_from(">I", out, pos)
        end = pos + 8 + length
        if end + 4 > len(out):
            break
        out[end:end + 4] = struct.pack(">I", zlib.crc32(out[pos + 4:end]))
        pos = end + 4
    return bytes(out)


def build(seed: bytes, edits, fix_crcs: bool) -> bytes:
    for kind, where, value in edits:
        seed = edit(seed, kind, where, value)
    return fix_png_crcs(seed) if fix_crcs else seed


def check(data: bytes) -> str:
    """Decode ``data`` both ways; return "decoded" or "refused", raise AssertionError on a crash."""
    outcome = "decoded"
    for resize in (False, True):
        started = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # a warning escaping load_pixels is a bug too
                pixels = load_pixels(data, SIZE, resize=resize)
        except ImageError:
            outcome = "refused"
        else:
            assert pixels.dtype == np.uint8 and pixels.shape == SIZE, (pixels.dtype, pixels.shape)
        took = time.perf_counter() - started
        assert took < SLOW_SECONDS, f"took {took:.1f} s (resize={resize})"
    return outcome


def random_input(rng: np.random.Generator, corpus: list) -> bytes:
    if rng.random() < 1 / 8:  # random bytes, half of them after a format's signature
        noise = rng.bytes(int(rng.integers(0, 4096)))
        if rng.random() < 0.5:
            return noise
        return list(SIGNATURES.values())[int(rng.integers(len(SIGNATURES)))] + noise
    _name, seed = corpus[int(rng.integers(len(corpus)))]
    edits = [(int(rng.integers(N_EDITS)), int(rng.integers(2**32)), int(rng.integers(256)))
             for _ in range(int(rng.integers(1, 9)))]
    return build(seed, edits, fix_crcs=bool(rng.random() < 0.5))


def fuzz(seconds: float, seed: int, crash_dir: Path, report_every: float = 60) -> dict:
    rng, corpus = np.random.default_rng(seed), seeds()
    counts = {"decoded": 0, "refused": 0, "crashes": 0}
    started = last_report = time.monotonic()
    slowest = 0.0
    while time.monotonic() - started < seconds:
        data = random_input(rng, corpus)
        one = time.perf_counter()
        try:
            counts[check(data)] += 1
        except Exception:  # AssertionError or anything load_pixels let through
            counts["crashes"] += 1
            crash_dir.mkdir(parents=True, exist_ok=True)
            path = crash_dir / f"crash-{counts['crashes']:04d}.bin"
            path.write_bytes(data)
            print(f"CRASH ({path}):\n{traceback.format_exc()}", flush=True)
        slowest = max(slowest, time.perf_counter() - one)
        if time.monotonic() - last_report >= report_every:
            last_report = time.monotonic()
            print(f"{last_report - started:6.0f} s  {sum(counts.values())} inputs  {counts}",
                  flush=True)
    return {**counts, "inputs": sum(counts.values()), "seconds": time.monotonic() - started,
            "slowest_input_s": slowest}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=600, help="how long to fuzz (600)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (0)")
    parser.add_argument("--crash-dir", type=Path, default=Path("fuzz-crashes"),
                        help="where crashing inputs are written (fuzz-crashes/)")
    args = parser.parse_args(argv)
    # libtiff and friends print to fd 2 on damaged input, as the CLI keeps them from doing.
    with native_stderr_silenced():
        faulthandler.enable(sys.stderr)  # still reaches the real stderr on a hard crash
        result = fuzz(args.seconds, args.seed, args.crash_dir)
        faulthandler.disable()
    print(f"fuzzed load_pixels for {result['seconds']:.0f} s: {result['inputs']} inputs "
          f"({result['inputs'] / result['seconds']:.0f}/s), {result['decoded']} decoded, "
          f"{result['refused']} refused with ImageError, {result['crashes']} crashes; "
          f"slowest input {result['slowest_input_s']:.2f} s", flush=True)
    return 1 if result["crashes"] else 0


if __name__ == "__main__":
    sys.exit(main())

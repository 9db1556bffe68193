"""Argument parsing and output for ``python -m detector``.

Rows are JSON so scripts can consume them; error messages for people go to stderr. Turning
fatal errors into exit codes is left to __main__.
"""

import argparse
import json
import os

from .api import DEFAULT_BATCH_SIZE, load_detector
from .errors import DetectorError, one_line
from .inputs import expand_inputs, read_stdin, STDIN

EPILOG = """\
output:
  one image      {"label": "real", "confidence": 0.93}
  several images one JSON object per line (JSON Lines), each with "path" first:
                 {"path": "imgs/a.png", "label": "generated", "confidence": 0.71}
                 {"path": "imgs/b.png", "error": "image is 32x32, expected 28x28; ..."}
  "label" is "real" or "generated"; "confidence" is the probability of that label (>= 0.5).

input contract:
  28x28 images (the size the model's metadata names), read with Pillow from PNG, JPEG, BMP,
  GIF, TIFF or WebP files. Colour is converted to grayscale (luma), transparency is
  composited onto black (the FashionMNIST background), palette images are expanded, 16-bit
  images are scaled to 8 bits, animated images give their first frame, and an EXIF
  orientation is applied (the image is read upright). Another size is an error unless
  --resize is given. FIFOs and devices are refused unread. A directory is searched
  recursively for files with the extensions above, in sorted order. "-" reads one image's
  bytes from stdin. Files, and stdin, over 64 MiB are refused.

exit status:
  0  every image got an answer
  1  some image failed (its row has "error"), or the model is missing, invalid or
     damaged (a shipped model whose sha256 is not in models/manifest.json, or not --sha256):
     then the only output is {"error": ...}
  2  bad command line
  130  interrupted (Ctrl-C)

examples:
  python -m detector img.png
  python -m detector a.png b.png imgs/
  python -m detector --model detector img.png      # models/detector.onnx
  python -m detector --model other.onnx img.png
  cat img.png | python -m detector -
  python -m detector serve --help                  # the HTTP server and in-browser page
                                                   # (an image file named serve: ./serve)
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m detector", epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Tell whether FashionMNIST-format images are real or GAN-generated,\n"
                    "with an ONNX model run by onnxruntime on the CPU.")
    parser.add_argument("images", nargs="+", metavar="IMAGE",
                        help='image file, directory of images, or "-" for stdin')
    parser.add_argument("--model", metavar="NAME|PATH",
                        help="model name in models/ or path to an .onnx file (default: detector, the "
                             "detector trained on many GANs; discriminator: the shipped GAN's own "
                             "discriminator)")
    parser.add_argument("--sha256", type=sha256_hex, metavar="HEX",
                        help="refuse the model file unless its sha256 is HEX (64 hex digits); "
                             "without it only the shipped models/ are checked, against "
                             "models/manifest.json")
    parser.add_argument("--resize", action="store_true",
                        help="scale images of another size to the model's size (Lanczos) "
                             "instead of failing")
    parser.add_argument("--batch-size", type=positive_int, default=DEFAULT_BATCH_SIZE,
                        metavar="N", help=f"images per model run (default: {DEFAULT_BATCH_SIZE})")
    return parser


def parse_args(argv=None) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.images.count(STDIN) > 1:
        parser.error('"-" (stdin) can be given only once')
    return args


def run(args: argparse.Namespace, stdout, stderr) -> int:
    """Score the images ``args`` names, write rows; return how many inputs failed."""
    detector = load_detector(args.model, batch_size=args.batch_size, sha256=args.sha256)
    entries = expand_inputs(args.images, read_stdin)
    single = len(args.images) == 1 and len(entries) == 1 and not os.path.isdir(args.images[0])
    failures = 0
    for name, outcome in _outcomes(detector, entries, args.resize):
        if isinstance(outcome, DetectorError):
            failures += 1
            message = one_line(outcome)
            row = {"error": message}
            print(f"detector: {name}: {message}", file=stderr)
        else:
            row = outcome.as_dict()
        if not single:
            row = {"path": name, **row}
        stdout.write(json.dumps(row) + "\n")
    stdout.flush()
    return failures


def _outcomes(detector, entries: list, resize: bool):
    """(name, Prediction or DetectorError) per entry, in order, scored in batches."""
    sources = (source for _name, source in entries if not isinstance(source, DetectorError))
    results = detector.detect_many(sources, resize=resize)
    for name, source in entries:
        # detect_many is lazy and keeps order, so its next result belongs to this entry.
        yield name, source if isinstance(source, DetectorError) else next(results)


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def sha256_hex(text: str) -> str:
    value = text.strip().lower()
    if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
        raise argparse.ArgumentTypeError("must be 64 hex digits (the output of sha256sum)")
    return value

"""Argument parsing for ``python -m detector serve`` (the server itself is server.py)."""

import argparse
import os

from .api import DEFAULT_BATCH_SIZE
from .cli import positive_int, sha256_hex

EPILOG = """\
endpoints:
  POST /detect          an image's bytes as the body -> {"label": "real", "confidence": 0.93}
                        (the same JSON as `python -m detector img.png`); several images as
                        multipart/form-data -> a list, one row per file, each with "name":
                        [{"name": "a.png", "label": "generated", "confidence": 0.71},
                         {"name": "b.png", "error": "image is 32x32, expected 28x28; ..."}]
                        add ?resize=1 to scale images of another size (Lanczos, as --resize)
  GET  /health          {"status": "ok", "model": "detector.onnx"}
  GET  /model           the model's metadata: kind, image_size, labels, class names, ...
  GET  /                a page that runs the same model in the browser (onnxruntime-web,
                        after `npm ci --prefix detector/web`): images never leave the machine;
                        without it the page sends them to POST /detect, and says so

errors: {"error": MESSAGE} with status 400 (cannot be decoded, wrong size, bad request),
  413 (body over 64 MiB, image over 4096x4096 pixels: a possible decompression bomb, or more
  than 1000 files), 415 (not an image in PNG, JPEG, BMP, GIF, TIFF or WebP), 408 (the body
  did not arrive within --body-timeout), 503 (the process holds 256 MiB of bodies already),
  404, 405, 411 (no Content-Length and not chunked).

server: uvicorn (keep-alive, idle connections cost no thread; SIGTERM or Ctrl-C stops it after
  the requests in flight). The same app for uvicorn's own command line:
  DETECTOR_MODEL=discriminator uvicorn detector.server:app_from_env --factory --workers 2

examples:
  python -m detector serve
  python -m detector serve --port 8080 --model discriminator
  curl --data-binary @examples/real_coat.png http://127.0.0.1:8000/detect
  curl -F f=@examples/real_coat.png -F f=@examples/generated_coat.png http://127.0.0.1:8000/detect
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m detector serve", epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Serve the detector over HTTP (JSON API and an in-browser page).")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default: 127.0.0.1, this machine only; "
                             "0.0.0.0: every interface)")
    parser.add_argument("--port", type=port_number, default=8000,
                        help="TCP port (default: 8000; 0: any free port, printed at start)")
    parser.add_argument("--model", metavar="NAME|PATH",
                        help="model name in models/ or path to an .onnx file (default: detector)")
    parser.add_argument("--sha256", type=sha256_hex, metavar="HEX",
                        help="refuse the model file unless its sha256 is HEX (shipped models "
                             "are checked against models/manifest.json without it)")
    parser.add_argument("--workers", type=positive_int, default=1, metavar="N",
                        help="server processes, each with the model loaded (default: 1)")
    parser.add_argument("--concurrency", type=positive_int, default=min(8, os.cpu_count() or 1) * 2,
                        metavar="N", help="requests decoded and scored at once per process; "
                                          "more wait their turn (default: 2 per core, at most 16)")
    parser.add_argument("--threads", type=non_negative_int, default=0, metavar="N",
                        help="onnxruntime threads per model run (default: 0, one per core)")
    parser.add_argument("--batch-size", type=positive_int, default=DEFAULT_BATCH_SIZE,
                        metavar="N", help=f"images per model run for multipart requests "
                                          f"(default: {DEFAULT_BATCH_SIZE})")
    parser.add_argument("--body-timeout", type=positive_float, default=30.0, metavar="S",
                        help="seconds a request's body may take to arrive; a slower client gets "
                             "408 and is cut off (default: 30)")
    parser.add_argument("--quiet", action="store_true", help="no access log on stderr")
    return parser


def parse_serve_args(argv) -> argparse.Namespace:
    return build_parser().parse_args(argv)


def positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError("must be more than 0")
    return value


def non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def port_number(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError("must be 0-65535")
    return value

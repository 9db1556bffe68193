"""python -m scale (Dask, a local cluster) against python -m detector on the same folder.

    python bench/scale_scan.py [--images 20000] [--workers 2] [--json docs/scale_scan.json]

Writes IMAGES 28x28 PNGs (the shipped generator's images and noise) to a temporary folder, runs
both commands on it as a user would (fresh processes, wall time including start-up and the
cluster's), checks that they print the same rows, and writes images/s of each.
"""

import argparse
import datetime
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent


def write_corpus(folder: Path, count: int) -> None:
    """``count`` PNGs: half from models/generator.onnx, half uniform noise."""
    session = ort.InferenceSession(str(ROOT / "models" / "generator.onnx"),
                                   providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    half = count // 2
    (images,) = session.run(None, {"noise": rng.standard_normal((half, 64)).astype(np.float32),
                                   "labels": (np.arange(half) % 10).astype(np.int64)})
    generated = np.clip(np.rint((images[:, 0] + 1) * 127.5), 0, 255).astype(np.uint8)
    noise = rng.integers(0, 256, (count - half, 28, 28), np.uint8)
    for i, pixels in enumerate(np.concatenate([generated, noise])):
        Image.fromarray(pixels).save(folder / f"{i:06d}.png")


def timed(command: list) -> tuple:
    """(stdout, seconds) of a command run from the repository root."""
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"scale_scan: {' '.join(command[1:])} failed: {done.stderr.strip()[-500:]}")
    return done.stdout, seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=20000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        write_corpus(Path(tmp), args.images)
        cli_out, cli_s = timed([sys.executable, "-m", "detector", tmp])
        scale_out, scale_s = timed([sys.executable, "-m", "scale", tmp, "--workers", str(args.workers)])
    same = cli_out == scale_out
    result = {"date": datetime.date.today().isoformat(), "images": args.images,
              "workers": args.workers, "same_rows": same,
              "cli": {"seconds": round(cli_s, 2), "images_per_s": round(args.images / cli_s, 1)},
              "dask": {"seconds": round(scale_s, 2), "images_per_s": round(args.images / scale_s, 1)}}
    print(f"{args.images} images: python -m detector {result['cli']['images_per_s']} images/s "
          f"({cli_s:.1f} s); python -m scale --workers {args.workers} "
          f"{result['dask']['images_per_s']} images/s ({scale_s:.1f} s); same rows: {same}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark the ONNX detector against what PyTorch would cost, side by side in one run.

    python bench/detector.py [--model NAME|PATH] [--images 3000]

Measures (1) the cold wall time of `python -m detector img.png` against a bare
`python -c "import torch"`, (2) end-to-end throughput of `python -m detector DIR` on a folder of
PNGs, decoding included, and (3) the installed size of what requirements-run.txt pulls in against
requirements-train.txt, computed from this environment's importlib.metadata.

It runs the detector only through subprocesses: this file is itself named detector.py, so
importing the package from here would import this script instead.
"""

import argparse
import compileall
import gzip
import importlib.metadata as metadata
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
MODELS_DIR = ROOT / "models"
FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz")
MB = 1e6


def main() -> int:
    args = parse_args()
    model = find_model(args.model)
    if model is None:
        print(f"bench: no model {args.model!r}: looked for {args.model} and "
              f"{MODELS_DIR / (args.model + '.onnx')}. Train and export one first, or pass "
              f"--model PATH.", file=sys.stderr)
        return 2
    # A pip install compiles bytecode; this tree may be run with PYTHONDONTWRITEBYTECODE set,
    # which would make every cold start recompile the package and measure that instead.
    compileall.compile_dir(ROOT / "detector", quiet=1)
    print(f"model: {model}\npython: {sys.executable}\n")
    with tempfile.TemporaryDirectory(prefix="bench-detector-") as tmp:
        images, source = sample_images(args.images)
        folder = write_pngs(images, Path(tmp) / "imgs")
        cold_start(model, folder / "00000.png", args.runs, args.torch_runs)
        throughput(model, folder, len(images), source, args.throughput_runs)
    install_sizes()
    return 0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="detector",
                        help="name in models/ or path to an .onnx file (default: detector, the CLI's default)")
    parser.add_argument("--images", type=int, default=3000, help="PNGs in the throughput folder")
    parser.add_argument("--runs", type=int, default=5, help="timed cold starts of the detector")
    parser.add_argument("--torch-runs", type=int, default=3, help="timed `import torch` runs")
    parser.add_argument("--throughput-runs", type=int, default=3, help="timed folder runs")
    return parser.parse_args()


def find_model(model: str):
    path = Path(model)
    if path.is_file():
        return path.resolve()
    named = MODELS_DIR / f"{model}.onnx"
    return named if named.is_file() else None


def sample_images(count: int):
    """FashionMNIST test images when the dataset is installed, else a synthetic stand-in."""
    if FASHION_MNIST.is_file():
        raw = gzip.decompress(FASHION_MNIST.read_bytes())
        images = np.frombuffer(raw, np.uint8, offset=16).reshape(-1, 28, 28)
        return images[np.arange(count) % len(images)], f"FashionMNIST t10k ({FASHION_MNIST})"
    rng = np.random.default_rng(0)
    # Blobs on black compress and decode like garments would; pure noise would not.
    yy, xx = np.mgrid[:28, :28]
    centres = rng.uniform(8, 20, (count, 2, 1, 1))
    blob = np.exp(-((yy - centres[:, 0]) ** 2 + (xx - centres[:, 1]) ** 2) / 40)
    return (blob * 255).astype(np.uint8), "synthetic blobs (FashionMNIST not installed)"


def write_pngs(images, folder: Path) -> Path:
    folder.mkdir(parents=True)
    for i, image in enumerate(images):
        Image.fromarray(image).save(folder / f"{i:05d}.png")
    return folder


def timed(command, *, stdout=subprocess.DEVNULL):
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, stdout=stdout, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"bench: {' '.join(map(str, command))} failed ({done.returncode}):\n"
                 f"{done.stderr.decode(errors='replace')}")
    return elapsed, done


def median_time(command, runs: int) -> float:
    timed(command)  # warm the page cache: we measure a cold process, not a cold disk
    return statistics.median(timed(command)[0] for _ in range(runs))


def cold_start(model: Path, image: Path, runs: int, torch_runs: int) -> None:
    detector = median_time([sys.executable, "-m", "detector", "--model", model, image], runs)
    python = median_time([sys.executable, "-c", "pass"], runs)
    rows = [("python -m detector img.png", f"{detector:.3f} s", f"median of {runs}"),
            ('python -c "pass" (interpreter alone)', f"{python:.3f} s", f"median of {runs}")]
    torch = None
    if has_distribution("torch"):
        torch = median_time([sys.executable, "-c", "import torch"], torch_runs)
        rows.append(('python -c "import torch"', f"{torch:.3f} s", f"median of {torch_runs}"))
    else:
        rows.append(('python -c "import torch"', "n/a", "torch is not installed here"))
    table("1. Cold start (wall time, one process each)", ("command", "time", "note"), rows)
    if torch:
        verdict = "meets" if torch / detector >= 10 else "misses"
        print(f"   import torch / detector: {torch / detector:.1f}x  ({verdict} the 10x target)\n")


def folder_time(command, count: int, runs: int) -> float:
    """Median wall time of a folder run, checking every image got an answer."""
    timed(command)  # warm-up
    times = []
    for _ in range(runs):
        elapsed, done = timed(command, stdout=subprocess.PIPE)
        rows = done.stdout.splitlines()
        if len(rows) != count or any(b'"error"' in row for row in rows):
            sys.exit(f"bench: expected {count} answers without errors, got {len(rows)} rows")
        times.append(elapsed)
    return statistics.median(times)


def throughput(model: Path, folder: Path, count: int, source: str, runs: int) -> None:
    command = [sys.executable, "-m", "detector", "--model", model, folder]
    wall = folder_time(command, count, runs)
    start = median_time([sys.executable, "-m", "detector", "--model", model,
                         folder / "00000.png"], runs)
    rows = [("python -m detector DIR (end to end)", f"{wall:.3f} s", f"{count / wall:,.0f}"),
            ("  less one single-image cold start", f"{wall - start:.3f} s",
             f"{count / max(wall - start, 1e-9):,.0f}")]
    table(f"2. Throughput: {count} PNGs, {source};\n   median of {runs}, decoding included",
          ("run", "time", "images/s"), rows)
    verdict = "meets" if count / wall >= 5000 else "misses"
    print(f"   end to end: {count / wall:,.0f} images/s ({verdict} the 5,000 images/s target; "
          f"{os.cpu_count()} CPUs)\n")


def install_sizes() -> None:
    run = closure(requirement_names(ROOT / "requirements-run.txt"))
    train = closure(requirement_names(ROOT / "requirements-train.txt"))
    rows = []
    for label, dists in (("requirements-run.txt", run), ("requirements-train.txt", train)):
        installed = {name: d for name, d in dists.items() if d is not None}
        size = sum(distribution_size(d) for d in installed.values())
        missing = sorted(name for name, d in dists.items() if d is None)
        note = f"not installed, not counted: {', '.join(missing)}" if missing else ""
        rows.append((label, str(len(installed)), f"{size / MB:,.0f} MB", note))
    table("3. Installed size (files listed in each distribution's RECORD, found via "
          "importlib.metadata, following Requires-Dist recursively)",
          ("requirements", "distributions", "size", "note"), rows)
    print("   requirements-run.txt pulls in: "
          + ", ".join(f"{n} {distribution_size(d) / MB:,.0f} MB"
                      for n, d in sorted(run.items()) if d is not None))
    top = sorted(((distribution_size(d), n) for n, d in train.items() if d and n not in run),
                 reverse=True)[:5]
    print("   largest training-only: "
          + ", ".join(f"{name} {size / MB:,.0f} MB" for size, name in top) + "\n")


def requirement_names(path: Path) -> list:
    """Distribution names a requirements file asks for, following `-r other.txt`."""
    names = []
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith(("-r ", "--requirement ")):
            names += requirement_names(path.parent / line.split(None, 1)[1])
        elif line and not line.startswith("-"):
            names.append(requirement_name(line))
    return names


def requirement_name(requirement: str) -> str:
    return normalize(re.match(r"[A-Za-z0-9._-]+", requirement.strip()).group(0))


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def closure(names: list) -> dict:
    """name -> Distribution (None when not installed) for names and all they require."""
    found, stack = {}, list(names)
    while stack:
        name = stack.pop()
        if name in found:
            continue
        try:
            found[name] = dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            found[name] = None
            continue
        for requirement in dist.requires or []:
            if applies(requirement):
                stack.append(requirement_name(requirement))
    return found


def applies(requirement: str) -> bool:
    """Whether a Requires-Dist line applies here (no extra requested)."""
    if ";" not in requirement:
        return True
    marker = requirement.split(";", 1)[1]
    try:
        from packaging.markers import Marker
    except ImportError:  # without packaging, count every dependency that is not an extra
        return "extra" not in marker
    return Marker(marker).evaluate({"extra": ""})


def distribution_size(dist) -> int:
    total = 0
    for file in dist.files or []:
        path = Path(file.locate())
        if path.is_file():
            total += path.stat().st_size
    return total


def has_distribution(name: str) -> bool:
    try:
        metadata.distribution(name)
        return True
    except metadata.PackageNotFoundError:
        return False


def table(title: str, header: tuple, rows: list) -> None:
    widths = [max(len(str(r[i])) for r in (header, *rows)) for i in range(len(header))]
    line = "  ".join("-" * w for w in widths)
    print(title)
    for row in (header, None, *rows):
        print("   " + (line if row is None else
                       "  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip()))
    print()


if __name__ == "__main__":
    sys.exit(main())

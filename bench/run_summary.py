"""A run's training figures as JSON, for the docs to cite: steps, epochs, images seen, training
minutes (the sum of the step times metrics.jsonl records), the median images/s and, for
--dataset dogs/folder runs, the photos and crops their crop cache counted.

    python bench/run_summary.py --run-dir runs/photo64/run --json docs/photo64_run.json

The figures come from the run's own files (config.json, metrics.jsonl); with --fid FILE the
JSON that `python -m train.fid --json` wrote for the run is merged in under "fid"; --grid PNG
draws 4 rows of 8 images of the run's (EMA) generator, noise seed 0, at 1:1 pixels.
"""
import argparse
import json
import statistics
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from train.run.metrics_log import read_rows, step_rows  # noqa: E402


def draw_grid(run_dir: Path, path: Path, rows: int = 4) -> None:
    """rows × 8 images of the run's generator (seed 0), tiled as one plain PNG at 1:1 pixels."""
    import torch
    from PIL import Image
    from train.gan.sampling import load_generator, sample_images
    from train.run.figures import tile
    generator, _ = load_generator(run_dir, torch.device("cpu"))
    images = sample_images(generator, np.zeros(rows * 8, dtype=np.int64), 0, torch.device("cpu"))
    Image.fromarray(tile(images, rows)).save(path, optimize=True)


def crop_counts(cache: Path) -> dict:
    """photos and crops of a --dataset dogs/folder run, from its crop cache (train/folders.py)."""
    with np.load(cache, allow_pickle=False) as saved:
        counts = json.loads(str(saved["counts"]))
    return {"photos": counts["photos"], "crops": counts["crops"]}


def summary(run_dir: Path) -> dict:
    config = json.loads((run_dir / "config.json").read_text())
    rows = step_rows(read_rows(run_dir / "metrics.jsonl"))
    if not rows:
        raise SystemExit(f"run_summary: {run_dir}/metrics.jsonl has no step rows")
    batch = config["batch_size"]
    seconds = sum(batch / r["images_per_s"] for r in rows)
    cache = Path(config.get("crop_cache") or run_dir / "data") / f"{config['dataset']}_{config.get('image_size') or 64}.npz"
    counts = crop_counts(cache) if cache.is_file() else {}
    return {**counts, "run_dir": str(run_dir), "dataset": config["dataset"], "image_size": config.get("image_size"),
            "device": config["device"], "batch_size": batch, "width": config["width"],
            "steps": rows[-1]["step"], "epochs": rows[-1]["epoch"], "images_seen": rows[-1]["step"] * batch,
            "training_minutes": seconds / 60, "median_images_per_s": statistics.median(r["images_per_s"] for r in rows)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run-dir", type=Path, required=True)
    parser.add_argument("--json", type=Path, required=True)
    parser.add_argument("--fid", type=Path, help="a `python -m train.fid --json` file to include")
    parser.add_argument("--note", default="", help="a sentence stored with the figures")
    parser.add_argument("--grid", type=Path, help="also draw a 4x8 sample grid into this PNG")
    args = parser.parse_args()
    result = summary(args.run_dir)
    if args.fid:
        result["fid"] = json.loads(args.fid.read_text())
    if args.note:
        result["note"] = args.note
    args.json.write_text(json.dumps(result, indent=2) + "\n")
    if args.grid:
        draw_grid(args.run_dir, args.grid)
    print(json.dumps(result))


if __name__ == "__main__":
    main()

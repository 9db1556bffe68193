"""Inception FID of a run's epoch snapshots against the minutes of training that made them.

    python bench/fid_curve.py [--run-dir runs/fmnist-cgan] --epochs 25 50 75 [--samples 10000]
        [--eval-json runs/fmnist-cgan/eval.json ...] [--json docs/fid_curve.json] [--figure F.png]
        [--doc docs/recipe.md]

Each snapshot (checkpoints/epoch_NNN.pt, its EMA generator when the run kept one) is measured as
`python -m train.evaluate` measures the last one: `--samples` generated images, balanced classes,
the noise of seed 1, against the 10,000 test images (cached statistics). `--eval-json` adds points
that `python -m train.evaluate` already measured on the same run (matched by step, no recompute).
Training minutes are the run's own clock (metrics.jsonl: optimisation steps only). The JSON is
merged, not replaced: rows measured before are kept unless measured again, and each row is
written as soon as it is done, so two processes (one per core) may each take some of the epochs.
With --doc, the table goes into that Markdown file between `<!-- fid_curve -->` and
`<!-- /fid_curve -->`, each figure a span citing the JSON (`python -m train.doc_numbers` checks them).
"""
import argparse
import json
import math
import sys
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from train.data import load_fashion_mnist  # noqa: E402
from train.doc_numbers import replace_block, span  # noqa: E402
from train.evaluate import EvaluateConfig, fid_noise_seed, fid_section  # noqa: E402
from train.gan.checkpoint import generator_from_checkpoint, load_checkpoint  # noqa: E402
from train.report import PUBLISHED_FID  # noqa: E402
from train.run.atomic import write_text_atomic  # noqa: E402
from train.run.metrics_log import read_rows, step_rows, training_minutes  # noqa: E402

NOISE_SEED = fid_noise_seed(EvaluateConfig().seed)  # what fid_section draws from at the default --seed
DEFAULT_RUN_TARGET = 25  # the FID the bare `python -m train` is held to (docs/recipe.md)


def run_clock(run_dir: Path) -> dict:
    """{step: (epoch, minutes of training steps up to it)} from the run's metrics.jsonl."""
    rows = read_rows(run_dir / "metrics.jsonl")
    minutes = training_minutes(rows, json.loads((run_dir / "config.json").read_text())["batch_size"])
    return {row["step"]: (row["epoch"], minutes[row["step"]]) for row in step_rows(rows)}


def point(step: int, clock: dict) -> dict:
    """A row's place on the curve: its step, and its epoch and minutes by the run's clock."""
    epoch, minutes = clock.get(step, (None, None))
    return {"step": step, "epoch": epoch, "minutes": minutes}


def snapshot_row(path: Path, samples: int, test, clock: dict) -> dict:
    """The Inception FID of one checkpoint's generator (train.evaluate's fid_section), with its
    step and training minutes."""
    checkpoint = load_checkpoint(path, map_location="cpu")
    generator = generator_from_checkpoint(checkpoint)
    fid = fid_section(EvaluateConfig(fid_samples=samples, progress=False), generator, test,
                      generator.num_classes, torch.device("cpu"))
    return {"checkpoint": path.name, **point(checkpoint["step"], clock), "fid": fid["fid"],
            "n_generated": fid["n_generated"], "n_real": fid["n_real"], "source": "bench/fid_curve.py",
            "seconds": fid["seconds"]}


def eval_row(path: Path, clock: dict) -> dict:
    """A point `python -m train.evaluate` measured: its eval.json's Inception FID."""
    evaluation = json.loads(path.read_text())
    fid = evaluation["fid"]
    if "fid" not in fid or fid.get("seed") != NOISE_SEED:
        sys.exit(f"bench/fid_curve.py: {path} has no Inception FID with the curve's noise (seed {NOISE_SEED})")
    return {"checkpoint": Path(evaluation["checkpoint"]).name, **point(evaluation["step"], clock),
            "fid": fid["fid"], "n_generated": fid["n_generated"], "n_real": fid["n_real"], "source": str(path)}


def best_published_fid() -> float:
    """The lowest FID of docs/published_fid.json: the target for the shipped generator."""
    return min(entry["fid"] for entry in json.loads(PUBLISHED_FID.read_text())["entries"])


def extrapolation(rows: list, target: float) -> dict:
    """How many training minutes the run would need to reach `target` if FID kept falling as a
    power of the minutes (FID ~ minutes^-slope) at the slope of its last two points. A curve
    that is flattening needs more, so this is a lower bound on the cost, not a forecast."""
    (t1, f1), (t2, f2) = [(r["minutes"], r["fid"]) for r in rows if r["minutes"] is not None][-2:]
    slope = math.log(f1 / f2) / math.log(t2 / t1)
    minutes = t2 * (f2 / target) ** (1 / slope) if slope > 0 and f2 > target else None
    return {"target_fid": target, "slope_of_last_two_points": slope, "minutes_at_that_slope": minutes}


def merge(path: Path, run_dir: Path, new_rows: list, clock: dict) -> dict:
    """The JSON at `path` with `new_rows` in place of any earlier rows of the same step (the
    earlier rows' epoch and minutes read again from the run's clock)."""
    run_name = str(run_dir.resolve().relative_to(REPO) if run_dir.resolve().is_relative_to(REPO) else run_dir)
    earlier = json.loads(path.read_text()) if path.is_file() else {"run_dir": run_name, "rows": []}
    if earlier["run_dir"] != run_name:
        sys.exit(f"bench/fid_curve.py: {path} is the curve of {earlier['run_dir']}, not of {run_name}: pass --json")
    old = [{**row, **point(row["step"], clock)} for row in earlier["rows"]]
    steps = {row["step"] for row in new_rows}
    rows = sorted([r for r in old if r["step"] not in steps] + new_rows, key=lambda r: r["step"])
    curve = {"run_dir": run_name, "protocol": "Inception FID, N generated (balanced classes) vs "
             "the 10,000 test images; minutes: optimisation steps of the run's own clock", "rows": rows}
    timed = [r for r in rows if r["minutes"] is not None]
    return {**curve, "extrapolation": extrapolation(timed, best_published_fid())} if len(timed) > 1 else curve


def merge_and_save(path: Path, run_dir: Path, new_rows: list, clock: dict) -> dict:
    """`merge`, written back at once (atomically) so that a second process sees every finished row."""
    curve = merge(path, run_dir, new_rows, clock)
    write_text_atomic(path, json.dumps(curve, indent=2) + "\n")
    return curve


def markdown_table(json_path: str, rows: list) -> list[str]:
    """The rows as a Markdown table whose figures cite `json_path` (doc_numbers spans)."""
    lines = ["| epoch | step | training minutes | Inception FID | generated | measured by |",
             "|---:|---:|---:|---:|---:|---|"]
    for i, row in enumerate(rows):
        cells = [span(json_path, f"rows.{i}.{key}", row[key], spec) for key, spec in
                 (("epoch", ""), ("step", ",d"), ("minutes", ".1f"), ("fid", ".2f"), ("n_generated", ",d"))]
        lines.append("| " + " | ".join(cells) + f" | {row['source']} |")
    return lines


def plot(curve: dict, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    rows = [r for r in curve["rows"] if r["minutes"] is not None]
    fig, ax = plt.subplots(figsize=(6, 3.6))
    ax.plot([r["minutes"] for r in rows], [r["fid"] for r in rows], "o-", label=curve["run_dir"])
    for r in rows:
        ax.annotate(f"epoch {r['epoch']}", (r["minutes"], r["fid"]), textcoords="offset points", xytext=(4, 6),
                    fontsize=7)
    targets = ((DEFAULT_RUN_TARGET, "target for the default run"), (best_published_fid(), "best published GAN"))
    for target, name in targets:
        ax.axhline(target, ls="--", lw=1, color="grey")
        ax.text(0.01, target, f" {name} ({target})", va="bottom", ha="left", fontsize=8, color="grey",
                transform=ax.get_yaxis_transform())
    ax.set(xlabel="minutes of training steps (the run's clock)", ylabel="Inception FID (10k vs 10k test)",
           ylim=(0, None))
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run-dir", type=Path, default=REPO / "runs/fmnist-cgan")
    parser.add_argument("--epochs", type=int, nargs="*", default=[], help="epoch snapshots to measure")
    parser.add_argument("--samples", type=int, default=10_000, help="generated images per FID")
    parser.add_argument("--eval-json", type=Path, nargs="*", default=[], help="points train.evaluate measured")
    parser.add_argument("--json", type=Path, default=REPO / "docs/fid_curve.json")
    parser.add_argument("--figure", type=Path, help="plot FID against training minutes here")
    parser.add_argument("--doc", type=Path, help="put the table into this Markdown file (see above)")
    args = parser.parse_args()
    clock = run_clock(args.run_dir)
    curve = merge_and_save(args.json, args.run_dir, [eval_row(p, clock) for p in args.eval_json], clock)
    test = load_fashion_mnist("test", None) if args.epochs else None
    for epoch in args.epochs:
        path = args.run_dir / "checkpoints" / f"epoch_{epoch:03d}.pt"
        row = snapshot_row(path, args.samples, test, clock)
        print(f"epoch {epoch}: step {row['step']}, {row['minutes']:.1f} min, "
              f"Inception FID {row['fid']:.2f}", flush=True)
        curve = merge_and_save(args.json, args.run_dir, [row], clock)
    if args.figure:
        plot(curve, args.figure)
    if args.doc:
        json_path = args.json.resolve().relative_to(REPO).as_posix()
        replace_block(args.doc, "<!-- fid_curve -->", "<!-- /fid_curve -->",
                      markdown_table(json_path, curve["rows"]))


if __name__ == "__main__":
    main()

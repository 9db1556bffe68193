"""Wall-clock time of `python -m train.evaluate` with the fast metrics only (target: < 60 s).

    python bench/evaluate.py [--run-dir runs/fmnist-cgan] [--model models/discriminator.onnx]

Runs, in a fresh process as a user would, `python -m train.evaluate --fid-samples 0` (the
discriminator accuracy through PyTorch and, when --model exists, ONNX; and the classifier-feature
FID, precision/recall and class accuracy) on a copy of the run's latest checkpoint, so the run's
own eval.json is left alone. Prints the seconds, the ratio to the 60 s target, and the seconds of
each section as eval.json records them.
"""
import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TARGET_S = 60.0


def time_evaluate(run_dir: Path, model: Path, extra: list) -> tuple[float, dict]:
    """(seconds, eval.json) of one `python -m train.evaluate --fid-samples 0` on a copy of run_dir."""
    latest = run_dir / "checkpoints" / "latest.pt"
    if not latest.is_file():
        sys.exit(f"bench/evaluate.py: no checkpoint at {latest}")
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "run"
        (copy / "checkpoints").mkdir(parents=True)
        shutil.copyfile(latest, copy / "checkpoints" / "latest.pt")
        command = [sys.executable, "-m", "train.evaluate", "--run-dir", str(copy), "--model",
                   str(model), "--fid-samples", "0", "--no-progress", *extra]
        started = time.perf_counter()
        result = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
        seconds = time.perf_counter() - started
        if result.returncode != 0:
            sys.exit(f"bench/evaluate.py: {' '.join(command)} failed:\n{result.stderr}")
        return seconds, json.loads((copy / "eval.json").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run-dir", type=Path, default=REPO / "runs" / "fmnist-cgan")
    parser.add_argument("--model", type=Path, default=REPO / "models" / "discriminator.onnx",
                        help="exported discriminator for the PyTorch/ONNX check (skipped when missing)")
    parser.add_argument("extra", nargs="*", help="more python -m train.evaluate flags, after --")
    args = parser.parse_args()
    seconds, evaluation = time_evaluate(args.run_dir.resolve(), args.model.resolve(), args.extra)
    acc, dom = evaluation["discriminator_accuracy"], evaluation["domain"]
    onnx = "PyTorch + ONNX" if "onnx" in acc else "PyTorch only (no ONNX model)"
    print(f"python -m train.evaluate --fid-samples 0 on step {evaluation['step']} of {args.run_dir}")
    print(f"  discriminator accuracy, {onnx}: {acc['seconds']:.1f} s "
          f"({acc['pytorch']['n_real']} real + {acc['pytorch']['n_generated']} generated)")
    print(f"  classifier-feature metrics: {dom['seconds']:.1f} s ({dom['n_generated']} generated)"
          if "seconds" in dom else f"  classifier-feature metrics skipped: {dom.get('skipped')}")
    print(f"total {seconds:.1f} s wall clock, process start included; target {TARGET_S:.0f} s: "
          f"{seconds / TARGET_S:.2f}x of the target ({'met' if seconds < TARGET_S else 'NOT met'})")


if __name__ == "__main__":
    main()

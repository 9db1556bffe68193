"""What `--ema` buys: the domain FID of a run's averaged generator beside its raw one.

    python bench/ema.py [--run-dir runs/fmnist-cgan] [--samples 10000] [--every 1] [--json out.json]

For every checkpoint of an --ema run (epoch snapshots and latest.pt) it measures, with the same
noise and the same classifier, the classifier-feature FID of the raw trained weights and of
the exponential moving average, and prints both and their ratio (< 1: EMA is better); with
--every N only every N-th epoch snapshot (and latest.pt), with --json the rows as JSON too.
"""
import argparse
import json
import sys
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from train.gan.checkpoint import generator_from_checkpoint, load_checkpoint  # noqa: E402
from train.gan.monitor import DomainFID  # noqa: E402
from train.metrics.classifier import DEFAULT_CLASSIFIER  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run-dir", type=Path, default=REPO / "runs/fmnist-cgan")
    parser.add_argument("--every", type=int, default=1, help="every N-th epoch snapshot")
    parser.add_argument("--json", type=Path, help="write the rows here too")
    parser.add_argument("--samples", type=int, default=10_000, help="generated images per FID")
    parser.add_argument("--classifier", type=Path, default=DEFAULT_CLASSIFIER)
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args()
    epochs = sorted((args.run_dir / "checkpoints").glob("epoch_*.pt"))
    checkpoints = epochs[args.every - 1::args.every] + [args.run_dir / "checkpoints/latest.pt"]
    rows = []
    monitor = DomainFID(args.classifier, args.data_dir, args.samples)
    print(f"domain FID ({args.samples} generated vs the 10,000 test images) of {args.run_dir}")
    print(f"{'checkpoint':<14} {'step':>6} {'raw':>8} {'EMA':>8} {'EMA/raw':>8}")
    for path in checkpoints:
        checkpoint = load_checkpoint(path)
        if "ema" not in checkpoint:
            sys.exit(f"bench/ema.py: {path} has no EMA weights (train with --ema 0.999)")
        fid = {ema: monitor.measure(generator_from_checkpoint(checkpoint, ema=ema), torch.device("cpu"))["domain_fid"]
               for ema in (False, True)}
        print(f"{path.stem:<14} {checkpoint['step']:>6} {fid[False]:>8.2f} {fid[True]:>8.2f} {fid[True] / fid[False]:>8.3f}")
        rows.append({"checkpoint": path.stem, "step": checkpoint["step"], "raw": fid[False], "ema": fid[True]})
    if args.json:
        args.json.write_text(json.dumps({"run_dir": str(args.run_dir), "samples": args.samples,
                                         "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()

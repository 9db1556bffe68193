"""Which loss gets furthest in the same CPU time: domain FID of ns, hinge and wgan-gp runs on the
real FashionMNIST, each given the same budget of this machine's time.

    python bench/loss_fid.py [--minutes 4] [--out runs/loss-fid] [--losses ns hinge wgan-gp:5]

A wall-clock budget is unfair on a shared machine (a job that starts beside one run slows it
alone), so the budget is turned into steps: the losses' step speeds are first measured side by
side (bench/train_speed.py's per_loss_rates), then each run trains `minutes x images/s / batch`
steps with `--max-steps`. The runs are then reproducible anywhere with the printed step counts.
Each run ends with a domain FID (2,000 generated vs the 10,000 test images, train/gan/monitor.py).
"""
import argparse
import subprocess
import sys
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO))
from train_speed import parse_variant, per_loss_rates  # noqa: E402

from train.run.metrics_log import domain_rows  # noqa: E402
from train.run.rundir import RunDir  # noqa: E402

BATCH_SIZE = 128


def train_run(run_dir: Path, loss: str, critic_steps: int, steps: int) -> dict:
    """Train one run of `steps` steps in a fresh process; returns its last domain FID row."""
    command = [sys.executable, "-m", "train", "--run-dir", str(run_dir), "--device", "cpu", "--seed", "0",
               "--loss", loss, "--critic-steps", str(critic_steps), "--max-steps", str(steps),
               "--epochs", "1000", "--no-progress"]
    subprocess.run(command, cwd=REPO, check=True, stdout=subprocess.DEVNULL)
    return domain_rows(RunDir(run_dir).read_metrics())[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=4.0, help="the CPU time budget of each loss")
    parser.add_argument("--out", type=Path, default=REPO / "runs/loss-fid", help="folder for the runs")
    parser.add_argument("--losses", nargs="+", type=parse_variant, default=["ns", "hinge", "wgan-gp:5"],
                        metavar="LOSS[:CRITIC_STEPS]")
    args = parser.parse_args()
    variants = [parse_variant(v) if isinstance(v, str) else v for v in args.losses]
    rates = per_loss_rates(torch.device("cpu"), variants, steps=30, batch_size=BATCH_SIZE, warmup=5, rounds=3)
    print(f"budget {args.minutes:g} min of this CPU per loss; domain FID at the end (lower is better)")
    print(f"{'loss':<8} {'critic':>6} {'images/s':>9} {'steps':>6} {'epochs':>6} {'domain FID':>10}")
    for (loss, critic), rate in rates.items():
        steps = max(1, int(args.minutes * 60 * rate / BATCH_SIZE))
        row = train_run(args.out / f"{loss}-{critic}", loss, critic, steps)
        print(f"{loss:<8} {critic:>6} {rate:>9.0f} {steps:>6} {steps * BATCH_SIZE / 60000:>6.2f} "
              f"{row['domain_fid']:>10.1f}", flush=True)


if __name__ == "__main__":
    main()

"""Training images/s of the default model: CPU, and CUDA when present.

    python bench/train_speed.py [--steps 60] [--batch-size 128]

Times `train_step` (both updates, as `python -m train` runs them) on random data after a
warm-up, so the figure is the optimisation speed, not data loading. Target: >= 1,000 images/s
on a 2-core CPU (one epoch of 60k images in <= 60 s).
"""
import argparse
import os
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from train.config import TrainConfig  # noqa: E402
from train.trainer import make_autocast, new_state, train_step  # noqa: E402


def images_per_second(device: torch.device, steps: int, batch_size: int, warmup: int = 10) -> float:
    config = TrainConfig(batch_size=batch_size)
    state = new_state(config, 10, device)
    real = torch.rand(batch_size, 1, 28, 28, device=device) * 2 - 1
    labels = torch.randint(0, 10, (batch_size,), device=device)
    autocast = make_autocast(device)
    for _ in range(warmup):
        train_step(state, real, labels, config, autocast)
    started = time.perf_counter()
    for _ in range(steps):
        train_step(state, real, labels, config, autocast)  # .tolist() inside syncs CUDA
    return steps * batch_size / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--batch-size", type=int, default=TrainConfig.batch_size)
    args = parser.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    torch.set_flush_denormal(True)
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    print(f"default model (width {TrainConfig.width}, latent {TrainConfig.latent_dim}), "
          f"batch {args.batch_size}, {args.steps} timed steps, {os.cpu_count()} CPU cores")
    for device in devices:
        if device.type == "cuda":
            torch.backends.cudnn.benchmark = True
        rate = images_per_second(device, args.steps, args.batch_size)
        target = f" (target 1000: {rate / 1000:.2f}x)" if device.type == "cpu" else ""
        print(f"{device.type:>5}: {rate:8.0f} training images/s, "
              f"{60000 / rate:6.1f} s per 60k epoch{target}")


if __name__ == "__main__":
    main()

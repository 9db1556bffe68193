"""Training images/s of the default model, per loss, side by side: CPU, and CUDA when present.

    python bench/train_speed.py [--steps 60] [--batch-size 128] [--rounds 3] [--warmup 10]
                                [--losses ns hinge wgan-gp:5 wgan-gp:1]

Times `train_step` (--critic-steps discriminator updates and one generator update, as `python
-m train` runs them) on random data after a warm-up, so the figure is the optimisation speed,
not data loading. An image is one real image of a step's batch, so images/s is the epoch speed
(a wgan-gp:5 step reads one batch and makes 5 D updates). Target: >= 1,000 images/s for the
default model (ns) on a 2-core CPU (one epoch of 60k images in <= 60 s).

Each --losses entry is LOSS or LOSS:CRITIC_STEPS. They are measured side by side: every entry
gets its own networks and warm-up, then --rounds rounds each run steps/rounds steps of every
entry in turn (the order rotating per round), so a machine that slows down or speeds up during
the run (thermal limits, other jobs) affects all entries alike. The table gives images/s and the
ratio to the first entry (ns). wgan-gp:5 costs ~5x an ns step; on a 2-core CPU the default
settings take a few minutes.
"""
import argparse
import os
import sys
import time
from pathlib import Path
from typing import get_args

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from train.gan.config import TrainConfig  # noqa: E402
from train.gan.trainer import make_autocast, new_state, train_step  # noqa: E402

LOSSES = ("ns", "hinge", "wgan-gp:5", "wgan-gp:1")


def parse_variant(text: str) -> tuple[str, int]:
    """"wgan-gp:5" -> ("wgan-gp", 5); "hinge" -> ("hinge", 1)."""
    loss, _, steps = text.partition(":")
    if loss not in get_args(TrainConfig.__annotations__["loss"]):
        raise argparse.ArgumentTypeError(f"unknown loss {loss!r} in {text!r}")
    if steps and not (steps.isdigit() and int(steps) >= 1):
        raise argparse.ArgumentTypeError(f"critic steps in {text!r} must be a whole number >= 1")
    return loss, int(steps or 1)


class Bench:
    """One loss's networks, optimisers and fixed random batch on one device."""

    def __init__(self, device: torch.device, batch_size: int, loss: str = "ns", critic_steps: int = 1):
        self.config = TrainConfig(batch_size=batch_size, loss=loss, critic_steps=critic_steps)
        self.state = new_state(self.config, 10, device)
        self.real = torch.rand(batch_size, 1, 28, 28, device=device) * 2 - 1
        self.labels = torch.randint(0, 10, (batch_size,), device=device)
        self.autocast = make_autocast(device)
        self.device, self.seconds, self.images = device, 0.0, 0

    def run(self, steps: int, timed: bool = True) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        started = time.perf_counter()
        for _ in range(steps):
            train_step(self.state, self.real, self.labels, self.config, self.autocast)  # .tolist() syncs CUDA
        if timed:
            self.seconds += time.perf_counter() - started
            self.images += steps * len(self.real)

    @property
    def rate(self) -> float:
        return self.images / self.seconds


def images_per_second(device: torch.device, steps: int, batch_size: int, warmup: int = 10) -> float:
    """The default model's (ns) training images/s on `device`."""
    return per_loss_rates(device, [("ns", 1)], steps, batch_size, warmup)[("ns", 1)]


def per_loss_rates(device: torch.device, variants: list, steps: int, batch_size: int,
                   warmup: int = 10, rounds: int = 1) -> dict:
    """{(loss, critic_steps): images/s}, measured side by side in `rounds` interleaved rounds."""
    benches = [Bench(device, batch_size, loss, critic) for loss, critic in variants]
    for bench in benches:
        bench.run(warmup, timed=False)
    rounds = max(1, min(rounds, steps))
    for r in range(rounds):
        chunk = steps // rounds + (r < steps % rounds)  # the rounds' chunks add up to `steps`
        for i in range(len(benches)):
            benches[(i + r) % len(benches)].run(chunk)
    return {variant: bench.rate for variant, bench in zip(variants, benches)}


def table(rows: list) -> str:
    """rows: (device, (loss, critic_steps), images/s, baseline images/s)."""
    lines = [f"{'device':>6}  {'loss':<8} {'critic steps':>12} {'images/s':>9} "
             f" {'s/60k epoch':>11} {'vs ' + rows[0][1][0]:>9}"]
    for device, (loss, critic), rate, baseline in rows:
        lines.append(f"{device:>6}  {loss:<8} {critic:>12d} {rate:9.0f}  {60000 / rate:11.1f} "
                     f"{rate / baseline:8.2f}x")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=60, help="timed steps per loss")
    parser.add_argument("--batch-size", type=int, default=TrainConfig.batch_size)
    parser.add_argument("--warmup", type=int, default=10, help="untimed steps per loss first")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds the steps are cut into")
    parser.add_argument("--losses", nargs="+", type=parse_variant, metavar="LOSS[:CRITIC_STEPS]",
                        default=[parse_variant(v) for v in LOSSES],
                        help=f"default: {' '.join(LOSSES)}; the first is the baseline of the ratios")
    args = parser.parse_args()
    if args.steps < 1 or args.warmup < 0 or args.rounds < 1:
        parser.error("--steps and --rounds must be >= 1, --warmup >= 0")
    args.losses = list(dict.fromkeys(args.losses))  # each once
    torch.set_num_threads(os.cpu_count() or 1)
    torch.set_flush_denormal(True)
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    print(f"default model (width {TrainConfig.width}, latent {TrainConfig.latent_dim}), "
          f"batch {args.batch_size}, {args.steps} timed steps, {os.cpu_count()} CPU cores")
    rows = []
    for device in devices:
        if device.type == "cuda":
            torch.backends.cudnn.benchmark = True
        rates = per_loss_rates(device, args.losses, args.steps, args.batch_size, args.warmup,
                               args.rounds)
        rate = rates.get(("ns", 1)) or images_per_second(device, args.steps, args.batch_size, args.warmup)
        target = f" (target 1000: {rate / 1000:.2f}x)" if device.type == "cpu" else ""
        print(f"{device.type:>5}: {rate:8.0f} training images/s, "
              f"{60000 / rate:6.1f} s per 60k epoch{target}")
        baseline = rates[args.losses[0]]
        rows += [(device.type, variant, r, baseline) for variant, r in rates.items()]
    rounds = min(args.rounds, args.steps)
    print(f"\nper loss, side by side ({rounds} interleaved rounds, {args.warmup} warm-up steps each):")
    print(table(rows))


if __name__ == "__main__":
    main()

"""Training images/s of the default recipe beside the old one (DCGAN_RECIPE) and the other
losses, side by side: CPU, and CUDA when present.

    python bench/train_speed.py [--steps 60] [--batch-size 128] [--rounds 3] [--warmup 10]
                                [--losses ns wgan-gp:5]

Times `train_step` (--critic-steps discriminator updates and one generator update, as `python
-m train` runs them) on random data after a warm-up, so the figure is the optimisation speed,
not data loading. An image is one real image of a step's batch, so images/s is the epoch speed
(a wgan-gp:5 step reads one batch and makes 5 D updates).

Rows: "default" (TrainConfig()), "old default" (train.gan.config.DCGAN_RECIPE), "default-bf16"
(--precision bf16: the CPU's bfloat16 autocast, AMX or AVX-512 BF16 where the CPU has them; on
CUDA the default already is bf16), with --compile "default-compiled" (torch.compile, which its
warm-up steps compile), the default recipe with each --losses entry (LOSS or
LOSS:CRITIC_STEPS), and "dogs-64x64-RGB"
(train.gan.config.DOGS_RECIPE: ./run.sh's 64×64 RGB recipe at its own batch size, 64; its
epoch is taken as Stanford Dogs' DOGS_EPOCH_IMAGES photos; --no-dogs leaves it out).
--json FILE also writes {device: {row: images/s}} with the settings (the CPU's model among them,
and whether it has bfloat16 units: without, the bf16 row is emulated and slow). They are
measured side by side: every row gets its own networks and warm-up, then --rounds rounds each
run steps/rounds steps of every row in turn (the order rotating per round), so a machine that
slows down or speeds up during the run (thermal limits, other jobs) affects all rows alike. The
table gives images/s, the minutes of the default --epochs at that speed, and the ratio to the
first row.
"""
import argparse
import json
import platform
import sys
import time
from pathlib import Path
from typing import get_args

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from train.data import image_shape  # noqa: E402
from train.gan.config import DCGAN_RECIPE, DOGS_RECIPE, TrainConfig  # noqa: E402
from train.gan.runtime import cpu_has_bf16, usable_cpus  # noqa: E402
from train.gan.trainer import make_autocast, new_state, train_step  # noqa: E402

LOSSES = ("ns", "wgan-gp:5")
DOGS_EPOCH_IMAGES = 20_580  # Stanford Dogs' photos (one crop or more each)


def parse_variant(text: str) -> tuple[str, int]:
    """"wgan-gp:5" -> ("wgan-gp", 5); "hinge" -> ("hinge", 1)."""
    loss, _, steps = text.partition(":")
    if loss not in get_args(TrainConfig.__annotations__["loss"]):
        raise argparse.ArgumentTypeError(f"unknown loss {loss!r} in {text!r}")
    if steps and not (steps.isdigit() and int(steps) >= 1):
        raise argparse.ArgumentTypeError(f"critic steps in {text!r} must be a whole number >= 1")
    return loss, int(steps or 1)


class Bench:
    """One recipe's networks, optimisers and fixed random batch on one device."""

    def __init__(self, device: torch.device, config: TrainConfig):
        self.config = config
        self.state = new_state(config, 10, device)
        channels, size = image_shape(config)
        self.real = torch.rand(config.batch_size, channels, size, size, device=device) * 2 - 1
        self.labels = torch.randint(0, self.state.generator.num_classes, (config.batch_size,), device=device)
        self.autocast = make_autocast(device, config.precision)
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


def recipes(batch_size: int, losses: list, dogs: bool = True, compiled: bool = False) -> dict:
    """{row name: TrainConfig}: the default, the old default, the default in bf16 (and compiled),
    the default with each loss, and the 64×64 RGB recipe (its own batch size)."""
    rows = {"default": TrainConfig(batch_size=batch_size),
            "old default": TrainConfig(batch_size=batch_size, **DCGAN_RECIPE),
            "default-bf16": TrainConfig(batch_size=batch_size, precision="bf16")}
    if compiled:
        rows["default-compiled"] = TrainConfig(batch_size=batch_size, compile=True)
    for loss, critic in losses:
        rows[f"default, {loss}:{critic}"] = TrainConfig(batch_size=batch_size, loss=loss, critic_steps=critic)
    if dogs:
        rows["dogs-64x64-RGB"] = TrainConfig(**DOGS_RECIPE)
    return rows


def epoch_images(config: TrainConfig) -> int:
    return 60000 if image_shape(config) == (1, 28) else DOGS_EPOCH_IMAGES


def side_by_side_rates(device: torch.device, configs: dict, steps: int, warmup: int = 10,
                       rounds: int = 1) -> dict:
    """{name: images/s} of each TrainConfig in `configs`, measured in `rounds` interleaved rounds."""
    benches = {name: Bench(device, config) for name, config in configs.items()}
    for bench in benches.values():
        bench.run(warmup, timed=False)
    rounds, order = max(1, min(rounds, steps)), list(benches.values())
    for r in range(rounds):
        chunk = steps // rounds + (r < steps % rounds)  # the rounds' chunks add up to `steps`
        for i in range(len(order)):
            order[(i + r) % len(order)].run(chunk)
    return {name: bench.rate for name, bench in benches.items()}


def table(device: str, rates: dict, configs: dict) -> str:
    baseline = next(iter(rates.values()))
    lines = [f"{'device':>6}  {'recipe':<22} {'images/s':>9} {'s/epoch':>11} "
             f"{'min/run':>8} {'vs first':>9}"]
    for name, rate in rates.items():
        epoch = epoch_images(configs[name])
        minutes = configs[name].epochs * epoch / rate / 60
        lines.append(f"{device:>6}  {name:<22} {rate:9.1f} {epoch / rate:11.1f} {minutes:8.1f} "
                     f"{rate / baseline:8.2f}x")
    return "\n".join(lines)


def cpu_model() -> str:
    """The CPU's name as Linux gives it (/proc/cpuinfo), else platform's."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=60, help="timed steps per row")
    parser.add_argument("--batch-size", type=int, default=TrainConfig.batch_size)
    parser.add_argument("--warmup", type=int, default=10, help="untimed steps per row first")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds the steps are cut into")
    parser.add_argument("--losses", nargs="*", type=parse_variant, metavar="LOSS[:CRITIC_STEPS]",
                        default=[parse_variant(v) for v in LOSSES],
                        help=f"the default recipe with these losses too (default: {' '.join(LOSSES)})")
    parser.add_argument("--no-dogs", dest="dogs", action="store_false", help="leave out the 64x64 RGB row")
    parser.add_argument("--compile", action="store_true",
                        help="add the row default-compiled (--compile; its warm-up compiles, a minute)")
    parser.add_argument("--json", type=Path, help="also write the rates to this JSON file")
    args = parser.parse_args()
    if args.steps < 1 or args.warmup < 0 or args.rounds < 1:
        parser.error("--steps and --rounds must be >= 1, --warmup >= 0")
    if args.compile and args.warmup < 2:  # its first steps compile: they must not be timed
        parser.error(f"--compile needs --warmup 2 or more, not {args.warmup}")
    torch.set_num_threads(usable_cpus())
    torch.set_flush_denormal(True)
    configs = recipes(args.batch_size, list(dict.fromkeys(args.losses)), args.dogs, args.compile)
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    print(f"batch {args.batch_size}, {args.steps} timed steps per row in {args.rounds} interleaved "
          f"rounds, {usable_cpus()} CPU threads; min/run = the recipe's --epochs at that speed")
    found = {}
    for device in devices:
        if device.type == "cuda":
            torch.backends.cudnn.benchmark = True
        rates = found[device.type] = side_by_side_rates(device, configs, args.steps, args.warmup, args.rounds)
        print(table(device.type, rates, configs))
    if args.json:
        settings = {"steps": args.steps, "warmup": args.warmup, "rounds": args.rounds, "threads": usable_cpus(),
                    "cpu": {"model": cpu_model(), "bf16_units": cpu_has_bf16()},
                    "batch_size": {name: c.batch_size for name, c in configs.items()}}
        minutes = {device: {name: configs[name].epochs * epoch_images(configs[name]) / rate / 60
                            for name, rate in rates.items()} for device, rates in found.items()}
        args.json.write_text(json.dumps({"images_per_s": found, "minutes_per_run": minutes,
                                         "settings": settings}, indent=2) + "\n")


if __name__ == "__main__":
    main()

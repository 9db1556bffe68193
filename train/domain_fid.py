"""`python -m train.domain_fid`: add the fast domain FID to a run's metrics.jsonl afterwards.

    python -m train.domain_fid --run-dir runs/fmnist-cgan            # every 5th epoch checkpoint
    python -m train.domain_fid --run-dir runs/fmnist-cgan --every 1  # every epoch checkpoint

For runs trained without the monitor (train/gan/monitor.py, --domain-fid-every 0). The monitor's
measurement depends only on the generator's weights at the end of the epoch, which
checkpoints/epoch_NNN.pt holds, so the rows written here are the ones training would have
logged (same noise, same samples, same classifier); each row names its checkpoint in
"domain_fid_from". Epochs that already have a domain FID row are skipped. Run it when no training is writing to the run.
"""
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Optional


from train.command import run_command
from train.errors import TrainError
from train.gan.checkpoint import generator_from_checkpoint, load_checkpoint
from train.gan.config import TrainConfig
from train.gan.monitor import DomainFID
from train.gan.trainer import pick_device
from train.run.metrics_log import domain_rows, write_rows
from train.run.rundir import DEFAULT_RUN_DIR, RunDir

DEFAULTS = TrainConfig()


@dataclass
class DomainFIDConfig:
    run_dir: Path = field(default=DEFAULT_RUN_DIR, metadata={
        "help": "run directory with checkpoints/epoch_NNN.pt and metrics.jsonl"})
    every: int = field(default=DEFAULTS.domain_fid_every, metadata={
        "help": "measure the checkpoints of every N-th epoch"})
    samples: int = field(default=DEFAULTS.domain_fid_samples, metadata={
        "help": "generated images (balanced classes) per measurement"})
    classifier: Path = field(default=DEFAULTS.domain_fid_classifier, metadata={
        "help": "the FashionMNIST classifier (python -m train.classifier)"})
    data_dir: Optional[Path] = field(default=None, metadata={
        "help": "FashionMNIST folder (as in python -m train)"})
    device: Literal["auto", "cpu", "cuda"] = field(default="auto", metadata={
        "help": "where to run the generator"})


def epoch_checkpoints(run: RunDir, every: int) -> list[tuple[int, Path]]:
    """(epoch, path) of checkpoints/epoch_NNN.pt with NNN a multiple of `every`, in order."""
    found = []
    for path in run.checkpoints.glob("epoch_*.pt"):
        match = re.fullmatch(r"epoch_(\d+)\.pt", path.name)
        if match and int(match[1]) % every == 0:
            found.append((int(match[1]), path))
    return sorted(found)


def backfill(config: DomainFIDConfig) -> list[dict]:
    """Measure the missing epochs and merge their rows into metrics.jsonl; returns the new rows."""
    if config.every < 1 or config.samples < 2:
        raise TrainError(f"--every must be >= 1 and --samples >= 2 "
                         f"(got {config.every}, {config.samples})")
    run = RunDir(config.run_dir)
    if not run.metrics.is_file():
        raise TrainError(f"no {run.metrics}: nothing to add to")
    checkpoints = epoch_checkpoints(run, config.every)
    if not checkpoints:
        raise TrainError(f"no checkpoints/epoch_NNN.pt with NNN a multiple of {config.every} "
                         f"in {run.root}")
    if not Path(config.classifier).is_file():
        raise TrainError(f"no classifier at {config.classifier} "
                         "(train one with python -m train.classifier)")
    monitor = DomainFID(config.classifier, config.data_dir, config.samples)
    device = pick_device(config.device)
    rows = run.read_metrics()
    done, new = {r["step"] for r in domain_rows(rows)}, []
    for epoch, path in checkpoints:
        checkpoint = load_checkpoint(path)
        if checkpoint["step"] in done:
            continue
        generator = generator_from_checkpoint(checkpoint)
        measured = monitor.measure(generator.to(device), device)
        new.append({"step": checkpoint["step"], "epoch": epoch, **measured,
                    "domain_fid_from": path.relative_to(run.root).as_posix()})
        print(f"epoch {epoch} (step {checkpoint['step']}): domain FID {new[-1]['domain_fid']:.3f}")
    merged = sorted(rows + new, key=lambda r: (r["step"], "domain_fid" in r))  # stable
    write_rows(run.metrics, merged)
    return new


def main(argv=None) -> int:
    return run_command(
        DomainFIDConfig, argv, module="train.domain_fid", action=backfill,
        description="Add the classifier-feature (domain) FID of a run's epoch checkpoints to "
                    "its metrics.jsonl.",
        describe=lambda config, new: f"added {len(new)} domain FID row(s) to "
                                     f"{RunDir(config.run_dir).metrics}")


if __name__ == "__main__":
    sys.exit(main())

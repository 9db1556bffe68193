"""The files of one run directory: config.json, metrics.jsonl, checkpoints/, samples/, figures."""
import os
import shutil
from pathlib import Path

from train.errors import TrainError
from train.run import metrics_log

# Where `python -m train` puts a run, and where every command that reads a run looks by default.
DEFAULT_RUN_DIR = Path("runs/fmnist-cgan")

# A run writes ~10 MB of checkpoints per epoch; refuse to start with less than this free.
MIN_FREE_BYTES = 200 * 2**20


class RunDir:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.config = self.root / "config.json"
        self.metrics = self.root / "metrics.jsonl"
        self.checkpoints = self.root / "checkpoints"
        self.latest = self.checkpoints / "latest.pt"
        self.samples = self.root / "samples"
        self.loss_curves = self.root / "loss_curves.png"
        self.pairs = self.root / "pairs.png"

    def epoch_checkpoint(self, epoch: int) -> Path:
        return self.checkpoints / f"epoch_{epoch:03d}.pt"

    def sample_grid(self, epoch: int) -> Path:
        return self.samples / f"epoch_{epoch:03d}.png"

    def prepare(self, resume: bool) -> None:
        """Create the folders, checking up front that the run can be written at all."""
        if resume and not self.latest.is_file():
            raise TrainError(f"--resume given but {self.latest} does not exist")
        if not resume and self.latest.is_file():
            raise TrainError(f"{self.root} already holds a run; pass --resume to continue it "
                             "or choose another --run-dir")
        try:
            for folder in (self.root, self.checkpoints, self.samples):
                folder.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise TrainError(f"cannot create run directory {self.root}: {e}") from e
        for stale in self.checkpoints.glob(".*.tmp"):  # a save cut short by a kill
            stale.unlink(missing_ok=True)
        for folder in (self.root, self.checkpoints, self.samples):
            if not os.access(folder, os.W_OK):
                raise TrainError(f"run directory folder {folder} is not writable")
        free = shutil.disk_usage(self.root).free
        if free < MIN_FREE_BYTES:
            raise TrainError(f"only {free / 2**20:.0f} MiB free under {self.root}; "
                             f"need at least {MIN_FREE_BYTES / 2**20:.0f} MiB")

    def read_metrics(self) -> list[dict]:
        """The rows of metrics.jsonl (metrics_log.read_rows: a torn last line is dropped)."""
        return metrics_log.read_rows(self.metrics)

    def truncate_metrics(self, last_step: int) -> None:
        """Drop rows written after the checkpoint we resume from, so the curve continues."""
        metrics_log.truncate_after(self.metrics, last_step)

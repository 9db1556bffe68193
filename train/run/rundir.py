"""The files of one run directory: config.json, metrics.jsonl, checkpoints/, samples/, figures."""
import json
import os
import shutil
from pathlib import Path

from train.errors import TrainError
from train.run.atomic import write_text_atomic

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
        """The rows of metrics.jsonl. A last line cut short (the process was killed while it
        was being written) is dropped; damage anywhere else is a TrainError."""
        if not self.metrics.is_file():
            return []
        lines = self.metrics.read_text().split("\n")
        rows = []
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except ValueError as e:
                if number == len(lines):  # no newline after it: a torn write
                    break
                raise TrainError(f"{self.metrics}, line {number}: not a JSON row ({e})") from e
        return rows

    def truncate_metrics(self, last_step: int) -> None:
        """Drop rows written after the checkpoint we resume from, so the curve continues."""
        kept = [row for row in self.read_metrics() if row["step"] <= last_step]
        write_text_atomic(self.metrics, "".join(json.dumps(row) + "\n" for row in kept))

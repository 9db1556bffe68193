"""`--tensorboard`: the run's scalars and sample grids as TensorBoard event files.

Written by rank 0 into RUN_DIR/tensorboard beside metrics.jsonl: per step the scalars loss_d,
loss_g, d_real, d_fake and d_accuracy (tags `train/NAME`, x = the step), `train/domain_fid` when
the monitor measures it, and each epoch's sample grid (samples/epoch_NNN.png) as the image
`samples`. torch.utils.tensorboard is imported only here, so runs without the flag need no
tensorboard package. Open with `tensorboard --logdir RUN_DIR/tensorboard`.
"""
from pathlib import Path

import numpy as np

from train.errors import TrainError
from train.run.metrics_log import STATISTICS

SCALARS = tuple(name for name in STATISTICS if name != "class_accuracy")  # the documented tags


class TensorBoardLog:
    """A SummaryWriter on RUN_DIR/tensorboard; every method flushes, so a killed run keeps
    what it logged."""

    def __init__(self, run_dir: Path):
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError as e:
            raise TrainError(f"--tensorboard needs the tensorboard package ({e}); install it "
                             "with pip install -r requirements-train.txt") from e
        self.folder = Path(run_dir) / "tensorboard"
        self.writer = SummaryWriter(log_dir=str(self.folder))

    def log_rows(self, rows: list[dict]) -> None:
        """metrics.jsonl rows: per-step scalars and the domain FID."""
        for row in rows:
            for name in SCALARS:
                if name in row:
                    self.writer.add_scalar(f"train/{name}", row[name], row["step"])
            if "domain_fid" in row:
                self.writer.add_scalar("train/domain_fid", row["domain_fid"], row["step"])
        self.writer.flush()

    def log_grid(self, png: Path, step: int) -> None:
        """One epoch's labelled sample grid, read back from its PNG."""
        from PIL import Image
        with Image.open(png) as image:
            pixels = np.asarray(image.convert("RGB"))
        self.writer.add_image("samples", pixels, step, dataformats="HWC")
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()


def open_log(config, is_main: bool):
    """The log the config asks for on this rank, or None."""
    return TensorBoardLog(config.run_dir) if config.tensorboard and is_main else None

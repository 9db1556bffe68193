"""Options of `python -m export`: one dataclass, every field a flag, and the ONNX opset."""
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from train.run.rundir import DEFAULT_RUN_DIR

from .errors import ExportError


@dataclass
class ExportConfig:
    run_dir: Optional[Path] = field(default=None, metadata={
        "help": f"run directory to export (uses RUN_DIR/checkpoints/latest.pt; default: "
                f"{DEFAULT_RUN_DIR}, where python -m train puts a run)"})
    checkpoint: Optional[Path] = field(default=None, metadata={
        "help": "a checkpoint file to export instead of a run's latest"})
    out: Optional[Path] = field(default=None, metadata={
        "help": "folder for discriminator.onnx, generator.onnx and export.json (default: "
                "RUN_DIR/models, where python -m train.evaluate looks; --out models replaces "
                "the shipped models)"})
    data_dir: Optional[Path] = field(default=None, metadata={
        "help": "FashionMNIST folder for the parity check's real images (as in python -m train)"})
    parity_images: int = field(default=256, metadata={
        "help": "real and as many generated images on which ONNX must match PyTorch"})
    tolerance: float = field(default=1e-4, metadata={
        "help": "largest allowed |logit difference| between onnxruntime and PyTorch"})
    seed: int = field(default=0, metadata={"help": "seed of the generated parity images"})

    def checkpoint_path(self) -> Path:
        """--checkpoint, else RUN_DIR's latest checkpoint (the default run when neither is given)."""
        if self.run_dir is not None and self.checkpoint is not None:
            raise ExportError("give one of --run-dir and --checkpoint, not both")
        return self.checkpoint or (self.run_dir or DEFAULT_RUN_DIR) / "checkpoints" / "latest.pt"

    def out_dir(self) -> Path:
        """--out, else the models/ folder of the run the checkpoint belongs to
        (RUN_DIR/checkpoints/FILE.pt -> RUN_DIR/models)."""
        if self.out is not None:
            return self.out
        source = self.checkpoint_path()
        if source.parent.name != "checkpoints":  # no run of its own: its parent's models/ may be the shipped ones
            raise ExportError(f"{source} is not in a run's checkpoints/ folder: give --out, the folder for the models")
        return source.parent.parent / "models"

    def check(self) -> None:
        """Refuse values no export can use, naming them."""
        if self.parity_images < 1:
            raise ExportError(f"--parity-images must be 1 or more, not {self.parity_images}")
        if not self.tolerance >= 0:
            raise ExportError(f"--tolerance must be 0 or more, not {self.tolerance}")

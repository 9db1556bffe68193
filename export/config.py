"""Options of `python -m export`: one dataclass, every field a flag, and the ONNX opset."""
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional


@dataclass
class ExportConfig:
    run_dir: Optional[Path] = field(default=None, metadata={
        "help": "run directory to export (uses RUN_DIR/checkpoints/latest.pt)"})
    checkpoint: Optional[Path] = field(default=None, metadata={
        "help": "a checkpoint file to export instead of a run's latest"})
    out: Path = field(default=Path("models"), metadata={
        "help": "folder for discriminator.onnx, generator.onnx and export.json"})
    data_dir: Optional[Path] = field(default=None, metadata={
        "help": "FashionMNIST folder for the parity check's real images (as in python -m train)"})
    parity_images: int = field(default=256, metadata={
        "help": "real and as many generated images on which ONNX must match PyTorch"})
    tolerance: float = field(default=1e-4, metadata={
        "help": "largest allowed |logit difference| between onnxruntime and PyTorch"})
    seed: int = field(default=0, metadata={"help": "seed of the generated parity images"})

    def checkpoint_path(self) -> Path:
        if (self.run_dir is None) == (self.checkpoint is None):
            from .errors import ExportError
            raise ExportError("give exactly one of --run-dir and --checkpoint")
        return self.checkpoint or self.run_dir / "checkpoints" / "latest.pt"

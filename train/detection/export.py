"""Save the fitted detector: a checkpoint dict, and models/detector.onnx with the metadata the
runtime reads (the same contract as the exported discriminator: schema, normalization, a
real_logit output), written through a temporary file and checked for parity first."""
import tempfile
from pathlib import Path

import numpy as np
import torch

from detector.metadata import contract_metadata, INPUT_NAME, REAL_LOGIT
from train.data import CLASS_NAMES, to_model_range

from train.detection.config import DetectorConfig
from train.detection.model import DetectorNet, FingerprintCNN
from train.detection.real_model import RealStatistics
from train.errors import TrainError
from train.run.onnx_file import install, stamp, write_checked

PARITY_TOLERANCE = 1e-3


def detector_checkpoint(net: DetectorNet, config: DetectorConfig, fitted: dict) -> dict:
    """The one dict that rebuilds the detector (load_detector_checkpoint)."""
    return {"detector": net.state_dict(), "width": config.width, "components": config.components,
            "fitted": fitted, "config": {k: str(v) for k, v in vars(config).items()}}


def load_detector_checkpoint(path: Path) -> tuple[DetectorNet, dict]:
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
        net = DetectorNet(FingerprintCNN(checkpoint["width"]), RealStatistics(checkpoint["components"]))
        net.load_state_dict(checkpoint["detector"])
    except (OSError, RuntimeError, KeyError, ValueError) as e:
        raise TrainError(f"{path} is not a detector checkpoint: {e}") from e
    return net.eval(), checkpoint


def detector_metadata(fitted: dict) -> dict:
    calibration = {k: fitted[k] for k in ("platt", "real_model_cut", "threshold")}
    return contract_metadata("detector", CLASS_NAMES, families=fitted["families"], target_fpr=fitted["target_fpr"],
                             calibration=calibration, **stamp())


def export_detector(net: DetectorNet, fitted: dict, path: Path, parity_images: np.ndarray) -> float:
    """Write the ONNX detector to `path` once it matches PyTorch; returns the max |difference|."""
    path.parent.mkdir(parents=True, exist_ok=True)
    inputs = {INPUT_NAME: to_model_range(torch.from_numpy(parity_images))}
    with tempfile.TemporaryDirectory(dir=path.parent) as tmp_dir:
        tmp = Path(tmp_dir) / path.name
        difference = write_checked(net, inputs, REAL_LOGIT, tmp, detector_metadata(fitted))
        if not difference <= PARITY_TOLERANCE:
            raise TrainError(f"detector: ONNX and PyTorch differ by {difference:.2e}; {path} left alone")
        install(tmp, path)
    return difference

"""Save the fitted detector: a checkpoint dict, and models/detector.onnx with the metadata the
runtime reads (the same contract as the exported discriminator: schema, normalization, a
real_logit output), written through a temporary file and checked for parity first.

A fitted `DetectorNet` carries its zero-shot part (zero_shot.py). A detector fitted before that
part existed gets it with `python -m train.detector --add-zero-shot BASE.onnx`: the part's graph
is joined to the base's by a Min node (`with_zero_shot`), the base's own graph left as it was, so
the result computes what a DetectorNet with the same three parts computes.
"""
import json
import tempfile
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch

from detector.metadata import contract_metadata, INPUT_NAME, REAL_LOGIT
from train.data import CLASS_NAMES, to_model_range

from train.detection.config import DetectorConfig
from train.detection.model import DetectorNet, FingerprintCNN
from train.detection.real_model import RealStatistics
from train.detection.zero_shot import BrightestLevel
from train.errors import TrainError
from train.run.onnx_file import install, stamp, write_checked

PARITY_TOLERANCE = 1e-3
ZERO_SHOT_KEY = "zero_shot"  # metadata: the zero-shot part's cut and how it was set
ZERO_SHOT_PREFIX = "zero_shot/"  # names of the zero-shot graph's nodes and tensors in the joined model
BASE_LOGIT = "fitted/" + REAL_LOGIT  # the fitted graph's logit before the Min


def detector_checkpoint(net: DetectorNet, config: DetectorConfig, fitted: dict) -> dict:
    """The one dict that rebuilds the detector (load_detector_checkpoint)."""
    return {"detector": net.state_dict(), "width": config.width, "components": config.components,
            "fitted": fitted, "config": {k: str(v) for k, v in vars(config).items()}}


def load_detector_checkpoint(path: Path) -> tuple[DetectorNet, dict]:
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
        net = DetectorNet(FingerprintCNN(checkpoint["width"]), RealStatistics(checkpoint["components"]),
                          BrightestLevel())
        net.load_state_dict(checkpoint["detector"])
    except (OSError, RuntimeError, KeyError, ValueError) as e:
        raise TrainError(f"{path} is not a detector checkpoint: {e}") from e
    return net.eval(), checkpoint


def detector_metadata(fitted: dict) -> dict:
    calibration = {k: fitted[k] for k in ("platt", "real_model_cut", "threshold")}
    return contract_metadata("detector", CLASS_NAMES, families=fitted["families"], target_fpr=fitted["target_fpr"],
                             calibration=calibration, **{ZERO_SHOT_KEY: fitted[ZERO_SHOT_KEY]}, **stamp())


def renamed(nodes, old: str, new: str) -> None:
    """Rename tensor `old` to `new` wherever `nodes` read or write it."""
    for node in nodes:
        node.input[:] = [new if name == old else name for name in node.input]
        node.output[:] = [new if name == old else name for name in node.output]


def with_zero_shot(base: onnx.ModelProto, part: onnx.ModelProto, about: dict) -> onnx.ModelProto:
    """One model whose real_logit is min(base's, part's), both graphs reading the same image;
    the base's metadata plus `about` under ZERO_SHOT_KEY. A base that has a part already is refused."""
    props = {p.key: p.value for p in base.metadata_props}
    if ZERO_SHOT_KEY in props:
        raise TrainError(f"the base model has a zero-shot part already ({props[ZERO_SHOT_KEY]}); "
                         "start from a detector without one")
    joined, part = onnx.ModelProto(), onnx.compose.add_prefix(part, ZERO_SHOT_PREFIX)
    joined.CopyFrom(base)
    graph = joined.graph
    renamed(graph.node, REAL_LOGIT, BASE_LOGIT)
    renamed(part.graph.node, ZERO_SHOT_PREFIX + INPUT_NAME, INPUT_NAME)
    graph.node.extend(part.graph.node)
    graph.node.append(onnx.helper.make_node("Min", [BASE_LOGIT, ZERO_SHOT_PREFIX + REAL_LOGIT], [REAL_LOGIT]))
    graph.initializer.extend(part.graph.initializer)
    graph.value_info.extend(part.graph.value_info)
    joined.functions.extend(f for f in part.functions if f.name not in {g.name for g in joined.functions})
    domains = {o.domain for o in joined.opset_import}
    joined.opset_import.extend(o for o in part.opset_import if o.domain not in domains)
    onnx.helper.set_model_props(joined, {**props, ZERO_SHOT_KEY: json.dumps(about)})
    onnx.checker.check_model(joined, full_check=True)
    return joined


def onnx_logits(path: Path, images: torch.Tensor) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {INPUT_NAME: images.numpy()})[0]


def install_with_zero_shot(base: Path, zero_shot: BrightestLevel, about: dict, path: Path,
                           parity_images: np.ndarray) -> float:
    """Join the ONNX detector `base` with `zero_shot` into `path` once the result matches
    min(base, zero_shot) on `parity_images`; returns the largest |difference|."""
    path.parent.mkdir(parents=True, exist_ok=True)
    inputs = {INPUT_NAME: to_model_range(torch.from_numpy(parity_images))}
    with tempfile.TemporaryDirectory(dir=path.parent) as tmp_dir:
        part, tmp = Path(tmp_dir) / "zero_shot.onnx", Path(tmp_dir) / path.name
        write_checked(zero_shot, inputs, REAL_LOGIT, part, {})
        onnx.save(with_zero_shot(onnx.load(str(base)), onnx.load(str(part)), about), str(tmp))
        with torch.no_grad():
            expected = np.minimum(onnx_logits(base, inputs[INPUT_NAME]), zero_shot(inputs[INPUT_NAME]).numpy())
        difference = float(np.abs(onnx_logits(tmp, inputs[INPUT_NAME]) - expected).max())
        if not difference <= PARITY_TOLERANCE:
            raise TrainError(f"detector: the joined ONNX differs from its parts by {difference:.2e}; {path} left alone")
        install(tmp, path)
    return difference


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

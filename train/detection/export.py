"""Save the fitted detector: a checkpoint dict, and models/detector.onnx with the metadata the
runtime reads (the same contract as the exported discriminator: schema, normalization, a
real_logit output), written through a temporary file and checked for parity first.

A fitted `DetectorNet` carries all four parts. A detector fitted before a part existed gets it
with `python -m train.detector --add-zero-shot BASE.onnx` (zero_shot.py) or `--add-top-levels
BASE.onnx` (top_levels.py): the part's graph is joined to the base's by a Min node (`with_part`),
the base's own graph left as it was, so the result computes the minimum of the base's parts and
the new one, as a DetectorNet does.
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
from train.detection.top_levels import TopLevels
from train.detection.zero_shot import BrightestLevel
from train.errors import TrainError
from train.run.onnx_file import install, stamp, write_checked

PARITY_TOLERANCE = 1e-3
ZERO_SHOT_KEY = "zero_shot"  # metadata: the zero-shot part's cut and how it was set
TOP_LEVELS_KEY = "top_levels"  # metadata: the top-levels part's cut and what it was fitted on
# A joined part's nodes and tensors are named KEY/..., the base's logit before the Min without_KEY/real_logit.


def detector_checkpoint(net: DetectorNet, config: DetectorConfig, fitted: dict) -> dict:
    """The one dict that rebuilds the detector (load_detector_checkpoint)."""
    return {"detector": net.state_dict(), "width": config.width, "components": config.components,
            "fitted": fitted, "config": {k: str(v) for k, v in vars(config).items()}}


def load_detector_checkpoint(path: Path) -> tuple[DetectorNet, dict]:
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
        net = DetectorNet(FingerprintCNN(checkpoint["width"]), RealStatistics(checkpoint["components"]),
                          BrightestLevel(), TopLevels())
        net.load_state_dict(checkpoint["detector"])
    except (OSError, RuntimeError, KeyError, ValueError) as e:
        raise TrainError(f"{path} is not a detector checkpoint: {e}") from e
    return net.eval(), checkpoint


def detector_metadata(fitted: dict) -> dict:
    calibration = {k: fitted[k] for k in ("platt", "real_model_cut", "threshold")}
    parts = {key: fitted[key] for key in (ZERO_SHOT_KEY, TOP_LEVELS_KEY)}
    return contract_metadata("detector", CLASS_NAMES, families=fitted["families"], target_fpr=fitted["target_fpr"],
                             calibration=calibration, **parts, **stamp())


def renamed(nodes, old: str, new: str) -> None:
    """Rename tensor `old` to `new` wherever `nodes` read or write it."""
    for node in nodes:
        node.input[:] = [new if name == old else name for name in node.input]
        node.output[:] = [new if name == old else name for name in node.output]


def with_part(base: onnx.ModelProto, part: onnx.ModelProto, key: str, about: dict) -> onnx.ModelProto:
    """One model whose real_logit is min(base's, part's), both graphs reading the same image; the
    part's names prefixed `key/`; the base's metadata plus `about` under `key`. A base that has
    the part already (its metadata has `key`) is refused."""
    props = {p.key: p.value for p in base.metadata_props}
    if key in props:
        raise TrainError(f"the base model has a {key} part already ({props[key]}); start from a detector without one")
    joined, part = onnx.ModelProto(), onnx.compose.add_prefix(part, f"{key}/")
    joined.CopyFrom(base)
    graph, base_logit = joined.graph, f"without_{key}/{REAL_LOGIT}"
    renamed(graph.node, REAL_LOGIT, base_logit)
    renamed(part.graph.node, f"{key}/{INPUT_NAME}", INPUT_NAME)
    graph.node.extend(part.graph.node)
    graph.node.append(onnx.helper.make_node("Min", [base_logit, f"{key}/{REAL_LOGIT}"], [REAL_LOGIT]))
    graph.initializer.extend(part.graph.initializer)
    graph.value_info.extend(part.graph.value_info)
    joined.functions.extend(f for f in part.functions if f.name not in {g.name for g in joined.functions})
    domains = {o.domain for o in joined.opset_import}
    joined.opset_import.extend(o for o in part.opset_import if o.domain not in domains)
    onnx.helper.set_model_props(joined, {**props, key: json.dumps(about)})
    onnx.checker.check_model(joined, full_check=True)
    return joined


def onnx_logits(path: Path, images: torch.Tensor) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {INPUT_NAME: images.numpy()})[0]


def install_with_part(base: Path, module: torch.nn.Module, key: str, about: dict, path: Path,
                      parity_images: np.ndarray) -> float:
    """Join the ONNX detector `base` with the part `module` (metadata `key`) into `path` once the
    result matches min(base, module) on `parity_images`; returns the largest |difference|."""
    path.parent.mkdir(parents=True, exist_ok=True)
    inputs = {INPUT_NAME: to_model_range(torch.from_numpy(parity_images))}
    with tempfile.TemporaryDirectory(dir=path.parent) as tmp_dir:
        part, tmp = Path(tmp_dir) / f"{key}.onnx", Path(tmp_dir) / path.name
        write_checked(module, inputs, REAL_LOGIT, part, {})
        onnx.save(with_part(onnx.load(str(base)), onnx.load(str(part)), key, about), str(tmp))
        with torch.no_grad():
            expected = np.minimum(onnx_logits(base, inputs[INPUT_NAME]), module(inputs[INPUT_NAME]).numpy())
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

"""ONNX files: write a PyTorch module as one, check it against PyTorch, install it.

Used by `python -m export` (the GAN's discriminator and generator) and by train.detection (the
dedicated detector). A model is written to a temporary path, checked (onnx.checker, then parity
with PyTorch through onnxruntime) and only then installed over the old file, so a failing export
never replaces a good model; installing records the file's sha256 in its folder's manifest.json. What the model says about itself is detector.metadata's contract.
"""
import datetime
import os
import warnings
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
from torch import nn

import train
from detector.manifest import record
from train.errors import ExportError

def read_metadata(path: Path) -> dict:
    """An ONNX model's metadata map: the keys `stamp` and the exporters wrote."""
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return dict(session.get_modelmeta().custom_metadata_map)


# ONNX opset the exporter pins: the dynamo exporter's default in torch 2.14, read by
# onnxruntime >= 1.16.
OPSET = 20


def stamp() -> dict:
    """The metadata keys saying which project version wrote a model, and when (UTC)."""
    return {"project_version": train.__version__,
            "export_date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}


def to_onnx(module: nn.Module, example: tuple, input_names: list, output: str, path: Path,
            metadata: dict) -> None:
    """Export with a dynamic batch dimension, then embed metadata and run onnx.checker."""
    batch = torch.export.Dim("batch", min=1)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the dynamo exporter warns about things that are fine here
        torch.onnx.export(module.eval(), example, str(path), dynamo=True, opset_version=OPSET,
                          input_names=input_names, output_names=[output], external_data=False,
                          dynamic_shapes={name: {0: batch} for name in input_names}, verbose=False)
    model = onnx.load(str(path))
    onnx.helper.set_model_props(model, metadata)
    try:
        onnx.checker.check_model(model, full_check=True)
    except onnx.checker.ValidationError as e:
        raise ExportError(f"onnx.checker rejected {path.name}: {e}") from e
    onnx.save(model, str(path))


def max_difference(path: Path, module: nn.Module, inputs: dict) -> float:
    """Largest |onnxruntime - PyTorch| over the same inputs."""
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (from_onnx,) = session.run(None, {k: v.numpy() for k, v in inputs.items()})
    with torch.no_grad():
        from_torch = module.eval()(*inputs.values()).numpy()
    if from_onnx.shape != from_torch.shape:
        raise ExportError(f"{path.name}: ONNX output shape {from_onnx.shape} != torch {from_torch.shape}")
    return float(np.abs(from_onnx - from_torch).max())


def write_checked(module: nn.Module, inputs: dict, output: str, path: Path, metadata: dict) -> float:
    """Write `module` to `path` (traced on the first two of `inputs`, named by their keys) and
    return its largest |difference| from PyTorch over all of them; the caller judges it."""
    to_onnx(module, tuple(v[:2] for v in inputs.values()), list(inputs), output, path, metadata)
    return max_difference(path, module, inputs)


def install(tmp: Path, final: Path) -> None:
    """Put a checked file in place in one step (`tmp` on the same file system as `final`), and
    record its sha256 in the folder's manifest.json: models/' manifest is what the runtime checks
    the shipped models against (detector/manifest.py)."""
    os.replace(tmp, final)
    record(final)

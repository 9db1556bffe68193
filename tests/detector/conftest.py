"""Tiny ONNX models built with onnx.helper (no torch), so every answer is known by hand.

The default model's logit is ``WEIGHT * mean(input) + BIAS`` where input = pixel/127.5 - 1,
so an all-black image gives -3 ("generated", sigmoid(3)) and an all-white one 5 ("real").
"""

import io
import json
import math
from types import SimpleNamespace

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper
from PIL import Image

WEIGHT, BIAS = 4.0, 1.0
SCALE, OFFSET = 0.00784313725490196, -1.0

METADATA = {
    "schema": "fmnist-detector/1",
    "kind": "discriminator",
    "image_size": json.dumps([28, 28]),
    "normalization": json.dumps({"scale": SCALE, "offset": OFFSET}),
    "output": "real_logit",
    "positive_label": "real",
    "labels": json.dumps(["real", "generated"]),
    "class_names": json.dumps(["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
                               "Shirt", "Sneaker", "Bag", "Ankle boot"]),
    "run": "test", "step": "0", "export_date": "2026-01-01", "project_version": "0.0.0",
}


def expected(pixel_mean: float) -> tuple:
    """(label, confidence) the default tiny model gives an image of this mean pixel value."""
    logit = WEIGHT * (pixel_mean * SCALE + OFFSET) + BIAS
    p_real = 1 / (1 + math.exp(-logit))
    return ("real", p_real) if p_real >= 0.5 else ("generated", 1 - p_real)


def write_model(path, metadata=None, *, input_name="image", size=(28, 28), output="real_logit",
                weight=WEIGHT, bias=BIAS, drop=(), output_rank=1):
    """Write a mean-pixel model to ``path``; keyword arguments break the contract on purpose."""
    meta = {**METADATA, **(metadata or {})}
    for key in drop:
        meta.pop(key, None)
    image = helper.make_tensor_value_info(input_name, TensorProto.FLOAT, ["N", 1, *size])
    out_shape = ["N"] if output_rank == 1 else ["N", 1]
    logit = helper.make_tensor_value_info(output, TensorProto.FLOAT, out_shape)
    nodes = [
        helper.make_node("ReduceMean", [input_name], ["mean"], axes=[1, 2, 3],
                         keepdims=0 if output_rank == 1 else 1),
        helper.make_node("Mul", ["mean", "w"], ["scaled"]),
        helper.make_node("Add", ["scaled", "b"], ["raw"]),
    ]
    if output_rank != 1:
        nodes.append(helper.make_node("Reshape", ["raw", "shape"], [output]))
    else:
        nodes[-1] = helper.make_node("Add", ["scaled", "b"], [output])
    inits = [helper.make_tensor("w", TensorProto.FLOAT, [], [weight]),
             helper.make_tensor("b", TensorProto.FLOAT, [], [bias])]
    if output_rank != 1:
        inits.append(helper.make_tensor("shape", TensorProto.INT64, [2], [-1, 1]))
    graph = helper.make_graph(nodes, "tiny", [image], [logit], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8  # old enough for any onnxruntime we might meet
    helper.set_model_props(model, meta)
    onnx.save(model, str(path))
    return path


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    """Path of a valid tiny model, shared by the whole session (it is read-only)."""
    return write_model(tmp_path_factory.mktemp("model") / "tiny.onnx")


@pytest.fixture(scope="session")
def detector(tiny_model):
    from detector import load_detector
    return load_detector(tiny_model)


def encode(array: np.ndarray, format="PNG", **save) -> bytes:
    """``array`` (or a PIL image) encoded in an image file format."""
    image = array if isinstance(array, Image.Image) else Image.fromarray(array)
    buffer = io.BytesIO()
    image.save(buffer, format=format, **save)
    return buffer.getvalue()


# Test modules get the helpers through fixtures: importing conftest by name is fragile.
@pytest.fixture(scope="session")
def helpers():
    return SimpleNamespace(expected=expected, write_model=write_model, encode=encode,
                           METADATA=METADATA)


@pytest.fixture
def cli(capsys, monkeypatch):
    """Run ``python -m detector`` in-process: cli(*argv, stdin=b"...") -> (code, out, err)."""
    from detector.__main__ import main

    def run(*argv, stdin: bytes = b""):
        monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(stdin)))
        capsys.readouterr()
        try:
            code = main([str(a) for a in argv])
        except SystemExit as exc:  # argparse: --help and usage errors
            code = exc.code
        out, err = capsys.readouterr()
        return code, out, err

    return run

"""Model lookup, loading, contract checks and input scaling: every failure is a ModelError naming the file."""

import re

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from detector import load_detector, model as model_module, ModelError, resolve_model_path
from detector.metadata import (contract_metadata, NORMALIZATION, parse_metadata, PIXEL_OFFSET,
                               PIXEL_SCALE)
from detector.manifest import record
from detector.model import to_batch


def test_missing_file(tmp_path):
    with pytest.raises(ModelError, match=f"not found: {re.escape(str(tmp_path / 'nope.onnx'))}"):
        load_detector(tmp_path / "nope.onnx")


def test_missing_name_lists_what_exists(tmp_path, monkeypatch, helpers):
    monkeypatch.setattr(model_module, "MODELS_DIR", tmp_path)
    helpers.write_model(tmp_path / "discriminator.onnx")
    with pytest.raises(ModelError, match=r"model 'detector' not found.*available: discriminator"):
        resolve_model_path()  # the default, detector, is missing here


def test_names_resolve_in_models_dir(tmp_path, monkeypatch, helpers):
    monkeypatch.setattr(model_module, "MODELS_DIR", tmp_path)
    helpers.write_model(tmp_path / "discriminator.onnx")
    record(helpers.write_model(tmp_path / "detector.onnx"))  # a shipped model has its manifest
    assert resolve_model_path() == tmp_path / "detector.onnx"
    assert resolve_model_path("discriminator") == tmp_path / "discriminator.onnx"
    assert load_detector("detector").model.path == tmp_path / "detector.onnx"


def test_default_is_repo_models_folder():
    assert model_module.MODELS_DIR == model_module.Path(model_module.__file__).parent.parent / \
        "models"
    assert model_module.DEFAULT_MODEL == "detector"


@pytest.mark.parametrize("content", [b"", b"not an onnx model", b"\x08\x07" * 100])
def test_not_onnx(tmp_path, content):
    path = tmp_path / "bad.onnx"
    path.write_bytes(content)
    with pytest.raises(ModelError, match=f"{re.escape(str(path))}: not a loadable ONNX model"):
        load_detector(path)


def test_directory_is_not_a_model(tmp_path):
    with pytest.raises(ModelError, match="not found"):
        load_detector(tmp_path)


@pytest.mark.parametrize("kwargs,message", [
    ({"drop": ["schema", "kind", "image_size", "normalization", "output", "positive_label",
               "labels"]},
     "metadata lacks schema, kind, image_size, normalization, output, positive_label, labels"),
    ({"drop": ["normalization"]}, "metadata lacks normalization"),
    ({"metadata": {"schema": "fmnist-detector/2"}}, "schema is 'fmnist-detector/2'"),
    ({"metadata": {"image_size": "[28, 28"}}, "image_size is not valid JSON"),
    ({"metadata": {"image_size": "[28]"}}, "image_size must be"),
    ({"metadata": {"normalization": '{"scale": "x", "offset": 0}'}}, "normalization must be"),
    ({"metadata": {"labels": '["real", "fake"]', "positive_label": "real"},
      "drop": []}, None),  # another negative label is fine
    ({"metadata": {"labels": '["a", "b"]'}}, "including positive_label 'real'"),
    ({"metadata": {"class_names": "{}"}}, "class_names must be a JSON list"),
    ({"input_name": "x"}, "expected one input named 'image', found \\['x'\\]"),
    ({"size": (32, 32)}, "input 'image' is tensor\\(float\\)"),
    ({"output": "logit"}, "metadata names output 'real_logit', the model has \\['logit'\\]"),
    ({"output_rank": 2}, "output 'real_logit' is tensor\\(float\\)"),
])
def test_contract_violations(tmp_path, helpers, kwargs, message):
    path = helpers.write_model(tmp_path / "m.onnx", **kwargs)
    if message is None:
        assert load_detector(path).info.negative_label == "fake"
        return
    with pytest.raises(ModelError, match=f"^{re.escape(str(path))}: .*{message}"):
        load_detector(path)


def test_other_kinds_and_extra_keys_are_accepted():
    meta = {"schema": "fmnist-detector/1", "kind": "detector", "image_size": "[28, 28]",
            "normalization": '{"scale": 1, "offset": 0}', "output": "o",
            "positive_label": "real", "labels": '["generated", "real"]', "new_key": "v"}
    info = parse_metadata(meta, "m.onnx")
    assert info.kind == "detector" and info.negative_label == "generated"
    assert info.class_names == () and info.extra == {"new_key": "v"}


def test_contract_writer_round_trips_through_the_parser():
    meta = contract_metadata("detector", ["a", "b"], (28, 28), step=7, conditional=False,
                             families=["x"], run="runs/r")
    assert all(isinstance(v, str) for v in meta.values())
    assert meta["step"] == "7" and meta["conditional"] == "false" and meta["families"] == '["x"]'
    info = parse_metadata(meta, "m.onnx")
    assert (info.kind, info.image_size, info.output) == ("detector", (28, 28), "real_logit")
    assert (info.positive_label, info.negative_label, info.class_names) == ("real", "generated", ("a", "b"))
    assert (info.scale, info.offset) == (PIXEL_SCALE, PIXEL_OFFSET)
    assert info.extra == {"step": "7", "conditional": "false", "families": '["x"]', "run": "runs/r"}


def test_contract_scaling_maps_black_to_minus_one_and_white_to_one():
    assert 0 * PIXEL_SCALE + PIXEL_OFFSET == -1.0 and 255 * PIXEL_SCALE + PIXEL_OFFSET == 1.0
    assert NORMALIZATION == {"scale": 1 / 127.5, "offset": -1.0}


def test_generator_metadata_has_no_labels():
    meta = contract_metadata("generator", ["a"], output="image", latent_dim=8)
    assert "labels" not in meta and "positive_label" not in meta and meta["latent_dim"] == "8"


def test_to_batch_normalizes_exactly():
    batch = to_batch([np.array([[0, 255]], np.uint8), np.array([[128, 1]], np.uint8)],
                     0.00784313725490196, -1.0)
    assert batch.dtype == np.float32 and batch.shape == (2, 1, 1, 2)
    np.testing.assert_array_equal(batch.ravel(), np.float32([-1, 1, 128 / 127.5 - 1,
                                                             1 / 127.5 - 1]))


# --- broken model files: each a ModelError that names the file and says what is wrong -------

def signature_model(path, metadata, shape, dtype=TensorProto.FLOAT):
    """A model whose input 'image' has this shape and type; metadata as exported."""
    image = helper.make_tensor_value_info("image", dtype, shape)
    logit = helper.make_tensor_value_info("real_logit", TensorProto.FLOAT, ["N"])
    nodes = [helper.make_node("Cast", ["image"], ["x"], to=TensorProto.FLOAT),
             helper.make_node("ReduceMean", ["x"], ["real_logit"], axes=list(range(1, len(shape))),
                              keepdims=0)]
    model = helper.make_model(helper.make_graph(nodes, "g", [image], [logit]),
                              opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    helper.set_model_props(model, metadata)
    onnx.save(model, str(path))
    return path


@pytest.mark.parametrize("shape,dtype,message", [
    ([1, 1, 28, 28], TensorProto.FLOAT, "fixed batch size of 1; .* dynamic first dimension N"),
    ([8, 1, 28, 28], TensorProto.FLOAT, "fixed batch size of 8"),
    (["N", 28, 28], TensorProto.FLOAT, r"input 'image' is tensor\(float\) \['N', 28, 28\]"),
    (["N", 3, 28, 28], TensorProto.FLOAT, r"\['N', 3, 28, 28\], expected tensor\(float\)"),
    (["N", 1, 28, 28], TensorProto.DOUBLE, r"input 'image' is tensor\(double\)"),
    (["N", 1, 28, 28], TensorProto.UINT8, r"input 'image' is tensor\(uint8\)"),
])
def test_wrong_input_signature(tmp_path, helpers, shape, dtype, message):
    path = signature_model(tmp_path / "m.onnx", helpers.METADATA, shape, dtype)
    with pytest.raises(ModelError, match=f"^{re.escape(str(path))}: .*{message}"):
        load_detector(path)


def test_dynamic_signature_of_unknown_dims_is_accepted(tmp_path, helpers):
    path = signature_model(tmp_path / "m.onnx", helpers.METADATA, [None, 1, None, None])
    assert load_detector(path).info.image_size == (28, 28)


def test_truncated_model_at_any_point(tmp_path, helpers):
    """Cut a valid model short anywhere: a ModelError naming the file, or (cut exactly between
    optional metadata entries) a model that still meets the contract; never anything else."""
    whole = helpers.write_model(tmp_path / "whole.onnx").read_bytes()
    path = tmp_path / "cut.onnx"
    outcomes = {"error": 0, "loaded": 0}
    for cut in range(0, len(whole), 5):
        path.write_bytes(whole[:cut])
        try:
            assert load_detector(path).info.labels == ("real", "generated")
            outcomes["loaded"] += 1
        except ModelError as error:
            assert str(error).startswith(f"{path}: "), error
            outcomes["error"] += 1
    assert outcomes["error"] > 0.9 * sum(outcomes.values())
    for cut in (1, len(whole) // 2, len(whole) - 1):
        path.write_bytes(whole[:cut])
        with pytest.raises(ModelError, match=f"^{re.escape(str(path))}: not a loadable ONNX"):
            load_detector(path)

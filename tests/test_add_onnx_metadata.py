"""scripts/add_onnx_metadata.py: keys added to a copy, the graph as it was, existing keys refused."""
import json
import subprocess
import sys
from pathlib import Path

import onnx
from onnx import helper, TensorProto

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "add_onnx_metadata.py"


def tiny_model(path: Path) -> None:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [None])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [None])
    model = helper.make_model(helper.make_graph([helper.make_node("Neg", ["x"], ["y"])], "g", [x], [y]))
    helper.set_model_props(model, {"architecture": "mlp"})
    onnx.save(model, str(path))


def run(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True)


def test_a_key_is_added_to_a_copy_and_recorded_in_the_folders_manifest(tmp_path):
    tiny_model(tmp_path / "in.onnx")
    out = tmp_path / "zoo" / "generator.onnx"
    assert run(tmp_path / "in.onnx", out, "loss=hinge", "note=a=b").returncode == 0
    source, copy = onnx.load(str(tmp_path / "in.onnx")), onnx.load(str(out))
    assert {p.key: p.value for p in copy.metadata_props} == {"architecture": "mlp", "loss": "hinge", "note": "a=b"}
    assert copy.graph == source.graph
    assert list(json.loads((out.parent / "manifest.json").read_text())["files"]) == ["generator.onnx"]


def test_a_key_the_model_has_is_refused_and_nothing_is_written(tmp_path):
    tiny_model(tmp_path / "in.onnx")
    result = run(tmp_path / "in.onnx", tmp_path / "out.onnx", "architecture=convtranspose")
    assert result.returncode != 0 and "has architecture already" in result.stderr
    assert not (tmp_path / "out.onnx").exists()

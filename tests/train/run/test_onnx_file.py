"""train.run.onnx_file on a module small enough to know the answer: y = 2x + 1 summed per row."""
import onnx
import onnxruntime as ort
import pytest
import torch
from torch import nn

from detector.manifest import file_sha256, read_manifest
from train.errors import ExportError
from train.run.onnx_file import install, max_difference, OPSET, stamp, to_onnx, write_checked


class Affine(nn.Module):
    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return (2 * image + 1).flatten(1).sum(1)


def test_write_checked_embeds_metadata_matches_torch_and_installs(tmp_path):
    inputs = {"image": torch.arange(12, dtype=torch.float32).view(3, 1, 2, 2)}
    tmp, final = tmp_path / "tmp.onnx", tmp_path / "model.onnx"
    difference = write_checked(Affine(), inputs, "real_logit", tmp, {"kind": "test", **stamp()})
    assert difference == 0.0
    install(tmp, final)
    assert not tmp.exists()
    assert read_manifest(tmp_path) == {"model.onnx": file_sha256(final)}  # installing records the hash
    session = ort.InferenceSession(str(final), providers=["CPUExecutionProvider"])
    meta = session.get_modelmeta().custom_metadata_map
    assert meta["kind"] == "test" and {"project_version", "export_date"} <= set(meta)
    assert [o.name for o in session.get_outputs()] == ["real_logit"]
    batch = torch.ones(5, 1, 2, 2).numpy()  # another batch size than the traced one
    assert session.run(None, {"image": batch})[0].tolist() == [12.0] * 5
    assert OPSET in {i.version for i in onnx.load(str(final)).opset_import if i.domain == ""}


def test_parity_check_refuses_a_different_output_shape(tmp_path):
    class Wrong(Affine):
        def __init__(self):
            super().__init__()
            self.exporting = True

        def forward(self, image):
            out = super().forward(image)
            return out if self.exporting else out[:, None]

    module = Wrong()
    inputs = {"image": torch.zeros(2, 1, 2, 2)}
    to_onnx(module, (inputs["image"],), ["image"], "y", tmp_path / "m.onnx", {})
    module.exporting = False
    with pytest.raises(ExportError, match="output shape"):
        max_difference(tmp_path / "m.onnx", module, inputs)

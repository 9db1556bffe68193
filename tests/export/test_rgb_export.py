"""python -m export on a 64×64 RGB run, and python -m detector on what it wrote."""
import json

import numpy as np
import onnxruntime as ort
import pytest
from PIL import Image

from detector import __main__ as detector_main
from export.__main__ import main as export_main
from train.gan.config import TrainConfig
from train.gan.trainer import train


@pytest.fixture(scope="module")
def models(tmp_path_factory, dogs_dir):
    run_dir = tmp_path_factory.mktemp("rgb-run")
    train(TrainConfig(run_dir=run_dir, dataset="dogs", data_dir=dogs_dir, unconditional=True, batch_size=16,
                      width=4, latent_dim=8, max_steps=2, device="cpu", progress=False, domain_fid_every=0))
    out = tmp_path_factory.mktemp("rgb-models")
    assert export_main(["--run-dir", str(run_dir), "--out", str(out)]) == 0
    return out


@pytest.mark.parametrize("name, inputs", [("discriminator", {"image": ["batch", 3, 64, 64]}),
                                          ("generator", {"noise": ["batch", 8]})])
def test_models_carry_the_image_shape(models, name, inputs):
    session = ort.InferenceSession(str(models / f"{name}.onnx"), providers=["CPUExecutionProvider"])
    meta = session.get_modelmeta().custom_metadata_map
    assert json.loads(meta["image_size"]) == [64, 64] and meta["channels"] == "3"
    assert {i.name: i.shape for i in session.get_inputs()} == inputs


def test_generator_output_is_rgb_64(models):
    session = ort.InferenceSession(str(models / "generator.onnx"), providers=["CPUExecutionProvider"])
    (images,) = session.run(None, {"noise": np.zeros((2, 8), np.float32)})
    assert images.shape == (2, 3, 64, 64)


def test_detector_reads_rgb_photos_at_the_models_size(models, tmp_path, capsys):
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(tmp_path / "a.png")
    Image.new("RGB", (80, 60)).save(tmp_path / "big.jpg")
    model = str(models / "discriminator.onnx")
    assert detector_main.main(["--model", model, str(tmp_path / "a.png")]) == 0
    assert json.loads(capsys.readouterr().out)["label"] in ("real", "generated")
    assert detector_main.main(["--model", model, str(tmp_path / "big.jpg")]) != 0
    assert "image is 80x60, expected 64x64; pass --resize" in capsys.readouterr().out
    assert detector_main.main(["--model", model, "--resize", str(tmp_path / "big.jpg")]) == 0

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch
from PIL import Image

from detector import load_detector
from detector.manifest import file_sha256, read_manifest
from export.config import ExportConfig
from export.errors import ExportError
from export.onnx_export import export_run
from train.data import load_fashion_mnist, to_model_range, to_uint8
from train.gan.checkpoint import load_checkpoint, networks_from_checkpoint
from train.gan.sampling import generated_images


@pytest.fixture(scope="module")
def exported(tiny_run, tiny_data_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("models")
    report = export_run(ExportConfig(run_dir=tiny_run, out=out, data_dir=tiny_data_dir, parity_images=32))
    return out, report


def metadata(path):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).get_modelmeta().custom_metadata_map


def test_export_writes_both_models_and_report(exported):
    out, report = exported
    assert {p.name for p in out.iterdir()} == {"discriminator.onnx", "generator.onnx", "export.json",
                                               "manifest.json"}
    assert json.loads((out / "export.json").read_text()) == report
    assert read_manifest(out) == {name: file_sha256(out / name)  # what the runtime checks models/ against
                                  for name in ("discriminator.onnx", "generator.onnx")}
    for model in report["models"].values():
        assert model["max_abs_difference"] <= 1e-4


def test_discriminator_metadata_says_how_to_use_it(exported, tiny_run):
    meta = metadata(exported[0] / "discriminator.onnx")
    assert meta["schema"] == "fmnist-detector/1"
    assert meta["output"] == "real_logit" and meta["positive_label"] == "real"
    assert json.loads(meta["image_size"]) == [28, 28]
    assert json.loads(meta["normalization"]) == {"scale": 1 / 127.5, "offset": -1.0}
    assert json.loads(meta["class_names"])[9] == "Ankle boot"
    assert meta["step"] == "4" and meta["run"] == str(tiny_run)


@pytest.mark.parametrize("batch", [1, 3, 64])
def test_discriminator_matches_torch_for_any_batch(exported, tiny_run, tiny_data_dir, batch):
    _, discriminator, _ = networks_from_checkpoint(load_checkpoint(tiny_run / "checkpoints" / "latest.pt"))
    images = to_model_range(load_fashion_mnist("test", tiny_data_dir).images[:batch])
    session = ort.InferenceSession(str(exported[0] / "discriminator.onnx"))
    (onnx_logits,) = session.run(None, {"image": images.numpy()})
    with torch.no_grad():
        torch_logits = discriminator(images)[0].numpy()
    assert onnx_logits.shape == (batch,)
    np.testing.assert_allclose(onnx_logits, torch_logits, atol=1e-4)


def test_generator_draws_images_without_torch_graph(exported):
    session = ort.InferenceSession(str(exported[0] / "generator.onnx"))
    latent = int(session.get_modelmeta().custom_metadata_map["latent_dim"])
    noise = np.random.default_rng(0).standard_normal((5, latent)).astype(np.float32)
    (images,) = session.run(None, {"noise": noise, "labels": np.arange(5, dtype=np.int64)})
    assert images.shape == (5, 1, 28, 28)
    assert images.min() >= -1 and images.max() <= 1


def test_generated_images_are_the_torch_generator_in_uint8(exported, tiny_run):
    """generated_images draws its noise from the rng as documented and rounds as to_uint8."""
    classes = np.array([0, 3, 9, 3])
    images = generated_images(exported[0], classes, np.random.default_rng(3))
    generator, _, _ = networks_from_checkpoint(load_checkpoint(tiny_run / "checkpoints" / "latest.pt"))
    noise = np.random.default_rng(3).standard_normal((4, generator.latent_dim)).astype(np.float32)
    with torch.no_grad():
        expected = to_uint8(generator.eval()(torch.from_numpy(noise), torch.from_numpy(classes))).numpy()
    assert images.dtype == np.uint8 and images.shape == (4, 28, 28)
    # ONNX and PyTorch agree to ~1e-6, which can move a value across a rounding boundary.
    assert np.abs(images.astype(int) - expected).max() <= 1


def test_failed_parity_leaves_the_old_models_alone(exported, tiny_run, tiny_data_dir):
    out = exported[0]
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    with pytest.raises(ExportError, match="differ by"):
        export_run(ExportConfig(run_dir=tiny_run, out=out, data_dir=tiny_data_dir,
                                parity_images=8, tolerance=0.0))
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_export_refuses_both_sources(tmp_path):
    with pytest.raises(ExportError, match="not both"):
        export_run(ExportConfig(run_dir=Path("a"), checkpoint=Path("b"), out=tmp_path))


@pytest.mark.parametrize("checkpoint", ["latest.pt", "downloads/latest.pt"])
def test_a_checkpoint_outside_a_run_needs_out(checkpoint):
    with pytest.raises(ExportError, match="not in a run's checkpoints/ folder: give --out"):
        ExportConfig(checkpoint=Path(checkpoint)).out_dir()


@pytest.mark.parametrize("kwargs, message", [
    ({"parity_images": 0}, "--parity-images must be 1 or more, not 0"),
    ({"tolerance": -1.0}, "--tolerance must be 0 or more, not -1.0")])
def test_export_refuses_unusable_values_naming_them(kwargs, message, tmp_path):
    with pytest.raises(ExportError, match=message):
        export_run(ExportConfig(out=tmp_path, **kwargs))


def test_export_into_a_file_is_refused_naming_it(tiny_run, tiny_data_dir, tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(ExportError, match="cannot make the folder for the models"):
        export_run(ExportConfig(run_dir=tiny_run, out=tmp_path / "file", data_dir=tiny_data_dir))


@pytest.mark.parametrize("kwargs, checkpoint, out", [
    ({}, "runs/fmnist-cgan/checkpoints/latest.pt", "runs/fmnist-cgan/models"),
    ({"run_dir": Path("r")}, "r/checkpoints/latest.pt", "r/models"),
    ({"checkpoint": Path("r/checkpoints/epoch_003.pt")}, "r/checkpoints/epoch_003.pt", "r/models"),
    ({"run_dir": Path("r"), "out": Path("models")}, "r/checkpoints/latest.pt", "models"),
])
def test_bare_export_reads_the_default_run_and_writes_beside_it(kwargs, checkpoint, out):
    config = ExportConfig(**kwargs)
    assert (config.checkpoint_path(), config.out_dir()) == (Path(checkpoint), Path(out))


def test_round_trip_detector_cli_on_exported_model(exported, tiny_data_dir, tmp_path):
    """train a few steps -> export -> `python -m detector --model` answers in the documented form."""
    image = load_fashion_mnist("test", tiny_data_dir).images[0].numpy()
    Image.fromarray(image).save(tmp_path / "real.png")
    model = exported[0] / "discriminator.onnx"
    result = subprocess.run([sys.executable, "-m", "detector", "--model", str(model), str(tmp_path / "real.png")],
                            capture_output=True, text=True, check=True)
    answer = json.loads(result.stdout)
    assert set(answer) == {"label", "confidence"} and answer["label"] in ("real", "generated")
    # The library agrees with the CLI and with the sigmoid of the exported logit.
    prediction = load_detector(model).detect(tmp_path / "real.png")
    assert prediction.label == answer["label"]
    assert prediction.confidence == pytest.approx(answer["confidence"], abs=1e-4)


def test_examples_writes_real_and_generated_pngs_the_detector_reads(exported, tiny_data_dir, tmp_path):
    from export.examples import ExamplesConfig, write_examples

    paths = write_examples(ExamplesConfig(models=exported[0], out=tmp_path, data_dir=tiny_data_dir, per_kind=3))
    assert sorted(p.name.split("_")[0] for p in paths) == ["generated"] * 3 + ["real"] * 3
    detector = load_detector(exported[0] / "discriminator.onnx")
    for path in paths:
        assert Image.open(path).size == (28, 28)
        assert detector.detect(path).label in ("real", "generated")


@pytest.mark.parametrize("per_kind", [0, 11])
def test_examples_refuse_a_count_the_classes_cannot_give(exported, tiny_data_dir, tmp_path, per_kind):
    from export.examples import ExamplesConfig, write_examples
    from train.errors import TrainError

    with pytest.raises(TrainError, match=f"--per-kind must be 1 to 10, not {per_kind}"):
        write_examples(ExamplesConfig(models=exported[0], out=tmp_path, data_dir=tiny_data_dir, per_kind=per_kind))

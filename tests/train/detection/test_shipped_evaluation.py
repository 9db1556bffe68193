"""python -m train.detector --shipped on tiny exported models: the JSON it writes, and what it refuses."""
import datetime
import hashlib
import json

import numpy as np
import onnx
import pytest

import detector.model
from export.config import ExportConfig
from export.onnx_export import export_run
from train.detection import evaluate
from train.detection.sanity import BATTERY, passed
from train.detector import main


@pytest.fixture(scope="module")
def tiny_models(tiny_run, tiny_data_dir, tmp_path_factory):
    """A models/ folder: the tiny run's exported discriminator and generator, and as the detector
    that discriminator with one more metadata key (a model of the same contract, another file)."""
    models = tmp_path_factory.mktemp("shipped") / "models"
    export_run(ExportConfig(run_dir=tiny_run, out=models, data_dir=tiny_data_dir, parity_images=8))
    model = onnx.load(str(models / "discriminator.onnx"))
    model.metadata_props.add(key="stand_in", value="the tiny discriminator as a detector")
    onnx.save(model, str(models / "detector.onnx"))
    return models


@pytest.fixture
def shipped(tiny_models, tiny_data_dir, tmp_path, monkeypatch, capsys):
    """`--shipped` run on the tiny models (found where the shipped ones are: models/): (the JSON
    written, its path, what the command printed)."""
    monkeypatch.setattr(evaluate, "MODELS", tiny_models)  # the seed's test's discriminator and generator
    monkeypatch.setattr(detector.model, "MODELS_DIR", tiny_models)  # the battery's "discriminator"
    out = tmp_path / "docs" / "detector_shipped.json"
    args = ["--shipped", "--export", str(tiny_models / "detector.onnx"), "--shipped-json", str(out),
            "--data-dir", str(tiny_data_dir), "--sanity-per-set", "8"]
    assert main(args) == 0
    return json.loads(out.read_text()), out, capsys.readouterr().out


def sha256_16(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def test_shipped_names_the_date_and_each_measured_file_by_hash(shipped, tiny_models):
    results, _, _ = shipped
    assert list(results) == ["date", "models", "real_test_fpr", "seed_test", "sanity"]
    assert results["date"] == datetime.date.today().isoformat()
    assert results["models"] == {name: {"path": str((tiny_models / f"{name}.onnx").resolve()),
                                        "sha256": sha256_16(tiny_models / f"{name}.onnx")}
                                 for name in ("detector", "discriminator", "generator")}
    assert len({m["sha256"] for m in results["models"].values()}) == 3


def test_shipped_measures_the_seed_test_the_real_fpr_and_the_battery(shipped):
    results, out, printed = shipped
    assert set(results["seed_test"]) == {"detector", "discriminator"}
    for scores in results["seed_test"].values():
        assert set(scores) == {"balanced_accuracy", "real_fpr", "generated_caught", "average_precision"}
    # the detector stand-in is the discriminator's network: equal figures show both came from the tiny files
    assert results["seed_test"]["detector"] == results["seed_test"]["discriminator"]
    assert 0 <= results["real_test_fpr"] <= 1
    battery = results["sanity"]["models"]
    assert set(battery) == {"detector", "discriminator"} and results["sanity"]["images_per_set"] == 8
    for model in battery.values():
        assert list(model["sets"]) == list(BATTERY)
        assert (model["passed"], model["checked"]) == passed(model["sets"])
    assert battery["detector"]["sets"] == battery["discriminator"]["sets"]
    assert printed.startswith(f"wrote {out}: seed's test balanced accuracy detector")


def test_shipped_refuses_a_missing_model_before_measuring(tmp_path, tiny_data_dir, capsys):
    out = tmp_path / "shipped.json"
    args = ["--shipped", "--export", str(tmp_path / "none.onnx"), "--shipped-json", str(out),
            "--data-dir", str(tiny_data_dir)]
    assert main(args) == 1 and not out.exists()
    assert "no model file" in capsys.readouterr().err


@pytest.mark.parametrize("other", ["--evaluate", "--sanity"])
def test_shipped_with_evaluate_or_sanity_is_refused_with_one_line(other, tmp_path, capsys):
    out = tmp_path / "shipped.json"
    assert main(["--shipped", other, "--shipped-json", str(out)]) == 1 and not out.exists()
    err = capsys.readouterr().err
    assert err.startswith(f"detector: --shipped and {other} are separate runs") and err.count("\n") == 1


def test_held_out_summary_counts_the_goal_and_names_the_worst_and_best_family():
    rows = {"a": {"balanced_accuracy": 0.99, "real_fpr": 0.01}, "b": {"balanced_accuracy": 0.7, "real_fpr": 0.03},
            "c": {"balanced_accuracy": 0.95, "real_fpr": 0.02}}
    summary = evaluate.held_out_summary(rows)
    assert (summary["meeting_goal"], summary["families"]) == (2, 3)
    assert (summary["worst_family"], summary["worst_balanced_accuracy"]) == ("b", 0.7)
    assert (summary["best_family"], summary["largest_real_fpr"]) == ("a", 0.03)
    assert (summary["real_fpr_goal"], summary["within_real_fpr_goal"]) == (0.02, 2)


class _Session:
    """What onnx_scorer uses of a loaded model: its metadata's image size and a failing run."""

    def __init__(self, image_size):
        self.path, self.info = "m.onnx", type("Info", (), {"image_size": image_size})()

    def to_batch(self, images):
        return images

    def logits(self, batch):
        raise evaluate.ModelError("m.onnx: inference failed: invalid dimensions")


@pytest.mark.parametrize("image_size, message", [
    ((32, 32), "m.onnx: takes 32x32 images, not FashionMNIST's 28x28"),
    ((28, 28), "m.onnx: inference failed")])
def test_onnx_scorer_turns_a_misfitting_or_failing_model_into_an_evaluation_error(image_size, message, monkeypatch):
    monkeypatch.setattr(evaluate, "load_detector", lambda model: type("D", (), {"model": _Session(image_size)})())
    with pytest.raises(evaluate.EvaluationError, match=message):
        evaluate.onnx_scorer("m.onnx")(np.zeros((2, 28, 28), np.uint8))

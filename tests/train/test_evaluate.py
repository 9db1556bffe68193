"""python -m train.evaluate on the tiny run: PyTorch and ONNX agree; FID with stand-in features."""
import json
import shutil

import numpy as np
import pytest

from export.config import ExportConfig
from export.onnx_export import export_run
from train.errors import EvaluationError
from train.evaluate import agreement, evaluate_run, EvaluateConfig, main
from train.metrics import inception


@pytest.fixture
def run_copy(tiny_run, tmp_path):
    """A private copy of the tiny run (evaluate writes eval.json into it)."""
    return shutil.copytree(tiny_run, tmp_path / "run")


@pytest.fixture(scope="module")
def exported(tiny_run, tiny_data_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("models")
    export_run(ExportConfig(run_dir=tiny_run, out=out, data_dir=tiny_data_dir, parity_images=8))
    return out / "discriminator.onnx"


def config(run_dir, data_dir, **more) -> EvaluateConfig:
    # No classifier metrics here (tests/train/metrics/test_domain.py has them): with the shipped
    # models/fmnist_classifier.pt they would cost ~10 s per call on 10,000 generated images.
    return EvaluateConfig(**{"run_dir": run_dir, "data_dir": data_dir, "accuracy_samples": 30,
                             "fid_samples": 0, "domain_samples": 0, "device": "cpu",
                             "progress": False, **more})


def test_pytorch_and_onnx_agree_and_eval_json_is_written(run_copy, tiny_data_dir, exported):
    result = evaluate_run(config(run_copy, tiny_data_dir, model=exported))
    assert json.loads((run_copy / "eval.json").read_text()) == result
    acc = result["discriminator_accuracy"]
    assert acc["agreement"]["max_abs_logit_difference"] <= 1e-3
    assert acc["agreement"]["label_agreement"] == 1.0
    assert acc["onnx"]["confusion_matrix"] == acc["pytorch"]["confusion_matrix"]
    assert acc["pytorch"]["n_real"] == 30 and acc["pytorch"]["n_generated"] == 30
    assert [c["n_generated"] for c in acc["pytorch"]["per_class"].values()] == [3] * 10
    assert "skipped" in result["fid"]


def test_onnx_is_skipped_with_a_note_when_the_model_is_missing(run_copy, tiny_data_dir, capsys):
    assert main(["--run-dir", str(run_copy), "--data-dir", str(tiny_data_dir), "--fid-samples", "0",
                 "--accuracy-samples", "10", "--domain-samples", "0", "--device", "cpu",
                 "--no-progress"]) == 0
    acc = json.loads((run_copy / "eval.json").read_text())["discriminator_accuracy"]
    assert "onnx" not in acc and "no exported model" in acc["onnx_note"]
    assert "FID skipped" in capsys.readouterr().out


def test_disagreement_beyond_the_tolerance_fails():
    assert agreement(np.array([1.0, -1.0]), np.array([1.0005, -1.0]), 1e-3)["label_agreement"] == 1.0
    with pytest.raises(EvaluationError, match="disagree"):
        agreement(np.array([1.0, -1.0]), np.array([1.0, -0.9]), 1e-3)


def test_fid_with_stand_in_features_uses_the_cache(run_copy, tiny_data_dir, tmp_path, monkeypatch):
    def fake_features(images, batch_size, device, progress, desc=""):  # 4-d, cheap
        x = images.reshape(len(images), -1).astype(np.float64) / 255
        return np.stack([x.mean(1), x.std(1), x[:, :392].mean(1), x[:, 392:].mean(1)], axis=1)

    monkeypatch.setattr(inception, "inception_features", fake_features)
    cfg = config(run_copy, tiny_data_dir, fid_samples=20, cache_dir=tmp_path / "cache")
    first = evaluate_run(cfg)["fid"]
    second = evaluate_run(cfg)["fid"]
    assert first["n_real"] == 64 and first["n_generated"] == 20  # the tiny test split
    assert not first["real_statistics_cached"] and second["real_statistics_cached"]
    assert second["fid"] == pytest.approx(first["fid"]) and first["fid"] > 0


@pytest.mark.parametrize("flag, field", [("--accuracy-samples", "accuracy_samples"),
                                         ("--fid-batch-size", "fid_batch_size")])
def test_counts_below_one_are_refused_naming_the_flag(tmp_path, tiny_data_dir, flag, field):
    with pytest.raises(EvaluationError, match=f"{flag} must be at least 1, got 0"):
        evaluate_run(config(tmp_path, tiny_data_dir, **{field: 0}))

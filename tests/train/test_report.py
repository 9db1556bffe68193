"""python -m train.report: built from the run's files, failing loudly when one is missing."""
import json
import shutil

import pytest

from train.errors import ReportError
from train.evaluate import EvaluateConfig, evaluate_run
from train.report import ReportConfig, epoch_means, main, write_report


@pytest.fixture(scope="module")
def evaluated(tiny_run, tiny_data_dir, tmp_path_factory):
    run = shutil.copytree(tiny_run, tmp_path_factory.mktemp("report") / "run")
    evaluate_run(EvaluateConfig(run_dir=run, data_dir=tiny_data_dir, accuracy_samples=20,
                                fid_samples=0, device="cpu", progress=False))
    return run


@pytest.fixture
def run(evaluated, tmp_path):
    return shutil.copytree(evaluated, tmp_path / "run")


def test_report_holds_the_numbers_of_eval_json(run):
    path = write_report(ReportConfig(run_dir=run))
    text = path.read_text()
    acc = json.loads((run / "eval.json").read_text())["discriminator_accuracy"]["pytorch"]
    assert path == run / "REPORT.md"
    assert f"| all | {acc['accuracy']:.3f} |" in text
    for figure in ("loss_curves.png", "pairs.png", "samples/epoch_001.png"):
        assert f"({figure})" in text
    assert "Not computed" in text and "ONNX check: skipped" in text


@pytest.mark.parametrize("missing", ["eval.json", "config.json", "metrics.jsonl", "pairs.png",
                                     "loss_curves.png", "samples"])
def test_a_missing_input_fails_naming_it(run, missing, capsys):
    target = run / missing
    shutil.rmtree(target) if target.is_dir() else target.unlink()
    assert main(["--run-dir", str(run)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("report: missing input") and missing in err
    assert not (run / "REPORT.md").exists()


def test_an_eval_json_older_than_the_training_fails(run):
    evaluation = json.loads((run / "eval.json").read_text())
    evaluation["step"] -= 1
    (run / "eval.json").write_text(json.dumps(evaluation))
    with pytest.raises(ReportError, match="rerun python -m train.evaluate"):
        write_report(ReportConfig(run_dir=run))


def test_epoch_means():
    rows = [{"step": 1, "epoch": 1, "loss_d": 1.0}, {"step": 2, "epoch": 1, "loss_d": 3.0},
            {"step": 3, "epoch": 2, "loss_d": 5.0}]
    assert epoch_means(rows) == [{"epoch": 1, "last_step": 2, "loss_d": 2.0},
                                 {"epoch": 2, "last_step": 3, "loss_d": 5.0}]

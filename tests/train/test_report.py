"""python -m train.report: built from the run's files, failing loudly when one is missing."""
import json
import re
import shutil

import pytest

from train.errors import ReportError
from train.evaluate import evaluate_run, EvaluateConfig
from train import report
from train.run import metrics_log
from train.report import epoch_means, main, PUBLISHED_FID, ReportConfig, write_report


@pytest.fixture(scope="module")
def evaluated(tiny_run, tiny_data_dir, tmp_path_factory):
    run = shutil.copytree(tiny_run, tmp_path_factory.mktemp("report") / "run")
    evaluate_run(EvaluateConfig(run_dir=run, data_dir=tiny_data_dir, accuracy_samples=20,
                                fid_samples=0, domain_samples=0, device="cpu", progress=False))
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


def test_domain_fid_rows_are_shown_and_kept_out_of_the_epoch_means(run):
    with open(run / "metrics.jsonl", "a") as f:
        f.write(json.dumps({"step": 4, "epoch": 1, "domain_fid": 12.3456, "domain_fid_samples": 50,
                            "domain_fid_seconds": 0.1}) + "\n")
    text = write_report(ReportConfig(run_dir=run)).read_text()
    batch_size = json.loads((run / "config.json").read_text())["batch_size"]
    minutes = metrics_log.training_minutes(metrics_log.read_rows(run / "metrics.jsonl"), batch_size)[4]
    assert f"| 1 | 4 | {minutes:.1f} | 12.346 | 50 |" in text
    assert "4 logged steps" in text  # the domain row is not a training step
    assert "computed after training" not in text


def test_backfilled_domain_fid_rows_name_the_command(run):
    with open(run / "metrics.jsonl", "a") as f:
        f.write(json.dumps({"step": 4, "epoch": 1, "domain_fid": 1.0, "domain_fid_samples": 50,
                            "domain_fid_from": "checkpoints/epoch_001.pt"}) + "\n")
    text = write_report(ReportConfig(run_dir=run)).read_text()
    assert "epoch(s) 1 were computed after training" in text and "python -m train.domain_fid" in text


def test_without_domain_fid_rows_the_report_says_how_to_add_them(run):
    assert "python -m train.domain_fid" in write_report(ReportConfig(run_dir=run)).read_text()


def test_published_fids_come_from_the_data_file_with_their_sources(run, tmp_path):
    published = {"title": "Some FIDs", "caveat": "Not like-for-like.",
                 "sources": {"x2020": {"citation": "A. Author. A paper. 2020", "url": "https://e.x/1",
                                       "protocol": "10k vs 10k"}},
                 "entries": [{"model": "NS GAN", "fid": 26.5, "plus_minus": 1.6, "source": "x2020"}]}
    (tmp_path / "published.json").write_text(json.dumps(published))
    text = write_report(ReportConfig(run_dir=run, published=tmp_path / "published.json")).read_text()
    assert "| NS GAN | 26.5 ± 1.6 | [x2020] |" in text
    assert "- [x2020] A. Author. A paper. 2020, <https://e.x/1>. Protocol: 10k vs 10k." in text
    assert "**Not like-for-like.**" in text


def test_the_shipped_published_fid_file_names_a_source_for_every_entry():
    published = json.loads(PUBLISHED_FID.read_text())
    assert published["entries"] and published["caveat"]
    for entry in published["entries"]:
        source = published["sources"][entry["source"]]
        assert source["url"].startswith("https://") and source["protocol"]


def test_a_missing_published_fid_file_fails_naming_it(run, tmp_path):
    with pytest.raises(ReportError, match="missing input .*absent.json"):
        write_report(ReportConfig(run_dir=run, published=tmp_path / "absent.json"))


def test_the_report_names_the_commands_that_wrote_its_numbers(run):
    text = write_report(ReportConfig(run_dir=run)).read_text()
    evaluated_dir = json.loads((run / "eval.json").read_text())["config"]["run_dir"]
    assert (f"python -m train.evaluate --run-dir {evaluated_dir} --accuracy-samples 20 "
            "--fid-samples 0 --domain-samples 0 --seed 0") in text
    assert f"python -m train.report --run-dir {run}\n" in text
    assert "python -m train --run-dir" in text
    assert "python -m export --run-dir" not in text  # the tiny run has no ONNX model


def test_figures_dir_copies_the_figures_and_links_them_from_the_report(run, tmp_path):
    out = tmp_path / "docs" / "report.md"
    out.parent.mkdir()
    write_report(ReportConfig(run_dir=run, out=out, figures_dir=tmp_path / "docs" / "figures"))
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", out.read_text())
    assert "figures/loss_curves.png" in links and "figures/samples_epoch_001.png" in links
    assert all((out.parent / link).is_file() for link in links)


def test_a_last_row_cut_short_by_a_kill_is_left_out_of_the_report(run):
    with open(run / "metrics.jsonl", "a") as f:
        f.write('{"step": 5, "epoch": 2, "loss_d": 0.')
    text = write_report(ReportConfig(run_dir=run)).read_text()
    assert "4 logged steps" in text


@pytest.mark.parametrize("n_generated, n_real, split, published", [
    (10_000, 10_000, "test", True), (2_000, 10_000, "test", False), (10_000, 2_000, "test", False),
    (10_000, 10_000, "train", False)])
def test_protocol_note_says_whether_the_fid_is_comparable_with_published_ones(n_generated, n_real,
                                                                              split, published):
    note = report.protocol_note({"n_generated": n_generated, "n_real": n_real, "real_split": split})
    assert note.startswith("Measured on the published protocol") == published


@pytest.mark.parametrize("values, command", [
    ({}, "python -m train"),
    ({"device": "cpu", "progress": False, "data_dir": "/data"}, "python -m train --device cpu"),
    ({"loss": "ns", "spectral_norm": True, "epochs": 20},
     "python -m train --epochs 20 --spectral-norm --loss ns")])
def test_train_command_gives_the_flags_that_differ_from_the_defaults(values, command):
    from train.gan.config import TrainConfig
    config = {**TrainConfig().to_json(), **values}
    assert report.train_command(config) == command

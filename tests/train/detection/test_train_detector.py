"""python -m train.detector end to end on the tiny zoo: fit, export, run through the runtime, evaluate."""
import json
import os

import numpy as np
import onnx
import pytest
import torch

from detector import load_detector
from export.config import ExportConfig
from export.onnx_export import export_run
from train.data import load_fashion_mnist
from train.detection.calibration import false_positive_rate
from train.detection.config import DetectorConfig
from train.detection.evaluate import held_out, held_out_all, held_out_split, shuffled_test
from train.detection.export import load_detector_checkpoint, TOP_LEVELS_KEY, ZERO_SHOT_KEY
from train.detection.fit import focus_generators, logits_of, real_split, sample_generated
from train.detection.row_cache import load_row, loaded_code, row_key
from train.detection.strangers import export_date, part_logit_names, PARTS, part_outputs
from train.detection.zoo import zoo_generators
from train.detector import main
from train.errors import EvaluationError


def tiny_config(tmp_path, data_dir, zoo, **more):
    values = dict(out=tmp_path / "detector", export=tmp_path / "models" / "detector.onnx", zoo=[str(zoo)],
                  data_dir=data_dir, generated_train=120, generated_calibration=150, real_calibration=150,
                  test_per_family=30, epochs=1, batch_size=32, width=4, components=4, progress=False,
                  report=tmp_path / "docs" / "detector.md", held_out_runs=[])
    return DetectorConfig(**{**values, **more})


@pytest.fixture(scope="module")
def fitted(tmp_path_factory, detector_data_dir, tiny_zoo):
    tmp_path = tmp_path_factory.mktemp("fit")
    config = tiny_config(tmp_path, detector_data_dir, tiny_zoo)
    assert main(cli_args(config)) == 0
    return config


def cli_args(config: DetectorConfig) -> list:
    """The command line that gives `config` (booleans, lists other than the zoo and the held-out runs
    and families, and unset options aside)."""
    args = [f"--{k.replace('_', '-')}={v}" for k, v in vars(config).items()
            if v is not None and not isinstance(v, (bool, list))]
    return (args + ["--zoo", *config.zoo, "--held-out-runs", *config.held_out_runs,
                    "--held-out-families", *config.held_out_families]
            + (["--evaluate"] if config.evaluate else []) + ["--no-progress"])


def test_fit_writes_checkpoint_report_and_an_onnx_model_the_runtime_reads(fitted):
    fit = json.loads((fitted.out / "fit.json").read_text())
    assert fit["families"] == ["convtranspose-ns", "convtranspose-ns-unconditional", "mlp-ns"]
    assert fit["onnx_max_abs_difference"] < 1e-3
    runtime = load_detector(fitted.export)
    assert runtime.info.kind == "detector" and runtime.info.positive_label == "real"
    assert json.loads(runtime.info.extra["families"]) == fit["families"]


def test_threshold_keeps_held_out_real_fpr_within_target(fitted):
    """The shipped logit's 0 is the threshold: at most target_fpr of held-out real images below it."""
    net, checkpoint = load_detector_checkpoint(fitted.out / "detector.pt")
    _, held_out_real = real_split(fitted)
    assert false_positive_rate(logits_of(net, held_out_real), 0.0) <= fitted.target_fpr
    assert checkpoint["fitted"]["threshold"] <= 0  # a shift only ever lowers the bar for "real"


def test_onnx_and_torch_give_the_same_labels(fitted, detector_data_dir):
    net, _ = load_detector_checkpoint(fitted.out / "detector.pt")
    test = load_fashion_mnist("test", detector_data_dir).images.numpy()
    runtime = [p.logit for p in load_detector(fitted.export).detect_arrays(test)]
    np.testing.assert_allclose(runtime, logits_of(net, test), atol=1e-3)


def test_evaluate_leaves_each_family_out_and_writes_the_report(fitted, tmp_path):
    report = fitted.report
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text("# Detector\n\nHand-written intro.\n\n<!-- results -->\nold table\n")
    assert main(cli_args(DetectorConfig(**{**vars(fitted), "evaluate": True, "generated_train": 90,
                                            "generated_calibration": 90}))) == 0
    results = json.loads((report.parent / "detector_results.json").read_text())
    assert sorted(results["held_out"]) == ["convtranspose-ns", "convtranspose-ns-unconditional", "mlp-ns"]
    for family, row in results["held_out"].items():
        assert family not in row["trained_on"] and len(row["trained_on"]) == 2
        assert 0 <= row["balanced_accuracy"] <= 1 and row["generated"] == 30
        assert 0 <= row["discriminator"]["balanced_accuracy"] <= 1
    text = report.read_text()
    assert text.startswith("# Detector\n\nHand-written intro.") and "old table" not in text
    assert "| mlp-ns |" in text and (report.parent / "figures" / "detector_reliability.png").is_file()
    assert set(results["shipped"]["seed_test"]) == {"detector", "discriminator"}
    sanity = results["sanity"]
    assert sanity["models"]["detector"]["model"] == str(fitted.export) and sanity["images_per_set"] == 200
    assert set(sanity["models"]) == {"detector", "discriminator"}
    assert "## The sanity battery" in text and "| uniform_noise | uniform noise" in text


def without_seconds(rows: dict) -> dict:
    return {held: {k: v for k, v in row.items() if k != "seconds"} for held, row in rows.items()}


def test_jobs_fit_the_held_out_families_in_processes_of_their_own_with_the_same_results(fitted, monkeypatch,
                                                                                       tmp_path):
    """--jobs 2: the same rows as fitting one family after another on one thread each (two
    threads each would only reorder float sums)."""
    monkeypatch.setattr("train.detection.evaluate.usable_cpus", lambda: 2)  # one thread per process
    config = DetectorConfig(**{**vars(fitted), "generated_train": 90, "generated_calibration": 90, "jobs": 2,
                               "out": tmp_path / "jobs"})
    generators = zoo_generators(config.zoo)
    real = shuffled_test(config)[1][:200]
    discriminator_real = np.zeros(len(real))
    in_processes = held_out_all(config, generators, real, discriminator_real)
    one_by_one = {f: held_out(config, generators, f, real, discriminator_real, threads=1) for f in in_processes}
    assert list(in_processes) == ["convtranspose-ns", "convtranspose-ns-unconditional", "mlp-ns"]
    assert without_seconds(in_processes) == without_seconds(one_by_one)
    kept = sorted(p.name for p in (config.out / "held_out").iterdir())
    assert kept == ["convtranspose-ns-unconditional.json", "convtranspose-ns.json", "mlp-ns.json"]


@pytest.fixture
def cache_config(fitted, tmp_path):
    return DetectorConfig(**{**vars(fitted), "generated_train": 90, "generated_calibration": 90,
                             "out": tmp_path / "cache", "held_out_families": ["mlp-ns", "convtranspose-ns"]})


def refits(monkeypatch, calls: list, fail_on: str = ""):
    """Record each family held_out fits; raise on `fail_on`, as a stopped run would end."""
    fit = held_out

    def recording(config, generators, held, *args, **kwargs):
        calls.append(held)
        if held == fail_on:
            raise KeyboardInterrupt
        return fit(config, generators, held, *args, **kwargs)
    monkeypatch.setattr("train.detection.evaluate.held_out", recording)


def test_a_stopped_evaluate_keeps_the_rows_it_fitted_and_the_next_fits_only_the_rest(cache_config, monkeypatch):
    generators, real = zoo_generators(cache_config.zoo), shuffled_test(cache_config)[1][:100]
    calls = []
    refits(monkeypatch, calls, fail_on="convtranspose-ns")
    with pytest.raises(KeyboardInterrupt):
        held_out_all(cache_config, generators, real, np.zeros(len(real)))
    first = json.loads((cache_config.out / "held_out" / "mlp-ns.json").read_text())["row"]
    refits(monkeypatch, calls)
    rows = held_out_all(cache_config, generators, real, np.zeros(len(real)))
    assert calls == ["mlp-ns", "convtranspose-ns", "convtranspose-ns"]
    assert list(rows) == ["mlp-ns", "convtranspose-ns"] and rows["mlp-ns"] == first


@pytest.mark.parametrize("change, refitted", [
    ({"report": "elsewhere.md", "jobs": 3, "held_out_families": ["mlp-ns"]}, False),
    ({"epochs": 2}, True),
    ({"seed": 1}, True),
])
def test_a_kept_row_is_reused_only_while_what_it_depends_on_holds(cache_config, monkeypatch, change, refitted):
    generators, real = zoo_generators(cache_config.zoo), shuffled_test(cache_config)[1][:100]
    config = DetectorConfig(**{**vars(cache_config), "held_out_families": ["mlp-ns"]})
    held_out_all(config, generators, real, np.zeros(len(real)))
    calls = []
    refits(monkeypatch, calls)
    if change.get("jobs"):  # a row kept is a row kept, whichever --jobs: no process is started for it
        monkeypatch.setattr("train.detection.evaluate.ProcessPoolExecutor", None)
    held_out_all(DetectorConfig(**{**vars(config), **change}), generators, real, np.zeros(len(real)))
    assert calls == (["mlp-ns"] if refitted else [])


def test_the_key_covers_the_code_that_makes_a_row_not_the_code_that_reports_it():
    import train.detector  # noqa: F401  (the CLI, and the report writer it reaches)
    code = loaded_code()
    assert {"train.detection.fit", "train.detection.evaluate", "train.gan.sampling", "detector.model"} <= set(code)
    assert not {"train.detector", "train.doc_numbers", "train.detection.report"} & set(code)


def test_a_kept_row_is_refitted_when_a_generator_or_the_real_images_change(cache_config, monkeypatch):
    generators, real = zoo_generators(cache_config.zoo), shuffled_test(cache_config)[1][:100]
    keys = {"before": row_key(cache_config, generators, "mlp-ns", real)}
    keys["real"] = row_key(cache_config, generators, "mlp-ns", real[::-1])
    checkpoint = generators[0].checkpoint
    times = checkpoint.stat().st_atime_ns, checkpoint.stat().st_mtime_ns
    os.utime(checkpoint, ns=(times[0], times[1] + 1))  # as a retrained run's checkpoint would be
    try:
        keys["generator"] = row_key(cache_config, generators, "mlp-ns", real)
    finally:
        os.utime(checkpoint, ns=times)
    assert len(set(keys.values())) == 3
    assert load_row(cache_config.out / "missing.json", keys["before"]) is None


def test_a_held_out_run_leaves_training_alone_and_an_unknown_one_is_refused_before_any_fit(fitted, tiny_zoo):
    config = DetectorConfig(**{**vars(fitted), "generated_train": 90, "generated_calibration": 90})
    generators = zoo_generators(config.zoo)
    training, test = held_out_split(generators, str(tiny_zoo / "b"))
    assert {g.run_dir.name for g in training} == {"a", "c"} and [g.name for g in test] == ["b/epoch_002"]
    real = shuffled_test(config)[1][:100]
    row = held_out(config, generators, str(tiny_zoo / "b"), real, np.zeros(len(real)), threads=1)
    assert "mlp-ns" not in row["trained_on"] and row["generated"] == 30
    assert list(row["caught_by_generator"]) == ["b/epoch_002"]
    assert row["caught_by_generator"]["b/epoch_002"] == row["generated_caught"]
    with pytest.raises(EvaluationError, match="no run or exported generator of the zoo"):
        held_out_all(DetectorConfig(**{**vars(config), "held_out_runs": ["runs/elsewhere"]}), generators, real,
                     np.zeros(len(real)))


def test_held_out_families_limit_the_table_and_name_its_files_after_the_report(fitted, tmp_path):
    report = tmp_path / "docs" / "strong.md"
    config = DetectorConfig(**{**vars(fitted), "evaluate": True, "generated_train": 90, "generated_calibration": 90,
                               "held_out_families": ["mlp-ns"], "report": report})
    assert main(cli_args(config)) == 0
    results = json.loads((tmp_path / "docs" / "strong_results.json").read_text())
    assert list(results["held_out"]) == ["mlp-ns"] and results["held_out_summary"]["families"] == 1
    assert {p.name for p in (tmp_path / "docs" / "figures").iterdir()} == {"strong_held_out.png",
                                                                         "strong_reliability.png"}
    text = report.read_text()
    assert "](figures/strong_held_out.png)" in text and "[strong_results.json](strong_results.json)" in text


def test_an_unknown_held_out_family_is_refused_naming_it_and_the_zoo_s_before_any_fit(fitted):
    config = DetectorConfig(**{**vars(fitted), "held_out_families": ["mlp-ns", "gpt"]})
    generators = zoo_generators(config.zoo)
    with pytest.raises(EvaluationError, match=r"gpt is no family of the zoo \(convtranspose-ns, .*mlp-ns\)"):
        held_out_all(config, generators, np.zeros((1, 28, 28), np.uint8), np.zeros(1))


def test_jobs_below_one_are_refused_naming_the_value_before_the_zoo_is_read(fitted, tmp_path, capsys):
    config = DetectorConfig(**{**vars(fitted), "evaluate": True, "jobs": 0, "zoo": [str(tmp_path / "no-zoo")]})
    assert main(cli_args(config)) == 1
    assert "--jobs must be 1 or more, not 0" in capsys.readouterr().err


@pytest.mark.parametrize("focus, expected_runs", [(["a"], {"a"}), (["b", "c"], {"b", "c"}), (["elsewhere"], set())])
def test_focus_takes_its_share_from_the_focus_runs_final_generators_only(tmp_path, detector_data_dir, tiny_zoo,
                                                                         focus, expected_runs):
    generators = zoo_generators([tiny_zoo])
    config = tiny_config(tmp_path, detector_data_dir, tiny_zoo, focus=[str(tiny_zoo / run) for run in focus],
                         focus_share=0.5)
    chosen = focus_generators(config, generators)
    assert {g.checkpoint.parent.parent.name for g in chosen} == expected_runs and all(g.final for g in chosen)
    assert sample_generated(config, generators, 40).shape == (40, 28, 28)


def test_the_fit_ships_its_zero_shot_part_and_add_zero_shot_refuses_a_model_that_has_one(fitted, tmp_path, capsys):
    meta = load_detector(fitted.export).info.extra
    assert json.loads(meta[ZERO_SHOT_KEY])["part"] == "brightest_level"
    net, _ = load_detector_checkpoint(fitted.out / "detector.pt")
    assert json.loads(meta[ZERO_SHOT_KEY])["cut"] == float(net.zero_shot.cut) > 0
    again = cli_args(DetectorConfig(**{**vars(fitted), "export": tmp_path / "again.onnx"}))
    assert main(again + ["--add-zero-shot", str(fitted.export)]) == 1
    assert "has a zero_shot part already" in capsys.readouterr().err and not (tmp_path / "again.onnx").exists()


@pytest.fixture(scope="module")
def exported_stranger(fitted, tiny_zoo, detector_data_dir, tmp_path_factory):
    """The tiny zoo's run `b` exported as a stranger folder, after the detector was fitted; its
    unconditional run `c` beside it."""
    strangers = tmp_path_factory.mktemp("strangers")
    for run in ("b", "c"):
        export_run(ExportConfig(run_dir=tiny_zoo / run, out=strangers / run, data_dir=detector_data_dir,
                                parity_images=8))
    return strangers / "b"


def test_strangers_scores_each_part_and_their_minimum_on_an_exported_generator(fitted, exported_stranger, tmp_path,
                                                                              monkeypatch):
    monkeypatch.chdir(tmp_path)  # the table cites the JSON by its path from here
    out, doc = tmp_path / "strangers.json", tmp_path / "detector.md"
    doc.write_text("# Detector\n<!-- strangers -->\nold\n<!-- /strangers -->\nafter\n")
    config = DetectorConfig(**{**vars(fitted), "strangers_json": out, "strangers_doc": doc, "strangers_per_set": 40})
    assert main(cli_args(config) + ["--strangers", "--stranger-dirs", str(exported_stranger.parent)]) == 0
    results = json.loads(out.read_text())
    table = doc.read_text()
    assert "old" not in table and table.endswith("<!-- /strangers -->\nafter\n")
    assert "| `b` |" in table and "<!-- num strangers.json:strangers.b.detector.caught .3f -->" in table
    row = results["strangers"]["b"]
    assert results["real_images"] == 40 and row["images"] == 40 and row["architecture"] == "mlp"
    assert set(PARTS) | {"detector"} <= set(row)
    # 40 images, 4 of each class: the classes' shares average to the whole
    assert len(row["caught_by_class"]) == 10
    assert np.mean(list(row["caught_by_class"].values())) == pytest.approx(row["detector"]["caught"])
    assert "caught_by_class" not in results["strangers"]["c"]  # an unconditional generator is asked no class
    # the fraction of its images at or above the zero-shot part's floor, from the images themselves
    assert 0 <= row["reaching_floor"] <= 1 and row["top_levels"]["caught"] <= row["reaching_floor"]
    detected = load_detector(fitted.export)
    real = shuffled_test(config)[1][:40]
    # the whole detector's row is the runtime's own verdict on the same real images
    runtime_fpr = np.mean([p.label == "generated" for p in detected.detect_arrays(real)])
    assert row["detector"]["real_fpr"] == pytest.approx(runtime_fpr)
    assert row["detector"]["caught"] >= max(row[part]["caught"] for part in PARTS)  # the minimum catches more
    caught = row["detector"]["caught"]
    assert row["detector"]["caught_standard_error"] == pytest.approx((caught * (1 - caught) / 40) ** 0.5)
    assert row["held_out"] == (export_date(exported_stranger / "generator.onnx") > export_date(fitted.export))


def test_part_outputs_are_the_parts_whose_minimum_the_runtime_returns(fitted, detector_data_dir):
    test = load_fashion_mnist("test", detector_data_dir).images.numpy()[:50]
    parts = part_outputs(fitted.export)(test)
    runtime = [p.logit for p in load_detector(fitted.export).detect_arrays(test)]
    np.testing.assert_allclose(np.min([parts[p] for p in PARTS], 0), runtime, atol=1e-5)


def test_add_top_levels_joins_the_part_fitted_on_the_focus_generators_and_refuses_a_second(
        fitted, exported_stranger, tmp_path, capsys):
    from detector.metadata import contract_metadata, INPUT_NAME, REAL_LOGIT
    from train.data import CLASS_NAMES
    from train.run.onnx_file import write_checked

    class Constant(torch.nn.Module):  # a base detector that calls everything real (logit 5)
        def forward(self, image):
            return image.flatten(1)[:, 0] * 0 + 5

    base, out = tmp_path / "base.onnx", tmp_path / "joined.onnx"
    write_checked(Constant(), {INPUT_NAME: torch.zeros(2, 1, 28, 28)}, REAL_LOGIT, base,
                  contract_metadata("detector", CLASS_NAMES))
    config = DetectorConfig(**{**vars(fitted), "export": out, "focus": [str(exported_stranger)]})
    assert main(cli_args(config) + ["--focus", str(exported_stranger), "--add-top-levels", str(base)]) == 0
    about = json.loads(load_detector(out).info.extra[TOP_LEVELS_KEY])
    zero_shot = json.loads(load_detector(fitted.export).info.extra[ZERO_SHOT_KEY])  # the same real images' floor
    assert about["generators"] == ["b/onnx"] and about["floor"] == zero_shot["floor"]
    test = load_fashion_mnist("test", fitted.data_dir).images.numpy()
    logits = np.array([p.logit for p in load_detector(out).detect_arrays(test)])
    assert (logits <= 5).all() and set(part_logit_names(onnx.load(str(out)))) == {"fingerprint", "top_levels"}
    assert main(cli_args(DetectorConfig(**{**vars(config), "export": tmp_path / "again.onnx"}))
                + ["--focus", str(exported_stranger), "--add-top-levels", str(out)]) == 1
    assert "has a top_levels part already" in capsys.readouterr().err

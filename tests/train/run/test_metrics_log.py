"""metrics.jsonl: the one reader and writer every module uses."""
import json

import pytest

from train.errors import TrainError
from train.run import metrics_log, tensorboard_log


def test_rows_written_are_read_back(tmp_path):
    path = tmp_path / "metrics.jsonl"
    metrics_log.write_rows(path, [])
    rows = [metrics_log.step_row(s, 1, dict.fromkeys(metrics_log.STATISTICS, 0.5), 100.0)
            for s in (1, 2)]
    with metrics_log.appending(path) as append:
        for row in rows:
            append(row)
    fid = {"step": 2, "epoch": 1, "domain_fid": 3.0, "domain_fid_samples": 10, "domain_fid_seconds": 0.1}
    metrics_log.append_row(path, fid)
    assert metrics_log.read_rows(path) == rows + [fid]
    assert metrics_log.step_rows(rows + [fid]) == rows
    assert metrics_log.domain_rows(rows + [fid]) == [fid]
    assert set(rows[0]) == set(metrics_log.STEP_ROW)
    assert set(fid) < set(metrics_log.DOMAIN_FID_ROW)


@pytest.mark.parametrize("tail", ['{"step": 3, "loss', "{"])
def test_a_torn_last_line_is_dropped(tmp_path, tail):
    path = tmp_path / "metrics.jsonl"
    path.write_text("".join(json.dumps({"step": s}) + "\n" for s in (1, 2)) + tail)
    assert metrics_log.read_rows(path) == [{"step": 1}, {"step": 2}]
    metrics_log.truncate_after(path, 1)
    assert path.read_text() == json.dumps({"step": 1}) + "\n"


def test_a_damaged_line_before_the_end_is_an_error(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"step": 1}\n{"st\n{"step": 3}\n')
    with pytest.raises(TrainError, match=r"line 2: not a JSON row"):
        metrics_log.read_rows(path)


def test_a_missing_file_has_no_rows(tmp_path):
    assert metrics_log.read_rows(tmp_path / "metrics.jsonl") == []


def test_tensorboard_logs_the_step_statistics_but_the_class_accuracy():
    assert set(tensorboard_log.SCALARS) == set(metrics_log.STATISTICS) - {"class_accuracy"}


@pytest.mark.parametrize("rows, minutes", [
    ([], {}),
    ([{"step": 1, "loss_d": 0, "images_per_s": 1.0}, {"step": 2, "loss_d": 0, "images_per_s": 0.5}],
     {1: 1.0, 2: 3.0}),
    ([{"step": 3, "loss_d": 0, "images_per_s": 1.0}], {3: 3.0}),  # --log-every 3: 3 steps at that speed
    ([{"step": 1, "loss_d": 0, "images_per_s": 1.0}, {"step": 1, "epoch": 1, "domain_fid": 5.0}],
     {1: 1.0})])
def test_training_minutes_adds_up_each_step_at_its_speed(rows, minutes):
    """A batch of 60 images at 1 image/s is one minute."""
    assert metrics_log.training_minutes(rows, batch_size=60) == pytest.approx(minutes)

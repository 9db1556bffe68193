import json
import os
import re
from pathlib import Path

import pytest

from train.errors import TrainError
from train.run import rundir
from train.run.rundir import RunDir


def test_paths_of_a_run(tmp_path):
    run = RunDir(tmp_path)
    assert run.latest == tmp_path / "checkpoints" / "latest.pt"
    assert run.epoch_checkpoint(3) == tmp_path / "checkpoints" / "epoch_003.pt"
    assert run.sample_grid(12) == tmp_path / "samples" / "epoch_012.png"


def test_prepare_creates_the_folders(tmp_path):
    run = RunDir(tmp_path / "a" / "b")
    run.prepare(resume=False)
    assert run.checkpoints.is_dir() and run.samples.is_dir()


def test_prepare_refuses_to_start_over_an_existing_run(tmp_path):
    run = RunDir(tmp_path)
    run.checkpoints.mkdir()
    run.latest.write_bytes(b"")
    with pytest.raises(TrainError, match="already holds a run"):
        run.prepare(resume=False)
    run.prepare(resume=True)


def test_prepare_refuses_to_resume_without_a_checkpoint(tmp_path):
    with pytest.raises(TrainError, match="--resume given but .*latest.pt does not exist"):
        RunDir(tmp_path).prepare(resume=True)


def test_prepare_refuses_a_full_disk(tmp_path, monkeypatch):
    monkeypatch.setattr(rundir.shutil, "disk_usage", lambda path: type("U", (), {"free": 2**20})())
    with pytest.raises(TrainError, match="only 1 MiB free"):
        RunDir(tmp_path).prepare(resume=False)


def test_prepare_reports_a_run_dir_that_cannot_be_created(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(TrainError, match="cannot create run directory"):
        RunDir(tmp_path / "file" / "run").prepare(resume=False)


def test_read_metrics_of_a_new_run_is_empty(tmp_path):
    assert RunDir(tmp_path).read_metrics() == []


@pytest.mark.parametrize("last_step, kept", [(0, []), (2, [1, 2]), (3, [1, 2, 3]), (9, [1, 2, 3, 4])])
def test_truncate_metrics_drops_rows_after_the_checkpoint(tmp_path, last_step, kept):
    run = RunDir(tmp_path)
    run.metrics.write_text("".join(json.dumps({"step": s, "loss_d": s / 10}) + "\n"
                                   for s in (1, 2, 3, 4)) + "\n")
    run.truncate_metrics(last_step)
    assert [row["step"] for row in run.read_metrics()] == kept
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.jsonl"]


def write_rows(run, steps, tail=""):
    run.metrics.write_text("".join(json.dumps({"step": s, "loss_d": s / 10}) + "\n"
                                   for s in steps) + tail)


@pytest.mark.parametrize("tail", ['{"step": 4, "loss', "{", '{"step": 4, "loss_d": 0.4}'])
def test_a_last_row_cut_short_by_a_kill_is_dropped(tmp_path, tail):
    run = RunDir(tmp_path)
    write_rows(run, (1, 2, 3), tail)
    complete = tail.endswith("}")  # only the newline was lost: the row itself is whole
    assert [row["step"] for row in run.read_metrics()] == [1, 2, 3] + [4] * complete
    run.truncate_metrics(9)
    assert run.metrics.read_text().endswith("}\n")
    assert [row["step"] for row in run.read_metrics()] == [1, 2, 3] + [4] * complete


def test_a_damaged_row_before_the_end_is_an_error_naming_the_line(tmp_path):
    run = RunDir(tmp_path)
    write_rows(run, (1,), '{"step": 2, "lo\n' + json.dumps({"step": 3}) + "\n")
    with pytest.raises(TrainError, match=r"metrics.jsonl, line 2: not a JSON row"):
        run.read_metrics()


def test_prepare_removes_checkpoint_temp_files_left_by_a_kill(tmp_path):
    run = RunDir(tmp_path)
    run.checkpoints.mkdir()
    run.latest.write_bytes(b"the checkpoint")
    stale = run.checkpoints / ".latest.pt.k2j3h4.tmp"
    stale.write_bytes(b"half a checkpoint")
    run.prepare(resume=True)
    assert sorted(p.name for p in run.checkpoints.iterdir()) == ["latest.pt"]
    assert run.latest.read_bytes() == b"the checkpoint"


@pytest.mark.parametrize("folder", ["", "checkpoints", "samples"])
def test_prepare_refuses_a_folder_it_cannot_write(tmp_path, monkeypatch, folder):
    """Checked up front, not at the first save an epoch later. As root (which may write
    anywhere) os.access is made to give the answer anyone else would get."""
    run = RunDir(tmp_path / "run")
    blocked = run.root / folder
    blocked.mkdir(parents=True)
    blocked.chmod(0o500)
    if os.access(blocked, os.W_OK):
        real_access = os.access
        monkeypatch.setattr(rundir.os, "access", lambda path, mode: (
            Path(path) != blocked and real_access(path, mode)))
    try:
        with pytest.raises(TrainError, match=f"cannot create run directory|{re.escape(str(blocked))} is not"):
            run.prepare(resume=False)
    finally:
        blocked.chmod(0o700)

"""`python -m train`: two subprocess runs (each costs ~3 s of imports), the rest in-process."""
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import train.__main__ as cli
from train.gan.checkpoint import load_checkpoint
from train.run.rundir import RunDir

REPO = Path(__file__).resolve().parents[2]
SMALL = ["--device", "cpu", "--batch-size", "16", "--width", "8", "--latent-dim", "8",
         "--no-progress"]


def python_m_train(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "train", *map(str, args)], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout)


def test_help_in_a_subprocess():
    result = python_m_train("--help")
    assert result.returncode == 0, result.stderr
    assert "usage: python -m train" in result.stdout and "--max-steps" in result.stdout


def test_smoke_run_in_a_subprocess(tmp_path, fmnist_dir):
    run_dir = tmp_path / "run"
    result = python_m_train("--data-dir", fmnist_dir, "--run-dir", run_dir, "--max-steps", 2, *SMALL)
    assert result.returncode == 0, result.stderr
    assert load_checkpoint(RunDir(run_dir).latest)["step"] == 2
    assert (run_dir / "pairs.png").is_file() and (run_dir / "loss_curves.png").is_file()


def test_main_resume_continues_with_the_saved_settings(tmp_path, fmnist_dir):
    run_dir = tmp_path / "run"
    assert cli.main(["--data-dir", str(fmnist_dir), "--run-dir", str(run_dir), "--max-steps", "2",
                     *SMALL]) == 0
    # Only --resume and the new step limit: width 8, batch 16 and the data dir come from config.json.
    assert cli.main(["--run-dir", str(run_dir), "--resume", "--max-steps", "3", "--device", "cpu",
                     "--no-progress"]) == 0
    checkpoint = load_checkpoint(RunDir(run_dir).latest)
    assert checkpoint["step"] == 3
    assert (checkpoint["config"]["width"], checkpoint["config"]["batch_size"]) == (8, 16)
    assert checkpoint["config"]["data_dir"] == str(fmnist_dir)


def test_main_reports_train_errors_with_exit_1(tmp_path, capsys):
    assert cli.main(["--run-dir", str(tmp_path), "--resume", *SMALL]) == 1
    assert capsys.readouterr().err.startswith("train: --resume given but")


def test_main_reports_an_interruption_with_exit_130(tmp_path, monkeypatch, capsys):
    def interrupted(config):
        raise KeyboardInterrupt("stopped at step 3; checkpoint saved to x")

    monkeypatch.setattr(cli, "train", interrupted)
    assert cli.main(["--run-dir", str(tmp_path), *SMALL]) == 130
    err = capsys.readouterr().err
    assert "interrupted: stopped at step 3" in err and "--resume" in err


def test_main_rejects_a_bad_device_with_exit_2(capsys):
    with pytest.raises(SystemExit) as exit:
        cli.main(["--device", "tpu"])
    assert exit.value.code == 2
    assert "invalid choice: 'tpu'" in capsys.readouterr().err


def test_main_reports_a_full_disk_mid_run_with_exit_1(tmp_path, fmnist_dir, monkeypatch, capsys):
    def disk_full(obj, f, *args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", disk_full)
    run_dir = tmp_path / "run"
    assert cli.main(["--data-dir", str(fmnist_dir), "--run-dir", str(run_dir), "--max-steps", "1",
                     *SMALL]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"train: cannot write checkpoint {run_dir / 'checkpoints'}")
    assert "No space left on device" in err and "Traceback" not in err
    assert [p.name for p in (run_dir / "checkpoints").iterdir()] == []  # no half-written file

import dataclasses
import json
import os
import re
from pathlib import Path

import pytest
from argparse_dataclass import ArgumentParser

from train.__main__ import main
from train.errors import TrainError
from train.gan.config import (as_flags, DCGAN_RECIPE, DEFAULT_CHANGES, fields_given, RECIPE_CHANGES, resume_config,
                              TrainConfig)

ALL_FLAGS = ("--epochs 3 --max-steps 5 --run-dir X --data-dir Y --device cpu --seed 1 --resume "
             "--batch-size 16 --lr-g 1e-3 --lr-d 2e-3 --beta1 0.4 --beta2 0.9 --latent-dim 8")


def parse(args: str) -> TrainConfig:
    return ArgumentParser(TrainConfig).parse_args(args.split())


def test_parser_gives_typed_fields():
    config = parse(ALL_FLAGS)
    assert config == TrainConfig(epochs=3, max_steps=5, run_dir=Path("X"), data_dir=Path("Y"),
                                 device="cpu", seed=1, resume=True, batch_size=16, lr_g=1e-3,
                                 lr_d=2e-3, beta1=0.4, beta2=0.9, latent_dim=8)
    assert isinstance(config.run_dir, Path) and isinstance(config.data_dir, Path)
    assert type(config.max_steps) is int and type(config.lr_g) is float
    assert config.resume is True


def test_parser_defaults():
    config = parse("")
    assert config == TrainConfig()
    assert config.data_dir is None and config.max_steps is None and config.resume is False
    assert config.run_dir == Path("runs/fmnist-cgan") and config.progress is True


def test_no_progress_flag_turns_progress_off():
    assert parse("--no-progress").progress is False


def test_help_lists_every_field(capsys):
    with pytest.raises(SystemExit) as exit:
        ArgumentParser(TrainConfig, prog="python -m train").parse_args(["--help"])
    assert exit.value.code == 0
    help_text = capsys.readouterr().out
    for f in dataclasses.fields(TrainConfig):
        flag = f.name.replace("_", "-")
        # A bool that defaults to True is switched off with --no-NAME.
        expected = f"--no-{flag}" if f.default is True else f"--{flag}"
        assert expected in help_text, expected


@pytest.mark.parametrize("args", ["--device tpu", "--epochs three", "--max-steps 1.5",
                                  "--no-such-flag 1"])
def test_invalid_flag_exits_2(capsys, args):
    with pytest.raises(SystemExit) as exit:
        parse(args)
    assert exit.value.code == 2
    assert "error" in capsys.readouterr().err


@pytest.mark.parametrize("config", [
    TrainConfig(),
    TrainConfig(run_dir=Path("a/b"), data_dir=Path("/data/fm"), max_steps=7, resume=True,
                lr_g=1e-3, device="cpu", progress=False),
])
def test_config_json_round_trip(tmp_path, config):
    config.save(tmp_path / "config.json")
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved["run_dir"] == str(config.run_dir)
    assert TrainConfig.from_json(saved) == config


def test_from_json_ignores_unknown_keys():
    values = {**TrainConfig(epochs=4).to_json(), "from_a_newer_version": 1}
    assert TrainConfig.from_json(values) == TrainConfig(epochs=4)


def test_from_json_reads_a_field_older_runs_lack_as_what_they_trained_with():
    """Runs written before --spectral-norm existed trained without it, whatever today's default."""
    assert not TrainConfig.from_json({"epochs": 4}).spectral_norm
    assert TrainConfig.from_json({"spectral_norm": True}).spectral_norm


def test_dcgan_recipe_plus_the_default_changes_is_the_default():
    values = dict(DCGAN_RECIPE)
    for name in DEFAULT_CHANGES:
        values.update(RECIPE_CHANGES[name])
    values.pop("epochs")
    assert TrainConfig(**values) == TrainConfig()


@pytest.mark.parametrize("values, flags", [
    ({"loss": "ns", "lr_g": 0.0002}, ["--loss", "ns", "--lr-g", "0.0002"]),
    ({"spectral_norm": True}, ["--spectral-norm"]),
    ({"spectral_norm": False, "progress": False}, ["--no-progress"])])
def test_as_flags_gives_the_arguments_that_set_the_values(values, flags):
    assert as_flags(values) == flags
    config = ArgumentParser(TrainConfig).parse_args(flags)
    assert all(getattr(config, k) == v for k, v in values.items())


def test_as_flags_refuses_an_unknown_field():
    with pytest.raises(TrainError, match="'colour' is not a TrainConfig field"):
        as_flags({"colour": "red"})


@pytest.fixture
def saved_run(tmp_path):
    """A run directory whose config.json was written by a run started with non-default flags."""
    TrainConfig(run_dir=tmp_path, epochs=5, batch_size=16, width=8, lr_g=1e-3,
                data_dir=Path("/old/data")).save(tmp_path / "config.json")
    return tmp_path


def test_resume_config_keeps_saved_settings_and_applies_changed_flags(saved_run):
    merged = resume_config(TrainConfig(run_dir=saved_run, resume=True, epochs=7, seed=3))
    assert merged == TrainConfig(run_dir=saved_run, resume=True, epochs=7, seed=3, batch_size=16,
                                 width=8, lr_g=1e-3, data_dir=Path("/old/data"))


def test_resume_config_with_resume_alone_continues_the_saved_run(saved_run):
    merged = resume_config(TrainConfig(run_dir=saved_run, resume=True))
    assert merged == TrainConfig(run_dir=saved_run, resume=True, epochs=5, batch_size=16,
                                 width=8, lr_g=1e-3, data_dir=Path("/old/data"))


def test_resume_config_from_parsed_flags(saved_run):
    given = parse(f"--run-dir {saved_run} --resume --data-dir /new/data --max-steps 9")
    merged = resume_config(given)
    assert (merged.epochs, merged.batch_size, merged.width) == (5, 16, 8)
    assert merged.data_dir == Path("/new/data") and merged.max_steps == 9


@pytest.mark.parametrize("argv, given", [
    ("--run-dir r --resume", {"run_dir", "resume"}),
    ("--resume --batch-size 128 --ema 0.999", {"resume", "batch_size", "ema"}),  # at their defaults
    ("--no-progress --epoch 3", {"progress", "epochs"})])                           # --epoch: argparse's prefix
def test_fields_given_are_the_flags_on_the_command_line_whatever_their_values(argv, given):
    assert fields_given(argv.split()) == given


def test_resume_applies_a_flag_given_at_its_default_value(saved_run):
    argv = f"--run-dir {saved_run} --resume --width 32 --epochs 9"
    merged = resume_config(parse(argv), fields_given(argv.split()))
    assert (merged.width, merged.epochs, merged.batch_size) == (32, 9, 16)  # width 32 is the default


@pytest.mark.parametrize("resume, has_config", [(False, True), (True, False)])
def test_resume_config_leaves_config_alone_without_resume_or_saved_config(tmp_path, resume,
                                                                           has_config):
    if has_config:
        TrainConfig(run_dir=tmp_path, epochs=5).save(tmp_path / "config.json")
    given = TrainConfig(run_dir=tmp_path, resume=resume, epochs=9)
    assert resume_config(given) == given


def test_save_is_whole_or_nothing(tmp_path, monkeypatch):
    """A write that fails half-way (disk full, or a kill) leaves the old config.json, which
    `--resume` must be able to read back."""
    path = tmp_path / "config.json"
    TrainConfig(epochs=3).save(path)
    before = path.read_text()

    def disk_full(fd):  # the new text is in the temporary file; the disk fills as it is flushed
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space left"):
        TrainConfig(epochs=4).save(path)
    monkeypatch.undo()
    assert path.read_text() == before and json.loads(before)["epochs"] == 3
    assert [p.name for p in tmp_path.iterdir()] == ["config.json"]


@pytest.mark.parametrize("content", ['{"epochs": 5', "[1, 2]", ""])
def test_resume_config_names_a_damaged_config_json(tmp_path, content):
    (tmp_path / "config.json").write_text(content)
    with pytest.raises(TrainError, match="config.json is not a readable run config"):
        resume_config(TrainConfig(run_dir=tmp_path, resume=True))


def test_main_reports_a_damaged_config_json_with_exit_1(tmp_path, capsys):
    (tmp_path / "config.json").write_text("{")
    assert main(["--run-dir", str(tmp_path), "--resume"]) == 1
    assert "config.json is not a readable run config" in capsys.readouterr().err


@pytest.mark.parametrize("field, value, message", [
    ("epochs", 0, "--epochs must be at least 1, not 0"),
    ("batch_size", -5, "--batch-size must be at least 1, not -5"),
    ("log_every", 0, "--log-every must be at least 1, not 0"),
    ("max_steps", 0, "--max-steps must be at least 1, not 0"),
    ("critic_steps", 0, "--critic-steps must be at least 1, not 0"),
    ("domain_fid_every", -1, "--domain-fid-every must be 0 (off) or more, not -1"),
    ("max_minutes", 0.0, "--max-minutes must be positive, not 0.0"),
    ("ema", 1.0, "--ema must be in [0, 1) (0 disables), not 1.0")])
def test_check_refuses_values_that_cannot_train_naming_them(field, value, message):
    with pytest.raises(TrainError, match=re.escape(message)):
        TrainConfig(**{field: value}).check()


def test_check_accepts_the_defaults():
    TrainConfig().check()

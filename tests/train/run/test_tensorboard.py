"""--tensorboard (train/run/tensorboard_log.py): event files beside metrics.jsonl."""
import builtins
import sys

import pytest

from train.errors import TrainError
from train.gan.trainer import train
from train.run import tensorboard_log

pytest.importorskip("tensorboard")
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402

TAGS = {f"train/{name}" for name in tensorboard_log.SCALARS}


def read_events(folder) -> EventAccumulator:
    events = EventAccumulator(str(folder), size_guidance={"scalars": 0, "images": 0})
    events.Reload()
    return events


def test_three_steps_write_scalars_and_grid(make_config):
    config = make_config(max_steps=3, tensorboard=True)
    train(config)
    folder = config.run_dir / "tensorboard"
    assert list(folder.glob("events.out.tfevents.*"))
    events = read_events(folder)
    assert set(events.Tags()["scalars"]) == TAGS
    for tag in TAGS:
        assert [e.step for e in events.Scalars(tag)] == [1, 2, 3]
    assert [e.step for e in events.Images("samples")] == [3]


def test_domain_fid_rows_become_a_scalar(tmp_path):
    log = tensorboard_log.TensorBoardLog(tmp_path)
    log.log_rows([{"step": 4, "epoch": 1, "loss_d": 1.0, "loss_g": 2.0},
                  {"step": 4, "epoch": 1, "domain_fid": 3.5, "domain_fid_samples": 10}])
    log.close()
    events = read_events(tmp_path / "tensorboard")
    assert set(events.Tags()["scalars"]) == {"train/loss_d", "train/loss_g", "train/domain_fid"}
    assert events.Scalars("train/domain_fid")[0].value == 3.5


def test_no_flag_no_folder_and_missing_package_is_a_train_error(make_config, tmp_path, monkeypatch):
    config = make_config(max_steps=1)
    assert tensorboard_log.open_log(config, is_main=True) is None
    config.tensorboard = True
    assert tensorboard_log.open_log(config, is_main=False) is None
    real_import = builtins.__import__

    def no_tensorboard(name, *args, **kwargs):
        if name.startswith("torch.utils.tensorboard"):
            raise ImportError("No module named 'tensorboard'")
        return real_import(name, *args, **kwargs)
    monkeypatch.delitem(sys.modules, "torch.utils.tensorboard", raising=False)
    monkeypatch.setattr(builtins, "__import__", no_tensorboard)
    with pytest.raises(TrainError, match="--tensorboard needs the tensorboard package"):
        tensorboard_log.open_log(config, is_main=True)

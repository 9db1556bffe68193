import pytest
import torch

from train.gan.checkpoint import (CHECKPOINT_VERSION, check_compatible, load_checkpoint,
                              networks_from_checkpoint, save_checkpoint)
from train.errors import CheckpointError
from train.gan.config import TrainConfig


def make_checkpoint(step: int = 1, width: int = 8, latent_dim: int = 8) -> dict:
    torch.manual_seed(step)
    config = TrainConfig(width=width, latent_dim=latent_dim)
    generator, discriminator = config.networks(10)
    return {"generator": generator.state_dict(), "discriminator": discriminator.state_dict(),
            "config": config.to_json(), "step": step,
            "class_names": [str(c) for c in range(10)]}


def test_save_then_load_round_trip(tmp_path):
    checkpoint = make_checkpoint(step=7)
    save_checkpoint(checkpoint, tmp_path / "sub" / "latest.pt")
    loaded = load_checkpoint(tmp_path / "sub" / "latest.pt")
    assert loaded["step"] == 7 and loaded["version"] == CHECKPOINT_VERSION
    assert loaded["config"] == checkpoint["config"]
    for name, tensor in checkpoint["generator"].items():
        assert torch.equal(loaded["generator"][name], tensor), name


def test_save_replaces_and_leaves_no_temp_files(tmp_path):
    path = tmp_path / "latest.pt"
    save_checkpoint(make_checkpoint(step=1), path)
    save_checkpoint(make_checkpoint(step=2), path)
    assert load_checkpoint(path)["step"] == 2
    assert [p.name for p in tmp_path.iterdir()] == ["latest.pt"]


@pytest.mark.parametrize("error, raised", [
    (OSError(28, "No space left on device"), CheckpointError),
    (RuntimeError("PytorchStreamWriter failed writing file data/0"), CheckpointError),
    (KeyboardInterrupt(), KeyboardInterrupt)])
def test_failed_save_keeps_the_old_file(tmp_path, monkeypatch, error, raised):
    path = tmp_path / "latest.pt"
    save_checkpoint(make_checkpoint(step=1), path)
    old_bytes = path.read_bytes()

    def failing_save(obj, f, *args, **kwargs):
        f.write(b"half a checkpoint")
        raise error

    monkeypatch.setattr(torch, "save", failing_save)
    with pytest.raises(raised) as caught:
        save_checkpoint(make_checkpoint(step=2), path)
    if raised is CheckpointError:  # a full disk mid-run: a message, not a traceback
        assert str(caught.value) == f"cannot write checkpoint {path}: {error}"
    monkeypatch.undo()
    assert path.read_bytes() == old_bytes
    assert load_checkpoint(path)["step"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["latest.pt"]


def _write_bytes(path):
    path.write_bytes(b"not a checkpoint at all")


def _write_truncated(path):
    save_checkpoint(make_checkpoint(), path)
    path.write_bytes(path.read_bytes()[:1000])


def _write_foreign_dict(path):
    torch.save({"weights": torch.zeros(3)}, path)


def _write_old_version(path):
    torch.save({**make_checkpoint(), "version": CHECKPOINT_VERSION + 1}, path)


def _write_pickled_object(path):
    torch.save(TrainConfig(), path)  # needs weights_only=False: refused


@pytest.mark.parametrize("write", [None, _write_bytes, _write_truncated, _write_foreign_dict,
                                   _write_old_version, _write_pickled_object])
def test_load_checkpoint_refuses_missing_or_corrupt_files(tmp_path, write):
    path = tmp_path / "latest.pt"
    if write:
        write(path)
    with pytest.raises(CheckpointError) as error:
        load_checkpoint(path)
    assert str(path) in str(error.value)


@pytest.mark.parametrize("field, value", [("width", 16), ("latent_dim", 4)])
def test_check_compatible_names_the_differing_field(field, value):
    config = TrainConfig(width=8, latent_dim=8)
    setattr(config, field, value)
    with pytest.raises(CheckpointError, match=f"{field}: checkpoint 8, now {value}"):
        check_compatible(make_checkpoint(), config, "latest.pt")


def test_check_compatible_accepts_other_non_architecture_changes():
    check_compatible(make_checkpoint(), TrainConfig(width=8, latent_dim=8, lr_g=1.0, epochs=99),
                     "latest.pt")


def test_networks_from_checkpoint_rebuilds_the_same_networks(tmp_path):
    checkpoint = make_checkpoint(step=3, width=4, latent_dim=6)
    save_checkpoint(checkpoint, tmp_path / "c.pt")
    generator, discriminator, config = networks_from_checkpoint(load_checkpoint(tmp_path / "c.pt"))
    assert (config.width, config.latent_dim) == (4, 6)
    assert not generator.training and not discriminator.training
    trained = TrainConfig(width=4, latent_dim=6).networks(10)[1]
    trained.load_state_dict(checkpoint["discriminator"])
    images = torch.rand(5, 1, 28, 28) * 2 - 1
    for got, want in zip(discriminator(images), trained.eval()(images)):
        torch.testing.assert_close(got, want)
    assert not any("parametrizations" in name for name in discriminator.state_dict())  # folded


def test_networks_from_checkpoint_rejects_weights_that_do_not_fit_its_config():
    checkpoint = make_checkpoint(width=8)
    checkpoint["config"]["width"] = 16
    message = "the gan checkpoint of run runs/fmnist-cgan holds weights that do not fit its own config: size mismatch"
    with pytest.raises(CheckpointError, match=message) as raised:
        networks_from_checkpoint(checkpoint)
    assert "\n" not in str(raised.value)  # torch's list of every mismatched tensor, cut to its first


def test_networks_from_a_vae_checkpoint_say_a_gan_run_is_needed():
    checkpoint = {**make_checkpoint(), "kind": "vae"}
    del checkpoint["discriminator"]
    with pytest.raises(CheckpointError, match="the vae checkpoint of run runs/fmnist-cgan has no discriminator: "
                                              "this needs a GAN run's checkpoint"):
        networks_from_checkpoint(checkpoint)

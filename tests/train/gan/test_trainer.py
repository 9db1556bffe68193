import json
import math
import shutil
import signal

import pytest
import torch
from torch import nn

from train.data import CLASS_NAMES, ImageSet
from train.errors import CheckpointError, DivergenceError, TrainError
from train.gan import trainer
from train.gan.checkpoint import load_checkpoint, save_checkpoint, to_checkpoint
from train.gan.config import TrainConfig
from train.gan.losses import discriminator_loss
from train.gan.networks import build_networks
from train.run.rundir import RunDir
from train.gan.trainer import epoch_batches, new_state, pick_device, total_steps, train, train_step

METRIC_KEYS = {"step", "epoch", "loss_d", "loss_g", "d_real", "d_fake", "d_accuracy",
               "class_accuracy", "images_per_s"}
TIMING_KEYS = {"images_per_s"}
CPU = torch.device("cpu")


def metric_rows(run_dir) -> list[dict]:
    return [{k: v for k, v in row.items() if k not in TIMING_KEYS}
            for row in RunDir(run_dir).read_metrics()]


def assert_same_tensors(a: dict, b: dict):
    assert a.keys() == b.keys()
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=0, atol=1e-6, msg=name)


# --- small pieces --------------------------------------------------------------------------

@pytest.mark.parametrize("epochs, max_steps, expected", [(2, None, 8), (2, 5, 5), (2, 100, 8),
                                                         (3, 0, 0)])
def test_total_steps(tiny, epochs, max_steps, expected):
    config = tiny.config("run", None, epochs=epochs, max_steps=max_steps)
    assert total_steps(config, steps_per_epoch=4) == expected


def _image_set(n: int) -> ImageSet:
    return ImageSet(torch.zeros(n, 28, 28, dtype=torch.uint8), torch.zeros(n, dtype=torch.long),
                    CLASS_NAMES)


def test_epoch_batches_are_full_distinct_and_replayable(tiny):
    config = tiny.config("run", None, batch_size=16, seed=3)
    batches = epoch_batches(_image_set(70), config, epoch=1, device=CPU)
    assert batches.shape == (4, 16)  # the 6 left over are dropped
    assert len(set(batches.flatten().tolist())) == 64 and batches.max() < 70
    assert torch.equal(batches, epoch_batches(_image_set(70), config, epoch=1, device=CPU))
    assert not torch.equal(batches, epoch_batches(_image_set(70), config, epoch=2, device=CPU))
    config.seed = 4
    assert not torch.equal(batches, epoch_batches(_image_set(70), config, epoch=1, device=CPU))


@pytest.mark.parametrize("name, cuda, expected", [("cpu", True, "cpu"), ("auto", False, "cpu"),
                                                  ("auto", True, "cuda"), ("cuda", True, "cuda")])
def test_pick_device(monkeypatch, name, cuda, expected):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    assert pick_device(name) == torch.device(expected)


def test_pick_device_refuses_missing_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(TrainError, match="no CUDA device"):
        pick_device("cuda")


# --- optimisation direction ----------------------------------------------------------------

def test_discriminator_step_separates_white_real_from_black_fake():
    torch.manual_seed(0)
    _, discriminator = build_networks(latent_dim=8, width=8)
    optimizer = torch.optim.Adam(discriminator.parameters(), 2e-4, betas=(0.5, 0.999))
    real, fake = torch.ones(16, 1, 28, 28), -torch.ones(16, 1, 28, 28)
    labels = torch.arange(16) % 10

    def mean_logits():
        with torch.no_grad():
            return discriminator(real)[0].mean().item(), discriminator(fake)[0].mean().item()

    history, losses = [mean_logits()], []
    for _ in range(4):
        real_logit, class_logits = discriminator(real)
        loss = discriminator_loss(real_logit, discriminator(fake)[0], class_logits, labels, 1.0)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        history.append(mean_logits())
    (real_before, fake_before), (real_after, fake_after) = history[0], history[1]
    assert real_after > real_before and fake_after < fake_before
    assert all(later < earlier for earlier, later in zip(losses, losses[1:])), losses


class BlackGenerator(nn.Module):
    """Always draws an all-black image, whatever the noise and label."""
    num_classes = 10

    def __init__(self):
        super().__init__()
        self.unused = nn.Parameter(torch.zeros(()))

    def forward(self, noise, labels):
        return torch.full((len(labels), 1, 28, 28), -1.0) + 0 * self.unused


def test_train_step_teaches_the_discriminator_real_from_generated(tiny):
    config = tiny.config("run", None)
    state = new_state(config, num_classes=10, device=CPU)
    state.generator = BlackGenerator()
    real, labels = torch.ones(16, 1, 28, 28), torch.arange(16) % 10
    stats = [train_step(state, real, labels, config, trainer.make_autocast(CPU)) for _ in range(4)]
    assert state.step == 4
    assert all(stats[i + 1]["d_real"] > stats[i]["d_real"] for i in range(3)), stats
    assert all(stats[i + 1]["d_fake"] < stats[i]["d_fake"] for i in range(3)), stats
    assert stats[-1]["d_accuracy"] == 1.0


@pytest.mark.parametrize("loss, zero_logit_loss_d, zero_logit_loss_g", [
    ("ns", 2 * math.log(2) + math.log(10), math.log(2) + math.log(10)),
    ("hinge", 2 + math.log(10), math.log(10))])
def test_train_step_updates_both_networks_and_reports_its_statistics(tiny, loss, zero_logit_loss_d,
                                                                     zero_logit_loss_g):
    config = tiny.config("run", None)
    config.loss = loss
    state = new_state(config, num_classes=10, device=CPU)
    before = [p.clone() for p in (state.generator.project.weight, state.discriminator.real_head.weight)]
    real, labels = torch.rand(16, 1, 28, 28) * 2 - 1, torch.arange(16) % 10
    stats = train_step(state, real, labels, config, trainer.make_autocast(CPU))
    assert set(stats) == METRIC_KEYS - {"step", "epoch", "images_per_s"}
    assert all(0 <= stats[k] <= 1 for k in ("d_real", "d_fake", "d_accuracy", "class_accuracy"))
    # At DCGAN's initialisation every logit is near 0: the losses are near their zero-logit values.
    assert stats["loss_d"] == pytest.approx(zero_logit_loss_d, abs=0.05)
    assert stats["loss_g"] == pytest.approx(zero_logit_loss_g, abs=0.05)
    assert not torch.equal(before[0], state.generator.project.weight)
    assert not torch.equal(before[1], state.discriminator.real_head.weight)


# --- whole runs ----------------------------------------------------------------------------

def test_five_step_run_writes_every_file(make_config, tiny):
    config = make_config(max_steps=5)
    train(config)
    root = config.run_dir
    for name in ("config.json", "metrics.jsonl", "checkpoints/latest.pt", "checkpoints/epoch_001.pt",
                 "samples/epoch_001.png", "samples/epoch_002.png", "loss_curves.png", "pairs.png"):
        assert (root / name).is_file(), name
    assert not (root / "checkpoints" / "epoch_002.pt").exists()  # epoch 2 is unfinished
    assert sorted(p.name for p in (root / "checkpoints").iterdir()) == ["epoch_001.pt", "latest.pt"]
    assert json.loads((root / "config.json").read_text()) == config.to_json()
    rows = RunDir(root).read_metrics()
    assert [row["step"] for row in rows] == [1, 2, 3, 4, 5]
    assert [row["epoch"] for row in rows] == [1, 1, 1, 1, 2]
    assert all(set(row) == METRIC_KEYS and all(map(math.isfinite, row.values())) for row in rows)
    assert load_checkpoint(root / "checkpoints" / "epoch_001.pt")["step"] == tiny.steps_per_epoch
    latest = load_checkpoint(root / "checkpoints" / "latest.pt")
    assert latest["step"] == 5 and latest["config"] == config.to_json()


def test_log_every_thins_the_metrics(make_config):
    config = make_config(max_steps=5, log_every=2)
    train(config)
    assert [row["step"] for row in RunDir(config.run_dir).read_metrics()] == [2, 4]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, fmnist_dir, tiny):
    """A 6-step run (one and a half epochs) without a break; returns its run directory."""
    run_dir = tmp_path_factory.mktemp("uninterrupted")
    train(tiny.config(run_dir, fmnist_dir, max_steps=6))
    return run_dir



def test_the_noise_rng_lives_on_the_cpu_so_a_checkpoint_resumes_on_any_device(make_config):
    config = make_config(max_steps=1)
    assert new_state(config, 10, torch.device("cpu")).noise_rng.device == torch.device("cpu")
    train(config)
    latest = RunDir(config.run_dir).latest
    checkpoint = load_checkpoint(latest)
    save_checkpoint({**checkpoint, "noise_rng": torch.zeros(16, dtype=torch.uint8)}, latest)  # a CUDA generator's size
    with pytest.raises(CheckpointError, match="noise RNG state is not a CPU generator's"):
        train(make_config(max_steps=2, resume=True))


@pytest.mark.skipif(not (shutil.which("g++") or shutil.which("clang++")), reason="--compile needs a C++ compiler")
def test_compile_trains_the_same_networks_and_saves_plain_checkpoints(make_config, tmp_path):
    """--compile changes how each step runs, not what it computes: 3 compiled steps end where 3
    plain ones do (within reduction-order noise, well under one Adam step of lr 2e-4), and the
    checkpoint, with the same keys, resumes without --compile."""
    train(make_config(run_dir=tmp_path / "plain", max_steps=3))
    plain = load_checkpoint(RunDir(tmp_path / "plain").latest)
    config = make_config(max_steps=3, compile=True)
    torch._dynamo.reset()
    torch._dynamo.utils.counters.clear()
    train(config)
    assert torch._dynamo.utils.counters["stats"]["unique_graphs"] >= 2  # G's and D's, at least
    compiled = load_checkpoint(RunDir(config.run_dir).latest)
    for part in ("generator", "discriminator", "ema"):
        assert compiled[part].keys() == plain[part].keys()
        for name, tensor in plain[part].items():
            torch.testing.assert_close(compiled[part][name], tensor, rtol=0, atol=5e-5, msg=name)
    assert train(make_config(max_steps=4, resume=True)).step == 4


def test_compile_refuses_the_gradient_penalty_before_anything_is_written(make_config):
    config = make_config(max_steps=1, compile=True, loss="wgan-gp")
    with pytest.raises(TrainError, match="--compile cannot train --loss wgan-gp"):
        train(config)
    assert not config.run_dir.exists()


@pytest.mark.parametrize("split", [
    2,  # mid-epoch; the epoch boundary (step 4) falls inside the resumed part
    4,  # exactly at the epoch boundary
])
def test_resume_gives_the_same_run_as_no_break(make_config, uninterrupted, split):
    first = make_config(max_steps=split)
    train(first)
    assert load_checkpoint(RunDir(first.run_dir).latest)["step"] == split
    train(make_config(max_steps=6, resume=True))
    expected = load_checkpoint(RunDir(uninterrupted).latest)
    resumed = load_checkpoint(RunDir(first.run_dir).latest)
    assert resumed["step"] == expected["step"] == 6
    for part in ("generator", "discriminator"):
        assert_same_tensors(resumed[part], expected[part])
    assert torch.equal(resumed["noise_rng"], expected["noise_rng"])
    assert_same_tensors(resumed["opt_d"]["state"][0], expected["opt_d"]["state"][0])
    rows, expected_rows = metric_rows(first.run_dir), metric_rows(uninterrupted)
    assert [row["step"] for row in rows] == [1, 2, 3, 4, 5, 6]
    for row, expected_row in zip(rows, expected_rows):
        assert row == pytest.approx(expected_row, abs=1e-6)


def test_resume_drops_metric_rows_written_after_the_checkpoint(make_config):
    config = make_config(max_steps=3)
    train(config)
    run = RunDir(config.run_dir)
    with open(run.metrics, "a") as f:  # as if killed after step 4 was logged, before its save
        f.write(json.dumps({**run.read_metrics()[-1], "step": 4}) + "\n")
    train(make_config(max_steps=5, resume=True))
    assert [row["step"] for row in run.read_metrics()] == [1, 2, 3, 4, 5]


# --- refusals ------------------------------------------------------------------------------

def test_new_run_refuses_a_dir_that_holds_a_run(make_config):
    config = make_config(max_steps=2)
    RunDir(config.run_dir).checkpoints.mkdir(parents=True)
    RunDir(config.run_dir).latest.write_bytes(b"")
    with pytest.raises(TrainError, match="already holds a run"):
        train(config)


def test_resume_without_a_checkpoint_refuses(make_config):
    with pytest.raises(TrainError, match="--resume given but"):
        train(make_config(max_steps=2, resume=True))


def test_batch_larger_than_the_data_refuses(make_config, tiny):
    with pytest.raises(TrainError, match=f"exceeds the {tiny.n_train} training images"):
        train(make_config(batch_size=tiny.n_train + 1))


@pytest.mark.parametrize("field, value", [("width", 16), ("latent_dim", 4)])
def test_resume_with_another_architecture_names_the_field(make_config, field, value):
    config = make_config()
    state = new_state(config, len(CLASS_NAMES), CPU)
    save_checkpoint(to_checkpoint(state, config, CLASS_NAMES), RunDir(config.run_dir).latest)
    with pytest.raises(CheckpointError, match=f"{field}: checkpoint 8, now {value}"):
        train(make_config(resume=True, **{field: value}))


# --- divergence and interruption -----------------------------------------------------------

def test_nan_loss_raises_divergence_error_naming_the_step(make_config, monkeypatch, tiny):
    real_loss = trainer.LOSSES["ns"].generator
    calls = []

    def nan_from_step_6(*args):
        calls.append(1)
        return real_loss(*args) * (float("nan") if len(calls) >= 6 else 1.0)

    monkeypatch.setitem(trainer.LOSSES, "ns", trainer.LOSSES["ns"]._replace(generator=nan_from_step_6))
    config = make_config(max_steps=8, loss="ns")
    with pytest.raises(DivergenceError, match="non-finite loss at step 6: loss_d .*, loss_g nan"):
        train(config)
    latest = load_checkpoint(RunDir(config.run_dir).latest)
    assert latest["step"] == tiny.steps_per_epoch  # the last good checkpoint, end of epoch 1
    assert all(t.isfinite().all() for t in latest["generator"].values() if t.is_floating_point())
    assert [row["step"] for row in RunDir(config.run_dir).read_metrics()] == [1, 2, 3, 4, 5]


def test_huge_learning_rate_diverges_and_keeps_the_last_good_checkpoint(make_config, tiny):
    config = make_config(max_steps=tiny.steps_per_epoch)
    train(config)
    good = RunDir(config.run_dir).latest.read_bytes()
    # Step 5's D loss is still finite; its D update throws the weights to ~1e30, so the G loss
    # computed right after through the updated D is not.
    with pytest.raises(DivergenceError, match=r"non-finite loss at step 5: loss_d [\d.]+, loss_g"):
        train(make_config(max_steps=12, resume=True, lr_d=1e30, lr_g=1e30))
    assert RunDir(config.run_dir).latest.read_bytes() == good


def test_resume_applies_the_learning_rates_given_now(make_config):
    train(make_config(max_steps=1))
    state = train(make_config(max_steps=2, resume=True, lr_g=1e-3, lr_d=2e-3, beta1=0.3))
    assert state.opt_g.param_groups[0]["lr"] == 1e-3 and state.opt_d.param_groups[0]["lr"] == 2e-3
    assert state.opt_d.param_groups[0]["betas"] == (0.3, TrainConfig().beta2)


def test_ctrl_c_stops_between_steps_with_a_checkpoint(make_config, monkeypatch):
    real_step = trainer.train_step
    calls = []

    def step_then_ctrl_c(*args):
        stats = real_step(*args)
        calls.append(1)
        if len(calls) == 2:
            signal.raise_signal(signal.SIGINT)
        return stats

    monkeypatch.setattr(trainer, "train_step", step_then_ctrl_c)
    handler = signal.getsignal(signal.SIGINT)
    config = make_config(max_steps=6)
    with pytest.raises(KeyboardInterrupt, match="stopped at step 2"):
        train(config)
    assert signal.getsignal(signal.SIGINT) is handler
    assert load_checkpoint(RunDir(config.run_dir).latest)["step"] == 2
    assert [row["step"] for row in RunDir(config.run_dir).read_metrics()] == [1, 2]


def test_time_budget_ends_the_run_cleanly_after_the_step_that_crossed_it(make_config, monkeypatch):
    clock = {"now": 1000.0}
    real_step = trainer.train_step

    def step_taking_a_minute(*args):
        clock["now"] += 60.0
        return real_step(*args)

    monkeypatch.setattr(trainer.time, "monotonic", lambda: clock["now"])
    monkeypatch.setattr(trainer, "train_step", step_taking_a_minute)
    config = make_config(epochs=3, max_minutes=2.5)
    state = train(config)  # no KeyboardInterrupt: a budget is a normal end
    assert state.step == 3
    run = RunDir(config.run_dir)
    assert load_checkpoint(run.latest)["step"] == 3
    assert run.pairs.is_file()  # the final figures are drawn


@pytest.mark.parametrize("minutes", [0, -1.0])
def test_time_budget_must_be_positive(make_config, minutes):
    with pytest.raises(TrainError, match="--max-minutes"):
        train(make_config(max_minutes=minutes))


def test_resume_with_another_batch_size_is_refused(make_config):
    train(make_config(max_steps=1))
    saved = make_config().batch_size
    message = f"trained with --batch-size {saved}; resume it with that, not {saved // 2}"
    with pytest.raises(CheckpointError, match=message):
        train(make_config(max_steps=2, resume=True, batch_size=saved // 2))


@pytest.mark.parametrize("resumed", [{}, {"epochs": 40}])
def test_resume_with_no_steps_left_is_refused_saying_what_to_give(make_config, resumed):
    train(make_config(max_steps=2))
    with pytest.raises(TrainError, match="is at step 2, where this run ends .*--max-steps 2.*give a larger"):
        train(make_config(max_steps=2, resume=True, **resumed))

"""--ema: the moving average itself, its place in the checkpoint, resume, sampling and export."""
import json

import onnxruntime as ort
import pytest
import torch
from torch import nn

from export.config import ExportConfig
from export.onnx_export import export_run
from train.gan.checkpoint import generator_weights, load_checkpoint, networks_from_checkpoint
from train.gan.ema import make_ema, update_ema, warmed_up_decay
from train.gan.sampling import load_generator
from train.gan.trainer import train
from train.run.rundir import RunDir



def assert_same_tensors(a: dict, b: dict):
    assert a.keys() == b.keys()
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=0, atol=1e-6, msg=name)


def metric_rows(run_dir) -> list[dict]:
    return [{k: v for k, v in row.items() if k != "images_per_s"} for row in RunDir(run_dir).read_metrics()]


def test_update_ema_averages_parameters_and_copies_buffers():
    torch.manual_seed(0)
    trained = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    ema = make_ema(trained)
    assert not ema.training and not any(p.requires_grad for p in ema.parameters())
    start = [p.clone() for p in ema.parameters()]
    with torch.no_grad():
        for p in trained.parameters():
            p.add_(1.0)
    trained(torch.randn(8, 3))  # train mode: moves the BatchNorm running statistics
    update_ema(ema, trained, decay=0.9)
    for before, averaged, now in zip(start, ema.parameters(), trained.parameters()):
        torch.testing.assert_close(averaged, 0.9 * before + 0.1 * now)  # = before + 0.1
    for averaged, now in zip(ema.buffers(), trained.buffers()):
        assert torch.equal(averaged, now)
    update_ema(ema, trained, decay=0.0)  # decay 0: the EMA is the trained generator
    assert all(torch.equal(a, b) for a, b in zip(ema.parameters(), trained.parameters()))


def test_ema_0_keeps_no_average_and_ema_run_stores_it(make_config, tmp_path):
    state = train(make_config(max_steps=1, run_dir=tmp_path / "plain", ema=0.0))
    assert state.ema is None and state.sampler is state.generator
    assert "ema" not in load_checkpoint(RunDir(tmp_path / "plain").latest)
    config = make_config(max_steps=2, ema=0.5)
    state = train(config)
    checkpoint = load_checkpoint(RunDir(config.run_dir).latest)
    assert_same_tensors(checkpoint["ema"], state.ema.state_dict())
    assert state.sampler is state.ema and generator_weights(checkpoint) == "ema"
    assert not torch.equal(checkpoint["ema"]["project.weight"], checkpoint["generator"]["project.weight"])


@pytest.fixture(scope="module")
def ema_uninterrupted(tmp_path_factory, fmnist_dir, tiny):
    """5 steps of WGAN-GP, 2 critic steps, EMA 0.9 without a break."""
    run_dir = tmp_path_factory.mktemp("ema_uninterrupted")
    train(tiny.config(run_dir, fmnist_dir, max_steps=5, ema=0.9, loss="wgan-gp", critic_steps=2))
    return run_dir


def test_resume_restores_the_ema_exactly(make_config, ema_uninterrupted):
    options = dict(ema=0.9, loss="wgan-gp", critic_steps=2)
    train(make_config(max_steps=2, **options))
    train(make_config(max_steps=5, resume=True, **options))
    expected = load_checkpoint(RunDir(ema_uninterrupted).latest)
    resumed = load_checkpoint(RunDir(make_config().run_dir).latest)
    assert resumed["step"] == expected["step"] == 5
    for part in ("generator", "discriminator", "ema"):
        assert_same_tensors(resumed[part], expected[part])
    assert torch.equal(resumed["noise_rng"], expected["noise_rng"])  # epsilon draws replayed too
    for row, expected_row in zip(metric_rows(make_config().run_dir), metric_rows(ema_uninterrupted)):
        assert row == pytest.approx(expected_row, abs=1e-6)


def test_resume_that_adds_ema_starts_it_from_the_generator(make_config):
    train(make_config(max_steps=1))
    state = train(make_config(max_steps=2, resume=True, ema=0.999))
    checkpoint = load_checkpoint(RunDir(make_config().run_dir).latest)
    # one update from the step-1 generator: ema = 0.999 * g1 + 0.001 * g2, close to neither exactly
    assert "ema" in checkpoint and state.ema is not None
    assert not torch.equal(checkpoint["ema"]["project.weight"], checkpoint["generator"]["project.weight"])


def test_generate_evaluate_and_export_use_the_ema_generator(make_config, tiny_data_dir, tmp_path):
    config = make_config(max_steps=2, ema=0.5)
    train(config)
    checkpoint = load_checkpoint(RunDir(config.run_dir).latest)
    generator, _, _ = networks_from_checkpoint(checkpoint)
    raw, _, _ = networks_from_checkpoint(checkpoint, ema=False)
    assert_same_tensors(generator.state_dict(), checkpoint["ema"])
    assert_same_tensors(raw.state_dict(), checkpoint["generator"])
    sampled, _ = load_generator(config.run_dir, torch.device("cpu"))  # generate and evaluate
    assert_same_tensors(sampled.state_dict(), checkpoint["ema"])
    out = tmp_path / "models"
    report = export_run(ExportConfig(run_dir=config.run_dir, out=out, data_dir=tiny_data_dir,
                                     parity_images=8))
    meta = ort.InferenceSession(str(out / "generator.onnx"),
                                providers=["CPUExecutionProvider"]).get_modelmeta().custom_metadata_map
    assert meta["generator_weights"] == "ema" == report["generator_weights"]
    assert json.loads((out / "export.json").read_text())["generator_weights"] == "ema"


@pytest.mark.parametrize("step, expected", [(0, 0.1), (10, 0.55), (90, 0.91), (10_000, 0.999), (10**6, 0.999)])
def test_ema_decay_warms_up_so_the_random_start_fades(step, expected):
    assert warmed_up_decay(0.999, step) == pytest.approx(expected, abs=1e-9)


def test_warm_up_leaves_little_of_the_initial_weights_after_a_short_run():
    kept = 1.0
    for step in range(2261):
        kept *= warmed_up_decay(0.999, step)
    assert kept < 1e-6 < 0.999 ** 2261  # without the warm-up: 10 % of the initial weights

"""The fast domain FID logged during training (train/gan/monitor.py) and its backfill command."""
import math

import numpy as np
import pytest
import torch
from torch import nn

from train import domain_fid
from train.data import CLASS_NAMES, load_fashion_mnist, to_model_range, write_idx
from train.gan.checkpoint import load_checkpoint
from train.gan.monitor import DomainFID, is_due
from train.gan.trainer import train
from train.metrics.classifier import save_classifier, train_classifier
from train.run.metrics_log import domain_rows, step_rows
from train.run.rundir import RunDir

N_TEST = 200
SAMPLES = 100
CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory, tiny):
    """The tiny training set, with 200 test images so that 128-d statistics are meaningful."""
    folder = tmp_path_factory.mktemp("fmnist-monitor")
    for prefix, n, seed in (("train", tiny.n_train, 0), ("t10k", N_TEST, 1)):
        images, labels = tiny.arrays(n, seed)
        write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", images)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", labels)
    return folder


@pytest.fixture(scope="module")
def classifier(tmp_path_factory, data_dir):
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("classifier") / "classifier.pt"
    model = train_classifier(load_fashion_mnist("train", data_dir), epochs=2, batch_size=16)
    save_classifier(model, path, CLASS_NAMES, {"test_accuracy": None})
    return path


def monitored(tiny, run_dir, data_dir, classifier, **overrides):
    """A tiny 8-step (2-epoch) config that logs the domain FID at the end of every epoch."""
    values = dict(domain_fid_every=1, domain_fid_samples=SAMPLES, domain_fid_classifier=classifier,
                  max_steps=8)
    return tiny.config(run_dir, data_dir, **{**values, **overrides})


class ReplayGenerator(nn.Module):
    """Returns fixed uint8 images (in the model's range) whatever the noise and labels."""
    num_classes, latent_dim = 10, 4

    def __init__(self, images: np.ndarray):
        super().__init__()
        self.images = to_model_range(torch.from_numpy(images))

    def forward(self, noise, labels):
        return self.images[: len(labels)]


def test_domain_fid_is_zero_for_the_test_images_and_large_for_black_ones(data_dir, classifier):
    test = load_fashion_mnist("test", data_dir).images.numpy()
    monitor = DomainFID(classifier, data_dir, samples=N_TEST)
    same = monitor.measure(ReplayGenerator(test), CPU)
    black = monitor.measure(ReplayGenerator(np.zeros_like(test)), CPU)
    assert same["domain_fid"] == pytest.approx(0, abs=1e-3)
    assert black["domain_fid"] > 1.0
    assert same["domain_fid_samples"] == N_TEST and same["domain_fid_seconds"] >= 0


@pytest.mark.parametrize("every, epoch_done, last, expected", [
    (5, 5, False, True), (5, 10, False, True), (5, 4, False, False), (5, 0, False, False),
    (0, 5, False, False), (1, 1, False, True), (5, 4, True, True), (5, 0, True, True), (0, 3, True, False)])
def test_is_due(tiny, every, epoch_done, last, expected):
    assert is_due(tiny.config("r", None, domain_fid_every=every), epoch_done, last) is expected


@pytest.fixture(scope="module")
def plain_run(tmp_path_factory, data_dir, tiny):
    """8 steps (2 epochs) without the monitor."""
    run_dir = tmp_path_factory.mktemp("plain") / "run"
    train(tiny.config(run_dir, data_dir, max_steps=8))
    return run_dir


@pytest.fixture(scope="module")
def monitored_run(tmp_path_factory, data_dir, tiny, classifier):
    """The same 8 steps with the domain FID logged after each epoch."""
    run_dir = tmp_path_factory.mktemp("monitored") / "run"
    train(monitored(tiny, run_dir, data_dir, classifier))
    return run_dir


def test_monitor_logs_each_epoch_and_leaves_training_unchanged(monitored_run, plain_run):
    rows = RunDir(monitored_run).read_metrics()
    logged = domain_rows(rows)
    assert [(r["step"], r["epoch"]) for r in logged] == [(4, 1), (8, 2)]
    assert all(math.isfinite(r["domain_fid"]) and r["domain_fid_samples"] == SAMPLES for r in logged)
    assert rows.index(logged[0]) == 4  # right after the row of step 4
    # The measurement touches neither weights, BatchNorm statistics nor the noise RNG.
    expected, got = load_checkpoint(RunDir(plain_run).latest), load_checkpoint(RunDir(monitored_run).latest)
    for part in ("generator", "discriminator"):
        for name, tensor in expected[part].items():
            assert torch.equal(tensor, got[part][name]), name
    assert torch.equal(expected["noise_rng"], got["noise_rng"])
    strip = lambda rs: [{k: v for k, v in r.items() if k != "images_per_s"} for r in step_rows(rs)]
    assert strip(rows) == strip(RunDir(plain_run).read_metrics())


def test_resume_with_the_monitor_logs_the_same_rows(tiny, tmp_path, data_dir, classifier,
                                                     monitored_run):
    train(monitored(tiny, tmp_path / "run", data_dir, classifier, max_steps=6))
    train(monitored(tiny, tmp_path / "run", data_dir, classifier, resume=True))
    resumed = domain_rows(RunDir(tmp_path / "run").read_metrics())
    expected = domain_rows(RunDir(monitored_run).read_metrics())
    assert [r["step"] for r in resumed] == [4, 6, 8]  # 6: the end of the first invocation
    assert [r["domain_fid"] for r in resumed if r["step"] != 6] == pytest.approx(
        [r["domain_fid"] for r in expected], rel=1e-9)


def test_missing_classifier_skips_with_one_note(tiny, data_dir, tmp_path, capsys):
    train(monitored(tiny, tmp_path / "run", data_dir, tmp_path / "absent.pt"))
    assert capsys.readouterr().out.count("no classifier at") == 1
    assert domain_rows(RunDir(tmp_path / "run").read_metrics()) == []


def test_backfill_writes_what_training_would_have_logged(tmp_path, data_dir, classifier, plain_run,
                                                         monitored_run):
    run_dir = tmp_path / "copy"
    run_dir.mkdir()
    for name in ("metrics.jsonl", "checkpoints/epoch_001.pt", "checkpoints/epoch_002.pt"):
        (run_dir / name).parent.mkdir(exist_ok=True)
        (run_dir / name).write_bytes((plain_run / name).read_bytes())
    args = ["--run-dir", str(run_dir), "--every", "1", "--samples", str(SAMPLES),
            "--classifier", str(classifier), "--data-dir", str(data_dir), "--device", "cpu"]
    assert domain_fid.main(args) == 0
    rows, expected = RunDir(run_dir).read_metrics(), domain_rows(RunDir(monitored_run).read_metrics())
    assert [(r["step"], r["epoch"]) for r in domain_rows(rows)] == [(4, 1), (8, 2)]
    assert [r["domain_fid"] for r in domain_rows(rows)] == pytest.approx(
        [r["domain_fid"] for r in expected], rel=1e-6)
    assert [r["step"] for r in rows] == [1, 2, 3, 4, 4, 5, 6, 7, 8, 8]
    assert [r["domain_fid_from"] for r in domain_rows(rows)] == ["checkpoints/epoch_001.pt",
                                                                 "checkpoints/epoch_002.pt"]
    assert domain_fid.backfill(domain_fid.DomainFIDConfig(
        run_dir=run_dir, every=1, samples=SAMPLES, classifier=classifier, data_dir=data_dir,
        device="cpu")) == []  # nothing left to add


def test_backfill_refuses_without_a_classifier(plain_run, tmp_path, capsys):
    code = domain_fid.main(["--run-dir", str(plain_run), "--classifier", str(tmp_path / "no.pt"),
                            "--every", "1"])
    assert code == 1 and "no classifier at" in capsys.readouterr().err

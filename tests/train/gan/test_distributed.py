"""Several processes (train/gan/distributed.py): the pieces in one process, then 2 gloo ranks on the CPU."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from train.errors import TrainError
from train.gan.checkpoint import load_checkpoint
from train.gan.distributed import convert_batchnorm, CrossRankBatchNorm, Ranks, SINGLE
from train.gan.networks import Generator
from train.gan.trainer import train
from train.run.rundir import RunDir

REPO = Path(__file__).resolve().parents[3]
TORCHRUN = Path(sys.executable).with_name("torchrun")


def test_ranks_slice_the_global_batch():
    batch = torch.arange(16)
    assert torch.equal(SINGLE.local(batch), batch)
    assert torch.equal(Ranks(0, 2).local(batch), torch.arange(8))
    assert torch.equal(Ranks(1, 2).local(batch), torch.arange(8, 16))
    assert torch.equal(torch.cat([Ranks(r, 4).local(batch) for r in range(4)]), batch)


def test_global_batch_must_split_into_equal_slices(make_config):
    make_config(batch_size=16).check(world_size=4)
    with pytest.raises(TrainError, match="does not split into 3 equal per-rank slices"):
        make_config(batch_size=16).check(world_size=3)


@pytest.mark.parametrize("dims", [1, 2])
def test_cross_rank_batchnorm_alone_is_batchnorm(dims):
    """In one process it must compute what nn.BatchNorm computes: outputs, input gradients,
    running statistics, and eval mode."""
    torch.manual_seed(0)
    norm = (nn.BatchNorm1d if dims == 1 else nn.BatchNorm2d)(3, affine=False)
    ours = CrossRankBatchNorm(type(norm)(3, affine=False))
    shape = (8, 3) if dims == 1 else (8, 3, 5, 5)
    for _ in range(2):
        x = (torch.randn(shape) * 3 + 1).requires_grad_()
        x2 = x.detach().clone().requires_grad_()
        out, out2 = norm(x), ours(x2)
        torch.testing.assert_close(out2, out, atol=1e-5, rtol=1e-5)
        weights = torch.randn(shape)
        (out * weights).sum().backward()
        (out2 * weights).sum().backward()
        torch.testing.assert_close(x2.grad, x.grad, atol=1e-5, rtol=1e-5)
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        torch.testing.assert_close(getattr(ours, name), getattr(norm, name))
    x = torch.randn(shape)
    torch.testing.assert_close(ours.eval()(x), norm.eval()(x))


def test_cross_rank_batchnorm_under_bf16_autocast_is_batchnorm():
    """A bf16 input (a convolution's output under autocast) comes out bf16 as from BatchNorm,
    with the statistics and the running buffers kept in float32."""
    torch.manual_seed(0)
    norm, ours = nn.BatchNorm2d(3), CrossRankBatchNorm(nn.BatchNorm2d(3))
    x = (torch.randn(8, 3, 5, 5) * 3 + 1).to(torch.bfloat16)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out, out2 = norm(x), ours(x)
    assert out2.dtype == out.dtype == torch.bfloat16
    torch.testing.assert_close(out2.float(), out.float(), atol=2e-2, rtol=2e-2)  # bf16: 8 bits of mantissa
    assert ours.running_mean.dtype == ours.running_var.dtype == torch.float32
    torch.testing.assert_close(ours.running_mean, norm.running_mean, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(ours.running_var, norm.running_var, atol=1e-4, rtol=1e-4)


def test_convert_batchnorm_keeps_the_state_dict():
    generator = Generator(latent_dim=8, num_classes=4, width=8)
    before = {k: v.clone() for k, v in generator.state_dict().items()}
    convert_batchnorm(generator)
    assert isinstance(generator.norm1.norm, CrossRankBatchNorm)
    assert generator.state_dict().keys() == before.keys()
    assert all(torch.equal(generator.state_dict()[k], v) for k, v in before.items())


OPTIONS = dict(loss="wgan-gp", critic_steps=2, ema=0.9)  # every piece that touches the step


def cli(config) -> list:
    """The command line of a small_config (as made by the make_config fixture)."""
    return ["--run-dir", str(config.run_dir), "--data-dir", str(config.data_dir), "--batch-size",
            str(config.batch_size), "--width", str(config.width), "--latent-dim", str(config.latent_dim),
            "--device", "cpu", "--no-progress", "--domain-fid-every", "0", "--seed", str(config.seed),
            "--max-steps", str(config.max_steps), "--loss", config.loss, "--critic-steps",
            str(config.critic_steps), "--ema", str(config.ema)] + (["--resume"] if config.resume else [])


def assert_close_weights(a: dict, b: dict, atol: float):
    assert a.keys() == b.keys()
    for name in a:
        torch.testing.assert_close(a[name].float(), b[name].float(), rtol=0, atol=atol, msg=name)


def test_two_gloo_ranks_resume_and_train_like_one_process(make_config, tmp_path):
    """2 ranks resume a run saved by one process (step 2) and train to step 4, each on half of
    every global batch of 16. Compared with one process training 4 steps on the same batches:

    - the two ranks end with *identical* weights (DDP averages the gradients; the EMA, BatchNorm
      statistics and the noise RNG evolve the same on both);
    - they match the single process within float tolerance. The generator's BatchNorm takes its
      batch statistics over the global batch across ranks (CrossRankBatchNorm), so the honest
      reference is the ordinary single-process run, not one that normalises per slice. The
      tolerance, 1e-4 = half of one Adam step (lr 2e-4), allows for reduction order: Adam moves a
      weight whose gradient is ~0 by up to lr whatever the rounding; a real mismatch (another
      batch, other noise, per-slice statistics) differs by several steps within 4 steps;
    - rank 0 alone wrote the metrics: one row per step, equal to the single process's.
    Runs WGAN-GP with 2 critic steps and --ema, so the penalty's double backward, the critic
    loop and the EMA all run under DDP."""
    reference = train(make_config(run_dir=tmp_path / "single", max_steps=4, **OPTIONS))
    train(make_config(max_steps=2, **OPTIONS))
    config = make_config(max_steps=4, resume=True, **OPTIONS)
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    done = subprocess.run([str(TORCHRUN), "--standalone", "--nproc_per_node=2",
                           str(REPO / "tests" / "train" / "gan" / "ddp_worker.py"), *cli(config)],
                          env=env, cwd=tmp_path, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    ranks = [torch.load(config.run_dir / f"rank{r}.pt", weights_only=True) for r in (0, 1)]
    expected = {"generator": reference.generator.state_dict(), "ema": reference.ema.state_dict(),
                "discriminator": reference.discriminator.state_dict()}
    for part in ("generator", "discriminator", "ema"):
        assert_close_weights(ranks[0][part], ranks[1][part], atol=0)
        assert_close_weights(ranks[0][part], expected[part], atol=1e-4)
    assert ranks[0]["step"] == ranks[1]["step"] == 4
    assert torch.equal(ranks[0]["noise_rng"], ranks[1]["noise_rng"])
    assert torch.equal(ranks[0]["noise_rng"], reference.noise_rng.get_state())
    checkpoint = load_checkpoint(RunDir(config.run_dir).latest)
    assert checkpoint["step"] == 4
    assert_close_weights(checkpoint["ema"], ranks[0]["ema"], atol=0)
    rows, single_rows = (RunDir(d).read_metrics() for d in (config.run_dir, tmp_path / "single"))
    assert [row["step"] for row in rows] == [1, 2, 3, 4]
    for row, single in zip(rows, single_rows):
        for key in ("loss_d", "loss_g", "d_real", "d_fake", "d_accuracy", "class_accuracy"):
            assert row[key] == pytest.approx(single[key], abs=1e-4), (row["step"], key)

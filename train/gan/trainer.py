"""The training loop: one function per job, `train(config)` ties them together."""
import contextlib
import math
import time
from dataclasses import dataclass
from typing import Callable, ContextManager, Optional

import torch
from torch import nn
from tqdm import tqdm

from train.data import ImageSet, load_dataset, to_model_range, to_uint8
from train.errors import DivergenceError, TrainError
from train.gan import distributed
from train.gan.checkpoint import (check_compatible, load_checkpoint, restore_training, save_checkpoint,
                                  to_checkpoint)
from train.gan.config import TrainConfig
from train.gan.distributed import Ranks, SINGLE
from train.gan.ema import make_ema, update_ema, warmed_up_decay
from train.gan.losses import gradient_penalty, LOSSES
from train.gan.monitor import DomainFID, is_due
from train.gan.networks import Discriminator, Generator
from train.gan.runtime import (check_compile, deadline_after, make_autocast, pick_device, stop_on_sigint,
                               StopFlags, usable_cpus)
from train.run import figures, metrics_log
from train.run.rundir import RunDir
from train.run.tensorboard_log import open_log

SAMPLES_PER_CLASS = 8  # columns of the sample grids


@dataclass
class TrainState:
    generator: Generator
    discriminator: Discriminator
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    noise_rng: torch.Generator   # draws z and fake labels; saved, so resumes draw the same
    fixed_noise: torch.Tensor    # [classes * SAMPLES_PER_CLASS, latent]: comparable grids
    fixed_labels: torch.Tensor
    step: int = 0
    ema: Optional[Generator] = None  # --ema: the averaged generator, or None
    ranks: Ranks = SINGLE            # torchrun: this process's rank (distributed.py)
    ddp_g: Optional[nn.Module] = None  # torchrun: the DDP wrappers the training passes call
    ddp_d: Optional[nn.Module] = None

    @property
    def train_g(self) -> nn.Module:
        return self.generator if self.ddp_g is None else self.ddp_g

    @property
    def train_d(self) -> nn.Module:
        return self.discriminator if self.ddp_d is None else self.ddp_d

    @property
    def sampler(self) -> Generator:
        """The generator that draws grids and FIDs: the EMA one when there is one."""
        return self.generator if self.ema is None else self.ema


def new_state(config: TrainConfig, num_classes: int, device: torch.device) -> TrainState:
    torch.manual_seed(config.seed)
    generator, discriminator = config.networks(num_classes)
    generator, discriminator = generator.to(device), discriminator.to(device)
    betas = (config.beta1, config.beta2)
    # On the CPU whatever the device: the same draws everywhere, and a checkpoint's RNG state
    # that a run resumed on another device can load.
    noise_rng = torch.Generator().manual_seed(config.seed)
    fixed_labels = torch.arange(config.sample_rows(num_classes), device=device).repeat_interleave(SAMPLES_PER_CLASS)
    fixed_labels = fixed_labels % generator.num_classes  # --unconditional: all 0, a plain grid
    fixed_noise = torch.randn(len(fixed_labels), config.latent_dim, generator=noise_rng).to(device)
    state = TrainState(generator, discriminator,
                       torch.optim.Adam(generator.parameters(), config.lr_g, betas=betas),
                       torch.optim.Adam(discriminator.parameters(), config.lr_d, betas=betas),
                       noise_rng, fixed_noise, fixed_labels,
                       ema=make_ema(generator) if config.ema > 0 else None)
    if config.compile:  # in place, after the EMA's copy: state_dict keys stay the same
        generator.compile()
        discriminator.compile()
    return state


def restore_state(config: TrainConfig, num_classes: int, device: torch.device, run: RunDir) -> TrainState:
    checkpoint = load_checkpoint(run.latest, map_location=device)
    check_compatible(checkpoint, config, run.latest, num_classes)
    state = new_state(config, num_classes, device)
    restore_training(state, checkpoint)
    # load_state_dict restores the saved lr/betas; apply this run's (e.g. `--resume --lr-g X`).
    for optimizer, lr in ((state.opt_g, config.lr_g), (state.opt_d, config.lr_d)):
        for group in optimizer.param_groups:
            group.update(lr=lr, betas=(config.beta1, config.beta2))
    return state


def draw_fakes(state: TrainState, config: TrainConfig, n: int,
               device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Noise z and labels y for this rank's n generated images, from the saved noise RNG. Every
    rank draws the whole global batch and keeps its slice: the RNG stays the same everywhere."""
    n = n * state.ranks.world_size
    noise = torch.randn(n, config.latent_dim, generator=state.noise_rng).to(device)
    labels = torch.randint(0, state.generator.num_classes, (n,), generator=state.noise_rng).to(device)
    return state.ranks.local(noise), state.ranks.local(labels)


def discriminator_step(state: TrainState, real: torch.Tensor, labels: torch.Tensor,
                       config: TrainConfig, autocast, keep_graph: bool) -> tuple:
    """One D update against freshly generated images; returns them (with G's graph when
    keep_graph, for the generator step) and what the statistics need."""
    g, d, loss = state.train_g, state.train_d, LOSSES[config.loss]
    n = len(real)
    noise, fake_labels = draw_fakes(state, config, n, real.device)
    with autocast(), torch.set_grad_enabled(keep_graph):
        fake = g(noise, fake_labels)
    with autocast():
        # (1) Update D: maximise --loss's discriminator objective (its formula: the function's
        # docstring in train/gan/losses.py, LOSSES): score real images as real and generated
        # ones as generated, and name the class of real images.
        # Real and generated go through D as one batch: one pass instead of two. D has no
        # BatchNorm, so no statistic is shared between the halves.
        logits, class_logits = d(torch.cat([real, fake.detach()]))
        real_logit, fake_logit, real_class_logits = logits[:n], logits[n:], class_logits[:n]
        loss_d = loss.discriminator(real_logit, fake_logit, real_class_logits, labels, config.class_weight)
    if loss.gradient_penalty:
        epsilon = torch.rand(n * state.ranks.world_size, generator=state.noise_rng).to(real.device)
        # Through the plain D: its gradients still reach DDP's all-reduce in backward().
        critic = lambda x: state.discriminator(x)[0]  # noqa: E731
        loss_d = loss_d + config.gp_weight * gradient_penalty(critic, real, fake.detach(),
                                                              state.ranks.local(epsilon))
    state.opt_d.zero_grad(set_to_none=True)
    loss_d.backward()
    state.opt_d.step()
    return fake, fake_labels, (loss_d, real_logit, fake_logit, real_class_logits)


def train_step(state: TrainState, real: torch.Tensor, labels: torch.Tensor,
               config: TrainConfig, autocast) -> dict:
    """--critic-steps discriminator updates (each against new generated images, all on this
    real batch), then one generator update; returns the batch's statistics."""
    for critic_step in range(config.critic_steps):
        last = critic_step == config.critic_steps - 1
        fake, fake_labels, d_out = discriminator_step(state, real, labels, config, autocast, last)
    with autocast():  # D's plain module: G's gradients need no all-reduce of D's
        # (2) Update G: maximise --loss's generator objective (train/gan/losses.py, LOSSES):
        # have the just-updated D score its images as real and as the class asked for.
        fake_logit_after, fake_class_logits = state.discriminator(fake)
        loss_g = LOSSES[config.loss].generator(fake_logit_after, fake_class_logits, fake_labels,
                                               config.class_weight)
    state.opt_g.zero_grad(set_to_none=True)
    loss_g.backward()
    state.opt_g.step()
    if state.ema is not None:
        update_ema(state.ema, state.generator, warmed_up_decay(config.ema, state.step))
    state.step += 1
    return step_statistics(*d_out, loss_g, labels, state.ranks)


def step_statistics(loss_d, real_logit, fake_logit, real_class_logits, loss_g, labels,
                    ranks: Ranks) -> dict:
    """The metrics.jsonl numbers of one step (of the global batch: averaged over ranks), in the
    order of metrics_log.STATISTICS; d_real and d_fake are sigma(logit) for every loss."""
    stats = torch.stack([loss_d.float(), loss_g.float(), torch.sigmoid(real_logit.float()).mean(),
                         torch.sigmoid(fake_logit.float()).mean(),
                         torch.cat([real_logit >= 0, fake_logit < 0]).float().mean(),  # >= 0: "real", as the detector
                         (real_class_logits.argmax(1) == labels).float().mean()])
    stats = distributed.mean_across_ranks(stats, ranks).tolist()
    return dict(zip(metrics_log.STATISTICS, stats))


@torch.no_grad()
def generate(generator: Generator, noise: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """uint8 images [N, 28, 28] from the generator in eval mode (BatchNorm running stats)."""
    was_training = generator.training
    generator.eval()
    images = to_uint8(generator(noise, labels).float())
    generator.train(was_training)
    return images


def epoch_batches(data: ImageSet, config: TrainConfig, epoch: int, device: torch.device):
    """This epoch's shuffled batch indices; a function of (seed, epoch) so resumes replay it."""
    order = torch.randperm(len(data), generator=torch.Generator().manual_seed(config.seed * 100_003 + epoch))
    steps = len(data) // config.batch_size  # drop the last partial batch: equal-size steps
    return order[: steps * config.batch_size].view(steps, config.batch_size).to(device)


def write_figures(state: TrainState, data: ImageSet, run: RunDir, epoch: int, final: bool,
                  unconditional: bool = False) -> None:
    grid = generate(state.sampler, state.fixed_noise, state.fixed_labels).cpu().numpy()
    rows = data.class_names if not unconditional else range(len(grid) // SAMPLES_PER_CLASS)
    figures.save_grid(grid, rows, run.sample_grid(epoch), f"epoch {epoch}, step {state.step}", unconditional)
    rows = run.read_metrics()
    if rows:
        figures.save_loss_curves(rows, run.loss_curves)
    if final:
        figures.save_pairs(grid, data, run.pairs, SAMPLES_PER_CLASS, unconditional)


def save(state: TrainState, config: TrainConfig, data: ImageSet, run: RunDir, epoch_done: int = 0) -> None:
    checkpoint = to_checkpoint(state, config, data.class_names)
    if epoch_done:
        save_checkpoint(checkpoint, run.epoch_checkpoint(epoch_done))
    save_checkpoint(checkpoint, run.latest)


@dataclass
class Loop:
    """What every epoch of one `train` call shares: its settings, training images and run
    directory, where the networks run (device, autocast) and when to stop."""
    config: TrainConfig
    data: ImageSet
    run: RunDir
    device: torch.device
    autocast: Callable[[], ContextManager]
    stop: StopFlags


def run_epoch(state: TrainState, loop: Loop, epoch: int, batches: torch.Tensor) -> list[dict]:
    """Train on `batches` (this epoch's, from the step reached); returns the epoch's metric rows."""
    config, data = loop.config, loop.data
    rows, first = [], state.step % len(batches)
    main = state.ranks.is_main  # only rank 0 shows progress and writes metrics.jsonl
    end = min(len(batches), total_steps(config, len(batches)) - (state.step - first))  # --max-steps
    bar = tqdm(batches[first:end], desc=f"epoch {epoch}/{config.epochs}", leave=False,
               disable=not (config.progress and main), dynamic_ncols=True)
    with metrics_log.appending(loop.run.metrics) if main else contextlib.nullcontext() as append:
        for index in bar:
            started = time.perf_counter()
            mine = state.ranks.local(index)  # this rank's slice of the global batch
            stats = train_step(state, to_model_range(data.images[mine]), data.labels[mine], config,
                               loop.autocast)
            if not all(math.isfinite(stats[k]) for k in ("loss_d", "loss_g")):
                raise DivergenceError(f"non-finite loss at step {state.step}: loss_d "
                                      f"{stats['loss_d']}, loss_g {stats['loss_g']}")
            row = metrics_log.step_row(state.step, epoch, stats,
                                       len(index) / (time.perf_counter() - started))
            rows.append(row)
            if main and state.step % config.log_every == 0:
                append(row)
            bar.set_postfix(loss_d=f"{stats['loss_d']:.3f}", loss_g=f"{stats['loss_g']:.3f}", refresh=False)
            if loop.stop.agree(state.ranks):
                break
    return rows


def total_steps(config: TrainConfig, steps_per_epoch: int) -> int:
    total = config.epochs * steps_per_epoch
    return total if config.max_steps is None else min(total, config.max_steps)


def setup(config: TrainConfig, ranks: Ranks):
    config.check(ranks.world_size)
    device = pick_device(config.device)
    if config.compile:
        check_compile(device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    else:
        torch.set_num_threads(max(1, usable_cpus() // ranks.world_size))
        # Near-zero activations late in training turn denormal; x86 handles those ~100x slower.
        torch.set_flush_denormal(True)
    run = RunDir(config.run_dir)
    if ranks.is_main:
        run.prepare(config.resume)
    data = load_dataset(config, "train")
    tqdm.write(f"data: {data.note}") if data.note and ranks.is_main else None
    if len(data) < config.batch_size:
        raise TrainError(f"--batch-size {config.batch_size} exceeds the {len(data)} training images")
    if config.unconditional:  # every label 0: the single class of model_classes
        data.labels = torch.zeros_like(data.labels)
    data.images, data.labels = data.images.to(device), data.labels.to(device)
    return device, run, data


def log_domain_fid(monitor: DomainFID, state: TrainState, run: RunDir, epoch: int,
                   device: torch.device) -> dict:
    """Append the fast domain FID of the generator now as its own metrics.jsonl row. Written
    before the epoch's checkpoint, so a resume from an earlier checkpoint drops it (step >)."""
    row = {"step": state.step, "epoch": epoch, **monitor.measure(state.sampler, device)}
    metrics_log.append_row(run.metrics, row)
    tqdm.write(f"epoch {epoch}: domain FID {row['domain_fid']:.3f} ({row['domain_fid_samples']} "
               f"generated vs the test split, {row['domain_fid_seconds']:.1f} s)")
    return row


def start(config: TrainConfig, ranks: Ranks, device: torch.device, run: RunDir,
          num_classes: int, total: int) -> TrainState:
    """The state to train from, new or resumed (refused with no steps left before `total`, before
    config.json changes); rank 0 starts or trims metrics.jsonl."""
    if config.resume:
        state = restore_state(config, num_classes, device, run)
        if state.step >= total:
            limit = f"--epochs {config.epochs}"
            limit += "" if config.max_steps is None else f", --max-steps {config.max_steps}"
            raise TrainError(f"{run.latest} is at step {state.step}, where this run ends ({limit}): "
                             "give a larger --epochs or --max-steps to continue it")
    else:
        state = new_state(config, num_classes, device)
    if ranks.is_main:
        if config.resume:
            run.truncate_metrics(state.step)
        else:
            metrics_log.write_rows(run.metrics, [])
        config.save(run.config)
    state.ranks = ranks
    if ranks.world_size > 1:
        state.ddp_g, state.ddp_d = distributed.wrap(state.generator, state.discriminator, device)
    return state


def train(config: TrainConfig) -> TrainState:
    """Train (or resume) the run in config.run_dir; returns the final state. Under torchrun each
    process calls this and trains its slice of every batch (distributed.py)."""
    ranks = distributed.init(config.device)
    try:
        return train_ranks(config, ranks)
    finally:
        distributed.shutdown(ranks)


def train_ranks(config: TrainConfig, ranks: Ranks) -> TrainState:
    device, run, data = setup(config, ranks)
    steps_per_epoch = len(data) // config.batch_size
    total = total_steps(config, steps_per_epoch)
    state = start(config, ranks, device, run, len(data.class_names), total)
    monitor = DomainFID.for_config(config) if ranks.is_main else None
    board = open_log(config, ranks.is_main)  # --tensorboard: rank 0's TensorBoardLog, or None
    with stop_on_sigint(deadline_after(config.max_minutes)) as stop:
        loop = Loop(config, data, run, device, make_autocast(device, config.precision), stop)
        while state.step < total and not stop.any:
            epoch = state.step // steps_per_epoch + 1
            started = time.perf_counter()
            rows = run_epoch(state, loop, epoch, batches=epoch_batches(data, config, epoch, device))
            epoch_done = epoch if state.step % steps_per_epoch == 0 else 0
            if not ranks.is_main:
                continue  # rank 0 alone measures, saves and draws
            last = state.step >= total or stop.out_of_time
            due = monitor is not None and is_due(config, epoch_done, last)
            fid_rows = [log_domain_fid(monitor, state, run, epoch, device)] if due else []
            save(state, config, data, run, epoch_done)
            write_figures(state, data, run, epoch, last or stop.interrupted, config.unconditional)
            if board is not None:
                board.log_rows(rows + fid_rows)
                board.log_grid(run.sample_grid(epoch), state.step)
            tqdm.write(metrics_log.epoch_summary(epoch, config.epochs, rows, time.perf_counter() - started))
    if board is not None:
        board.close()
    if stop.interrupted:
        raise KeyboardInterrupt(f"stopped at step {state.step}; checkpoint saved to {run.latest}")
    return state

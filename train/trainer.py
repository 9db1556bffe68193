"""The training loop: one function per job, `train(config)` ties them together."""
import contextlib
import json
import math
import os
import signal
import time
from dataclasses import dataclass

import numpy as np
import torch
from tqdm import tqdm

from . import plots
from .checkpoint import check_compatible, load_checkpoint, save_checkpoint
from .config import TrainConfig
from .data import ImageSet, load_fashion_mnist, to_model_range, to_uint8
from .errors import DivergenceError, TrainError
from .losses import LOSSES, gradient_penalty
from .monitor import DomainFID, is_due
from .networks import Discriminator, Generator, build_networks
from .rundir import RunDir

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


def pick_device(name: str) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise TrainError("--device cuda given but PyTorch sees no CUDA device")
    return torch.device(name)


def new_state(config: TrainConfig, num_classes: int, device: torch.device) -> TrainState:
    torch.manual_seed(config.seed)
    generator, discriminator = build_networks(config.latent_dim, config.width, num_classes)
    generator, discriminator = generator.to(device), discriminator.to(device)
    betas = (config.beta1, config.beta2)
    noise_rng = torch.Generator(device=device).manual_seed(config.seed)
    fixed_labels = torch.arange(num_classes, device=device).repeat_interleave(SAMPLES_PER_CLASS)
    fixed_noise = torch.randn(len(fixed_labels), config.latent_dim, device=device, generator=noise_rng)
    return TrainState(generator, discriminator,
                      torch.optim.Adam(generator.parameters(), config.lr_g, betas=betas),
                      torch.optim.Adam(discriminator.parameters(), config.lr_d, betas=betas),
                      noise_rng, fixed_noise, fixed_labels)


def to_checkpoint(state: TrainState, config: TrainConfig, class_names) -> dict:
    return {"generator": state.generator.state_dict(), "discriminator": state.discriminator.state_dict(),
            "opt_g": state.opt_g.state_dict(), "opt_d": state.opt_d.state_dict(),
            "step": state.step, "config": config.to_json(), "class_names": list(class_names),
            "noise_rng": state.noise_rng.get_state(), "fixed_noise": state.fixed_noise.cpu(),
            "fixed_labels": state.fixed_labels.cpu()}


def restore_state(config: TrainConfig, num_classes: int, device: torch.device, run: RunDir) -> TrainState:
    checkpoint = load_checkpoint(run.latest, map_location=device)
    check_compatible(checkpoint, config, run.latest)
    state = new_state(config, num_classes, device)
    state.generator.load_state_dict(checkpoint["generator"])
    state.discriminator.load_state_dict(checkpoint["discriminator"])
    state.opt_g.load_state_dict(checkpoint["opt_g"])
    state.opt_d.load_state_dict(checkpoint["opt_d"])
    # load_state_dict restores the saved lr/betas; apply this run's (e.g. `--resume --lr-g X`).
    for optimizer, lr in ((state.opt_g, config.lr_g), (state.opt_d, config.lr_d)):
        for group in optimizer.param_groups:
            group.update(lr=lr, betas=(config.beta1, config.beta2))
    state.noise_rng.set_state(checkpoint["noise_rng"].cpu())
    state.fixed_noise = checkpoint["fixed_noise"].to(device)
    state.fixed_labels = checkpoint["fixed_labels"].to(device)
    state.step = checkpoint["step"]
    return state


def draw_fakes(state: TrainState, config: TrainConfig, n: int,
               device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Noise z and labels y for n generated images, from the saved noise RNG."""
    noise = torch.randn(n, config.latent_dim, device=device, generator=state.noise_rng)
    labels = torch.randint(0, state.generator.num_classes, (n,), device=device, generator=state.noise_rng)
    return noise, labels


def discriminator_step(state: TrainState, real: torch.Tensor, labels: torch.Tensor,
                       config: TrainConfig, autocast, keep_graph: bool) -> tuple:
    """One D update against freshly generated images; returns them (with G's graph when
    keep_graph, for the generator step) and what the statistics need."""
    g, d, loss = state.generator, state.discriminator, LOSSES[config.loss]
    n = len(real)
    noise, fake_labels = draw_fakes(state, config, n, real.device)
    with autocast(), torch.set_grad_enabled(keep_graph):
        fake = g(noise, fake_labels)
    with autocast():
        # (1) Update D: maximise the --loss objective (losses.py, docs/losses.md), e.g. for ns
        # log D(x) + log(1 - D(G(z,y))) + log C(y|x); hinge: min(0, -1 + D(x)) + min(0, -1 -
        # D(G(z,y))) + log C(y|x); wgan-gp: D(x) - D(G(z,y)) - gp_weight * penalty + log C(y|x).
        # Real and generated go through D as one batch: one pass instead of two. D has no
        # BatchNorm, so no statistic is shared between the halves.
        logits, class_logits = d(torch.cat([real, fake.detach()]))
        real_logit, fake_logit, real_class_logits = logits[:n], logits[n:], class_logits[:n]
        loss_d = loss.discriminator(real_logit, fake_logit, real_class_logits, labels, config.class_weight)
    if loss.gradient_penalty:
        epsilon = torch.rand(n, device=real.device, generator=state.noise_rng)
        loss_d = loss_d + config.gp_weight * gradient_penalty(lambda x: d(x)[0], real, fake.detach(), epsilon)
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
    with autocast():
        # (2) Update G: maximise log D(G(z,y)) + log C(y|G(z,y)) for ns (non-saturating);
        # D(G(z,y)) + log C(y|G(z,y)) for hinge and wgan-gp. D is the one just updated.
        fake_logit_after, fake_class_logits = state.discriminator(fake)
        loss_g = LOSSES[config.loss].generator(fake_logit_after, fake_class_logits, fake_labels,
                                               config.class_weight)
    state.opt_g.zero_grad(set_to_none=True)
    loss_g.backward()
    state.opt_g.step()
    state.step += 1
    return step_statistics(*d_out, loss_g, labels)


def step_statistics(loss_d, real_logit, fake_logit, real_class_logits, loss_g, labels) -> dict:
    """The metrics.jsonl numbers of one step; d_real and d_fake are sigma(logit) for every loss."""
    stats = torch.stack([loss_d.float(), loss_g.float(), torch.sigmoid(real_logit.float()).mean(),
                         torch.sigmoid(fake_logit.float()).mean(),
                         torch.cat([real_logit > 0, fake_logit < 0]).float().mean(),
                         (real_class_logits.argmax(1) == labels).float().mean()]).tolist()
    return dict(zip(("loss_d", "loss_g", "d_real", "d_fake", "d_accuracy", "class_accuracy"), stats))


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


def write_figures(state: TrainState, data: ImageSet, run: RunDir, epoch: int, final: bool) -> None:
    names = data.class_names
    grid = generate(state.generator, state.fixed_noise, state.fixed_labels).cpu().numpy()
    plots.save_class_grid(grid, names, run.sample_grid(epoch), f"epoch {epoch}, step {state.step}")
    rows = run.read_metrics()
    if rows:
        plots.save_loss_curves(rows, run.loss_curves)
    if final:
        real = np.zeros((len(names), *data.images.shape[1:]), dtype=np.uint8)  # black: class absent
        for c in range(len(names)):
            found = (data.labels == c).nonzero()
            if len(found):
                real[c] = data.images[found[0, 0]].cpu().numpy()
        plots.save_pairs(grid[::SAMPLES_PER_CLASS], real, names, run.pairs)


def save(state: TrainState, config: TrainConfig, data: ImageSet, run: RunDir, epoch_done: int = 0) -> None:
    checkpoint = to_checkpoint(state, config, data.class_names)
    if epoch_done:
        save_checkpoint(checkpoint, run.epoch_checkpoint(epoch_done))
    save_checkpoint(checkpoint, run.latest)


@contextlib.contextmanager
def stop_on_sigint():
    """Turn Ctrl-C into a flag checked between steps, so the checkpoint is never mid-update."""
    flag = {"stop": False}
    if not hasattr(signal, "SIGINT") or signal.getsignal(signal.SIGINT) is None:
        yield flag
        return
    try:
        previous = signal.signal(signal.SIGINT, lambda *_: flag.update(stop=True))
    except ValueError:  # not the main thread: leave Ctrl-C alone
        yield flag
        return
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)


def make_autocast(device: torch.device):
    if device.type == "cuda":
        return lambda: torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext


def epoch_summary(epoch: int, epochs: int, rows: list[dict], seconds: float) -> str:
    mean = {k: sum(r[k] for r in rows) / len(rows) for k in rows[0] if k not in ("step", "epoch")}
    return (f"epoch {epoch}/{epochs} step {rows[-1]['step']} | loss_d {mean['loss_d']:.3f} "
            f"loss_g {mean['loss_g']:.3f} | D(x) {mean['d_real']:.2f} D(G(z)) {mean['d_fake']:.2f} "
            f"| D acc {mean['d_accuracy']:.2f} class acc {mean['class_accuracy']:.2f} "
            f"| {mean['images_per_s']:.0f} img/s | {seconds:.0f} s")


def run_epoch(state, data, batches, config, run, epoch, autocast, stop) -> list[dict]:
    """Train on `batches` (the rest of this epoch); returns the epoch's metric rows."""
    rows, first = [], state.step % len(batches)
    bar = tqdm(batches[first:], desc=f"epoch {epoch}/{config.epochs}", leave=False,
               disable=not config.progress, dynamic_ncols=True)
    with open(run.metrics, "a") as metrics_file:
        for index in bar:
            started = time.perf_counter()
            real = to_model_range(data.images[index])
            stats = train_step(state, real, data.labels[index], config, autocast)
            if not all(math.isfinite(stats[k]) for k in ("loss_d", "loss_g")):
                raise DivergenceError(f"non-finite loss at step {state.step}: loss_d "
                                      f"{stats['loss_d']}, loss_g {stats['loss_g']}")
            row = {"step": state.step, "epoch": epoch, **stats,
                   "images_per_s": len(index) / (time.perf_counter() - started)}
            rows.append(row)
            if state.step % config.log_every == 0:
                metrics_file.write(json.dumps(row) + "\n")
            bar.set_postfix(loss_d=f"{stats['loss_d']:.3f}", loss_g=f"{stats['loss_g']:.3f}", refresh=False)
            if stop["stop"] or state.step >= total_steps(config, len(batches)):
                break
    return rows


def total_steps(config: TrainConfig, steps_per_epoch: int) -> int:
    total = config.epochs * steps_per_epoch
    return total if config.max_steps is None else min(total, config.max_steps)


def check_options(config: TrainConfig) -> None:
    """Refuse option values that cannot train, before anything is written."""
    if config.critic_steps < 1:
        raise TrainError(f"--critic-steps must be at least 1, not {config.critic_steps}")
    if config.gp_weight < 0:
        raise TrainError(f"--gp-weight must be >= 0, not {config.gp_weight}")


def setup(config: TrainConfig):
    check_options(config)
    device = pick_device(config.device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    else:
        torch.set_num_threads(os.cpu_count() or 1)
        # Near-zero activations late in training turn denormal; x86 handles those ~100x slower.
        torch.set_flush_denormal(True)
    run = RunDir(config.run_dir)
    run.prepare(config.resume)
    data = load_fashion_mnist("train", config.data_dir)
    if len(data) < config.batch_size:
        raise TrainError(f"--batch-size {config.batch_size} exceeds the {len(data)} training images")
    data.images, data.labels = data.images.to(device), data.labels.to(device)
    return device, run, data


def log_domain_fid(monitor: DomainFID, state: TrainState, run: RunDir, epoch: int,
                   device: torch.device) -> None:
    """Append the fast domain FID of the generator now as its own metrics.jsonl row. Written
    before the epoch's checkpoint, so a resume from an earlier checkpoint drops it (step >)."""
    row = {"step": state.step, "epoch": epoch, **monitor.measure(state.generator, device)}
    with open(run.metrics, "a") as metrics_file:
        metrics_file.write(json.dumps(row) + "\n")
    tqdm.write(f"epoch {epoch}: domain FID {row['domain_fid']:.3f} ({row['domain_fid_samples']} "
               f"generated vs the test split, {row['domain_fid_seconds']:.1f} s)")


def train(config: TrainConfig) -> TrainState:
    """Train (or resume) the run in config.run_dir; returns the final state."""
    device, run, data = setup(config)
    num_classes = len(data.class_names)
    if config.resume:
        state = restore_state(config, num_classes, device, run)
        run.truncate_metrics(state.step)
    else:
        state = new_state(config, num_classes, device)
        run.metrics.write_text("")
    config.save(run.config)
    steps_per_epoch = len(data) // config.batch_size
    total, autocast = total_steps(config, steps_per_epoch), make_autocast(device)
    monitor = DomainFID.for_config(config)
    with stop_on_sigint() as stop:
        while state.step < total and not stop["stop"]:
            epoch = state.step // steps_per_epoch + 1
            started = time.perf_counter()
            batches = epoch_batches(data, config, epoch, device)
            rows = run_epoch(state, data, batches, config, run, epoch, autocast, stop)
            epoch_done = epoch if state.step % steps_per_epoch == 0 else 0
            if monitor is not None and is_due(config, epoch_done):
                log_domain_fid(monitor, state, run, epoch, device)
            save(state, config, data, run, epoch_done)
            write_figures(state, data, run, epoch, final=state.step >= total or stop["stop"])
            tqdm.write(epoch_summary(epoch, config.epochs, rows, time.perf_counter() - started))
    if stop["stop"]:
        raise KeyboardInterrupt(f"stopped at step {state.step}; checkpoint saved to {run.latest}")
    return state

"""--loss hinge|wgan-gp and --critic-steps: known answers, directions, and the trainer's step counts.

The ns loss keeps its own known-answer tests in test_losses.py."""
import math

import pytest
import torch
from argparse_dataclass import ArgumentParser
from torch import nn

from train.errors import TrainError
from train.gan import trainer
from train.gan.config import TrainConfig
from train.gan.losses import (LOSSES, critic_generator_loss, gradient_penalty, hinge_discriminator_loss,
                          wasserstein_discriminator_loss)
from train.gan.networks import build_networks

CPU = torch.device("cpu")


def logits(value: float, n: int = 6) -> torch.Tensor:
    return torch.full((n,), float(value))


def labels(n: int = 6) -> torch.Tensor:
    return torch.arange(n) % 10


UNIFORM = torch.zeros(6, 10)  # class logits: cross-entropy ln 10


@pytest.mark.parametrize("class_weight", [0.0, 1.0, 2.0])
def test_zero_logits_known_answers(class_weight):
    ce = class_weight * math.log(10)
    assert hinge_discriminator_loss(logits(0), logits(0), UNIFORM, labels(), class_weight).item() \
        == pytest.approx(2 + ce)  # relu(1 - 0) + relu(1 + 0)
    assert wasserstein_discriminator_loss(logits(0), logits(0), UNIFORM, labels(), class_weight).item() \
        == pytest.approx(ce)
    assert critic_generator_loss(logits(0), UNIFORM, labels(), class_weight).item() == pytest.approx(ce)


@pytest.mark.parametrize("real, fake, expected", [
    (2.0, -2.0, 0.0),     # both beyond the margin: no loss
    (0.5, 0.5, 2.0),      # 0.5 short of +1, 1.5 past -1
    (-1.0, 3.0, 6.0),     # 2 + 4
])
def test_hinge_discriminator_known_answers(real, fake, expected):
    assert hinge_discriminator_loss(logits(real), logits(fake), UNIFORM, labels(), 0.0).item() \
        == pytest.approx(expected)


def test_critic_losses_known_answers():
    real, fake = torch.tensor([3.0, 1.0]), torch.tensor([1.0, -3.0])  # means 2 and -1
    two = torch.zeros(2, 10)
    assert wasserstein_discriminator_loss(real, fake, two, labels(2), 0.0).item() == pytest.approx(-3.0)
    assert critic_generator_loss(fake, two, labels(2), 0.0).item() == pytest.approx(1.0)


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_gradient_signs_match_what_each_network_maximises(name):
    loss = LOSSES[name]
    real, fake = logits(0).requires_grad_(), logits(0).requires_grad_()
    loss.discriminator(real, fake, UNIFORM, labels(), 1.0).backward()
    assert (real.grad < 0).all() and (fake.grad > 0).all()
    fake_for_g = logits(0).requires_grad_()
    loss.generator(fake_for_g, UNIFORM, labels(), 1.0).backward()
    assert (fake_for_g.grad < 0).all()


def linear_critic(slope: float) -> nn.Linear:
    """D(x) = <w, x> with ||w||_2 = slope everywhere: its gradient norm is `slope` at every x."""
    critic = nn.Linear(784, 1, bias=False)
    with torch.no_grad():
        critic.weight.copy_(torch.randn(1, 784, generator=torch.Generator().manual_seed(0)))
        critic.weight.mul_(slope / critic.weight.norm())
    return critic


def flat(critic):
    return lambda x: critic(x.flatten(1)).squeeze(1)


@pytest.mark.parametrize("slope", [1.0, 3.0, 0.25])
def test_gradient_penalty_of_a_linear_critic(slope):
    critic = linear_critic(slope)
    real, fake = torch.rand(5, 1, 28, 28), -torch.rand(5, 1, 28, 28)
    penalty = gradient_penalty(flat(critic), real, fake, torch.rand(5))
    assert penalty.item() == pytest.approx((slope - 1) ** 2, rel=1e-5, abs=1e-6)
    penalty.backward()  # d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w / ||w||: the graph reaches D's weights
    expected = 2 * (slope - 1) * critic.weight.detach() / slope
    torch.testing.assert_close(critic.weight.grad, expected, rtol=1e-4, atol=1e-7)


def test_gradient_penalty_is_float32_under_bf16_autocast():
    critic = linear_critic(3.0)
    real, fake = torch.rand(4, 1, 28, 28), torch.rand(4, 1, 28, 28)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert critic(real.flatten(1)).dtype == torch.bfloat16  # autocast is on for the critic
        penalty = gradient_penalty(flat(critic), real.bfloat16(), fake.bfloat16(), torch.rand(4))
    assert penalty.dtype == torch.float32
    assert penalty.item() == pytest.approx(4.0, rel=1e-5)  # bf16 would be off by ~1e-2


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_each_losss_discriminator_step_separates_white_real_from_black_fake(name):
    torch.manual_seed(0)
    _, discriminator = build_networks(latent_dim=8, width=8)
    optimizer = torch.optim.Adam(discriminator.parameters(), 2e-4, betas=(0.5, 0.999))
    real, fake = torch.ones(16, 1, 28, 28), -torch.ones(16, 1, 28, 28)
    loss = LOSSES[name]

    def mean_logits():
        with torch.no_grad():
            return discriminator(real)[0].mean().item(), discriminator(fake)[0].mean().item()

    history = [mean_logits()]
    for _ in range(3):
        real_logit, class_logits = discriminator(real)
        value = loss.discriminator(real_logit, discriminator(fake)[0], class_logits, labels(16), 1.0)
        if loss.gradient_penalty:
            value = value + 10 * gradient_penalty(lambda x: discriminator(x)[0], real, fake, torch.rand(16))
        optimizer.zero_grad()
        value.backward()
        optimizer.step()
        history.append(mean_logits())
    for (real_before, fake_before), (real_after, fake_after) in zip(history, history[1:]):
        assert real_after > real_before and fake_after < fake_before, history


# --- in the trainer ------------------------------------------------------------------------

def adam_steps(optimizer) -> int:
    return int(next(iter(optimizer.state.values()))["step"])


@pytest.mark.parametrize("name", sorted(LOSSES))
@pytest.mark.parametrize("critic_steps", [1, 2])
def test_train_step_does_critic_steps_d_updates_per_g_update(tiny, name, critic_steps):
    config = tiny.config("run", None, loss=name, critic_steps=critic_steps)
    state = trainer.new_state(config, num_classes=10, device=CPU)
    real, real_labels = torch.rand(16, 1, 28, 28) * 2 - 1, torch.arange(16) % 10
    for _ in range(3):
        stats = trainer.train_step(state, real, real_labels, config, trainer.make_autocast(CPU))
        assert all(math.isfinite(v) for v in stats.values()), stats
    assert state.step == 3
    assert adam_steps(state.opt_g) == 3 and adam_steps(state.opt_d) == 3 * critic_steps


def test_loss_flags_parse():
    parser = ArgumentParser(TrainConfig)
    config = parser.parse_args(["--loss", "wgan-gp", "--critic-steps", "5", "--gp-weight", "2.5"])
    assert (config.loss, config.critic_steps, config.gp_weight) == ("wgan-gp", 5, 2.5)
    assert TrainConfig().loss == "hinge" and TrainConfig().critic_steps == 1
    with pytest.raises(SystemExit):
        parser.parse_args(["--loss", "lsgan"])


@pytest.mark.parametrize("field, value, message", [("critic_steps", 0, "--critic-steps"),
                                                   ("gp_weight", -1.0, "--gp-weight"),
                                                   ("ema", 1.0, "--ema")])
def test_bad_option_values_refuse_before_writing(make_config, field, value, message):
    config = make_config(**{field: value})
    with pytest.raises(TrainError, match=message):
        trainer.train(config)
    assert not config.run_dir.exists()

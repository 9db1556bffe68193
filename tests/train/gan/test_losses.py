import math

import pytest
import torch

from train.gan.losses import discriminator_loss, generator_loss

LN2, LN3 = math.log(2), math.log(3)


def logits(value: float, n: int = 6) -> torch.Tensor:
    return torch.full((n,), float(value))


def uniform_class_logits(n: int = 6, classes: int = 10) -> torch.Tensor:
    return torch.zeros(n, classes)


def labels(n: int = 6, classes: int = 10) -> torch.Tensor:
    return torch.arange(n) % classes


@pytest.mark.parametrize("class_weight", [0.0, 0.5, 1.0, 2.0])
@pytest.mark.parametrize("classes", [10, 4])
def test_zero_logits_known_answer(class_weight, classes):
    # BCE of logit 0 is ln 2 per term; cross-entropy of uniform logits over C classes is ln C.
    class_logits = uniform_class_logits(6, classes)
    loss_d = discriminator_loss(logits(0), logits(0), class_logits, labels(6, classes), class_weight)
    loss_g = generator_loss(logits(0), class_logits, labels(6, classes), class_weight)
    assert loss_d.item() == pytest.approx(2 * LN2 + class_weight * math.log(classes))
    assert loss_g.item() == pytest.approx(LN2 + class_weight * math.log(classes))


@pytest.mark.parametrize("real, fake, expected_d, expected_g", [
    # BCE(x, 1) = ln(1 + e^-x), BCE(x, 0) = ln(1 + e^x).
    (LN3, LN3, math.log(4 / 3) + math.log(4), math.log(4 / 3)),
    (LN3, -LN3, 2 * math.log(4 / 3), math.log(4)),
    (-LN3, LN3, 2 * math.log(4), math.log(4 / 3)),
])
def test_adversarial_terms_known_answer(real, fake, expected_d, expected_g):
    class_logits = uniform_class_logits()
    loss_d = discriminator_loss(logits(real), logits(fake), class_logits, labels(), 0.0)
    loss_g = generator_loss(logits(fake), class_logits, labels(), 0.0)
    assert loss_d.item() == pytest.approx(expected_d)
    assert loss_g.item() == pytest.approx(expected_g)


def test_class_term_known_answer():
    # Logit ln 9 on the right class and 0 on the other 9: p = 9 / (9 + 9) = 1/2, CE = ln 2.
    class_logits = torch.zeros(6, 10)
    class_logits[torch.arange(6), labels()] = math.log(9)
    loss_d = discriminator_loss(logits(0), logits(0), class_logits, labels(), 1.0)
    loss_g = generator_loss(logits(0), class_logits, labels(), 1.0)
    assert loss_d.item() == pytest.approx(3 * LN2)
    assert loss_g.item() == pytest.approx(2 * LN2)


def test_confident_correct_discriminator_has_near_zero_loss():
    class_logits = 30.0 * torch.nn.functional.one_hot(labels(), 10).float()
    loss = discriminator_loss(logits(30), logits(-30), class_logits, labels(), 1.0)
    assert 0 <= loss.item() < 1e-6


def test_fooled_generator_has_near_zero_loss():
    class_logits = 30.0 * torch.nn.functional.one_hot(labels(), 10).float()
    assert 0 <= generator_loss(logits(30), class_logits, labels(), 1.0).item() < 1e-6


def test_gradient_signs_match_what_each_network_maximises():
    real, fake = logits(0).requires_grad_(), logits(0).requires_grad_()
    discriminator_loss(real, fake, uniform_class_logits(), labels(), 1.0).backward()
    assert (real.grad < 0).all()  # minimising raises D's logit on real images
    assert (fake.grad > 0).all()  # ... and lowers it on generated ones
    fake_for_g = logits(0).requires_grad_()
    generator_loss(fake_for_g, uniform_class_logits(), labels(), 1.0).backward()
    assert (fake_for_g.grad < 0).all()  # G wants its images called real


def test_losses_are_scalars():
    loss_d = discriminator_loss(logits(1), logits(2), uniform_class_logits(), labels(), 1.0)
    loss_g = generator_loss(logits(1), uniform_class_logits(), labels(), 1.0)
    assert loss_d.shape == () and loss_g.shape == ()

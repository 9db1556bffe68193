"""The GAN losses (`--loss`): hinge (the default), non-saturating BCE and WGAN-GP, each with
the AC-GAN class term; LOSSES maps each --loss name to its pair of functions.

This is the home of the formulas: each function's docstring states the objective it
implements (docs/losses.md explains them and links here by function name). Sign convention:
each function returns a loss to *minimise*; its docstring says what the network maximises.
Notation: x a real image of class y_x, G(z, y) an image generated for class y, D the
discriminator's real/generated output (a probability for ns, the raw logit for hinge and
WGAN-GP), C(. | x) its class head, class_weight the weight of the class term.

To add a loss: its functions here (docstring with the formula), an entry in LOSSES, its name
among TrainConfig.loss's choices (train/gan/config.py), and a section in docs/losses.md.
"""
from typing import Callable, NamedTuple

import torch
import torch.nn.functional as F


def discriminator_loss(real_logit: torch.Tensor, fake_logit: torch.Tensor,
                       real_class_logits: torch.Tensor, real_labels: torch.Tensor,
                       class_weight: float) -> torch.Tensor:
    """Non-saturating D: maximises log D(x) + log(1 - D(G(z, y))) + class_weight * log C(y_x | x),
    with D = sigmoid(logit): tell real from generated, and name the class of real images."""
    adversarial = (F.binary_cross_entropy_with_logits(real_logit, torch.ones_like(real_logit))
                   + F.binary_cross_entropy_with_logits(fake_logit, torch.zeros_like(fake_logit)))
    return adversarial + class_weight * F.cross_entropy(real_class_logits, real_labels)


def generator_loss(fake_logit: torch.Tensor, fake_class_logits: torch.Tensor,
                   fake_labels: torch.Tensor, class_weight: float) -> torch.Tensor:
    """Non-saturating G: maximises log D(G(z, y)) + class_weight * log C(y | G(z, y)) (instead of
    minimising log(1 - D(G(z, y)))): look real, and look like the class it was asked for."""
    adversarial = F.binary_cross_entropy_with_logits(fake_logit, torch.ones_like(fake_logit))
    return adversarial + class_weight * F.cross_entropy(fake_class_logits, fake_labels)


# --- hinge (Lim & Ye 2017; Miyato et al. 2018) -------------------------------------------------

def hinge_discriminator_loss(real_logit: torch.Tensor, fake_logit: torch.Tensor,
                             real_class_logits: torch.Tensor, real_labels: torch.Tensor,
                             class_weight: float) -> torch.Tensor:
    """Hinge D: maximises min(0, -1 + D(x)) + min(0, -1 - D(G(z, y)))
    + class_weight * log C(y_x | x), with D the raw logit: real images pushed above +1,
    generated ones below -1, no further."""
    adversarial = F.relu(1 - real_logit).mean() + F.relu(1 + fake_logit).mean()
    return adversarial + class_weight * F.cross_entropy(real_class_logits, real_labels)


def critic_generator_loss(fake_logit: torch.Tensor, fake_class_logits: torch.Tensor,
                          fake_labels: torch.Tensor, class_weight: float) -> torch.Tensor:
    """Hinge and WGAN-GP G: maximises D(G(z, y)) + class_weight * log C(y | G(z, y)), with D the
    raw logit (the critic's score)."""
    return -fake_logit.mean() + class_weight * F.cross_entropy(fake_class_logits, fake_labels)


# --- WGAN-GP (Gulrajani et al. 2017) -----------------------------------------------------------

def wasserstein_discriminator_loss(real_logit: torch.Tensor, fake_logit: torch.Tensor,
                                   real_class_logits: torch.Tensor, real_labels: torch.Tensor,
                                   class_weight: float) -> torch.Tensor:
    """WGAN-GP critic: maximises D(x) - D(G(z, y)) + class_weight * log C(y_x | x), with D the raw
    logit, minus gp_weight * gradient_penalty: the trainer adds that term to this loss, as it
    needs the critic itself rather than its outputs (GANLoss.gradient_penalty)."""
    adversarial = fake_logit.mean() - real_logit.mean()
    return adversarial + class_weight * F.cross_entropy(real_class_logits, real_labels)


def gradient_penalty(critic: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor,
                     fake: torch.Tensor, epsilon: torch.Tensor) -> torch.Tensor:
    """WGAN-GP's penalty E[(||grad D(x_hat)||_2 - 1)^2] at
    x_hat = epsilon * x + (1 - epsilon) * G(z, y), one epsilon in [0, 1] per image. Computed in
    float32 with autocast off: squaring a bf16 gradient norm loses most of the penalty's
    precision."""
    epsilon = epsilon.float().view(-1, *([1] * (real.dim() - 1)))
    x_hat = (epsilon * real.float() + (1 - epsilon) * fake.float()).requires_grad_(True)
    with torch.autocast(x_hat.device.type, enabled=False):
        (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    return ((grad.flatten(1).norm(2, dim=1) - 1) ** 2).mean()


class GANLoss(NamedTuple):
    discriminator: Callable[..., torch.Tensor]  # (real_logit, fake_logit, real_class_logits, labels, w)
    generator: Callable[..., torch.Tensor]      # (fake_logit, fake_class_logits, fake_labels, w)
    gradient_penalty: bool                      # add gp_weight * gradient_penalty to D's loss


LOSSES = {"ns": GANLoss(discriminator_loss, generator_loss, False),
          "hinge": GANLoss(hinge_discriminator_loss, critic_generator_loss, False),
          "wgan-gp": GANLoss(wasserstein_discriminator_loss, critic_generator_loss, True)}

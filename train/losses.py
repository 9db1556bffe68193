"""AC-GAN losses with the non-saturating GAN loss (BCE with logits); formulas in docs/losses.md.

Sign convention: each function returns a loss to *minimise*; the comments say what the
network maximises.
"""
import torch
import torch.nn.functional as F


def discriminator_loss(real_logit: torch.Tensor, fake_logit: torch.Tensor,
                       real_class_logits: torch.Tensor, real_labels: torch.Tensor,
                       class_weight: float) -> torch.Tensor:
    # D maximises log D(x) + log(1 - D(G(z, y))) + class_weight * log C(y_x | x):
    # tell real from generated, and name the class of real images.
    adversarial = (F.binary_cross_entropy_with_logits(real_logit, torch.ones_like(real_logit))
                   + F.binary_cross_entropy_with_logits(fake_logit, torch.zeros_like(fake_logit)))
    return adversarial + class_weight * F.cross_entropy(real_class_logits, real_labels)


def generator_loss(fake_logit: torch.Tensor, fake_class_logits: torch.Tensor,
                   fake_labels: torch.Tensor, class_weight: float) -> torch.Tensor:
    # G maximises log D(G(z, y)) (non-saturating, instead of minimising log(1 - D(G(z, y))))
    # + class_weight * log C(y | G(z, y)): look real, and look like the class it was asked for.
    adversarial = F.binary_cross_entropy_with_logits(fake_logit, torch.ones_like(fake_logit))
    return adversarial + class_weight * F.cross_entropy(fake_class_logits, fake_labels)

import numpy as np
import pytest
import torch

from train.detection.augment import augment, AUGMENTATIONS, blur, jpeg, noise, shift
from train.detection.model import DetectorNet, FingerprintCNN, fit_real_density, RealDensity


def gaussian_images(n, rng, classes=2, rank=3):
    """Images on a rank-3 subspace, one cluster per class: known PCA and known densities."""
    basis = np.linalg.qr(rng.normal(size=(784, rank)))[0].T           # [rank, 784] orthonormal
    centres = rng.normal(0, 2, (classes, rank))
    labels = np.arange(n) % classes
    coefficients = centres[labels] + rng.normal(0, 0.3, (n, rank))
    return coefficients @ basis * 0.05, labels, basis


def test_density_fits_pca_so_images_in_the_span_have_no_residual():
    rng = np.random.default_rng(0)
    images, labels, basis = gaussian_images(2000, rng)
    density = fit_real_density(RealDensity(components=3, num_classes=2), images, labels)
    inside = torch.tensor(images[:10], dtype=torch.float32).view(10, 1, 28, 28)
    off = inside + 0.05 * torch.randn(10, 1, 28, 28)
    assert (density.scores(inside)[:, 0] < np.log(1e-5)).all()           # residual ~ 0 (log 1e-6 floor)
    assert (density.scores(off)[:, 0] > np.log(1e-3)).all()
    projected = density.basis.double() @ torch.tensor(basis).T  # same subspace: singular values 1
    np.testing.assert_allclose(torch.linalg.svdvals(projected).numpy(), 1, atol=1e-3)


def test_density_is_higher_at_a_class_centre_than_between_classes():
    rng = np.random.default_rng(1)
    images, labels, _ = gaussian_images(4000, rng)
    density = fit_real_density(RealDensity(components=3, num_classes=2), images, labels)
    centre = torch.tensor(images[labels == 0].mean(0), dtype=torch.float32).view(1, 1, 28, 28)
    between = torch.tensor((images[labels == 0].mean(0) + images[labels == 1].mean(0)) / 2,
                           dtype=torch.float32).view(1, 1, 28, 28)
    assert density.scores(centre)[0, 1] < density.scores(between)[0, 1]  # -log density


def test_detector_weighs_both_parts_then_shifts_by_the_threshold():
    torch.manual_seed(0)
    net = DetectorNet(FingerprintCNN(width=4), RealDensity(components=2, num_classes=2)).eval()
    images = torch.rand(6, 1, 28, 28) * 2 - 1
    fingerprint, density = net.fingerprint(images), net.density(images)
    torch.testing.assert_close(net.parts(images), torch.stack([fingerprint, density], 1))
    net.mix.copy_(torch.tensor([2.0, 0.5, -1.0]))
    net.threshold.fill_(-1.5)
    torch.testing.assert_close(net(images), 2.0 * fingerprint + 0.5 * density - 1.0 + 1.5)


@pytest.mark.parametrize("function", [shift, blur, noise, jpeg])
def test_each_augmentation_keeps_shape_and_range(function):
    rng = torch.Generator().manual_seed(0)
    images = torch.rand(8, 1, 28, 28) * 2 - 1
    out = function(images, rng)
    assert out.shape == images.shape and not torch.equal(out, images)
    assert out.min() >= -1.5 and out.max() <= 1.5


def test_shift_moves_whole_pixels_and_fills_with_black():
    image = -torch.ones(1, 1, 28, 28)
    image[0, 0, 14, 14] = 1.0
    rng = torch.Generator().manual_seed(0)
    for _ in range(20):
        out = shift(image, rng)
        (row, col), = (out[0, 0] == 1.0).nonzero().tolist()
        assert abs(row - 14) <= 2 and abs(col - 14) <= 2 and (out == -1).sum() == 28 * 28 - 1


@pytest.mark.parametrize("function", [blur, jpeg])
def test_smoothing_augmentations_keep_a_flat_image_flat(function):
    flat = torch.full((4, 1, 28, 28), 0.2)
    out = function(flat, torch.Generator().manual_seed(0))
    torch.testing.assert_close(out, flat, atol=2 / 127.5, rtol=0)


def test_augment_returns_images_on_the_uint8_grid():
    images = torch.rand(64, 1, 28, 28) * 2 - 1
    out = augment(images, torch.Generator().manual_seed(0))
    levels = (out + 1) * 127.5
    torch.testing.assert_close(levels, levels.round())
    assert all(0 < fraction < 1 for _, fraction in AUGMENTATIONS)

import numpy as np
import pytest
import torch

from train.detection.real_model import (EPS, fit_real_statistics, isolated_fraction, MIN_WIDTH, RealStatistics,
                                        STATISTICS, TAIL_QUANTILE)


def to_model(levels) -> torch.Tensor:
    """uint8-like grey levels [N, 28, 28] -> model range [N, 1, 28, 28]."""
    return torch.as_tensor(np.asarray(levels), dtype=torch.float32)[:, None] / 127.5 - 1


def garments(n: int, seed: int = 0) -> np.ndarray:
    """Smooth bright rectangles of random size and brightness on a black background: a stand-in
    for real images with clean backgrounds and crisp silhouettes."""
    rng = np.random.default_rng(seed)
    out = np.zeros((n, 28, 28))
    for image in out:
        top, left = rng.integers(2, 8, 2)
        bottom, right = rng.integers(20, 26, 2)
        image[top:bottom, left:right] = rng.uniform(120, 250) + np.linspace(0, 30, right - left)
    return np.rint(out)


def statistic(model, images, name):
    return model.statistics(to_model(images))[:, STATISTICS.index(name)]


def test_a_flat_image_has_no_steps_no_edges_and_no_isolated_pixels():
    model = RealStatistics(components=2)
    flat = np.full((1, 28, 28), 90.0)
    assert statistic(model, flat, "total_variation").item() == pytest.approx(np.log(EPS), abs=1e-5)
    assert statistic(model, flat, "edge_pixels").item() == pytest.approx(np.log(1e-3), abs=1e-5)
    assert statistic(model, flat, "isolated_pixels").item() == pytest.approx(np.log(1 / 784), abs=1e-5)
    assert statistic(model, flat, "black_pixels").item() == 0.0
    assert statistic(model, np.zeros((1, 28, 28)), "black_pixels").item() == 1.0


@pytest.mark.parametrize("level, expected", [(255, 1), (60, 1), (20, 0)])
def test_isolated_pixels_counts_one_bright_pixel_on_black_when_it_stands_out(level, expected):
    image = np.zeros((1, 28, 28))
    image[0, 10, 12] = level                                    # 60/255 > ISOLATED_STEP, 20/255 < it
    assert isolated_fraction(to_model(image) / 2 + 0.5).item() == pytest.approx(expected / 784)


def test_total_variation_of_stripes_is_the_mean_step():
    stripes = np.zeros((1, 28, 28))
    stripes[0, :, ::2] = 255                                    # every horizontal step is 1, vertical 0
    assert statistic(RealStatistics(2), stripes, "total_variation").item() == pytest.approx(np.log(1 + EPS), abs=1e-5)


@pytest.fixture(scope="module")
def fitted():
    return fit_real_statistics(RealStatistics(components=8), to_model(garments(2000)))


def test_fit_puts_all_but_the_tails_of_the_training_images_inside_the_range(fitted):
    units = fitted.tail_units(to_model(garments(2000))).numpy()
    assert (units <= 1e-6).mean(0).min() >= 1 - 2 * TAIL_QUANTILE - 1e-9
    assert torch.all(fitted.hi - fitted.median >= MIN_WIDTH - 1e-6)
    assert torch.all(fitted.median - fitted.lo >= MIN_WIDTH - 1e-6)


def test_images_in_the_pca_span_have_no_residual(fitted):
    inside = fitted.pca_mean + 0.3 * fitted.pca_basis[:3]      # the mean plus main directions
    residual = fitted.statistics(inside.reshape(3, 1, 28, 28))[:, STATISTICS.index("pca_residual")]
    assert torch.all(residual < np.log(2e-6))                   # log(1e-6) is the floor


@pytest.mark.parametrize("make", [
    lambda rng, real: rng.integers(0, 256, real.shape),                          # uniform noise
    lambda rng, real: np.full(real.shape, 128.0),                                 # flat grey
    lambda rng, real: np.where(rng.random(real.shape) < 0.15, 255.0, real),     # speckle
    lambda rng, real: np.concatenate([real[:, :14], rng.integers(0, 256, real[:, 14:].shape)], 1),  # half noise
])
def test_images_unlike_the_training_images_fall_outside_the_range(fitted, make):
    real = garments(50, seed=1)
    fitted.cut.fill_(0.0)
    odd = to_model(make(np.random.default_rng(0), real))
    assert (fitted.outlier_score(odd) > 0).all() and (fitted(odd) < 0).all()
    assert (fitted(to_model(real)) >= 0).float().mean() >= 0.9  # logit 0 is "real", as in the CLI


def test_an_image_without_isolated_pixels_is_not_on_the_edge_of_the_range():
    """When most training images have an isolated pixel or two, the 0.1 % quantile is "none": an
    image with none must still count as typical, not as sitting on the edge of the range."""
    images = garments(1000, seed=3)
    images[: 600, 1, 1] = 255                                    # a lone bright pixel on the background in 60 %
    model = fit_real_statistics(RealStatistics(components=4), to_model(images))
    units = model.tail_units(to_model(garments(50, seed=4)))[:, STATISTICS.index("isolated_pixels")]
    assert torch.all(units < -0.5)

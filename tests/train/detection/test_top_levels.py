"""The top-levels part: its features' known values, its abstention below the floor, its fitted cut."""
import numpy as np
import pytest
import torch

from train.data import to_model_range
from train.detection.top_levels import ABSTAIN, fit_top_levels, top_level_features, TopLevels


def image_with(levels: dict) -> np.ndarray:
    """A black uint8 image [1, 28, 28] with `levels` = {grey level: how many pixels}."""
    flat = np.zeros(28 * 28, np.uint8)
    start = 0
    for level, count in levels.items():
        flat[start:start + count] = level
        start += count
    return flat.reshape(1, 28, 28)


@pytest.mark.parametrize("levels, expected", [
    # one pixel at 255, the rest black: drops of 255 to the next 15, one pixel counted at every level
    ({255: 1}, [1, 255, 255, 255, 255] + [np.log(2)] * 6),
    # a saturated patch of 20 pixels at 254: no drops, 20 pixels counted everywhere, peak not 255
    ({254: 20}, [0, 0, 0, 0, 0] + [np.log(21)] * 6),
    # a stretched image's top, levels 4 apart, 4 pixels each: the 2nd and 4th brightest at the peak,
    # the 8th at 251, the 16th at 243
    ({255: 4, 251: 4, 247: 4, 243: 4}, [1, 0, 0, 4, 12, np.log(9), np.log(13), np.log(17), np.log(17), np.log(17),
                                         np.log(17)]),
])
def test_features_have_their_known_values(levels, expected):
    grey = torch.from_numpy(image_with(levels)).float().unsqueeze(1)
    np.testing.assert_allclose(top_level_features(grey)[0].numpy(), expected, rtol=1e-6)


def test_below_the_floor_the_part_abstains_and_above_it_gives_log_odds_minus_the_cut():
    part = TopLevels(floor=254)
    part.weights[0] = 2.0  # log-odds 2 * (peak is 255), standardised with mean 0, scale 1
    part.cut.fill_(1.0)
    images = to_model_range(torch.from_numpy(np.concatenate([image_with({255: 1}), image_with({254: 3}),
                                                              image_with({253: 1})])))
    np.testing.assert_allclose(part(images).numpy(), [2.0 - 1.0, 0.0 - 1.0, ABSTAIN])


def test_an_unfitted_part_objects_to_nothing():
    images = to_model_range(torch.from_numpy(np.concatenate([image_with({255: 1}), image_with({254: 400})])))
    assert (TopLevels()(images) > 0).all()


def test_the_fit_calls_its_budget_of_held_out_real_images_generated_and_catches_saturated_patches():
    rng = np.random.default_rng(0)
    # "real": a lone peak at 255 above a stretched ramp; "generated": a saturated patch at 254-255
    real = np.stack([image_with({255: 1, int(v): 30, 100: 200}) for v in rng.integers(150, 230, 600)])[:, 0]
    fake = np.stack([image_with({255: int(k), 254: 30, 100: 200}) for k in rng.integers(0, 3, 300)])[:, 0]
    part, about = fit_top_levels(real[:400], fake, real[400:], floor=254, fpr=0.05)
    assert about["real"] == 400 and about["generated"] == 300 and "cut" in about
    with torch.inference_mode():
        held_out = part(to_model_range(torch.from_numpy(real[400:]))).numpy()
        caught = part(to_model_range(torch.from_numpy(fake))).numpy()
    assert np.mean(held_out < 0) <= 0.05 and np.mean(caught < 0) > 0.9


def test_without_generated_images_at_the_floor_the_fit_leaves_the_part_unfitted():
    real = np.concatenate([image_with({255: 1})] * 4)
    dark = np.concatenate([image_with({200: 5})] * 4)
    part, about = fit_top_levels(real, dark, real, floor=254, fpr=0.01)
    assert about["generated"] == 0 and "cut" not in about and float(part.cut) == -ABSTAIN

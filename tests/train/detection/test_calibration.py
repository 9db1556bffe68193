import numpy as np
import pytest

from train.detection.calibration import (average_precision, balanced_accuracy, false_positive_rate, fit_logistic,
                                        fit_platt, fpr_threshold, reliability, roc_auc)


@pytest.mark.parametrize("target", [0.01, 0.02, 0.05])
def test_threshold_meets_its_target_fpr_on_held_out_and_fresh_real_images(target):
    rng = np.random.default_rng(0)
    held_out, fresh = rng.normal(2.0, 1.5, 20_000), rng.normal(2.0, 1.5, 20_000)
    threshold = fpr_threshold(held_out, target)
    assert false_positive_rate(held_out, threshold) <= target
    assert false_positive_rate(held_out, threshold) > target - 0.001  # not needlessly strict
    assert false_positive_rate(fresh, threshold) == pytest.approx(target, abs=0.004)
    assert threshold == pytest.approx(2.0 + 1.5 * {0.01: -2.326, 0.02: -2.054, 0.05: -1.645}[target], abs=0.05)


def test_threshold_with_ties_never_exceeds_the_target():
    logits = np.array([0.0] * 5 + [1.0] * 95)
    threshold = fpr_threshold(logits, 0.02)  # calling the five tied zeros generated would be 5 %
    assert threshold == 0.0 and false_positive_rate(logits, threshold) == 0.0


@pytest.mark.parametrize("bad", [-0.1, 1.0])
def test_threshold_refuses_a_target_outside_0_1(bad):
    with pytest.raises(ValueError, match="target_fpr"):
        fpr_threshold(np.zeros(10), bad)


def test_platt_recovers_the_scale_and_shift_that_generated_the_labels():
    rng = np.random.default_rng(1)
    logits = rng.normal(0, 3, 200_000)
    is_real = rng.random(len(logits)) < 1 / (1 + np.exp(-(0.5 * logits - 1.0)))
    a, b = fit_platt(logits, is_real)
    assert a == pytest.approx(0.5, abs=0.02) and b == pytest.approx(-1.0, abs=0.03)


def test_reliability_of_calibrated_probabilities_is_near_zero_and_of_overconfident_ones_is_not():
    rng = np.random.default_rng(2)
    p = rng.random(100_000)
    is_real = rng.random(len(p)) < p
    assert reliability(p, is_real)["ece"] < 0.01
    overconfident = np.where(p > 0.5, 1.0, 0.0)
    result = reliability(overconfident, is_real)
    assert result["ece"] == pytest.approx(0.25, abs=0.01)
    assert [r["low"] for r in result["bins"]] == [0.0, 0.9]  # empty bins are left out


def test_balanced_accuracy_weights_both_sides_equally():
    real, fake = np.array([1.0, 1.0, -1.0, 1.0]), np.array([-1.0] * 10)
    assert balanced_accuracy(real, fake) == pytest.approx((0.75 + 1.0) / 2)


@pytest.mark.parametrize("real, fake, expected", [
    ([1, 2, 3], [-1, -2], 1.0),                       # every generated image ranks first
    ([-5, 2], [0, 1, 3], (1 / 2 + 2 / 3 + 3 / 5) / 3),    # by -logit: real, fake, fake, real, fake
    ([0, 0], [0, 0], 0.5),                            # one tie: precision 1/2 at full recall
])
def test_average_precision_known_answers(real, fake, expected):
    assert average_precision(np.array(real, float), np.array(fake, float)) == pytest.approx(expected)


def test_logistic_regression_recovers_two_feature_weights():
    rng = np.random.default_rng(3)
    features = rng.normal(0, 1, (100_000, 2))
    is_real = rng.random(len(features)) < 1 / (1 + np.exp(-(2 * features[:, 0] - features[:, 1] + 0.5)))
    np.testing.assert_allclose(fit_logistic(features, is_real), [2, -1, 0.5], atol=0.05)


def test_logistic_regression_stays_finite_on_separable_data():
    weights = fit_logistic(np.array([[-2.0], [-1.0], [1.0], [2.0]]), np.array([0, 0, 1, 1]))
    assert np.all(np.isfinite(weights)) and weights[0] > 0


@pytest.mark.parametrize("real, fake, expected", [
    ([1.0, 2.0], [-1.0, -2.0], 1.0),       # every generated image has the lower logit
    ([-1.0, -2.0], [1.0, 2.0], 0.0),       # every one the higher
    ([0.0, 0.0], [0.0, 0.0], 0.5),         # all tied: half
    ([1.0, -1.0], [0.0, 2.0], 0.25),       # of the 4 pairs, only (real 1, fake 0) ranks the fake above
    ([0.0, 3.0], [0.0, 1.0], 0.625),       # (3, 1) right, (3, 0) right, (0, 0) tied, (0, 1) wrong
])
def test_roc_auc_known_answers(real, fake, expected):
    assert roc_auc(np.array(real), np.array(fake)) == pytest.approx(expected)

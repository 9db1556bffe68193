"""MiFID (Kaggle's Generative Dog Images metric) on features with known cosine distances."""
import numpy as np
import pytest

from train.errors import EvaluationError
from train.metrics.mifid import COSINE_EPS, FID_EPSILON, memorization_distance, mifid, thresholded


def test_copies_and_scaled_or_negated_copies_are_at_distance_0():
    training = np.random.default_rng(0).normal(size=(5, 4))
    generated = np.concatenate([training[:2] * 3.0, -training[2:3]])  # |cos| = 1
    assert memorization_distance(generated, training) == pytest.approx(0.0, abs=1e-12)


def test_orthogonal_features_are_at_distance_1():
    assert memorization_distance(np.eye(4)[:2], np.eye(4)[2:]) == pytest.approx(1.0)


def test_mean_of_each_generated_rows_nearest():
    training = np.array([[1.0, 0.0], [0.0, 1.0]])
    generated = np.array([[1.0, 1.0], [2.0, 0.1]])  # nearest: cos 1/√2; cos 2/√4.01
    expected = ((1 - 1 / np.sqrt(2)) + (1 - 2 / np.sqrt(4.01))) / 2
    assert memorization_distance(generated, training, chunk=1) == pytest.approx(expected)


def test_rows_of_zeros_are_left_out():
    training = np.array([[0.0, 0.0], [1.0, 0.0]])
    assert memorization_distance(np.array([[0.0, 0.0], [0.0, 2.0]]), training) == pytest.approx(1.0)


@pytest.mark.parametrize("distance, expected", [(0.05, 0.05), (0.0999, 0.0999), (COSINE_EPS, 1.0), (0.4, 1.0)])
def test_threshold(distance, expected):
    assert thresholded(distance) == expected


@pytest.mark.parametrize("fid, distance, expected", [(10.0, 0.5, 10.0), (10.0, 0.05, 200.0), (-1e-9, 0.0, 0.0)])
def test_mifid_divides_the_fid_by_the_thresholded_distance(fid, distance, expected):
    assert mifid(fid, distance) == pytest.approx(expected / (1 + FID_EPSILON * (expected != 0)))


def test_mismatched_features_are_refused():
    with pytest.raises(EvaluationError):
        memorization_distance(np.ones((2, 3)), np.ones((2, 4)))

"""Precision and recall (Kynkäänniemi et al. 2019) on point sets with answers known by hand."""
import numpy as np
import pytest

from train.errors import EvaluationError
from train.metrics.precision_recall import knn_radii, precision_recall

LINE = np.arange(10.0)[:, None]  # points 0, 1, ..., 9 on a line


def test_knn_radii_on_a_line():
    # k=3: the end point 0 has neighbours 1, 2, 3 -> 3; an inner point 5 has 4, 6, 3|7 -> 2
    radii = knn_radii(LINE, 3)
    assert radii[0] == 3 and radii[5] == 2 and radii[9] == 3


def test_identical_sets_have_full_precision_and_recall():
    result = precision_recall(LINE, LINE.copy())
    assert (result["precision"], result["recall"], result["k"]) == (1.0, 1.0, 3)


def test_disjoint_sets_have_none():
    result = precision_recall(LINE, LINE + 100)
    assert result["precision"] == 0.0 and result["recall"] == 0.0


def test_mode_collapse_keeps_precision_and_loses_recall():
    collapsed = np.linspace(0.0, 0.09, 10)[:, None]  # every sample near real point 0
    result = precision_recall(LINE, collapsed)
    assert result["precision"] == 1.0
    assert result["recall"] == pytest.approx(0.1)  # only real point 0 is covered


def test_half_the_samples_off_the_data():
    generated = np.concatenate([LINE[:5] + 0.5, LINE[:5] + 50])
    assert precision_recall(LINE, generated)["precision"] == 0.5


def test_shapes_are_checked():
    with pytest.raises(EvaluationError):
        precision_recall(np.zeros((5, 2)), np.zeros((5, 3)))
    with pytest.raises(EvaluationError):
        precision_recall(np.zeros((3, 2)), np.zeros((5, 2)))

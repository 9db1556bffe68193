"""Discriminator accuracy on constructed logits with answers worked out by hand."""
import pytest

from train.metrics.discriminator_accuracy import confusion_matrix, discriminator_accuracy

NAMES = ("A", "B")


def test_confusion_matrix_rows_true_columns_predicted():
    # real: 3 called real (logit >= 0, including exactly 0), 1 called generated
    # generated: 1 called real, 2 called generated
    matrix = confusion_matrix([2.0, 0.0, 5.0, -1.0], [0.5, -3.0, -0.1])
    assert matrix.tolist() == [[3, 1], [1, 2]]


def test_overall_real_generated_and_per_class_accuracy():
    real_logits, real_labels = [1.0, 1.0, -1.0, 1.0], [0, 0, 1, 1]      # A 2/2, B 1/2
    fake_logits, fake_labels = [-1.0, 1.0, -1.0, -1.0], [0, 0, 1, 1]    # A 1/2, B 2/2
    acc = discriminator_accuracy(real_logits, real_labels, fake_logits, fake_labels, NAMES)
    assert acc["accuracy"] == pytest.approx(6 / 8)
    assert acc["real_accuracy"] == pytest.approx(3 / 4)
    assert acc["generated_accuracy"] == pytest.approx(3 / 4)
    assert acc["per_class"]["A"] == {"accuracy": 0.75, "real": 1.0, "generated": 0.5,
                                     "n_real": 2, "n_generated": 2}
    assert acc["per_class"]["B"]["accuracy"] == pytest.approx(0.75)
    assert acc["confusion_matrix"]["matrix"] == [[3, 1], [1, 3]]
    assert acc["confusion_matrix"]["labels"] == ["real", "generated"]


def test_a_class_without_images_has_no_accuracy():
    acc = discriminator_accuracy([1.0], [0], [-1.0], [0], NAMES)
    assert acc["per_class"]["B"] == {"accuracy": None, "real": None, "generated": None,
                                     "n_real": 0, "n_generated": 0}
    assert acc["accuracy"] == 1.0


def test_always_real_is_half_right():
    acc = discriminator_accuracy([3.0, 0.1], [0, 1], [2.0, 5.0], [0, 1], NAMES)
    assert (acc["accuracy"], acc["real_accuracy"], acc["generated_accuracy"]) == (0.5, 1.0, 0.0)
    assert acc["confusion_matrix"]["matrix"] == [[2, 0], [2, 0]]

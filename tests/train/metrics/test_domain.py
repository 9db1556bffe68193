"""The classifier behind the fast metrics, and the metrics computed in its feature space."""
import numpy as np
import pytest

from train.data import CLASS_NAMES, load_fashion_mnist
from train.errors import EvaluationError
from train.metrics.classifier import (FEATURE_DIM, classifier_features, load_classifier, predict,
                                      save_classifier, train_classifier)
from train.metrics.domain import class_accuracy, domain_metrics, per_class_fid

NAMES = ("A", "B", "C")


def test_class_accuracy_counts_the_requested_class():
    result = class_accuracy(np.array([0, 0, 1, 2, 2]), np.array([0, 1, 1, 2, 2]), NAMES)
    assert result["overall"] == pytest.approx(4 / 5)
    assert result["per_class"] == {"A": 1.0, "B": 0.5, "C": 1.0}


def test_per_class_fid_is_zero_for_identical_classes_and_none_when_too_few():
    rng = np.random.default_rng(0)
    features, labels = rng.normal(size=(40, 3)), np.arange(40) % 2
    result = per_class_fid(features, labels, features, labels, NAMES)
    assert result["A"] == pytest.approx(0, abs=1e-6) and result["B"] == pytest.approx(0, abs=1e-6)
    assert result["C"] is None


@pytest.fixture(scope="module")
def classifier_path(tiny_data_dir, tmp_path_factory):
    data = load_fashion_mnist("train", tiny_data_dir)
    model = train_classifier(data, epochs=1, batch_size=32)
    path = tmp_path_factory.mktemp("classifier") / "clf.pt"
    save_classifier(model, path, data.class_names, {"test_accuracy": 0.5})
    return path


def test_save_load_round_trip(classifier_path):
    model, saved = load_classifier(classifier_path)
    images = np.random.default_rng(0).integers(0, 256, (5, 28, 28), dtype=np.uint8)
    assert classifier_features(model, images).shape == (5, FEATURE_DIM)
    assert predict(model, images).shape == (5,)
    assert saved["class_names"] == list(CLASS_NAMES) and saved["info"]["test_accuracy"] == 0.5


def test_missing_or_foreign_classifier_is_an_evaluation_error(tmp_path):
    with pytest.raises(EvaluationError, match="no classifier"):
        load_classifier(tmp_path / "none.pt")
    (tmp_path / "bad.pt").write_bytes(b"junk")
    with pytest.raises(EvaluationError, match="cannot read"):
        load_classifier(tmp_path / "bad.pt")


def test_domain_metrics_of_real_images_against_the_test_split(classifier_path, tiny_data_dir):
    test = load_fashion_mnist("test", tiny_data_dir)
    train = load_fashion_mnist("train", tiny_data_dir)
    fake, labels = train.images.numpy()[:40], train.labels.numpy()[:40]
    result = domain_metrics(classifier_path, fake, labels, test, train)
    assert result["n_generated"] == 40 and result["n_real"] == 64 and result["k"] == 3
    assert 0 <= result["precision"] <= 1 and 0 <= result["recall"] <= 1
    assert result["fid"] >= 0 and result["fid_train_vs_test"] >= 0
    assert set(result["fid_per_class"]) == set(test.class_names)

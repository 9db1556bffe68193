"""Fast metrics in the feature space of the project's FashionMNIST classifier (seconds on a CPU):
FID overall and per class, precision/recall (k=3), and how often the classifier recognises the
class each generated image was asked for. A train-vs-test FID gives the floor to read them by.
"""
from pathlib import Path
from typing import Sequence

import numpy as np

from train.data import ImageSet
from train.metrics.classifier import classifier_features, load_classifier, predict
from train.metrics.fid import fid_from_features
from train.metrics.precision_recall import precision_recall


def per_class_fid(real_features, real_labels, fake_features, fake_labels,
                  class_names: Sequence[str]) -> dict:
    """FID between the real and the generated images of each class (None under 2 of either)."""
    out = {}
    for c, name in enumerate(class_names):
        r, f = real_features[real_labels == c], fake_features[fake_labels == c]
        out[name] = fid_from_features(r, f) if len(r) >= 2 and len(f) >= 2 else None
    return out


def class_accuracy(predicted: np.ndarray, requested: np.ndarray, class_names: Sequence[str]) -> dict:
    """Share of generated images the classifier puts in the class they were generated for."""
    correct = predicted == requested
    return {"overall": float(correct.mean()),
            "per_class": {name: float(correct[requested == c].mean()) if (requested == c).any()
                          else None for c, name in enumerate(class_names)}}


def domain_metrics(classifier_path: Path, fake: np.ndarray, fake_labels: np.ndarray,
                   test: ImageSet, train: ImageSet) -> dict:
    """Every classifier-space metric of uint8 generated images against the test split."""
    model, saved = load_classifier(classifier_path)
    names = list(test.class_names)
    real_labels = test.labels.numpy()
    f_real = classifier_features(model, test.images.numpy())
    f_fake = classifier_features(model, fake)
    f_train = classifier_features(model, train.images.numpy()[: len(test)])
    return {"classifier": {"path": str(classifier_path),
                           "test_accuracy": saved.get("info", {}).get("test_accuracy")},
            "n_generated": len(fake), "n_real": len(test), "real_split": "test",
            "fid": fid_from_features(f_real, f_fake),
            "fid_train_vs_test": fid_from_features(f_train, f_real),
            "fid_per_class": per_class_fid(f_real, real_labels, f_fake, fake_labels, names),
            **precision_recall(f_real, f_fake, k=3),
            "class_accuracy": class_accuracy(predict(model, fake), fake_labels, names)}

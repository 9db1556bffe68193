"""How well a real/generated discriminator separates the two, from its logits.

A logit >= 0 means "real" (the detector's rule). Positive class: real. The confusion matrix
has the true label on rows and the prediction on columns, in the order (real, generated):
    [[real called real (TP),      real called generated (FN)],
     [generated called real (FP), generated called generated (TN)]]
"""
from typing import Sequence

import numpy as np

LABELS = ("real", "generated")


def predicted_real(logits) -> np.ndarray:
    return np.asarray(logits, dtype=np.float64) >= 0


def confusion_matrix(real_logits, generated_logits) -> np.ndarray:
    """int [2, 2], rows true (real, generated), columns predicted (real, generated)."""
    on_real, on_generated = predicted_real(real_logits), predicted_real(generated_logits)
    return np.array([[on_real.sum(), (~on_real).sum()],
                     [on_generated.sum(), (~on_generated).sum()]], dtype=np.int64)


def _mean(correct: np.ndarray):
    return float(correct.mean()) if correct.size else None


def per_class(real_logits, real_labels, generated_logits, generated_labels,
              class_names: Sequence[str]) -> dict:
    """For each class: accuracy on its real images, its generated images, and both together."""
    real_ok = predicted_real(real_logits)
    generated_ok = ~predicted_real(generated_logits)
    real_labels, generated_labels = np.asarray(real_labels), np.asarray(generated_labels)
    out = {}
    for c, name in enumerate(class_names):
        r, g = real_ok[real_labels == c], generated_ok[generated_labels == c]
        out[name] = {"accuracy": _mean(np.concatenate([r, g])), "real": _mean(r),
                     "generated": _mean(g), "n_real": int(r.size), "n_generated": int(g.size)}
    return out


def discriminator_accuracy(real_logits, real_labels, generated_logits, generated_labels,
                           class_names: Sequence[str]) -> dict:
    """Accuracy overall, on real, on generated, per class, and the confusion matrix."""
    matrix = confusion_matrix(real_logits, generated_logits)
    n_real, n_generated = int(matrix[0].sum()), int(matrix[1].sum())
    return {"accuracy": float((matrix[0, 0] + matrix[1, 1]) / max(n_real + n_generated, 1)),
            "real_accuracy": float(matrix[0, 0] / n_real) if n_real else None,
            "generated_accuracy": float(matrix[1, 1] / n_generated) if n_generated else None,
            "n_real": n_real, "n_generated": n_generated,
            "per_class": per_class(real_logits, real_labels, generated_logits, generated_labels,
                                   class_names),
            "confusion_matrix": {"labels": list(LABELS), "rows": "true", "columns": "predicted",
                                 "matrix": matrix.tolist()}}

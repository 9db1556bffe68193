"""Pure numpy: the threshold, calibration and scores of a real-vs-generated detector.

Scores follow the shipped models' convention: a `real_logit`, high for real images. Generated
is the positive class of the detection metrics (average precision), as in the literature.
"""
import numpy as np

from detector.scoring import sigmoid

GOAL_BALANCED_ACCURACY = 0.95  # what every held-out family should reach at the shipped threshold (issue 12)
GOAL_REAL_FPR = 0.02  # the most of the 10,000 real test images the shipped detector may call generated


def fpr_threshold(real_logits: np.ndarray, target_fpr: float) -> float:
    """The highest logit threshold t (label "real" when logit >= t) that calls at most
    `target_fpr` of these real images generated: ties and all, the FPR on them is <= target."""
    if not 0 <= target_fpr < 1:
        raise ValueError(f"target_fpr must be in [0, 1), not {target_fpr}")
    ordered = np.sort(np.asarray(real_logits, dtype=np.float64))
    if len(ordered) == 0:
        raise ValueError("no real logits to choose a threshold from")
    allowed = int(np.floor(target_fpr * len(ordered)))  # real images we may call generated
    return float(ordered[allowed])  # every logit below it is one of the `allowed` lowest


def false_positive_rate(real_logits: np.ndarray, threshold: float) -> float:
    """The fraction of real images labelled generated (logit below the threshold)."""
    return float(np.mean(np.asarray(real_logits) < threshold))


def fit_logistic(features: np.ndarray, is_real: np.ndarray, steps: int = 100,
                 ridge: float = 1e-6) -> np.ndarray:
    """Logistic regression by Newton's method: weights w (one per feature, then the bias)
    maximising the likelihood of P(real) = sigmoid(features @ w[:-1] + w[-1])."""
    x = np.asarray(features, dtype=np.float64)
    design = np.concatenate([x.reshape(len(x), -1), np.ones((len(x), 1))], axis=1)
    y = np.asarray(is_real, dtype=np.float64)
    weights = np.zeros(design.shape[1])
    for _ in range(steps):
        p = sigmoid(design @ weights)
        gradient = design.T @ (p - y) + ridge * weights
        hessian = design.T @ (design * (p * (1 - p))[:, None]) + ridge * np.eye(len(weights))
        update = np.linalg.solve(hessian, gradient)
        weights -= update
        if np.abs(update).max() < 1e-10:
            break
    return weights


def fit_platt(logits: np.ndarray, is_real: np.ndarray) -> tuple[float, float]:
    """Platt scaling: (a, b) so that P(real) = sigmoid(a * logit + b) fits the labels."""
    a, b = fit_logistic(np.asarray(logits)[:, None], is_real)
    return float(a), float(b)


def reliability(probabilities: np.ndarray, is_real: np.ndarray, bins: int = 10) -> dict:
    """Per equal-width bin of P(real): mean predicted probability, observed fraction real and
    count; and the expected calibration error (count-weighted mean |predicted - observed|)."""
    p = np.asarray(probabilities, dtype=np.float64)
    y = np.asarray(is_real, dtype=np.float64)
    index = np.minimum((p * bins).astype(int), bins - 1)
    rows = []
    for b in range(bins):
        chosen = index == b
        if chosen.any():
            rows.append({"low": b / bins, "high": (b + 1) / bins, "count": int(chosen.sum()),
                         "predicted": float(p[chosen].mean()), "observed": float(y[chosen].mean())})
    ece = sum(r["count"] * abs(r["predicted"] - r["observed"]) for r in rows) / max(len(p), 1)
    return {"bins": rows, "ece": float(ece)}


def balanced_accuracy(real_logits: np.ndarray, fake_logits: np.ndarray, threshold: float = 0.0) -> float:
    """Mean of the accuracy on real images and the accuracy on generated ones."""
    real_right = np.mean(np.asarray(real_logits) >= threshold)
    fake_right = np.mean(np.asarray(fake_logits) < threshold)
    return float((real_right + fake_right) / 2)


def average_precision(real_logits: np.ndarray, fake_logits: np.ndarray) -> float:
    """AP of finding the generated images by ranking on -logit (step-wise, as scikit-learn's
    average_precision_score): the mean precision at the rank of each generated image."""
    scores = -np.concatenate([np.asarray(fake_logits), np.asarray(real_logits)]).astype(np.float64)
    is_fake = np.concatenate([np.ones(len(fake_logits)), np.zeros(len(real_logits))])
    order = np.argsort(-scores, kind="stable")
    scores, is_fake = scores[order], is_fake[order]
    # Tied scores share one threshold: count them together, as scikit-learn does.
    last_of_tie = np.r_[scores[1:] != scores[:-1], True]
    true_pos = np.cumsum(is_fake)[last_of_tie]
    predicted = (np.arange(1, len(scores) + 1))[last_of_tie]
    recall_gain = np.diff(np.r_[0, true_pos]) / max(is_fake.sum(), 1)
    return float(np.sum(recall_gain * true_pos / predicted))


def roc_auc(real_logits: np.ndarray, fake_logits: np.ndarray) -> float:
    """Area under the ROC curve of finding the generated images by ranking on -logit: the chance
    that a random generated image ranks above a random real one, ties counted half (Mann-Whitney)."""
    scores = -np.concatenate([np.asarray(fake_logits), np.asarray(real_logits)]).astype(np.float64)
    ranks = np.empty(len(scores))
    order = np.argsort(scores, kind="stable")
    sorted_scores = scores[order]
    # average rank over ties
    starts = np.r_[0, np.flatnonzero(sorted_scores[1:] != sorted_scores[:-1]) + 1]
    ends = np.r_[starts[1:], len(scores)]
    ranks[order] = np.repeat((starts + ends + 1) / 2, ends - starts)
    n_fake, n_real = len(fake_logits), len(real_logits)
    return float((ranks[:n_fake].sum() - n_fake * (n_fake + 1) / 2) / max(n_fake * n_real, 1))

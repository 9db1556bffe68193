"""Turn model logits into labels and confidences; the project's numpy sigmoid."""

import math
from typing import NamedTuple

import numpy as np

from .errors import ModelError


class Prediction(NamedTuple):
    """The answer for one image."""

    label: str  # the positive label ("real") when P(positive) >= 0.5, else the other one
    confidence: float  # probability of `label`, so always in [0.5, 1]
    logit: float  # raw model output: log-odds of the positive label

    def as_dict(self, digits: int = 4) -> dict:
        """The JSON form the CLI prints: label and rounded confidence."""
        return {"label": self.label, "confidence": round(self.confidence, digits)}


def sigmoid(x) -> np.ndarray:
    """float64 1 / (1 + exp(-x)) for any x, infinities included, without an overflow warning."""
    x = np.asarray(x, dtype=np.float64)
    # exp(-|x|) is in (0, 1]; each side of 0 gets the form that stays accurate in its tail.
    small = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + small), small / (1.0 + small))


def predictions(logits: np.ndarray, positive: str, negative: str) -> list:
    """One Prediction per logit, or a ModelError for a NaN the model produced."""
    logits = np.asarray(logits, dtype=np.float64)
    # sigmoid(|x|) is the probability of the chosen label whichever side of 0 the logit falls.
    confidence = sigmoid(np.abs(logits))
    out = []
    for x, p in zip(logits.tolist(), confidence.tolist()):
        if math.isnan(x):
            out.append(ModelError("model returned NaN for this image"))
        else:
            out.append(Prediction(positive if x >= 0 else negative, p, x))
    return out

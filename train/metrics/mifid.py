"""MiFID, the memorisation-informed FID of Kaggle's Generative Dog Images competition.

    d_ij = 1 - |cos(f_g_i, f_r_j)|                 (feature rows that sum to 0 left out)
    d    = mean over generated i of min over training j of d_ij
    d_thr = d if d < COSINE_EPS else 1
    MiFID = FID / (d_thr + FID_EPSILON)

so a generator whose images sit closer than COSINE_EPS (in mean) to training images has its FID
multiplied by 1 / d; one that does not keeps its FID. Features: the Inception pool features
of the FID (train/metrics/inception.py), the FID from train/metrics/fid.py.
"""
import numpy as np

from train.errors import EvaluationError

COSINE_EPS = 0.1      # the competition's threshold on the mean minimum cosine distance
FID_EPSILON = 1e-15   # keeps the division finite when d_thr is 0


def _unit_rows(features: np.ndarray) -> np.ndarray:
    features = np.asarray(features, dtype=np.float64)
    features = features[features.sum(axis=1) != 0]
    return np.nan_to_num(features / np.linalg.norm(features, axis=1, keepdims=True))


def memorization_distance(generated: np.ndarray, training: np.ndarray, chunk: int = 1024) -> float:
    """d: the mean over generated feature rows of the minimum cosine distance 1 - |cos| to the
    training rows ([N, D] and [M, D]), `chunk` generated rows at a time."""
    g, t = _unit_rows(generated), _unit_rows(training)
    if not len(g) or not len(t) or g.shape[1] != t.shape[1]:
        raise EvaluationError(f"need non-zero features [N, D] and [M, D], got {list(np.shape(generated))} "
                              f"and {list(np.shape(training))}")
    minima = [(1.0 - np.abs(g[i:i + chunk] @ t.T)).min(axis=1) for i in range(0, len(g), chunk)]
    return float(np.clip(np.concatenate(minima).mean(), 0.0, 1.0))  # rounding leaves -1e-16 on copies


def thresholded(distance: float, eps: float = COSINE_EPS) -> float:
    """d_thr: the distance itself below eps (memorisation suspected), else 1 (no penalty)."""
    return distance if distance < eps else 1.0


def mifid(fid: float, distance: float, eps: float = COSINE_EPS) -> float:
    """FID / (d_thr + FID_EPSILON); an FID that rounding left below 0 (identical sets) counts as 0."""
    return max(fid, 0.0) / (thresholded(distance, eps) + FID_EPSILON)

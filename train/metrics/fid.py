"""The Fréchet distance between two Gaussians fitted to feature vectors (Heusel et al. 2017).

    d² = |mu1 - mu2|² + tr(S1) + tr(S2) - 2 tr((S1 S2)^½)

Pure numpy/scipy, computed as pytorch-fid does (a small diagonal offset when the matrix square
root is not finite, and a tolerance on the imaginary part that rounding leaves behind).
"""
import warnings

import numpy as np
from scipy import linalg

from train.errors import EvaluationError


def statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean [D] and sample covariance [D, D] (denominator N - 1) of features [N, D], float64."""
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or len(features) < 2:
        raise EvaluationError(f"need features [N >= 2, D], got shape {list(features.shape)}")
    return features.mean(axis=0), np.cov(features, rowvar=False)


def _sqrtm_product(sigma1: np.ndarray, sigma2: np.ndarray, eps: float) -> np.ndarray:
    """(S1 S2)^½, retried with eps·I added to both when it is not finite (near-singular S)."""
    with warnings.catch_warnings():  # a singular product is handled just below
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        covmean = linalg.sqrtm(sigma1 @ sigma2)
    if not np.isfinite(covmean).all():
        offset = np.eye(len(sigma1)) * eps
        covmean = linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            raise EvaluationError(f"matrix square root has an imaginary component of "
                                  f"{np.abs(covmean.imag).max():.3g}; too few samples?")
        covmean = covmean.real
    return covmean


def frechet_distance(mu1, sigma1, mu2, sigma2, eps: float = 1e-6) -> float:
    """d² between N(mu1, sigma1) and N(mu2, sigma2); 1-D and [D] / [D, D] inputs alike."""
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    sigma1 = np.atleast_2d(np.asarray(sigma1, np.float64))
    sigma2 = np.atleast_2d(np.asarray(sigma2, np.float64))
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape or sigma1.shape != mu1.shape * 2:
        raise EvaluationError(f"mismatched statistics: mu {mu1.shape} vs {mu2.shape}, "
                              f"sigma {sigma1.shape} vs {sigma2.shape}")
    diff = mu1 - mu2
    covmean = _sqrtm_product(sigma1, sigma2, eps)
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean))


def fid_from_features(features1: np.ndarray, features2: np.ndarray, low_rank: bool = False) -> float:
    """FID between two sets of feature vectors [N1, D] and [N2, D]. With low_rank and fewer
    vectors than dimensions on either side, computed exactly from the vectors (low_rank_fid),
    not from D×D covariances whose square root is slow (D = 2048) and near-singular then
    (`python -m train.fid` asks for it; the evaluation commands keep the covariance route)."""
    f1, f2 = np.asarray(features1, np.float64), np.asarray(features2, np.float64)
    small = f1.ndim == f2.ndim == 2 and f1.shape[1] == f2.shape[1] and min(len(f1), len(f2)) <= f1.shape[1]
    if low_rank and small:
        return low_rank_fid(f1, f2)
    return frechet_distance(*statistics(f1), *statistics(f2))


def low_rank_fid(features1: np.ndarray, features2: np.ndarray) -> float:
    """d² from the centred vectors X1 [N1, D], X2 [N2, D] themselves: with S_i = X_iᵀX_i / (N_i - 1),
    tr(S_i) = |X_i|²_F / (N_i - 1), and the nonzero eigenvalues of S1 S2 are those of M Mᵀ,
    M = X1 X2ᵀ / sqrt((N1 - 1)(N2 - 1)), so tr((S1 S2)^½) is the sum of M's singular values."""
    for f in (features1, features2):
        if f.ndim != 2 or len(f) < 2:
            raise EvaluationError(f"need features [N >= 2, D], got shape {list(f.shape)}")
    x1, x2 = features1 - features1.mean(axis=0), features2 - features2.mean(axis=0)
    scale1, scale2 = len(x1) - 1, len(x2) - 1
    diff = features1.mean(axis=0) - features2.mean(axis=0)
    trace_sqrt = np.linalg.svd(x1 @ x2.T, compute_uv=False).sum() / np.sqrt(scale1 * scale2)
    return float(diff @ diff + (x1 * x1).sum() / scale1 + (x2 * x2).sum() / scale2 - 2 * trace_sqrt)

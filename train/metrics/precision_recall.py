"""Improved precision and recall of generative models (Kynkäänniemi et al. 2019), k = 3.

Each set of feature vectors stands for a manifold: the union of balls around its points whose
radius is the distance to the point's k-th nearest neighbour in the same set.
precision = share of generated points inside the real manifold (are samples realistic?);
recall    = share of real points inside the generated manifold (is the data covered? a
            collapsed generator has a small manifold, so low recall).
Pure numpy; distances are computed in row blocks so 10k × 10k stays within memory.
"""
import numpy as np

from train.errors import EvaluationError

BLOCK = 1024


def pairwise_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean distances [len(a), len(b)]."""
    squared = (a * a).sum(1)[:, None] - 2 * a @ b.T + (b * b).sum(1)[None, :]
    return np.sqrt(np.maximum(squared, 0))


def knn_radii(points: np.ndarray, k: int) -> np.ndarray:
    """Distance from each point to its k-th nearest other point in the same set."""
    if len(points) <= k:
        raise EvaluationError(f"k = {k} nearest neighbours need more than {k} points, got {len(points)}")
    radii = np.empty(len(points))
    for start in range(0, len(points), BLOCK):
        d = pairwise_distances(points[start:start + BLOCK], points)
        radii[start:start + BLOCK] = np.partition(d, k, axis=1)[:, k]  # index 0 is the point itself
    return radii


def coverage(centres: np.ndarray, radii: np.ndarray, queries: np.ndarray) -> float:
    """Share of `queries` within radius of at least one centre."""
    inside = 0
    for start in range(0, len(queries), BLOCK):
        d = pairwise_distances(queries[start:start + BLOCK], centres)
        inside += int((d <= radii[None, :]).any(axis=1).sum())
    return inside / len(queries)


def precision_recall(real: np.ndarray, generated: np.ndarray, k: int = 3) -> dict:
    """{'precision', 'recall', 'k', 'n_real', 'n_generated'} of features [N, D] and [M, D]."""
    real, generated = np.asarray(real, np.float64), np.asarray(generated, np.float64)
    if real.ndim != 2 or generated.ndim != 2 or real.shape[1] != generated.shape[1]:
        raise EvaluationError(f"need features [N, D] and [M, D], got {list(real.shape)} "
                              f"and {list(generated.shape)}")
    return {"precision": coverage(real, knn_radii(real, k), generated),
            "recall": coverage(generated, knn_radii(generated, k), real),
            "k": k, "n_real": len(real), "n_generated": len(generated)}

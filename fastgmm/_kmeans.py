"""k-means++ seeding and Lloyd's k-means, driving the compiled kernels.

Used by the 'kmeans' and 'k-means++' initialisations. Random draws come from the
estimator's ``RandomState`` in Python; all per-point work is compiled. Memory:
a few arrays of length N (labels, squared distances, their running sum).
"""

import numpy as np

from ._config import chunk_layout
from ._kernels import kmeans as kernels
from ._passes import NO_WEIGHTS


def kmeans_plusplus(X, n_clusters, random_state, sample_weight=None):
    """Greedy k-means++ seeding (Arthur & Vassilvitskii, with 2 + log K local
    trials per center). Returns ``(centers (K, D) float64, indices (K,))``."""
    n_rows = X.shape[0]
    weights = NO_WEIGHTS if sample_weight is None else sample_weight
    n_chunks, chunk_rows = chunk_layout(n_rows)
    n_trials = 2 + int(np.log(n_clusters))
    indices = np.empty(n_clusters, dtype=np.int64)
    if sample_weight is None:
        indices[0] = random_state.randint(n_rows)
    else:
        indices[0] = random_state.choice(n_rows, p=sample_weight / sample_weight.sum())
    closest = np.empty(n_rows)
    kernels.sq_dist_to_point(X, _row(X, indices[0]), closest)
    potentials = np.empty((n_chunks, n_trials))
    for c in range(1, n_clusters):
        mass = closest if sample_weight is None else closest * sample_weight
        cumulative = np.cumsum(mass)
        total = cumulative[-1]
        if total > 0:
            draws = random_state.uniform(size=n_trials) * total
            candidates = np.searchsorted(cumulative, draws, side="left")
            np.clip(candidates, 0, n_rows - 1, out=candidates)
        else:  # every point already sits on a center
            candidates = random_state.randint(n_rows, size=n_trials)
        points = np.ascontiguousarray(X[candidates], dtype=np.float64)
        kernels.candidate_potentials(X, weights, closest, points, chunk_rows,
                                     potentials)
        best = int(np.argmin(potentials.sum(axis=0)))
        indices[c] = candidates[best]
        kernels.update_closest(X, points[best : best + 1], closest)
    return np.asarray(X[indices], dtype=np.float64), indices


def _row(X, index):
    return np.ascontiguousarray(X[index : index + 1], dtype=np.float64)


def kmeans(X, n_clusters, random_state, sample_weight=None, max_iter=300, tol=1e-4,
           column_variance=None):
    """Lloyd's k-means from a k-means++ seeding.

    Stops when no label changes or when the centers move less than ``tol`` times
    the mean feature variance (scikit-learn's criteria). Empty clusters are moved
    to the points farthest from their centers. Returns ``(centers, labels)`` with
    labels consistent with the returned centers.
    """
    n_rows, n_features = X.shape
    weights = NO_WEIGHTS if sample_weight is None else sample_weight
    centers, _ = kmeans_plusplus(X, n_clusters, random_state, sample_weight)
    n_chunks, chunk_rows = chunk_layout(n_rows)
    labels = np.full(n_rows, -1, dtype=np.int64)
    closest = np.empty(n_rows)
    sums = np.empty((n_chunks, n_clusters, n_features))
    counts = np.empty((n_chunks, n_clusters))
    changed = np.empty(n_chunks, dtype=np.int64)
    threshold = tol * (1.0 if column_variance is None else float(column_variance))
    for _ in range(max_iter):
        kernels.lloyd_step(X, weights, centers, chunk_rows, labels, closest, sums,
                           counts, changed)
        if changed.sum() == 0:
            return centers, labels
        total = counts.sum(axis=0)
        new_centers = sums.sum(axis=0)
        filled = total > 0
        new_centers[filled] /= total[filled, None]
        empty = np.flatnonzero(~filled)
        if empty.size:
            far = np.argsort(closest, kind="stable")[::-1][: empty.size]
            new_centers[empty] = X[far]
        moved = float(((new_centers - centers) ** 2).sum())
        centers = new_centers
        if moved <= threshold:
            break
    # labels must belong to the final centers
    kernels.lloyd_step(X, weights, centers, chunk_rows, labels, closest, sums,
                       counts, changed)
    return centers, labels

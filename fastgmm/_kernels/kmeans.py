"""k-means kernels for the 'kmeans' and 'k-means++' initialisations.

Same partition as the EM drivers: chunks that depend only on the number of rows,
one output slot per chunk, summed in chunk order by the caller. Each kernel
takes ``fill``: (D,) float64 values read in place of X's NaN, feature by
feature (rows with missing values, seen mean-filled by the initialisation), or
None when X has none (compiled apart, without the test).
"""

from numba import njit

from .._config import JIT, chunk_layout
from .common import filled_value, row_weight
from .threads import run_chunks


@njit(**JIT)
def _sq_dist(X, fill, row, centers, k):
    total = 0.0
    for a in range(X.shape[1]):
        t = filled_value(X, fill, row, a) - centers[k, a]
        total += t * t
    return total


def candidate_potentials(X, fill, sample_weight, closest, candidates, chunk_rows,
                         out):
    """out[c, t] = sum over chunk c of w * min(closest[i], ||X[i] - candidates[t]||²).

    The potential k-means++ would have after adding candidate t; out is (C, T).
    """
    run_chunks(_candidate_potentials, out.shape[0], X, fill, sample_weight, closest,
               candidates, chunk_rows, out)


@njit(**JIT)
def _candidate_potentials(first, stop, X, fill, sample_weight, closest, candidates,
                          chunk_rows, out):
    n_rows = X.shape[0]
    n_candidates = candidates.shape[0]
    for c in range(first, stop):
        out[c] = 0.0
        end = min(n_rows, (c + 1) * chunk_rows)
        for i in range(c * chunk_rows, end):
            w = row_weight(sample_weight, i)
            for t in range(n_candidates):
                d = _sq_dist(X, fill, i, candidates, t)
                out[c, t] += w * min(closest[i], d)


def update_closest(X, fill, point, closest):
    """closest[i] = min(closest[i], ||X[i] - point||²)."""
    n_chunks, chunk_rows = chunk_layout(X.shape[0])
    run_chunks(_update_closest, n_chunks, chunk_rows, X, fill, point, closest)


@njit(**JIT)
def _update_closest(first, stop, chunk_rows, X, fill, point, closest):
    for i in range(first * chunk_rows, min(X.shape[0], stop * chunk_rows)):
        d = _sq_dist(X, fill, i, point, int(0))
        if d < closest[i]:
            closest[i] = d


def lloyd_step(X, fill, sample_weight, centers, chunk_rows, labels, closest, sums,
               counts, changed):
    """Assign every row to its nearest center and accumulate the new centers' sums.

    Writes labels (N,), closest (N,) squared distance to the assigned center,
    sums (C, K, D), counts (C, K) (weighted) and changed (C,) the number of rows
    whose label changed, per chunk.
    """
    run_chunks(_lloyd_step, sums.shape[0], X, fill, sample_weight, centers,
               chunk_rows, labels, closest, sums, counts, changed)


@njit(**JIT)
def _lloyd_step(first, stop, X, fill, sample_weight, centers, chunk_rows, labels,
                closest, sums, counts, changed):
    n_rows, n_features = X.shape
    n_clusters = centers.shape[0]
    for c in range(first, stop):
        sums[c] = 0.0
        counts[c] = 0.0
        moved = 0
        end = min(n_rows, (c + 1) * chunk_rows)
        for i in range(c * chunk_rows, end):
            best = 0
            best_d = _sq_dist(X, fill, i, centers, int(0))
            for k in range(1, n_clusters):
                d = _sq_dist(X, fill, i, centers, k)
                if d < best_d:
                    best_d = d
                    best = k
            if labels[i] != best:
                moved += 1
            labels[i] = best
            closest[i] = best_d
            w = row_weight(sample_weight, i)
            counts[c, best] += w
            for a in range(n_features):
                sums[c, best, a] += w * filled_value(X, fill, i, a)
        changed[c] = moved


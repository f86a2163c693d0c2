"""k-means kernels for the 'kmeans' and 'k-means++' initialisations.

Same partition as the EM drivers: chunks that depend only on the number of rows,
one output slot per chunk, summed in chunk order by the caller. Each kernel
takes ``fill``: (D,) float64 values read in place of X's NaN, feature by
feature (rows with missing values, seen mean-filled by the initialisation), or
None when X has none (compiled apart, without the test).
"""

import numpy as np
from numba import njit

from .._config import JIT, chunk_layout, compiled_only
from .common import filled_value, row_weight
from .threads import run_chunks


@compiled_only(**JIT)
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


def lloyd_step(X, fill, sample_weight, centers, bounds, chunk_rows, labels, upper,
               lower, closest, sums, counts):
    """Assign every row to its nearest center and accumulate the new centers' sums.

    Hamerly's bounds skip the rows whose center cannot have changed: each row
    keeps its label (labels (N,) int64, -1: none yet), an upper bound on its
    distance to that center (upper) and a lower bound on its distance to any
    other (lower). ``bounds`` = (drift, others, half_gaps, slack):
    drift (K,) how far each center moved since the rows' bounds were taken,
    others (K,) the farthest any other center moved, half_gaps (K,) half the
    distance from each center to its nearest other, slack the relative margin
    by which every bound is loosened (rounding). A row whose upper bound stays
    below max(half gap, lower bound) keeps its center; any other row gets its
    distances computed, so the labels are those of computing them all (the
    first nearest on ties), whatever the bounds held.

    Writes labels, upper, lower, closest (N,) the squared distance to the
    assigned center of each row whose distances were computed (others: left
    alone), sums (C, K, D) and counts (C, K) (weighted), per chunk.
    """
    drift, others, half_gaps, slack = bounds
    run_chunks(_lloyd_step, sums.shape[0], X, fill, sample_weight, centers, drift,
               others, half_gaps, slack, chunk_rows, labels, upper, lower, closest,
               sums, counts)


@njit(**JIT)
def _lloyd_step(first, stop, X, fill, sample_weight, centers, drift, others,
                half_gaps, slack, chunk_rows, labels, upper, lower, closest, sums,
                counts):
    n_rows, n_features = X.shape
    n_clusters = centers.shape[0]
    loose, tight = 1.0 + slack, 1.0 - slack
    for c in range(first, stop):
        sums[c] = 0.0
        counts[c] = 0.0
        end = min(n_rows, (c + 1) * chunk_rows)
        for i in range(c * chunk_rows, end):
            best = labels[i]
            keep = False
            if best >= 0:
                far = (upper[i] + drift[best]) * loose
                near = (lower[i] - others[best]) * tight
                bound = max(half_gaps[best], near)
                if far >= bound:  # tighten the upper bound, then try again
                    far = np.sqrt(_sq_dist(X, fill, i, centers, best)) * loose
                keep = far < bound
                upper[i] = far
                lower[i] = near
            if not keep:
                nearest = 0
                best_d = _sq_dist(X, fill, i, centers, int(0))
                second_d = np.inf
                for k in range(1, n_clusters):
                    d = _sq_dist(X, fill, i, centers, k)
                    # the old nearest when d replaces it, else the smaller
                    second_d = min(second_d, max(d, best_d))
                    if d < best_d:
                        best_d = d
                        nearest = k
                best = nearest
                labels[i] = best
                closest[i] = best_d
                upper[i] = np.sqrt(best_d) * loose
                lower[i] = np.sqrt(second_d) * tight
            w = row_weight(sample_weight, i)
            counts[c, best] += w
            total = sums[c, best]
            for a in range(n_features):
                total[a] += w * filled_value(X, fill, i, a)

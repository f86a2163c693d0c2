"""Full covariance: one upper-triangular precision factor U_k per component.

Parameters arrive as ``factor[k, j, a] = U_k[a, j]`` (lower triangle used);
log N(x | k) = log_norm_k - 1/2 ||(x - mu_k) U_k||². The block is held transposed
in ``work`` (see ``common``), so every inner loop runs over the block's points.
"""

import numpy as np
from numba import njit

from .._config import JIT
from .common import TILE, add_lower_products, add_triangular_norms, gather_component


@njit(**JIT)
def log_prob_full(n_features, n_rows, means, factor, log_norm, out, work):
    """out[k, i] = log_norm[k] - 1/2 ||(x_i - means[k]) U_k||² for the block in
    work[:D] (transposed). Uses work rows 3D+1..3D+5 as scratch, and D..2D-1
    when D is not a multiple of 4 (the rows centred beforehand).

    Cost: K D(D+1)/2 multiply-adds per point, vectorised over points.
    """
    n_components = means.shape[0]
    d = n_features
    maha = work[3 * d + 1]
    # with whole tiles only, the tiles centre the rows as they read them
    centred = d % TILE != 0
    no_center = np.zeros(d)
    for k in range(n_components):
        src, center = 0, means[k]
        if centred:
            for a in range(d):
                c = means[k, a]
                for i in range(n_rows):
                    work[d + a, i] = work[a, i] - c
            src, center = d, no_center
        for i in range(n_rows):
            maha[i] = 0.0
        add_triangular_norms(work, src, 3 * d + 2, d, n_rows, factor, k, center,
                             maha)
        base = log_norm[k]
        for i in range(n_rows):
            out[k, i] = base - 0.5 * maha[i]


@njit(**JIT)
def add_stats_full(n_features, start, n_rows, resp, sample_weight,
                   means, s0, s1, s2, work, idx):
    """Add the block's statistics around each component's mean: with
    r = resp * weight and d = x - means[k], s0[k] += r, s1[k] += r d and the lower
    triangle of s2[k] += r d dᵀ. Only points with r > 0 are visited."""
    d = n_features
    for k in range(means.shape[0]):
        m = gather_component(work, d, n_rows, resp, sample_weight,
                             start, k, means[k], idx, s0, s1)
        if m == 0:
            continue
        add_lower_products(work, 2 * d, d, d, m, s2[k])

"""Diagonal covariance, and spherical as its special case (one variance repeated).

Parameters arrive as ``factor[k, 0, a]`` = the precision 1 / sigma²_{k,a};
log N(x | k) = log_norm_k - 1/2 sum_a factor[k, 0, a] (x_a - mu_{k,a})².
The block is held transposed in ``work`` (see ``common``).
"""

from numba import njit

from .._config import JIT
from .common import gather_component


@njit(**JIT)
def log_prob_diag(n_features, n_rows, means, factor, log_norm, out, work):
    """out[k, i] = log_norm[k] - 1/2 sum_a factor[k, 0, a] (x_ia - means[k, a])²
    for the block in work[:D]; work row 3D+1 is scratch."""
    maha = work[3 * n_features + 1]
    for k in range(means.shape[0]):
        for i in range(n_rows):
            maha[i] = 0.0
        for a in range(n_features):
            c = means[k, a]
            f = factor[k, 0, a]
            for i in range(n_rows):
                t = work[a, i] - c
                maha[i] += f * t * t
        base = log_norm[k]
        for i in range(n_rows):
            out[k, i] = base - 0.5 * maha[i]


@njit(**JIT)
def add_stats_diag(n_features, start, n_rows, resp, sample_weight,
                   means, s0, s1, s2, work, idx):
    """Add the block's per-feature statistics: s0[k] += r, s1[k] += r d,
    s2[k, 0] += r d², with d = x - means[k]; only points with r > 0 are visited."""
    d = n_features
    for k in range(means.shape[0]):
        m = gather_component(work, d, n_rows, resp, sample_weight,
                             start, k, means[k], idx, s0, s1)
        if m == 0:
            continue
        for a in range(d):
            acc = 0.0
            for j in range(m):
                acc += work[2 * d + a, j] * work[d + a, j]
            s2[k, 0, a] += acc

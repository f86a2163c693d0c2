"""Diagonal covariance, and spherical as its special case (one variance repeated).

Parameters arrive as ``factor[k, 0, a]`` = the precision 1 / sigma²_{k,a};
log N(x | k) = log_norm_k - 1/2 sum_a factor[k, 0, a] (x_a - mu_{k,a})².
"""

from numba import njit

from .._config import JIT
from .common import row_weight


@njit(**JIT)
def log_prob_diag(X, start, n_rows, means, factor, log_norm, out):
    """out[i, k] = log_norm[k] - 1/2 sum_a factor[k, 0, a] (X[start+i, a] - means[k, a])².

    Shapes: means (K, D); factor (K, 1, D); log_norm (K,); out (>= n_rows, K).
    """
    n_features = X.shape[1]
    n_components = means.shape[0]
    for i in range(n_rows):
        row = start + i
        for k in range(n_components):
            maha = 0.0
            for a in range(n_features):
                t = X[row, a] - means[k, a]
                maha += factor[k, 0, a] * t * t
            out[i, k] = log_norm[k] - 0.5 * maha


@njit(**JIT)
def add_stats_diag(X, start, n_rows, resp, resp_offset, sample_weight, means,
                   s0, s1, s2):
    """Add one block's shifted statistics, per feature.

    With r = resp * weight and d = X[row] - means[k]: s0[k] += r; s1[k] += r d;
    s2[k, 0] += r d². Shapes: s0 (K,), s1 (K, D), s2 (K, 1, D).
    """
    n_features = X.shape[1]
    n_components = means.shape[0]
    for i in range(n_rows):
        row = start + i
        w = row_weight(sample_weight, row)
        for k in range(n_components):
            r = resp[resp_offset + i, k] * w
            if r == 0.0:
                continue
            s0[k] += r
            for a in range(n_features):
                d = X[row, a] - means[k, a]
                s1[k, a] += r * d
                s2[k, 0, a] += r * d * d

"""Full covariance: one upper-triangular precision factor U_k per component.

Parameters arrive as ``factor[k, j, a] = U_k[a, j]`` (the transpose, so the
inner loops read contiguous memory); log N(x | k) = log_norm_k - 1/2 ||(x - mu_k) U_k||².
"""

from numba import njit

from .._config import JIT
from .common import row_weight


@njit(**JIT)
def log_prob_full(X, start, n_rows, means, factor, log_norm, out, diff):
    """out[i, k] = log_norm[k] - 1/2 ||(X[start+i] - means[k]) U_k||², i < n_rows.

    Shapes: X (N, D); means (K, D); factor (K, D, D) lower triangle used;
    log_norm (K,); out (>= n_rows, K); diff (D,) scratch.
    """
    n_features = X.shape[1]
    n_components = means.shape[0]
    for i in range(n_rows):
        row = start + i
        for k in range(n_components):
            for a in range(n_features):
                diff[a] = X[row, a] - means[k, a]
            maha = 0.0
            for j in range(n_features):
                y = 0.0
                for a in range(j + 1):
                    y += diff[a] * factor[k, j, a]
                maha += y * y
            out[i, k] = log_norm[k] - 0.5 * maha


@njit(**JIT)
def add_stats_full(X, start, n_rows, resp, resp_offset, sample_weight, means,
                   s0, s1, s2, diff):
    """Add one block's shifted statistics, the shift being each component's mean.

    With r = resp[resp_offset + i, k] * weight and d = X[start+i] - means[k]:
    s0[k] += r; s1[k] += r d; s2[k] (lower triangle) += r d dᵀ.
    Shapes: s0 (K,), s1 (K, D), s2 (K, D, D).
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
                diff[a] = X[row, a] - means[k, a]
                s1[k, a] += r * diff[a]
            for a in range(n_features):
                ra = r * diff[a]
                for b in range(a + 1):
                    s2[k, a, b] += ra * diff[b]

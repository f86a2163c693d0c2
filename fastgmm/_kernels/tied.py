"""Tied covariance: one upper-triangular precision factor U shared by all components.

Each point is transformed once, z = (x - c) U, and compared with the transformed
means m_k = (mu_k - c) U, so the triangular product is paid once per point rather
than once per component. ``c`` (the shift, near the data's mean) keeps the
subtraction accurate for data far from the origin. The shared scatter is
accumulated once per point around the same shift.
"""

from numba import njit

from .._config import JIT
from .common import row_weight


@njit(**JIT)
def log_prob_tied(X, start, n_rows, transformed_means, factor, log_norm, shift,
                  out, z):
    """out[i, k] = log_norm[k] - 1/2 ||(X[start+i] - shift) U - m_k||².

    Shapes: transformed_means (K, D) = (means - shift) U; factor (1, D, D) with
    factor[0, j, a] = U[a, j]; shift (D,); z (D,) scratch.
    """
    n_features = X.shape[1]
    n_components = transformed_means.shape[0]
    for i in range(n_rows):
        row = start + i
        for j in range(n_features):
            y = 0.0
            for a in range(j + 1):
                y += (X[row, a] - shift[a]) * factor[0, j, a]
            z[j] = y
        for k in range(n_components):
            maha = 0.0
            for j in range(n_features):
                t = z[j] - transformed_means[k, j]
                maha += t * t
            out[i, k] = log_norm[k] - 0.5 * maha


@njit(**JIT)
def add_stats_tied(X, start, n_rows, resp, resp_offset, sample_weight, means, shift,
                   s0, s1, s2, diff):
    """Add one block's statistics for a tied model.

    s0[k] += r; s1[k] += r (x - means[k]); s2[0] (lower triangle) += w (x - c)(x - c)ᵀ
    with c = shift, once per point. Shapes: s0 (K,), s1 (K, D), s2 (1, D, D).
    """
    n_features = X.shape[1]
    n_components = means.shape[0]
    for i in range(n_rows):
        row = start + i
        w = row_weight(sample_weight, row)
        if w == 0.0:
            continue
        for k in range(n_components):
            r = resp[resp_offset + i, k] * w
            if r == 0.0:
                continue
            s0[k] += r
            for a in range(n_features):
                s1[k, a] += r * (X[row, a] - means[k, a])
        for a in range(n_features):
            diff[a] = X[row, a] - shift[a]
        for a in range(n_features):
            wa = w * diff[a]
            for b in range(a + 1):
                s2[0, a, b] += wa * diff[b]

"""Tied covariance: one upper-triangular precision factor U shared by all components.

Each point is transformed once, z = (x - c) U, and compared with the transformed
means m_k = (mu_k - c) U, so the triangular product is paid once per point rather
than once per component. ``c`` (the shift, near the data) keeps the subtraction
accurate for data far from the origin. The shared scatter is accumulated once
per point around the same shift. The block is held transposed in ``work``.
"""

from numba import njit

from .._config import JIT
from .common import (
    add_component_moments,
    add_lower_products,
    row_weight,
    triangular_row,
)


@njit(**JIT)
def log_prob_tied(n_features, n_rows, transformed_means, factor, log_norm, shift,
                  out, work):
    """out[k, i] = log_norm[k] - 1/2 ||(x_i - shift) U - m_k||² for the block in
    work[:D]; work rows D..2D-1 hold the centred block, 2D..3D-1 its transform,
    3D+1 is scratch."""
    d = n_features
    maha = work[3 * d + 1]
    for a in range(d):
        c = shift[a]
        for i in range(n_rows):
            work[d + a, i] = work[a, i] - c
    for j in range(d):
        triangular_row(work, d, 2 * d + j, n_rows, factor, int(0), j)
    for k in range(transformed_means.shape[0]):
        for i in range(n_rows):
            maha[i] = 0.0
        for j in range(d):
            m = transformed_means[k, j]
            for i in range(n_rows):
                t = work[2 * d + j, i] - m
                maha[i] += t * t
        base = log_norm[k]
        for i in range(n_rows):
            out[k, i] = base - 0.5 * maha[i]


@njit(**JIT)
def add_stats_tied(n_features, start, n_rows, resp, sample_weight,
                   means, shift, s0, s1, s2, work, idx):
    """Add the block's statistics for a tied model: s0[k] += r, s1[k] += r (x - mu_k)
    per component, and once per point the lower triangle of
    s2[0] += w (x - c)(x - c)ᵀ around c = shift."""
    d = n_features
    for k in range(means.shape[0]):
        add_component_moments(work, d, n_rows, resp, sample_weight, start, k,
                              means[k], s0, s1)
    # the shared scatter: centred block in rows D.., weighted copy in rows 2D..
    for a in range(d):
        c = shift[a]
        for i in range(n_rows):
            t = work[a, i] - c
            work[d + a, i] = t
            work[2 * d + a, i] = row_weight(sample_weight, start + i) * t
    add_lower_products(work, 2 * d, d, d, n_rows, s2[0])

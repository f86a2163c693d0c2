"""Tied covariance: one upper-triangular precision factor U shared by all components.

Each point is transformed once, z = (x - c) U, and compared with the transformed
means m_k = (mu_k - c) U, so the triangular product is paid once per point rather
than once per component. ``c`` (the shift, near the data) keeps the subtraction
accurate for data far from the origin. The shared scatter is accumulated once
per point around the same shift. The block is held transposed in ``work``.
Below TILE features the passes take full's one-sweep log-densities with the
one factor (``full.log_prob_full_narrow``) and ``add_stats_tied_narrow``.
"""


from .._config import JIT, compiled_only
from .common import (
    add_component_moments,
    add_lower_products,
    narrow_weights,
    row_weight,
    triangular_row,
)


@compiled_only(**JIT)
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


@compiled_only(**JIT)
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


@compiled_only(**JIT)
def add_stats_tied_narrow(n_features, start, n_rows, resp, sample_weight, means,
                          shift, s0, s1, s2, work):
    """``add_stats_tied`` for fewer than TILE features (1 to 3): per component
    one sweep adds its mass and its first moment around its mean, then one
    sweep the lower triangle of the shared scatter around c = shift, every sum
    in registers and rows indexed in place (``common.add_component_stats_narrow``).
    Below three features the last feature's row is read again and its extra
    sums are dropped."""
    d = n_features
    j1, j2 = min(1, d - 1), min(2, d - 1)
    for k in range(means.shape[0]):
        rows, own = narrow_weights(resp, k, sample_weight, start, n_rows, work,
                                   3 * d)
        c0, c1, c2 = means[k, 0], means[k, j1], means[k, j2]
        total = p0 = p1 = p2 = 0.0
        for i in range(n_rows):
            w = rows[own, i]
            total += w
            p0 += w * (work[0, i] - c0)
            p1 += w * (work[j1, i] - c1)
            p2 += w * (work[j2, i] - c2)
        s0[k] += total
        s1[k, 0] += p0
        if d > 1:
            s1[k, 1] += p1
        if d > 2:
            s1[k, 2] += p2
    c0, c1, c2 = shift[0], shift[j1], shift[j2]
    q00 = q10 = q11 = q20 = q21 = q22 = 0.0
    for i in range(n_rows):
        w = row_weight(sample_weight, start + i)
        t0, t1, t2 = work[0, i] - c0, work[j1, i] - c1, work[j2, i] - c2
        u0, u1, u2 = w * t0, w * t1, w * t2
        q00 += u0 * t0
        q10 += u1 * t0
        q11 += u1 * t1
        q20 += u2 * t0
        q21 += u2 * t1
        q22 += u2 * t2
    s2[0, 0, 0] += q00
    if d > 1:
        s2[0, 1, 0] += q10
        s2[0, 1, 1] += q11
    if d > 2:
        s2[0, 2, 0] += q20
        s2[0, 2, 1] += q21
        s2[0, 2, 2] += q22

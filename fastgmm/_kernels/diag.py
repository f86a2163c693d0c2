"""Diagonal covariance, and spherical as its special case (one variance per component).

Parameters arrive as ``factor[k, 0, a]`` = the precision 1 / sigma²_{k,a};
log N(x | k) = log_norm_k - 1/2 sum_a factor[k, 0, a] (x_a - mu_{k,a})². A
spherical model passes ``factor`` of shape (K, 1, 1): its one precision multiplies
the squared distance once per point.
The block is held transposed in ``work`` (see ``common``). Both kernels take the
features four at a time, so a sweep over the points does four features' work
for one load and store of the running sum (log-density) or none at all
(statistics, whose sums stay in registers).
"""

from numba import njit

from .._config import JIT
from .common import TILE, compact_nonzero, component_weights


@njit(**JIT)
def log_prob_diag(n_features, n_rows, means, factor, log_norm, out, work):
    """out[k, i] = log_norm[k] - 1/2 sum_a factor[k, 0, a] (x_ia - means[k, a])²
    for the block in work[:D] (factor[k, 0, 0] for every a when factor is
    (K, 1, 1))."""
    spherical = factor.shape[2] == 1
    for k in range(means.shape[0]):
        row = out[k]
        for i in range(n_rows):
            row[i] = 0.0
        if spherical:
            _add_sq_distances(n_features, n_rows, means[k], work, row)
            scale = -0.5 * factor[k, 0, 0]
        else:
            _add_weighted_sq_distances(n_features, n_rows, means[k], factor[k, 0],
                                       work, row)
            scale = -0.5
        base = log_norm[k]
        for i in range(n_rows):
            row[i] = base + scale * row[i]


@njit(**JIT)
def _add_weighted_sq_distances(n_features, n_rows, center, weight, work, row):
    """row[i] += sum_a weight[a] (work[a, i] - center[a])²."""
    whole = n_features - n_features % TILE
    for a in range(0, whole, TILE):
        c0, c1, c2, c3 = center[a], center[a + 1], center[a + 2], center[a + 3]
        f0, f1, f2, f3 = weight[a], weight[a + 1], weight[a + 2], weight[a + 3]
        x0, x1, x2, x3 = work[a], work[a + 1], work[a + 2], work[a + 3]
        for i in range(n_rows):
            t0 = x0[i] - c0
            t1 = x1[i] - c1
            t2 = x2[i] - c2
            t3 = x3[i] - c3
            row[i] += f0 * t0 * t0 + f1 * t1 * t1 + f2 * t2 * t2 + f3 * t3 * t3
    for a in range(whole, n_features):
        c = center[a]
        f = weight[a]
        x = work[a]
        for i in range(n_rows):
            t = x[i] - c
            row[i] += f * t * t


@njit(**JIT)
def _add_sq_distances(n_features, n_rows, center, work, row):
    """row[i] += sum_a (work[a, i] - center[a])²."""
    whole = n_features - n_features % TILE
    for a in range(0, whole, TILE):
        c0, c1, c2, c3 = center[a], center[a + 1], center[a + 2], center[a + 3]
        x0, x1, x2, x3 = work[a], work[a + 1], work[a + 2], work[a + 3]
        for i in range(n_rows):
            t0 = x0[i] - c0
            t1 = x1[i] - c1
            t2 = x2[i] - c2
            t3 = x3[i] - c3
            row[i] += t0 * t0 + t1 * t1 + t2 * t2 + t3 * t3
    for a in range(whole, n_features):
        c = center[a]
        x = work[a]
        for i in range(n_rows):
            t = x[i] - c
            row[i] += t * t


@njit(**JIT)
def add_stats_diag(n_features, start, n_rows, resp, sample_weight,
                   means, s0, s1, s2, work, idx):
    """Add the block's per-feature statistics: s0[k] += r, s1[k] += r d,
    s2[k, 0] += r d², with r = resp * weight and d = x - means[k].

    When most of the block's points have r > 0 the sums run over all of them (in
    place, zeros included); otherwise the points with r > 0 are first copied to
    work rows D..2D-1, so far components cost almost nothing.
    """
    for k in range(means.shape[0]):
        add_component_stats_diag(k, n_features, start, n_rows, resp, sample_weight,
                                 means, s0, s1, s2, work, idx)


@njit(**JIT)
def add_component_stats_diag(k, n_features, start, n_rows, resp, sample_weight,
                             means, s0, s1, s2, work, idx):
    """Component k's part of ``add_stats_diag`` (work row 3D holds its r)."""
    d = n_features
    r = work[3 * d]
    nonzero = component_weights(resp, k, sample_weight, start, n_rows, r)
    if nonzero == 0:
        return
    m = n_rows
    src = 0
    if 2 * nonzero <= n_rows:
        m = compact_nonzero(r, n_rows, idx)
        for a in range(d):
            for j in range(m):
                work[d + a, j] = work[a, idx[j]]
        src = d
    total = 0.0
    for j in range(m):
        total += r[j]
    s0[k] += total
    add_diag_moments(work, src, r, d, m, means[k], s1[k], s2[k, 0])


@njit(**JIT)
def add_diag_moments(work, src, r, n_features, m, center, s1, s2):
    """s1[a] += sum_j r_j t_ja and s2[a] += sum_j r_j t_ja² with
    t_ja = work[src + a, j] - center[a], for j < m."""
    whole = n_features - n_features % TILE
    for a in range(0, whole, TILE):
        c0, c1, c2, c3 = center[a], center[a + 1], center[a + 2], center[a + 3]
        x0, x1 = work[src + a], work[src + a + 1]
        x2, x3 = work[src + a + 2], work[src + a + 3]
        p0 = p1 = p2 = p3 = q0 = q1 = q2 = q3 = 0.0
        for j in range(m):
            w = r[j]
            t0 = x0[j] - c0
            t1 = x1[j] - c1
            t2 = x2[j] - c2
            t3 = x3[j] - c3
            u0 = w * t0
            u1 = w * t1
            u2 = w * t2
            u3 = w * t3
            p0 += u0
            p1 += u1
            p2 += u2
            p3 += u3
            q0 += u0 * t0
            q1 += u1 * t1
            q2 += u2 * t2
            q3 += u3 * t3
        s1[a] += p0
        s1[a + 1] += p1
        s1[a + 2] += p2
        s1[a + 3] += p3
        s2[a] += q0
        s2[a + 1] += q1
        s2[a + 2] += q2
        s2[a + 3] += q3
    for a in range(whole, n_features):
        c = center[a]
        x = work[src + a]
        p = q = 0.0
        for j in range(m):
            t = x[j] - c
            u = r[j] * t
            p += u
            q += u * t
        s1[a] += p
        s2[a] += q

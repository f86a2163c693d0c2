"""Full covariance: one upper-triangular precision factor U_k per component.

Parameters arrive as ``factor[k, j, a] = U_k[a, j]`` (lower triangle used);
log N(x | k) = log_norm_k - 1/2 ||(x - mu_k) U_k||². The block is held transposed
in ``work`` (see ``common``), so every inner loop runs over the block's points.

A pass runs one of three sets of kernels, chosen when it is compiled
(``em.kernel_variant``): the float64 tiles (``log_prob_full_double``,
``add_stats_full_double``), their float32 products for float32 data of a
multiple of TILE features (``..._single``), or one sweep per component below
TILE features (``..._narrow``). The loops over components are inlined into the
pass: a compiled function between the pass and the kernels costs a compilation
of everything below it again (Numba links and optimises each function's callees
into its own module).
"""

import numpy as np
from numba import njit

from .._config import INLINE_JIT, JIT, compiled_only
from .common import (
    TILE,
    add_centred_products,
    add_component_stats,
    add_component_stats_narrow,
    add_first_moments,
    add_lower_products,
    add_triangular_norms,
    component_weights,
    gather_nonzero,
)


@njit(**INLINE_JIT)
def log_prob_full_double(n_features, n_rows, means, factor, log_norm, out, work):
    """out[k, i] = log_norm[k] - 1/2 ||(x_i - means[k]) U_k||² for the block in
    work[:D] (transposed), by tiles of features (any D). Uses work rows
    3D+1..3D+5 as scratch, and D..2D-1 when D is not a multiple of 4 (the rows
    centred beforehand).

    Cost: K D(D+1)/2 multiply-adds per point, vectorised over points.
    """
    d = n_features
    zero = np.zeros(d)
    for k in range(means.shape[0]):
        _log_prob_component(k, d, n_rows, means, factor, log_norm, out, work,
                            work, 3 * d + 1, means[k], zero, zero)


@njit(**INLINE_JIT)
def log_prob_full_narrow(n_features, n_rows, means, factor, log_norm, out, work):
    """``log_prob_full_double`` for fewer than TILE features (1 to 3); also a
    tied model's, whose ``factor`` (1, D, D) holds the one factor of every
    component: ||(x - mu_k) U||² is its log-density's ||(x - c) U - m_k||²."""
    for k in range(means.shape[0]):
        _log_prob_full_narrow(k, n_features, n_rows, means, factor, log_norm, out,
                              work)


@compiled_only(**JIT)
def _log_prob_full_narrow(k, d, n_rows, means, factor, log_norm, out, work):
    """out[k] for fewer than TILE features (1 to 3), in one sweep over the
    points: all of x - mu and (x - mu) U_k in registers (the tile path's plain
    rows took seven sweeps). Two loops, for D = 3 and for D <= 2: a single
    feature reads its row twice, with zero factors for the second. Rows are
    indexed in place, not taken as views (``common.add_component_stats_narrow``).
    A ``factor`` of one component (tied) serves every k."""
    j1 = min(1, d - 1)
    u = min(k, factor.shape[0] - 1)
    c0, c1 = means[k, 0], means[k, j1]
    f00 = factor[u, 0, 0]
    f10 = factor[u, 1, 0] if d > 1 else 0.0
    f11 = factor[u, 1, 1] if d > 1 else 0.0
    base = log_norm[k]
    if d == 3:
        c2 = means[k, 2]
        f20, f21, f22 = factor[u, 2, 0], factor[u, 2, 1], factor[u, 2, 2]
        for i in range(n_rows):
            t0, t1, t2 = work[0, i] - c0, work[1, i] - c1, work[2, i] - c2
            y0 = t0 * f00
            y1 = t0 * f10 + t1 * f11
            y2 = t0 * f20 + (t1 * f21 + t2 * f22)
            out[k, i] = base - 0.5 * ((y0 * y0 + y1 * y1) + y2 * y2)
        return
    for i in range(n_rows):
        t0, t1 = work[0, i] - c0, work[j1, i] - c1
        y0 = t0 * f00
        y1 = t0 * f10 + t1 * f11
        out[k, i] = base - 0.5 * (y0 * y0 + y1 * y1)


@compiled_only(**JIT)
def log_prob_full_single(n_features, n_rows, means, factor, log_norm, out, work):
    """``log_prob_full_double`` for float32 data, its products in float32: twice
    the points per vector instruction, and the scratch (D + 5 rows) fits in L1.

    The block (exact in float32) is copied once. Each component's mean is
    split into its float32 value hi and the rest lo = mu - hi: the tiles centre
    on hi, and subtract U_kᵀ lo (computed in float64) from each output, so the
    outputs are those of x - mu however far the data lie from the origin (hi
    alone would shift every point by up to half a float32 ulp of mu: a 1e-3
    sigma error at |mu| = 1e4 sigma). With D not a multiple of 4 the rows are
    centred in float64 first, then rounded. The squared norms are accurate to
    a few float32 ulps.
    """
    n_components = means.shape[0]
    d = n_features
    single = np.empty((2 * d + 5, n_rows), dtype=np.float32)
    factor_single = factor.astype(np.float32)  # one vectorised sweep
    for a in range(d):
        for i in range(n_rows):
            single[a, i] = work[a, i]
    hi = np.empty(d, dtype=np.float32)
    offset = np.empty(d, dtype=np.float32)
    zero = np.zeros(d, dtype=np.float32)
    for k in range(n_components):
        for a in range(d):
            hi[a] = means[k, a]
        for j in range(d):
            g = 0.0
            for a in range(j + 1):
                g += factor[k, j, a] * (means[k, a] - np.float64(hi[a]))
            offset[j] = g
        _log_prob_component(k, d, n_rows, means, factor_single, log_norm, out,
                            work, single, 2 * d, hi, offset, zero)


@compiled_only(**JIT)
def _log_prob_component(k, d, n_rows, means, factor, log_norm, out, work, rows,
                        scratch, center, offset, zero):
    """out[k] for ``log_prob_full_*``: the block's rows in rows[:D] (float64
    ``work``, or its float32 copy), centred by the tiles on ``center`` with the
    outputs' ``offset`` (``add_triangular_norms``); rows[scratch:scratch + 5]
    are scratch, and when D is not a multiple of 4 rows[D:2D] take the rows
    centred in float64 beforehand (``zero``: D zeros)."""
    maha = rows[scratch + 4]
    for i in range(n_rows):
        maha[i] = 0.0
    if d % TILE == 0:
        add_triangular_norms(rows, int(0), scratch, d, n_rows, factor, k, center,
                             offset, maha)
    else:
        for a in range(d):
            c = means[k, a]
            for i in range(n_rows):
                rows[d + a, i] = work[a, i] - c
        add_triangular_norms(rows, d, scratch, d, n_rows, factor, k, zero, zero,
                             maha)
    base = log_norm[k]
    for i in range(n_rows):
        out[k, i] = base - 0.5 * maha[i]


@njit(**INLINE_JIT)
def add_stats_full_double(n_features, start, n_rows, resp, sample_weight,
                          means, s0, s1, s2, work, idx):
    """Add the block's statistics around each component's mean: with
    r = resp * weight and d = x - means[k], s0[k] += r, s1[k] += r d and the
    lower triangle of s2[k] += r d dᵀ, by tiles of features in float64 (any
    D; ``common.add_component_stats``)."""
    for k in range(means.shape[0]):
        add_component_stats(work, n_features, n_rows, resp, sample_weight, start,
                            k, means[k], idx, s0, s1, s2[k])


@njit(**INLINE_JIT)
def add_stats_full_narrow(n_features, start, n_rows, resp, sample_weight, means,
                          s0, s1, s2, work):
    """``add_stats_full_double`` for fewer than TILE features (1 to 3), one
    sweep over every point per component (``common.add_component_stats_narrow``)."""
    for k in range(means.shape[0]):
        add_component_stats_narrow(work, n_features, n_rows, resp, sample_weight,
                                   start, k, means[k], s0, s1, s2[k])


@compiled_only(**JIT)
def add_stats_full_single(n_features, start, n_rows, resp, sample_weight,
                          means, s0, s1, s2, work, idx):
    """``add_stats_full_double`` for float32 data, in float32 lanes: the block (exact
    in float32) is copied to float32 rows and each component's deviations are
    taken from hi = float32(mu_k), so the products run on twice the points per
    instruction. As in float64 (``common.add_component_stats``), a component
    with r > 0 on most points forms its deviations inside the product sweeps
    (``add_centred_products``; gathering them first cost 1.3x as much at
    1M x 16 x 16), and one with few gathers those points. A block's sums (at
    most BLOCK_ROWS terms, in float32) are then moved to the mean in float64:
    with t = x - hi = d + lo,
    lo = mu_k - hi, sum r d = sum r t - R lo and sum r d dᵀ = sum r t tᵀ
    - g loᵀ - lo gᵀ + R lo loᵀ (R = sum r, g = sum r t), exact algebra, so
    the statistics lose nothing to the rounding of mu_k however far the data
    lie from the origin."""
    d = n_features
    n_components = means.shape[0]
    rows = np.empty((3 * d + 1, n_rows), dtype=np.float32)
    for a in range(d):
        for i in range(n_rows):
            rows[a, i] = work[a, i]
    mass = np.zeros(n_components)
    first = np.zeros((n_components, d))
    hi = np.empty(d, dtype=np.float32)
    lo = np.empty(d)
    for k in range(n_components):
        for a in range(d):
            hi[a] = means[k, a]
            lo[a] = means[k, a] - np.float64(hi[a])
        r = rows[3 * d]
        nonzero = component_weights(resp, k, sample_weight, start, n_rows, r)
        if nonzero == 0:
            continue
        if 2 * nonzero > n_rows:
            total = 0.0
            for i in range(n_rows):
                total += r[i]
            mass[k] = total
            add_centred_products(rows, d, n_rows, r, hi, first[k], s2[k])
        else:
            m = gather_nonzero(rows, d, n_rows, r, hi, idx)
            add_first_moments(rows, d, m, k, mass, first)
            add_lower_products(rows, 2 * d, d, d, m, s2[k])
        total = mass[k]
        s0[k] += total
        for a in range(d):
            s1[k, a] += first[k, a] - total * lo[a]
            for b in range(a + 1):
                s2[k, a, b] += (total * lo[a] * lo[b] - first[k, a] * lo[b]
                                - lo[a] * first[k, b])

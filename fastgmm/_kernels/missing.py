"""Kernels for data with missing values (NaN): exact EM under missing at random.

A row with missing coordinates m and observed o is completed, under component k
of precision Λ, with the conditional mean

    x̂_m = μ_m − Λ_mm⁻¹ g,   g = Λ_m· (x̃ − μ)   (x̃: the row with x̃_m = μ_m),

which makes the ordinary quadratic form of the completed row equal the
observed-data one, (x̂ − μ)ᵀ Λ (x̂ − μ) = (x_o − μ_o)ᵀ Σ_oo⁻¹ (x_o − μ_o), while
log det Σ_oo = log det Σ + log det Λ_mm. So the log-density of the observed
coordinates is the ordinary one of the completed row plus the per-row
correction m/2 log 2π − 1/2 log det Λ_mm, and the statistics of the M-step are
the ordinary ones of the completed rows plus r Λ_mm⁻¹, the conditional
covariance, in the mm block of the second moment. More generally, for a row
completed with any x̃_m, g = Λ_m· (x̃ − μ) gives the observed quadratic form as
(x̃ − μ)ᵀ Λ (x̃ − μ) − gᵀ Λ_mm⁻¹ g and the conditional mean as x̃_m − Λ_mm⁻¹ g.

How each type uses it, on a block that holds a NaN (blocks without one run the
ordinary kernels, ``em._log_prob_block`` and ``em._add_stats_block``):

* full: one pass over the block's incomplete rows computes, for every
  component at once (the inner loops run over the components, contiguous in
  the transposed parameters), g for the row completed with x̃_m = c, a point
  near the data (the mean of the means; g = Λ_m· (x̃ − c) − Λ_m· (μ_k − c),
  m·D multiply-adds per component from the row of X), solves the m x m
  systems (closed forms for up to three missing values, LDLᵀ factorisations
  beyond) and keeps the completions (K numbers per missing entry, per
  component contiguous) and the corrections. Then, per component, the
  completions are written into the block and the ordinary tiled kernels run
  on it: the triangular norms for the E-step; the products for the
  statistics, plus r Λ_mm⁻¹, the conditional covariances, inverted from the
  same factorisations in the E-step for every component at once and kept for
  the block (m(m+1)/2 numbers per component and incomplete row).
* tied: Λ is shared, so the ordinary kernels run once on the block completed
  with x̃_m = shift_m (the transform of each row is paid once, as for complete
  data); each incomplete row's Λ_mm is factorised once, and per component only
  g = g₀ − Λ_m· (μ_k − shift) is solved (m² operations) to correct the
  log-density and give the completion. The shared scatter of the completed rows
  is the ordinary one of the block plus sparse terms: with u = x̃ − shift (zero
  on m) and c_k = x̂_k − x̃ (zero off m), Σ_k r_k (u + c_k)(u + c_k)ᵀ =
  w u uᵀ + u eᵀ + e uᵀ + Σ_k r_k c_k c_kᵀ, e = Σ_k r_k c_k.
* diag and spherical: missing features drop out. One vectorised sweep masks
  the block as it is transposed (x = 0 where missing, and the observed
  indicator o; no list of the entries unless a Gibbs sweep, the variational
  entropy or imputation reads it). The E-step runs the ordinary tiled sums,
  taking for a missing entry the constant log λ_a − log 2π in place of
  λ_a (x_a − μ_a)²; the statistics are those of the block completed with
  x̂_m = μ_m per component (zero deviations: x − μ·o) plus r / λ_a for each
  missing feature a, from the missing mass Σ r − Σ r o summed in the same
  sweep.

The per-component log-determinants of the one and two missing value blocks of Λ
come precomputed (``log_minors``), so that no logarithm is taken per row for
them. Chunks and slots are those of ``em.accumulate``, so results do not depend
on the number of threads.
"""

from functools import cache

import numpy as np
from numba import njit

from .._config import BLOCK_ROWS, INLINE_JIT, JIT, chunk_layout
from .common import (
    FULL,
    LABELS,
    RESPONSIBILITIES_ENTROPY,
    TIED,
    TILE,
    add_component_stats,
    add_component_stats_narrow,
    argmax_rows,
    block_entropy,
    block_log_likelihood,
    compact_nonzero,
    component_weights,
    exponentiate_rows,
    normalise_rows,
    row_weight,
    transpose_block,
    work_rows,
    write_predictions,
)
from .diag import add_diag_moments, add_stats_diag, add_stats_diag_narrow
from .em import _add_stats_block, _log_prob_block, built_pass, kernel_variant
from .full import (
    _log_prob_component,
    add_stats_full_double,
    add_stats_full_narrow,
)
from .kinds import SAMPLED
from .random import inverse_cdf, normal, sample_block, uniform, weighted_copies
from .threads import run_chunks
from .tied import add_stats_tied, log_prob_tied

IMPUTE = 3
"""Prediction mode of ``predict_missing`` (after SCORE, LABELS, PROBA of
``kinds``): values (N, D) = the row with each missing entry replaced by its
responsibility-weighted conditional expectation."""

LOG_2PI = np.log(2.0 * np.pi)
HALF_LOG_2PI = 0.5 * LOG_2PI

# The running product of LDLᵀ pivots is folded into a logarithm when it leaves
# [1 / LOG_FOLD, LOG_FOLD], so that one logarithm serves several pivots.
LOG_FOLD = 1e150

# Rows of the per-chunk scratch ``vectors`` (each of length D).
_T, _G0, _E, _WEIGHT, _ABSENT, _ZERO, _LOG_DET, _DRAW, _MISSING = range(9)
N_VECTORS = 9


@njit(**JIT)
def find_missing(work, n_features, n_rows, count, features, offset):
    """For the block in work[:D]: count[i] = missing entries of row i,
    features[i, :count[i]] their features in increasing order, offset[i] the
    position of row i's first entry in the block's list; returns the total.
    Without branches: every feature is written at the row's next position,
    which advances past it only when its entry is NaN (a branch on NaN, taken
    at random, mispredicts often enough to triple the time)."""
    total = 0
    for i in range(n_rows):
        m = 0
        for a in range(n_features):
            features[i, m] = a
            m += np.isnan(work[a, i])
        count[i] = m
        offset[i] = total
        total += m
    return total


# The per-row functions below take whole arrays and indices rather than views
# (features[i], means[k]): a view costs reference-count updates, which here
# cost more than the row's arithmetic.


@njit(**JIT)
def _ldl_missing(precision, kp, features, i, m, chol):
    """LDLᵀ factorisation of Λ_mm (Λ = precision[kp], m = features[i, :m]):
    the unit lower factor below the diagonal of chol[:m, :m], the pivots on it."""
    for a in range(m):
        fa = features[i, a]
        for b in range(a):
            s = precision[kp, fa, features[i, b]]
            for c in range(b):
                s -= chol[a, c] * chol[b, c] * chol[c, c]
            chol[a, b] = s / chol[b, b]
        s = precision[kp, fa, fa]
        for c in range(a):
            s -= chol[a, c] * chol[a, c] * chol[c, c]
        chol[a, a] = s


@njit(**JIT)
def _factor_missing(precision, kp, features, i, m, log_minors, chol):
    """log det Λ_mm; for m >= 3 also leaves ``_ldl_missing``'s factorisation in
    chol for ``_solve_missing``."""
    if m == 1:
        f = features[i, 0]
        return log_minors[kp, f, f]
    if m == 2:
        return log_minors[kp, features[i, 1], features[i, 0]]
    _ldl_missing(precision, kp, features, i, m, chol)
    log_det = 0.0
    product = 1.0
    for a in range(m):
        product *= chol[a, a]
        if product > LOG_FOLD or product < 1.0 / LOG_FOLD:
            log_det += np.log(product)
            product = 1.0
    return log_det + np.log(product)


@njit(**JIT)
def _solve_missing(precision, kp, features, i, m, g, chol):
    """g[:m] <- Λ_mm⁻¹ g[:m]; returns gᵀ Λ_mm⁻¹ g (a sum of squares over
    pivots, so it does not cancel). For m >= 3, chol holds the factorisation of
    ``_factor_missing``."""
    if m == 1:
        f = features[i, 0]
        y = g[0] / precision[kp, f, f]
        quad = g[0] * y
        g[0] = y
        return quad
    if m == 2:
        f0, f1 = features[i, 0], features[i, 1]
        p = precision[kp, f0, f0]
        lower = precision[kp, f1, f0] / p
        pivot = precision[kp, f1, f1] - lower * precision[kp, f1, f0]
        z = g[1] - lower * g[0]
        quad = g[0] * g[0] / p + z * z / pivot
        y1 = z / pivot
        g[0] = g[0] / p - lower * y1
        g[1] = y1
        return quad
    quad = 0.0
    for a in range(m):
        s = g[a]
        for c in range(a):
            s -= chol[a, c] * g[c]
        g[a] = s
        quad += s * s / chol[a, a]
    for a in range(m - 1, -1, -1):
        s = g[a] / chol[a, a]
        for c in range(a + 1, m):
            s -= chol[c, a] * g[c]
        g[a] = s
    return quad


@njit(**JIT)
def _add_conditional_covariance(precision, kp, features, i, m, r, chol, inverse,
                                s2, ks):
    """s2[ks, f_a, f_b] += r (Λ_mm⁻¹)[a, b] for b <= a (the lower triangle; the
    features of row i are increasing). chol and inverse (D, D) are scratch."""
    if m == 1:
        f = features[i, 0]
        s2[ks, f, f] += r / precision[kp, f, f]
        return
    if m == 2:
        f0, f1 = features[i, 0], features[i, 1]
        p, q, s = precision[kp, f0, f0], precision[kp, f1, f0], precision[kp, f1, f1]
        scale = r / (p * s - q * q)
        s2[ks, f0, f0] += scale * s
        s2[ks, f1, f0] -= scale * q
        s2[ks, f1, f1] += scale * p
        return
    _ldl_missing(precision, kp, features, i, m, chol)
    # Λ_mm⁻¹ = Mᵀ D⁻¹ M with M = L⁻¹ (unit lower, into inverse)
    for a in range(m):
        inverse[a, a] = 1.0
        for b in range(a):
            s = 0.0
            for c in range(b, a):
                s -= chol[a, c] * inverse[c, b]
            inverse[a, b] = s
    for a in range(m):
        for b in range(a + 1):
            s = 0.0
            for c in range(a, m):
                s += inverse[c, a] * inverse[c, b] / chol[c, c]
            s2[ks, features[i, a], features[i, b]] += r * s


@njit(**JIT)
def _centred_row(X, row, center, features, i, m, t):
    """t = X[row] − center, with 0 at the row's missing features."""
    for b in range(X.shape[1]):
        t[b] = X[row, b] - center[b]
    for a in range(m):
        t[features[i, a]] = 0.0


@njit(**JIT)
def _substitute(m, chol, g, n_components):
    """g[:m, k] <- Λ_mm⁻¹ g[:m, k] for every k, from the LDLᵀ factors in
    chol[:m, :m, k] (pivots on the diagonal); returns nothing."""
    for a in range(m):
        for c in range(a):
            for k in range(n_components):
                g[a, k] -= chol[a, c, k] * g[c, k]
    for a in range(m - 1, -1, -1):
        for k in range(n_components):
            g[a, k] /= chol[a, a, k]
        for c in range(a + 1, m):
            for k in range(n_components):
                g[a, k] -= chol[c, a, k] * g[c, k]


@njit(**JIT)
def _observed_products(X, row, i, m, features, center, columns, precision_t, y, g):
    """g[a, k] = Λ_k[f_a, ·] (x̃ − μ_k) for the missing features f_a of row
    ``row`` (a < m) and every component k, where x̃ is the row completed with
    x̃_m = center_m: Λ_k[f_a, ·] y − columns[f_a, k], with y = x̃ − center (0
    at the missing features) and columns[f, k] = Λ_k[f, ·] (μ_k − center).
    Four features per sweep over the components, so that g goes through
    memory a quarter as often. y (D,) is scratch."""
    d = X.shape[1]
    n_components = columns.shape[1]
    for b in range(d):
        v = X[row, b]
        y[b] = 0.0 if np.isnan(v) else v - center[b]
    whole = d - d % 4
    for a in range(m):
        fa = features[i, a]
        for k in range(n_components):
            g[a, k] = -columns[fa, k]
        for b in range(0, whole, 4):
            y0, y1, y2, y3 = y[b], y[b + 1], y[b + 2], y[b + 3]
            for k in range(n_components):
                g[a, k] += (precision_t[fa, b, k] * y0 + precision_t[fa, b + 1, k] * y1
                            + precision_t[fa, b + 2, k] * y2
                            + precision_t[fa, b + 3, k] * y3)
        for b in range(whole, d):
            yb = y[b]
            for k in range(n_components):
                g[a, k] += precision_t[fa, b, k] * yb


@njit(**JIT)
def _complete_full(X, start, n_rows, count, features, offset, center, columns,
                   precision_t, log_minors_t, fills, correction, conditional, g,
                   chol, log_det, y):
    """For each incomplete row i of the block, under every component k at once
    (the inner loops run over k, contiguous in precision_t and log_minors_t
    (D, D, K) and columns (D, K), see ``_observed_products``):
    fills[k, offset[i] + a] = x̂_m[a] = center_m[a] − (Λ_mm⁻¹ g)[a] and
    correction[k, i] = m/2 log 2π − 1/2 log det Λ_mm (0 for complete rows).
    Unless conditional has no rows (predictions), also the lower triangle of
    the conditional covariance Λ_mm⁻¹, row by row, at
    conditional[p_i:p_i + m(m+1)/2, k] (p_i: the triangles of the block's
    earlier rows), for the statistics. One, two and three missing values (most
    rows) are solved in closed form, one sweep over the components each; more
    factorise every component's Λ_mm at once. g (D, K), chol (M, M, K) with
    M >= the block's most missing values, log_det (K,) and y (D,) are
    scratch."""
    n_components = columns.shape[1]
    keep = conditional.shape[0] > 0
    p = 0
    for i in range(n_rows):
        m = count[i]
        if m == 0:
            for k in range(n_components):
                correction[k, i] = 0.0
            continue
        at = offset[i]
        _observed_products(X, start + i, i, m, features, center, columns,
                           precision_t, y, g)
        if m == 1:
            f = features[i, 0]
            c0 = center[f]
            for k in range(n_components):
                fills[k, at] = c0 - g[0, k] / precision_t[f, f, k]
                correction[k, i] = HALF_LOG_2PI - 0.5 * log_minors_t[f, f, k]
            if keep:
                for k in range(n_components):
                    conditional[p, k] = 1.0 / precision_t[f, f, k]
                p += 1
            continue
        if m == 2:
            f0, f1 = features[i, 0], features[i, 1]
            c0, c1 = center[f0], center[f1]
            for k in range(n_components):
                # Λ_mm = L D Lᵀ: pivots d0, d1, l10 below the diagonal
                d0 = precision_t[f0, f0, k]
                a10 = precision_t[f1, f0, k]
                l10 = a10 / d0
                d1 = precision_t[f1, f1, k] - l10 * a10
                x1 = (g[1, k] - l10 * g[0, k]) / d1
                fills[k, at] = c0 - (g[0, k] / d0 - l10 * x1)
                fills[k, at + 1] = c1 - x1
                correction[k, i] = 2.0 * HALF_LOG_2PI - 0.5 * log_minors_t[f1, f0, k]
                if keep:  # Λ_mm⁻¹ = Mᵀ D⁻¹ M, M = L⁻¹
                    conditional[p, k] = 1.0 / d0 + l10 * l10 / d1
                    conditional[p + 1, k] = -l10 / d1
                    conditional[p + 2, k] = 1.0 / d1
            if keep:
                p += 3
            continue
        if m == 3:
            f0, f1, f2 = features[i, 0], features[i, 1], features[i, 2]
            c0, c1, c2 = center[f0], center[f1], center[f2]
            for k in range(n_components):
                d0 = precision_t[f0, f0, k]
                a10 = precision_t[f1, f0, k]
                a20 = precision_t[f2, f0, k]
                l10 = a10 / d0
                l20 = a20 / d0
                d1 = precision_t[f1, f1, k] - l10 * a10
                l21 = (precision_t[f2, f1, k] - l20 * a10) / d1
                d2 = precision_t[f2, f2, k] - l20 * a20 - l21 * l21 * d1
                z1 = g[1, k] - l10 * g[0, k]
                x2 = (g[2, k] - l20 * g[0, k] - l21 * z1) / d2
                x1 = z1 / d1 - l21 * x2
                fills[k, at] = c0 - (g[0, k] / d0 - l10 * x1 - l20 * x2)
                fills[k, at + 1] = c1 - x1
                fills[k, at + 2] = c2 - x2
                chol[0, 0, k] = d0
                chol[1, 1, k] = d1
                chol[2, 2, k] = d2
                if keep:
                    m20 = l21 * l10 - l20
                    r1 = 1.0 / d1
                    r2 = 1.0 / d2
                    conditional[p, k] = 1.0 / d0 + l10 * l10 * r1 + m20 * m20 * r2
                    conditional[p + 1, k] = -l10 * r1 - l21 * m20 * r2
                    conditional[p + 2, k] = r1 + l21 * l21 * r2
                    conditional[p + 3, k] = m20 * r2
                    conditional[p + 4, k] = -l21 * r2
                    conditional[p + 5, k] = r2
            # the logarithms apart, so that the sweep above vectorises
            _log_det_pivots(int(3), chol, log_det)
            for k in range(n_components):
                correction[k, i] = 3.0 * HALF_LOG_2PI - 0.5 * log_det[k]
            if keep:
                p += 6
            continue
        # LDLᵀ of every component's Λ_mm at once
        for a in range(m):
            fa = features[i, a]
            for b in range(a + 1):
                fb = features[i, b]
                for k in range(n_components):
                    chol[a, b, k] = precision_t[fa, fb, k]
                for c in range(b):
                    for k in range(n_components):
                        chol[a, b, k] -= chol[a, c, k] * chol[b, c, k] * chol[c, c, k]
                if b < a:
                    for k in range(n_components):
                        chol[a, b, k] /= chol[b, b, k]
        _substitute(m, chol, g, n_components)
        for a in range(m):
            ca = center[features[i, a]]
            for k in range(n_components):
                fills[k, at + a] = ca - g[a, k]
        _log_det_pivots(m, chol, log_det)
        for k in range(n_components):
            correction[k, i] = m * HALF_LOG_2PI - 0.5 * log_det[k]
        if keep:
            _ldl_inverse(m, chol, conditional, p, n_components)
            p += m * (m + 1) // 2


@njit(**JIT)
def _ldl_inverse(m, chol, out, p, n_components):
    """out[p + a(a+1)/2 + b, k] = (Λ_mm⁻¹)[a, b] for b <= a and every k, from
    the LDLᵀ factors in chol[:m, :m, k] (pivots on the diagonal), as Mᵀ D⁻¹ M
    with M = L⁻¹; M overwrites L below the diagonal (column by column: M[a, b]
    needs L[a, c] for c > b and M[c, b] for c < a)."""
    for b in range(m):
        for a in range(b + 1, m):
            for k in range(n_components):
                chol[a, b, k] = -chol[a, b, k]
            for c in range(b + 1, a):
                for k in range(n_components):
                    chol[a, b, k] -= chol[a, c, k] * chol[c, b, k]
    t = p
    for a in range(m):
        for b in range(a + 1):
            for k in range(n_components):
                out[t, k] = 1.0 / chol[a, a, k] if a == b else \
                    chol[a, b, k] / chol[a, a, k]
            for c in range(a + 1, m):
                for k in range(n_components):
                    out[t, k] += chol[c, a, k] * chol[c, b, k] / chol[c, c, k]
            t += 1


@njit(**JIT)
def _log_det_pivots(m, chol, log_det):
    """log_det[k] = sum_a log chol[a, a, k]: one logarithm of the product per
    component, a sum of logarithms where the product leaves the float range."""
    n_components = log_det.shape[0]
    for k in range(n_components):
        product = 1.0
        for a in range(m):
            product *= chol[a, a, k]
        log_det[k] = np.log(product)
    for k in range(n_components):
        if not np.isfinite(log_det[k]):
            total = 0.0
            for a in range(m):
                total += np.log(chol[a, a, k])
            log_det[k] = total


@njit(**JIT)
def _entry_positions(n_rows, count, features, offset, stride, position):
    """position[offset[i] + a] = features[i, a] * stride + i: where the block's
    missing entries lie in work (of ``stride`` columns) read as one vector."""
    for i in range(n_rows):
        at = offset[i]
        for a in range(count[i]):
            position[at + a] = features[i, a] * stride + i


@njit(**JIT)
def _write_fills(k, work, n_missing, position, fills):
    """Write component k's completions (full's fills[k]) into work[:D], at the
    entries' ``_entry_positions``: one flat sweep, reading fills[k]
    contiguously."""
    flat = work.ravel()
    for e in range(n_missing):
        flat[position[e]] = fills[k, e]


@njit(**JIT)
def _log_prob_completed_full(k, n_features, n_rows, means, factor, log_norm,
                             correction, zero, out, work):
    """out[k, i] = log_norm[k] + correction[k, i] − 1/2 ||(x̂_i − μ_k) U_k||² for
    the completed rows in work[:D]: ``full``'s float64 kernel for one component
    (work rows 3D+1..3D+5 its scratch; ``zero`` is a zero vector of length D),
    plus the correction."""
    d = n_features
    _log_prob_component(k, d, n_rows, means, factor, log_norm, out, work, work,
                        3 * d + 1, means[k], zero, zero)
    for i in range(n_rows):
        out[k, i] += correction[k, i]


@njit(**JIT)
def _complete_tied(X, start, n_rows, count, features, offset, precision,
                   projected_t, shift, fills, correction, out, vectors, g, chol):
    """Correct the ordinary log-densities ``out`` of the block completed with
    x̃_m = shift_m to those of the observed coordinates, and write the
    completions into fills[entry, k] and the rows' shared part of the
    correction, m/2 log 2π − 1/2 log det Λ_mm, into correction[0, i] (see the
    module docstring); projected_t (D, K) = Λ (μ_k − shift). Λ_mm is factorised
    once per row; the inner loops run over the components. g (D, K) and chol
    (D, D) are scratch."""
    n_components = projected_t.shape[1]
    d = shift.shape[0]
    t = vectors[_T]
    g0 = vectors[_G0]
    quad = np.zeros(n_components)
    for i in range(n_rows):
        m = count[i]
        if m == 0:
            continue
        at = offset[i]
        _centred_row(X, start + i, shift, features, i, m, t)
        for a in range(m):
            f = features[i, a]
            acc = 0.0
            for b in range(d):
                acc += precision[0, f, b] * t[b]
            g0[a] = acc
        _ldl_missing(precision, int(0), features, i, m, chol)
        log_det = 0.0
        for a in range(m):
            log_det += np.log(chol[a, a])
        base = m * HALF_LOG_2PI - 0.5 * log_det
        correction[0, i] = base
        for a in range(m):
            fa = features[i, a]
            for k in range(n_components):
                g[a, k] = g0[a] - projected_t[fa, k]
        for k in range(n_components):
            quad[k] = 0.0
        for a in range(m):
            for c in range(a):
                lower = chol[a, c]
                for k in range(n_components):
                    g[a, k] -= lower * g[c, k]
            pivot = chol[a, a]
            for k in range(n_components):
                quad[k] += g[a, k] * g[a, k] / pivot
        for a in range(m - 1, -1, -1):
            pivot = chol[a, a]
            for k in range(n_components):
                g[a, k] /= pivot
            for c in range(a + 1, m):
                lower = chol[c, a]
                for k in range(n_components):
                    g[a, k] -= lower * g[c, k]
        for k in range(n_components):
            out[k, i] += base + 0.5 * quad[k]
        for a in range(m):
            fa = features[i, a]
            for k in range(n_components):
                fills[at + a, k] = shift[fa] - g[a, k]


@njit(**JIT)
def _add_tied_corrections(X, start, n_rows, resp, sample_weight, count, features,
                          offset, fills, precision, shift, vectors, chol, inverse,
                          s1, s2):
    """What the completions add to ``tied.add_stats_tied``'s statistics of the
    block completed with shift: s1[k, m] += r (x̂_k,m − shift_m), and to the
    shared scatter u eᵀ + e uᵀ + Σ_k r_k c_k c_kᵀ + w Λ_mm⁻¹ (module docstring;
    the lower triangle). ``inverse`` holds Σ_k r_k c_k c_kᵀ while a row is added."""
    n_components = fills.shape[1]
    d = shift.shape[0]
    u = vectors[_T]
    e = vectors[_E]
    for i in range(n_rows):
        m = count[i]
        if m == 0:
            continue
        at = offset[i]
        weight = 1.0 if sample_weight.shape[0] == 0 else sample_weight[start + i]
        mass = 0.0
        for a in range(m):
            e[a] = 0.0
            for b in range(a + 1):
                inverse[a, b] = 0.0
        for k in range(n_components):
            r = resp[k, i] * weight
            if r == 0.0:
                continue
            mass += r
            for a in range(m):
                c = fills[at + a, k] - shift[features[i, a]]
                s1[k, features[i, a]] += r * c
                e[a] += r * c
                for b in range(a + 1):
                    inverse[a, b] += r * c * (fills[at + b, k] - shift[features[i, b]])
        if mass == 0.0:
            continue
        _centred_row(X, start + i, shift, features, i, m, u)
        for a in range(m):
            fa = features[i, a]
            for b in range(a + 1):
                s2[0, fa, features[i, b]] += inverse[a, b]
            for b in range(fa):
                s2[0, fa, b] += e[a] * u[b]
            for b in range(fa + 1, d):
                s2[0, b, fa] += e[a] * u[b]
        _add_conditional_covariance(precision, int(0), features, i, m, mass, chol,
                                    inverse, s2, int(0))


@njit(**JIT)
def _mask_missing(n_features, n_rows, work):
    """Replace the NaN of work[:D] by 0 and write the observed indicator (1
    observed, 0 missing) into work rows 2D..3D-1; returns the number of NaN.
    One vectorised sweep per feature: diag and spherical need no list of the
    missing entries for EM."""
    total = 0
    for a in range(n_features):
        x = work[a]
        observed = work[2 * n_features + a]
        for i in range(n_rows):
            v = x[i]
            missing = np.isnan(v)
            observed[i] = 0.0 if missing else 1.0
            x[i] = 0.0 if missing else v
            total += missing
    return total


@njit(**INLINE_JIT)
def _scan_block(kind, lists, X, start, n_rows, work, count, features, offset):
    """Transpose the block into work[:D] and return its number of missing
    entries. Full and tied list them (``find_missing``); diag and spherical
    mask them instead (``_mask_missing``: 0 in work[:D], the observed indicator
    in rows 2D..3D-1), and list them first only when ``lists`` (a Gibbs
    sweep's draws, the variational entropy and imputation read the lists)."""
    n_features = X.shape[1]
    transpose_block(X, start, n_rows, work)
    if kind == FULL or kind == TIED:
        return find_missing(work, n_features, n_rows, count, features, offset)
    if lists:
        find_missing(work, n_features, n_rows, count, features, offset)
    return _mask_missing(n_features, n_rows, work)


@njit(**JIT)
def _add_observed_sq_distances(n_features, n_rows, center, weight, absent, work,
                               row):
    """row[i] += sum_a o_ia (weight[a] (x_ia − center[a])² − absent[a]), with
    x in work[:D] and the observed indicator o in work rows 2D..3D-1
    (``_mask_missing``). Arithmetic only, so the loops vectorise: the deviation
    x − c·o is 0 at a missing entry (x there is 0)."""
    d = n_features
    whole = d - d % TILE
    for a in range(0, whole, TILE):
        c0, c1, c2, c3 = center[a], center[a + 1], center[a + 2], center[a + 3]
        f0, f1, f2, f3 = weight[a], weight[a + 1], weight[a + 2], weight[a + 3]
        h0, h1, h2, h3 = absent[a], absent[a + 1], absent[a + 2], absent[a + 3]
        x0, x1, x2, x3 = work[a], work[a + 1], work[a + 2], work[a + 3]
        o0, o1 = work[2 * d + a], work[2 * d + a + 1]
        o2, o3 = work[2 * d + a + 2], work[2 * d + a + 3]
        for i in range(n_rows):
            t0 = x0[i] - c0 * o0[i]
            t1 = x1[i] - c1 * o1[i]
            t2 = x2[i] - c2 * o2[i]
            t3 = x3[i] - c3 * o3[i]
            row[i] += (f0 * t0 * t0 - h0 * o0[i] + f1 * t1 * t1 - h1 * o1[i]
                       + f2 * t2 * t2 - h2 * o2[i] + f3 * t3 * t3 - h3 * o3[i])
    for a in range(whole, d):
        c = center[a]
        f = weight[a]
        h = absent[a]
        x = work[a]
        o = work[2 * d + a]
        for i in range(n_rows):
            t = x[i] - c * o[i]
            row[i] += f * t * t - h * o[i]


@njit(**JIT)
def _log_prob_observed_diag(n_features, n_rows, means, factor, log_minors, log_norm,
                            vectors, out, work):
    """out[k, i] = log-density of row i's observed coordinates (diag and
    spherical), for the block masked by ``_mask_missing``: a missing feature a
    contributes −1/2 (log λ_a − log 2π), which cancels its share of
    log_norm[k]. So the sums run over every entry, each adding either its
    observed term or that constant."""
    spherical = factor.shape[2] == 1
    weight = vectors[_WEIGHT]
    absent = vectors[_ABSENT]
    for k in range(means.shape[0]):
        every = 0.0
        for a in range(n_features):
            weight[a] = factor[k, 0, 0] if spherical else factor[k, 0, a]
            absent[a] = log_minors[k, 0, a] - LOG_2PI
            every += absent[a]
        row = out[k]
        for i in range(n_rows):
            row[i] = every
        _add_observed_sq_distances(n_features, n_rows, means[k], weight, absent,
                                   work, row)
        base = log_norm[k]
        for i in range(n_rows):
            row[i] = base - 0.5 * row[i]


@njit(**JIT)
def _add_stats_observed_diag(n_features, start, n_rows, resp, sample_weight, means,
                             factor, s0, s1, s2, vectors, work, idx):
    """Statistics of the rows completed with x̂_m = μ_m (zero deviations) under
    each component, plus r / λ_a for each missing feature a, for the block
    masked by ``_mask_missing`` (work[:D]: 0 at the missing entries; rows
    2D..3D-1: the observed indicator o). The completed value is x + μ (1 − o),
    and the missing mass of feature a is Σ r − Σ r o: vectorised sums over the
    rows a component is responsible for (all of them, or those gathered as in
    ``diag.add_component_stats_diag`` when most have r = 0)."""
    d = n_features
    spherical = factor.shape[2] == 1
    r = work[3 * d]
    observed = vectors[_MISSING]
    for k in range(means.shape[0]):
        nonzero = component_weights(resp, k, sample_weight, start, n_rows, r)
        if nonzero == 0:
            continue
        dense = 2 * nonzero > n_rows
        m = n_rows if dense else compact_nonzero(r, n_rows, idx)
        total = 0.0
        for j in range(m):
            total += r[j]
        s0[k] += total
        if dense:
            _add_masked_moments(d, n_rows, r, means[k], work, s1[k], s2[k, 0],
                                observed)
        else:
            for a in range(d):
                c = means[k, a]
                x = work[a]
                o = work[2 * d + a]
                completed = work[d + a]
                mass = 0.0
                for j in range(m):
                    completed[j] = x[idx[j]] + c * (1.0 - o[idx[j]])
                    mass += r[j] * o[idx[j]]
                observed[a] = mass
            add_diag_moments(work, d, r, d, m, means[k], s1[k], s2[k, 0])
        for a in range(d):
            s2[k, 0, a] += ((total - observed[a])
                            / (factor[k, 0, 0] if spherical else factor[k, 0, a]))


@njit(**JIT)
def _add_masked_moments(n_features, n_rows, r, center, work, s1, s2, observed):
    """s1[a] += Σ_i r_i t_ia, s2[a] += Σ_i r_i t_ia² with t = x − c·o (0 at a
    missing entry, where x is 0), and observed[a] = Σ_i r_i o_ia, for the block
    masked by ``_mask_missing``; four features per sweep over the rows, as
    ``diag.add_diag_moments``."""
    d = n_features
    whole = d - d % TILE
    for a in range(0, whole, TILE):
        c0, c1, c2, c3 = center[a], center[a + 1], center[a + 2], center[a + 3]
        x0, x1, x2, x3 = work[a], work[a + 1], work[a + 2], work[a + 3]
        o0, o1 = work[2 * d + a], work[2 * d + a + 1]
        o2, o3 = work[2 * d + a + 2], work[2 * d + a + 3]
        p0 = p1 = p2 = p3 = q0 = q1 = q2 = q3 = v0 = v1 = v2 = v3 = 0.0
        for i in range(n_rows):
            w = r[i]
            t0 = x0[i] - c0 * o0[i]
            t1 = x1[i] - c1 * o1[i]
            t2 = x2[i] - c2 * o2[i]
            t3 = x3[i] - c3 * o3[i]
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
            v0 += w * o0[i]
            v1 += w * o1[i]
            v2 += w * o2[i]
            v3 += w * o3[i]
        s1[a] += p0
        s1[a + 1] += p1
        s1[a + 2] += p2
        s1[a + 3] += p3
        s2[a] += q0
        s2[a + 1] += q1
        s2[a + 2] += q2
        s2[a + 3] += q3
        observed[a] = v0
        observed[a + 1] = v1
        observed[a + 2] = v2
        observed[a + 3] = v3
    for a in range(whole, d):
        c = center[a]
        x = work[a]
        o = work[2 * d + a]
        p = q = v = 0.0
        for i in range(n_rows):
            t = x[i] - c * o[i]
            u = r[i] * t
            p += u
            q += u * t
            v += r[i] * o[i]
        s1[a] += p
        s2[a] += q
        observed[a] = v


@njit(**INLINE_JIT)
def _observed_log_prob(kind, X, start, n_rows, n_missing, means, factor, log_norm,
                       aux, shift, precision, precision_t, log_minors, columns,
                       center, count, features, offset, fills, position,
                       conditional, correction, vectors, g, chol, square, out,
                       work):
    """out[k, i] = log w_k + the log-density of row i's observed coordinates,
    for a block (in work[:D], with NaN) that holds missing values; full and tied
    also write the completions into fills (full: fills[k, entry], and the
    entries' places in work into position; tied: fills[entry, k]), full the
    conditional covariances into conditional (see ``_complete_full``)."""
    d = means.shape[1]
    if kind == FULL:
        _complete_full(X, start, n_rows, count, features, offset, center, columns,
                       precision_t, log_minors, fills, correction, conditional, g,
                       chol, vectors[_LOG_DET, :means.shape[0]], vectors[_T])
        _entry_positions(n_rows, count, features, offset, work.shape[1], position)
        for k in range(means.shape[0]):
            _write_fills(k, work, n_missing, position, fills)
            _log_prob_completed_full(k, d, n_rows, means, factor, log_norm,
                                     correction, vectors[_ZERO], out, work)
    elif kind == TIED:
        for i in range(n_rows):
            for a in range(count[i]):
                work[features[i, a], i] = shift[features[i, a]]
        log_prob_tied(d, n_rows, aux, factor, log_norm, shift, out, work)
        _complete_tied(X, start, n_rows, count, features, offset, precision, columns,
                       shift, fills, correction, out, vectors, g, square)
    else:
        _log_prob_observed_diag(d, n_rows, means, factor, log_minors, log_norm,
                                vectors, out, work)


@njit(**INLINE_JIT)
def _conditional_entropy(kind, start, n_rows, count, features, correction,
                         log_minors, resp, sample_weight):
    """sum_i w_i sum_k r_ik H_ik over the block's incomplete rows, after
    ``_observed_log_prob`` and ``normalise_rows`` (resp: the
    responsibilities), where H_ik = m/2 (1 + log 2π) − 1/2 log det Λ_mm is the
    entropy of the missing values' conditional distribution under component k,
    a Gaussian of covariance Λ_mm⁻¹: what the variational bound adds for the
    missing values (their posterior is that distribution). H_ik is m/2 plus the
    log-density's correction (full: correction[k, i]; tied: correction[0, i],
    shared), or for diag and spherical the sum over the missing features of
    1/2 (1 + log 2π − log λ_ka)."""
    n_components = resp.shape[0]
    result = 0.0
    for i in range(n_rows):
        m = count[i]
        if m == 0:
            continue
        total = 0.0
        for k in range(n_components):
            r = resp[k, i]
            if r == 0.0:
                continue
            if kind == FULL:
                h = correction[k, i]
            elif kind == TIED:
                h = correction[0, i]
            else:
                h = 0.0
                for a in range(m):
                    h += HALF_LOG_2PI - 0.5 * log_minors[k, 0, features[i, a]]
            total += r * (0.5 * m + h)
        w = 1.0 if sample_weight.shape[0] == 0 else sample_weight[start + i]
        result += w * total
    return result


@njit(**INLINE_JIT)
def _observed_add_stats(kind, X, start, n_rows, n_missing, resp, sample_weight,
                        means, factor, precision, shift, count, features, offset,
                        fills, position, conditional, sums, vectors, chol, inverse,
                        s0, s1, s2, work, idx):
    """The block's statistics of the completed rows plus the conditional
    covariances, after ``_observed_log_prob`` (see the module docstring);
    sums is full's (D, D, K) scratch."""
    d = means.shape[1]
    if kind == FULL:
        for k in range(means.shape[0]):
            _write_fills(k, work, n_missing, position, fills)
            if d < TILE:
                add_component_stats_narrow(work, d, n_rows, resp, sample_weight,
                                           start, k, means[k], s0, s1, s2[k])
            else:
                add_component_stats(work, d, n_rows, resp, sample_weight, start, k,
                                    means[k], idx, s0, s1, s2[k])
        _add_conditional_covariances(n_rows, resp, sample_weight, start, count,
                                     features, conditional, vectors[_T], sums, s2)
    elif kind == TIED:
        # work[:D] still holds the block completed with the shift
        add_stats_tied(d, start, n_rows, resp, sample_weight, means, shift, s0, s1,
                       s2, work, idx)
        _add_tied_corrections(X, start, n_rows, resp, sample_weight, count,
                              features, offset, fills, precision, shift, vectors,
                              chol, inverse, s1, s2)
    else:
        _add_stats_observed_diag(d, start, n_rows, resp, sample_weight, means,
                                 factor, s0, s1, s2, vectors, work, idx)


@njit(**JIT)
def _add_conditional_covariances(n_rows, resp, sample_weight, start, count,
                                 features, conditional, r, sums, s2):
    """s2[k] += r_k Λ_mm⁻¹ (lower triangle) for each incomplete row of the
    block and every component, from the conditional covariances kept by
    ``_complete_full``: summed first into sums (D, D, K), so that the inner
    loops run over the components, contiguous; r (K,) is scratch."""
    n_components, n_features = s2.shape[0], s2.shape[1]
    sums[:] = 0.0
    p = 0
    for i in range(n_rows):
        m = count[i]
        if m == 0:
            continue
        w = 1.0 if sample_weight.shape[0] == 0 else sample_weight[start + i]
        for k in range(n_components):
            r[k] = resp[k, i] * w
        for a in range(m):
            fa = features[i, a]
            for b in range(a + 1):
                fb = features[i, b]
                for k in range(n_components):
                    sums[fa, fb, k] += r[k] * conditional[p, k]
                p += 1
    for a in range(n_features):
        for b in range(a + 1):
            for k in range(n_components):
                s2[k, a, b] += sums[a, b, k]


# ---------------------------------------------------------------- Gibbs sweeps


@njit(**INLINE_JIT)
def _draw_missing(kind, z, i, m, features, at, fills, means, factor, precision,
                  key, row, copy, chol, y):
    """y[:m] = one draw of row i's missing values (features[i, :m]) from their
    conditional distribution under component z: N(x̂_m, Λ_mm⁻¹) (full and
    tied, x̂_m = fills[z, at:at + m] for full, fills[at:at + m, z] for tied),
    for diag and spherical N(μ_za, 1 / λ_za)
    per feature. With the standard normals e_a = ``normal(key, row, copy D +
    f_a)`` and the Cholesky factor Λ_mm = R Rᵀ, the draw is x̂_m + R⁻ᵀ e, whose
    covariance is (R Rᵀ)⁻¹; R⁻ᵀ e is solved from the LDLᵀ factors (R = L
    D^1/2). chol (D, D) is scratch."""
    d = means.shape[1]
    base = np.uint64(copy * d)
    for a in range(m):
        y[a] = normal(key, row, base + np.uint64(features[i, a]))
    if kind != FULL and kind != TIED:
        per_feature = factor.shape[2] > 1  # diag; spherical holds one precision
        for a in range(m):
            f = features[i, a]
            y[a] = means[z, f] + y[a] / np.sqrt(factor[z, 0, f if per_feature else 0])
        return
    kp = z if kind == FULL else 0
    if m == 1:
        f = features[i, 0]
        fill = fills[z, at] if kind == FULL else fills[at, z]
        y[0] = fill + y[0] / np.sqrt(precision[kp, f, f])
        return
    _ldl_missing(precision, kp, features, i, m, chol)
    for a in range(m - 1, -1, -1):  # Lᵀ v = D^-1/2 e
        v = y[a] / np.sqrt(chol[a, a])
        for c in range(a + 1, m):
            v -= chol[c, a] * y[c]
        y[a] = v
    for a in range(m):
        y[a] += fills[z, at + a] if kind == FULL else fills[at + a, z]


@njit(**INLINE_JIT)
def _add_copy_stats(kind, z, weight, X, row, i, m, features, y, means, shift,
                    vectors, s0, s1, s2):
    """Add one copy of row ``row`` of X (weight ``weight``, its missing values
    y[:m]) to component z's statistics, as the block kernels would: s1 around
    μ_z; s2 full around μ_z (lower triangle), diag around μ_z per feature. For
    tied, s2 (the shared scatter around ``shift``) gets only the products
    that involve a missing feature: the block kernel adds the row with its
    missing values at the shift, whose products with them are 0 and whose
    others are those of every copy (the copies' weights add up to the row's)."""
    d = means.shape[1]
    t = vectors[_T]
    missing = vectors[_MISSING]
    for b in range(d):
        t[b] = X[row, b]
        missing[b] = 0.0
    for a in range(m):
        t[features[i, a]] = y[a]
        missing[features[i, a]] = 1.0
    s0[z] += weight
    for b in range(d):
        s1[z, b] += weight * (t[b] - means[z, b])
    if kind == TIED:
        for a in range(m):
            fa = features[i, a]
            va = weight * (t[fa] - shift[fa])
            for b in range(d):
                if missing[b] == 1.0 and b > fa:
                    continue  # added from b's side
                s2[0, max(fa, b), min(fa, b)] += va * (t[b] - shift[b])
    elif kind == FULL:
        for a in range(d):
            da = weight * (t[a] - means[z, a])
            for b in range(a + 1):
                s2[z, a, b] += da * (t[b] - means[z, b])
    else:
        for a in range(d):
            s2[z, 0, a] += weight * (t[a] - means[z, a]) ** 2


@njit(**INLINE_JIT)
def _sampled_block(kind, X, start, n_rows, mass, sample_weight, key, first_row,
                   means, factor, precision, shift, count, features, offset, fills,
                   vectors, chol, row_sums, label, counts, s0, s1, s2, work, idx):
    """A Gibbs sweep's statistics of a block with missing values, after
    ``exponentiate_rows`` (``mass``: unnormalised responsibilities of the
    observed coordinates): each row draws its component (``random.sample_block``)
    and then its missing values under that component (``_draw_missing``, keyed
    by the sweep's key, the row's global index and the copy), and the completed
    rows' one-hot statistics are added.

    Unweighted rows are completed in work[:D], in place, and the block kernels
    add them. A weighted row has one draw per copy (``random.weighted_copies``,
    the uniforms of ``sample_block``), each with its own missing values, so its
    copies are added here (``_add_copy_stats``) and its column of ``mass``
    emptied before the block's."""
    d = means.shape[1]
    y = vectors[_DRAW]
    weighted = sample_weight.shape[0] != 0
    if weighted:
        for i in range(n_rows):
            m = count[i]
            if m == 0:
                continue
            row = first_row + np.uint64(start + i)
            n_draws, n_copies, fraction = weighted_copies(sample_weight[start + i])
            for c in range(n_draws):
                z = inverse_cdf(mass, i, uniform(key, row, np.uint64(c)))
                if z < 0:
                    continue
                _draw_missing(kind, z, i, m, features, offset[i], fills, means,
                              factor, precision, key, row, c, chol, y)
                _add_copy_stats(kind, z, 1.0 if c < n_copies else fraction, X,
                                start + i, i, m, features, y, means, shift,
                                vectors, s0, s1, s2)
            for k in range(mass.shape[0]):
                mass[k, i] = 0.0
    sample_block(mass, n_rows, key, first_row, sample_weight, start, row_sums,
                 label, counts)
    if not weighted:
        for i in range(n_rows):
            m = count[i]
            if m == 0:
                continue
            z = -1
            for k in range(mass.shape[0]):
                if mass[k, i] > 0.0:
                    z = k
            if z < 0:
                continue  # no component has mass: the row adds nothing
            _draw_missing(kind, z, i, m, features, offset[i], fills, means, factor,
                          precision, key, first_row + np.uint64(start + i), int(0),
                          chol, y)
            for a in range(m):
                work[features[i, a], i] = y[a]
    if kind == FULL:
        # float64 whatever X's type: the drawn values are not float32
        if d < TILE:
            add_stats_full_narrow(d, start, n_rows, mass, sample_weight, means, s0,
                                  s1, s2, work)
        else:
            add_stats_full_double(d, start, n_rows, mass, sample_weight, means, s0,
                                  s1, s2, work, idx)
    elif kind == TIED:
        add_stats_tied(d, start, n_rows, mass, sample_weight, means, shift, s0, s1,
                       s2, work, idx)
    elif d < TILE:
        add_stats_diag_narrow(d, start, n_rows, mass, sample_weight, means, s0, s1,
                              s2, work)
    else:
        add_stats_diag(d, start, n_rows, mass, sample_weight, means, s0, s1, s2,
                       work, idx)


@njit(**INLINE_JIT)
def _fills_scratch(kind, n_components):
    """A chunk's first ``(fills, position)`` (grown by ``_block_scratch``):
    full's completions per component, (K, entries), so that each is written
    into the block in one contiguous sweep, and the entries' places in the
    block; tied's (entries, K) without places; diag and spherical keep none."""
    if kind == FULL:
        return (np.empty((n_components, BLOCK_ROWS)),
                np.empty(BLOCK_ROWS, dtype=np.int64))
    rows = BLOCK_ROWS if kind == TIED else 0
    return np.empty((rows, n_components)), np.empty(0, dtype=np.int64)


@njit(**INLINE_JIT)
def _block_scratch(kind, count, n_rows, n_missing, fills, position, conditional,
                   chol):
    """``(fills, position, conditional, chol)``, grown when the block has more
    missing entries than fills holds (full: (K, entries), with position;
    tied: (entries, K)), more entries of conditional covariances than
    conditional (unless it has none: predictions keep none) or a row more
    missing values than chol's size."""
    if kind == FULL and n_missing > fills.shape[1]:
        fills = np.empty((fills.shape[0], n_missing))
        position = np.empty(n_missing, dtype=np.int64)
    if kind == TIED and n_missing > fills.shape[0]:
        fills = np.empty((n_missing, fills.shape[1]))
    most = 0
    triangles = 0
    for i in range(n_rows):
        most = max(most, count[i])
        triangles += count[i] * (count[i] + 1) // 2
    if most > chol.shape[0]:
        chol = np.empty((most, most, chol.shape[2]))
    if 0 < conditional.shape[0] < triangles:
        conditional = np.empty((triangles, conditional.shape[1]))
    return fills, position, conditional, chol


@njit(**INLINE_JIT)
def _block_log_prob(kind, variant, X, start, n_rows, n_missing, means, factor,
                    log_norm, aux, shift, precision, precision_t, log_minors,
                    columns, center, count, features, offset, fills, position,
                    conditional, correction, vectors, g, chol, square, logp, work):
    """The block's log-densities into logp: the ordinary kernel when the block
    has no missing entry (``n_missing`` = 0), else those of the observed
    coordinates; returns the scratch ``(fills, position, conditional, chol)``,
    grown if needed (conditional with no rows stays so: nothing is kept
    there)."""
    if n_missing == 0:
        _log_prob_block(kind, variant, means.shape[1], n_rows, means, factor,
                        log_norm, aux, shift, logp, work)
        return fills, position, conditional, chol
    if kind == FULL or kind == TIED:  # diag and spherical keep nothing per entry
        fills, position, conditional, chol = _block_scratch(
            kind, count, n_rows, n_missing, fills, position, conditional, chol)
    _observed_log_prob(kind, X, start, n_rows, n_missing, means, factor, log_norm,
                       aux, shift, precision, precision_t, log_minors, columns,
                       center, count, features, offset, fills, position,
                       conditional, correction, vectors, g, chol, square, logp,
                       work)
    return fills, position, conditional, chol


def accumulate_missing(kind, mode, X, sample_weight, means, factor, log_norm, aux,
                       shift, precision, precision_t, log_minors, columns, center,
                       chunk_rows, s0, s1, s2, loglik, entropy, key, first_row):
    """``em.accumulate`` for X holding NaN (missing values): the E-step on the
    observed coordinates fused with the completed statistics.

    Arguments and outputs as in ``em.accumulate``, plus, for the missing values
    (``_missing.missing_params``; arrays a type does not use are (1, 1) or
    (1, 1, 1)): ``precision``, the precision matrices (K, D, D) for full, (1, D,
    D) for tied; ``precision_t`` (D, D, K) = full's precision matrices with the
    component last; ``log_minors``, for full the log-determinants of the one
    and two feature diagonal blocks of the precisions, (D, D, K) (log Λ_aa on
    the diagonal, log det Λ_{ab,ab} off it), for diag and spherical log λ_ka
    (K, 1, D); ``columns`` (D, K), for full Λ_k (μ_k − center), for tied
    Λ (μ_k − shift); ``center`` (D,), full's point near the data around which
    its missing values are solved (see ``_observed_products``). Every row has
    at least one observed value (validated by the caller). With
    RESPONSIBILITIES_ENTROPY, ``entropy`` also subtracts the missing values'
    conditional entropies (``_conditional_entropy``). With
    SAMPLED (a Gibbs sweep, ``key`` and ``first_row`` as in ``em.accumulate``),
    each row draws its component from the responsibilities of its observed
    coordinates and then its missing values under that component, and the
    statistics are those of the completed rows (``_sampled_block``).
    """
    run_chunks(missing_kernel(kind, mode == SAMPLED, X), s0.shape[0], mode, X,
               sample_weight, means, factor, log_norm, aux, shift, precision,
               precision_t, log_minors, columns, center, chunk_rows, s0, s1, s2,
               loglik, entropy, key, first_row)


MISSING_KERNELS = {}
"""The passes of ``accumulate_missing`` built so far, by (kernel kind,
sampling, variant), as ``em.ACCUMULATE_KERNELS``."""


def missing_kernel(kind, sampling, X):
    """The compiled pass of ``accumulate_missing`` for one kernel kind, over the
    chunks ``first`` to ``stop - 1``: ``(first, stop, mode, <its arguments after
    kind and mode>)``. As ``em.accumulate_kernel``: the kind and the variant of
    its kernels (``em.kernel_variant``, from X) are constants of the compiled
    closure, so that a fit compiles only its own kind's kernels for the
    missing values and for the blocks without; only ``sampling`` passes (Gibbs
    sweeps) compile the draws of the missing values."""
    return built_pass(MISSING_KERNELS, _missing_kernel, kind, sampling, X)


def _missing_kernel(kind, sampling, variant):
    # integers only in the closure (see em._accumulate_kernel)

    @njit(**JIT)
    def accumulate_missing_pass(first, stop, mode, X, sample_weight, means, factor,
                                log_norm, aux, shift, precision, precision_t,
                                log_minors, columns, center, chunk_rows, s0, s1, s2,
                                loglik, entropy, key, first_row):
        for c in range(first, stop):
            _missing_chunk(kind, sampling, variant, c, mode, X, sample_weight,
                           means, factor, log_norm, aux, shift, precision,
                           precision_t, log_minors, columns, center, chunk_rows,
                           s0, s1, s2, loglik, entropy, key, first_row)

    return accumulate_missing_pass


@njit(**INLINE_JIT)
def _missing_chunk(kind, sampling, variant, c, mode, X, sample_weight, means,
                   factor, log_norm, aux, shift, precision, precision_t, log_minors,
                   columns, center, chunk_rows, s0, s1, s2, loglik, entropy, key,
                   first_row):
    """Chunk c of a pass of ``missing_kernel``, inlined where ``kind``,
    ``sampling`` and ``variant`` are constants (as ``em.accumulate_chunk``)."""
    n_rows, n_features = X.shape
    n_components = means.shape[0]
    with_entropy = mode == RESPONSIBILITIES_ENTROPY
    sampled = mode == SAMPLED
    s0[c] = 0.0
    s1[c] = 0.0
    s2[c] = 0.0
    logp = np.empty((n_components, BLOCK_ROWS))
    lse = np.empty(BLOCK_ROWS)
    row_sums = np.empty((3, BLOCK_ROWS))
    work = np.empty((work_rows(n_features), BLOCK_ROWS))
    idx = np.empty(BLOCK_ROWS, dtype=np.int64)
    count = np.empty(BLOCK_ROWS, dtype=np.int64)
    features = np.empty((BLOCK_ROWS, n_features), dtype=np.int64)
    offset = np.empty(BLOCK_ROWS, dtype=np.int64)
    fills, position = _fills_scratch(kind, n_components)
    # the conditional covariances are kept, and summed, for full's
    # expected statistics only
    full = kind == FULL and not sampled
    conditional = np.empty((BLOCK_ROWS if full else 0, n_components))
    sums = np.empty((n_features if full else 0, n_features, n_components))
    correction = np.empty((n_components, BLOCK_ROWS))
    vectors = np.zeros((N_VECTORS, max(n_features, n_components)))
    g = np.empty((n_features, n_components))
    chol = np.empty((4, 4, n_components))
    square = np.empty((n_features, n_features))
    inverse = np.empty((n_features, n_features))
    counts = np.empty(n_components)
    total = 0.0
    chunk_entropy = 0.0
    end = min(n_rows, (c + 1) * chunk_rows)
    for start in range(c * chunk_rows, end, BLOCK_ROWS):
        n = min(BLOCK_ROWS, end - start)
        n_missing = _scan_block(kind, sampled or with_entropy, X, start, n, work,
                                count, features, offset)
        fills, position, conditional, chol = _block_log_prob(
            kind, variant, X, start, n, n_missing, means, factor, log_norm, aux,
            shift, precision, precision_t, log_minors, columns, center, count,
            features, offset, fills, position, conditional, correction, vectors,
            g, chol, square, logp, work)
        if sampling and mode == SAMPLED:
            # the draw needs no division by each row's total (with_entropy
            # is False here, passed so that one compilation serves both)
            exponentiate_rows(logp, n, lse, row_sums, with_entropy)
            total += block_log_likelihood(lse, row_sums, n, sample_weight, start)
            if n_missing > 0:
                _sampled_block(kind, X, start, n, logp, sample_weight, key,
                               first_row, means, factor, precision, shift, count,
                               features, offset, fills, vectors, square, row_sums,
                               lse, counts, s0[c], s1[c], s2[c], work, idx)
                continue
            sample_block(logp, n, key, first_row, sample_weight, start, row_sums,
                         lse, counts)
            _add_stats_block(kind, variant, n_features, start, n, logp,
                             sample_weight, means, factor, shift, s0[c], s1[c],
                             s2[c], work, idx)
            continue
        normalise_rows(logp, n, lse, row_sums, bool(False), with_entropy)
        block_loglik = block_log_likelihood(lse, row_sums, n, sample_weight, start)
        total += block_loglik
        if with_entropy:
            chunk_entropy += block_entropy(lse, row_sums, block_loglik, n,
                                           sample_weight, start)
            if n_missing > 0:
                # variational Bayes: the missing values' posterior entropy
                chunk_entropy -= _conditional_entropy(
                    kind, start, n, count, features, correction, log_minors, logp,
                    sample_weight)
        if n_missing == 0:
            _add_stats_block(kind, variant, n_features, start, n, logp,
                             sample_weight, means, factor, shift, s0[c], s1[c],
                             s2[c], work, idx)
        else:
            _observed_add_stats(kind, X, start, n, n_missing, logp, sample_weight,
                                means, factor, precision, shift, count, features,
                                offset, fills, position, conditional, sums,
                                vectors, square, inverse, s0[c], s1[c], s2[c],
                                work, idx)
    loglik[c] = total
    if with_entropy:
        entropy[c] = chunk_entropy


def predict_missing(kind, mode, X, means, factor, log_norm, aux, shift, precision,
                    precision_t, log_minors, columns, center, values, labels):
    """``em.predict_rows`` for X holding NaN, with one more mode, IMPUTE: values
    (N, D) gets each row with its missing entries replaced by
    sum_k r_k E[x_m | x_o, k]. Other modes as in ``em.predict_rows``, on the
    observed coordinates; the missing-value arguments as in
    ``accumulate_missing``."""
    n_chunks, chunk_rows = chunk_layout(X.shape[0])
    kernel = _predict_missing_kernel(
        int(kind), kernel_variant(kind, X.shape[1], X.itemsize))
    run_chunks(kernel, n_chunks, chunk_rows, mode, X, means, factor, log_norm, aux,
               shift, precision, precision_t, log_minors, columns, center, values,
               labels)


@cache
def _predict_missing_kernel(kind, variant):
    # one compilation per kind and variant, as em._predict_kernel

    @njit(**JIT)
    def predict_missing_pass(first, stop, chunk_rows, mode, X, means, factor,
                             log_norm, aux, shift, precision, precision_t,
                             log_minors, columns, center, values, labels):
        for c in range(first, stop):
            _predict_missing_chunk(kind, variant, c, chunk_rows, mode, X, means,
                                   factor, log_norm, aux, shift, precision,
                                   precision_t, log_minors, columns, center,
                                   values, labels)

    return predict_missing_pass


@njit(**INLINE_JIT)
def _predict_missing_chunk(kind, variant, c, chunk_rows, mode, X, means, factor,
                           log_norm, aux, shift, precision, precision_t,
                           log_minors, columns, center, values, labels):
    """Chunk c of a pass of ``_predict_missing_kernel``, inlined where ``kind``
    and ``variant`` are constants."""
    n_rows, n_features = X.shape
    n_components = means.shape[0]
    diagonal = kind != FULL and kind != TIED
    logp = np.empty((n_components, BLOCK_ROWS))
    lse = np.empty(BLOCK_ROWS)
    row_sums = np.empty((2, BLOCK_ROWS))
    work = np.empty((work_rows(n_features), BLOCK_ROWS))
    count = np.empty(BLOCK_ROWS, dtype=np.int64)
    features = np.empty((BLOCK_ROWS, n_features), dtype=np.int64)
    offset = np.empty(BLOCK_ROWS, dtype=np.int64)
    fills, position = _fills_scratch(kind, n_components)
    no_conditional = np.empty((0, n_components))  # predictions keep none
    correction = np.empty((n_components, BLOCK_ROWS))
    vectors = np.zeros((N_VECTORS, max(n_features, n_components)))
    g = np.empty((n_features, n_components))
    chol = np.empty((4, 4, n_components))
    square = np.empty((n_features, n_features))
    end = min(n_rows, (c + 1) * chunk_rows)
    for start in range(c * chunk_rows, end, BLOCK_ROWS):
        n = min(BLOCK_ROWS, end - start)
        n_missing = _scan_block(kind, mode == IMPUTE, X, start, n, work, count,
                                features, offset)
        if mode == IMPUTE:
            for i in range(n):
                for a in range(n_features):
                    values[start + i, a] = X[start + i, a]
            if n_missing == 0:
                continue
        fills, position, _, chol = _block_log_prob(
            kind, variant, X, start, n, n_missing, means, factor, log_norm, aux,
            shift, precision, precision_t, log_minors, columns, center, count,
            features, offset, fills, position, no_conditional, correction,
            vectors, g, chol, square, logp, work)
        if mode == LABELS:
            argmax_rows(logp, n, labels, start, lse)
            continue
        normalise_rows(logp, n, lse, row_sums, bool(True), bool(False))
        if mode != IMPUTE:
            write_predictions(mode, logp, lse, n, start, values)
        else:
            # diag and spherical complete with the means
            for i in range(n):
                at = offset[i]
                for a in range(count[i]):
                    f = features[i, a]
                    acc = 0.0
                    for k in range(n_components):
                        if diagonal:
                            acc += logp[k, i] * means[k, f]
                        elif kind == FULL:
                            acc += logp[k, i] * fills[k, at + a]
                        else:
                            acc += logp[k, i] * fills[at + a, k]
                    values[start + i, f] = acc


# ------------------------------------------------------------------ the scan

# Columns of ``scan_blocks``' ``problems``.
FIRST_INFINITE, FIRST_EMPTY, N_EMPTY, N_NAN = range(4)


def scan_blocks(X, sample_weight, moments, problems):
    """The validation scan of rows with missing values, per block b of
    BLOCK_ROWS rows of X (N, D), with no scratch: moments[b] (3, D) = the
    observed weight of each feature, the weighted mean of its observed values
    and their weighted sum of squared deviations from that mean (0, 0, 0 for a
    feature with no observed weight); problems[b] (4,) int64 = the first row
    holding an infinity, the first row with every value NaN (-1: none), the
    number of such rows and the number of NaN."""
    run_chunks(_scan_blocks, moments.shape[0], X, sample_weight, moments, problems)


@njit(**JIT)
def _scan_blocks(first, last, X, sample_weight, moments, problems):
    n_rows, n_features = X.shape
    for b in range(first, last):
        start = b * BLOCK_ROWS
        stop = min(n_rows, start + BLOCK_ROWS)
        weight = moments[b, 0]
        mean = moments[b, 1]
        m2 = moments[b, 2]
        weight[:] = 0.0
        mean[:] = 0.0
        m2[:] = 0.0
        first_infinite = -1
        first_empty = -1
        n_empty = 0
        n_nan = 0
        for i in range(start, stop):
            w = row_weight(sample_weight, i)
            missing = 0
            for a in range(n_features):
                x = X[i, a]
                if np.isnan(x):
                    missing += 1
                elif np.isinf(x):
                    if first_infinite < 0:
                        first_infinite = i
                else:
                    weight[a] += w
                    mean[a] += w * x
            n_nan += missing
            if missing == n_features:
                n_empty += 1
                if first_empty < 0:
                    first_empty = i
        for a in range(n_features):
            mean[a] = mean[a] / weight[a] if weight[a] > 0.0 else 0.0
        if first_infinite < 0:
            for i in range(start, stop):
                w = row_weight(sample_weight, i)
                for a in range(n_features):
                    x = X[i, a]
                    if not np.isnan(x):
                        d = x - mean[a]
                        m2[a] += w * d * d
        problems[b, FIRST_INFINITE] = first_infinite
        problems[b, FIRST_EMPTY] = first_empty
        problems[b, N_EMPTY] = n_empty
        problems[b, N_NAN] = n_nan

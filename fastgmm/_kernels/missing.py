"""Kernels for data with missing values (NaN): exact EM under missing at random.

A row with missing coordinates m and observed o is completed, under component k
of precision Λ, with the conditional mean

    x̂_m = μ_m − Λ_mm⁻¹ Λ_mo (x_o − μ_o),

which makes the ordinary quadratic form of the completed row equal the
observed-data one, (x̂ − μ)ᵀ Λ (x̂ − μ) = (x_o − μ_o)ᵀ Σ_oo⁻¹ (x_o − μ_o), while
log det Σ_oo = log det Σ + log det Λ_mm. So the log-density of the observed
coordinates is the ordinary one of the completed row plus the per-row
correction m/2 log 2π − 1/2 log det Λ_mm, and the statistics of the M-step are
the ordinary ones of the completed rows plus r (Λ_mm)⁻¹, the conditional
covariance, in the mm block of the second moment. Diagonal and spherical
models complete with x̂_m = μ_m (the missing features drop out of the sums) and
add r / λ_a for each missing feature a.

Blocks without a NaN run the ordinary kernels (``em._log_prob_block``,
``em._add_stats_block``); a block with any runs component by component on its
completed rows. The conditional means of the block's missing entries under
every component are kept between the E-step and the statistics (K numbers per
missing entry of the block, grown on demand), so they are computed once per
block and component; a conditional covariance is recomputed only for a row and
component that carry responsibility. Chunks and slots are those of
``em.accumulate``, so results do not depend on the number of threads.
"""

import numpy as np
from numba import njit, prange

from .._config import BLOCK_ROWS, JIT, PARALLEL_JIT, chunk_layout
from .common import (
    FULL,
    LABELS,
    PROBA,
    RESPONSIBILITIES_ENTROPY,
    SCORE,
    TIED,
    TILE,
    add_lower_products,
    add_triangular_norms,
    argmax_rows,
    block_entropy,
    block_log_likelihood,
    gather_component,
    normalise_rows,
    transpose_block,
    work_rows,
)
from .diag import (
    _add_sq_distances,
    _add_weighted_sq_distances,
    add_component_stats_diag,
)
from .em import _add_stats_block, _log_prob_block

IMPUTE = 3
"""Prediction mode of ``predict_missing`` (after SCORE, LABELS, PROBA of
``kinds``): values (N, D) = the row with each missing entry replaced by its
responsibility-weighted conditional expectation."""

HALF_LOG_2PI = 0.5 * np.log(2.0 * np.pi)


@njit(**JIT)
def find_missing(work, n_features, n_rows, count, features, offset):
    """For the block in work[:D]: count[i] = missing entries of row i,
    features[i, :count[i]] their features in increasing order, offset[i] the
    position of row i's first entry in the block's list; returns the total."""
    for i in range(n_rows):
        count[i] = 0
    for a in range(n_features):
        x = work[a]
        for i in range(n_rows):
            if np.isnan(x[i]):
                features[i, count[i]] = a
                count[i] += 1
    total = 0
    for i in range(n_rows):
        offset[i] = total
        total += count[i]
    return total


# The per-row functions below take whole arrays and indices rather than views
# (features[i], means[k]): a view costs reference-count updates, which here
# cost more than the row's arithmetic.


@njit(**JIT)
def _cholesky_missing(precision, kp, features, i, m, chol):
    """Lower Cholesky factor of Λ_mm (Λ = precision[kp], m = features[i, :m])
    into chol[:m, :m]; returns log det Λ_mm."""
    log_det = 0.0
    for a in range(m):
        fa = features[i, a]
        for b in range(a + 1):
            s = precision[kp, fa, features[i, b]]
            for c in range(b):
                s -= chol[a, c] * chol[b, c]
            if a == b:
                s = np.sqrt(s)
                chol[a, a] = s
                log_det += np.log(s)
            else:
                chol[a, b] = s / chol[b, b]
    return 2.0 * log_det


@njit(**JIT)
def _conditional_mean_full(work, i, features, m, precision, kp, means, k, rhs,
                           chol, fills, at):
    """fills[k, at:at + m] = x̂_m = μ_m − Λ_mm⁻¹ Λ_mo (x_o − μ_o) for row i of
    the block (μ = means[k], Λ = precision[kp], m = features[i, :m]), whose
    missing entries in work[:D] are first set to μ_m (so that the row's
    deviations from μ are zero there); returns log det Λ_mm. rhs (D,) and chol
    (D, D) are scratch."""
    d = means.shape[1]
    for a in range(m):
        f = features[i, a]
        work[f, i] = means[k, f]
    for a in range(m):
        f = features[i, a]
        acc = 0.0
        for b in range(d):
            acc += precision[kp, f, b] * (work[b, i] - means[k, b])
        rhs[a] = acc
    if m == 1:
        # one missing feature, the most common case: no factorisation
        f = features[i, 0]
        fills[k, at] = means[k, f] - rhs[0] / precision[kp, f, f]
        return np.log(precision[kp, f, f])
    log_det = _cholesky_missing(precision, kp, features, i, m, chol)
    # solve L Lᵀ y = rhs in place
    for a in range(m):
        s = rhs[a]
        for c in range(a):
            s -= chol[a, c] * rhs[c]
        rhs[a] = s / chol[a, a]
    for a in range(m - 1, -1, -1):
        s = rhs[a]
        for c in range(a + 1, m):
            s -= chol[c, a] * rhs[c]
        rhs[a] = s / chol[a, a]
    for a in range(m):
        fills[k, at + a] = means[k, features[i, a]] - rhs[a]
    return log_det


@njit(**JIT)
def _add_conditional_covariance(precision, kp, features, i, m, r, chol, inverse,
                                s2, ks):
    """s2[ks, f_a, f_b] += r (Λ_mm⁻¹)[a, b] for b <= a (the lower triangle; the
    features of row i are increasing). chol and inverse (D, D) are scratch."""
    if m == 1:
        f = features[i, 0]
        s2[ks, f, f] += r / precision[kp, f, f]
        return
    _cholesky_missing(precision, kp, features, i, m, chol)
    for a in range(m):
        inverse[a, a] = 1.0 / chol[a, a]
        for b in range(a):
            s = 0.0
            for c in range(b, a):
                s -= chol[a, c] * inverse[c, b]
            inverse[a, b] = s / chol[a, a]
    # Λ_mm⁻¹ = L⁻ᵀ L⁻¹
    for a in range(m):
        for b in range(a + 1):
            s = 0.0
            for c in range(a, m):
                s += inverse[c, a] * inverse[c, b]
            s2[ks, features[i, a], features[i, b]] += r * s


@njit(**JIT)
def _fill_component(kind, k, work, n_rows, count, features, offset, means, factor,
                    precision, fills, correction, rhs, chol):
    """Complete the block's rows under component k: write x̂ into work[:D] and
    fills[k], and correction[i] = m/2 log 2π − 1/2 log det Λ_mm (0 for complete
    rows)."""
    mean = means[k]  # one view per block and component
    kp = 0 if kind == TIED else k
    spherical = factor.shape[2] == 1
    for i in range(n_rows):
        m = count[i]
        if m == 0:
            correction[i] = 0.0
            continue
        at = offset[i]
        if kind == FULL or kind == TIED:
            log_det = _conditional_mean_full(work, i, features, m, precision, kp,
                                             means, k, rhs, chol, fills, at)
        else:
            log_det = 0.0
            for a in range(m):
                f = features[i, a]
                fills[k, at + a] = mean[f]
                log_det += np.log(factor[k, 0, 0] if spherical else factor[k, 0, f])
        correction[i] = m * HALF_LOG_2PI - 0.5 * log_det
        for a in range(m):
            work[features[i, a], i] = fills[k, at + a]


@njit(**JIT)
def _refill(k, work, n_rows, count, features, offset, fills):
    """Write component k's stored completions into work[:D]."""
    for i in range(n_rows):
        at = offset[i]
        for a in range(count[i]):
            work[features[i, a], i] = fills[k, at + a]


@njit(**JIT)
def _log_prob_component(kind, k, n_features, n_rows, means, factor, log_norm,
                        correction, out, work):
    """out[k, i] = log_norm[k] + correction[i] + the ordinary −1/2 quadratic form
    of the completed rows in work[:D] (full and tied: through the triangular
    factor, as ``log_prob_full``; diag and spherical as ``log_prob_diag``)."""
    d = n_features
    row = out[k]
    for i in range(n_rows):
        row[i] = 0.0
    if kind == FULL or kind == TIED:
        kf = 0 if kind == TIED else k
        src, center = 0, means[k]
        if d % TILE != 0:
            for a in range(d):
                c = means[k, a]
                for i in range(n_rows):
                    work[d + a, i] = work[a, i] - c
            src, center = d, np.zeros(d)
        add_triangular_norms(work, src, 3 * d + 2, d, n_rows, factor, kf, center, row)
        scale = -0.5
    elif factor.shape[2] == 1:
        _add_sq_distances(d, n_rows, means[k], work, row)
        scale = -0.5 * factor[k, 0, 0]
    else:
        _add_weighted_sq_distances(d, n_rows, means[k], factor[k, 0], work, row)
        scale = -0.5
    base = log_norm[k]
    for i in range(n_rows):
        row[i] = base + scale * row[i] + correction[i]


@njit(**JIT)
def _missing_log_prob(kind, n_features, n_rows, means, factor, precision, log_norm,
                      count, features, offset, fills, correction, scratch, chol,
                      out, work):
    """The block's log-densities of the observed coordinates, component by
    component, keeping the completions in ``fills``."""
    rhs = scratch[0]
    for k in range(means.shape[0]):
        _fill_component(kind, k, work, n_rows, count, features, offset, means,
                        factor, precision, fills, correction[k], rhs, chol)
        _log_prob_component(kind, k, n_features, n_rows, means, factor, log_norm,
                            correction[k], out, work)


@njit(**JIT)
def _missing_add_stats(kind, n_features, start, n_rows, resp, sample_weight, means,
                       factor, precision, shift, count, features, offset, fills,
                       chol, inverse, s0, s1, s2, work, idx):
    """The block's statistics of the completed rows, component by component,
    plus the conditional covariances (see the module docstring)."""
    d = n_features
    n_components = means.shape[0]
    r = work[3 * d]
    for k in range(n_components):
        _refill(k, work, n_rows, count, features, offset, fills)
        if kind == FULL or kind == TIED:
            m = gather_component(work, d, n_rows, resp, sample_weight, start, k,
                                 means[k], idx, s0, s1)
            if m == 0:
                continue
            if kind == FULL:
                add_lower_products(work, 2 * d, d, d, m, s2[k])
                for i in range(n_rows):
                    w = resp[k, i] * (1.0 if sample_weight.shape[0] == 0
                                      else sample_weight[start + i])
                    if count[i] > 0 and w != 0.0:
                        _add_conditional_covariance(precision, k, features, i,
                                                    count[i], w, chol, inverse, s2, k)
            else:
                # the shared scatter around the shift, of component k's completions
                for a in range(d):
                    e = means[k, a] - shift[a]
                    for j in range(m):
                        work[d + a, j] += e
                        work[2 * d + a, j] += r[j] * e
                add_lower_products(work, 2 * d, d, d, m, s2[0])
            continue
        add_component_stats_diag(k, d, start, n_rows, resp, sample_weight, means,
                                 s0, s1, s2, work, idx)
        spherical = factor.shape[2] == 1
        for i in range(n_rows):
            w = resp[k, i] * (1.0 if sample_weight.shape[0] == 0
                              else sample_weight[start + i])
            if w == 0.0:
                continue
            for a in range(count[i]):
                f = features[i, a]
                s2[k, 0, f] += w / (factor[k, 0, 0] if spherical else factor[k, 0, f])
    if kind == TIED:
        # Λ is shared: one conditional covariance per row, weighted by its mass
        for i in range(n_rows):
            if count[i] == 0:
                continue
            mass = 0.0
            for k in range(n_components):
                mass += resp[k, i]
            w = mass * (1.0 if sample_weight.shape[0] == 0
                        else sample_weight[start + i])
            if w != 0.0:
                _add_conditional_covariance(precision, 0, features, i, count[i], w,
                                            chol, inverse, s2, 0)


@njit(**PARALLEL_JIT)
def accumulate_missing(kind, mode, X, sample_weight, means, factor, precision,
                       log_norm, aux, shift, chunk_rows, s0, s1, s2, loglik, entropy):
    """``em.accumulate`` for X holding NaN (missing values): the E-step on the
    observed coordinates fused with the completed statistics.

    Arguments and outputs as in ``em.accumulate``, plus ``precision``: the
    precision matrices (K, D, D) for full, (1, D, D) for tied, unused (any
    (1, 1, 1) array) for diag and spherical. Every row has at least one observed
    value (validated by the caller).
    """
    n_rows, n_features = X.shape
    n_components = means.shape[0]
    n_chunks = s0.shape[0]
    with_entropy = mode == RESPONSIBILITIES_ENTROPY
    for c in prange(n_chunks):
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
        fills = np.empty((n_components, BLOCK_ROWS))
        correction = np.empty((n_components, BLOCK_ROWS))
        scratch = np.empty((1, n_features))
        chol = np.empty((n_features, n_features))
        inverse = np.empty((n_features, n_features))
        total = 0.0
        chunk_entropy = 0.0
        stop = min(n_rows, (c + 1) * chunk_rows)
        for start in range(c * chunk_rows, stop, BLOCK_ROWS):
            n = min(BLOCK_ROWS, stop - start)
            transpose_block(X, start, n, work)
            n_missing = find_missing(work, n_features, n, count, features, offset)
            if n_missing > fills.shape[1]:
                fills = np.empty((n_components, n_missing))
            if n_missing == 0:
                _log_prob_block(kind, n_features, n, means, factor, log_norm, aux,
                                shift, logp, work)
            else:
                _missing_log_prob(kind, n_features, n, means, factor, precision,
                                  log_norm, count, features, offset, fills,
                                  correction, scratch, chol, logp, work)
            normalise_rows(logp, n, lse, row_sums, False, with_entropy)
            total += block_log_likelihood(lse, row_sums, n, sample_weight, start)
            if with_entropy:
                chunk_entropy += block_entropy(row_sums, n, sample_weight, start)
            if n_missing == 0:
                _add_stats_block(kind, n_features, start, n, logp, sample_weight,
                                 means, shift, s0[c], s1[c], s2[c], work, idx)
            else:
                _missing_add_stats(kind, n_features, start, n, logp, sample_weight,
                                   means, factor, precision, shift, count, features,
                                   offset, fills, chol, inverse, s0[c], s1[c], s2[c],
                                   work, idx)
        loglik[c] = total
        if with_entropy:
            entropy[c] = chunk_entropy


@njit(**PARALLEL_JIT)
def predict_missing(kind, mode, X, means, factor, precision, log_norm, aux, shift,
                    values, labels):
    """``em.predict_rows`` for X holding NaN, with one more mode, IMPUTE: values
    (N, D) gets each row with its missing entries replaced by
    sum_k r_k E[x_m | x_o, k]. Other modes as in ``em.predict_rows``, on the
    observed coordinates."""
    n_rows, n_features = X.shape
    n_components = means.shape[0]
    n_chunks, chunk_rows = chunk_layout(n_rows)
    for c in prange(n_chunks):
        logp = np.empty((n_components, BLOCK_ROWS))
        lse = np.empty(BLOCK_ROWS)
        row_sums = np.empty((2, BLOCK_ROWS))
        work = np.empty((work_rows(n_features), BLOCK_ROWS))
        count = np.empty(BLOCK_ROWS, dtype=np.int64)
        features = np.empty((BLOCK_ROWS, n_features), dtype=np.int64)
        offset = np.empty(BLOCK_ROWS, dtype=np.int64)
        fills = np.empty((n_components, BLOCK_ROWS))
        correction = np.empty((n_components, BLOCK_ROWS))
        scratch = np.empty((1, n_features))
        chol = np.empty((n_features, n_features))
        stop = min(n_rows, (c + 1) * chunk_rows)
        for start in range(c * chunk_rows, stop, BLOCK_ROWS):
            n = min(BLOCK_ROWS, stop - start)
            transpose_block(X, start, n, work)
            n_missing = find_missing(work, n_features, n, count, features, offset)
            if mode == IMPUTE:
                for i in range(n):
                    for a in range(n_features):
                        values[start + i, a] = X[start + i, a]
                if n_missing == 0:
                    continue
            if n_missing > fills.shape[1]:
                fills = np.empty((n_components, n_missing))
            if n_missing == 0:
                _log_prob_block(kind, n_features, n, means, factor, log_norm, aux,
                                shift, logp, work)
            else:
                _missing_log_prob(kind, n_features, n, means, factor, precision,
                                  log_norm, count, features, offset, fills,
                                  correction, scratch, chol, logp, work)
            if mode == LABELS:
                argmax_rows(logp, n, labels, start, lse)
                continue
            normalise_rows(logp, n, lse, row_sums, True)
            if mode == SCORE:
                for i in range(n):
                    values[start + i, 0] = lse[i]
            elif mode == PROBA:
                for i in range(n):
                    for k in range(n_components):
                        values[start + i, k] = logp[k, i]
            else:
                for i in range(n):
                    at = offset[i]
                    for a in range(count[i]):
                        acc = 0.0
                        for k in range(n_components):
                            acc += logp[k, i] * fills[k, at + a]
                        values[start + i, features[i, a]] = acc

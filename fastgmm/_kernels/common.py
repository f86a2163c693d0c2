"""Pieces shared by every covariance type: kind codes, the block layout, a
vectorisable exponential and the log-sum-exp that turns a block's weighted
log-densities into responsibilities.

Block layout: each chunk owns a float64 ``work`` array of ``work_rows(D)`` rows by
BLOCK_ROWS columns. The kernels keep a block of data transposed in it (one row per
feature, one column per point), so their inner loops run over points, contiguous
in memory, and LLVM vectorises them.
"""

import numpy as np
from numba import njit

from .._config import JIT

FULL, TIED, DIAG = 0, 1, 2
"""Kernel kind codes. ``spherical`` runs as ``DIAG`` with one variance repeated."""

SCORE, LABELS, PROBA = 0, 1, 2
"""What ``evaluate`` writes per row: log p(x), the most likely component, or the
responsibilities."""

# A term exp(t) with t below this is dropped: exp(-50) ~ 2e-22 cannot change a sum
# that holds a term equal to 1 (the maximum), even added up over 10^5 components.
NEGLIGIBLE_LOG = -50.0

# 2**-m for m = 0..79: the exponent part of ``exp_nonpositive`` (t >= -50 needs m <= 73).
_POW2_NEG = 2.0 ** -np.arange(80, dtype=np.float64)
_LOG2E = 1.4426950408889634
_LN2_HI = 0.6931471803691238
_LN2_LO = 1.9082149292705877e-10


@njit(**JIT)
def work_rows(n_features):
    """Rows of the per-chunk work array: the transposed block, two transposed
    scratch blocks, and three vectors."""
    return 3 * n_features + 3


@njit(**JIT)
def transpose_block(X, start, n_rows, work):
    """work[a, i] = X[start + i, a] for the block's rows (in float64)."""
    n_features = X.shape[1]
    for i in range(n_rows):
        for a in range(n_features):
            work[a, i] = X[start + i, a]


@njit(**JIT)
def exp_nonpositive(t):
    """exp(t) for NEGLIGIBLE_LOG <= t <= 0, to a few ulp, without a libm call so
    that loops over it vectorise: t = n ln2 + r with |r| <= ln2 / 2, exp(r) by its
    Taylor polynomial of degree 12 (error < 2e-16), times 2**n from a table."""
    n = np.floor(t * _LOG2E + 0.5)
    r = (t - n * _LN2_HI) - n * _LN2_LO
    p = 1.0 / 479001600.0
    p = p * r + 1.0 / 39916800.0
    p = p * r + 1.0 / 3628800.0
    p = p * r + 1.0 / 362880.0
    p = p * r + 1.0 / 40320.0
    p = p * r + 1.0 / 5040.0
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    return p * _POW2_NEG[int(-n)]


@njit(**JIT)
def normalise_rows(logp, n_rows, lse, total, per_point_log):
    """Turn weighted log-densities into responsibilities, in place.

    ``logp`` is (K, BLOCK_ROWS): column i holds log w_k + log N(x_i | k) for
    i < n_rows (components along rows, so every loop here runs over points and
    vectorises). On return it holds the responsibilities. ``total`` is (2,
    BLOCK_ROWS) scratch. With ``per_point_log``, ``lse[i]`` = log p(x_i); without
    it, ``lse[i]`` is the largest term m_i and ``total[0, i]`` =
    sum_k exp(term - m_i), so that log p(x_i) = m_i + log total[0, i]
    and a caller needing only the sum over points can take one log per group of
    points. Terms more than 50 below a point's maximum become exactly 0. A point
    whose every term is -inf (impossible under the model) gets zero
    responsibilities and log p = -inf (total 0).
    """
    n_components = logp.shape[0]
    for i in range(n_rows):
        lse[i] = logp[0, i]
        total[0, i] = 0.0
    for k in range(1, n_components):
        for i in range(n_rows):
            lse[i] = max(lse[i], logp[k, i])
    for k in range(n_components):
        for i in range(n_rows):
            top = lse[i]
            t = logp[k, i] - top if top > -np.inf else -np.inf
            e = exp_nonpositive(max(t, NEGLIGIBLE_LOG))
            e = e if t > NEGLIGIBLE_LOG else 0.0
            logp[k, i] = e
            total[0, i] += e
    inverse = total[1]
    for i in range(n_rows):
        inverse[i] = 1.0 / total[0, i] if total[0, i] > 0.0 else 0.0
    for k in range(n_components):
        for i in range(n_rows):
            logp[k, i] *= inverse[i]
    if per_point_log:
        for i in range(n_rows):
            lse[i] = lse[i] + np.log(total[0, i]) if total[0, i] > 0.0 else -np.inf


# Points whose sums (each in [1, K]) are multiplied before one log is taken: the
# product stays below K**32, finite for any K < 2**31.
LOG_GROUP = 32


@njit(**JIT)
def block_log_likelihood(lse, total, n_rows, sample_weight, start):
    """sum_i w_i log p(x_i) from ``normalise_rows(..., per_point_log=False)``.

    Unweighted, log p summed over a group of points is sum m_i + log prod total_i:
    one log per LOG_GROUP points instead of one per point.
    """
    result = 0.0
    if sample_weight.shape[0] != 0:
        for i in range(n_rows):
            w = sample_weight[start + i]
            if w != 0.0:
                result += w * (lse[i] + np.log(total[0, i]))
        return result
    for g in range(0, n_rows, LOG_GROUP):
        product = 1.0
        for i in range(g, min(n_rows, g + LOG_GROUP)):
            result += lse[i]
            product *= total[0, i]
        result += np.log(product)
    return result


@njit(**JIT)
def argmax_rows(logp, n_rows, labels, start, top):
    """``labels[start + i]`` = the first k maximising ``logp[k, i]``; ``top`` is
    scratch for the running maximum."""
    n_components = logp.shape[0]
    for i in range(n_rows):
        labels[start + i] = 0
        top[i] = logp[0, i]
    for k in range(1, n_components):
        for i in range(n_rows):
            if logp[k, i] > top[i]:
                top[i] = logp[k, i]
                labels[start + i] = k


@njit(**JIT)
def triangular_row(work, src, dst, n_rows, factor, k, j):
    """work[dst, i] = sum_{a <= j} work[src + a, i] * factor[k, j, a] for i < n_rows.

    Two source rows per sweep over the points: the loop is bound by loads and
    stores, and this halves the stores to the accumulator row.
    """
    f = factor[k, j, 0]
    for i in range(n_rows):
        work[dst, i] = work[src, i] * f
    a = 1
    while a < j:
        fa = factor[k, j, a]
        fb = factor[k, j, a + 1]
        for i in range(n_rows):
            work[dst, i] += work[src + a, i] * fa + work[src + a + 1, i] * fb
        a += 2
    if a == j:
        fa = factor[k, j, a]
        for i in range(n_rows):
            work[dst, i] += work[src + a, i] * fa


@njit(**JIT)
def row_weight(sample_weight, row):
    """The weight of ``row``: 1 when no weights were given (an empty array)."""
    if sample_weight.shape[0] == 0:
        return 1.0
    return sample_weight[row]


@njit(**JIT)
def gather_component(work, n_features, n_rows, resp, sample_weight, start, k,
                     center, idx, s0, s1):
    """Lay out the block's points that component k is responsible for, and add
    their mass and first moment: s0[k] += sum r, s1[k] += sum r (x - center).

    ``resp`` is (K, BLOCK_ROWS), column i for the block's point i. For the m points
    j taken: work[D + a, j] = x_a - center_a, work[2D + a, j] = r_j (x_a - center_a)
    and work[3D, j] = r_j, with r the responsibility times the sample weight;
    returns m. When most points have r > 0 every point is taken in order (zeros
    included: cheaper than compacting); otherwise only those with r > 0, so far
    components cost nothing in the statistics.
    """
    d = n_features
    nonzero = 0
    for i in range(n_rows):
        nonzero += resp[k, i] != 0.0
    if nonzero == 0:
        return 0
    if 2 * nonzero > n_rows:
        for i in range(n_rows):
            work[3 * d, i] = resp[k, i] * row_weight(sample_weight, start + i)
        for a in range(d):
            c = center[a]
            for i in range(n_rows):
                t = work[a, i] - c
                work[d + a, i] = t
                work[2 * d + a, i] = work[3 * d, i] * t
        _add_first_moments(work, d, n_rows, k, s0, s1)
        return n_rows
    m = 0
    for i in range(n_rows):
        r = resp[k, i] * row_weight(sample_weight, start + i)
        if r != 0.0:
            idx[m] = i
            work[3 * d, m] = r
            m += 1
    for a in range(d):
        c = center[a]
        for j in range(m):
            t = work[a, idx[j]] - c
            work[d + a, j] = t
            work[2 * d + a, j] = work[3 * d, j] * t
    _add_first_moments(work, d, m, k, s0, s1)
    return m


@njit(**JIT)
def _add_first_moments(work, d, m, k, s0, s1):
    """s0[k] += sum of the m gathered r; s1[k, a] += sum of the m gathered r d_a."""
    total = 0.0
    for j in range(m):
        total += work[3 * d, j]
    s0[k] += total
    for a in range(d):
        acc = 0.0
        for j in range(m):
            acc += work[2 * d + a, j]
        s1[k, a] += acc

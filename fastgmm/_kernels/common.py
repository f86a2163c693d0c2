"""Pieces shared by every covariance type: kind codes, the block layout, a
vectorisable exponential and the log-sum-exp that turns a block's weighted
log-densities into responsibilities.

Block layout: each chunk owns a float64 ``work`` array of ``work_rows(D)`` rows by
BLOCK_ROWS columns. The kernels keep a block of data transposed in it (one row per
feature, one column per point), so their inner loops run over points, contiguous
in memory, and LLVM vectorises them.
"""

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic, overload

from .._config import INLINE_JIT, JIT, ORDERED_JIT, compiled_only
from .kinds import (  # noqa: F401  (re-exported for the drivers)
    DIAG,
    FULL,
    LABELS,
    PROBA,
    RESPONSIBILITIES,
    RESPONSIBILITIES_ENTROPY,
    SCORE,
    TIED,
)

# A term exp(t) with t below this is dropped: exp(-50) ~ 2e-22 cannot change a sum
# that holds a term equal to 1 (the maximum), even added up over 10^5 components.
NEGLIGIBLE_LOG = -50.0

_LOG2E = 1.4426950408889634
_LN2_HI = 0.6931471803691238
_LN2_LO = 1.9082149292705877e-10


@compiled_only(**JIT)
def work_rows(n_features):
    """Rows of the per-chunk work array: the transposed block, two transposed
    scratch blocks, and six vectors."""
    return 3 * n_features + 6


@compiled_only(**JIT)
def transpose_block(X, start, n_rows, work):
    """work[a, i] = X[start + i, a] for the block's rows (in float64).

    One sweep per feature over the block's rows seen as one flat run of
    values (a view for C-contiguous X): each sweep reads every D-th value and
    writes one work row. Against four rows read at a time and each feature's
    four values written together, the transposition alone took 0.6-1.05x the
    time from D = 4 to 128 and 0.3-0.5x below 4 (3.2M values, AMD Zen 4); a
    whole EM iteration at 1M x 2 x 3 diag 0.93x, at 16 x 16 0.94-1.02x."""
    n_features = X.shape[1]
    values = X[start:start + n_rows].ravel()
    for a in range(n_features):
        row = work[a]
        for i in range(n_rows):
            row[i] = values[i * n_features + a]


@compiled_only(**JIT)
def filled_value(X, fill, row, a):
    """X[row, a], or fill[a] where it is NaN (see ``fill_block``). ``fill`` is
    None for data without NaN: Numba then drops the test while compiling, so
    that the loops over X stay vectorised."""
    x = X[row, a]
    if fill is not None:
        if np.isnan(x):
            return fill[a]
    return x


@compiled_only(**JIT)
def fill_block(work, n_rows, fill):
    """work[a, i] = fill[a] where work[a, i] is NaN, for the block's rows in
    work[:D], D = len(fill): rows with missing values seen mean-filled, as the
    initialisation sees them (``_missing``), with no filled copy of X."""
    for a in range(fill.shape[0]):
        value = fill[a]
        x = work[a]
        for i in range(n_rows):
            if np.isnan(x[i]):
                x[i] = value


@intrinsic
def _float_from_bits(typingctx, bits):
    """The float64 whose IEEE bit pattern is the int64 ``bits`` (a bit cast)."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())
    return types.float64(types.int64), codegen


@intrinsic
def _bits_of_float(typingctx, value):
    """The int64 holding the IEEE bit pattern of the float64 ``value``."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))
    return types.int64(types.float64), codegen


# 1.5 * 2**52 + 1023: adding it to an integral n with |n| < 1023 leaves n + 1023
# in the low mantissa bits (the sum is exact)
_EXPONENT_MAGIC = 6755399441055744.0 + 1023.0
_SHIFT_52 = np.int64(52)


@compiled_only(**JIT)
def exp_nonpositive(t):
    """exp(t) for NEGLIGIBLE_LOG <= t <= 0, without a libm call so that loops
    over it vectorise: t = n ln2 + r with |r| <= ln2 / 2, exp(r) by its Taylor
    polynomial of degree 12 (error < 2e-16), times 2**n built from its
    exponent bits (n >= -73 here, far from the subnormals). The bits of 2**n
    come from those of n + _EXPONENT_MAGIC shifted into the exponent field
    (their higher bits fall off): no conversion to an integer, which processors
    without AVX-512 cannot vectorise.

    Within 2 ulp for t >= -5; below, the error grows with |n| to 16 ulp at
    t = -50, because under the kernels' reassociation LLVM folds ln 2's two
    parts (_LN2_HI exact times n, then _LN2_LO) into one constant. Kept: the
    error is then below 2e-15 of a term that is below 2e-22 of its point's
    largest, and compiled without reassociation the function costs a
    multiply-add more (0.55-0.62 against 0.65 ms per 1M values, one thread)."""
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
    return p * _float_from_bits(_bits_of_float(n + _EXPONENT_MAGIC) << _SHIFT_52)


# log(x) = k ln2 + log(1 + f) with x = 2**k (1 + f), 1 + f in [sqrt(2)/2,
# sqrt(2)); log(1 + f) = f - f²/2 + s (f²/2 + R(s²)), s = f / (2 + f), with R the
# degree-7 minimax polynomial of fdlibm's log (its coefficients below).
_LOG_R = (6.666666666666735130e-01, 3.999999999940941908e-01,
          2.857142874366239149e-01, 2.222219843214978396e-01,
          1.818357216161805012e-01, 1.531383769920937332e-01,
          1.479819860511658591e-01)
_MANTISSA = np.int64((1 << 52) - 1)
_ONE_BITS = np.int64(0x3FF0000000000000)
_SQRT2_BITS = np.int64(0x3FF6A09E667F3BCD)
_HALF_BITS = np.int64(1 << 52)
_MAGIC_BITS = np.int64(0x4338000000000000)  # 1.5 * 2**52, low bits clear


@compiled_only(**ORDERED_JIT)
def log_positive(x):
    """log(x) for a positive, normal, finite x, to a couple of ulp, without a
    libm call so that loops over it vectorise (as ``exp_nonpositive``): the
    exponent k and mantissa come from x's bits, k as a float from its exponent
    field put into the low bits of 1.5 * 2**52 (no integer conversion). Compiled
    without reassociation (``ORDERED_JIT``), so that callers' sums of several
    logs cannot merge those subtractions of 1.5 * 2**52."""
    bits = _bits_of_float(x)
    mantissa_bits = (bits & _MANTISSA) | _ONE_BITS
    high = mantissa_bits >= _SQRT2_BITS
    m = _float_from_bits(mantissa_bits - _HALF_BITS if high else mantissa_bits)
    k = (_float_from_bits((bits >> _SHIFT_52) | _MAGIC_BITS) - _EXPONENT_MAGIC
         + (1.0 if high else 0.0))
    f = m - 1.0
    s = f / (2.0 + f)
    z = s * s
    w = z * z
    r = (z * (_LOG_R[0] + w * (_LOG_R[2] + w * (_LOG_R[4] + w * _LOG_R[6])))
         + w * (_LOG_R[1] + w * (_LOG_R[3] + w * _LOG_R[5])))
    half_f2 = 0.5 * f * f
    return k * _LN2_HI - ((half_f2 - (s * (half_f2 + r) + k * _LN2_LO)) - f)


@compiled_only(**JIT)
def _shifted_exp(value, top):
    """``(exp(t), max(t, NEGLIGIBLE_LOG))`` for t = value - top, with exp(t) = 0
    when t is at most NEGLIGIBLE_LOG (or -inf). ``top`` is the point's largest
    term, or +inf for a point whose every term is -inf (``exponentiate_rows``),
    so that every t is -inf there, not NaN, with no test per term."""
    t = value - top
    clipped = max(t, NEGLIGIBLE_LOG)
    return (exp_nonpositive(clipped) if t > NEGLIGIBLE_LOG else 0.0), clipped


@compiled_only(**JIT)
def normalise_rows(logp, n_rows, lse, total, per_point_log, entropy=False):
    """Turn weighted log-densities into responsibilities, in place.

    ``logp`` is (K, BLOCK_ROWS): column i holds log w_k + log N(x_i | k) for
    i < n_rows (components along rows, so every loop here runs over points and
    vectorises). On return it holds the responsibilities. ``total`` is (3,
    BLOCK_ROWS) scratch (2 rows suffice without ``entropy``). With
    ``per_point_log``, ``lse[i]`` = log p(x_i); without it, ``lse`` and
    ``total`` are as ``exponentiate_rows`` leaves them, except that with
    ``entropy`` ``total[2, i]`` becomes sum_k r_ik t_ik (for ``block_entropy``).
    A point whose every term is -inf (impossible under the model) gets zero
    responsibilities and log p = -inf (total 0).
    """
    n_components = logp.shape[0]
    exponentiate_rows(logp, n_rows, lse, total, entropy)
    inverse = total[1]
    for i in range(n_rows):
        inverse[i] = 1.0 / total[0, i] if total[0, i] > 0.0 else 0.0
    if entropy:
        for i in range(n_rows):
            total[2, i] *= inverse[i]
    for k in range(n_components):
        for i in range(n_rows):
            logp[k, i] *= inverse[i]
    if per_point_log:
        for i in range(n_rows):
            lse[i] = (lse[i] + log_positive(total[0, i]) if total[0, i] > 0.0
                      else -np.inf)


@compiled_only(**JIT)
def exponentiate_rows(logp, n_rows, lse, total, entropy=False):
    """Replace weighted log-densities by their exponentials relative to each
    point's largest term, in place: the responsibilities before division by
    their sum (all that a sampled assignment needs).

    ``logp`` (K, BLOCK_ROWS) as in ``normalise_rows``. On return ``lse[i]`` is
    the largest term m_i, ``total[0, i]`` = sum_k exp(term - m_i) (0 for a
    point whose every term is -inf), so that log p(x_i) = m_i + log total[0, i]
    and a caller needing only the sum over points can take one log per group
    of points. Terms more than 50 below a point's maximum become exactly 0.
    With ``entropy``, ``total[2, i]`` = sum_k e_k t_k, where t_k = term_k - m_i
    and e_k = exp(t_k), for ``block_entropy``.
    """
    n_components = logp.shape[0]
    for i in range(n_rows):
        lse[i] = logp[0, i]
        total[0, i] = 0.0
    if entropy:
        for i in range(n_rows):
            total[2, i] = 0.0
    # np.maximum, not max: LLVM turns max's store into a masked store (only when
    # the value changes), which the next pass's loads cannot forward from and
    # which is slow on AMD processors; np.maximum's store is unconditional
    for k in range(1, n_components):
        for i in range(n_rows):
            lse[i] = np.maximum(lse[i], logp[k, i])
    # a point whose every term is -inf takes +inf as its top in the loops
    # below (``_shifted_exp``), and gets -inf back after them
    for i in range(n_rows):
        lse[i] = lse[i] if lse[i] > -np.inf else np.inf
    # two copies of the loop, so that the one EM runs has no branch inside
    if entropy:
        for k in range(n_components):
            for i in range(n_rows):
                e, t = _shifted_exp(logp[k, i], lse[i])
                logp[k, i] = e
                total[0, i] += e
                total[2, i] += e * t
    else:
        for k in range(n_components):
            for i in range(n_rows):
                e, _ = _shifted_exp(logp[k, i], lse[i])
                logp[k, i] = e
                total[0, i] += e
    for i in range(n_rows):
        lse[i] = lse[i] if lse[i] < np.inf else -np.inf


@compiled_only(**JIT)
def block_log_likelihood(lse, total, n_rows, sample_weight, start):
    """sum_i w_i log p(x_i) from ``exponentiate_rows``: log p(x_i) = m_i + log
    total[0, i]."""
    if sample_weight.shape[0] != 0:
        result = 0.0
        for i in range(n_rows):
            w = sample_weight[start + i]
            # a point with total 0 has lse -inf, and log_positive(0) is finite
            result += w * (lse[i] + log_positive(total[0, i])) if w != 0.0 else 0.0
        return result
    return _sum_and_logs(lse, total[0], n_rows, 1.0)


@compiled_only(**JIT)
def block_entropy(lse, total, log_likelihood, n_rows, sample_weight, start):
    """sum_i w_i sum_k r_ik log r_ik from ``normalise_rows(..., entropy=True)``,
    given the block's ``log_likelihood`` (``block_log_likelihood``).

    With S_i = total[0, i] and r_ik = e_ik / S_i, sum_k r_ik log r_ik =
    sum_k r_ik t_ik - log S_i = total[2, i] - log S_i, so no log is taken per
    component; and unweighted, sum_i log S_i is the log-likelihood less
    sum_i lse[i], so no log is taken at all. A point with S_i = 0 adds nothing
    (its total[2, i] is 0); where one makes the log-likelihood -inf, and with
    weights, the logs are taken.
    """
    if sample_weight.shape[0] != 0:
        result = 0.0
        for i in range(n_rows):
            s = total[0, i]
            result += (sample_weight[start + i] * (total[2, i] - log_positive(s))
                       if s > 0.0 else 0.0)
        return result
    if not log_likelihood > -np.inf:
        return _sum_and_logs(total[2], total[0], n_rows, -1.0)
    result = 0.0
    for i in range(n_rows):
        result += total[2, i] + lse[i]
    return result - log_likelihood


@compiled_only(**JIT)
def _sum_and_logs(values, sums, n_rows, sign):
    """sum_i values[i] + sign * log sums[i] over i < n_rows, where a point's
    sum is in [1, K], or 0 where no component explains it (no log: it adds
    values[i] alone).

    The logs are taken of products: eight lanes each multiply the sums of
    every eighth point (a zero counts as 1), and each run of LOG_RUN points
    ends in the eight lanes' logs, so a block of 256 points takes 8 logs
    instead of 256. A lane's product of LOG_RUN / 8 = 32 sums stays below
    K**32, finite for K below 4e9; its rounding (32 ulp at most) moves its log
    by 7e-15. Per 1M points, one thread, this took 0.54 ms where a vectorised
    log per point took 0.81 (and four scalar lanes' products with a libm log
    of each, 2.5 times the per-point logs)."""
    result = 0.0
    for i in range(n_rows):
        result += values[i]
    logs = 0.0
    for run in range(0, n_rows - n_rows % 8, LOG_RUN):
        stop = min(run + LOG_RUN, n_rows - n_rows % 8)
        p0 = p1 = p2 = p3 = p4 = p5 = p6 = p7 = 1.0
        for i in range(run, stop, 8):
            p0 *= _one_if_zero(sums[i])
            p1 *= _one_if_zero(sums[i + 1])
            p2 *= _one_if_zero(sums[i + 2])
            p3 *= _one_if_zero(sums[i + 3])
            p4 *= _one_if_zero(sums[i + 4])
            p5 *= _one_if_zero(sums[i + 5])
            p6 *= _one_if_zero(sums[i + 6])
            p7 *= _one_if_zero(sums[i + 7])
        logs += ((log_positive(p0) + log_positive(p1)) + (log_positive(p2)
                 + log_positive(p3))) + ((log_positive(p4) + log_positive(p5))
                 + (log_positive(p6) + log_positive(p7)))
    for i in range(n_rows - n_rows % 8, n_rows):
        logs += log_positive(_one_if_zero(sums[i]))
    return result + sign * logs


# points per run of ``_sum_and_logs``' products (eight lanes of 32 sums each)
LOG_RUN = 256


@njit(**INLINE_JIT)
def _one_if_zero(s):
    return s if s > 0.0 else 1.0


@compiled_only(**JIT)
def write_predictions(mode, logp, lse, n_rows, start, values):
    """A prediction pass's output for rows start..start + n_rows, after
    ``normalise_rows(..., per_point_log=True)``: SCORE values[:, 0] = log p(x)
    (``lse``), PROBA values (N, K) = the responsibilities (``logp``); other
    modes write nothing."""
    if mode == SCORE:
        for i in range(n_rows):
            values[start + i, 0] = lse[i]
    elif mode == PROBA:
        for i in range(n_rows):
            for k in range(logp.shape[0]):
                values[start + i, k] = logp[k, i]


@njit(**INLINE_JIT)
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


@compiled_only(**JIT)
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


@compiled_only(**JIT)
def row_weight(sample_weight, row):
    """The weight of ``row``: 1 when no weights were given (an empty array)."""
    if sample_weight.shape[0] == 0:
        return 1.0
    return sample_weight[row]


def zero_like(values):
    """A zero of the array ``values``' dtype (compiled code only): the sums of
    float32 products kept in float32 lanes, not widened one by one."""
    raise TypeError("zero_like is called from compiled code only")


@overload(zero_like, jit_options=JIT)
def _zero_like_of_dtype(values):
    dtype = values.dtype

    def zero_like_impl(values):
        return dtype(0)

    return zero_like_impl


@compiled_only(**JIT)
def component_weights(resp, k, sample_weight, start, n_rows, r):
    """r[i] = resp[k, i] times the weight of row start + i; returns how many are
    nonzero."""
    nonzero = 0
    if sample_weight.shape[0] == 0:
        for i in range(n_rows):
            r[i] = resp[k, i]
            nonzero += r[i] != 0.0
    else:
        for i in range(n_rows):
            r[i] = resp[k, i] * sample_weight[start + i]
            nonzero += r[i] != 0.0
    return nonzero


@compiled_only(**JIT)
def compact_nonzero(r, n_rows, idx):
    """Move the nonzero r[i] to the front of r, in order, their i to idx; return
    their count. Branch-free: every i is written, only nonzero ones advance."""
    m = 0
    for i in range(n_rows):
        value = r[i]
        idx[m] = i
        r[m] = value
        m += value != 0.0
    return m


@compiled_only(**JIT)
def add_component_moments(work, n_features, n_rows, resp, sample_weight, start, k,
                          center, s0, s1):
    """s0[k] += sum r and s1[k] += sum r (x - center) for the block in work[:D],
    r as in ``add_component_stats`` (work[3D]); nothing else is written (a
    tied model's second moments are shared, ``tied.add_stats_tied``)."""
    d = n_features
    r = work[3 * d]
    if component_weights(resp, k, sample_weight, start, n_rows, r) == 0:
        return
    total = 0.0
    for i in range(n_rows):
        total += r[i]
    s0[k] += total
    for a in range(d):
        x = work[a]
        c = center[a]
        acc = 0.0
        for i in range(n_rows):
            acc += r[i] * (x[i] - c)
        s1[k, a] += acc


@compiled_only(**JIT)
def gather_nonzero(work, n_features, n_rows, r, center, idx):
    """Lay out the block's points that a component is responsible for, r (its
    responsibility times the sample weight) in work[3D]: the points with r > 0
    moved to the front (r compacted in place), their deviations x - center to
    work rows D.., the weighted deviations to rows 2D..; returns their number
    m. So far components cost nothing in the statistics. ``work`` is float64,
    or float32 for products in float32 (``full.add_stats_full_single``)."""
    d = n_features
    m = compact_nonzero(r, n_rows, idx)
    for a in range(d):
        c = center[a]
        for j in range(m):
            t = work[a, idx[j]] - c
            work[d + a, j] = t
            work[2 * d + a, j] = r[j] * t
    return m


@compiled_only(**JIT)
def add_component_stats(work, n_features, n_rows, resp, sample_weight, start, k,
                        center, idx, s0, s1, s2):
    """Add component k's statistics of the block in work[:D] around
    ``center``: s0[k] += sum r, s1[k] += sum r t and the lower triangle of s2
    (D, D) += sum r t tᵀ, with t = x - center and r the responsibility times
    the sample weight (in work[3D]). When most points have r > 0 the
    deviations are formed inside the product sweeps (``add_centred_products``:
    nothing of size D x BLOCK_ROWS is written, which costs more than the
    subtractions once the block no longer fits in L1); otherwise the points with
    r > 0 are gathered first, so far components cost almost nothing. Any D;
    below TILE features ``add_component_stats_narrow`` is faster."""
    d = n_features
    r = work[3 * d]
    nonzero = component_weights(resp, k, sample_weight, start, n_rows, r)
    if nonzero == 0:
        return
    if 2 * nonzero > n_rows:
        total = 0.0
        for i in range(n_rows):
            total += r[i]
        s0[k] += total
        add_centred_products(work, d, n_rows, r, center, s1[k], s2)
        return
    m = gather_nonzero(work, d, n_rows, r, center, idx)
    add_first_moments(work, d, m, k, s0, s1)
    add_lower_products(work, 2 * d, d, d, m, s2)


@compiled_only(**JIT)
def add_centred_products(work, n_features, n_rows, r, center, s1, s2):
    """s1[a] += sum_i r_i t_ia and s2[a, b] += sum_i r_i t_ia t_ib for
    b <= a, with t_i = x_i - center for the block's rows x in work[:D] and r
    in work[3D]. Features go by tiles of four (as ``add_lower_products``): a
    diagonal tile centres its four rows into work rows D..D+3, which the half
    tiles below it then read (so they stay in L1), while the other side's
    rows are centred and weighted in the sweeps."""
    d = n_features
    whole = d - d % TILE
    centred = work[d:d + TILE]
    for b0 in range(0, whole, TILE):
        _add_centred_diagonal_tile(work, r, b0, n_rows, center, s1, s2, centred)
        for a0 in range(b0 + TILE, whole, TILE):
            _add_centred_half_tile(work, r, a0, b0, n_rows, center, s2, centred)
            _add_centred_half_tile(work, r, a0 + 2, b0, n_rows, center, s2,
                                   centred)
    for a in range(whole, d):
        x = work[a]
        c = center[a]
        p = 0.0
        for i in range(n_rows):
            p += r[i] * (x[i] - c)
        s1[a] += p
        for b in range(a + 1):
            y = work[b]
            e = center[b]
            acc = 0.0
            for i in range(n_rows):
                acc += r[i] * (x[i] - c) * (y[i] - e)
            s2[a, b] += acc


@njit(**INLINE_JIT)
def narrow_weights(resp, k, sample_weight, start, n_rows, work, row):
    """(array, row) holding component k's r = resp[k] times the row weights for
    the kernels below TILE features, which index rows in place: resp's own
    row when unweighted, else work[row] filled with them."""
    if sample_weight.shape[0] == 0:
        return resp, k
    for i in range(n_rows):
        work[row, i] = resp[k, i] * sample_weight[start + i]
    return work, row


@compiled_only(**JIT)
def add_component_stats_narrow(work, n_features, n_rows, resp, sample_weight,
                               start, k, center, s0, s1, s2):
    """``add_component_stats`` for fewer than TILE features (1 to 3), over every
    point (one sweep costs less than finding and gathering the r > 0): the mass
    and the first two features' sums in one sweep (a single feature reads its
    row twice and its second's sums are dropped), the third's in a second. Six
    accumulators per sweep: ten (all three features at once) spill when LLVM
    unrolls the loop. Rows are indexed in place, not taken as views: at 256
    points a call, each view's reference counting costs as much as the sums."""
    d = n_features
    rows, own = narrow_weights(resp, k, sample_weight, start, n_rows, work, 3 * d)
    j1 = min(1, d - 1)
    c0, c1 = center[0], center[j1]
    total = p0 = p1 = q00 = q10 = q11 = 0.0
    for i in range(n_rows):
        w = rows[own, i]
        v0, v1 = work[0, i] - c0, work[j1, i] - c1
        u0, u1 = w * v0, w * v1
        total += w
        p0 += u0
        p1 += u1
        q00 += u0 * v0
        q10 += u1 * v0
        q11 += u1 * v1
    s0[k] += total
    s1[k, 0] += p0
    s2[0, 0] += q00
    if d > 1:
        s1[k, 1] += p1
        s2[1, 0] += q10
        s2[1, 1] += q11
    if d > 2:
        c2 = center[2]
        p2 = q20 = q21 = q22 = 0.0
        for i in range(n_rows):
            v2 = work[2, i] - c2
            u2 = rows[own, i] * v2
            p2 += u2
            q20 += u2 * (work[0, i] - c0)
            q21 += u2 * (work[1, i] - c1)
            q22 += u2 * v2
        s1[k, 2] += p2
        s2[2, 0] += q20
        s2[2, 1] += q21
        s2[2, 2] += q22


@compiled_only(**JIT)
def _add_centred_diagonal_tile(work, r, a0, n_rows, center, s1, s2, centred):
    """``add_centred_products`` on the tile at (a0, a0): its lower triangle
    and the four first moments; leaves the four centred rows in ``centred``."""
    x0, x1, x2, x3 = work[a0], work[a0 + 1], work[a0 + 2], work[a0 + 3]
    c0, c1, c2, c3 = center[a0], center[a0 + 1], center[a0 + 2], center[a0 + 3]
    t0, t1, t2, t3 = centred[0], centred[1], centred[2], centred[3]
    p0 = p1 = p2 = p3 = zero_like(work)
    q00 = q10 = q11 = q20 = q21 = q22 = q30 = q31 = q32 = q33 = zero_like(work)
    for i in range(n_rows):
        w = r[i]
        v0, v1, v2, v3 = x0[i] - c0, x1[i] - c1, x2[i] - c2, x3[i] - c3
        t0[i] = v0
        t1[i] = v1
        t2[i] = v2
        t3[i] = v3
        u0, u1, u2, u3 = w * v0, w * v1, w * v2, w * v3
        p0 += u0
        p1 += u1
        p2 += u2
        p3 += u3
        q00 += u0 * v0
        q10 += u1 * v0
        q11 += u1 * v1
        q20 += u2 * v0
        q21 += u2 * v1
        q22 += u2 * v2
        q30 += u3 * v0
        q31 += u3 * v1
        q32 += u3 * v2
        q33 += u3 * v3
    s1[a0] += p0
    s1[a0 + 1] += p1
    s1[a0 + 2] += p2
    s1[a0 + 3] += p3
    s2[a0, a0] += q00
    s2[a0 + 1, a0] += q10
    s2[a0 + 1, a0 + 1] += q11
    s2[a0 + 2, a0] += q20
    s2[a0 + 2, a0 + 1] += q21
    s2[a0 + 2, a0 + 2] += q22
    s2[a0 + 3, a0] += q30
    s2[a0 + 3, a0 + 1] += q31
    s2[a0 + 3, a0 + 2] += q32
    s2[a0 + 3, a0 + 3] += q33


@compiled_only(**JIT)
def _add_centred_half_tile(work, r, a0, b0, n_rows, center, s2, centred):
    """``add_centred_products`` for rows a0, a0 + 1 by columns b0..b0 + 3
    (b0 + 3 < a0), the columns' centred rows in ``centred``."""
    x0, x1 = work[a0], work[a0 + 1]
    c0, c1 = center[a0], center[a0 + 1]
    y0, y1, y2, y3 = centred[0], centred[1], centred[2], centred[3]
    q00 = q01 = q02 = q03 = q10 = q11 = q12 = q13 = zero_like(work)
    for i in range(n_rows):
        w = r[i]
        u0 = w * (x0[i] - c0)
        u1 = w * (x1[i] - c1)
        v0, v1, v2, v3 = y0[i], y1[i], y2[i], y3[i]
        q00 += u0 * v0
        q01 += u0 * v1
        q02 += u0 * v2
        q03 += u0 * v3
        q10 += u1 * v0
        q11 += u1 * v1
        q12 += u1 * v2
        q13 += u1 * v3
    s2[a0, b0] += q00
    s2[a0, b0 + 1] += q01
    s2[a0, b0 + 2] += q02
    s2[a0, b0 + 3] += q03
    s2[a0 + 1, b0] += q10
    s2[a0 + 1, b0 + 1] += q11
    s2[a0 + 1, b0 + 2] += q12
    s2[a0 + 1, b0 + 3] += q13


@compiled_only(**JIT)
def add_first_moments(work, d, m, k, s0, s1):
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


# Register tiles: the two products below (the second moments here, the
# triangular norms further down) work on 4 x 4 tiles of (feature, feature) pairs,
# so that each sweep over the points loads a few rows for many multiply-adds;
# tiles on the diagonal do their lower triangle's 10. The second moments sum a
# tile off the diagonal as two 2 x 4 halves (8 vector accumulators and 6 loads: a
# 4 x 4 tile's 16 accumulators with its loads exceed AVX2's 16 registers and
# spill, 1.45x slower at D = 16). Rows beyond the last whole tile take the plain
# path.
TILE = 4


@compiled_only(**JIT)
def add_lower_products(work, left, right, n_features, n_rows, out):
    """out[a, b] += sum_{i < n_rows} work[left + a, i] * work[right + b, i]
    for every b <= a < n_features (the lower triangle only), each sum taken in
    work's precision (float32 rows: a block's sums in float32, added to out)."""
    whole = n_features - n_features % TILE
    for a0 in range(0, whole, TILE):
        for b0 in range(0, a0, TILE):
            _add_half_tile_products(work, left, right, a0, b0, n_rows, out)
            _add_half_tile_products(work, left, right, a0 + 2, b0, n_rows, out)
        _add_diagonal_tile_products(work, left, right, a0, n_rows, out)
    for a in range(whole, n_features):
        for b in range(a + 1):
            acc = zero_like(work)
            for i in range(n_rows):
                acc += work[left + a, i] * work[right + b, i]
            out[a, b] += acc


@compiled_only(**JIT)
def _add_half_tile_products(work, left, right, a0, b0, n_rows, out):
    """Rows a0, a0 + 1 by columns b0..b0 + 3 of ``add_lower_products`` (b0 + 3
    < a0), in one sweep."""
    x0, x1 = work[left + a0], work[left + a0 + 1]
    y0, y1 = work[right + b0], work[right + b0 + 1]
    y2, y3 = work[right + b0 + 2], work[right + b0 + 3]
    c00 = c01 = c02 = c03 = c10 = c11 = c12 = c13 = zero_like(work)
    for i in range(n_rows):
        u0, u1 = x0[i], x1[i]
        v0, v1, v2, v3 = y0[i], y1[i], y2[i], y3[i]
        c00 += u0 * v0
        c01 += u0 * v1
        c02 += u0 * v2
        c03 += u0 * v3
        c10 += u1 * v0
        c11 += u1 * v1
        c12 += u1 * v2
        c13 += u1 * v3
    out[a0, b0] += c00
    out[a0, b0 + 1] += c01
    out[a0, b0 + 2] += c02
    out[a0, b0 + 3] += c03
    out[a0 + 1, b0] += c10
    out[a0 + 1, b0 + 1] += c11
    out[a0 + 1, b0 + 2] += c12
    out[a0 + 1, b0 + 3] += c13


@compiled_only(**JIT)
def _add_diagonal_tile_products(work, left, right, a0, n_rows, out):
    """The lower triangle of the tile of ``add_lower_products`` at (a0, a0)."""
    x0, x1 = work[left + a0], work[left + a0 + 1]
    x2, x3 = work[left + a0 + 2], work[left + a0 + 3]
    y0, y1 = work[right + a0], work[right + a0 + 1]
    y2, y3 = work[right + a0 + 2], work[right + a0 + 3]
    c00 = c10 = c11 = c20 = c21 = c22 = c30 = c31 = c32 = c33 = zero_like(work)
    for i in range(n_rows):
        u0, u1, u2, u3 = x0[i], x1[i], x2[i], x3[i]
        v0, v1, v2, v3 = y0[i], y1[i], y2[i], y3[i]
        c00 += u0 * v0
        c10 += u1 * v0
        c11 += u1 * v1
        c20 += u2 * v0
        c21 += u2 * v1
        c22 += u2 * v2
        c30 += u3 * v0
        c31 += u3 * v1
        c32 += u3 * v2
        c33 += u3 * v3
    out[a0, a0] += c00
    out[a0 + 1, a0] += c10
    out[a0 + 1, a0 + 1] += c11
    out[a0 + 2, a0] += c20
    out[a0 + 2, a0 + 1] += c21
    out[a0 + 2, a0 + 2] += c22
    out[a0 + 3, a0] += c30
    out[a0 + 3, a0 + 1] += c31
    out[a0 + 3, a0 + 2] += c32
    out[a0 + 3, a0 + 3] += c33


@compiled_only(**JIT)
def add_triangular_norms(work, src, acc, n_features, n_rows, factor, k, center,
                         offset, norms):
    """norms[i] += sum_j (sum_{a <= j} factor[k, j, a] t_a - offset[j])² with
    t_a = work[src + a, i] - center[a].

    ``offset`` is zero, or for float32 rows sum_a factor[k, j, a] lo_a with lo
    the rounding error of the float32 ``center`` (mu - center): the outputs are
    then those of x - mu, to float32 accuracy however far mu lies from the
    origin (the offset is applied once per output, where its first tile writes
    it, not per source). Outputs j are taken four at a time, their partial
    sums kept in work rows acc..acc+3 while the sources a go by four; the first
    tile of a row of tiles writes them, the diagonal tile (always the last)
    adds their squares to ``norms`` without storing them. When D is not a
    multiple of four the outputs beyond the last whole tile take
    ``triangular_row``, which reads every source row centred: the caller must
    then pass rows already centred, zero centres and zero offsets.
    """
    whole = n_features - n_features % TILE
    for j0 in range(0, whole, TILE):
        for a0 in range(0, j0, TILE):
            _triangular_tile(work, src, acc, n_rows, factor, k, j0, a0, center,
                             offset)
        _triangular_diagonal_tile(work, src, acc, n_rows, factor, k, j0, center,
                                  offset, norms)
    y = work[acc]
    for j in range(whole, n_features):
        triangular_row(work, src, acc, n_rows, factor, k, j)
        for i in range(n_rows):
            norms[i] += y[i] * y[i]


@compiled_only(**JIT)
def _triangular_tile(work, src, acc, n_rows, factor, k, j0, a0, center, offset):
    """Sources a0..a0+3 (a0 < j0) of outputs j0..j0+3 into the rows at ``acc``."""
    f00, f01 = factor[k, j0, a0], factor[k, j0, a0 + 1]
    f02, f03 = factor[k, j0, a0 + 2], factor[k, j0, a0 + 3]
    f10, f11 = factor[k, j0 + 1, a0], factor[k, j0 + 1, a0 + 1]
    f12, f13 = factor[k, j0 + 1, a0 + 2], factor[k, j0 + 1, a0 + 3]
    f20, f21 = factor[k, j0 + 2, a0], factor[k, j0 + 2, a0 + 1]
    f22, f23 = factor[k, j0 + 2, a0 + 2], factor[k, j0 + 2, a0 + 3]
    f30, f31 = factor[k, j0 + 3, a0], factor[k, j0 + 3, a0 + 1]
    f32, f33 = factor[k, j0 + 3, a0 + 2], factor[k, j0 + 3, a0 + 3]
    c0, c1, c2, c3 = center[a0], center[a0 + 1], center[a0 + 2], center[a0 + 3]
    g0, g1 = offset[j0], offset[j0 + 1]
    g2, g3 = offset[j0 + 2], offset[j0 + 3]
    x0, x1 = work[src + a0], work[src + a0 + 1]
    x2, x3 = work[src + a0 + 2], work[src + a0 + 3]
    y0, y1, y2, y3 = work[acc], work[acc + 1], work[acc + 2], work[acc + 3]
    first = a0 == 0
    for i in range(n_rows):
        u0 = x0[i] - c0
        u1 = x1[i] - c1
        u2 = x2[i] - c2
        u3 = x3[i] - c3
        v0 = f00 * u0 + f01 * u1 + f02 * u2 + f03 * u3
        v1 = f10 * u0 + f11 * u1 + f12 * u2 + f13 * u3
        v2 = f20 * u0 + f21 * u1 + f22 * u2 + f23 * u3
        v3 = f30 * u0 + f31 * u1 + f32 * u2 + f33 * u3
        if first:
            y0[i] = v0 - g0
            y1[i] = v1 - g1
            y2[i] = v2 - g2
            y3[i] = v3 - g3
        else:
            y0[i] += v0
            y1[i] += v1
            y2[i] += v2
            y3[i] += v3


@compiled_only(**JIT)
def _triangular_diagonal_tile(work, src, acc, n_rows, factor, k, j0, center,
                              offset, norms):
    """Sources j0..j0+3 of outputs j0..j0+3 (a lower triangle), added to the
    partial sums at ``acc`` (none when j0 = 0), squared into ``norms``."""
    f00 = factor[k, j0, j0]
    f10, f11 = factor[k, j0 + 1, j0], factor[k, j0 + 1, j0 + 1]
    f20, f21 = factor[k, j0 + 2, j0], factor[k, j0 + 2, j0 + 1]
    f22 = factor[k, j0 + 2, j0 + 2]
    f30, f31 = factor[k, j0 + 3, j0], factor[k, j0 + 3, j0 + 1]
    f32, f33 = factor[k, j0 + 3, j0 + 2], factor[k, j0 + 3, j0 + 3]
    c0, c1, c2, c3 = center[j0], center[j0 + 1], center[j0 + 2], center[j0 + 3]
    g0, g1 = offset[j0], offset[j0 + 1]
    g2, g3 = offset[j0 + 2], offset[j0 + 3]
    x0, x1 = work[src + j0], work[src + j0 + 1]
    x2, x3 = work[src + j0 + 2], work[src + j0 + 3]
    y0, y1, y2, y3 = work[acc], work[acc + 1], work[acc + 2], work[acc + 3]
    first = j0 == 0
    for i in range(n_rows):
        u0 = x0[i] - c0
        u1 = x1[i] - c1
        u2 = x2[i] - c2
        u3 = x3[i] - c3
        v0 = f00 * u0
        v1 = f10 * u0 + f11 * u1
        v2 = f20 * u0 + f21 * u1 + f22 * u2
        v3 = f30 * u0 + f31 * u1 + f32 * u2 + f33 * u3
        if first:
            v0 -= g0
            v1 -= g1
            v2 -= g2
            v3 -= g3
        else:
            v0 += y0[i]
            v1 += y1[i]
            v2 += y2[i]
            v3 += y3[i]
        norms[i] += v0 * v0 + v1 * v1 + v2 * v2 + v3 * v3

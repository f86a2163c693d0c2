"""Compiled Gibbs sweeps: the conjugate draws of ``fastgmm._gibbs`` and whole
chains over in-memory data in one call.

Layout. A model's covariances and precision factors are held as 3-D arrays,
whatever the covariance type, so that one compiled function serves all four:
full (K, D, D), tied (1, D, D), diag (K, 1, D), spherical (K, 1, 1); factors in
scikit-learn's convention (upper U with precision U Uᵀ; 1 / sigma). The second
moment of the statistics is held as the kernels' slots are: full (K, D, D), tied
(1, D, D) (lower triangles read), diag and spherical (K, 1, D). ``priors`` is the
tuple (stick_breaking, alpha_0, beta_0, m_0 (D,), nu_0, W_0⁻¹) with W_0⁻¹ 2-D:
(D, D) full and tied, (1, D) diag, (1, 1) spherical (see ``_gibbs.kernel_priors``).

Random numbers. The draws take a ``numpy.random.Generator``; Numba draws from it
exactly what NumPy would (same algorithms, same state), in the order of the
NumPy formulation (``tests/naive_gibbs.py``): the weights, K x D standard
normals, then per Wishart draw D x D normals and D chi-squares, or the gammas.

Exactness. These functions run both inside ``chain_kernel``'s chains and one by one from
Python (memory-mapped and dask sources); they are compiled without fastmath
flags, so LLVM may not fuse or reorder their arithmetic once inlined into the
chain, and both paths give bitwise the same draws.
"""

import numpy as np
from numba import njit

from .._config import JIT
from .em import NO_FILL, NO_RESP, NO_SEEDS, accumulate_chunk, kernel_variant
from .kinds import DIAG, FULL, RESPONSIBILITIES, SAMPLED, SPHERICAL, TIED
from .random import sweep_key

EXACT_JIT = {**JIT, "fastmath": False}

TYPE_CODES = {"full": FULL, "tied": TIED, "diag": DIAG, "spherical": SPHERICAL}
"""Each covariance type's code: its kernel kind (``kinds``)."""

_LOG_2PI = np.log(2.0 * np.pi)
_MASS_EPS = 10 * np.finfo(np.float64).eps  # _stats.MASS_EPS (m_step's divisor)


# ----------------------------------------------------------- small linear algebra


@njit(**EXACT_JIT)
def _cholesky_lower(matrix, lower):
    """lower L with L Lᵀ = matrix (its lower triangle read); False if not
    positive definite."""
    n = matrix.shape[0]
    lower[:] = 0.0
    for j in range(n):
        value = matrix[j, j]
        for m in range(j):
            value -= lower[j, m] * lower[j, m]
        if not value > 0.0:
            return False
        pivot = np.sqrt(value)
        lower[j, j] = pivot
        for i in range(j + 1, n):
            value = matrix[i, j]
            for m in range(j):
                value -= lower[i, m] * lower[j, m]
            lower[i, j] = value / pivot
    return True


@njit(**EXACT_JIT)
def _lower_inverse(lower, inverse):
    """inverse of a lower-triangular matrix (lower-triangular)."""
    n = lower.shape[0]
    inverse[:] = 0.0
    for j in range(n):
        inverse[j, j] = 1.0 / lower[j, j]
        for i in range(j + 1, n):
            value = 0.0
            for m in range(j, i):
                value += lower[i, m] * inverse[m, j]
            inverse[i, j] = -value / lower[i, i]


@njit(**EXACT_JIT)
def _upper_inverse_transposed(upper, out):
    """out = inv(U)ᵀ (lower-triangular), the inverse of the lower-triangular Uᵀ."""
    _lower_inverse(upper.T.copy(), out)


@njit(**EXACT_JIT)
def _covariance_of_upper(upper, covariance, scratch):
    """covariance = inv(U Uᵀ) = inv(U)ᵀ inv(U) for an upper-triangular U;
    ``scratch`` (D, D)."""
    n = upper.shape[0]
    _upper_inverse_transposed(upper, scratch)
    for i in range(n):
        for j in range(n):
            value = 0.0
            for m in range(min(i, j) + 1):
                value += scratch[i, m] * scratch[j, m]
            covariance[i, j] = value


@njit(**EXACT_JIT)
def bartlett_factor(rng, scale_inverse, degrees_of_freedom, out):
    """out = U upper-triangular with U Uᵀ ~ Wishart(dof, inv(scale_inverse)).

    With scale_inverse = L Lᵀ, R = L^-T is the upper factor of the scale; B
    upper-triangular with B_ii² ~ chi²(dof - (D - 1 - i)) and standard normals
    above the diagonal has B Bᵀ ~ Wishart(dof, I) (Bartlett's decomposition with
    the features reversed), so U = R B. Draws D x D normals (row-major, those on
    and below the diagonal unused), then the D chi-squares.
    """
    n = scale_inverse.shape[0]
    lower = np.empty((n, n))
    if not _cholesky_lower(scale_inverse, lower):
        raise np.linalg.LinAlgError("the Wishart scale is not positive definite")
    inverse = np.empty((n, n))
    _lower_inverse(lower, inverse)  # R[i, j] = inverse[j, i]
    bartlett = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            z = rng.standard_normal()
            if j > i:
                bartlett[i, j] = z
    for i in range(n):
        bartlett[i, i] = np.sqrt(rng.chisquare(degrees_of_freedom - (n - 1 - i)))
    for i in range(n):
        for j in range(n):
            value = 0.0
            for m in range(i, j + 1):
                value += inverse[m, i] * bartlett[m, j]
            out[i, j] = value


# ------------------------------------------------------------ conjugate draws


@njit(**EXACT_JIT)
def draw_weights(rng, stick_breaking, alpha, masses, weights):
    """weights (K,) from their conditional given the components' masses (K,):
    stick-breaking Beta(1 + n_k, alpha + sum_{j>k} n_j) sticks, the last one 1,
    or Dirichlet(alpha + n) by normalised gammas."""
    n_components = masses.shape[0]
    if stick_breaking:
        after = np.zeros(n_components)
        for k in range(n_components - 2, -1, -1):
            after[k] = after[k + 1] + masses[k + 1]
        remaining = 1.0
        for k in range(n_components - 1):
            stick = rng.beta(1.0 + masses[k], alpha + after[k])
            weights[k] = stick * remaining
            remaining *= 1.0 - stick
        weights[n_components - 1] = remaining
        return
    total = 0.0
    for k in range(n_components):
        weights[k] = rng.standard_gamma(alpha + masses[k])
        total += weights[k]
    if not total > 0.0:
        # every concentration tiny and every draw underflowed: one at random
        weights[:] = 0.0
        weights[rng.integers(0, n_components)] = 1.0
        total = 1.0
    for k in range(n_components):
        weights[k] /= total


@njit(**EXACT_JIT)
def _scatters(code, s0, s1, s2, centers, tied_shift, sample_means, scatter):
    """The components' sample means (K, D) and within-component scatters (full:
    (K, D, D); tied: (1, D, D) summed over components; diag (K, 1, D); spherical:
    (K, 1, 1) summed over features), exact for empty components: m_step's
    covariances times its divisor n_k + MASS_EPS."""
    n_components, n_features = s1.shape
    divisors = np.empty(n_components)
    delta = np.empty((n_components, n_features))
    for k in range(n_components):
        divisors[k] = s0[k] + _MASS_EPS
        for d in range(n_features):
            delta[k, d] = s1[k, d] / divisors[k]
            sample_means[k, d] = centers[k, d] + delta[k, d]
    if code == FULL:
        for k in range(n_components):
            for i in range(n_features):
                for j in range(n_features):
                    lo, hi = max(i, j), min(i, j)
                    value = s2[k, lo, hi] - s1[k, i] * delta[k, j]
                    value -= s1[k, j] * delta[k, i]
                    value += s0[k] * delta[k, i] * delta[k, j]
                    scatter[k, i, j] = value / divisors[k] * divisors[k]
    elif code == TIED:
        total = 0.0
        for k in range(n_components):
            total += divisors[k]
        first = np.empty((n_components, n_features))
        offsets = np.empty((n_components, n_features))
        for k in range(n_components):
            for d in range(n_features):
                first[k, d] = s1[k, d] + s0[k] * (centers[k, d] - tied_shift[d])
                offsets[k, d] = sample_means[k, d] - tied_shift[d]
        for i in range(n_features):
            for j in range(n_features):
                cross_ij = 0.0
                cross_ji = 0.0
                spread = 0.0
                for k in range(n_components):
                    cross_ij += first[k, i] * offsets[k, j]
                    cross_ji += first[k, j] * offsets[k, i]
                    spread += s0[k] * offsets[k, i] * offsets[k, j]
                lo, hi = max(i, j), min(i, j)
                value = s2[0, lo, hi] - cross_ij - cross_ji + spread
                scatter[0, i, j] = value / total * total
    else:
        for k in range(n_components):
            summed = 0.0
            for d in range(n_features):
                value = s2[k, 0, d] - 2.0 * s1[k, d] * delta[k, d]
                value += s0[k] * delta[k, d] ** 2
                if code == DIAG:
                    scatter[k, 0, d] = value / divisors[k] * divisors[k]
                else:
                    summed += value / divisors[k]
            if code == SPHERICAL:
                scatter[k, 0, 0] = summed / n_features * divisors[k] * n_features


@njit(**EXACT_JIT)
def draw_parameters(rng, code, priors, fixed, s0, s1, s2, centers, tied_shift,
                    weights, means, covariances, factors):
    """One draw of the parameters given the statistics of sampled assignments,
    written into weights (K,), means (K, D), covariances and factors (3-D, see
    the module's docstring).

    s0 (K,), s1 (K, D) around ``centers`` (K, D), s2 as the slots hold it (the
    tied scatter around ``tied_shift`` (D,)). With ``fixed``, the covariances
    and factors hold the known covariances and are left alone: only the weights
    and means are drawn. The conjugate update is that of ``fastgmm._gibbs``.
    """
    stick_breaking, alpha, beta0, mean_prior, dof_prior, scale_prior = priors
    n_components, n_features = s1.shape
    masses = np.empty(n_components)
    for k in range(n_components):
        masses[k] = max(s0[k], 0.0)
    sample_means = np.empty((n_components, n_features))
    scatter = np.empty(factors.shape)
    _scatters(code, s0, s1, s2, centers, tied_shift, sample_means, scatter)
    draw_weights(rng, stick_breaking, alpha, masses, weights)

    noise = np.empty((n_components, n_features))
    for k in range(n_components):
        for d in range(n_features):
            noise[k, d] = rng.standard_normal()
    # beta_k, m_k, (x̄_k - m_0) and its weight beta_0 n_k / beta_k
    beta = np.empty(n_components)
    offsets = np.empty((n_components, n_features))
    offset_weights = np.empty(n_components)
    for k in range(n_components):
        beta[k] = beta0 + masses[k]
        offset_weights[k] = beta0 * masses[k] / beta[k]
        for d in range(n_features):
            offsets[k, d] = sample_means[k, d] - mean_prior[d]

    if not fixed:
        if code == FULL or code == TIED:
            base = np.empty((n_features, n_features))
            scratch = np.empty((n_features, n_features))
            for k in range(factors.shape[0]):
                dof = dof_prior + masses[k]
                if code == TIED:
                    total = 0.0
                    for j in range(n_components):
                        total += masses[j]
                    dof = dof_prior + total
                for i in range(n_features):
                    for j in range(n_features):
                        if code == FULL:
                            spread = offset_weights[k] * (offsets[k, i] * offsets[k, j])
                        else:
                            spread = 0.0
                            for m in range(n_components):
                                spread += offset_weights[m] * offsets[m, i] \
                                    * offsets[m, j]
                        base[i, j] = scale_prior[i, j] + scatter[k, i, j] + spread
                bartlett_factor(rng, base, dof, factors[k])
                _covariance_of_upper(factors[k], covariances[k], scratch)
        else:
            for k in range(n_components):
                if code == DIAG:
                    shape = 0.5 * (dof_prior + masses[k])
                    for d in range(n_features):
                        rate = 0.5 * (scale_prior[0, d] + scatter[k, 0, d]
                                      + offset_weights[k] * offsets[k, d] ** 2)
                        precision = rng.standard_gamma(shape) / rate
                        factors[k, 0, d] = np.sqrt(precision)
                        covariances[k, 0, d] = 1.0 / precision
                else:
                    squared = 0.0
                    for d in range(n_features):
                        squared += offsets[k, d] ** 2
                    rate = 0.5 * (scale_prior[0, 0] + scatter[k, 0, 0]
                                  + offset_weights[k] * squared)
                    shape = 0.5 * (dof_prior + masses[k] * n_features)
                    precision = rng.standard_gamma(shape) / rate
                    factors[k, 0, 0] = np.sqrt(precision)
                    covariances[k, 0, 0] = 1.0 / precision

    # mu_k = m_k + beta_k^-1/2 e_k inv(U_k), e_k standard normal (the row
    # vector's covariance is inv(U_k)ᵀ inv(U_k) = inv(U_k U_kᵀ))
    correlated = np.empty(n_features)
    inverse = np.empty((n_features, n_features))  # inv(U)ᵀ
    for k in range(n_components):
        if code == FULL or code == TIED:
            if k == 0 or code == FULL:
                _upper_inverse_transposed(factors[k if code == FULL else 0], inverse)
            for j in range(n_features):
                value = 0.0
                for i in range(j + 1):
                    value += noise[k, i] * inverse[j, i]
                correlated[j] = value
        elif code == DIAG:
            for d in range(n_features):
                correlated[d] = noise[k, d] / factors[k, 0, d]
        else:
            for d in range(n_features):
                correlated[d] = noise[k, d] / factors[k, 0, 0]
        scale = 1.0 / np.sqrt(beta[k])
        for d in range(n_features):
            centre = (beta0 * mean_prior[d] + masses[k] * sample_means[k, d]) / beta[k]
            means[k, d] = centre + scale * correlated[d]


# ------------------------------------------------------------- one sweep's pass


@njit(**EXACT_JIT)
def pass_layout(code, weights, means, factors, factor, log_norm, aux, shift):
    """Lay the parameters out for ``em.accumulate`` (``_params.kernel_params``
    with EM's log-weights): factor (transposed U, or squared 1 / sigma, shaped as
    ``factors``), log_norm (K,) = log w_k - D/2 log 2 pi + log det U_k, and for
    tied aux (K, D) = (means - shift) U around shift (D,) = the mean of the means
    (other types: aux = means, shift = 0)."""
    n_components, n_features = means.shape
    constant = 0.5 * n_features * _LOG_2PI
    # element by element, as ``run_chain`` copies its draws
    for k in range(n_components):
        for a in range(n_features):
            aux[k, a] = means[k, a]
    shift[:] = 0.0
    for k in range(factors.shape[0]):
        log_det = 0.0
        if code == FULL or code == TIED:
            for i in range(n_features):
                log_det += np.log(factors[k, i, i])
                for j in range(n_features):
                    factor[k, i, j] = factors[k, j, i]
        elif code == DIAG:
            for d in range(n_features):
                log_det += np.log(factors[k, 0, d])
                factor[k, 0, d] = factors[k, 0, d] ** 2
        else:
            log_det = n_features * np.log(factors[k, 0, 0])
            factor[k, 0, 0] = factors[k, 0, 0] ** 2
        for m in range(n_components):
            if code != TIED and m != k:
                continue
            log_norm[m] = np.log(weights[m]) - constant + log_det
    if code == TIED:
        for d in range(n_features):
            total = 0.0
            for k in range(n_components):
                total += means[k, d]
            shift[d] = total / n_components
        for k in range(n_components):
            for j in range(n_features):
                value = 0.0
                for i in range(n_features):
                    value += (means[k, i] - shift[i]) * factors[0, i, j]
                aux[k, j] = value


@njit(**EXACT_JIT)
def reduce_slots(code, s0_slots, s1_slots, s2_slots, loglik_slots, s0, s1, s2):
    """Sum the per-chunk slots of a pass in chunk order into s0 (K,), s1 (K, D)
    and s2 (the slot layout, full and tied made symmetric from their lower
    triangles); return the summed log-likelihood."""
    n_chunks = s0_slots.shape[0]
    s0[:] = 0.0
    s1[:] = 0.0
    s2[:] = 0.0
    loglik = 0.0
    for c in range(n_chunks):
        loglik += loglik_slots[c]
        for k in range(s0.shape[0]):
            s0[k] += s0_slots[c, k]
            for d in range(s1.shape[1]):
                s1[k, d] += s1_slots[c, k, d]
        for k in range(s2.shape[0]):
            for i in range(s2.shape[1]):
                for j in range(s2.shape[2]):
                    if code == FULL or code == TIED:
                        if j <= i:
                            s2[k, i, j] += s2_slots[c, k, i, j]
                    else:
                        s2[k, i, j] += s2_slots[c, k, i, j]
    if code == FULL or code == TIED:
        for k in range(s2.shape[0]):
            for i in range(s2.shape[1]):
                for j in range(i):
                    s2[k, j, i] = s2[k, i, j]
    return loglik


CHAIN_KERNELS = {}
"""``run_chain`` compiled per covariance-type code and kernel variant (built
on first use)."""


def chain_kernel(code, X):
    """``run_chain`` for covariance-type code ``code``, over in-memory data X of
    one chunk (``_config.chunk_layout``): each pass runs on the calling thread,
    so the chains of small data can run side by side, and only this type's
    kernels compile, in X's variant (``em.accumulate_chunk`` with a constant
    kind and ``em.kernel_variant``)."""
    key = (int(code), kernel_variant(code, X.shape[1], X.itemsize))
    if key not in CHAIN_KERNELS:
        CHAIN_KERNELS[key] = _chain_kernel(*key)
    return CHAIN_KERNELS[key]


@njit(**{**EXACT_JIT, "inline": "always"})
def _one_pass(kind, code, variant, mode, X, sample_weight, chunk_rows, key, weights,
              means, factors, slots, stats):
    """One pass over X (one chunk) under the parameters: its statistics reduced
    into ``stats`` (s0, s1, s2, centers, tied_shift); returns the
    log-likelihood."""
    factor, log_norm, aux, s0_slots, s1_slots, s2_slots, loglik_slots = slots
    s0, s1, s2, centers, tied_shift = stats
    for k in range(means.shape[0]):  # element by element (see ``run_chain``)
        for a in range(means.shape[1]):
            centers[k, a] = means[k, a]
    pass_layout(code, weights, centers, factors, factor, log_norm, aux, tied_shift)
    # sampling: the sweeps' draws and the log-likelihood's plain pass
    accumulate_chunk(kind, True, variant, 0, mode, X, sample_weight, centers, factor,
                     log_norm, aux, tied_shift, chunk_rows, s0_slots, s1_slots,
                     s2_slots, loglik_slots, key, np.uint64(0), NO_SEEDS,
                     NO_RESP, NO_FILL)
    return reduce_slots(code, s0_slots, s1_slots, s2_slots, loglik_slots, s0, s1, s2)


def _chain_kernel(code, variant):
    # the closure holds integers only (see em._accumulate_kernel); the codes
    # are the kernel kinds
    kind = code

    @njit(**EXACT_JIT)
    def run_chain(rng, priors, fixed, X, sample_weight, chunk_rows, seed, chain,
                  sweeps, n_burn, thin, state, kept, slots, stats):
        """Sweeps ``sweeps`` = (first, stop) of a chain over in-memory X, in
        place.

        ``state`` (weights, means, covariances, factors) is the chain's current
        draw; ``kept`` (weights (T, K), means (T, K, D), covariances (T, ...3-D),
        loglik (T,)) receives draw t after sweep n_burn + (t + 1) thin - 1 and,
        from the next sweep's pass (or a final pass after the chain's last
        sweep, ``sweeps`` ending at n_burn + T thin), the data's log-likelihood
        under it. ``slots`` and ``stats``: scratch as ``_gibbs.chain_scratch``
        allocates it. Sweep s samples its assignments with
        ``random.sweep_key(seed, chain, s)``.
        """
        weights, means, covariances, factors = state
        kept_weights, kept_means, kept_covariances, kept_loglik = kept
        s0, s1, s2, centers, tied_shift = stats
        first, stop = sweeps
        for sweep in range(first, stop):
            key = sweep_key(seed, chain, np.uint64(sweep))
            loglik = _one_pass(kind, code, variant, SAMPLED, X, sample_weight,
                               chunk_rows, key, weights, means, factors, slots,
                               stats)
            done = sweep - n_burn
            if done > 0 and done % thin == 0:
                kept_loglik[done // thin - 1] = loglik
            # int(): the literal code would compile the draws a second time
            # (the first draw, from Python, compiles them for an integer)
            draw_parameters(rng, int(code), priors, fixed, s0, s1, s2, centers,
                            tied_shift, weights, means, covariances, factors)
            done += 1
            if done > 0 and done % thin == 0:
                # element by element: an array assigned to a slice compiles
                # the message of a shape mismatch (string formatting, about a
                # second)
                t = done // thin - 1
                for k in range(weights.shape[0]):
                    kept_weights[t, k] = weights[k]
                    for a in range(means.shape[1]):
                        kept_means[t, k, a] = means[k, a]
                for k in range(covariances.shape[0]):
                    for a in range(covariances.shape[1]):
                        for b in range(covariances.shape[2]):
                            kept_covariances[t, k, a, b] = covariances[k, a, b]
        n_kept = kept_loglik.shape[0]
        if stop == n_burn + n_kept * thin:
            kept_loglik[n_kept - 1] = _one_pass(
                kind, code, variant, RESPONSIBILITIES, X, sample_weight, chunk_rows,
                np.uint64(0), weights, means, factors, slots, stats)

    return run_chain

"""Plain NumPy twins of the Gibbs sampler's pieces: the counter-based uniforms,
the sampled assignments and their statistics, the conjugate draws, and the exact
posterior of a mixture small enough to enumerate every assignment."""

import itertools

import numpy as np
from scipy.linalg import lapack
from scipy.special import gammaln, logsumexp
from scipy.stats import norm

from fastgmm._params import Params
from fastgmm._stats import MASS_EPS, m_step

M64 = np.uint64(0xFFFFFFFFFFFFFFFF)
GOLDEN = np.uint64(0x9E3779B97F4A7C15)
COPY = np.uint64(0xD1B54A32D192ED03)


def mix64(z):
    """splitmix64's finaliser on uint64 arrays (wrapping arithmetic)."""
    z = np.asarray(z, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def sweep_key(seed, chain, sweep):
    with np.errstate(over="ignore"):
        z = mix64(np.uint64(seed) + GOLDEN)
        z = mix64(z + np.uint64(chain) * GOLDEN)
        return mix64(z + np.uint64(sweep) * GOLDEN)


def uniforms(key, rows, copy=0):
    """The uniforms of ``rows`` (int array) for one sweep key and copy."""
    rows = np.asarray(rows, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = mix64(np.uint64(key) + (rows + np.uint64(1)) * GOLDEN)
        if copy:
            z = mix64(z + np.uint64(copy) * COPY)
    return (z >> np.uint64(11)).astype(np.float64) * 2.0**-53


def sampled_components(resp, u):
    """Inverse CDF: the first component whose cumulative responsibility exceeds
    u times the row's total."""
    cumulative = np.cumsum(resp, axis=1)
    return np.argmax(cumulative > (u * cumulative[:, -1])[:, None], axis=1)


def assignment_stats(X, counts, centers):
    """s0, s1, s2 (full) of assignment counts (N, K) around ``centers``."""
    s0 = counts.sum(axis=0)
    d = X[:, None, :] - centers[None, :, :]
    s1 = np.einsum("nk,nkd->kd", counts, d)
    s2 = np.einsum("nk,nkd,nke->kde", counts, d, d)
    return s0, s1, s2


def exact_posterior_1d(x, sigma2, alpha, m0, beta0):
    """E[min mean], E[max mean] and E[weight of the leftmost component] of a
    two-component mixture with known variance, Dirichlet(alpha, alpha) weights
    and mu_k ~ N(m0, sigma2 / beta0), by summing over all 2^N assignments."""
    n_points = x.shape[0]
    log_posts, values = [], []
    for z in itertools.product((0, 1), repeat=n_points):
        z = np.asarray(z)
        log_p = gammaln(2 * alpha) - gammaln(2 * alpha + n_points)
        moments = []
        for k in (0, 1):
            points = x[z == k]
            n = points.shape[0]
            log_p += gammaln(alpha + n) - gammaln(alpha)
            beta = beta0 + n
            mean = points.mean() if n else 0.0
            scatter = np.sum((points - mean) ** 2) + beta0 * n / beta * (mean - m0) ** 2
            log_p += (-0.5 * n * np.log(2 * np.pi * sigma2)
                      + 0.5 * np.log(beta0 / beta) - 0.5 * scatter / sigma2)
            moments.append(((beta0 * m0 + n * mean) / beta, sigma2 / beta,
                            (alpha + n) / (2 * alpha + n_points)))
        (m1, v1, w1), (m2, v2, w2) = moments
        theta = np.sqrt(v1 + v2)
        gap = (m2 - m1) / theta
        expected_min = m1 * norm.cdf(gap) + m2 * norm.cdf(-gap) - theta * norm.pdf(gap)
        expected_max = m1 + m2 - expected_min
        first_left = norm.cdf(gap)  # P(mu_1 < mu_2)
        left_weight = first_left * w1 + (1 - first_left) * w2
        log_posts.append(log_p)
        values.append((expected_min, expected_max, left_weight))
    log_posts = np.asarray(log_posts)
    posterior = np.exp(log_posts - logsumexp(log_posts))
    return posterior @ np.asarray(values)


# ------------------------------------------------------------ conjugate draws


def draw_weights(rng, masses, priors):
    """Weights (K,) from their conditional given the components' masses (K,)."""
    alpha = priors.weight_concentration_prior
    if priors.weight_concentration_prior_type == "dirichlet_process":
        after = np.concatenate((np.cumsum(masses[::-1])[-2::-1], [0.0]))
        sticks = rng.beta(1.0 + masses[:-1], alpha + after[:-1])
        sticks = np.append(sticks, 1.0)
        remaining = np.concatenate(([1.0], np.cumprod(1.0 - sticks[:-1])))
        return sticks * remaining
    gammas = rng.standard_gamma(alpha + masses)
    total = gammas.sum()
    if not total > 0.0:
        # every concentration tiny and every draw underflowed: one at random
        gammas = np.zeros_like(gammas)
        gammas[rng.integers(gammas.shape[0])] = 1.0
        total = 1.0
    return gammas / total


def bartlett_factor(rng, scale_inverse, degrees_of_freedom):
    """U upper-triangular with U Uᵀ ~ Wishart(dof, inv(scale_inverse)).

    With scale_inverse = L Lᵀ, R = L^-T is the upper factor of the scale; B
    upper-triangular with B_ii² ~ chi²(dof - (D - 1 - i)) and standard normals
    above the diagonal has B Bᵀ ~ Wishart(dof, I) (Bartlett's decomposition with
    the features reversed), so U = R B.
    """
    n_features = scale_inverse.shape[0]
    lower, info = lapack.dpotrf(scale_inverse, lower=1, clean=1)
    if info != 0:
        raise np.linalg.LinAlgError("the Wishart scale is not positive definite")
    upper_scale = _triangular_inverse(lower, lower=1).T
    bartlett = np.triu(rng.standard_normal((n_features, n_features)), 1)
    dof = degrees_of_freedom - (n_features - 1 - np.arange(n_features))
    bartlett[np.diag_indices(n_features)] = np.sqrt(rng.chisquare(dof))
    return upper_scale @ bartlett


def _triangular_inverse(matrix, lower):
    """The inverse of a small triangular matrix (LAPACK's trtri: SciPy's
    solve_triangular costs far more than the work at these sizes)."""
    inverse, info = lapack.dtrtri(matrix, lower=lower)
    if info != 0:
        raise np.linalg.LinAlgError("singular triangular factor")
    return inverse


def _component_moments(stats):
    """Masses n (K,), means x̄ (K, D) and the within-component scatters (full:
    (K, D, D); tied: (D, D) summed over components; diag: (K, D); spherical:
    (K,), summed over features) of ``stats``, exact for empty components."""
    estimate = m_step(stats, 0.0)
    masses = np.maximum(stats.s0, 0.0)
    name = stats.covariance_type.name
    covariances = estimate.covariances
    # m_step divides by n_k + MASS_EPS; multiply back by the same
    divisor = stats.s0 + MASS_EPS
    if name == "full":
        scatter = covariances * divisor[:, None, None]
    elif name == "tied":
        scatter = covariances * divisor.sum()
    elif name == "diag":
        scatter = covariances * divisor[:, None]
    else:
        scatter = covariances * divisor * stats.s1.shape[1]
    return masses, estimate.means, scatter


def _mean_terms(masses, means, priors):
    """beta_k (K,), m_k (K, D), and (x̄_k - m_0) with its weight beta_0 n_k / beta_k."""
    beta0, m0 = priors.mean_precision_prior, priors.mean_prior
    beta = beta0 + masses
    posterior_means = (beta0 * m0 + masses[:, None] * means) / beta[:, None]
    offset = means - m0
    return beta, posterior_means, offset, beta0 * masses / beta


def draw_parameters(rng, stats, priors, fixed=None):
    """``fastgmm._gibbs.draw_parameters`` in NumPy and LAPACK: the compiled
    draws' twin, taking the same numbers from ``rng`` in the same order."""
    ctype = stats.covariance_type
    masses, sample_means, scatter = _component_moments(stats)
    weights = draw_weights(rng, masses, priors)
    beta, centre, offset, offset_weight = _mean_terms(masses, sample_means, priors)
    n_components, n_features = centre.shape
    noise = rng.standard_normal((n_components, n_features))
    scale = 1.0 / np.sqrt(beta)
    name = ctype.name
    if fixed is not None:
        factors, covariances = fixed.precisions_cholesky, fixed.covariances
    elif name == "full":
        base = priors.covariance_prior + scatter + offset_weight[:, None, None] * (
            offset[:, :, None] * offset[:, None, :])
        factors = np.stack([
            bartlett_factor(rng, base[k], priors.degrees_of_freedom_prior + masses[k])
            for k in range(n_components)
        ])
        covariances = ctype.covariances_from_cholesky(factors)
    elif name == "tied":
        base = priors.covariance_prior + scatter + (offset_weight[:, None] * offset).T \
            @ offset
        factors = bartlett_factor(rng, base,
                                  priors.degrees_of_freedom_prior + masses.sum())
        covariances = ctype.covariances_from_cholesky(factors)
    elif name == "diag":
        rate = 0.5 * (priors.covariance_prior + scatter
                      + offset_weight[:, None] * offset**2)
        shape = 0.5 * (priors.degrees_of_freedom_prior + masses)
        precisions = rng.standard_gamma(np.broadcast_to(shape[:, None], rate.shape)) \
            / rate
        factors = np.sqrt(precisions)
        covariances = 1.0 / precisions
    else:
        rate = 0.5 * (priors.covariance_prior + scatter
                      + offset_weight * np.sum(offset**2, axis=1))
        shape = 0.5 * (priors.degrees_of_freedom_prior + masses * n_features)
        precisions = rng.standard_gamma(shape) / rate
        factors = np.sqrt(precisions)
        covariances = 1.0 / precisions
    means = centre + scale[:, None] * _correlated(ctype, factors, noise)
    return Params(ctype, weights, means, covariances, factors)


def _correlated(ctype, factors, noise):
    """Standard normal rows e_k made N(0, inv(U_k U_kᵀ)): U_k^-T e_k (diag and
    spherical: e_k / u_k)."""
    name = ctype.name
    if name == "full":
        return np.stack([
            noise[k] @ _triangular_inverse(factors[k], lower=0)
            for k in range(noise.shape[0])
        ])
    if name == "tied":
        return noise @ _triangular_inverse(factors, lower=0)
    if name == "diag":
        return noise / factors
    return noise / factors[:, None]

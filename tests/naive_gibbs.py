"""Plain NumPy twins of the Gibbs sampler's pieces: the counter-based uniforms,
the sampled assignments and their statistics, and the exact posterior of a
mixture small enough to enumerate every assignment."""

import itertools

import numpy as np
from scipy.special import gammaln, logsumexp
from scipy.stats import norm

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

"""Conjugate posterior draws of a Gaussian mixture's parameters given the
sufficient statistics of sampled assignments (the second half of a Gibbs sweep).

The model, per covariance type, with scikit-learn's prior names (``Priors``):

- weights: Dirichlet(alpha_0, ..., alpha_0) ('dirichlet_distribution'), or
  stick-breaking v_k ~ Beta(1, alpha_0), pi_k = v_k prod_{j<k} (1 - v_j),
  truncated at K sticks by v_K = 1 ('dirichlet_process');
- 'full': Lambda_k ~ Wishart(nu_0, W_0) with W_0^-1 = ``covariance_prior``, and
  mu_k | Lambda_k ~ N(m_0, (beta_0 Lambda_k)^-1) (Normal-Wishart);
- 'tied': one Lambda ~ Wishart(nu_0, W_0) shared, mu_k | Lambda as for 'full';
- 'diag': lambda_kd ~ Gamma(nu_0 / 2, rate c_d / 2) per feature with c =
  ``covariance_prior`` (D,), mu_kd | lambda_kd ~ N(m_0d, 1 / (beta_0 lambda_kd))
  (Normal-gamma, the inverse-gamma prior on each variance);
- 'spherical': lambda_k ~ Gamma(nu_0 / 2, rate c / 2), mu_k | lambda_k ~
  N(m_0, I / (beta_0 lambda_k));
- known covariances Sigma_k (``fixed``): mu_k ~ N(m_0, Sigma_k / beta_0), nothing
  else drawn.

The prior mean of every precision is that of scikit-learn's variational
posterior (nu_0 W_0, or nu_0 / c). Each draw integrates the means out of the
precision's conditional (a collapsed, exact block): given assignments with
masses n_k, means x̄_k and scatters S_k,

    beta_k = beta_0 + n_k,  m_k = (beta_0 m_0 + n_k x̄_k) / beta_k,
    precision | z ~ Wishart(nu_0 + n_k, (W_0^-1 + S_k + beta_0 n_k / beta_k
                    (x̄_k - m_0)(x̄_k - m_0)ᵀ)^-1),
    mu_k | precision, z ~ N(m_k, (beta_k Lambda_k)^-1),

('tied': nu_0 + N and the sums over k; 'spherical': shape (nu_0 + n_k D) / 2).
A component with no points has n_k = 0 and draws from its prior, so a chain
never returns NaN parameters. All of this is NumPy on K x D x D arrays.
"""

import numpy as np
from scipy.linalg import lapack

from ._params import Params
from ._stats import MASS_EPS, m_step


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
    """One draw of (weights, means, covariances) given sampled assignments.

    Parameters
    ----------
    rng : numpy.random.Generator
    stats : SufficientStats
        Statistics of the sampled assignments (one-hot responsibilities).
    priors : Priors
    fixed : Params or None
        Known covariances (and their precision factors): only the weights and
        means are drawn.

    Returns
    -------
    Params
    """
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

"""A plain, vectorised NumPy EM for Gaussian mixtures: the baseline of the benchmarks.

This is the textbook algorithm written the obvious way, so that the benchmarks can say
how much of fastgmm's speed comes from avoiding what a careful NumPy user would write:

- E-step: for full and tied covariances, the log-density of each component through a
  Cholesky solve of its covariance (an N x D temporary per component); for diag and
  spherical, the expanded square through three matrix products. Then log-sum-exp
  over an N x K array and the N x K responsibilities.
- M-step: weighted means by one matrix product; full covariances from the centred
  data of each component (two-pass), tied, diag and spherical ones through the
  expanded second moments; plus ``reg_covar`` on the diagonal.

The parametrisation follows scikit-learn's (``weights``, ``means``, ``precisions`` in
the shapes that ``precisions_init`` takes), so the three implementations in the
benchmarks start from the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import cho_factor, solve_triangular
from scipy.special import logsumexp

from . import COVARIANCE_TYPES


@dataclass
class NumpyMixture:
    """Parameters of a mixture in scikit-learn's shapes.

    ``covariances`` has shape (K, D, D) for "full", (D, D) for "tied", (K, D) for
    "diag" and (K,) for "spherical".
    """

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    covariance_type: str
    lower_bound: float = -np.inf
    n_iter: int = 0


def covariances_from_precisions(precisions, covariance_type):
    """Invert ``precisions``, shaped as scikit-learn's ``precisions_init``."""
    precisions = np.asarray(precisions, dtype=np.float64)
    if covariance_type == "full":
        return np.linalg.inv(precisions)
    if covariance_type == "tied":
        return np.linalg.inv(precisions)
    if covariance_type in ("diag", "spherical"):
        return 1.0 / precisions
    raise ValueError(f"covariance_type must be one of {COVARIANCE_TYPES}")


def log_gaussian_densities(X, means, covariances, covariance_type):
    """Return log N(x_n | mu_k, Sigma_k) as an (N, K) array.

    Full and tied: the Mahalanobis term is ||L^-1 (x - mu)||^2 with L the lower
    Cholesky factor of the covariance, one triangular solve per component, and the
    log-determinant is 2 sum(log diag L). Diag and spherical: see
    ``_log_densities_axis_aligned``.
    """
    if covariance_type in ("diag", "spherical"):
        return _log_densities_axis_aligned(X, means, covariances, covariance_type)
    if covariance_type not in ("full", "tied"):
        raise ValueError(f"covariance_type must be one of {COVARIANCE_TYPES}")
    n_samples, n_features = X.shape
    n_components = means.shape[0]
    log_prob = np.empty((n_samples, n_components))
    constant = n_features * np.log(2.0 * np.pi)
    if covariance_type == "tied":
        chol, _ = cho_factor(covariances, lower=True)
    for k in range(n_components):
        if covariance_type == "full":
            chol, _ = cho_factor(covariances[k], lower=True)
        log_det = 2.0 * np.log(np.diag(chol)).sum()
        z = solve_triangular(chol, (X - means[k]).T, lower=True, check_finite=False)
        mahalanobis = np.einsum("ij,ij->j", z, z)
        log_prob[:, k] = -0.5 * (constant + log_det + mahalanobis)
    return log_prob


def _log_densities_axis_aligned(X, means, covariances, covariance_type):
    # With a diagonal covariance the square expands into three terms, all matrix
    # products: sum_d (x_d - m_d)^2 / v_d = x^2 . 1/v - 2 x . m/v + m^2 . 1/v. This is
    # how a NumPy user writes it (a loop over components costs several passes over
    # X per component); it loses digits only when X sits far from the origin, which
    # the benchmarks' data does not.
    n_features = X.shape[1]
    if covariance_type == "spherical":
        covariances = np.repeat(covariances[:, np.newaxis], n_features, axis=1)
    inverse = 1.0 / covariances
    mahalanobis = (
        (X * X) @ inverse.T
        - 2.0 * X @ (means * inverse).T
        + (means * means * inverse).sum(axis=1)
    )
    log_det = np.log(covariances).sum(axis=1)
    return -0.5 * (n_features * np.log(2.0 * np.pi) + log_det + mahalanobis)


def weighted_log_densities(X, mixture):
    """Return log pi_k + log N(x_n | mu_k, Sigma_k) as an (N, K) array."""
    weighted = log_gaussian_densities(
        np.asarray(X, dtype=np.float64),
        mixture.means,
        mixture.covariances,
        mixture.covariance_type,
    )
    weighted += np.log(mixture.weights)
    return weighted


def e_step(X, mixture):
    """Return (mean log-likelihood, (N, K) responsibilities)."""
    weighted = weighted_log_densities(X, mixture)
    log_norm = logsumexp(weighted, axis=1)
    resp = np.exp(weighted - log_norm[:, np.newaxis])
    return log_norm.mean(), resp


def m_step(X, resp, covariance_type, reg_covar):
    """Return (weights, means, covariances) maximising the expected log-likelihood."""
    n_samples, n_features = X.shape
    # The same guard as scikit-learn's, so an empty component gives no division by 0.
    nk = resp.sum(axis=0) + 10 * np.finfo(resp.dtype).eps
    means = (resp.T @ X) / nk[:, np.newaxis]
    n_components = means.shape[0]

    if covariance_type == "full":
        covariances = np.empty((n_components, n_features, n_features))
        for k in range(n_components):
            diff = X - means[k]
            covariances[k] = (resp[:, k, np.newaxis] * diff).T @ diff / nk[k]
            covariances[k].flat[:: n_features + 1] += reg_covar
    elif covariance_type == "tied":
        # sum_k sum_n r_nk (x_n - mu_k)(x_n - mu_k)^T = X^T X - sum_k n_k mu_k mu_k^T
        # exactly, because the rows of resp sum to one and mu_k are the weighted means.
        covariances = X.T @ X - (nk[:, np.newaxis] * means).T @ means
        covariances /= nk.sum()
        covariances.flat[:: n_features + 1] += reg_covar
    elif covariance_type in ("diag", "spherical"):
        # The same expansion as the E-step: sum_n r_nk (x_n - mu_k)^2 / n_k
        # = (r^T x^2)_k / n_k - mu_k^2, exactly, because mu_k is the weighted mean.
        covariances = (resp.T @ (X * X)) / nk[:, np.newaxis] - means * means
        covariances += reg_covar
        if covariance_type == "spherical":
            covariances = covariances.mean(axis=1)
    else:
        raise ValueError(f"covariance_type must be one of {COVARIANCE_TYPES}")
    return nk / n_samples, means, covariances


def fit_em(
    X,
    weights_init,
    means_init,
    precisions_init,
    covariance_type="full",
    n_iter=10,
    reg_covar=1e-6,
):
    """Run exactly ``n_iter`` EM iterations from the given parameters.

    Each iteration is an E-step with the current parameters followed by an M-step, as in
    scikit-learn with ``tol=0``; ``lower_bound`` is the mean log-likelihood of the last
    E-step, which is what scikit-learn reports as ``lower_bound_``.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Converted to float64.
    weights_init, means_init, precisions_init : array-like
        As scikit-learn's ``GaussianMixture`` takes them.
    covariance_type : {"full", "tied", "diag", "spherical"}
    n_iter : int
    reg_covar : float

    Returns
    -------
    NumpyMixture
    """
    X = np.asarray(X, dtype=np.float64)
    mixture = NumpyMixture(
        weights=np.asarray(weights_init, dtype=np.float64),
        means=np.asarray(means_init, dtype=np.float64),
        covariances=covariances_from_precisions(precisions_init, covariance_type),
        covariance_type=covariance_type,
    )
    for _ in range(n_iter):
        mixture.lower_bound, resp = e_step(X, mixture)
        mixture.weights, mixture.means, mixture.covariances = m_step(
            X, resp, covariance_type, reg_covar
        )
        mixture.n_iter += 1
    return mixture


def score_samples(X, mixture):
    """Return the (N,) log-likelihood of each point, as ``score_samples`` does."""
    return logsumexp(weighted_log_densities(X, mixture), axis=1)


def predict(X, mixture):
    """Return the (N,) index of the most probable component of each point."""
    return weighted_log_densities(X, mixture).argmax(axis=1)

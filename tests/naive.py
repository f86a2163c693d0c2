"""Slow, obviously-right reference implementations of EM for a Gaussian mixture.

Everything here is written from the textbook formulas, in float64, one component
at a time, with SciPy doing the Gaussian log-densities. Nothing is fused, blocked,
shifted or clever: the point is to be easy to check by reading, so that the fast
code in ``fastgmm`` (and scikit-learn) can be tested against it.

Parameter conventions (the same as scikit-learn's ``GaussianMixture``), with
K components and D features:

============  ==================  ==================  ==========================
type          covariances         precisions          precisions_cholesky
============  ==================  ==================  ==========================
"full"        (K, D, D)           (K, D, D)           (K, D, D), upper-triangular
"tied"        (D, D)              (D, D)              (D, D), upper-triangular
"diag"        (K, D) variances    (K, D)              (K, D) = 1 / sqrt(var)
"spherical"   (K,) variances      (K,)                (K,) = 1 / sqrt(var)
============  ==================  ==================  ==========================

For "full" and "tied" the Cholesky factor of the precision is the
upper-triangular U with precision = U Uᵀ, i.e. U = L⁻ᵀ where covariance = L Lᵀ
is the ordinary (lower) Cholesky factorisation of the covariance.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import multivariate_normal

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")


# --------------------------------------------------------------------------
# Parameter conversions
# --------------------------------------------------------------------------


def full_covariances(covariances, covariance_type, n_components, n_features):
    """Expand covariances of any type to an array of K full D x D matrices.

    Parameters
    ----------
    covariances : ndarray
        Covariances in the layout of ``covariance_type`` (see module docstring).
    covariance_type : {"full", "tied", "diag", "spherical"}
    n_components, n_features : int

    Returns
    -------
    ndarray of shape (n_components, n_features, n_features), float64
    """
    covariances = np.asarray(covariances, dtype=np.float64)
    out = np.empty((n_components, n_features, n_features))
    for k in range(n_components):
        if covariance_type == "full":
            out[k] = covariances[k]
        elif covariance_type == "tied":
            out[k] = covariances
        elif covariance_type == "diag":
            out[k] = np.diag(covariances[k])
        elif covariance_type == "spherical":
            out[k] = covariances[k] * np.eye(n_features)
        else:
            raise ValueError(f"unknown covariance_type {covariance_type!r}")
    return out


def covariances_from_precisions(precisions, covariance_type):
    """Invert precisions (scikit-learn's ``precisions_init`` layout) to covariances.

    Parameters
    ----------
    precisions : ndarray
        (K, D, D) for "full", (D, D) for "tied", (K, D) for "diag", (K,) for
        "spherical".
    covariance_type : {"full", "tied", "diag", "spherical"}

    Returns
    -------
    ndarray, float64, same shape as ``precisions``.
    """
    precisions = np.asarray(precisions, dtype=np.float64)
    if covariance_type == "full":
        return np.array([np.linalg.inv(p) for p in precisions])
    if covariance_type == "tied":
        return np.linalg.inv(precisions)
    if covariance_type in ("diag", "spherical"):
        return 1.0 / precisions
    raise ValueError(f"unknown covariance_type {covariance_type!r}")


def precisions_from_covariances(covariances, covariance_type):
    """Invert covariances to precisions (the inverse of the function above)."""
    # Matrix inversion is its own inverse; the same code serves both ways.
    return covariances_from_precisions(covariances, covariance_type)


def precision_cholesky_from_covariances(covariances, covariance_type):
    """scikit-learn's ``precisions_cholesky_`` from covariances.

    For a covariance matrix S with ordinary Cholesky factor S = L Lᵀ (L lower),
    the factor stored is U = (L⁻¹)ᵀ, which is upper-triangular and satisfies
    U Uᵀ = L⁻ᵀ L⁻¹ = (L Lᵀ)⁻¹ = S⁻¹. For "diag" and "spherical" it is
    1 / sqrt(variance).

    Parameters
    ----------
    covariances : ndarray
        In the layout of ``covariance_type``.
    covariance_type : {"full", "tied", "diag", "spherical"}

    Returns
    -------
    ndarray, float64, same shape as ``covariances``.
    """
    covariances = np.asarray(covariances, dtype=np.float64)

    def upper_factor(cov):
        lower = np.linalg.cholesky(cov)
        # The inverse of a lower-triangular matrix is lower-triangular; np.triu
        # clears the rounding noise that a general inverse leaves above the
        # diagonal of the transpose's lower part.
        return np.triu(np.linalg.inv(lower).T)

    if covariance_type == "full":
        return np.array([upper_factor(c) for c in covariances])
    if covariance_type == "tied":
        return upper_factor(covariances)
    if covariance_type in ("diag", "spherical"):
        return 1.0 / np.sqrt(covariances)
    raise ValueError(f"unknown covariance_type {covariance_type!r}")


def covariances_from_precision_cholesky(precisions_cholesky, covariance_type):
    """Covariances from scikit-learn's ``precisions_cholesky_`` (U with P = U Uᵀ)."""
    prec_chol = np.asarray(precisions_cholesky, dtype=np.float64)
    if covariance_type == "full":
        return np.array([np.linalg.inv(u @ u.T) for u in prec_chol])
    if covariance_type == "tied":
        return np.linalg.inv(prec_chol @ prec_chol.T)
    if covariance_type in ("diag", "spherical"):
        return 1.0 / prec_chol**2
    raise ValueError(f"unknown covariance_type {covariance_type!r}")


# --------------------------------------------------------------------------
# E-step pieces
# --------------------------------------------------------------------------


def naive_log_gaussian(X, means, covariances, covariance_type):
    """log N(x_i | mu_k, Sigma_k) for every point and component.

    Parameters
    ----------
    X : ndarray of shape (N, D)
    means : ndarray of shape (K, D)
    covariances : ndarray in the layout of ``covariance_type``
    covariance_type : {"full", "tied", "diag", "spherical"}

    Returns
    -------
    ndarray of shape (N, K), float64
    """
    X = np.asarray(X, dtype=np.float64)
    means = np.asarray(means, dtype=np.float64)
    n_components, n_features = means.shape
    covs = full_covariances(covariances, covariance_type, n_components, n_features)
    out = np.empty((X.shape[0], n_components))
    for k in range(n_components):
        out[:, k] = multivariate_normal(mean=means[k], cov=covs[k]).logpdf(X)
    return out


def naive_logsumexp(a):
    """log(sum_k exp(a[:, k])) for each row, shifted by the row maximum.

    Parameters
    ----------
    a : ndarray of shape (N, K)

    Returns
    -------
    ndarray of shape (N,)
    """
    a = np.asarray(a, dtype=np.float64)
    row_max = a.max(axis=1)
    return row_max + np.log(np.exp(a - row_max[:, None]).sum(axis=1))


def naive_weighted_log_prob(X, weights, means, covariances, covariance_type):
    """log pi_k + log N(x_i | mu_k, Sigma_k), shape (N, K)."""
    log_weights = np.log(np.asarray(weights, dtype=np.float64))
    return log_weights[None, :] + naive_log_gaussian(
        X, means, covariances, covariance_type
    )


def naive_score_samples(X, weights, means, covariances, covariance_type):
    """Log-density of the mixture at each point: log sum_k pi_k N(x_i | mu_k, Sigma_k).

    Parameters
    ----------
    X : ndarray of shape (N, D)
    weights : ndarray of shape (K,)
    means : ndarray of shape (K, D)
    covariances : ndarray in the layout of ``covariance_type``
    covariance_type : {"full", "tied", "diag", "spherical"}

    Returns
    -------
    ndarray of shape (N,), float64
    """
    return naive_logsumexp(
        naive_weighted_log_prob(X, weights, means, covariances, covariance_type)
    )


def naive_predict_proba(X, weights, means, covariances, covariance_type):
    """Responsibilities r_ik = pi_k N(x_i | k) / sum_j pi_j N(x_i | j), shape (N, K)."""
    weighted = naive_weighted_log_prob(X, weights, means, covariances, covariance_type)
    return np.exp(weighted - naive_logsumexp(weighted)[:, None])


# --------------------------------------------------------------------------
# M-step
# --------------------------------------------------------------------------


def naive_m_step(X, resp, covariance_type, reg_covar):
    """Maximum-likelihood parameters given responsibilities.

    N_k = sum_i r_ik,  pi_k = N_k / N,  mu_k = sum_i r_ik x_i / N_k,
    Sigma_k = sum_i r_ik (x_i - mu_k)(x_i - mu_k)ᵀ / N_k + reg_covar I.

    "tied" pools the per-component scatter: Sigma = sum_k N_k Sigma_k / N (before
    adding reg_covar I). "diag" keeps the diagonal of Sigma_k. "spherical" is
    the mean of the diagonal variances of Sigma_k.

    Parameters
    ----------
    X : ndarray of shape (N, D)
    resp : ndarray of shape (N, K)
    covariance_type : {"full", "tied", "diag", "spherical"}
    reg_covar : float

    Returns
    -------
    weights : ndarray of shape (K,)
    means : ndarray of shape (K, D)
    covariances : ndarray in the layout of ``covariance_type``
    """
    X = np.asarray(X, dtype=np.float64)
    resp = np.asarray(resp, dtype=np.float64)
    n_samples, n_features = X.shape
    n_components = resp.shape[1]

    counts = resp.sum(axis=0)
    weights = counts / n_samples
    means = np.empty((n_components, n_features))
    scatter = np.empty((n_components, n_features, n_features))
    for k in range(n_components):
        r = resp[:, k]
        means[k] = (r[:, None] * X).sum(axis=0) / counts[k]
        centred = X - means[k]
        scatter[k] = (r[:, None] * centred).T @ centred / counts[k]

    identity = np.eye(n_features)
    if covariance_type == "full":
        covariances = scatter + reg_covar * identity
    elif covariance_type == "tied":
        pooled = (counts[:, None, None] * scatter).sum(axis=0) / counts.sum()
        covariances = pooled + reg_covar * identity
    elif covariance_type == "diag":
        covariances = np.array([np.diag(s) for s in scatter]) + reg_covar
    elif covariance_type == "spherical":
        covariances = np.array([np.diag(s).mean() for s in scatter]) + reg_covar
    else:
        raise ValueError(f"unknown covariance_type {covariance_type!r}")
    return weights, means, covariances


# --------------------------------------------------------------------------
# EM driver
# --------------------------------------------------------------------------


def naive_em(X, weights, means, precisions, covariance_type, reg_covar, n_iter):
    """Run ``n_iter`` EM iterations from given initial parameters.

    Each iteration is: E-step with the current parameters (responsibilities and
    the mean log-likelihood), then M-step. The recorded lower bound of an
    iteration is the mean log-likelihood of the data under the parameters
    *before* that iteration's M-step, which is scikit-learn's definition of
    ``lower_bound_`` / ``lower_bounds_``.

    Parameters
    ----------
    X : ndarray of shape (N, D)
    weights : ndarray of shape (K,)
        Initial mixing weights.
    means : ndarray of shape (K, D)
        Initial means.
    precisions : ndarray
        Initial precisions in scikit-learn's ``precisions_init`` layout.
    covariance_type : {"full", "tied", "diag", "spherical"}
    reg_covar : float
        Added to the diagonal of every covariance estimated in an M-step.
    n_iter : int
        Number of EM iterations.

    Returns
    -------
    dict with keys
        "lower_bounds" : list of n_iter floats;
        "weights", "means", "covariances" : the parameters after the last M-step;
        "precisions", "precisions_cholesky" : derived from those covariances.
    """
    X = np.asarray(X, dtype=np.float64)
    weights = np.asarray(weights, dtype=np.float64)
    means = np.asarray(means, dtype=np.float64)
    covariances = covariances_from_precisions(precisions, covariance_type)

    lower_bounds = []
    for _ in range(n_iter):
        weighted = naive_weighted_log_prob(
            X, weights, means, covariances, covariance_type
        )
        log_norm = naive_logsumexp(weighted)
        resp = np.exp(weighted - log_norm[:, None])
        lower_bounds.append(float(log_norm.mean()))
        weights, means, covariances = naive_m_step(X, resp, covariance_type, reg_covar)

    return {
        "lower_bounds": lower_bounds,
        "weights": weights,
        "means": means,
        "covariances": covariances,
        "precisions": precisions_from_covariances(covariances, covariance_type),
        "precisions_cholesky": precision_cholesky_from_covariances(
            covariances, covariance_type
        ),
    }

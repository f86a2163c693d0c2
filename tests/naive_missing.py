"""Slow, obviously-right reference of EM for a Gaussian mixture on data with
missing values (NaN), missing at random.

Textbook formulas, one point and one component at a time, float64, SciPy for the
densities:

* E-step: r_nk proportional to w_k N(x_o | mu_k,o, Sigma_k,oo) over the point's
  observed coordinates o (``scipy.stats.multivariate_normal``);
* M-step with the conditional expectations under component k,
  x̂_nk = x with x_m replaced by mu_m + Sigma_mo Sigma_oo^-1 (x_o - mu_o), and the
  conditional covariance C_nk = Sigma_mm - Sigma_mo Sigma_oo^-1 Sigma_om (zero
  outside the mm block):

      n_k = sum_n s_n r_nk,   mu_k = sum_n s_n r_nk x̂_nk / n_k,
      S_k = sum_n s_n r_nk [(x̂_nk - mu_k)(x̂_nk - mu_k)ᵀ + C_nk] / n_k

  (s_n the sample weights); full: S_k + reg, tied: sum_k n_k S_k / sum_k n_k + reg,
  diag: diag(S_k) + reg, spherical: the mean of diag(S_k) + reg.
"""

import numpy as np
from naive import full_covariances
from scipy.special import logsumexp
from scipy.stats import multivariate_normal


def observed_log_densities(X, weights, means, covariances):
    """(N, K): log w_k + log N(x_o | mu_k,o, Sigma_k,oo) with covariances (K, D, D)."""
    out = np.empty((X.shape[0], len(weights)))
    for n, x in enumerate(X):
        o = ~np.isnan(x)
        for k in range(len(weights)):
            out[n, k] = np.log(weights[k]) + multivariate_normal(
                means[k][o], covariances[k][np.ix_(o, o)]
            ).logpdf(x[o])
    return out


def conditional(x, mean, covariance):
    """(x̂, C): the point completed by its conditional mean and its conditional
    covariance (D, D), zero outside the missing block."""
    m = np.isnan(x)
    o = ~m
    completed = x.copy()
    cond = np.zeros((len(x), len(x)))
    if m.any():
        gain = covariance[np.ix_(m, o)] @ np.linalg.inv(covariance[np.ix_(o, o)])
        completed[m] = mean[m] + gain @ (x[o] - mean[o])
        cond[np.ix_(m, m)] = covariance[np.ix_(m, m)] - gain @ covariance[np.ix_(o, m)]
    return completed, cond


def em_step(X, weights, means, covariances, covariance_type, reg_covar=1e-6,
            sample_weight=None):
    """One EM iteration from (weights, means, covariances in their type's layout);
    returns (weights, means, covariances, mean log-likelihood before the step)."""
    n, d = X.shape
    k_count = len(weights)
    full = full_covariances(covariances, covariance_type, k_count, d)
    s = np.ones(n) if sample_weight is None else np.asarray(sample_weight, float)
    log = observed_log_densities(X, weights, means, full)
    norm = logsumexp(log, axis=1)
    resp = np.exp(log - norm[:, None])
    loglik = float((s * norm).sum() / s.sum())
    nk = (s[:, None] * resp).sum(axis=0)
    new_means = np.zeros((k_count, d))
    scatter = np.zeros((k_count, d, d))
    completed = np.empty((k_count, n, d))
    conds = np.empty((k_count, n, d, d))
    for k in range(k_count):
        for i in range(n):
            completed[k, i], conds[k, i] = conditional(X[i], means[k], full[k])
        new_means[k] = (s * resp[:, k]) @ completed[k] / nk[k]
        for i in range(n):
            dev = completed[k, i] - new_means[k]
            scatter[k] += s[i] * resp[i, k] * (np.outer(dev, dev) + conds[k, i])
        scatter[k] /= nk[k]
    if covariance_type == "full":
        new_cov = scatter + reg_covar * np.eye(d)
    elif covariance_type == "tied":
        new_cov = (nk[:, None, None] * scatter).sum(axis=0) / nk.sum()
        new_cov = new_cov + reg_covar * np.eye(d)
    elif covariance_type == "diag":
        new_cov = np.diagonal(scatter, axis1=1, axis2=2) + reg_covar
    else:
        new_cov = np.diagonal(scatter, axis1=1, axis2=2).mean(axis=1) + reg_covar
    return nk / nk.sum(), new_means, new_cov, loglik


def log_marginal(X, weights, means, covariances, covariance_type):
    """log p(x_o) of each row under the mixture (its observed coordinates)."""
    full = full_covariances(covariances, covariance_type, len(weights), X.shape[1])
    return logsumexp(observed_log_densities(X, weights, means, full), axis=1)


def impute(X, weights, means, covariances, covariance_type):
    """Each row with its missing entries replaced by sum_k r_k E[x_m | x_o, k]."""
    full = full_covariances(covariances, covariance_type, len(weights), X.shape[1])
    log = observed_log_densities(X, weights, means, full)
    resp = np.exp(log - logsumexp(log, axis=1)[:, None])
    out = np.zeros_like(X)
    for k in range(len(weights)):
        completed = np.array([conditional(x, means[k], full[k])[0] for x in X])
        out += resp[:, k : k + 1] * completed
    return out

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

Also the variational E-step and bound with the missing values latent, and the
NumPy twin of a Gibbs sweep's draws (``sampled_sums``).
"""

import numpy as np
from naive import full_covariances
from naive_gibbs import sampled_components, uniforms
from scipy.linalg import solve_triangular
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


# ---------------------------------------------------- variational Bayes ('full')


def variational_estep(X, post, prior_type):
    """Variational Bayes with the missing values latent (Bishop 10.46 with the
    missing coordinates integrated out). Returns log rho (N, K), the rows
    completed under each component (K, N, D) and the completions' covariances
    (K, N, D, D).

    q(x_m | z = k) is proportional to exp E[log N(x | mu_k, Lambda_k)], a
    Gaussian in x of precision P = nu_k W_k around m_k, so with o the observed
    and m the missing coordinates

        log rho_nk = E[log pi_k] + 1/2 E[log |Lambda_k|] - D/2 log 2 pi - D/(2 beta_k)
                     + log integral exp(-1/2 (x - m_k)ᵀ P (x - m_k)) dx_m,

    the integral being (2 pi)^(|m|/2) |P_mm|^(-1/2) exp(-1/2 eᵀ (P_oo - P_om
    P_mm⁻¹ P_mo) e), e = x_o - m_k,o; the completion is m_k,m - P_mm⁻¹ P_mo e
    and its covariance P_mm⁻¹.
    """
    from naive_variational import naive_expected_log_det, naive_expected_log_pi

    n, d = X.shape
    k_count = post["beta"].shape[0]
    e_log_pi = naive_expected_log_pi(post, prior_type)
    log_rho = np.empty((n, k_count))
    completed = np.empty((k_count, n, d))
    conds = np.zeros((k_count, n, d, d))
    for k in range(k_count):
        P = post["nu"][k] * post["W"][k]
        mean = post["m"][k]
        base = (e_log_pi[k] + 0.5 * naive_expected_log_det(post["W"][k], post["nu"][k])
                - 0.5 * d * np.log(2 * np.pi) - 0.5 * d / post["beta"][k])
        for i, x in enumerate(X):
            m = np.isnan(x)
            o = ~m
            e = x[o] - mean[o]
            completed[k, i] = x
            schur = P[np.ix_(o, o)]
            integral = 0.0
            if m.any():
                P_mm_inv = np.linalg.inv(P[np.ix_(m, m)])
                schur = schur - P[np.ix_(o, m)] @ P_mm_inv @ P[np.ix_(m, o)]
                integral = (0.5 * m.sum() * np.log(2 * np.pi)
                            - 0.5 * np.linalg.slogdet(P[np.ix_(m, m)])[1])
                completed[k, i, m] = mean[m] - P_mm_inv @ P[np.ix_(m, o)] @ e
                conds[k, i][np.ix_(m, m)] = P_mm_inv
            log_rho[i, k] = base + integral - 0.5 * e @ schur @ e
    return log_rho, completed, conds


def variational_elbo(X, resp, weights, post, completed, conds, prior_type,
                     **priors):
    """Bishop's bound (10.70) with the missing values latent: the expected
    complete-data log-likelihood under q(x_m | z) (the completed rows, plus
    nu_k tr(W_k C) for their covariance C), the entropy of q(x_m | z),
    1/2 log det(2 pi e C) per row and component, and the terms without the
    data, those of ``naive_elbo`` with zero responsibilities."""
    from naive_variational import (
        naive_elbo,
        naive_expected_log_det,
        naive_expected_log_pi,
    )

    n, d = X.shape
    w = np.ones(n) if weights is None else np.asarray(weights, float)
    e_log_pi = naive_expected_log_pi(post, prior_type)
    total = naive_elbo(X, np.zeros_like(resp), weights, post, prior_type, **priors)
    for k in range(resp.shape[1]):
        Wk, nuk = post["W"][k], post["nu"][k]
        e_log_det = naive_expected_log_det(Wk, nuk)
        for i in range(n):
            r = w[i] * resp[i, k]
            if r == 0:
                continue
            dev = completed[k, i] - post["m"][k]
            quad = d / post["beta"][k] + nuk * (dev @ Wk @ dev
                                                + np.trace(Wk @ conds[k, i]))
            total += r * (e_log_pi[k] + 0.5 * e_log_det - 0.5 * d * np.log(2 * np.pi)
                          - 0.5 * quad - np.log(resp[i, k]))
            m = np.isnan(X[i])
            if m.any():
                C = conds[k, i][np.ix_(m, m)]
                total += r * 0.5 * np.linalg.slogdet(2 * np.pi * np.e * C)[1]
    return total


# ------------------------------------------------------------- Gibbs sweeps


NOISE = np.uint64(0x8CB92BA72F3D8DD7)


def normals(key, rows, index):
    """Twin of ``_kernels.random.normal``: the standard normals of ``rows`` (int
    array) for one sweep key and counter index, by Box and Muller's transform."""
    noise_key = np.uint64(key) ^ NOISE
    u = uniforms(noise_key, rows, 2 * index + 1)
    v = uniforms(noise_key, rows, 2 * index + 2)
    return np.sqrt(-2.0 * np.log(1.0 - u)) * np.cos(2.0 * np.pi * v)


def sampled_sums(X, weights, means, covariances, covariance_type, key,
                 sample_weight=None, first_row=0):
    """One Gibbs sweep on X with NaN, as raw sums per component: mass (K,),
    sum w x (K, D) and sum w x xᵀ (K, D, D) of the completed rows.

    Row n (global index first_row + n) of weight s draws floor(s) copies of
    weight 1 and, when s has a fractional part, one more of that weight; copy c
    takes its component by inverse CDF over the responsibilities of the
    observed coordinates from the uniform (key, row, c), then its missing values
    x̂_m + R⁻ᵀ e with x̂_m the conditional mean (``conditional``), R the Cholesky
    factor of the missing block of the component's precision, and e_a the
    normal (key, row, c D + a) of missing feature a."""
    n, d = X.shape
    k_count = len(weights)
    full = full_covariances(covariances, covariance_type, k_count, d)
    log = observed_log_densities(X, weights, means, full)
    resp = np.exp(log - log.max(axis=1, keepdims=True))
    rows = np.arange(n) + first_row
    s = np.ones(n) if sample_weight is None else np.asarray(sample_weight, float)
    whole = np.floor(s)
    fraction = s - whole
    n_draws = (whole + (fraction > 0)).astype(int)
    mass, first, second = np.zeros(k_count), np.zeros((k_count, d)), \
        np.zeros((k_count, d, d))
    for copy in range(n_draws.max()):
        z = sampled_components(resp, uniforms(key, rows, copy))
        for i in np.flatnonzero(n_draws > copy):
            k = z[i]
            x, _ = conditional(X[i], means[k], full[k])
            m = np.isnan(X[i])
            if m.any():
                e = np.array([normals(key, rows[i:i + 1], copy * d + a)[0]
                              for a in np.flatnonzero(m)])
                factor = np.linalg.cholesky(np.linalg.inv(full[k])[np.ix_(m, m)])
                x[m] += solve_triangular(factor, e, lower=True, trans="T")
            w = 1.0 if copy < whole[i] else fraction[i]
            mass[k] += w
            first[k] += w * x
            second[k] += w * np.outer(x, x)
    return mass, first, second

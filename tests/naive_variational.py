"""Slow, obviously-right reference of variational Bayes for a Gaussian mixture.

Written from Bishop, Pattern Recognition and Machine Learning, §10.2 (full
covariances, Dirichlet prior on the weights: equations 10.46-10.77 and B.79-B.82),
with the stick-breaking expectations of Blei and Jordan (2006) for the Dirichlet
process. One component at a time, in float64, with sample weights w_n meaning
repeated rows (every sum over points is weighted). Nothing is taken from
scikit-learn's code; its conventions appear only where results are translated
into its attributes (``as_sklearn_attributes``).

Notation: prior alpha_0 (weights), beta_0 and m_0 (means), W_0 and nu_0
(precisions); posterior alpha_k (or the Beta pair gamma_k1, gamma_k2 of stick k),
beta_k, m_k, W_k, nu_k. scikit-learn's ``covariance_prior`` is W_0⁻¹.

Truncation of the process: as in scikit-learn, all K sticks are Beta variables
(prior Beta(1, alpha_0) each, the last one included) and pi_k = v_k
prod_{j<k} (1 - v_j); the weights then sum to less than one, and the bound below
is the bound of that model.
"""

from __future__ import annotations

import numpy as np
from scipy.special import digamma, gammaln, multigammaln


def naive_update(X, resp, weights, prior_type, alpha0, beta0, m0,
                 covariance_prior, nu0, reg_covar=0.0, conditional=None):
    """The variational update of q(pi) (or q(v)) and q(mu, Lambda), Bishop
    10.51-10.63, from responsibilities ``resp`` (N, K).

    ``reg_covar`` is added to each S_k's diagonal (scikit-learn's regularisation;
    not part of Bishop's model, so 0 for the bound). With missing values, X is
    (K, N, D), the rows completed under each component, and ``conditional``
    (K, N, D, D) the covariances of the completions, added to the scatter (the
    expected statistics under q(x_m | z)). Returns a dict.
    """
    X = np.asarray(X, dtype=np.float64)
    n_samples, n_features = X.shape[-2:]
    n_components = resp.shape[1]
    rows = X if X.ndim == 3 else np.broadcast_to(X, (n_components, *X.shape))
    w = np.ones(n_samples) if weights is None else np.asarray(weights, float)
    W0_inv = np.asarray(covariance_prior, dtype=np.float64)

    N = np.zeros(n_components)
    xbar = np.zeros((n_components, n_features))
    S = np.zeros((n_components, n_features, n_features))
    for k in range(n_components):
        for n in range(n_samples):
            N[k] += w[n] * resp[n, k]  # 10.51
        for n in range(n_samples):
            xbar[k] += w[n] * resp[n, k] * rows[k, n]
        xbar[k] /= N[k]  # 10.52
        for n in range(n_samples):
            d = rows[k, n] - xbar[k]
            S[k] += w[n] * resp[n, k] * np.outer(d, d)
            if conditional is not None:
                S[k] += w[n] * resp[n, k] * conditional[k, n]
        S[k] /= N[k]  # 10.53
        S[k] += reg_covar * np.eye(n_features)

    if prior_type == "dirichlet_distribution":
        concentration = alpha0 + N  # 10.58
    else:
        gamma1 = np.empty(n_components)
        gamma2 = np.empty(n_components)
        for k in range(n_components):
            gamma1[k] = 1.0 + N[k]
            gamma2[k] = alpha0 + sum(N[j] for j in range(k + 1, n_components))
        concentration = (gamma1, gamma2)

    beta = np.empty(n_components)
    m = np.empty((n_components, n_features))
    W = np.empty((n_components, n_features, n_features))
    nu = np.empty(n_components)
    for k in range(n_components):
        beta[k] = beta0 + N[k]  # 10.60
        m[k] = (beta0 * m0 + N[k] * xbar[k]) / beta[k]  # 10.61
        d = xbar[k] - m0
        W_inv = W0_inv + N[k] * S[k] + beta0 * N[k] / (beta0 + N[k]) * np.outer(d, d)
        W[k] = np.linalg.inv(W_inv)  # 10.62
        nu[k] = nu0 + N[k]  # 10.63 (without the misprinted + 1)
    return dict(N=N, xbar=xbar, S=S, concentration=concentration, beta=beta, m=m,
                W=W, nu=nu)


def naive_expected_log_pi(post, prior_type):
    """E[log pi_k]: psi(alpha_k) - psi(sum alpha) (10.66), or for the process
    E[log v_k] + sum_{j<k} E[log(1 - v_j)] with v_j ~ Beta(gamma_j1, gamma_j2)."""
    if prior_type == "dirichlet_distribution":
        alpha = post["concentration"]
        return digamma(alpha) - digamma(alpha.sum())
    gamma1, gamma2 = post["concentration"]
    out = np.empty(gamma1.shape[0])
    for k in range(gamma1.shape[0]):
        out[k] = digamma(gamma1[k]) - digamma(gamma1[k] + gamma2[k])
        for j in range(k):
            out[k] += digamma(gamma2[j]) - digamma(gamma1[j] + gamma2[j])
    return out


def naive_expected_log_det(W, nu):
    """E[log |Lambda|] under Wishart(W, nu): sum_i psi((nu + 1 - i)/2)
    + D log 2 + log |W| (10.65)."""
    n_features = W.shape[0]
    total = n_features * np.log(2.0) + np.linalg.slogdet(W)[1]
    for i in range(1, n_features + 1):
        total += digamma((nu + 1 - i) / 2.0)
    return total


def naive_log_rho(X, post, prior_type):
    """log rho_nk (10.46): E[log pi_k] + 1/2 E[log |Lambda_k|] - D/2 log 2 pi
    - 1/2 E[(x_n - mu_k)ᵀ Lambda_k (x_n - mu_k)], with the last expectation
    D / beta_k + nu_k (x_n - m_k)ᵀ W_k (x_n - m_k) (10.64)."""
    n_samples, n_features = X.shape
    n_components = post["beta"].shape[0]
    e_log_pi = naive_expected_log_pi(post, prior_type)
    out = np.empty((n_samples, n_components))
    for k in range(n_components):
        e_log_det = naive_expected_log_det(post["W"][k], post["nu"][k])
        for n in range(n_samples):
            d = X[n] - post["m"][k]
            quad = n_features / post["beta"][k] + post["nu"][k] * d @ post["W"][k] @ d
            out[n, k] = (e_log_pi[k] + 0.5 * e_log_det
                         - 0.5 * n_features * np.log(2 * np.pi) - 0.5 * quad)
    return out


def log_wishart_normaliser(W, nu):
    """log B(W, nu) (B.79): -nu/2 log |W| - nu D/2 log 2 - log Gamma_D(nu/2)."""
    n_features = W.shape[0]
    return (-0.5 * nu * np.linalg.slogdet(W)[1] - 0.5 * nu * n_features * np.log(2.0)
            - multigammaln(0.5 * nu, n_features))


def log_dirichlet_normaliser(alpha):
    """log C(alpha) (B.23)."""
    return gammaln(np.sum(alpha)) - np.sum(gammaln(alpha))


def _expected_log_beta_density(a, b, e_log_v, e_log_1mv):
    """E[log Beta(v | a, b)] given E[log v] and E[log(1 - v)]."""
    return (gammaln(a + b) - gammaln(a) - gammaln(b) + (a - 1) * e_log_v
            + (b - 1) * e_log_1mv)


def naive_elbo(X, resp, weights, post, prior_type, alpha0, beta0, m0,
               covariance_prior, nu0):
    """Bishop's evidence lower bound (10.70) of responsibilities ``resp`` and the
    posterior ``post``, every term kept:

    E[log p(X|Z,mu,Lambda)] + E[log p(Z|pi)] + E[log p(pi)] + E[log p(mu,Lambda)]
    - E[log q(Z)] - E[log q(pi)] - E[log q(mu,Lambda)].
    """
    n_samples, n_features = X.shape
    w = np.ones(n_samples) if weights is None else np.asarray(weights, float)
    n_components = resp.shape[1]
    W0 = np.linalg.inv(covariance_prior)
    e_log_pi = naive_expected_log_pi(post, prior_type)
    log_rho = naive_log_rho(X, post, prior_type)

    data_and_z = 0.0  # 10.71 + 10.72, point by point
    entropy_z = 0.0  # 10.75
    for n in range(n_samples):
        for k in range(n_components):
            if resp[n, k] > 0:
                data_and_z += w[n] * resp[n, k] * log_rho[n, k]
                entropy_z += w[n] * resp[n, k] * np.log(resp[n, k])

    if prior_type == "dirichlet_distribution":
        alpha = post["concentration"]
        log_p_pi = (log_dirichlet_normaliser(np.full(n_components, alpha0))
                    + (alpha0 - 1) * e_log_pi.sum())  # 10.73
        log_q_pi = np.sum((alpha - 1) * e_log_pi) + log_dirichlet_normaliser(alpha)
    else:
        gamma1, gamma2 = post["concentration"]
        log_p_pi = log_q_pi = 0.0
        for k in range(n_components):
            e_log_v = digamma(gamma1[k]) - digamma(gamma1[k] + gamma2[k])
            e_log_1mv = digamma(gamma2[k]) - digamma(gamma1[k] + gamma2[k])
            log_p_pi += _expected_log_beta_density(1.0, alpha0, e_log_v, e_log_1mv)
            log_q_pi += _expected_log_beta_density(gamma1[k], gamma2[k], e_log_v,
                                                   e_log_1mv)

    log_p_mu_lambda = log_q_mu_lambda = 0.0
    for k in range(n_components):
        Wk, nuk, betak, mk = post["W"][k], post["nu"][k], post["beta"][k], post["m"][k]
        e_log_det = naive_expected_log_det(Wk, nuk)
        d = mk - m0
        # E[log N(mu_k | m_0, (beta_0 Lambda_k)^-1)]
        #   + E[log Wishart(Lambda_k | W_0, nu_0)]
        log_p_mu_lambda += (
            0.5 * n_features * np.log(beta0 / (2 * np.pi)) + 0.5 * e_log_det
            - 0.5 * beta0 * (n_features / betak + nuk * d @ Wk @ d)
            + log_wishart_normaliser(W0, nu0)
            + 0.5 * (nu0 - n_features - 1) * e_log_det
            - 0.5 * nuk * np.trace(np.linalg.inv(W0) @ Wk)
        )  # 10.74
        # E[log N(mu_k | m_k, (beta_k Lambda_k)^-1)] - H[Wishart(W_k, nu_k)]
        log_q_mu_lambda += (
            0.5 * e_log_det + 0.5 * n_features * np.log(betak / (2 * np.pi))
            - 0.5 * n_features
            + log_wishart_normaliser(Wk, nuk)
            + 0.5 * (nuk - n_features - 1) * e_log_det - 0.5 * nuk * n_features
        )  # 10.77 with B.82
    return (data_and_z + log_p_pi + log_p_mu_lambda
            - entropy_z - log_q_pi - log_q_mu_lambda)


def naive_dropped_constant(prior_type, n_components, total_weight, alpha0, beta0,
                           covariance_prior, nu0):
    """naive_elbo minus scikit-learn's lower bound at the update of the same
    responsibilities (reg_covar = 0): the terms that depend on the priors and the
    total weight only."""
    n_features = covariance_prior.shape[0]
    W0 = np.linalg.inv(covariance_prior)
    if prior_type == "dirichlet_distribution":
        weights_term = gammaln(n_components * alpha0) - n_components * gammaln(alpha0)
    else:
        weights_term = n_components * np.log(alpha0)  # -K log B(1, alpha_0)
    return (
        weights_term
        + n_components * log_wishart_normaliser(W0, nu0)
        + n_components * n_features * (n_features - 1) / 4.0 * np.log(np.pi)
        + 0.5 * n_components * n_features * np.log(beta0)
        - 0.5 * total_weight * n_features * np.log(2 * np.pi)
    )


def as_sklearn_attributes(post):
    """The posterior in scikit-learn's attributes: covariances_ = W_k⁻¹ / nu_k."""
    covariances = np.stack([np.linalg.inv(Wk) / nuk
                            for Wk, nuk in zip(post["W"], post["nu"], strict=True)])
    return dict(weight_concentration=post["concentration"],
                mean_precision=post["beta"], means=post["m"],
                degrees_of_freedom=post["nu"], covariances=covariances)

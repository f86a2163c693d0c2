"""Variational Bayes for Gaussian mixtures: priors, the conjugate update and the bound.

The variational posterior of scikit-learn's ``BayesianGaussianMixture`` is a
Dirichlet (or truncated stick-breaking Beta) factor on the weights and one
Gaussian-Wishart factor per component. Its update needs the data only through the
same sufficient statistics as EM (``_stats.SufficientStats``): the masses n_k,
the means x̄_k and the scatters S_k that ``_stats.m_step`` already computes exactly
as scikit-learn's ``_estimate_gaussian_parameters`` does. Everything here works
on those small arrays (K x D x D at most), in float64, and reproduces
scikit-learn's numbers (``sklearn/mixture/_bayesian_mixture.py``), including its
conventions:

- ``covariances_`` is the Wishart scale inverse divided by the degrees of freedom,
  W_k⁻¹ / ν_k, so that ``precisions_cholesky_`` U_k has U_k U_kᵀ = ν_k W_k = E[Λ_k];
- the expected log-density of a point is a Gaussian log-density under that
  precision plus a per-component constant (``log_prob_offsets``), which is what
  lets the one-pass kernels run the variational E-step unchanged;
- the lower bound drops every term that is constant during a fit
  (``lower_bound`` documents them).
"""

from dataclasses import dataclass
from numbers import Real

import numpy as np
from scipy.special import betaln, digamma, gammaln

from ._covariance import NAMES
from ._covariance import covariance_type as as_covariance_type
from ._params import Params, kernel_params
from ._stats import MASS_EPS, m_step
from ._validation import _check_shape, _checked_array

PRIOR_TYPES = ("dirichlet_process", "dirichlet_distribution")
COVARIANCE_TYPES = NAMES

# scikit-learn's message when a precision factor cannot be computed.
ILL_DEFINED_COVARIANCE = (
    "Fitting the mixture model failed because some components have "
    "ill-defined empirical covariance (for instance caused by singleton "
    "or collapsed samples). Try to decrease the number of components, "
    "increase reg_covar, or scale the input data."
)


@dataclass
class Priors:
    """Resolved prior parameters, named as scikit-learn's fitted ``*_prior_``.

    Attributes
    ----------
    weight_concentration_prior_type : {'dirichlet_process', 'dirichlet_distribution'}
    weight_concentration_prior : float
        The Dirichlet concentration alpha_0 (process: the Beta(1, alpha_0) of
        every stick).
    mean_precision_prior : float
        beta_0, the precision scale of the Gaussian prior on the means.
    mean_prior : ndarray of shape (n_features,)
        m_0, the prior mean of the means.
    degrees_of_freedom_prior : float
        nu_0, the Wishart degrees of freedom.
    covariance_prior : ndarray or float
        W_0⁻¹, the inverse of the Wishart scale: (D, D) for 'full' and 'tied',
        (D,) for 'diag', a float for 'spherical'.
    """

    weight_concentration_prior_type: str
    weight_concentration_prior: float
    mean_precision_prior: float
    mean_prior: np.ndarray
    degrees_of_freedom_prior: float
    covariance_prior: np.ndarray | float


def _positive(value, name):
    """Check that ``value`` is a number in (0, inf), with scikit-learn's
    parameter-validation message otherwise (NaN included)."""
    if isinstance(value, bool) or not isinstance(value, Real) or not value > 0:
        raise ValueError(
            f"The '{name}' parameter of BayesianGaussianMixture must be None or a "
            f"float in the range (0.0, inf). Got {value!r} instead."
        )


def _prior_array(value, name, shape, label):
    """A float64 copy of a user array prior, finite and of ``shape``; the shape
    message is scikit-learn's, with ``label`` as the name it uses."""
    array = _checked_array(value, name)
    _check_shape(array, shape, label, name)
    return array.astype(np.float64)


def data_moments(stats):
    """The data's weighted mean, covariance and total weight from one-component
    'full' statistics (a pass of a single Gaussian over all the data).

    Parameters
    ----------
    stats : SufficientStats
        'full' statistics with one component, every point's responsibility 1.

    Returns
    -------
    mean : ndarray of shape (n_features,)
        sum_n w_n x_n / W.
    covariance : ndarray of shape (n_features, n_features)
        sum_n w_n (x_n - mean)(x_n - mean)ᵀ / W, the *biased* (ddof=0) estimate
        that ``resolve_priors`` expects.
    total_weight : float
        W = sum_n w_n (the number of points when unweighted).
    """
    if stats.covariance_type.name != "full" or stats.s0.shape[0] != 1:
        raise ValueError("data_moments needs one-component 'full' statistics")
    mass = stats.s0[0]
    s1 = stats.s1[0]
    delta = s1 / mass
    scatter = stats.s2[0] - np.outer(s1, delta)
    scatter = 0.5 * (scatter + scatter.T)
    return stats.centers[0] + delta, scatter / stats.weight, float(stats.weight)


def resolve_priors(
    covariance_type: str,
    n_components: int,
    data_mean: np.ndarray,
    data_covariance: np.ndarray,
    total_weight: float,
    weight_concentration_prior_type: str = "dirichlet_process",
    weight_concentration_prior: float | None = None,
    mean_precision_prior: float | None = None,
    mean_prior=None,
    degrees_of_freedom_prior: float | None = None,
    covariance_prior=None,
) -> Priors:
    """scikit-learn's prior defaults and validation (``_check_parameters``).

    Parameters
    ----------
    covariance_type : {'full', 'tied', 'diag', 'spherical'}
    n_components : int
    data_mean : ndarray of shape (n_features,)
        The data's (weighted) mean; the default ``mean_prior``.
    data_covariance : ndarray of shape (n_features, n_features)
        The data's (weighted) biased covariance, sum_n w_n (x_n - mean)(x_n -
        mean)ᵀ / W with W the total weight (``data_moments`` gives it).
    total_weight : float
        W, the sum of the sample weights (the number of points when unweighted).
    weight_concentration_prior_type, weight_concentration_prior,
    mean_precision_prior, mean_prior, degrees_of_freedom_prior, covariance_prior
        As ``BayesianGaussianMixture``'s constructor parameters; None selects
        scikit-learn's default: 1 / n_components, 1, ``data_mean``, n_features,
        and the data's covariance.

    Returns
    -------
    Priors

    Raises
    ------
    ValueError
        Naming the parameter, with scikit-learn's message where it has one.

    Notes
    -----
    The default ``covariance_prior`` is the unbiased covariance, np.cov's
    convention: the scatter divided by W - 1 (the number of points minus one
    when unweighted, so that integer weights give the answer of the repeated
    rows). Its diagonal (np.var with ddof=1) is the 'diag' prior and the mean of
    that diagonal the 'spherical' one. W must exceed 1 for this default; with
    weights that sum to 1 or less pass ``covariance_prior`` explicitly.
    """
    if covariance_type not in COVARIANCE_TYPES:
        raise ValueError(f"unknown covariance_type {covariance_type!r}")
    if weight_concentration_prior_type not in PRIOR_TYPES:
        raise ValueError(
            "The 'weight_concentration_prior_type' parameter of "
            "BayesianGaussianMixture must be a str among "
            "{'dirichlet_process', 'dirichlet_distribution'}. "
            f"Got {weight_concentration_prior_type!r} instead."
        )
    data_mean = np.asarray(data_mean, dtype=np.float64)
    n_features = data_mean.shape[0]

    if weight_concentration_prior is None:
        weight_concentration_prior = 1.0 / n_components
    else:
        _positive(weight_concentration_prior, "weight_concentration_prior")

    if mean_precision_prior is None:
        mean_precision_prior = 1.0
    else:
        _positive(mean_precision_prior, "mean_precision_prior")

    if mean_prior is None:
        mean_prior = data_mean.copy()
    else:
        mean_prior = _prior_array(mean_prior, "mean_prior", (n_features,), "means")

    if degrees_of_freedom_prior is None:
        degrees_of_freedom_prior = n_features
    else:
        _positive(degrees_of_freedom_prior, "degrees_of_freedom_prior")
        if not degrees_of_freedom_prior > n_features - 1.0:
            raise ValueError(
                "The parameter 'degrees_of_freedom_prior' should be greater than "
                f"{n_features - 1}, but got {degrees_of_freedom_prior:.3f}."
            )

    if covariance_prior is None:
        covariance_prior = _default_covariance_prior(
            covariance_type, data_covariance, total_weight
        )
    else:
        covariance_prior = _check_covariance_prior(
            covariance_prior, covariance_type, n_features
        )

    return Priors(
        weight_concentration_prior_type, weight_concentration_prior,
        mean_precision_prior, mean_prior, degrees_of_freedom_prior, covariance_prior,
    )


def _default_covariance_prior(covariance_type, data_covariance, total_weight):
    if not total_weight > 1.0:
        raise ValueError(
            "The default 'covariance_prior' (the data's covariance, with the total "
            f"sample weight minus one as denominator) needs a total sample weight "
            f"above 1, but got {total_weight!r}. Pass covariance_prior explicitly "
            "or scale the sample weights."
        )
    covariance = np.atleast_2d(np.asarray(data_covariance, dtype=np.float64))
    covariance = covariance * (total_weight / (total_weight - 1.0))
    if covariance_type in ("full", "tied"):
        return covariance
    variances = np.diagonal(covariance).copy()
    if covariance_type == "diag":
        return variances
    return float(variances.mean())


def _check_covariance_prior(covariance_prior, covariance_type, n_features):
    label = f"{covariance_type} covariance_prior"
    if covariance_type == "spherical":
        if np.ndim(covariance_prior) != 0:
            raise ValueError(
                f"The parameter '{label}' should have the shape of (), but got "
                f"{np.shape(covariance_prior)}"
            )
        value = float(np.asarray(covariance_prior))
        if not value > 0:
            raise ValueError(
                "The 'covariance_prior' parameter of BayesianGaussianMixture must be "
                "None, an array-like or a float in the range (0.0, inf). "
                f"Got {covariance_prior!r} instead."
            )
        return value
    if covariance_type == "diag":
        prior = _prior_array(covariance_prior, "covariance_prior", (n_features,), label)
        if np.any(prior <= 0.0):
            raise ValueError(
                "The parameter 'covariance_prior' is invalid: "
                "'diag precision' should be positive"
            )
        return prior
    prior = _prior_array(
        covariance_prior, "covariance_prior", (n_features, n_features), label
    )
    if not (
        np.allclose(prior, prior.T, rtol=1e-5, atol=1e-8)
        and np.all(np.linalg.eigvalsh(prior) > 0.0)
    ):
        raise ValueError(
            "The parameter 'covariance_prior' is invalid: "
            f"'{covariance_type} precision' should be symmetric, positive-definite"
        )
    return prior


@dataclass
class VariationalParams:
    """The variational posterior, in scikit-learn's fitted attributes.

    Attributes
    ----------
    weight_concentration : tuple of two ndarrays of shape (K,) or ndarray (K,)
        ``weight_concentration_``: the Beta parameters (gamma_k1, gamma_k2) of the
        sticks for the Dirichlet process, the Dirichlet alpha_k otherwise.
    mean_precision : ndarray of shape (K,)
        beta_k.
    means : ndarray of shape (K, D)
        m_k.
    degrees_of_freedom : ndarray of shape (K,), or a float for 'tied'
        nu_k.
    covariances : ndarray
        W_k⁻¹ / nu_k, shaped as ``covariances_``.
    precisions_cholesky : ndarray
        U_k with U_k U_kᵀ = nu_k W_k (diag, spherical: its square root), shaped
        as ``precisions_cholesky_``.
    """

    weight_concentration: tuple | np.ndarray
    mean_precision: np.ndarray
    means: np.ndarray
    degrees_of_freedom: np.ndarray | float
    covariances: np.ndarray
    precisions_cholesky: np.ndarray

    def astuple(self):
        """The six arrays in the order of scikit-learn's ``_get_parameters``."""
        return (
            self.weight_concentration, self.mean_precision, self.means,
            self.degrees_of_freedom, self.covariances, self.precisions_cholesky,
        )

    def weights(self):
        """``weights_``: the posterior mean weights as scikit-learn computes them
        (process: E[v_k] prod_{j<k} (1 - E[v_j]), renormalised over the
        truncation)."""
        if isinstance(self.weight_concentration, tuple):
            a, b = self.weight_concentration
            total = a + b
            weights = a / total * np.hstack((1, np.cumprod(b / total)[:-1]))
            return weights / np.sum(weights)
        return self.weight_concentration / np.sum(self.weight_concentration)

    def precisions(self, covariance_type):
        """``precisions_`` = U Uᵀ (diag, spherical: U²)."""
        return as_covariance_type(covariance_type).precisions_from_cholesky(
            self.precisions_cholesky
        )

    def gaussian_params(self, covariance_type, weights=None):
        """``Params`` of the Gaussians whose log-densities, plus
        ``expected_log_weights``, are the E-step's: means m_k and precisions
        nu_k W_k (``weights`` default to ``weights()``)."""
        return Params(
            as_covariance_type(covariance_type),
            self.weights() if weights is None else weights, self.means,
            self.covariances, self.precisions_cholesky,
        )


def conjugate_update(stats, priors: Priors, covariance_type: str,
                     reg_covar: float) -> VariationalParams:
    """scikit-learn's ``_m_step`` (and ``_initialize``) from statistics.

    Parameters
    ----------
    stats : SufficientStats
        Statistics of the responsibilities: the pass's E-step in a fit, or the
        initial responsibilities (k-means labels, random, seeded) at the start.
    priors : Priors
    covariance_type : {'full', 'tied', 'diag', 'spherical'}
        That of ``stats``.
    reg_covar : float
        Added to the diagonal of the data scatter S_k, as scikit-learn does.

    Returns
    -------
    VariationalParams

    Raises
    ------
    ValueError
        scikit-learn's "ill-defined empirical covariance" message when a
        covariance is not positive definite (only possible with non-finite or
        enormous data: the prior keeps it positive definite otherwise).
    """
    if stats.covariance_type.name != covariance_type:
        raise ValueError(
            f"statistics of a {stats.covariance_type.name!r} model given for a "
            f"{covariance_type!r} update"
        )
    # nk (with scikit-learn's 10 eps), the means x̄_k and the regularised
    # covariances S_k + reg_covar I of _estimate_gaussian_parameters
    nk = stats.s0 + MASS_EPS
    estimate = m_step(stats, reg_covar)
    xk, sk = estimate.means, estimate.covariances
    n_components = nk.shape[0]

    if priors.weight_concentration_prior_type == "dirichlet_process":
        # the mass of the components after each k: sum_{j > k} n_j
        mass_after = np.hstack((np.cumsum(nk[::-1])[-2::-1], 0))
        weight_concentration = (
            1.0 + nk, priors.weight_concentration_prior + mass_after
        )
    else:
        weight_concentration = priors.weight_concentration_prior + nk

    beta0 = priors.mean_precision_prior
    mean_precision = beta0 + nk
    means = (beta0 * priors.mean_prior + nk[:, None] * xk) / mean_precision[:, None]

    diff = xk - priors.mean_prior
    # beta_0 / beta_k: with n_k, the weight of the prior-to-data offset in the scatter
    shrink = beta0 / mean_precision
    if covariance_type == "full":
        degrees_of_freedom = priors.degrees_of_freedom_prior + nk
        covariances = (
            priors.covariance_prior
            + nk[:, None, None] * sk
            + (nk * shrink)[:, None, None] * diff[:, :, None] * diff[:, None, :]
        )
        covariances /= degrees_of_freedom[:, None, None]
    elif covariance_type == "tied":
        # scikit-learn's tied model: one Wishart with the average mass per component
        mean_mass = nk.sum() / n_components
        degrees_of_freedom = priors.degrees_of_freedom_prior + mean_mass
        covariances = (
            priors.covariance_prior
            + sk * nk.sum() / n_components
            + beta0 / n_components * np.dot((nk / mean_precision) * diff.T, diff)
        )
        covariances /= degrees_of_freedom
    elif covariance_type == "diag":
        degrees_of_freedom = priors.degrees_of_freedom_prior + nk
        covariances = priors.covariance_prior + nk[:, None] * (
            sk + shrink[:, None] * np.square(diff)
        )
        covariances /= degrees_of_freedom[:, None]
    else:
        degrees_of_freedom = priors.degrees_of_freedom_prior + nk
        covariances = priors.covariance_prior + nk * (
            sk + shrink * np.mean(np.square(diff), 1)
        )
        covariances /= degrees_of_freedom

    precisions_cholesky, failed = as_covariance_type(
        covariance_type
    ).cholesky_from_covariances(covariances)
    if failed.any():
        raise ValueError(ILL_DEFINED_COVARIANCE)
    return VariationalParams(
        weight_concentration, mean_precision, means,
        degrees_of_freedom, covariances, precisions_cholesky,
    )


def log_weight_terms(vparams: VariationalParams, priors: Priors) -> np.ndarray:
    """E[log pi_k] (K,): scikit-learn's ``_estimate_log_weights``.

    Dirichlet: psi(alpha_k) - psi(sum alpha). Process (stick-breaking):
    E[log v_k] + sum_{j<k} E[log(1 - v_j)] with v_j ~ Beta(gamma_j1, gamma_j2).
    """
    if priors.weight_concentration_prior_type == "dirichlet_process":
        a, b = vparams.weight_concentration
        digamma_sum = digamma(a + b)
        log_stick_rest = digamma(b) - digamma_sum
        return digamma(a) - digamma_sum + np.hstack((0, np.cumsum(log_stick_rest)[:-1]))
    concentration = vparams.weight_concentration
    return digamma(concentration) - digamma(np.sum(concentration))


def _expected_log_det_wishart(degrees_of_freedom, n_features):
    """D log 2 + sum_i psi((nu - i) / 2): E[log |Lambda|] less log |W|
    (scikit-learn's ``log_lambda``)."""
    half_dof = 0.5 * (degrees_of_freedom - np.arange(n_features)[:, None])
    return n_features * np.log(2.0) + np.sum(digamma(half_dof), 0)


def log_prob_offsets(vparams: VariationalParams, covariance_type: str,
                     n_features: int) -> np.ndarray:
    """The per-component constant c_k (K,) of the variational E-step.

    scikit-learn's ``_estimate_log_prob(X)[:, k]`` equals
    log N(x | means_k, precision = U_k U_kᵀ) + c_k, with

        c_k = -D/2 log nu_k + 1/2 (D log 2 + sum_i psi((nu_k - i)/2) - D / beta_k)

    (1/2 E[log |Lambda_k|] - D / (2 beta_k) less the 1/2 log |nu_k W_k| that the
    Gaussian log-density already holds). Adding ``log_weight_terms`` gives the
    expected weighted log-probability. For 'tied' nu is one number, shared.
    """
    dof = vparams.degrees_of_freedom
    log_det_terms = -0.5 * n_features * np.log(dof) + 0.5 * _expected_log_det_wishart(
        dof, n_features
    )
    if covariance_type == "tied":
        log_det_terms = float(np.squeeze(log_det_terms))
    return log_det_terms - 0.5 * n_features / vparams.mean_precision


def expected_log_weights(vparams: VariationalParams, priors: Priors,
                         covariance_type: str) -> np.ndarray:
    """E[log pi_k] + c_k (K,): what the E-step adds to each component's Gaussian
    log-density (``log_weight_terms`` + ``log_prob_offsets``)."""
    n_features = vparams.means.shape[1]
    return log_weight_terms(vparams, priors) + log_prob_offsets(
        vparams, covariance_type, n_features
    )


def variational_kernel_params(vparams: VariationalParams, priors: Priors,
                              covariance_type: str):
    """``_params.KernelParams`` whose per-component constants make the kernels'
    log w_k + log N(x | mean_k, precision_k) scikit-learn's
    ``_estimate_weighted_log_prob`` (E-step, predict, score_samples)."""
    return kernel_params(vparams.gaussian_params(covariance_type),
                         expected_log_weights(vparams, priors, covariance_type))


def _log_wishart_norm(degrees_of_freedom, log_det_half_scale, n_features):
    """log B(W, nu) + D(D-1)/4 log pi (scikit-learn drops the pi term), with
    ``log_det_half_scale`` = 1/2 log |W|."""
    return -(
        degrees_of_freedom * log_det_half_scale
        + degrees_of_freedom * n_features * 0.5 * np.log(2.0)
        + np.sum(
            gammaln(0.5 * (degrees_of_freedom - np.arange(n_features)[:, None])), 0
        )
    )


def lower_bound(entropy_sum: float, vparams: VariationalParams, priors: Priors,
                covariance_type: str, n_features: int) -> float:
    """scikit-learn's ``_compute_lower_bound``.

    Parameters
    ----------
    entropy_sum : float
        sum_n w_n sum_k r_nk log r_nk over the responsibilities of the pass whose
        statistics gave ``vparams`` (w_n = 1 without sample weights).
    vparams : VariationalParams
        ``conjugate_update`` of that pass's statistics.
    priors : Priors
    covariance_type : {'full', 'tied', 'diag', 'spherical'}
    n_features : int

    Returns
    -------
    float

    Notes
    -----
    With the parameters the conjugate update of the same responsibilities, the
    evidence lower bound of Bishop (PRML 10.70-10.77; Blei and Jordan 2006 for the
    process) simplifies to

        -sum r log r - sum_k log B(W_k, nu_k) - log C - D/2 sum_k log beta_k + const

    (C: the Dirichlet normaliser Gamma(sum alpha) / prod Gamma(alpha_k), or for
    the process prod_k 1 / B(gamma_k1, gamma_k2)). scikit-learn, and this
    function, drop ``const``, which depends only on the priors and the total
    weight W: for the 'full' model

        const = K log B(W_0, nu_0) + K D(D-1)/4 log pi + K D/2 log beta_0
                - W D/2 log 2 pi + (log Gamma(K alpha_0) - K log Gamma(alpha_0)
                                    or, for the process, K log alpha_0),

    where log B(W, nu) = -nu/2 log|W| - nu D/2 log 2 - D(D-1)/4 log pi
    - sum_i log Gamma((nu + 1 - i)/2) and W_0 = inv(covariance_prior). This
    holds exactly when reg_covar is 0 (the regularisation is not part of the
    model) up to scikit-learn's 10 eps added to every mass. 'tied', 'diag' and
    'spherical' use the same formula with their own Wishart terms ('tied' counts
    its one Wishart K times), as scikit-learn does; they are not Bishop's bound.
    """
    n_components = vparams.means.shape[0]
    # log det of the Cholesky factor of W_k (not of nu_k W_k): 1/2 log |W_k|
    log_det_half_scale = as_covariance_type(covariance_type).log_det_cholesky(
        vparams.precisions_cholesky, n_features
    ) - 0.5 * n_features * np.log(vparams.degrees_of_freedom)
    log_wishart = _log_wishart_norm(
        vparams.degrees_of_freedom, log_det_half_scale, n_features
    )
    if covariance_type == "tied":
        log_wishart = n_components * float(np.squeeze(log_wishart))
    else:
        log_wishart = float(np.sum(log_wishart))

    if priors.weight_concentration_prior_type == "dirichlet_process":
        log_norm_weight = -float(np.sum(betaln(*vparams.weight_concentration)))
    else:
        alpha = vparams.weight_concentration
        log_norm_weight = float(gammaln(np.sum(alpha)) - np.sum(gammaln(alpha)))

    return (
        -float(entropy_sum)
        - log_wishart
        - log_norm_weight
        - 0.5 * n_features * float(np.sum(np.log(vparams.mean_precision)))
    )

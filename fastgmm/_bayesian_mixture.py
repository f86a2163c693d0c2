"""``BayesianGaussianMixture``: scikit-learn's variational Bayesian mixture, on
the same one-pass kernels.

The E-step is the Gaussian log-density with precision nu_k W_k plus a
per-component constant (E[log pi_k] + 1/2 E[log |Lambda_k|] - D / (2 beta_k) -
D/2 log nu_k), so the kernels of ``GaussianMixture`` compute it unchanged; the
pass also sums r log r for the lower bound. The update is the conjugate one
(``_variational``), from the same sufficient statistics.
"""

import warnings
from numbers import Real

import numpy as np
from sklearn.base import _fit_context
from sklearn.utils._param_validation import Interval, StrOptions

from ._base import BaseMixture, MissingValuesMixin
from ._covariance import COVARIANCE_TYPES
from ._recovery import FLOOR_RELATIVE, DegenerateComponentWarning
from ._variational import (
    Priors,
    VariationalParams,
    conjugate_update,
    expected_log_weights,
    lower_bound,
    resolve_priors,
)

TIED = COVARIANCE_TYPES["tied"]

_PRIOR_ATTRIBUTES = (
    "weight_concentration_prior_type", "weight_concentration_prior",
    "mean_precision_prior", "mean_prior", "degrees_of_freedom_prior",
    "covariance_prior",
)


class BayesianGaussianMixture(MissingValuesMixin, BaseMixture):
    """Variational Bayesian Gaussian mixture, compiled.

    A drop-in replacement for :class:`sklearn.mixture.BayesianGaussianMixture`:
    the same parameters, attributes, methods and answers from the same start.
    The weights have a Dirichlet-process (stick-breaking, truncated at
    ``n_components``) or Dirichlet prior, each component a Normal-Wishart prior;
    variational inference switches off the components the data do not need (their
    ``weights_`` fall towards 0). Each iteration is one parallel pass over ``X``
    that yields the conjugate update's statistics and the responsibilities'
    entropy, so no ``(n_samples, n_components)`` array is ever allocated.

    Parameters
    ----------
    n_components : int, default=1
        The number of components (the truncation level of the process).
    covariance_type : {'full', 'tied', 'diag', 'spherical'}, default='full'
    tol : float, default=1e-3
        Iterations stop when the lower bound gains less than ``tol``.
    reg_covar : float, default=1e-6
        Non-negative regularisation added to the diagonal of the covariances of
        the statistics.
    max_iter : int, default=100
    n_init : int, default=1
        The number of initialisations; the one with the largest lower bound is
        kept.
    init_params : {'kmeans', 'k-means++', 'random', 'random_from_data'}, \
            default='kmeans'
        How the initial responsibilities are chosen (as in
        :class:`GaussianMixture`; 'random' and 'random_from_data' draw what
        scikit-learn draws from the same ``random_state``).
    weight_concentration_prior_type : {'dirichlet_process', \
            'dirichlet_distribution'}, default='dirichlet_process'
    weight_concentration_prior : float > 0, default=None
        gamma_0: the Dirichlet concentration (process: of each stick's
        Beta(1, gamma_0)). None means 1 / n_components. Small values put the
        mass on few components.
    mean_precision_prior : float > 0, default=None
        beta_0, how strongly the means are pulled towards ``mean_prior``. None
        means 1.
    mean_prior : array-like of shape (n_features,), default=None
        None means the (weighted) mean of X.
    degrees_of_freedom_prior : float > n_features - 1, default=None
        nu_0 of the Wishart prior. None means n_features.
    covariance_prior : float or array-like, default=None
        The Wishart prior's covariance: (D, D) for 'full' and 'tied', (D,) for
        'diag', a float for 'spherical'. None means the (weighted, unbiased)
        covariance of X (floored, with a warning, when it is singular).
    random_state : int, RandomState instance or None, default=None
    warm_start : bool, default=False
        Start each ``fit`` from the previous solution.
    verbose : int, default=0
        Progress on standard output, as :class:`GaussianMixture`'s.
    verbose_interval : int, default=10
    n_jobs : int, default=None
        Threads of the compiled kernels during a call (None: all of Numba's);
        results do not depend on it, bit for bit.
    learning_decay : float in (0.5, 1], default=0.6
        :meth:`partial_fit`: the exponent of the step (t + learning_offset)^-decay.
    learning_offset : float >= 0, default=4.0
        :meth:`partial_fit`: t0 in the step above.
    missing_values : {'nan'} or None, default=None
        None: scikit-learn's behaviour, X with NaN is rejected. ``'nan'``: NaN
        marks a missing value (missing at random), and every method works on
        the observed values, as in :class:`GaussianMixture`: the missing values
        are latent variables of the variational posterior, which under
        component k is the conditional Gaussian of the precision nu_k W_k, so
        the E-step uses the expected density of each row's observed
        coordinates, the update the statistics completed with the conditional
        expectations and covariances, and the lower bound adds the entropy of
        that conditional Gaussian. The default ``mean_prior`` is then the mean
        of the observed values, the default ``covariance_prior`` the covariance
        of the rows mean-filled, rescaled to the observed variances. Infinity,
        and rows and columns with no observed value, are rejected. X without NaN
        is fitted bitwise as with None. :meth:`impute` fills the missing values.

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
        Expected weights under the variational posterior.
    means_ : ndarray of shape (n_components, n_features)
        m_k, the posterior means of the means.
    covariances_ : ndarray, shaped by ``covariance_type``
        W_k^-1 / nu_k, the posterior expected covariances.
    precisions_ : ndarray, shaped by ``covariance_type``
    precisions_cholesky_ : ndarray, shaped by ``covariance_type``
    converged_ : bool
    n_iter_ : int
    lower_bound_ : float
        The lower bound on the evidence of the best run (up to a constant that
        depends only on the priors and the data's total weight, as
        scikit-learn's).
    lower_bounds_ : list of float
    weight_concentration_prior_ : float
    weight_concentration_ : tuple of two arrays (process) or array (K,)
    mean_precision_prior_ : float
    mean_precision_ : ndarray of shape (n_components,)
    mean_prior_ : ndarray of shape (n_features,)
    degrees_of_freedom_prior_ : float
    degrees_of_freedom_ : ndarray of shape (n_components,) (a float for 'tied')
    covariance_prior_ : float or ndarray
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
    n_steps_ : int
        Batches seen by :meth:`partial_fit` since the last :meth:`fit`.

    Notes
    -----
    ``sample_weight``, memory maps, dask arrays and ``n_jobs`` work as in
    :class:`GaussianMixture` (a sample of integer weight w counts as w copies of
    it, also in the default priors). ``predict``, ``predict_proba`` and
    ``score_samples`` use the expected log-weights and log-densities, as
    scikit-learn's do.

    Examples
    --------
    >>> import numpy as np
    >>> from fastgmm import BayesianGaussianMixture
    >>> X = np.array([[1, 2], [1, 4], [1, 0], [4, 2], [12, 4], [10, 7]])
    >>> bgm = BayesianGaussianMixture(n_components=2, random_state=42).fit(X)
    >>> bgm.predict([[0, 0], [9, 3]])
    array([0, 1])
    """

    _parameter_constraints: dict = {
        **BaseMixture._parameter_constraints,
        "weight_concentration_prior_type": [
            StrOptions({"dirichlet_process", "dirichlet_distribution"})
        ],
        "weight_concentration_prior": [
            None, Interval(Real, 0.0, None, closed="neither"),
        ],
        "mean_precision_prior": [None, Interval(Real, 0.0, None, closed="neither")],
        "mean_prior": [None, "array-like"],
        "degrees_of_freedom_prior": [
            None, Interval(Real, 0.0, None, closed="neither"),
        ],
        "covariance_prior": [
            None, "array-like", Interval(Real, 0.0, None, closed="neither"),
        ],
        **MissingValuesMixin._missing_values_constraint,
    }

    # the lower bound needs sum r log r from each pass
    _entropy = True

    def __init__(
        self,
        *,
        n_components=1,
        covariance_type="full",
        tol=1e-3,
        reg_covar=1e-6,
        max_iter=100,
        n_init=1,
        init_params="kmeans",
        weight_concentration_prior_type="dirichlet_process",
        weight_concentration_prior=None,
        mean_precision_prior=None,
        mean_prior=None,
        degrees_of_freedom_prior=None,
        covariance_prior=None,
        random_state=None,
        warm_start=False,
        verbose=0,
        verbose_interval=10,
        n_jobs=None,
        learning_decay=0.6,
        learning_offset=4.0,
        missing_values=None,
    ):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weight_concentration_prior_type = weight_concentration_prior_type
        self.weight_concentration_prior = weight_concentration_prior
        self.mean_precision_prior = mean_precision_prior
        self.mean_prior = mean_prior
        self.degrees_of_freedom_prior = degrees_of_freedom_prior
        self.covariance_prior = covariance_prior
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.n_jobs = n_jobs
        self.learning_decay = learning_decay
        self.learning_offset = learning_offset
        self.missing_values = missing_values

    # ----------------------------------------------- what variational Bayes supplies

    def _prior_arguments(self):
        return {name: getattr(self, name) for name in _PRIOR_ATTRIBUTES}

    def _check_initial_values(self, n_features):
        """Validate the user's priors before any kernel runs (the defaults that
        depend on the data are filled in by ``_priors_for``)."""
        resolve_priors(self.covariance_type, self.n_components, np.zeros(n_features),
                       np.eye(n_features), 2.0, **self._prior_arguments())
        return {}

    def _priors_for(self, source):
        """The priors of this fit: the user's, and the data's mean and covariance
        (one pass, only when one of them is needed)."""
        data_dependent = self.mean_prior is None or self.covariance_prior is None
        n_features = source.n_features
        mean, covariance = np.zeros(n_features), np.eye(n_features)
        if data_dependent:
            mean, covariance = source.mean_and_covariance(self._covariance)
        if self.covariance_prior is None:
            covariance = self._floored(covariance, source)
        return resolve_priors(self.covariance_type, self.n_components, mean,
                              covariance, source.total_weight,
                              **self._prior_arguments())

    def _floored(self, covariance, source):
        """The data's covariance, with a variance floor on its diagonal when the
        default prior made of it would be singular (constant features, fewer
        distinct points than features)."""
        ctype = self._covariance
        variances = np.diagonal(covariance)
        if ctype.stores_matrices:
            singular = TIED.cholesky_from_covariances(covariance)[1].any()
        elif ctype.name == "diag":
            singular = not np.all(variances > 0)
        else:
            singular = not variances.mean() > 0
        if not singular:
            return covariance
        floor = FLOOR_RELATIVE * self._positive_feature_variance(source)
        warnings.warn(
            "The data's covariance, the default covariance_prior, is singular "
            "(constant features or too few distinct samples); a variance floor of "
            f"{floor:.3g} (1e-6 x the data's variance) was added to its diagonal. "
            "Pass covariance_prior to choose it yourself.",
            DegenerateComponentWarning,
            stacklevel=5,
        )
        return covariance + floor * np.eye(covariance.shape[0])

    def _fit_runs(self, source):
        # sklearn's order: the priors are checked, then made from this fit's data
        self._check_initial_values(source.n_features)
        self._feature_variance = None
        self._priors = self._priors_for(source)
        return super()._fit_runs(source)

    def _update(self, stats, source, initial=False):
        return conjugate_update(stats, self._priors, self.covariance_type,
                                self.reg_covar)

    def _pass_params(self, state):
        params = state.gaussian_params(self._covariance)
        return params, expected_log_weights(state, self._priors, self.covariance_type)

    def _objective(self, stats, state):
        return lower_bound(stats.entropy, state, self._priors, self.covariance_type,
                           state.means.shape[1])

    def _set_fitted(self, state, dtype):
        priors = self._priors
        self.weight_concentration_prior_ = priors.weight_concentration_prior
        self.mean_precision_prior_ = priors.mean_precision_prior
        self.mean_prior_ = priors.mean_prior.astype(dtype)
        self.degrees_of_freedom_prior_ = priors.degrees_of_freedom_prior
        self.covariance_prior_ = (
            priors.covariance_prior if np.ndim(priors.covariance_prior) == 0
            else priors.covariance_prior.astype(dtype)
        )
        self.weight_concentration_ = state.weight_concentration
        self.mean_precision_ = state.mean_precision
        self.degrees_of_freedom_ = state.degrees_of_freedom
        self.weights_ = state.weights().astype(dtype)
        self.means_ = state.means.astype(dtype)
        self.covariances_ = state.covariances.astype(dtype)
        self.precisions_cholesky_ = state.precisions_cholesky.astype(dtype)
        self.precisions_ = state.precisions(self.covariance_type).astype(dtype)

    def _fitted_priors(self):
        covariance_prior = self.covariance_prior_
        if np.ndim(covariance_prior) != 0:
            covariance_prior = np.asarray(covariance_prior, dtype=np.float64)
        return Priors(
            self.weight_concentration_prior_type,
            float(self.weight_concentration_prior_),
            float(self.mean_precision_prior_),
            np.asarray(self.mean_prior_, dtype=np.float64),
            float(self.degrees_of_freedom_prior_),
            covariance_prior,
        )

    def _fitted_state(self):
        if getattr(self, "_priors", None) is None:
            self._priors = self._fitted_priors()
        concentration = self.weight_concentration_
        if isinstance(concentration, tuple):
            concentration = tuple(np.asarray(c, dtype=np.float64)
                                  for c in concentration)
        else:
            concentration = np.asarray(concentration, dtype=np.float64)
        dof = self.degrees_of_freedom_
        return VariationalParams(
            concentration,
            np.asarray(self.mean_precision_, dtype=np.float64),
            np.asarray(self.means_, dtype=np.float64),
            dof if np.ndim(dof) == 0 else np.asarray(dof, dtype=np.float64),
            np.asarray(self.covariances_, dtype=np.float64),
            np.asarray(self.precisions_cholesky_, dtype=np.float64),
        )

    # --------------------------------------------------- online (stochastic) VB

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None, sample_weight=None):
        """Update the model with one batch: a step of stochastic variational
        inference.

        The running statistics s (per unit of sample weight) move towards the
        batch's exactly as in :meth:`GaussianMixture.partial_fit`,
        s <- (1 - g_t) s + g_t s_t with g_t = (t + learning_offset)^-learning_decay,
        and the posterior is the conjugate update of W s, where W is the total
        sample weight seen so far (the number of points of all batches when
        unweighted): the posterior of a data set of the size seen so far whose
        statistics are the running ones. Since the natural parameters are linear
        in s, this is stochastic variational inference (Hoffman et al., 2013) with
        the step g_t. The first call on an unfitted model fits its batch with
        ordinary variational Bayes; the priors are those of that fit.

        Parameters
        ----------
        X : array-like, memory map or dask array of shape (n_samples, n_features)
        y : Ignored
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : BayesianGaussianMixture
        """
        return self._online_step(X, sample_weight)

    def _update_online(self, running, source):
        return self._update(running.scaled(self._online_weight), source)

    def _online_objective(self, stats, state):
        """The lower bound of the running statistics (at the weight seen so far)
        under the posterior made of them."""
        entropy = self._online_stats.entropy * self._online_weight
        return lower_bound(entropy, state, self._priors, self.covariance_type,
                           state.means.shape[1])

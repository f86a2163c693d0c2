"""``GaussianMixture``: scikit-learn's estimator, fitted by compiled one-pass EM.

The class validates, initialises and runs the EM loop; every per-point
computation happens in ``_kernels`` through ``_passes``.
"""

import warnings
from numbers import Integral, Real
from time import perf_counter

import numpy as np
from sklearn.base import BaseEstimator, DensityMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from . import _passes
from ._kernels.common import LABELS, PROBA, SCORE
from ._kmeans import kmeans, kmeans_plusplus
from ._params import (
    Params,
    covariances_from_precisions_cholesky,
    n_parameters,
    precisions_cholesky_from_covariances,
    precisions_cholesky_from_precisions,
    precisions_from_cholesky,
)
from ._recovery import recover_degenerate
from ._stats import m_step
from ._validation import check_means, check_precisions, check_weights, numba_threads

# Rows of random responsibilities drawn at a time by init_params='random', so the
# initialisation never holds an N x K array.
_RANDOM_INIT_ROWS = 65536


class GaussianMixture(DensityMixin, BaseEstimator):
    """Gaussian mixture model fitted by expectation-maximisation, compiled.

    A drop-in replacement for :class:`sklearn.mixture.GaussianMixture`: the same
    parameters, attributes, methods, warnings and errors, and the same answers from
    the same initial parameters. Each EM iteration is one parallel pass over ``X``
    that fuses the E-step with the accumulation of the M-step's sufficient
    statistics, so no ``(n_samples, n_components)`` array is ever allocated.

    Parameters
    ----------
    n_components : int, default=1
        The number of mixture components.
    covariance_type : {'full', 'tied', 'diag', 'spherical'}, default='full'
        'full': each component has its own covariance matrix; 'tied': all share
        one; 'diag': each has its own diagonal matrix; 'spherical': each has its
        own single variance.
    tol : float, default=1e-3
        Convergence threshold: EM stops when the lower bound (the mean
        log-likelihood) gains less than ``tol``.
    reg_covar : float, default=1e-6
        Non-negative regularisation added to the diagonal of covariances.
    max_iter : int, default=100
        The number of EM iterations to perform.
    n_init : int, default=1
        The number of initialisations; the best result is kept.
    init_params : {'kmeans', 'k-means++', 'random', 'random_from_data'}, default='kmeans'
        How the responsibilities that start EM are chosen: labels of a (compiled)
        k-means, one point per component chosen by k-means++ or at random, or
        random responsibilities.
    weights_init : array-like of shape (n_components,), default=None
        Initial weights.
    means_init : array-like of shape (n_components, n_features), default=None
        Initial means.
    precisions_init : array-like, default=None
        Initial precisions (inverse covariances), shaped by ``covariance_type``:
        (n_components, n_features, n_features) for 'full', (n_features, n_features)
        for 'tied', (n_components, n_features) for 'diag', (n_components,) for
        'spherical'.
    random_state : int, RandomState instance or None, default=None
        Seed of the initialisation (and of :meth:`sample`).
    warm_start : bool, default=False
        Start each ``fit`` from the previous solution (``n_init`` is then ignored).
    verbose : int, default=0
        1 prints each initialisation and iteration; 2 also the time per iteration
        and the change of the lower bound.
    verbose_interval : int, default=10
        Iterations between two messages.
    n_jobs : int, default=None
        Threads used by the compiled kernels during a call: None means all of
        Numba's threads, -1 all, -2 all but one. The previous thread count is
        restored after the call. Results do not depend on it, bit for bit.

    Attributes
    ----------
    weights_ : ndarray of shape (n_components,)
    means_ : ndarray of shape (n_components, n_features)
    covariances_ : ndarray, shaped by ``covariance_type``
    precisions_ : ndarray, shaped by ``covariance_type``
    precisions_cholesky_ : ndarray, shaped by ``covariance_type``
        Upper-triangular U with precision = U Uᵀ (for diag and spherical,
        1 / standard deviation).
    converged_ : bool
    n_iter_ : int
    lower_bound_ : float
        Mean log-likelihood of the training data at the best initialisation's last
        E-step.
    lower_bounds_ : list of float
        The lower bound at every iteration of the best initialisation.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Defined only when ``X`` has feature names that are all strings.

    Notes
    -----
    float32 input gives float32 attributes; statistics are always accumulated in
    float64. The first call of each kernel compiles it (a few seconds); the
    compiled code is cached on disk and reused by later processes.

    Examples
    --------
    >>> import numpy as np
    >>> from fastgmm import GaussianMixture
    >>> X = np.array([[1, 2], [1, 4], [1, 0], [10, 2], [10, 4], [10, 0]])
    >>> gm = GaussianMixture(n_components=2, random_state=0).fit(X)
    >>> np.sort(gm.means_[:, 0])
    array([ 1., 10.])
    """

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "covariance_type": [StrOptions({"full", "tied", "diag", "spherical"})],
        "tol": [Interval(Real, 0.0, None, closed="left")],
        "reg_covar": [Interval(Real, 0.0, None, closed="left")],
        "max_iter": [Interval(Integral, 0, None, closed="left")],
        "n_init": [Interval(Integral, 1, None, closed="left")],
        "init_params": [
            StrOptions({"kmeans", "k-means++", "random", "random_from_data"})
        ],
        "weights_init": ["array-like", None],
        "means_init": ["array-like", None],
        "precisions_init": ["array-like", None],
        "random_state": ["random_state"],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
        "verbose_interval": [Interval(Integral, 1, None, closed="left")],
        "n_jobs": [
            Interval(Integral, None, -1, closed="right"),
            Interval(Integral, 1, None, closed="left"),
            None,
        ],
    }

    def __init__(
        self,
        n_components=1,
        *,
        covariance_type="full",
        tol=1e-3,
        reg_covar=1e-6,
        max_iter=100,
        n_init=1,
        init_params="kmeans",
        weights_init=None,
        means_init=None,
        precisions_init=None,
        random_state=None,
        warm_start=False,
        verbose=0,
        verbose_interval=10,
        n_jobs=None,
    ):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.means_init = means_init
        self.precisions_init = precisions_init
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.n_jobs = n_jobs

    # ------------------------------------------------------------------ fitting

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Estimate the parameters with the EM algorithm.

        Fits ``n_init`` times and keeps the parameters with the largest lower
        bound. Each run iterates until the lower bound gains less than ``tol`` or
        ``max_iter`` iterations; a :class:`~sklearn.exceptions.ConvergenceWarning`
        is raised when the best run did not converge.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : Ignored

        Returns
        -------
        self : GaussianMixture
        """
        self._fit(X, predict=False)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_predict(self, X, y=None):
        """Fit, then return the most likely component of each sample.

        A final E-step under the fitted parameters makes the labels equal
        ``fit(X).predict(X)`` for any ``max_iter`` and ``tol``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : Ignored

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        return self._fit(X, predict=True)

    def _fit(self, X, predict):
        X = validate_data(
            self, X, dtype=[np.float64, np.float32], ensure_min_samples=2
        )
        n_samples, n_features = X.shape
        if n_samples < self.n_components:
            raise ValueError(
                "Expected n_samples >= n_components but got "
                f"n_components = {self.n_components}, n_samples = {n_samples}"
            )
        initial = self._checked_initial_values(n_features)
        X = np.ascontiguousarray(X)

        do_init = not (self.warm_start and hasattr(self, "converged_"))
        n_init = self.n_init if do_init else 1
        random_state = check_random_state(self.random_state)
        best = None
        self._scale = None
        with numba_threads(self.n_jobs):
            for init in range(n_init):
                self._report_init_begin(init)
                if do_init:
                    params = self._initial_params(X, random_state, initial)
                    lower_bound = -np.inf
                else:
                    params = self._fitted_params()
                    lower_bound = self.lower_bound_
                run = self._run_em(X, params, lower_bound)
                if best is None or run["lower_bound"] > best["lower_bound"] or (
                    best["lower_bound"] == -np.inf
                ):
                    best = run
            if not best["converged"] and self.max_iter > 0:
                warnings.warn(
                    "Best performing initialization did not converge. Try different "
                    "init parameters, or increase max_iter, tol, or check for "
                    "degenerate data.",
                    ConvergenceWarning,
                    stacklevel=3,
                )
            self._set_fitted(best["params"], X.dtype)
            self.converged_ = best["converged"]
            self.n_iter_ = best["n_iter"]
            self.lower_bound_ = best["lower_bound"]
            self.lower_bounds_ = best["lower_bounds"]
            if predict:
                return _passes.evaluate(X, best["params"], self.covariance_type, LABELS)
        return None

    def _run_em(self, X, params, lower_bound):
        """One EM run from ``params``; returns its outcome as a dict."""
        lower_bounds = []
        converged = False
        n_iter = 0
        self._iter_clock = perf_counter()
        for n_iter in range(1, self.max_iter + 1):
            previous = lower_bound
            stats = _passes.em_pass(X, params, self.covariance_type)
            lower_bound = stats.loglik / stats.weight
            params = self._maximise(m_step(stats, self.reg_covar), X)
            lower_bounds.append(lower_bound)
            change = lower_bound - previous
            self._report_iteration(n_iter, change)
            if abs(change) < self.tol:
                converged = True
                break
        if self.max_iter > 0:
            self._report_init_end(lower_bound, converged)
        else:
            lower_bound = -np.inf
        return {
            "params": params,
            "lower_bound": lower_bound,
            "lower_bounds": lower_bounds,
            "converged": converged,
            "n_iter": n_iter,
        }

    def _maximise(self, params, X):
        """Attach precision factors to M-step parameters, recovering components
        whose covariance is not positive definite (see ``_recovery``)."""
        factors, failed = precisions_cholesky_from_covariances(
            params.covariances, self.covariance_type
        )
        if failed.any():
            params, factors = recover_degenerate(
                params, failed, self.covariance_type, lambda: self._data_scale(X)
            )
        params.precisions_cholesky = factors
        return params

    def _data_scale(self, X):
        """Mean feature variance of X (1 when X is constant), computed once per fit."""
        if self._scale is None:
            variance = self._mean_variance(X)
            self._scale = variance if variance > 0 else 1.0
        return self._scale

    # ----------------------------------------------------------- initialisation

    def _checked_initial_values(self, n_features):
        """Validated float64 copies of the user's initial values (the estimator's
        own parameters are left untouched)."""
        k = self.n_components
        return {
            "weights": None if self.weights_init is None
            else check_weights(self.weights_init, k),
            "means": None if self.means_init is None
            else check_means(self.means_init, k, n_features),
            "precisions": None if self.precisions_init is None
            else check_precisions(self.precisions_init, self.covariance_type, k,
                                  n_features),
        }

    def _initial_params(self, X, random_state, initial):
        cov_type = self.covariance_type
        if any(value is None for value in initial.values()):
            stats = self._initial_stats(X, random_state)
            params = m_step(stats, self.reg_covar, normalise_weights=False)
        else:
            params = Params(None, None, None, None)
        if initial["weights"] is not None:
            params.weights = initial["weights"]
        if initial["means"] is not None:
            params.means = initial["means"]
        if initial["precisions"] is None:
            return self._maximise(params, X)
        params.precisions_cholesky = precisions_cholesky_from_precisions(
            initial["precisions"], cov_type
        )
        params.covariances = covariances_from_precisions_cholesky(
            params.precisions_cholesky, cov_type
        )
        return params

    def _initial_stats(self, X, random_state):
        """Statistics of the initial responsibilities chosen by ``init_params``."""
        n_samples = X.shape[0]
        k = self.n_components
        cov_type = self.covariance_type
        if self.init_params == "kmeans":
            centers, labels = kmeans(
                X, k, random_state, column_variance=self._mean_variance(X)
            )
            return _passes.assigned_stats(X, centers, cov_type, labels=labels)
        if self.init_params == "random":
            centers = np.repeat(np.asarray(X[:1], dtype=np.float64), k, axis=0)
            stats = None
            for start in range(0, n_samples, _RANDOM_INIT_ROWS):
                block = X[start : start + _RANDOM_INIT_ROWS]
                resp = random_state.uniform(size=(block.shape[0], k))
                resp /= resp.sum(axis=1)[:, None]
                stats = _passes.assigned_stats(block, centers, cov_type, resp=resp) + stats
            return stats
        if self.init_params == "random_from_data":
            indices = random_state.choice(n_samples, size=k, replace=False)
            centers = np.asarray(X[indices], dtype=np.float64)
        else:
            centers, indices = kmeans_plusplus(X, k, random_state)
        labels = np.full(n_samples, -1, dtype=np.int64)
        labels[indices] = np.arange(k)
        return _passes.assigned_stats(X, centers, cov_type, labels=labels)

    @staticmethod
    def _mean_variance(X):
        """Mean of the features' variances (k-means' tolerance scale), in one
        pass of a one-component diagonal model."""
        one = Params(
            np.ones(1), np.asarray(X[:1], dtype=np.float64), None,
            np.ones((1, X.shape[1])),
        )
        stats = _passes.em_pass(X, one, "diag")
        return float(m_step(stats, 0.0).covariances.mean())

    # ------------------------------------------------------------ parameters

    def _fitted_params(self):
        """The fitted attributes as float64 ``Params`` (they may have been edited)."""
        return Params(
            np.asarray(self.weights_, dtype=np.float64),
            np.asarray(self.means_, dtype=np.float64),
            np.asarray(self.covariances_, dtype=np.float64),
            np.asarray(self.precisions_cholesky_, dtype=np.float64),
        )

    def _set_fitted(self, params, dtype):
        self.weights_ = params.weights.astype(dtype)
        self.means_ = params.means.astype(dtype)
        self.covariances_ = params.covariances.astype(dtype)
        self.precisions_cholesky_ = params.precisions_cholesky.astype(dtype)
        self.precisions_ = precisions_from_cholesky(
            params.precisions_cholesky, self.covariance_type
        ).astype(dtype)

    # ------------------------------------------------------------- prediction

    def _evaluate(self, X, mode):
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        X = np.ascontiguousarray(X)
        with numba_threads(self.n_jobs):
            return _passes.evaluate(X, self._fitted_params(), self.covariance_type,
                                    mode)

    def score_samples(self, X):
        """Log-likelihood of each sample under the model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        log_prob : ndarray of shape (n_samples,)
        """
        return self._evaluate(X, SCORE)

    def score(self, X, y=None):
        """Mean log-likelihood of ``X`` under the model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : Ignored

        Returns
        -------
        log_likelihood : float
        """
        return float(np.mean(self.score_samples(X)))

    def predict(self, X):
        """The most likely component of each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        return self._evaluate(X, LABELS)

    def predict_proba(self, X):
        """Posterior probability of each component for each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        resp : ndarray of shape (n_samples, n_components)
        """
        return self._evaluate(X, PROBA)

    def sample(self, n_samples=1):
        """Draw samples from the fitted mixture.

        Uses ``random_state`` exactly as scikit-learn does, so both libraries draw
        the same samples from the same parameters.

        Parameters
        ----------
        n_samples : int, default=1

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
        y : ndarray of shape (n_samples,)
            The component of each sample.
        """
        check_is_fitted(self)
        if not isinstance(n_samples, Integral) or isinstance(n_samples, bool):
            raise TypeError(
                f"n_samples must be an integer, got {type(n_samples).__name__}."
            )
        if n_samples < 1:
            raise ValueError(
                f"Invalid value for 'n_samples': {n_samples}. The sampling requires "
                "at least one sample."
            )
        rng = check_random_state(self.random_state)
        weights = np.asarray(self.weights_, dtype=np.float64)
        counts = rng.multinomial(n_samples, weights / weights.sum())
        means = np.asarray(self.means_, dtype=np.float64)
        covariances = np.asarray(self.covariances_, dtype=np.float64)
        n_features = means.shape[1]
        if self.covariance_type == "full":
            parts = [rng.multivariate_normal(m, c, int(n))
                     for m, c, n in zip(means, covariances, counts)]
        elif self.covariance_type == "tied":
            parts = [rng.multivariate_normal(m, covariances, int(n))
                     for m, n in zip(means, counts)]
        else:
            parts = [m + rng.standard_normal(size=(n, n_features)) * np.sqrt(c)
                     for m, c, n in zip(means, covariances, counts)]
        labels = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
        return np.vstack(parts), labels

    def _n_parameters(self):
        return n_parameters(self.n_components, self.means_.shape[1],
                            self.covariance_type)

    def bic(self, X):
        """Bayesian information criterion on ``X`` (lower is better).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        bic : float
        """
        scores = self.score_samples(X)
        n = scores.shape[0]
        return -2.0 * float(np.mean(scores)) * n + self._n_parameters() * np.log(n)

    def aic(self, X):
        """Akaike information criterion on ``X`` (lower is better).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        aic : float
        """
        scores = self.score_samples(X)
        return -2.0 * float(np.mean(scores)) * scores.shape[0] + 2 * self._n_parameters()

    def save(self, path):
        """Write the fitted model to a portable ``.npz`` file (no pickle inside).

        Read it back with :func:`fastgmm.load`.

        Parameters
        ----------
        path : str or path-like
        """
        from ._persistence import save_model

        save_model(self, path)

    # --------------------------------------------------------------- progress

    def _report_init_begin(self, init):
        if self.verbose >= 1:
            print(f"Initialization {init}")
        self._init_clock = perf_counter()
        self._iter_clock = self._init_clock

    def _report_iteration(self, n_iter, change):
        if self.verbose < 1 or n_iter % self.verbose_interval:
            return
        if self.verbose == 1:
            print(f"  Iteration {n_iter}")
        else:
            now = perf_counter()
            print(f"  Iteration {n_iter}\t time lapse {now - self._iter_clock:.5f}s"
                  f"\t ll change {change:.5f}")
            self._iter_clock = now

    def _report_init_end(self, lower_bound, converged):
        status = "converged" if converged else "did not converge"
        if self.verbose == 1:
            print(f"Initialization {status}.")
        elif self.verbose >= 2:
            elapsed = perf_counter() - self._init_clock
            print(f"Initialization {status}. time lapse {elapsed:.5f}s\t lower bound "
                  f"{lower_bound:.5f}.")

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
from ._sources import ArraySource, check_sample_weight, is_dask_array, is_memory_mapped
from ._stats import m_step
from ._validation import check_means, check_precisions, check_weights, numba_threads

# Rows of random responsibilities drawn at a time by init_params='random', so the
# initialisation never holds an N x K array.
_RANDOM_INIT_ROWS = 65536


def _native_byte_order(X):
    """X with its floats in native byte order (big-endian float32 stays float32
    rather than becoming float64 in scikit-learn's validation)."""
    dtype = getattr(X, "dtype", None)
    if isinstance(X, np.ndarray) and dtype.kind == "f" and not dtype.isnative:
        return X.astype(dtype.newbyteorder("="))
    return X


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
    init_params : {'kmeans', 'k-means++', 'random', 'random_from_data'}, \
            default='kmeans'
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
        restored after the call. Results do not depend on it, bit for bit. On a
        dask array it is the threads of each task on the workers.
    learning_decay : float in (0.5, 1], default=0.6
        Online EM (:meth:`partial_fit`): the exponent alpha of the step
        g_t = (t + learning_offset)^(-alpha) taken towards batch t's statistics.
        Stepwise EM converges for alpha in (0.5, 1] (Cappé & Moulines, 2009); a
        value near 0.5 forgets the early, poorly estimated statistics fastest,
        which matters more than the noise a large step lets through when
        batches hold thousands of points (0.6 is the value of their experiments).
    learning_offset : float >= 0, default=4.0
        Online EM: t0 in the step above. It damps the first steps, so that the
        second batch (step 6^-0.6 = 0.34) refines rather than replaces the model
        fitted to the first one.

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
    n_steps_ : int
        Batches seen by :meth:`partial_fit` since the last :meth:`fit` (defined
        after a call of :meth:`partial_fit`). After a step, ``lower_bound_`` is the
        mean log-likelihood of the step's batch under the parameters before it.

    Notes
    -----
    float32 input gives float32 attributes; statistics are always accumulated in
    float64. The first call of each kernel compiles it (a few seconds); the
    compiled code is cached on disk and reused by later processes.

    Every way of fitting runs the same kernels over pieces of the data and adds
    the pieces' sufficient statistics:

    * ``sample_weight``: each point counts with its weight (an integer weight w
      is w copies of the point, a zero weight removes it).
    * A memory map (``np.load(path, mmap_mode='r')``, ``np.memmap``) is read
      block by block and never copied; NaN and infinity are looked for block by
      block during the first pass. Extra memory: about 16 bytes per row of one
      block (64 MiB at most, see ``_sources.STREAM_BLOCK_BYTES``) for the
      k-means initialisation. The fit is bitwise the fit of the same rows in
      memory.
    * :meth:`partial_fit` runs stepwise online EM, one batch per call.
    * A dask array is fitted on the active Dask scheduler (a
      ``distributed.Client`` when one exists: a ``LocalCluster`` or a cluster of
      many machines, ``Client("tcp://scheduler:8786")``, with no other change):
      every pass maps the kernels over the chunks and sums the statistics in a
      tree on the cluster; only K x D x D numbers come back, the M-step runs
      here. k-means initialisation runs on the chunks too. Persist X first
      (``X = X.persist()``) when its chunks are costly to produce; ``predict``,
      ``predict_proba`` and ``score_samples`` of a dask array are lazy dask
      arrays.

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
        "learning_decay": [Interval(Real, 0.5, 1.0, closed="right")],
        "learning_offset": [Interval(Real, 0.0, None, closed="left")],
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
        learning_decay=0.6,
        learning_offset=4.0,
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
        self.learning_decay = learning_decay
        self.learning_offset = learning_offset

    # ------------------------------------------------------------------ fitting

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, sample_weight=None):
        """Estimate the parameters with the EM algorithm.

        Fits ``n_init`` times and keeps the parameters with the largest lower
        bound. Each run iterates until the lower bound gains less than ``tol`` or
        ``max_iter`` iterations; a :class:`~sklearn.exceptions.ConvergenceWarning`
        is raised when the best run did not converge.

        Parameters
        ----------
        X : array-like, memory map or dask array of shape (n_samples, n_features)
            A NumPy memory map (``np.memmap``, ``np.load(path, mmap_mode='r')``)
            is read block by block and never copied; a dask array is fitted on its
            cluster (see Notes).
        y : Ignored
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each sample: a sample of integer weight w counts
            as w copies of it, a sample of weight 0 as no sample. None means all
            ones.

        Returns
        -------
        self : GaussianMixture
        """
        self._fit(X, sample_weight, predict=False)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_predict(self, X, y=None, sample_weight=None):
        """Fit, then return the most likely component of each sample.

        A final E-step under the fitted parameters makes the labels equal
        ``fit(X).predict(X)`` for any ``max_iter`` and ``tol``.

        Parameters
        ----------
        X : array-like, memory map or dask array of shape (n_samples, n_features)
        y : Ignored
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        labels : ndarray (dask array for a dask ``X``) of shape (n_samples,)
        """
        return self._fit(X, sample_weight, predict=True)

    def _fit(self, X, sample_weight, predict):
        self.__dict__.pop("_online_stats", None)
        self.__dict__.pop("n_steps_", None)
        source = self._fit_source(X, sample_weight, reset=True)
        with numba_threads(self.n_jobs, source.n_rows):
            params = self._fit_source_em(source)
            if predict:
                return source.evaluate(params, self.covariance_type, LABELS)
        return None

    def _fit_source(self, X, sample_weight, reset):
        """Validate ``X`` and ``sample_weight`` (before any kernel runs) and wrap
        them in the source that feeds the passes."""
        if is_dask_array(X):
            from ._dask import dask_source

            source = dask_source(self, X, sample_weight, reset=reset)
        else:
            if is_memory_mapped(X):
                X = self._validate_memory_map(X, reset=reset, min_samples=2)
                streamed = True
            else:
                X = validate_data(
                    self, _native_byte_order(X), dtype=[np.float64, np.float32],
                    ensure_min_samples=2, reset=reset,
                )
                X = np.ascontiguousarray(X)
                streamed = False
            weights = check_sample_weight(sample_weight, X.shape[0])
            source = ArraySource(X, weights, streamed=streamed)
        if source.n_positive < self.n_components:
            what = "n_samples" if sample_weight is None else \
                "the number of samples of positive weight"
            raise ValueError(
                f"Expected {what} >= n_components but got "
                f"n_components = {self.n_components}, {what} = {source.n_positive}"
            )
        return source

    def _validate_memory_map(self, X, reset, min_samples=1):
        """scikit-learn's checks of shape, dtype and feature count without reading
        the data: finiteness is checked block by block inside the passes."""
        X = validate_data(
            self, X, dtype=None, ensure_all_finite=False, reset=reset, copy=False,
            ensure_min_samples=min_samples,
        )
        if X.dtype.kind not in "biuf":
            raise ValueError(
                f"A memory-mapped X must hold numbers, got dtype {X.dtype}; convert "
                "the file to float64 or float32."
            )
        return X

    def _fit_source_em(self, source):
        """Initialise and run EM ``n_init`` times on ``source``; set the fitted
        attributes from the best run and return its parameters."""
        initial = self._checked_initial_values(source.n_features)
        do_init = not (self.warm_start and hasattr(self, "converged_"))
        n_init = self.n_init if do_init else 1
        random_state = check_random_state(self.random_state)
        best = None
        self._variance = None
        for init in range(n_init):
            self._report_init_begin(init)
            if do_init:
                params = self._initial_params(source, random_state, initial)
                lower_bound = -np.inf
            else:
                params = self._fitted_params()
                lower_bound = self.lower_bound_
            run = self._run_em(source, params, lower_bound)
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
                stacklevel=4,
            )
        self._set_fitted(best["params"], source.dtype)
        self.converged_ = best["converged"]
        self.n_iter_ = best["n_iter"]
        self.lower_bound_ = best["lower_bound"]
        self.lower_bounds_ = best["lower_bounds"]
        return best["params"]

    def _run_em(self, source, params, lower_bound):
        """One EM run from ``params``; returns its outcome as a dict."""
        lower_bounds = []
        converged = False
        n_iter = 0
        self._iter_clock = perf_counter()
        for n_iter in range(1, self.max_iter + 1):
            previous = lower_bound
            stats = source.em_pass(params, self.covariance_type)
            lower_bound = stats.loglik / stats.weight
            params = self._maximise(m_step(stats, self.reg_covar), source)
            lower_bounds.append(lower_bound)
            change = lower_bound - previous
            self._report_iteration(n_iter, lower_bound, change)
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

    def _maximise(self, params, source):
        """Attach precision factors to M-step parameters, recovering components
        whose covariance is not positive definite (see ``_recovery``)."""
        factors, failed = precisions_cholesky_from_covariances(
            params.covariances, self.covariance_type
        )
        if failed.any():
            params, factors = recover_degenerate(
                params, failed, self.covariance_type, lambda: self._data_scale(source)
            )
        params.precisions_cholesky = factors
        return params

    def _mean_variance(self, source):
        """Mean feature variance of the data, computed at most once per fit (the
        k-means tolerance and the recovery's floor both use it)."""
        if self._variance is None:
            self._variance = source.mean_variance()
        return self._variance

    def _data_scale(self, source):
        """Mean feature variance of the data, or 1 when the data are constant."""
        variance = self._mean_variance(source)
        return variance if variance > 0 else 1.0

    # ------------------------------------------------------------ online EM

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None, sample_weight=None):
        """Update the model with one batch: a step of stepwise (online) EM.

        The model keeps running sufficient statistics s (per unit of sample
        weight). Batch t gives its statistics s_t under the current parameters,
        the running statistics move towards them,

            s <- (1 - g_t) s + g_t s_t,   g_t = (t + learning_offset)^(-learning_decay),

        and the parameters are the M-step of s (Cappé & Moulines, 2009). The first
        call on an unfitted model fits its batch with ordinary EM (``init_params``,
        ``n_init``, ``max_iter``, ``tol`` apply) and starts s from it; on a model
        fitted by :meth:`fit`, the first call starts s from its batch under the
        fitted parameters.

        Parameters
        ----------
        X : array-like, memory map or dask array of shape (n_samples, n_features)
            One batch. The first batch needs at least ``n_components`` samples.
        y : Ignored
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the batch's samples; a batch weighs as much as any other
            in the update (its statistics are averaged over its total weight).

        Returns
        -------
        self : GaussianMixture
        """
        fitted = hasattr(self, "converged_")
        cov_type = self.covariance_type
        source = self._fit_source(X, sample_weight, reset=not fitted)
        with numba_threads(self.n_jobs, source.n_rows):
            if not fitted:
                params = self._fit_source_em(source)
            else:
                params = self._fitted_params()
            self._variance = None
            stats = source.em_pass(params, cov_type)
            batch = stats.scaled(1.0 / stats.weight)
            running = getattr(self, "_online_stats", None)
            if running is None:
                self.n_steps_ = 1
            else:
                self.n_steps_ += 1
                step = (self.n_steps_ + self.learning_offset) ** -self.learning_decay
                running = running.scaled(1.0 - step) + batch.scaled(step)
                params = self._maximise(m_step(running, self.reg_covar), source)
                # keep the running statistics around the new means (s1 ~ 0)
                batch = running.shifted(params.means)
                self._set_fitted(params, source.dtype)
            self._online_stats = batch
            self.lower_bound_ = stats.loglik / stats.weight
        return self

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

    def _initial_params(self, source, random_state, initial):
        cov_type = self.covariance_type
        if any(value is None for value in initial.values()):
            stats = self._initial_stats(source, random_state)
            params = m_step(stats, self.reg_covar, normalise_weights=False)
        else:
            params = Params(None, None, None, None)
        if initial["weights"] is not None:
            params.weights = initial["weights"]
        if initial["means"] is not None:
            params.means = initial["means"]
        if initial["precisions"] is None:
            return self._maximise(params, source)
        params.precisions_cholesky = precisions_cholesky_from_precisions(
            initial["precisions"], cov_type
        )
        params.covariances = covariances_from_precisions_cholesky(
            params.precisions_cholesky, cov_type
        )
        return params

    def _initial_stats(self, source, random_state):
        """Statistics of the initial responsibilities chosen by ``init_params``
        (weighted: zero-weight samples are never chosen as seeds)."""
        k = self.n_components
        cov_type = self.covariance_type
        if self.init_params == "kmeans":
            centers = kmeans(source, k, random_state,
                             column_variance=self._mean_variance(source))
            return source.nearest_stats(centers, cov_type)
        if self.init_params == "random":
            return source.random_stats(k, cov_type, random_state, _RANDOM_INIT_ROWS)
        if self.init_params == "random_from_data":
            indices = source.random_rows(k, random_state)
            centers = source.rows(indices)
        else:
            centers, indices = kmeans_plusplus(source, k, random_state)
        return source.seeded_stats(centers, indices, cov_type)

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
        if is_dask_array(X):
            from ._dask import evaluate_lazily

            return evaluate_lazily(self, X, mode)
        if is_memory_mapped(X):
            source = ArraySource(self._validate_memory_map(X, reset=False), None,
                                 streamed=True)
        else:
            X = validate_data(self, _native_byte_order(X), reset=False,
                              dtype=[np.float64, np.float32])
            source = ArraySource(np.ascontiguousarray(X))
        with numba_threads(self.n_jobs, source.n_rows):
            return source.evaluate(self._fitted_params(), self.covariance_type, mode)

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
                     for m, c, n in zip(means, covariances, counts, strict=True)]
        elif self.covariance_type == "tied":
            parts = [rng.multivariate_normal(m, covariances, int(n))
                     for m, n in zip(means, counts, strict=True)]
        else:
            parts = [m + rng.standard_normal(size=(n, n_features)) * np.sqrt(c)
                     for m, c, n in zip(means, covariances, counts, strict=True)]
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
        n = scores.shape[0]
        return -2.0 * float(np.mean(scores)) * n + 2 * self._n_parameters()

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

    # Progress goes to standard output, as scikit-learn's does: verbose=1 prints
    # every ``verbose_interval``-th iteration with its lower bound, change and
    # time, and each initialisation's outcome; verbose=2 also announces each
    # initialisation (restart) and its total time.

    def _report_init_begin(self, init):
        if self.verbose >= 2:
            print(f"Initialization {init}")
        self._init_clock = perf_counter()
        self._iter_clock = self._init_clock

    def _report_iteration(self, n_iter, lower_bound, change):
        if self.verbose < 1 or n_iter % self.verbose_interval:
            return
        now = perf_counter()
        print(f"  Iteration {n_iter}\t lower bound {lower_bound:.6f}\t change "
              f"{change:.6g}\t time {now - self._iter_clock:.4f}s")
        self._iter_clock = now

    def _report_init_end(self, lower_bound, converged):
        if self.verbose < 1:
            return
        status = "converged" if converged else "did not converge"
        elapsed = perf_counter() - self._init_clock
        print(f"Initialization {status}. time lapse {elapsed:.5f}s\t lower bound "
              f"{lower_bound:.5f}.")

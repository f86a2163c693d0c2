"""``GaussianMixture``: scikit-learn's estimator, fitted by compiled one-pass EM.

The shared fit driver (``_base.BaseMixture``) runs validation, initialisation and
the iterations; this class says what EM does with the statistics: the M-step
(with the recovery of degenerate components), the log-likelihood as the
objective, and the user's initial weights, means and precisions.
"""

import numpy as np
from sklearn.base import _fit_context
from sklearn.utils.validation import validate_data

from ._base import BaseMixture, InformationCriteriaMixin, MissingValuesMixin
from ._params import Params
from ._passes import resp_stats
from ._recovery import recover_degenerate
from ._sources import NO_WEIGHTS, ArraySource
from ._stats import m_step
from ._validation import check_means, check_precisions, check_weights


class GaussianMixture(MissingValuesMixin, InformationCriteriaMixin, BaseMixture):
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
        Progress on standard output. 1: every ``verbose_interval``-th iteration
        with its lower bound, its change and the time since the previous
        message, and at the end of each initialisation whether it converged, its
        time and its lower bound. 2: also a line at the start of each
        initialisation.
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

    missing_values : {'nan'} or None, default=None
        None: scikit-learn's behaviour, X with NaN is rejected. ``'nan'``: NaN
        marks a missing value, and every method (:meth:`fit`,
        :meth:`fit_predict`, :meth:`partial_fit`, :meth:`predict`,
        :meth:`predict_proba`, :meth:`score`, :meth:`score_samples`,
        :meth:`bic`, :meth:`aic`) works on the observed values: exact EM under
        missing at random (the E-step uses the density of each row's observed
        coordinates; the M-step completes the statistics with the conditional
        expectations and covariances of the missing ones). Infinity is always
        rejected, and so are rows, and in a fit columns, with no observed
        value. The initialisation (``init_params``) runs on the rows with each
        missing value replaced by its feature's observed mean. X without NaN is
        fitted bitwise as with None. :meth:`impute` fills the missing values.

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
        E-step (a float32 for float32 data, as in scikit-learn).
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
    float32 input gives float32 attributes, ``lower_bound_``, ``score_samples``,
    ``predict_proba`` and ``score``, as scikit-learn does; statistics are always
    accumulated in float64. The first call of each kernel compiles it (a few
    seconds); the compiled code is cached on disk and reused by later processes.

    Every way of fitting runs the same kernels over pieces of the data and adds
    the pieces' sufficient statistics:

    * ``sample_weight``: each point counts with its weight (an integer weight w
      is w copies of the point, a zero weight removes it).
    * A memory map (``np.load(path, mmap_mode='r')``, ``np.memmap``) is read
      segment by segment and never copied; NaN and infinity are looked for
      segment by segment during the first pass. Extra memory: about 16 bytes
      per row of one segment (64 MiB at most, see
      ``_sources.STREAM_SEGMENT_BYTES``) for the k-means initialisation. The
      fit is bitwise the fit of the same rows in memory.
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
        **BaseMixture._parameter_constraints,
        "weights_init": ["array-like", None],
        "means_init": ["array-like", None],
        "precisions_init": ["array-like", None],
        **MissingValuesMixin._missing_values_constraint,
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
        missing_values=None,
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
        self.missing_values = missing_values

    # ---------------------------------------------------- what EM supplies

    def _check_initial_values(self, n_features, n_components=None):
        """Validated float64 copies of the user's initial values (the estimator's
        own parameters are left untouched) for ``n_components`` components
        (default: the estimator's)."""
        k = self.n_components if n_components is None else n_components
        return {
            "weights": None if self.weights_init is None
            else check_weights(self.weights_init, k),
            "means": None if self.means_init is None
            else check_means(self.means_init, k, n_features),
            "precisions": None if self.precisions_init is None
            else check_precisions(self.precisions_init, self.covariance_type, k,
                                  n_features),
        }

    def _initialise(self, source, random_state, initial):
        stats = None
        if any(value is None for value in initial.values()):
            stats = self._initial_stats(source, random_state)
        return self._initial_params(stats, initial, source)

    def _initial_params(self, stats, initial, source):
        """scikit-learn's initial parameters: the M-step of the initial
        statistics (weights not normalised), replaced by the user's values where
        given; no statistics are needed when all three are."""
        if stats is None:
            params = Params(self._covariance, None, None, None, None)
        else:
            params = m_step(stats, self.reg_covar, normalise_weights=False)
        if initial["weights"] is not None:
            params.weights = initial["weights"]
        if initial["means"] is not None:
            params.means = initial["means"]
        if initial["precisions"] is None:
            return self._with_factors(params, source)
        return params.with_precisions(initial["precisions"])

    def _update(self, stats, source, initial=False):
        """The M-step, with factors (see ``_with_factors``)."""
        return self._with_factors(m_step(stats, self.reg_covar), source)

    def _with_factors(self, params, source):
        """Attach precision factors to M-step parameters, recovering components
        whose covariance is not positive definite (see ``_recovery``)."""
        factors, failed = self._covariance.cholesky_from_covariances(params.covariances)
        if failed.any():
            params, factors = recover_degenerate(
                params, failed, lambda: self._positive_feature_variance(source)
            )
        params.precisions_cholesky = factors
        return params

    def _pass_params(self, state):
        return state, None

    def _objective(self, stats, state):
        return stats.loglik / stats.weight

    def _fitted_state(self):
        """The fitted attributes as float64 ``Params`` (they may have been edited)."""
        return Params(
            self._covariance,
            np.asarray(self.weights_, dtype=np.float64),
            np.asarray(self.means_, dtype=np.float64),
            np.asarray(self.covariances_, dtype=np.float64),
            np.asarray(self.precisions_cholesky_, dtype=np.float64),
        )

    def _set_fitted(self, state, dtype):
        self.weights_ = state.weights.astype(dtype)
        self.means_ = state.means.astype(dtype)
        self.covariances_ = state.covariances.astype(dtype)
        self.precisions_cholesky_ = state.precisions_cholesky.astype(dtype)
        self.precisions_ = state.precisions.astype(dtype)

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
        return self._online_step(X, sample_weight)

    # -------------------------------------- scikit-learn's private interface

    # scikit-learn's own tests, and code written against BaseMixture, call these.

    def _get_parameters(self):
        return (self.weights_, self.means_, self.covariances_,
                self.precisions_cholesky_)

    def _set_parameters(self, params):
        """Set ``weights_``, ``means_``, ``covariances_`` and
        ``precisions_cholesky_`` from ``params`` and ``precisions_`` from them,
        as scikit-learn's method does."""
        (self.weights_, self.means_, self.covariances_,
         self.precisions_cholesky_) = params
        factors = np.asarray(self.precisions_cholesky_)
        self.precisions_ = self._covariance.precisions_from_cholesky(factors).astype(
            factors.dtype, copy=False
        )

    def _initialize(self, X, resp):
        """Set the initial parameters from responsibilities ``resp`` (N, K) of
        ``X``, with the user's ``weights_init``, ``means_init`` and
        ``precisions_init`` where given (scikit-learn's private method)."""
        X = np.ascontiguousarray(validate_data(
            self, X, dtype=[np.float64, np.float32], reset=False
        ))
        source = ArraySource(X)
        centers = np.repeat(source.rows([0]), resp.shape[1], axis=0)
        stats = resp_stats(X, NO_WEIGHTS, centers, self._covariance, resp)
        # as scikit-learn's, sized by resp rather than by n_components
        initial = self._check_initial_values(X.shape[1], resp.shape[1])
        self._feature_variance = None
        self._set_fitted(self._initial_params(stats, initial, source), X.dtype)

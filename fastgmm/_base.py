"""The fit driver shared by fastgmm's estimators.

``BaseMixture`` owns everything that does not depend on how statistics become
parameters: validation of X and ``sample_weight`` (before any kernel runs), the
choice of data source (in memory, memory-mapped, Dask), the initial
responsibilities, the iteration loop, convergence, ``n_init`` restarts,
``warm_start``, online steps (``partial_fit``), threads (``n_jobs``), progress
reporting and predictions. An estimator supplies only what differs:

``_parameter_constraints`` (extending ``BaseMixture``'s)
    its own parameters;
``_check_initial_values(n_features)``
    validated copies of its user-given starting values or priors;
``_initialise(source, random_state, initial)``
    its first model state, usually ``_update(self._initial_stats(...))``;
``_update(stats, source)``
    sufficient statistics -> model state (EM's M-step; a conjugate update);
``_pass_params(state)``
    what one pass needs: ``(Params, log_weights)``, the Gaussian parameters and
    the per-component term added to each log-density (None: log of the weights);
``_objective(stats, state)``
    the lower bound after an update from ``stats`` (``_entropy``: whether the
    pass must also sum r log r for it);
``_set_fitted(state, dtype)`` / ``_fitted_state()``
    the state to and from the fitted attributes.

A model state is whatever the estimator keeps between iterations (``Params`` for
EM); the driver only hands it back to the estimator.
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

from ._covariance import NAMES, covariance_type
from ._kernels.kinds import LABELS, PROBA, SCORE
from ._kernels.missing import IMPUTE
from ._kmeans import kmeans, kmeans_plusplus
from ._sources import ArraySource, check_sample_weight, is_dask_array, is_memory_mapped
from ._validation import numba_threads

# Rows of random responsibilities drawn at a time by init_params='random', so the
# initialisation never holds an N x K array.
RANDOM_INIT_ROWS = 65536


def _native_byte_order(X):
    """X with its floats in native byte order (big-endian float32 stays float32
    rather than becoming float64 in scikit-learn's validation)."""
    dtype = getattr(X, "dtype", None)
    if isinstance(X, np.ndarray) and dtype.kind == "f" and not dtype.isnative:
        return X.astype(dtype.newbyteorder("="))
    return X


class BaseMixture(DensityMixin, BaseEstimator):
    """Base class of fastgmm's mixture estimators: the shared fit driver (see the
    module docstring for what a subclass supplies)."""

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "covariance_type": [StrOptions(set(NAMES))],
        "tol": [Interval(Real, 0.0, None, closed="left")],
        "reg_covar": [Interval(Real, 0.0, None, closed="left")],
        "max_iter": [Interval(Integral, 0, None, closed="left")],
        "n_init": [Interval(Integral, 1, None, closed="left")],
        "init_params": [
            StrOptions({"kmeans", "k-means++", "random", "random_from_data"})
        ],
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

    # whether a pass must also sum r log r (the estimator's objective needs it)
    _entropy = False

    @property
    def _covariance(self):
        return covariance_type(self.covariance_type)

    # --------------------------------------------------------- what differs

    def _check_initial_values(self, n_features):
        return {}

    def _initialise(self, source, random_state, initial):
        return self._update(self._initial_stats(source, random_state), source,
                            initial=True)

    def _update(self, stats, source, initial=False):
        raise NotImplementedError

    def _pass_params(self, state):
        raise NotImplementedError

    def _objective(self, stats, state):
        raise NotImplementedError

    def _set_fitted(self, state, dtype):
        raise NotImplementedError

    def _fitted_state(self):
        raise NotImplementedError

    # ------------------------------------------------------------- fitting

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, sample_weight=None):
        """Estimate the model's parameters from ``X``.

        Fits ``n_init`` times and keeps the run with the largest lower bound. Each
        run iterates until the lower bound gains less than ``tol`` or for
        ``max_iter`` iterations; a :class:`~sklearn.exceptions.ConvergenceWarning`
        is raised when the best run did not converge.

        Parameters
        ----------
        X : array-like, memory map or dask array of shape (n_samples, n_features)
            A NumPy memory map (``np.memmap``, ``np.load(path, mmap_mode='r')``)
            is read segment by segment and never copied; a dask array is fitted on its
            cluster.
        y : Ignored
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each sample: a sample of integer weight w counts
            as w copies of it, a sample of weight 0 as no sample. None means all
            ones.

        Returns
        -------
        self : object
            The fitted estimator.
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
        for online in ("_online_stats", "n_steps_", "_online_weight"):
            self.__dict__.pop(online, None)
        source = self._fit_source(X, sample_weight, reset=True)
        with numba_threads(self.n_jobs, source.n_rows):
            state = self._fit_runs(source)
            if predict:
                params, log_weights = self._pass_params(state)
                return source.predict_pass(params, LABELS, log_weights)
        return None

    def _fit_source(self, X, sample_weight, reset):
        """Validate ``X`` and ``sample_weight`` (before any kernel runs) and wrap
        them in the source that feeds the passes."""
        name = type(self).__name__
        if self._accepts_missing():
            source = self._missing_source(X, sample_weight, reset=reset, fit=True)
        elif is_dask_array(X):
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
            source = ArraySource(X, weights, streamed=streamed, estimator_name=name)
        if source.n_positive < self.n_components:
            what = "n_samples" if sample_weight is None else \
                "the number of samples of positive weight"
            raise ValueError(
                f"Expected {what} >= n_components but got "
                f"n_components = {self.n_components}, {what} = {source.n_positive}"
            )
        return source

    def _accepts_missing(self):
        """Whether X may hold NaN as missing values (``missing_values="nan"``)."""
        return getattr(self, "missing_values", None) == "nan"

    def _missing_source(self, X, sample_weight, reset, fit):
        """The source of an X that may hold NaN (see ``_missing``): validated with
        NaN allowed, then scanned (infinity, rows and, in a fit, columns with no
        observed value are rejected) before any kernel runs. Data without a NaN
        get the ordinary source. Not for dask arrays in predictions (see
        ``_predict_missing``)."""
        from ._missing import missing_array_source, missing_dask_source

        name = type(self).__name__
        min_samples = 2 if fit else 1
        if is_dask_array(X):
            from ._dask import dask_source

            return missing_dask_source(dask_source(self, X, sample_weight, reset=reset))
        if is_memory_mapped(X):
            X = self._validate_memory_map(X, reset=reset, min_samples=min_samples)
            streamed = True
        else:
            X = np.ascontiguousarray(validate_data(
                self, _native_byte_order(X), dtype=[np.float64, np.float32],
                ensure_min_samples=min_samples, reset=reset,
                # the scan rejects infinity piece by piece, without an N x D mask
                ensure_all_finite=False,
            ))
            streamed = False
        weights = check_sample_weight(sample_weight, X.shape[0])
        return missing_array_source(X, weights, streamed, name, fit=fit)

    def _validate_memory_map(self, X, reset, min_samples=1):
        """scikit-learn's checks of shape, dtype and feature count without reading
        the data: finiteness is checked segment by segment inside the passes."""
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

    def _fit_runs(self, source):
        """Initialise and iterate ``n_init`` times on ``source``; set the fitted
        attributes from the best run and return its model state."""
        initial = self._check_initial_values(source.n_features)
        do_init = not (self.warm_start and hasattr(self, "converged_"))
        n_init = self.n_init if do_init else 1
        random_state = check_random_state(self.random_state)
        best = None
        self._feature_variance = None
        for init in range(n_init):
            self._report_init_begin(init)
            if do_init:
                state = self._initialise(source, random_state, initial)
                lower_bound = -np.inf
            else:
                state = self._fitted_state()
                lower_bound = float(self.lower_bound_)
            run = self._iterate(source, state, lower_bound)
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
        self._set_fitted(best["state"], source.dtype)
        self.converged_ = best["converged"]
        self.n_iter_ = best["n_iter"]
        self.lower_bound_ = self._as_output(best["lower_bound"], source.dtype)
        self.lower_bounds_ = [self._as_output(b, source.dtype)
                              for b in best["lower_bounds"]]
        return best["state"]

    @staticmethod
    def _as_output(value, dtype):
        """A scalar in the data's float type (scikit-learn's convention: float32
        data give float32 lower bounds and scores)."""
        return np.float32(value) if dtype == np.float32 else float(value)

    def _iterate(self, source, state, lower_bound):
        """One run from ``state``: a pass, an update and the objective per
        iteration, until the objective changes less than ``tol``."""
        lower_bounds = []
        converged = False
        n_iter = 0
        self._iter_clock = perf_counter()
        for n_iter in range(1, self.max_iter + 1):
            previous = lower_bound
            stats = source.stats_pass(*self._pass_params(state), entropy=self._entropy)
            state = self._update(stats, source)
            lower_bound = self._objective(stats, state)
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
            "state": state,
            "lower_bound": lower_bound,
            "lower_bounds": lower_bounds,
            "converged": converged,
            "n_iter": n_iter,
        }

    def _mean_feature_variance(self, source):
        """Mean feature variance of the data, computed at most once per fit (the
        k-means tolerance and the recovery's floor both use it)."""
        if getattr(self, "_feature_variance", None) is None:
            self._feature_variance = source.mean_feature_variance(self._covariance)
        return self._feature_variance

    def _positive_feature_variance(self, source):
        """Mean feature variance of the data, or 1 when the data are constant (the
        scale of the recovery's variance floor)."""
        variance = self._mean_feature_variance(source)
        return variance if variance > 0 else 1.0

    # ------------------------------------------------------------ online

    def _online_step(self, X, sample_weight):
        """One step of stepwise online learning on batch ``X`` (see
        ``partial_fit`` of the estimators): the running statistics s, per unit of
        sample weight, move towards the batch's, s <- (1 - g) s + g s_t with
        g = (t + learning_offset)^-learning_decay, and the state is updated from
        them. ``_online_weight`` is the total sample weight of the batches since
        the last ``fit``."""
        fitted = hasattr(self, "converged_")
        source = self._fit_source(X, sample_weight, reset=not fitted)
        with numba_threads(self.n_jobs, source.n_rows):
            state = self._fit_runs(source) if not fitted else self._fitted_state()
            self._feature_variance = None
            stats = source.stats_pass(*self._pass_params(state), entropy=self._entropy)
            batch = stats.scaled(1.0 / stats.weight)
            running = getattr(self, "_online_stats", None)
            if running is None:
                self.n_steps_ = 1
                self._online_weight = stats.weight
            else:
                self.n_steps_ += 1
                seen = getattr(self, "_online_weight", 0.0)
                self._online_weight = seen + stats.weight
                step = (self.n_steps_ + self.learning_offset) ** -self.learning_decay
                running = running.scaled(1.0 - step) + batch.scaled(step)
                state = self._update_online(running, source)
                # keep the running statistics around the new means (s1 ~ 0)
                batch = running.shifted(self._pass_params(state)[0].means)
                self._set_fitted(state, source.dtype)
            self._online_stats = batch
            self.lower_bound_ = self._as_output(self._online_objective(stats, state),
                                                source.dtype)
        return self

    def _update_online(self, running, source):
        """The state from the running statistics (per unit of sample weight)."""
        return self._update(running, source)

    def _online_objective(self, stats, state):
        """``lower_bound_`` after an online step: the batch's mean log-likelihood
        under the parameters before the step."""
        return stats.loglik / stats.weight

    # ------------------------------------------------------- initialisation

    def _initial_stats(self, source, random_state):
        """Statistics of the initial responsibilities chosen by ``init_params``
        (weighted: zero-weight samples are never chosen as seeds)."""
        k = self.n_components
        ctype = self._covariance
        if hasattr(source, "initial_source"):
            # rows with missing values: the starting point is chosen on the rows
            # mean-filled (see _missing); the data's own variance comes first
            self._mean_feature_variance(source)
            source = source.initial_source()
        if self.init_params == "kmeans":
            centers = kmeans(source, k, random_state, mean_feature_variance=(
                lambda: self._mean_feature_variance(source)))
            return source.nearest_stats(centers, ctype)
        if self.init_params == "random":
            return source.random_stats(k, ctype, random_state, RANDOM_INIT_ROWS)
        if self.init_params == "random_from_data":
            indices = source.random_rows(k, random_state)
            centers = source.rows(indices)
        else:
            centers, indices = kmeans_plusplus(source, k, random_state)
        return source.seeded_stats(centers, indices, ctype)

    # ----------------------------------------------------------- prediction

    def _predict_rows(self, X, mode):
        """Labels, log-densities or responsibilities of each row of ``X`` under the
        fitted model (float32 for float32 data; lazy for a dask array)."""
        check_is_fitted(self)
        params, log_weights = self._pass_params(self._fitted_state())
        if self._accepts_missing() or mode == IMPUTE:
            return self._predict_missing(X, mode, params, log_weights)
        if is_dask_array(X):
            from ._dask import check_dask_X, lazy_prediction

            X = check_dask_X(self, X)
            dtype = X.dtype if X.dtype == np.float32 else np.dtype(np.float64)
            return lazy_prediction(X, params, mode, log_weights, dtype, self.n_jobs,
                                   type(self).__name__)
        name = type(self).__name__
        if is_memory_mapped(X):
            source = ArraySource(self._validate_memory_map(X, reset=False), None,
                                 streamed=True, estimator_name=name)
        else:
            X = validate_data(self, _native_byte_order(X), reset=False,
                              dtype=[np.float64, np.float32])
            source = ArraySource(np.ascontiguousarray(X), estimator_name=name)
        with numba_threads(self.n_jobs, source.n_rows):
            values = source.predict_pass(params, mode, log_weights)
        if mode == LABELS:
            return values
        return values.astype(source.dtype, copy=False)

    def _predict_missing(self, X, mode, params, log_weights):
        """``_predict_rows`` for an X that may hold NaN, and the IMPUTE mode."""
        from ._missing import IMPUTE, impute_array, lazy_missing_prediction

        if is_dask_array(X):
            from ._dask import check_dask_X

            X = check_dask_X(self, X)
            dtype = X.dtype if X.dtype == np.float32 else np.dtype(np.float64)
            return lazy_missing_prediction(X, params, mode, log_weights, dtype,
                                           self.n_jobs, type(self).__name__)
        source = self._missing_source(X, None, reset=False, fit=False)
        with numba_threads(self.n_jobs, source.n_rows):
            if mode == IMPUTE:
                values = impute_array(source, params, log_weights)
            else:
                values = source.predict_pass(params, mode, log_weights)
        if mode == LABELS:
            return values
        return values.astype(source.dtype, copy=False)

    def score_samples(self, X):
        """Log-likelihood of each sample under the model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        log_prob : ndarray of shape (n_samples,)
        """
        return self._predict_rows(X, SCORE)

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
        scores = self.score_samples(X)
        # scikit-learn's mean, in the scores' own type
        return self._as_output(scores.mean(), scores.dtype)

    def predict(self, X):
        """The most likely component of each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        labels : ndarray of shape (n_samples,)
        """
        return self._predict_rows(X, LABELS)

    def predict_proba(self, X):
        """Posterior probability of each component for each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        resp : ndarray of shape (n_samples, n_components)
        """
        return self._predict_rows(X, PROBA)

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
        parts = self._covariance.sample(
            rng, np.asarray(self.means_, dtype=np.float64),
            np.asarray(self.covariances_, dtype=np.float64), counts,
        )
        labels = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
        return np.vstack(parts), labels

    def save(self, path):
        """Write the fitted model to a portable ``.npz`` file (no pickle inside).

        Read it back with :func:`fastgmm.load`.

        Parameters
        ----------
        path : str or path-like
        """
        from ._persistence import save_model

        save_model(self, path)

    # ------------------------------------------------------------- progress

    # Progress goes to standard output, as scikit-learn's does (see the
    # ``verbose`` parameter of the estimators).

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


class InformationCriteriaMixin:
    """``bic`` and ``aic`` of a mixture estimator, from ``score_samples`` at its
    fitted parameters (for a posterior sampler, its posterior means) and the
    covariance type's parameter count."""

    def _n_parameters(self):
        return self._covariance.n_parameters(self.n_components, self.means_.shape[1])

    def _total_log_likelihood(self, X):
        scores = self.score_samples(X)
        n = scores.shape[0]
        return float(np.mean(scores, dtype=np.float64)) * n, n

    def bic(self, X):
        """Bayesian information criterion on ``X`` (lower is better).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        bic : float
        """
        log_likelihood, n = self._total_log_likelihood(X)
        return -2.0 * log_likelihood + self._n_parameters() * np.log(n)

    def aic(self, X):
        """Akaike information criterion on ``X`` (lower is better).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        aic : float
        """
        log_likelihood, _ = self._total_log_likelihood(X)
        return -2.0 * log_likelihood + 2 * self._n_parameters()


class MissingValuesMixin:
    """What an estimator that fits X with NaN (``missing_values="nan"``, see
    ``_missing``) shares: the parameter's constraint, and ``impute``, the
    conditional expectation of the missing values (the estimator documents the
    parameter and stores it; the fit driver reads it, ``_accepts_missing``)."""

    _missing_values_constraint = {"missing_values": [StrOptions({"nan"}), None]}

    def impute(self, X):
        """Fill the missing values (NaN) of ``X`` with their conditional
        expectation under the fitted mixture.

        Each missing entry becomes sum_k r_k E[x_m | x_o, k], where r_k is the
        responsibility of component k given the row's observed values (those of
        :meth:`predict_proba`) and E[x_m | x_o, k] = mu_m - Lambda_mm^-1
        Lambda_mo (x_o - mu_o) the conditional mean under component k's mean
        and precision (``means_``, ``precisions_``; for diag and spherical
        models, mu_m). Observed values are kept. Accepts NaN whatever
        ``missing_values`` is.

        Parameters
        ----------
        X : array-like, memory map or dask array of shape (n_samples, n_features)
            Rows with at least one observed value; X is not modified.

        Returns
        -------
        X_imputed : ndarray (dask array for a dask ``X``) of shape \
                (n_samples, n_features)
            A new array, float32 for float32 data, float64 otherwise.
        """
        return self._predict_rows(X, IMPUTE)

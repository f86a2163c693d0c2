"""Fitting and predicting on dask arrays: the same kernels, run on the chunks.

A ``DaskSource`` implements the ``DataSource`` interface of ``_sources``
(``stats_pass``, the k-means passes, ...). Each pass is one Dask graph: a
task per row chunk of X checks the chunk for NaN and infinity, wraps it in an
in-memory ``ArraySource`` and runs the very same pass on it (the same kernels);
the small results (statistics of K x D x D floats) are summed in a tree of fixed
shape (``SPLIT_EVERY`` children per node) and only the sum comes back to the
client, where the M-step runs. Nothing of the size of X ever leaves the
workers: the k-means initialisation moves K x D centers and a few candidate
rows per step.

The graph is computed on the active scheduler: a ``distributed.Client`` when one
is active (a ``LocalCluster`` or a cluster on many machines: the code is the
same, only the client's scheduler address differs), otherwise Dask's local
threads. Tasks are pure functions of their inputs, so a task lost with a worker
is recomputed elsewhere with the same result, and the tree's fixed shape makes
the sum independent of where each task ran.

X is read once per pass: persist it (``X = X.persist()``) when producing its
chunks is expensive, as for any iterative algorithm on Dask.
"""

import functools
import operator

import dask
import dask.array as da
import numpy as np
from sklearn.utils.validation import _assert_all_finite, _check_feature_names

from . import _kmeans_passes
from ._kernels.kinds import LABELS, PROBA
from ._passes import mean_and_covariance, mean_feature_variance, resp_stats
from ._sources import ArraySource, check_sample_weight, kernel_rows
from ._validation import numba_threads

SPLIT_EVERY = 8


# ------------------------------------------------------------ worker side


def _chunk_source(X, weights, estimator_name="GaussianMixture"):
    """A chunk is in the worker's memory: validate and convert it once and hand
    it to the passes as one resident segment."""
    X = kernel_rows(X)
    _assert_all_finite(X, input_name="X", estimator_name=estimator_name)
    weights = None if weights is None else np.asarray(weights, dtype=np.float64)
    return ArraySource(X, weights, estimator_name=estimator_name)


def _run_pass(method, n_jobs, estimator_name, X, weights, *args):
    """Run ``ArraySource.<method>(*args)`` on one chunk (on a worker)."""
    with numba_threads(n_jobs, len(X)):
        return getattr(_chunk_source(X, weights, estimator_name), method)(*args)


def _locate_in_chunk(n_jobs, estimator_name, X, weights, chosen, draws):
    with numba_threads(n_jobs, len(X)):
        source = _chunk_source(X, weights, estimator_name)
        source.kmeans_mass_total(chosen)
        return source.kmeans_locate(chosen, draws)


def _farthest_in_chunk(n_jobs, estimator_name, start, X, weights, centers,
                       n_wanted):
    with numba_threads(n_jobs, len(X)):
        values, rows = _kmeans_passes.farthest_candidates(
            _chunk_source(X, weights, estimator_name), centers, n_wanted
        )
    return values, rows + start


def _random_in_chunk(n_jobs, estimator_name, X, weights, centers, ctype, seed,
                     window_rows):
    random_state = np.random.RandomState(seed)
    n_components = centers.shape[0]
    stats = None
    with numba_threads(n_jobs, len(X)):
        source = _chunk_source(X, weights, estimator_name)
        for _, rows, row_weights in source.windows(window_rows):
            resp = random_state.uniform(size=(rows.shape[0], n_components))
            resp /= resp.sum(axis=1)[:, None]
            stats = resp_stats(rows, row_weights, centers, ctype, resp) + stats
    return stats


def _weighted_keys_in_chunk(start, weights, seed, n_wanted):
    """Efraimidis-Spirakis keys log(u) / w of the chunk's best ``n_wanted`` rows:
    the rows with the largest keys over all chunks are a weighted sample without
    replacement."""
    weights = np.asarray(weights, dtype=np.float64)
    u = np.random.RandomState(seed).uniform(size=weights.shape[0])
    keys = np.full(weights.shape[0], -np.inf)
    positive = weights > 0
    keys[positive] = np.log(u[positive]) / weights[positive]
    order = np.argsort(keys, kind="stable")[::-1][:n_wanted]
    return keys[order], order + start


def _predict_chunk(X, params, mode, log_weights, dtype, n_jobs, estimator_name):
    with numba_threads(n_jobs, len(X)):
        values = _chunk_source(X, None, estimator_name).predict_pass(
            params, mode, log_weights
        )
    return values if mode == LABELS else values.astype(dtype, copy=False)


def _add(*parts):
    return functools.reduce(operator.add, parts)


def _add_tuples(*parts):
    return tuple(
        functools.reduce(operator.add, values) for values in zip(*parts, strict=True)
    )


# ------------------------------------------------------------ client side


def _tree_sum(parts, combine):
    """Sum delayed values in a tree of fixed shape (``SPLIT_EVERY`` per node)."""
    while len(parts) > 1:
        parts = [
            dask.delayed(combine, pure=True)(*parts[i : i + SPLIT_EVERY])
            for i in range(0, len(parts), SPLIT_EVERY)
        ]
    return parts[0]


def _check_dask_X(estimator, X, reset, min_samples):
    name = type(estimator).__name__
    if X.ndim != 2:
        raise ValueError(
            f"Expected a 2D dask array, got {X.ndim}D with shape {X.shape}. Reshape "
            "it with X.reshape(-1, 1) if it has a single feature."
        )
    if X.dtype.kind not in "biuf":
        raise ValueError(
            f"A dask array X must hold numbers, got dtype {X.dtype}; convert it with "
            "X.astype('float64')."
        )
    if any(np.isnan(size) for size in X.chunks[0]):
        X = X.compute_chunk_sizes()
    n_samples, n_features = X.shape
    if n_samples < min_samples:
        raise ValueError(
            f"Found array with {n_samples} sample(s) (shape={X.shape}) while a "
            f"minimum of {min_samples} is required by {name}."
        )
    if n_features < 1:
        raise ValueError(
            f"Found array with 0 feature(s) (shape={X.shape}) while a minimum of 1 "
            f"is required by {name}."
        )
    _check_feature_names(estimator, X, reset=reset)
    if reset:
        estimator.n_features_in_ = n_features
    elif n_features != estimator.n_features_in_:
        raise ValueError(
            f"X has {n_features} features, but {name} is expecting "
            f"{estimator.n_features_in_} features as input."
        )
    if X.numblocks[1] > 1:
        X = X.rechunk({1: -1})
    return X


def _dask_weights(sample_weight, X):
    """Validated weights as a dask array chunked like X's rows, with their total
    and the number of positive weights (one small pass over the weights)."""
    row_chunks = (X.chunks[0],)
    if sample_weight is None:
        return None, float(X.shape[0]), X.shape[0]
    if not hasattr(sample_weight, "dask"):
        weights = check_sample_weight(sample_weight, X.shape[0])
        total = float(weights.sum())
        n_positive = int(np.count_nonzero(weights))
        return da.from_array(weights, chunks=row_chunks).persist(), total, n_positive
    if sample_weight.ndim != 1:
        raise ValueError(
            "Sample weights must be 1D array or scalar, got shape "
            f"{sample_weight.shape}."
        )
    if sample_weight.shape[0] != X.shape[0]:
        raise ValueError(
            f"sample_weight.shape == {sample_weight.shape}, expected {(X.shape[0],)}!"
        )
    weights = sample_weight.astype(np.float64).rechunk(row_chunks)
    finite, smallest, total, n_positive = dask.compute(
        da.isfinite(weights).all(), weights.min(), weights.sum(),
        da.count_nonzero(weights > 0),
    )
    if not finite:
        raise ValueError("Input sample_weight contains NaN or infinity.")
    if smallest < 0:
        raise ValueError(
            "Negative values in data passed to sample_weight: sample weights must be "
            "non-negative."
        )
    if total <= 0:
        raise ValueError("Sample weights must contain at least one non-zero number.")
    return weights, float(total), int(n_positive)


def dask_source(estimator, X, sample_weight, reset):
    """Validate a dask array (shape, dtype, feature count; NaN and infinity are
    checked chunk by chunk inside the passes) and its weights."""
    X = _check_dask_X(estimator, X, reset, min_samples=2)
    weights, total, n_positive = _dask_weights(sample_weight, X)
    return DaskSource(X, weights, total, n_positive, estimator.n_jobs,
                      type(estimator).__name__)


class DaskSource:
    """A ``DataSource`` over a dask array: the passes of ``ArraySource`` (see
    ``_passes`` and ``_kmeans_passes``), each run as one Dask graph over the row
    chunks of X."""

    def __init__(self, X, sample_weight, total_weight, n_positive, n_jobs,
                 estimator_name="GaussianMixture"):
        self.X = X
        self.estimator_name = estimator_name
        self.sample_weight = sample_weight
        self.total_weight = total_weight
        self.n_positive = n_positive
        self.n_jobs = n_jobs
        self.n_rows, self.n_features = X.shape
        self.dtype = X.dtype if X.dtype in (np.float64, np.float32) else \
            np.dtype(np.float64)
        sizes = np.asarray(X.chunks[0], dtype=np.int64)
        keep = np.flatnonzero(sizes > 0)
        chunk_tasks = X.to_delayed()[:, 0]
        self._x = [chunk_tasks[i] for i in keep]
        if sample_weight is None:
            self._w = [None] * len(keep)
        else:
            weight_tasks = sample_weight.to_delayed()
            self._w = [weight_tasks[i] for i in keep]
        starts = np.concatenate([[0], np.cumsum(sizes)])
        self._starts = starts[keep]
        self._stops = starts[keep + 1]
        self.cache = {}

    # ------------------------------------------------------------ helpers

    def _map(self, method, *args):
        call = dask.delayed(_run_pass, pure=True)
        return [
            call(method, self.n_jobs, self.estimator_name, x, w, *args)
            for x, w in zip(self._x, self._w, strict=True)
        ]

    def _summed(self, method, *args, combine=_add):
        return dask.compute(_tree_sum(self._map(method, *args), combine))[0]

    # -------------------------------------------------------------- passes

    def stats_pass(self, params, log_weights=None, entropy=False):
        return self._summed("stats_pass", params, log_weights, entropy)

    def sampled_pass(self, params, log_weights, draw_key, first_row=0):
        call = dask.delayed(_run_pass, pure=True)
        parts = [
            call("sampled_pass", self.n_jobs, self.estimator_name, x, w, params,
                 log_weights, draw_key, first_row + int(start))
            for x, w, start in zip(self._x, self._w, self._starts, strict=True)
        ]
        return dask.compute(_tree_sum(parts, _add))[0]

    def mean_feature_variance(self, ctype):
        return mean_feature_variance(self, ctype)

    def mean_and_covariance(self, ctype):
        return mean_and_covariance(self, ctype)

    def nearest_stats(self, centers, ctype):
        return self._summed("nearest_stats", centers, ctype)

    def seeded_stats(self, centers, indices, ctype):
        indices = np.asarray(indices, dtype=np.int64)
        call = dask.delayed(_run_pass, pure=True)
        parts = [
            call("seeded_stats", self.n_jobs, self.estimator_name, x, w, centers,
                 indices - start, ctype)
            for x, w, start in zip(self._x, self._w, self._starts, strict=True)
        ]
        return dask.compute(_tree_sum(parts, _add))[0]

    def random_stats(self, n_components, ctype, random_state, window_rows):
        centers = np.repeat(self.rows([0]), n_components, axis=0)
        seeds = random_state.randint(np.iinfo(np.int32).max, size=len(self._x))
        call = dask.delayed(_random_in_chunk, pure=True)
        parts = [
            call(self.n_jobs, self.estimator_name, x, w, centers, ctype, int(seed),
                 window_rows)
            for x, w, seed in zip(self._x, self._w, seeds, strict=True)
        ]
        return dask.compute(_tree_sum(parts, _add))[0]

    def random_rows(self, n_wanted, random_state):
        if self.sample_weight is None:
            return random_state.choice(self.n_rows, size=n_wanted, replace=False)
        seeds = random_state.randint(np.iinfo(np.int32).max, size=len(self._w))
        call = dask.delayed(_weighted_keys_in_chunk, pure=True)
        parts = dask.compute(*[
            call(int(start), w, int(seed), n_wanted)
            for w, start, seed in zip(self._w, self._starts, seeds, strict=True)
        ])
        keys = np.concatenate([p[0] for p in parts])
        rows = np.concatenate([p[1] for p in parts])
        return rows[np.lexsort((rows, keys))[::-1][:n_wanted]]

    def rows(self, indices):
        indices = np.asarray(indices, dtype=np.int64)
        rows = np.asarray(self.X[indices].compute(), dtype=np.float64)
        _assert_all_finite(rows, input_name="X", estimator_name=self.estimator_name)
        return np.ascontiguousarray(rows.reshape(len(indices), self.n_features))

    def subset(self, indices):
        weights = None
        if self.sample_weight is not None:
            # np.asarray computes the dask selection
            weights = np.asarray(self.sample_weight[indices], dtype=np.float64)
            if not np.any(weights > 0):
                return None
        return ArraySource(self.rows(indices), weights,
                           estimator_name=self.estimator_name)

    def predict_pass(self, params, mode, log_weights=None):
        return lazy_prediction(self.X, params, mode, log_weights, np.float64,
                               self.n_jobs, self.estimator_name)

    # ------------------------------------------------------- k-means passes

    def kmeans_mass_total(self, chosen):
        totals = np.asarray(dask.compute(*self._map("kmeans_mass_total", chosen)))
        ends = np.cumsum(totals)
        self.cache["mass_ends"] = ends
        return float(ends[-1])

    def kmeans_locate(self, chosen, draws):
        ends = self.cache.pop("mass_ends")
        owner = np.minimum(np.searchsorted(ends, draws, side="left"), len(ends) - 1)
        call = dask.delayed(_locate_in_chunk, pure=True)
        chunks = np.unique(owner)
        parts = []
        for j in chunks:
            mine = owner == j
            before = ends[j - 1] if j > 0 else 0.0
            parts.append(call(self.n_jobs, self.estimator_name, self._x[j],
                              self._w[j], chosen, draws[mine] - before))
        found = np.empty(draws.shape[0], dtype=np.int64)
        for j, local in zip(chunks, dask.compute(*parts), strict=True):
            found[owner == j] = local + self._starts[j]
        return found

    def kmeans_potentials(self, chosen, candidates):
        return self._summed("kmeans_potentials", chosen, candidates)

    def kmeans_sums(self, centers):
        return self._summed("kmeans_sums", centers, combine=_add_tuples)

    def kmeans_farthest(self, centers, n_wanted):
        call = dask.delayed(_farthest_in_chunk, pure=True)
        parts = dask.compute(*[
            call(self.n_jobs, self.estimator_name, int(start), x, w, centers,
                 n_wanted)
            for x, w, start in zip(self._x, self._w, self._starts, strict=True)
        ])
        values = np.concatenate([p[0] for p in parts])
        rows = np.concatenate([p[1] for p in parts])
        return _kmeans_passes.merge_farthest(values, rows, n_wanted)


def lazy_prediction(X, params, mode, log_weights, dtype, n_jobs, estimator_name):
    """Lazy per-row output of ``mode`` on a dask array, chunked like X's rows:
    labels (int64), or log-densities and responsibilities in ``dtype``."""
    args = (params, mode, log_weights, dtype, n_jobs, estimator_name)
    if mode == PROBA:
        n_components = params.means.shape[0]
        return X.map_blocks(
            _predict_chunk, *args, dtype=dtype,
            chunks=(X.chunks[0], (n_components,)), meta=np.empty((0, 0), dtype=dtype),
        )
    dtype = np.int64 if mode == LABELS else dtype
    return X.map_blocks(
        _predict_chunk, *args, dtype=dtype, drop_axis=1,
        meta=np.empty((0,), dtype=dtype),
    )


def check_dask_X(estimator, X):
    """Shape, dtype and feature checks of a dask array to predict on (NaN and
    infinity are checked chunk by chunk as the prediction is computed)."""
    return _check_dask_X(estimator, X, reset=False, min_samples=1)

"""Missing values (NaN in X) for estimators built with ``missing_values="nan"``.

What changes when X has missing values, and nothing else:

* **validation** (``scan_missing``, before any kernel runs): infinity is always
  rejected; a row with no observed value is rejected naming it; in a fit, a
  feature with no observed value too. The same scan gives the observed
  (weighted) mean and variance of each feature. X is never modified.
* **sources**: ``MissingArraySource`` (in memory or memory-mapped) and
  ``MissingDaskSource`` run the passes of EM and of the predictions through the
  missing-value kernels (``_kernels/missing.py``): the E-step on the observed
  coordinates, statistics completed with the conditional expectations and
  covariances. Data without a NaN never get here: they take the ordinary
  sources, so their fit is bitwise the ordinary fit.
* **initialisation**: k-means and the other ``init_params`` run on the rows with
  each missing entry replaced by its feature's observed mean
  (``initial_source``), only to choose the starting parameters; EM then fits the
  observed values exactly. For arrays and memory maps the kernels read the
  fill in place of each NaN as they load a block (``FilledArraySource``); a
  dask chunk is filled on its worker as the graph computes it. No filled copy
  of X is ever held.
* **variational Bayes** (``BayesianGaussianMixture``): the same passes, whose
  entropy also holds the missing values' posterior entropy (see
  ``_kernels.missing._conditional_entropy``); the default priors read the
  observed moments (``observed_moments``).
"""

import numpy as np

from ._config import BLOCK_ROWS
from ._kernels import missing as kernels
from ._kernels.kinds import (
    LABELS,
    PROBA,
    RESPONSIBILITIES,
    RESPONSIBILITIES_ENTROPY,
    SAMPLED,
)
from ._params import kernel_params
from ._passes import _slots
from ._sources import NO_WEIGHTS, ArraySource, kernel_rows
from ._stats import SufficientStats

IMPUTE = kernels.IMPUTE

# Rows read at a time by the validation scan (a memory map's rows not in a
# kernel's dtype and order are converted a piece at a time).
SCAN_ROWS = 1 << 15


class MissingScan:
    """What one scan of X found: whether it holds NaN, and per feature the
    observed weight, mean and sum of squared deviations (Chan et al.'s merge of
    the pieces)."""

    def __init__(self, n_features):
        self.has_nan = False
        self.weight = np.zeros(n_features)
        self.mean = np.zeros(n_features)
        self.m2 = np.zeros(n_features)

    def add(self, rows, weights, first_row, estimator_name, check_columns=True):
        """Scan rows ``first_row:first_row + len(rows)`` (weights or None), a
        kernel-ready array (``kernel_rows``), in one pass of
        ``_kernels.missing.scan_blocks`` (no scratch the size of the rows)."""
        n_blocks = max(1, -(-rows.shape[0] // BLOCK_ROWS))
        moments = np.empty((n_blocks, 3, rows.shape[1]))
        problems = np.empty((n_blocks, 4), dtype=np.int64)
        weights = NO_WEIGHTS if weights is None else np.ascontiguousarray(
            weights, dtype=np.float64)
        kernels.scan_blocks(rows, weights, moments, problems)
        infinite = problems[:, kernels.FIRST_INFINITE]
        if np.any(infinite >= 0):
            raise ValueError(
                f"Input X contains infinity or a value too large for "
                f"{rows.dtype!r} (row {first_row + int(infinite[infinite >= 0][0])}); "
                f"{estimator_name} accepts NaN as a missing value "
                "(missing_values='nan') but not infinity."
            )
        empty = problems[:, kernels.FIRST_EMPTY]
        if np.any(empty >= 0):
            n_empty = int(problems[:, kernels.N_EMPTY].sum())
            raise ValueError(
                f"Row {first_row + int(empty[empty >= 0][0])} of X has no observed "
                f"value (every feature is NaN; {n_empty} such row(s) in rows "
                f"{first_row} to {first_row + len(rows) - 1}). Drop such rows: "
                "a row without observed values carries no information."
            )
        self.has_nan |= bool(problems[:, kernels.N_NAN].any())
        if not check_columns:
            return
        # the blocks' moments combined exactly (Chan et al.), then merged in
        n_blocks, mean_blocks, m2_blocks = moments.transpose(1, 0, 2)
        n_b = n_blocks.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_b = np.where(n_b > 0, (n_blocks * mean_blocks).sum(axis=0) / n_b,
                              0.0)
        m2_b = (m2_blocks + n_blocks * (mean_blocks - mean_b) ** 2).sum(axis=0)
        total = self.weight + n_b
        delta = mean_b - self.mean
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(total > 0, n_b / total, 0.0)
        self.m2 = self.m2 + m2_b + delta**2 * self.weight * share
        self.mean = self.mean + delta * share
        self.weight = total

    def check_columns(self):
        empty = np.flatnonzero(self.weight <= 0)
        if empty.size:
            raise ValueError(
                f"Feature (column) {int(empty[0])} of X has no observed value "
                f"({empty.size} such column(s)): every one of its entries is NaN or "
                "has zero sample weight. Drop the column."
            )

    def mean_feature_variance(self):
        return float((self.m2 / self.weight).mean())


def scan_array(X, weights, estimator_name, fit=True):
    """Scan an in-memory or memory-mapped X in pieces of ``SCAN_ROWS`` rows (the
    weighted observed moments only in a fit)."""
    scan = MissingScan(X.shape[1])
    for start in range(0, X.shape[0], SCAN_ROWS):
        stop = min(X.shape[0], start + SCAN_ROWS)
        w = None if weights is None else weights[start:stop]
        scan.add(kernel_rows(X[start:stop]), w, start, estimator_name,
                 check_columns=fit)
    if fit and scan.has_nan:
        scan.check_columns()
    return scan


# --------------------------------------------------------------- the passes


def missing_params(params, log_weights):
    """Kernel layout of ``params`` and what the missing-value kernels read
    besides (``_kernels.missing.accumulate_missing``): ``(kp, precision,
    precision_t, log_minors, columns, center)``."""
    kp = kernel_params(params, log_weights)
    name = params.covariance_type.name
    n_components, n_features = kp.means.shape
    unused = np.zeros((1, 1, 1))
    no_center = np.zeros(1)
    if name == "full":
        precision = np.ascontiguousarray(params.precisions)
        diagonal = np.einsum("kaa->ka", precision)
        with np.errstate(invalid="ignore", divide="ignore"):
            log_minors = np.log(diagonal[:, :, None] * diagonal[:, None, :]
                                - precision**2)
        index = np.arange(n_features)
        log_minors[:, index, index] = np.log(diagonal)
        # missing values are solved around a point near the data, as tied's
        center = kp.means.mean(axis=0)
        columns = np.einsum("kab,kb->ak", precision, kp.means - center)
        return (kp, precision, np.ascontiguousarray(precision.transpose(1, 2, 0)),
                np.ascontiguousarray(log_minors.transpose(1, 2, 0)),
                np.ascontiguousarray(columns), center)
    if name == "tied":
        precision = np.ascontiguousarray(params.precisions)[None]
        columns = np.ascontiguousarray(((kp.means - kp.shift) @ precision[0]).T)
        return kp, precision, unused, unused, columns, no_center
    log_minors = np.ascontiguousarray(np.log(np.broadcast_to(
        kp.factor[:, :1], (n_components, 1, n_features))))
    return kp, unused, unused, log_minors, np.zeros((1, 1)), no_center


def stats_pass(source, params, log_weights=None, entropy=False, draw_key=None,
               first_row=0):
    """``_passes.stats_pass`` on rows with missing values (with ``draw_key``, a
    Gibbs sweep's: components and missing values drawn, see
    ``_kernels.missing.accumulate_missing``)."""
    ctype = params.covariance_type
    kp, *missing = missing_params(params, log_weights)
    s0, s1, s2 = _slots(source.n_chunks, kp.means.shape[0], source.n_features, ctype)
    loglik = np.empty(source.n_chunks)
    chunk_entropy = np.zeros(source.n_chunks)
    mode = RESPONSIBILITIES_ENTROPY if entropy else RESPONSIBILITIES
    if draw_key is not None:
        mode = SAMPLED
    key = np.uint64(0 if draw_key is None else draw_key)
    for seg in source.segments():
        c = slice(seg.chunk_start, seg.chunk_stop)
        kernels.accumulate_missing(
            kp.kind, mode, seg.X, seg.weights, kp.means, kp.factor, kp.log_norm,
            kp.aux, kp.shift, *missing, source.chunk_rows, s0[c], s1[c], s2[c],
            loglik[c], chunk_entropy[c], key, np.uint64(first_row + seg.start),
        )
    return SufficientStats.from_chunks(
        ctype, s0, s1, s2, kp.means, kp.shift, loglik, source.total_weight,
        chunk_entropy,
    )


def predict_pass(source, params, mode, log_weights=None):
    """``_passes.predict_pass`` on rows with missing values, with one more mode,
    IMPUTE: (N, D) rows completed by their conditional expectations."""
    kp, *missing = missing_params(params, log_weights)
    n_rows = source.n_rows
    n_components = kp.means.shape[0]
    width = {PROBA: n_components, IMPUTE: source.n_features}.get(mode, 1)
    values = np.empty((n_rows, width) if mode != LABELS else (0, 1))
    labels = np.empty(n_rows if mode == LABELS else 0, dtype=np.int64)
    for seg in source.segments():
        rows = slice(seg.start, seg.stop)
        kernels.predict_missing(
            kp.kind, mode, seg.X, kp.means, kp.factor, kp.log_norm, kp.aux,
            kp.shift, *missing, values[rows] if mode != LABELS else values,
            labels[rows] if mode == LABELS else labels,
        )
    if mode == LABELS:
        return labels
    if mode in (PROBA, IMPUTE):
        return values
    return values[:, 0]


class MissingArraySource(ArraySource):
    """An ``ArraySource`` whose rows hold NaN (missing values), already scanned
    (``scan``): EM's and the predictions' passes run the missing-value kernels;
    the initialisation runs on ``initial_source()``."""

    def __init__(self, X, sample_weight=None, *, scan, streamed=False,
                 estimator_name="GaussianMixture"):
        super().__init__(X, sample_weight, streamed=streamed,
                         estimator_name=estimator_name)
        self.scan = scan
        self._checked = True  # the scan has seen every row

    def stats_pass(self, params, log_weights=None, entropy=False):
        return stats_pass(self, params, log_weights, entropy)

    def sampled_pass(self, params, log_weights, draw_key, first_row=0):
        return stats_pass(self, params, log_weights, draw_key=draw_key,
                          first_row=first_row)

    def predict_pass(self, params, mode, log_weights=None):
        return predict_pass(self, params, mode, log_weights)

    def mean_feature_variance(self, ctype):
        return self.scan.mean_feature_variance()

    def mean_and_covariance(self, ctype):
        return observed_moments(self.initial_source(), self.scan, ctype)

    def initial_source(self):
        """The rows with each NaN read as its feature's observed mean, block by
        block in the kernels (no copy of X)."""
        return FilledArraySource(self.X, self.sample_weight, fill=self.scan.mean,
                                 streamed=self.streamed,
                                 estimator_name=self.estimator_name)


def observed_moments(filled, scan, ctype):
    """The data's mean and covariance (``Source.mean_and_covariance``, the
    default priors of variational Bayes) for rows with missing values: each
    feature's observed mean, and the covariance of the rows mean-filled
    (``filled``) with each feature rescaled to its observed variance. Filling
    leaves the means but shrinks feature a's variance by its observed share of
    the weight, W_a / W, and the covariances with it; the rescaling restores
    the variances, keeps the filled rows' correlations, and so keeps the
    matrix positive semi-definite (a pairwise-complete estimate need not be)."""
    _, covariance = filled.mean_and_covariance(ctype)
    scale = np.sqrt(filled.total_weight / scan.weight)
    return scan.mean.copy(), covariance * np.outer(scale, scale)


def fill_nan(rows, fill):
    """Replace, in place, each NaN of ``rows`` by its feature's ``fill`` (same
    dtype); returns ``rows``. The initialisation's view of rows with missing
    values, in memory, memory-mapped and in dask chunks alike."""
    np.copyto(rows, np.broadcast_to(fill, rows.shape), where=np.isnan(rows))
    return rows


class FilledArraySource(ArraySource):
    """X (in memory or memory-mapped) seen with each NaN replaced by ``fill``
    (per feature): the initialisation's view of rows with missing values. The
    kernels read ``fill`` in place of a NaN as they load each block
    (``_kernels.common.fill_block``), so no filled copy of X, nor of a segment,
    is ever made; segments are those of the complete-data fit."""

    def __init__(self, X, sample_weight=None, *, fill, streamed=False,
                 estimator_name="GaussianMixture"):
        super().__init__(X, sample_weight, streamed=streamed,
                         estimator_name=estimator_name)
        # the value X's dtype holds (float32 data are filled in float32)
        self.fill = fill.astype(self.dtype).astype(np.float64)
        self._checked = True  # the scan has seen every row

    def rows(self, indices):
        # one copy: the rows taken (in X's dtype, filled there), as float64
        rows = np.asarray(self.X[np.asarray(indices, dtype=np.int64)])
        if rows.dtype != self.dtype:
            rows = rows.astype(self.dtype)
        fill_nan(rows, self.fill.astype(self.dtype))
        return np.ascontiguousarray(rows, dtype=np.float64)


def missing_array_source(X, weights, streamed, estimator_name, fit=True):
    """The source of a validated in-memory or memory-mapped X: scanned, then an
    ordinary ``ArraySource`` when it holds no NaN, else a ``MissingArraySource``."""
    scan = scan_array(X, weights, estimator_name, fit=fit)
    if not scan.has_nan:
        return ArraySource(X, weights, streamed=streamed, estimator_name=estimator_name)
    return MissingArraySource(X, weights, scan=scan, streamed=streamed,
                              estimator_name=estimator_name)


# ------------------------------------------------------------------- dask


def _scan_chunk(X, weights, start, estimator_name, fit):
    scan = MissingScan(X.shape[1])
    scan.add(kernel_rows(X), weights, start, estimator_name,
             check_columns=fit)
    return scan


def _merge_scans(*scans):
    merged = scans[0]
    for other in scans[1:]:
        merged.has_nan |= other.has_nan
        total = merged.weight + other.weight
        delta = other.mean - merged.mean
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(total > 0, other.weight / total, 0.0)
        merged.m2 = merged.m2 + other.m2 + delta**2 * merged.weight * share
        merged.mean = merged.mean + delta * share
        merged.weight = total
    return merged


def scan_dask(source, fit=True):
    """Scan every dask chunk (one graph): the ``MissingScan`` of X."""
    import dask

    from ._dask import _tree_sum

    call = dask.delayed(_scan_chunk, pure=True)
    parts = [call(x, w, int(start), source.estimator_name, fit)
             for x, w, start in zip(source._x, source._w, source._starts,
                                    strict=True)]
    scan = dask.compute(_tree_sum(parts, _merge_scans))[0]
    if fit and scan.has_nan:
        scan.check_columns()
    return scan


def _chunk_pass(method, n_jobs, estimator_name, X, weights, *args):
    """``MissingArraySource.<method>(*args)`` on one dask chunk (on a worker)."""
    from ._validation import numba_threads

    X = kernel_rows(X)
    weights = None if weights is None else np.asarray(weights, dtype=np.float64)
    with numba_threads(n_jobs, len(X)):
        source = missing_array_source(X, weights, False, estimator_name, fit=False)
        return getattr(source, method)(*args)


def _fill_chunk(X, fill):
    X = np.array(X, copy=True)
    return fill_nan(X, fill.astype(X.dtype))


def missing_dask_source(source, fit=True):
    """A ``DaskSource`` whose X holds NaN as a ``MissingDaskSource``, else itself."""
    scan = scan_dask(source, fit=fit)
    if not scan.has_nan:
        return source
    return MissingDaskSource(source, scan)


def _dask_class():
    from ._dask import DaskSource

    return DaskSource


class MissingDaskSource:
    """A ``DaskSource`` over a dask array holding NaN: the EM and prediction
    passes run ``MissingArraySource``'s on each chunk; the initialisation runs on
    a lazily mean-filled copy (``initial_source``)."""

    def __init__(self, source, scan):
        self.base = source
        self.scan = scan
        for name in ("X", "estimator_name", "sample_weight", "total_weight",
                     "n_positive", "n_jobs", "n_rows", "n_features", "dtype",
                     "cache"):
            setattr(self, name, getattr(source, name))

    def _summed(self, method, *args, first_row=None):
        """``MissingArraySource.<method>(*args)`` on every chunk, summed; with
        ``first_row``, each chunk also gets the global index of its first row
        (first_row + the chunk's start) as the last argument."""
        import dask

        from ._dask import _add, _tree_sum

        call = dask.delayed(_chunk_pass, pure=True)
        parts = [
            call(method, self.n_jobs, self.estimator_name, x, w, *args,
                 *(() if first_row is None else (first_row + int(start),)))
            for x, w, start in zip(self.base._x, self.base._w, self.base._starts,
                                   strict=True)
        ]
        return dask.compute(_tree_sum(parts, _add))[0]

    def stats_pass(self, params, log_weights=None, entropy=False):
        return self._summed("stats_pass", params, log_weights, entropy)

    def sampled_pass(self, params, log_weights, draw_key, first_row=0):
        return self._summed("sampled_pass", params, log_weights, draw_key,
                            first_row=first_row)

    def mean_feature_variance(self, ctype):
        return self.scan.mean_feature_variance()

    def mean_and_covariance(self, ctype):
        return observed_moments(self.initial_source(), self.scan, ctype)

    def predict_pass(self, params, mode, log_weights=None):
        return lazy_missing_prediction(self.X, params, mode, log_weights,
                                       np.float64, self.n_jobs, self.estimator_name)

    def initial_source(self):
        filled = self.X.map_blocks(_fill_chunk, self.scan.mean, dtype=self.X.dtype)
        return _dask_class()(filled, self.sample_weight, self.total_weight,
                             self.n_positive, self.n_jobs, self.estimator_name)


def _predict_chunk(X, params, mode, log_weights, dtype, n_jobs, estimator_name):
    if mode == IMPUTE and not np.isnan(X).any():
        # the ordinary passes have no IMPUTE mode: complete rows are their own
        _scan_chunk(X, None, 0, estimator_name, False)
        return np.array(X, dtype=dtype)
    values = _chunk_pass("predict_pass", n_jobs, estimator_name, X, None, params,
                         mode, log_weights)
    return values if mode == LABELS else values.astype(dtype, copy=False)


def lazy_missing_prediction(X, params, mode, log_weights, dtype, n_jobs,
                            estimator_name):
    """``_dask.lazy_prediction`` for a dask X that may hold NaN (and IMPUTE)."""
    args = (params, mode, log_weights, dtype, n_jobs, estimator_name)
    if mode in (PROBA, IMPUTE):
        width = params.means.shape[0] if mode == PROBA else X.shape[1]
        return X.map_blocks(
            _predict_chunk, *args, dtype=dtype, chunks=(X.chunks[0], (width,)),
            meta=np.empty((0, 0), dtype=dtype),
        )
    dtype = np.int64 if mode == LABELS else dtype
    return X.map_blocks(_predict_chunk, *args, dtype=dtype, drop_axis=1,
                        meta=np.empty((0,), dtype=dtype))


def impute_array(source, params, log_weights=None):
    """Rows of an in-memory or memory-mapped source completed by their
    conditional expectations (float64, a new array)."""
    if isinstance(source, MissingArraySource):
        return predict_pass(source, params, IMPUTE, log_weights)
    return np.array(source.X, dtype=np.float64)


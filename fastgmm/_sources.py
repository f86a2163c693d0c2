"""Where the rows of a fit come from: the ``DataSource`` interface, and its
in-memory and memory-mapped implementation ``ArraySource``.

Words used throughout fastgmm, one per concept:

* **kernel block**: the ``BLOCK_ROWS`` (256) rows a kernel holds transposed at a
  time (``_kernels``);
* **chunk**: one of at most ``MAX_CHUNKS`` runs of rows fixed by the number of
  rows alone (``_config.chunk_layout``); each chunk is reduced by one thread into
  its own slot, and slots are summed in chunk order;
* **segment**: a run of whole chunks handed to one kernel call (``Segment``): all
  the rows of an in-memory array, a bounded part of a memory-mapped file;
* **window**: a fixed number of rows, not aligned with chunks, for the few
  passes that run in order (random initial responsibilities, k-means++' running
  mass);
* **dask chunk**: a piece of a dask array, a source of its own on a worker
  (``_dask``).

Every pass over the data (``_passes``, ``_kmeans_passes``) walks an
``ArraySource`` segment by segment and each kernel call writes the slots of its
chunks, so the result does not depend on how chunks are grouped into segments: a
memory-mapped fit read segment by segment is bitwise equal to the fit of the
same rows in memory.

* An in-memory array has been validated (finite, float32/float64, C-contiguous)
  before it gets here and is one segment.
* A memory-mapped array (``np.memmap``, ``np.load(..., mmap_mode='r')``) is read
  segment by segment: each is a view of the mapping (copied only when the file is
  not C-ordered float32/float64) and is checked for NaN and infinity just before
  its first kernel, so X is never copied, not even to validate it. Per-row
  scratch (k-means labels and distances) is bounded by ``STREAM_SEGMENT_BYTES``
  per segment.
"""

from dataclasses import dataclass
from numbers import Real
from typing import Protocol

import numba
import numpy as np
from sklearn.utils import check_array
from sklearn.utils.validation import _assert_all_finite

from . import _kmeans_passes, _passes
from ._config import chunk_layout

NO_WEIGHTS = np.empty(0, dtype=np.float64)

# Per-row scratch a streamed segment may hold at once (k-means labels, distances,
# cumulative masses, a converted copy of the segment): 64 MiB, about 4 million
# rows of k-means scratch. A segment is never smaller than one chunk.
STREAM_SEGMENT_BYTES = 64 * 2**20

_KERNEL_DTYPES = (np.dtype(np.float64), np.dtype(np.float32))


class DataSource(Protocol):
    """What the fit driver, the initialisations and the estimators need of the
    data, whatever holds it: ``ArraySource`` (in memory, memory-mapped) and
    ``_dask.DaskSource`` implement it. Statistics come back summed over all rows;
    nothing per row does, except from ``predict_pass``.
    """

    n_rows: int
    n_features: int
    dtype: np.dtype
    sample_weight: object  # None, an (N,) float64 array, or a dask array
    total_weight: float
    n_positive: int
    cache: dict  # scratch the k-means passes keep between calls

    def stats_pass(self, params, log_weights=None, entropy=False):
        """``SufficientStats`` of one E-step (``_passes.stats_pass``)."""

    def sampled_pass(self, params, log_weights, draw_key, first_row=0):
        """A Gibbs sweep's statistics: one component drawn per row, keyed by
        ``draw_key`` and the global row index (``_passes.stats_pass``)."""

    def mean_feature_variance(self, ctype) -> float:
        """Mean of the features' weighted variances (with the kernel of the fit's
        covariance type ``ctype``, so that no other compiles)."""

    def mean_and_covariance(self, ctype):
        """The weighted mean (D,) and covariance (D, D) of the rows (diagonal for
        'diag' and 'spherical' ``ctype``)."""

    def nearest_stats(self, centers, ctype):
        """Statistics with every row assigned to its nearest center."""

    def seeded_stats(self, centers, indices, ctype):
        """Statistics with only row ``indices[k]`` assigned, to component k."""

    def random_stats(self, n_components, ctype, random_state, window_rows):
        """Statistics under random responsibilities from ``random_state``."""

    def random_rows(self, n_wanted, random_state):
        """Distinct row indices drawn proportionally to the weights."""

    def rows(self, indices):
        """Rows ``indices`` as a float64 (m, D) array, checked for finiteness."""

    def predict_pass(self, params, mode, log_weights=None):
        """Per-row log-densities, labels or responsibilities (``kinds``)."""

    def kmeans_mass_total(self, chosen) -> float:
        """k-means++: total sampling mass (see ``_kmeans``)."""

    def kmeans_locate(self, chosen, draws):
        """k-means++: rows where the running mass reaches each draw."""

    def kmeans_potentials(self, chosen, candidates):
        """k-means++: the potential after adding each candidate."""

    def kmeans_sums(self, centers):
        """Lloyd: weighted sums and masses of the rows nearest each center."""

    def kmeans_farthest(self, centers, n_wanted):
        """Lloyd: the positive-weight rows farthest from their centers."""


def kernel_rows(rows):
    """``rows`` as the kernels read them, C-ordered float32/float64 in native
    byte order: a view when they already are, else a float64 copy."""
    rows = np.asarray(rows)
    dtype = rows.dtype if rows.dtype in _KERNEL_DTYPES else np.float64
    return np.ascontiguousarray(rows, dtype=dtype)


def read_only(rows):
    """A read-only view of ``rows``, as every segment is handed to the kernels.

    Numba compiles a kernel once per argument type, and a read-only array (a
    memory map opened with mode 'r') is another type than a writable one. Two
    compilations of a kernel may vectorise its sums differently, which changes
    the last bits of the results; with every array read-only, in-memory data,
    memory maps and copied segments run the same machine code, so they give
    the same bits (and the kernels compile once)."""
    view = rows.view()
    view.flags.writeable = False
    return view


@dataclass
class Segment:
    """Rows ``start:stop`` of a source, ready for a kernel: ``X`` C-contiguous
    float32/float64 and finite; ``weights`` their sample weights or an empty array
    (all ones); chunks ``chunk_start:chunk_stop`` of the source's partition."""

    index: int
    X: np.ndarray
    weights: np.ndarray
    start: int
    stop: int
    chunk_start: int
    chunk_stop: int


class ArraySource:
    """A ``DataSource`` over a NumPy array or memory map, handed to the kernels in
    segments of whole chunks.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Validated C-contiguous float32/float64 array (``streamed=False``), or any
        2-D numeric array, typically a memory map (``streamed=True``), converted
        and checked for finiteness segment by segment.
    sample_weight : ndarray of shape (n_samples,) float64, or None
        Validated weights (``check_sample_weight``); None means all ones.
    streamed : bool
        Whether to read X segment by segment with bounded scratch (memory maps)
        rather than as one resident segment.
    """

    def __init__(self, X, sample_weight=None, *, streamed=False,
                 estimator_name="GaussianMixture"):
        self.X = X
        self.estimator_name = estimator_name
        self.sample_weight = sample_weight
        self.n_rows, self.n_features = X.shape
        self.streamed = streamed
        self.n_chunks, self.chunk_rows = chunk_layout(self.n_rows)
        native = X.dtype.newbyteorder("=")
        self.dtype = native if native in _KERNEL_DTYPES else np.dtype(np.float64)
        self._needs_copy = streamed and not (
            X.dtype == self.dtype and X.flags.c_contiguous
        )
        # finiteness (and layout) of every row is known once one full pass is done
        self._checked = not streamed
        self.total_weight = (
            float(self.n_rows) if sample_weight is None else float(sample_weight.sum())
        )
        self.n_positive = (
            self.n_rows if sample_weight is None
            else int(np.count_nonzero(sample_weight))
        )
        # k-means scratch kept between passes, only when X is resident (see _kmeans)
        self.resident = not streamed
        self.cache = {}
        # the values the kernels read in place of NaN, per feature: None, X has
        # none (see ``_missing.FilledArraySource``)
        self.fill = None

    # ---------------------------------------------------------------- segments

    def _chunks_per_segment(self, scratch_bytes_per_row):
        if not self.streamed:
            return self.n_chunks
        row_bytes = scratch_bytes_per_row
        if self._needs_copy:
            row_bytes += 8 * self.n_features
        threads = numba.get_num_threads()
        if row_bytes == 0:
            if self._checked:
                # a view of the file, no scratch, nothing to check: one segment
                return self.n_chunks
            # check each part of the file just before the kernels read it
            return max(1, min(self.n_chunks, threads))
        by_memory = STREAM_SEGMENT_BYTES // (row_bytes * self.chunk_rows)
        return int(max(1, min(self.n_chunks, threads, by_memory)))

    def segments(self, scratch_bytes_per_row=0, only=None):
        """Yield the source's ``Segment`` objects in row order.

        ``scratch_bytes_per_row`` is the per-row scratch the caller will allocate
        for each segment; streamed segments are sized so it stays within
        ``STREAM_SEGMENT_BYTES`` (the same value always gives the same segments).
        ``only``: the indices of the segments wanted (default: all).
        """
        per_segment = self._chunks_per_segment(scratch_bytes_per_row)
        for index, chunk_start in enumerate(range(0, self.n_chunks, per_segment)):
            if only is not None and index not in only:
                continue
            chunk_stop = min(self.n_chunks, chunk_start + per_segment)
            start = chunk_start * self.chunk_rows
            stop = min(self.n_rows, chunk_stop * self.chunk_rows)
            yield Segment(index, read_only(self._rows_ready(start, stop)),
                          self.weights(start, stop), start, stop, chunk_start,
                          chunk_stop)
        if only is None:
            self._checked = True

    def windows(self, n_rows):
        """Yield ``(start, X, weights)`` for consecutive windows of ``n_rows`` rows,
        ready for a kernel (each window is partitioned on its own)."""
        for start in range(0, self.n_rows, n_rows):
            stop = min(self.n_rows, start + n_rows)
            yield (start, read_only(self._rows_ready(start, stop)),
                   self.weights(start, stop))
        self._checked = True

    def weights(self, start, stop):
        if self.sample_weight is None:
            return NO_WEIGHTS
        return self.sample_weight[start:stop]

    def _rows_ready(self, start, stop):
        rows = self.X[start:stop]
        if self._needs_copy:
            rows = np.ascontiguousarray(rows, dtype=self.dtype)
        else:
            rows = np.asarray(rows)  # a plain view of a memory map
        if not self._checked:
            _assert_all_finite(rows, input_name="X", estimator_name=self.estimator_name)
        return rows

    def random_rows(self, n_wanted, random_state):
        """Distinct rows drawn at random, proportionally to their weights."""
        if self.sample_weight is None:
            return random_state.choice(self.n_rows, size=n_wanted, replace=False)
        p = self.sample_weight / self.sample_weight.sum()
        return random_state.choice(self.n_rows, size=n_wanted, replace=False, p=p)

    def rows(self, indices):
        """Rows ``indices`` as a float64 (m, D) array (checked for finiteness)."""
        rows = np.asarray(self.X[np.asarray(indices, dtype=np.int64)], dtype=np.float64)
        if not self._checked:
            _assert_all_finite(rows, input_name="X", estimator_name=self.estimator_name)
        return np.ascontiguousarray(rows)

    def subset(self, indices):
        """An in-memory source of rows ``indices`` with their weights, or None
        when their weights are all zero."""
        weights = None
        if self.sample_weight is not None:
            weights = np.asarray(self.sample_weight[indices], dtype=np.float64)
            if not np.any(weights > 0):
                return None
        return ArraySource(self.rows(indices), weights,
                           estimator_name=self.estimator_name)


    # ------------------------------------------------------ passes (see _passes)

    def stats_pass(self, params, log_weights=None, entropy=False):
        return _passes.stats_pass(self, params, log_weights, entropy)

    def sampled_pass(self, params, log_weights, draw_key, first_row=0):
        return _passes.stats_pass(self, params, log_weights, draw_key=draw_key,
                                  first_row=first_row)

    def mean_feature_variance(self, ctype):
        return _passes.mean_feature_variance(self, ctype)

    def mean_and_covariance(self, ctype):
        return _passes.mean_and_covariance(self, ctype)

    def nearest_stats(self, centers, ctype):
        return _passes.nearest_stats(self, centers, ctype)

    def seeded_stats(self, centers, indices, ctype):
        return _passes.seeded_stats(self, centers, indices, ctype)

    def random_stats(self, n_components, ctype, random_state, window_rows):
        return _passes.random_stats(self, n_components, ctype, random_state,
                                    window_rows)

    def predict_pass(self, params, mode, log_weights=None):
        return _passes.predict_pass(self, params, mode, log_weights)

    # ----------------------------------------- k-means passes (see _kmeans_passes)

    def kmeans_mass_total(self, chosen):
        return _kmeans_passes.mass_total(self, chosen)

    def kmeans_locate(self, chosen, draws):
        return _kmeans_passes.locate(self, chosen, draws)

    def kmeans_potentials(self, chosen, candidates):
        return _kmeans_passes.potentials(self, chosen, candidates)

    def kmeans_sums(self, centers):
        return _kmeans_passes.lloyd_sums(self, centers)

    def kmeans_farthest(self, centers, n_wanted):
        return _kmeans_passes.farthest(self, centers, n_wanted)


def is_memory_mapped(X):
    """Whether X is a NumPy memory map (or a view of one) to be streamed."""
    return isinstance(X, np.memmap)


def is_dask_array(X):
    """Whether X is a dask array, without importing dask."""
    return type(X).__module__.split(".")[0] == "dask" and hasattr(X, "chunks")


def check_sample_weight(sample_weight, n_samples):
    """Validated float64 sample weights of shape (n_samples,), or None.

    Accepts None (all ones), a number (the same weight for every sample) or an
    array-like; rejects NaN and infinity, negative weights, a wrong shape and
    all-zero weights. The caller's array is never modified (a float64 C-contiguous
    input is returned as is and only read).
    """
    if sample_weight is None:
        return None
    if isinstance(sample_weight, Real) and not isinstance(sample_weight, bool):
        if not np.isfinite(sample_weight):
            raise ValueError(f"sample_weight must be finite, got {sample_weight!r}.")
        sample_weight = np.full(n_samples, float(sample_weight))
    else:
        sample_weight = check_array(
            sample_weight, accept_sparse=False, ensure_2d=False, dtype=np.float64,
            order="C", input_name="sample_weight", ensure_min_samples=0,
        )
        if sample_weight.ndim != 1:
            raise ValueError(
                "Sample weights must be 1D array or scalar, got an array of shape "
                f"{sample_weight.shape}."
            )
        if sample_weight.shape != (n_samples,):
            raise ValueError(
                f"sample_weight.shape == {sample_weight.shape}, expected "
                f"{(n_samples,)}!"
            )
    if np.any(sample_weight < 0):
        raise ValueError(
            "Negative values in data passed to sample_weight: sample weights must be "
            "non-negative."
        )
    if not np.any(sample_weight > 0):
        raise ValueError("Sample weights must contain at least one non-zero number.")
    return sample_weight

"""One pass over an in-memory or memory-mapped source: the glue between the fit
driver and the kernels.

Each function takes an ``ArraySource`` (``_sources``), allocates one output slot
per chunk of the source's partition, lets each segment's kernel call fill the
slots of its chunks, and sums the slots in chunk order at the end, so the result
does not depend on how the rows were grouped into segments. Nothing is validated
here (the estimator has); nothing of size N x K is allocated. ``DaskSource``
runs these same functions on each dask chunk and adds the results.
"""

import numpy as np

from ._config import chunk_layout
from ._covariance import COVARIANCE_TYPES, Diag, covariance_type
from ._kernels import em
from ._kernels.kinds import (
    LABELS,
    PROBA,
    RESPONSIBILITIES,
    SAMPLED,
    SPHERICAL,
)
from ._params import kernel_params
from ._stats import SufficientStats, m_step, pass_entropy

NO_SEEDS = np.empty(0, dtype=np.int64)


class _SphericalPassDiag(Diag):
    """'diag' statistics taken in spherical's passes (of given assignments,
    which per-feature sums serve), so a spherical fit compiles no pass of the
    DIAG kind."""

    kernel_kind = SPHERICAL


_DIAG_OF = {"diag": COVARIANCE_TYPES["diag"], "spherical": _SphericalPassDiag()}


def _slots(n_chunks, n_components, n_features, ctype):
    return (
        np.empty((n_chunks, n_components)),
        np.empty((n_chunks, n_components, n_features)),
        np.empty(ctype.slot_shape(n_chunks, n_components, n_features)),
    )


def stats_pass(source, params, log_weights=None, entropy=False, draw_key=None,
               first_row=0):
    """The E-step under ``params`` fused with the statistics of the update.

    ``log_weights`` (K,): the per-component term added to the Gaussian
    log-densities (default: log of ``params.weights``, EM's). With ``entropy``,
    the statistics also carry sum_n w_n sum_k r_nk log r_nk (variational Bayes),
    taken from the statistics after the pass (``_stats.pass_entropy``), so the
    kernels do the same work as for EM.
    With ``draw_key`` (a sweep's key, ``_kernels.random.sweep_key``), they are
    those of one component sampled per row instead (a Gibbs sweep); the source's
    first row has the global index ``first_row``, which keys its draws.
    """
    ctype = params.covariance_type
    kp = kernel_params(params, log_weights)
    s0, s1, s2 = _slots(source.n_chunks, kp.means.shape[0], source.n_features, ctype)
    loglik = np.empty(source.n_chunks)
    mode = RESPONSIBILITIES if draw_key is None else SAMPLED
    key = np.uint64(0 if draw_key is None else draw_key)
    for seg in source.segments():
        c = slice(seg.chunk_start, seg.chunk_stop)
        em.accumulate(kp.kind, mode, seg.X, seg.weights, kp.means, kp.factor,
                      kp.log_norm, kp.aux, kp.shift, source.chunk_rows, s0[c], s1[c],
                      s2[c], loglik[c], key,
                      np.uint64(first_row + seg.start), source.fill)
    stats = SufficientStats.from_chunks(
        ctype, s0, s1, s2, kp.means, kp.shift, loglik, source.total_weight,
    )
    if entropy:
        stats.entropy = pass_entropy(stats, kp.log_norm, params.precisions_cholesky)
    return stats


def _one_component_fit(source, ctype):
    """Mean (D,) and covariance (D, D) of the rows, from the statistics of every
    row assigned to one center, the first row (a diagonal covariance for 'diag'
    and 'spherical'). A pass of the fit's own kernel kind with no log-densities
    (``_kernels.em``: ASSIGNED), so it compiles nothing the fit would not; the
    matrix types give the whole covariance, 'diag' and 'spherical' (as 'diag',
    in spherical's passes) the variances."""
    if not ctype.stores_matrices:
        ctype = _DIAG_OF[ctype.name]
    fitted = m_step(source.nearest_stats(source.rows([0]), ctype), 0.0)
    covariance = ctype.full_matrices(fitted.covariances, 1, source.n_features)[0]
    return fitted.means[0], covariance


def mean_feature_variance(source, ctype):
    """Mean of the features' (weighted) variances, in one pass of the kernel kind
    of ``ctype`` (``_one_component_fit``): k-means' tolerance
    scale and the recovery's variance floor. Works for any source (in memory,
    streamed, Dask)."""
    return float(np.diagonal(_one_component_fit(source, ctype)[1]).mean())


def mean_and_covariance(source, ctype):
    """The data's (weighted) mean (D,) and covariance (D, D) around it, divided by
    the total weight, in one pass (the priors of variational Bayes default to
    them); for 'diag' and 'spherical', whose priors read only the variances, the
    covariance is diagonal."""
    return _one_component_fit(source, ctype)


def _assigned(source, centers, ctype, seeds=None):
    """Statistics around the shifts ``centers`` with every row assigned to its
    nearest center, or with only row ``seeds[k]`` assigned to component k."""
    centers = np.ascontiguousarray(centers, dtype=np.float64)
    n_components = centers.shape[0]
    s0, s1, s2 = _slots(source.n_chunks, n_components, source.n_features, ctype)
    tied_shift = centers.mean(axis=0)
    no_resp = np.empty((0, n_components))
    for seg in source.segments(scratch_bytes_per_row=16):
        c = slice(seg.chunk_start, seg.chunk_stop)
        # seeds relative to the segment; outside it they fall outside [0, rows)
        segment_seeds = NO_SEEDS if seeds is None else seeds - seg.start
        em.accumulate_assigned(ctype.kernel_kind, seg.X, seg.weights, segment_seeds,
                               no_resp, centers, tied_shift, source.chunk_rows,
                               s0[c], s1[c], s2[c], source.fill)
    return SufficientStats.from_chunks(
        ctype, s0, s1, s2, centers, tied_shift, np.zeros(1), source.total_weight,
    )


def nearest_stats(source, centers, ctype):
    """Statistics with every row assigned to its nearest center (the labels of
    k-means' final assignment step), computed segment by segment."""
    return _assigned(source, centers, covariance_type(ctype))


def seeded_stats(source, centers, indices, ctype):
    """Statistics with row ``indices[k]`` assigned to component k and every other
    row to none (the 'k-means++' and 'random_from_data' initialisations)."""
    ctype = covariance_type(ctype)
    stats = _assigned(source, centers, ctype,
                      seeds=np.asarray(indices, dtype=np.int64))
    if ctype.name == "tied":
        stats = _with_unassigned_scatter(source, stats)
    return stats


def _with_unassigned_scatter(source, stats):
    """scikit-learn's tied covariance from responsibilities is
    (sum_n x xᵀ - sum_k n_k xbar_k xbar_kᵀ) / sum_k n_k, over *all* rows, also
    those no component is responsible for (all but the seeds here), and so
    depends on the origin. Add to the tied scatter (taken around c over all
    rows) what makes ``m_step`` give that same start: with a = sum_n w (x - c),
    b = sum_k n_k (xbar_k - c) and U the weight of the unassigned rows,
    U c cᵀ + c (a - b)ᵀ + (a - b) cᵀ. The parts of disjoint rows add, so a dask
    chunk's statistics can take theirs."""
    c = stats.tied_shift
    # summed chunk by chunk, so the total never depends on the segments
    sums = np.empty((source.n_chunks, source.n_features))
    for seg in source.segments():
        em.weighted_sums(seg.X, seg.weights, source.fill, source.chunk_rows,
                         sums[seg.chunk_start : seg.chunk_stop])
    a = sums.sum(axis=0) - stats.weight * c
    b = (stats.s1 + stats.s0[:, None] * (stats.centers - c)).sum(axis=0)
    cross = np.outer(c, a - b)
    unassigned = stats.weight - stats.s0.sum()
    stats.s2 = stats.s2 + unassigned * np.outer(c, c) + cross + cross.T
    return stats


def resp_stats(X, weights, centers, ctype, resp, fill=None):
    """Statistics of one in-memory array ``X`` (its own partition) under soft
    responsibilities ``resp`` (N, K), around the shifts ``centers`` (X's NaN
    read as ``fill``, as in ``em.accumulate``)."""
    ctype = covariance_type(ctype)
    centers = np.ascontiguousarray(centers, dtype=np.float64)
    n_rows, n_features = X.shape
    n_chunks, chunk_rows = chunk_layout(n_rows)
    s0, s1, s2 = _slots(n_chunks, centers.shape[0], n_features, ctype)
    tied_shift = centers.mean(axis=0)
    resp = np.ascontiguousarray(resp, dtype=np.float64)
    em.accumulate_assigned(ctype.kernel_kind, X, weights, NO_SEEDS, resp, centers,
                           tied_shift, chunk_rows, s0, s1, s2, fill)
    total = float(n_rows) if weights.shape[0] == 0 else float(weights.sum())
    return SufficientStats.from_chunks(
        ctype, s0, s1, s2, centers, tied_shift, np.zeros(1), total,
    )


def random_stats(source, n_components, ctype, random_state, window_rows):
    """Statistics under random responsibilities (init_params='random'), drawn
    ``window_rows`` rows at a time so no N x K array is ever held."""
    centers = np.repeat(source.rows([0]), n_components, axis=0)
    stats = None
    for _, X, weights in source.windows(window_rows):
        resp = random_state.uniform(size=(X.shape[0], n_components))
        resp /= resp.sum(axis=1)[:, None]
        stats = resp_stats(X, weights, centers, ctype, resp, source.fill) + stats
    return stats


def predict_pass(source, params, mode, log_weights=None):
    """Per-row output of ``mode`` (SCORE: (N,), LABELS: (N,) int64, PROBA: (N, K)),
    in float64; ``log_weights`` as in ``stats_pass``."""
    kp = kernel_params(params, log_weights)
    n_rows = source.n_rows
    n_components = kp.means.shape[0]
    if mode == PROBA:
        values = np.empty((n_rows, n_components))
    elif mode == LABELS:
        values = np.empty((0, 1))
    else:
        values = np.empty((n_rows, 1))
    labels = np.empty(n_rows if mode == LABELS else 0, dtype=np.int64)
    for seg in source.segments():
        rows = slice(seg.start, seg.stop)
        em.predict_rows(kp.kind, mode, seg.X, kp.means, kp.factor, kp.log_norm,
                        kp.aux, kp.shift, values[rows] if mode != LABELS else values,
                        labels[rows] if mode == LABELS else labels)
    if mode == LABELS:
        return labels
    if mode == PROBA:
        return values
    return values[:, 0]

"""One pass over a source's rows: the glue between the estimator and the kernels.

Each function takes an ``ArraySource`` (``_sources``), allocates one output slot
per chunk of the source's partition, lets each block's kernel call fill the
slots of its chunks, and sums the slots in chunk order at the end, so the result
does not depend on how the rows were grouped into blocks. Nothing is validated
here (the estimator has); nothing of size N x K is allocated.
"""

import numpy as np

from ._config import chunk_layout
from ._kernels import em
from ._params import KERNEL_KIND, Params, kernel_params
from ._stats import SufficientStats, m_step

NO_SEEDS = np.empty(0, dtype=np.int64)


def _slots(n_chunks, n_components, n_features, covariance_type):
    if covariance_type == "full":
        s2_shape = (n_chunks, n_components, n_features, n_features)
    elif covariance_type == "tied":
        s2_shape = (n_chunks, 1, n_features, n_features)
    else:
        s2_shape = (n_chunks, n_components, 1, n_features)
    return (
        np.empty((n_chunks, n_components)),
        np.empty((n_chunks, n_components, n_features)),
        np.empty(s2_shape),
    )


def em_pass(source, params, covariance_type):
    """E-step under ``params`` fused with the statistics for the M-step."""
    kp = kernel_params(params, covariance_type)
    s0, s1, s2 = _slots(source.n_chunks, kp.means.shape[0], source.n_features,
                        covariance_type)
    loglik = np.empty(source.n_chunks)
    for b in source.blocks():
        c = slice(b.chunk_start, b.chunk_stop)
        em.accumulate(kp.kind, b.X, b.weights, kp.means, kp.factor, kp.log_norm,
                      kp.aux, kp.shift, source.chunk_rows, s0[c], s1[c], s2[c],
                      loglik[c])
    return SufficientStats.from_chunks(
        covariance_type, s0, s1, s2, kp.means, kp.shift, loglik, source.total_weight,
    )


def mean_variance(source):
    """Mean of the features' (weighted) variances, in one pass of a one-component
    diagonal model: k-means' tolerance scale and the recovery's variance floor.
    Works for any source with ``rows`` and ``em_pass`` (in memory, streamed, Dask)."""
    first = source.rows([0])
    one = Params(np.ones(1), first, None, np.ones((1, source.n_features)))
    stats = source.em_pass(one, "diag")
    return float(m_step(stats, 0.0).covariances.mean())


def _assigned(source, centers, covariance_type, seeds=None):
    """Statistics around the shifts ``centers`` with every row assigned to its
    nearest center, or with only row ``seeds[k]`` assigned to component k."""
    centers = np.ascontiguousarray(centers, dtype=np.float64)
    n_components = centers.shape[0]
    s0, s1, s2 = _slots(source.n_chunks, n_components, source.n_features,
                        covariance_type)
    tied_shift = centers.mean(axis=0)
    no_resp = np.empty((0, n_components))
    for b in source.blocks(scratch_bytes_per_row=16):
        c = slice(b.chunk_start, b.chunk_stop)
        # seeds relative to the block; outside it they fall outside [0, rows)
        block_seeds = NO_SEEDS if seeds is None else seeds - b.start
        em.accumulate_assigned(KERNEL_KIND[covariance_type], b.X, b.weights,
                               block_seeds, no_resp, centers, tied_shift,
                               source.chunk_rows, s0[c], s1[c], s2[c])
    return SufficientStats.from_chunks(
        covariance_type, s0, s1, s2, centers, tied_shift, np.zeros(1),
        source.total_weight,
    )


def nearest_stats(source, centers, covariance_type):
    """Statistics with every row assigned to its nearest center (the labels of
    k-means' final assignment step), computed block by block."""
    return _assigned(source, centers, covariance_type)


def seeded_stats(source, centers, indices, covariance_type):
    """Statistics with row ``indices[k]`` assigned to component k and every other
    row to none (the 'k-means++' and 'random_from_data' initialisations)."""
    return _assigned(source, centers, covariance_type,
                     seeds=np.asarray(indices, dtype=np.int64))


def resp_stats(X, weights, centers, covariance_type, resp):
    """Statistics of one in-memory block ``X`` (its own partition) under soft
    responsibilities ``resp`` (N, K), around the shifts ``centers``."""
    centers = np.ascontiguousarray(centers, dtype=np.float64)
    n_rows, n_features = X.shape
    n_chunks, chunk_rows = chunk_layout(n_rows)
    s0, s1, s2 = _slots(n_chunks, centers.shape[0], n_features, covariance_type)
    tied_shift = centers.mean(axis=0)
    resp = np.ascontiguousarray(resp, dtype=np.float64)
    em.accumulate_assigned(KERNEL_KIND[covariance_type], X, weights, NO_SEEDS, resp,
                           centers, tied_shift, chunk_rows, s0, s1, s2)
    total = float(n_rows) if weights.shape[0] == 0 else float(weights.sum())
    return SufficientStats.from_chunks(
        covariance_type, s0, s1, s2, centers, tied_shift, np.zeros(1), total,
    )


def random_stats(source, n_components, covariance_type, random_state, window_rows):
    """Statistics under random responsibilities (init_params='random'), drawn
    ``window_rows`` rows at a time so no N x K array is ever held."""
    centers = np.repeat(source.rows([0]), n_components, axis=0)
    stats = None
    for _, X, weights in source.windows(window_rows):
        resp = random_state.uniform(size=(X.shape[0], n_components))
        resp /= resp.sum(axis=1)[:, None]
        stats = resp_stats(X, weights, centers, covariance_type, resp) + stats
    return stats


def evaluate(source, params, covariance_type, mode):
    """Per-row output of ``mode`` (SCORE: (N,), LABELS: (N,) int64, PROBA: (N, K))."""
    kp = kernel_params(params, covariance_type)
    n_rows = source.n_rows
    n_components = kp.means.shape[0]
    if mode == em.PROBA:
        values = np.empty((n_rows, n_components))
    elif mode == em.SCORE:
        values = np.empty((n_rows, 1))
    else:
        values = np.empty((0, 1))
    labels = np.empty(n_rows if mode == em.LABELS else 0, dtype=np.int64)
    for b in source.blocks():
        rows = slice(b.start, b.stop)
        em.evaluate(kp.kind, mode, b.X, kp.means, kp.factor, kp.log_norm, kp.aux,
                    kp.shift, values[rows] if mode != em.LABELS else values,
                    labels[rows] if mode == em.LABELS else labels)
    if mode == em.LABELS:
        return labels
    if mode == em.SCORE:
        return values[:, 0]
    return values

"""Parallel drivers: one pass over X per call, dispatching to the kernel of the
covariance type block by block.

Rows are split into chunks (``_config.chunk_layout``) that depend only on the
number of rows; each chunk is processed by one thread into its own slot of the
output statistics, and the caller sums the slots in chunk order. Nothing of size
N x K is allocated: each chunk owns a BLOCK_ROWS x K scratch block.
"""

import numpy as np
from numba import njit, prange

from .._config import BLOCK_ROWS, JIT, PARALLEL_JIT, chunk_layout
from .common import (
    FULL,
    LABELS,
    PROBA,
    RESPONSIBILITIES_ENTROPY,
    SCORE,
    TIED,
    argmax_rows,
    block_entropy,
    block_log_likelihood,
    normalise_rows,
    transpose_block,
    work_rows,
)
from .diag import add_stats_diag, log_prob_diag
from .full import add_stats_full, log_prob_full
from .kinds import SAMPLED
from .random import sample_block
from .tied import add_stats_tied, log_prob_tied


@njit(**JIT)
def _log_prob_block(kind, n_features, n_rows, means, factor, log_norm, aux, shift,
                    out, work):
    if kind == FULL:
        log_prob_full(n_features, n_rows, means, factor, log_norm, out, work)
    elif kind == TIED:
        log_prob_tied(n_features, n_rows, aux, factor, log_norm, shift, out, work)
    else:
        log_prob_diag(n_features, n_rows, means, factor, log_norm, out, work)


@njit(**JIT)
def _add_stats_block(kind, n_features, start, n_rows, resp, sample_weight, means,
                     shift, s0, s1, s2, work, idx):
    if kind == FULL:
        add_stats_full(n_features, start, n_rows, resp, sample_weight,
                       means, s0, s1, s2, work, idx)
    elif kind == TIED:
        add_stats_tied(n_features, start, n_rows, resp, sample_weight,
                       means, shift, s0, s1, s2, work, idx)
    else:
        add_stats_diag(n_features, start, n_rows, resp, sample_weight,
                       means, s0, s1, s2, work, idx)


@njit(**PARALLEL_JIT)
def accumulate(kind, mode, X, sample_weight, means, factor, log_norm, aux, shift,
               chunk_rows, s0, s1, s2, loglik, entropy, key, first_row):
    """E-step and statistics in one pass: per chunk c, add into slot c.

    X (N, D) float32/float64 C-contiguous; sample_weight (N,) or (0,) for ones;
    means (K, D); factor and aux as the kernel of ``kind`` reads them; shift (D,);
    outputs s0 (C, K), s1 (C, K, D), s2 (C, K2, D2, D), loglik (C,) are overwritten
    with each chunk's sums (loglik = sum of weight * log p(x), where p is the sum
    over k of exp(log-density + log_norm)). ``mode`` (``kinds``): with
    RESPONSIBILITIES_ENTROPY, entropy (C,) gets each chunk's
    sum of weight * sum_k r_k log r_k; otherwise it is left alone. With SAMPLED,
    each row's responsibilities become its sampled assignment before the
    statistics are added (``random.sample_block``, from the uint64 sweep ``key``;
    X's first row has the global index ``first_row``, uint64); loglik is still
    that of the parameters, summed over components.
    """
    for c in prange(s0.shape[0]):
        accumulate_chunk(c, kind, mode, X, sample_weight, means, factor, log_norm,
                         aux, shift, chunk_rows, s0, s1, s2, loglik, entropy, key,
                         first_row)


@njit(**JIT)
def accumulate_chunk(c, kind, mode, X, sample_weight, means, factor, log_norm, aux,
                     shift, chunk_rows, s0, s1, s2, loglik, entropy, key, first_row):
    """Chunk c of ``accumulate``, on the calling thread (a pass over data of one
    chunk needs no thread: the Gibbs chains call this directly)."""
    n_rows, n_features = X.shape
    n_components = means.shape[0]
    with_entropy = mode == RESPONSIBILITIES_ENTROPY
    sampled = mode == SAMPLED
    s0[c] = 0.0
    s1[c] = 0.0
    s2[c] = 0.0
    logp = np.empty((n_components, BLOCK_ROWS))
    lse = np.empty(BLOCK_ROWS)
    row_sums = np.empty((3, BLOCK_ROWS))
    work = np.empty((work_rows(n_features), BLOCK_ROWS))
    idx = np.empty(BLOCK_ROWS, dtype=np.int64)
    counts = np.empty(n_components)
    total = 0.0
    chunk_entropy = 0.0
    stop = min(n_rows, (c + 1) * chunk_rows)
    for start in range(c * chunk_rows, stop, BLOCK_ROWS):
        n = min(BLOCK_ROWS, stop - start)
        transpose_block(X, start, n, work)
        _log_prob_block(kind, n_features, n, means, factor, log_norm, aux, shift,
                        logp, work)
        normalise_rows(logp, n, lse, row_sums, False, with_entropy)
        total += block_log_likelihood(lse, row_sums, n, sample_weight, start)
        if with_entropy:
            chunk_entropy += block_entropy(row_sums, n, sample_weight, start)
        if sampled:
            sample_block(logp, n, key, first_row, sample_weight, start, counts)
        _add_stats_block(kind, n_features, start, n, logp, sample_weight, means,
                         shift, s0[c], s1[c], s2[c], work, idx)
    loglik[c] = total
    if with_entropy:
        entropy[c] = chunk_entropy


@njit(**PARALLEL_JIT)
def accumulate_assigned(kind, X, sample_weight, seeds, resp, means, shift,
                        chunk_rows, s0, s1, s2):
    """Statistics under given assignments, shifted by ``means`` (and ``shift``).

    With ``resp`` (N, K) not empty, under those responsibilities; else with
    ``seeds`` (K,) not empty, row seeds[k] belongs to component k and no other row
    counts (the seeded initialisations; rows outside [0, N) are ignored); else
    every row belongs to its nearest mean (k-means' final assignment, first
    nearest on ties). Outputs as in ``accumulate``; nothing of size N is held.
    """
    n_rows, n_features = X.shape
    n_components = means.shape[0]
    n_chunks = s0.shape[0]
    for c in prange(n_chunks):
        s0[c] = 0.0
        s1[c] = 0.0
        s2[c] = 0.0
        block_resp = np.zeros((n_components, BLOCK_ROWS))
        work = np.empty((work_rows(n_features), BLOCK_ROWS))
        idx = np.empty(BLOCK_ROWS, dtype=np.int64)
        nearest = np.empty(BLOCK_ROWS)
        unit = np.ones((n_components, 1, 1))  # a spherical model of precision 1
        no_norm = np.zeros(n_components)
        stop = min(n_rows, (c + 1) * chunk_rows)
        for start in range(c * chunk_rows, stop, BLOCK_ROWS):
            n = min(BLOCK_ROWS, stop - start)
            transpose_block(X, start, n, work)
            if resp.shape[0] > 0:
                for i in range(n):
                    for k in range(n_components):
                        block_resp[k, i] = resp[start + i, k]
            elif seeds.shape[0] > 0:
                block_resp[:] = 0.0
                for k in range(n_components):
                    if start <= seeds[k] < start + n:
                        block_resp[k, seeds[k] - start] = 1.0
            else:
                # -1/2 squared distances, the largest is the nearest mean
                log_prob_diag(n_features, n, means, unit, no_norm, block_resp, work)
                argmax_rows(block_resp, n, idx, 0, nearest)
                block_resp[:] = 0.0
                for i in range(n):
                    block_resp[idx[i], i] = 1.0
            _add_stats_block(kind, n_features, start, n, block_resp, sample_weight,
                             means, shift, s0[c], s1[c], s2[c], work, idx)


@njit(**PARALLEL_JIT)
def predict_rows(kind, mode, X, means, factor, log_norm, aux, shift, values, labels):
    """Prediction pass, writing only its output.

    mode SCORE: values[:, 0] = log p(x); LABELS: labels = argmax_k of the weighted
    log-density; PROBA: values (N, K) = responsibilities. Blocks of rows are
    independent, so chunks run in parallel with no reduction.
    """
    n_rows, n_features = X.shape
    n_components = means.shape[0]
    n_chunks, chunk_rows = chunk_layout(n_rows)
    for c in prange(n_chunks):
        logp = np.empty((n_components, BLOCK_ROWS))
        lse = np.empty(BLOCK_ROWS)
        row_sums = np.empty((2, BLOCK_ROWS))
        work = np.empty((work_rows(n_features), BLOCK_ROWS))
        stop = min(n_rows, (c + 1) * chunk_rows)
        for start in range(c * chunk_rows, stop, BLOCK_ROWS):
            n = min(BLOCK_ROWS, stop - start)
            transpose_block(X, start, n, work)
            _log_prob_block(kind, n_features, n, means, factor, log_norm, aux, shift,
                            logp, work)
            if mode == LABELS:
                argmax_rows(logp, n, labels, start, lse)
                continue
            normalise_rows(logp, n, lse, row_sums, True)
            if mode == SCORE:
                for i in range(n):
                    values[start + i, 0] = lse[i]
            elif mode == PROBA:
                for i in range(n):
                    for k in range(n_components):
                        values[start + i, k] = logp[k, i]

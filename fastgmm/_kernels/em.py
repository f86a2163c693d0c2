"""The passes over X: one compiled function per kernel kind, dispatching to the
kernel of the covariance type block by block.

Each pass is compiled per kernel kind (``accumulate_kernel``,
``_predict_kernel``): the kind is a constant of the compiled closure, the
block-level dispatchers and the chunk body are inlined into it, and Numba drops
the other kinds' branches before typing them. So a fit compiles only its own
covariance type's kernels; and of those, one variant (``kernel_variant``, a
constant of the closure too): every kind below TILE features has kernels of
its own (one sweep per component; spherical runs diag's, tied full's
log-densities), and full on float32 data its float32 products. The modes stay
run-time arguments, so one compilation serves the initial statistics, EM,
variational Bayes and Gibbs passes of a kind (and one the three prediction
outputs). Each closure holds integers only, so its on-disk cache entry is
found again by every process.

Rows are split into chunks (``_config.chunk_layout``) that depend only on the
number of rows; each chunk is processed by one thread into its own slot of the
output statistics, and the caller sums the slots in chunk order. The passes
are serial over a range of chunks; ``threads.run_chunks`` runs the ranges on
the threads. Nothing of size N x K is allocated: each chunk owns a
BLOCK_ROWS x K scratch block.
"""

from functools import cache

import numpy as np
from numba import njit
from numba.extending import register_jitable

from .._config import BLOCK_ROWS, INLINE_JIT, JIT, chunk_layout, compiled_only
from .common import (
    FULL,
    LABELS,
    TIED,
    TILE,
    argmax_rows,
    block_log_likelihood,
    exponentiate_rows,
    fill_block,
    filled_value,
    normalise_rows,
    row_weight,
    transpose_block,
    work_rows,
    write_predictions,
)
from .diag import (
    add_labelled_stats_diag,
    add_stats_diag,
    add_stats_diag_narrow,
    add_stats_spherical,
    centre_on_means,
    log_prob_diag,
    log_prob_diag_narrow,
    log_prob_spherical,
)
from .full import (
    add_stats_full_double,
    add_stats_full_narrow,
    add_stats_full_single,
    log_prob_full_double,
    log_prob_full_narrow,
    log_prob_full_single,
)
from .kinds import ASSIGNED, DIAG, SAMPLED, SPHERICAL
from .random import sample_block
from .threads import run_chunks
from .tied import add_stats_tied, add_stats_tied_narrow, log_prob_tied

# the ``fill`` of rows without NaN in the compiled passes, which test it once
# per block (``accumulate_kernel``)
NO_FILL = np.empty(0)


# which of its kind's kernels a pass runs (``kernel_variant``)
TILED, NARROW, SINGLE = 0, 1, 2


@register_jitable
def kernel_variant(kind, n_features, itemsize):
    """The kernels that the passes of ``kind`` run over data of ``n_features``
    and ``itemsize`` bytes a value: NARROW below TILE features (one sweep per
    component; spherical takes diag's, reading its one precision for every
    feature, and tied full's log-densities with its one factor), SINGLE for
    full on float32 data of a multiple of TILE features (products in float32
    lanes: elsewhere the rows must be centred beforehand, which costs more in
    float32, a conversion per value, than the narrower products save), else
    TILED (every kind's tiles, or plain sweeps, in float64). Plain Python where
    a pass is chosen, compiled inline where ``kind`` is a run-time value
    (``missing``)."""
    if n_features < TILE:
        return NARROW
    if kind == FULL and itemsize == 4 and n_features % TILE == 0:
        return SINGLE
    return TILED


@njit(**INLINE_JIT)
def _log_prob_block(kind, variant, n_features, n_rows, means, factor, log_norm,
                    aux, shift, out, work):
    """The block's log-densities (``variant``: ``kernel_variant``, a constant
    where the pass is compiled for one kind, so that only the kernels it names
    compile)."""
    if variant == NARROW:
        if kind == FULL or kind == TIED:  # tied: its one factor for every k
            log_prob_full_narrow(n_features, n_rows, means, factor, log_norm, out,
                                 work)
        else:  # diag, spherical
            log_prob_diag_narrow(n_features, n_rows, means, factor, log_norm, out,
                                 work)
    elif kind == FULL:
        if variant == SINGLE:
            log_prob_full_single(n_features, n_rows, means, factor, log_norm, out,
                                 work)
        else:
            log_prob_full_double(n_features, n_rows, means, factor, log_norm, out,
                                 work)
    elif kind == TIED:
        log_prob_tied(n_features, n_rows, aux, factor, log_norm, shift, out, work)
    elif kind == SPHERICAL:
        centre_on_means(n_features, n_rows, means, work)
        log_prob_spherical(n_features, n_rows, means, factor, log_norm, out, work)
    else:
        log_prob_diag(n_features, n_rows, means, factor, log_norm, aux, out, work)


@njit(**INLINE_JIT)
def _add_stats_block(kind, variant, n_features, start, n_rows, resp, sample_weight,
                     means, factor, shift, s0, s1, s2, work, idx):
    """The block's statistics (``variant`` as in ``_log_prob_block``). A
    SPHERICAL pass of the tiled variant with log-densities (``factor``
    (K, 1, 1): one precision per component) had ``_log_prob_block`` prepare the
    block for the spherical statistics (``centre_on_means``); passes with none
    (ASSIGNED) give ``factor`` of shape (0, 0, 0) and prepare it here."""
    if variant == NARROW:
        if kind == FULL:
            add_stats_full_narrow(n_features, start, n_rows, resp, sample_weight,
                                  means, s0, s1, s2, work)
        elif kind == TIED:
            add_stats_tied_narrow(n_features, start, n_rows, resp, sample_weight,
                                  means, shift, s0, s1, s2, work)
        else:  # diag, spherical: per-feature second moments
            add_stats_diag_narrow(n_features, start, n_rows, resp, sample_weight,
                                  means, s0, s1, s2, work)
    elif kind == FULL:
        if variant == SINGLE:
            add_stats_full_single(n_features, start, n_rows, resp, sample_weight,
                                  means, s0, s1, s2, work, idx)
        else:
            add_stats_full_double(n_features, start, n_rows, resp, sample_weight,
                                  means, s0, s1, s2, work, idx)
    elif kind == TIED:
        add_stats_tied(n_features, start, n_rows, resp, sample_weight,
                       means, shift, s0, s1, s2, work, idx)
    elif kind == SPHERICAL:
        if factor.shape[2] != 1:  # no log-densities prepared the block
            centre_on_means(n_features, n_rows, means, work)
        add_stats_spherical(n_features, start, n_rows, resp, sample_weight, means,
                            s0, s1, s2, work, idx)
    else:
        add_stats_diag(n_features, start, n_rows, resp, sample_weight, means, s0,
                       s1, s2, work, idx)


def accumulate(kind, mode, X, sample_weight, means, factor, log_norm, aux, shift,
               chunk_rows, s0, s1, s2, loglik, key, first_row, fill=None):
    """E-step and statistics in one pass: per chunk c, add into slot c.

    X (N, D) float32/float64 C-contiguous; sample_weight (N,) or (0,) for ones;
    means (K, D); factor and aux as the kernel of ``kind`` reads them; shift (D,);
    outputs s0 (C, K), s1 (C, K, D), s2 (C, K2, D2, D), loglik (C,) are overwritten
    with each chunk's sums (loglik = sum of weight * log p(x), where p is the sum
    over k of exp(log-density + log_norm)). ``mode`` (``kinds``): RESPONSIBILITIES
    (variational Bayes' entropy comes from the statistics afterwards,
    ``_stats.pass_entropy``) or SAMPLED: each row's responsibilities become its
    sampled assignment before the statistics are added (``random.sample_block``,
    from the uint64 sweep ``key``; X's first row has the global index
    ``first_row``, uint64), and loglik is still that of the parameters, summed
    over components. ``fill`` (D,) float64: X's NaN read as fill[a] in feature
    a (``fill_block``; None: X has no NaN).
    """
    run_chunks(accumulate_kernel(kind, mode == SAMPLED, X), s0.shape[0],
               mode, X, sample_weight, means, factor, log_norm, aux, shift,
               chunk_rows, s0, s1, s2, loglik, key, first_row, NO_SEEDS, NO_RESP,
               NO_FILL if fill is None else fill)


NO_SEEDS = np.empty(0, dtype=np.int64)
NO_RESP = np.empty((0, 0))


def accumulate_assigned(kind, X, sample_weight, seeds, resp, means, shift,
                        chunk_rows, s0, s1, s2, fill=None):
    """Statistics under given assignments, shifted by ``means`` (and ``shift``).

    With ``resp`` (N, K) not empty, under those responsibilities; else with
    ``seeds`` (K,) not empty, row seeds[k] belongs to component k and no other row
    counts (the seeded initialisations; rows outside [0, N) are ignored); else
    every row belongs to its nearest mean (k-means' final assignment, first
    nearest on ties). Outputs and ``fill`` as in ``accumulate``; nothing of
    size N is held.
    """
    n_chunks = s0.shape[0]
    ignored = np.empty(n_chunks)
    run_chunks(accumulate_kernel(kind, False, X), n_chunks,
               ASSIGNED, X, sample_weight, means, _NO_FACTOR, _NO_NORM, _NO_AUX,
               shift, chunk_rows, s0, s1, s2, ignored, np.uint64(0), np.uint64(0),
               seeds, resp, NO_FILL if fill is None else fill)


# unused by ASSIGNED passes, typed as the EM passes' arguments so that both
# run one compiled function
_NO_FACTOR = np.empty((0, 0, 0))
_NO_NORM = np.empty(0)
_NO_AUX = np.empty((0, 0))


ACCUMULATE_KERNELS = {}
"""The passes built so far, by (kernel kind, sampling, variant): a fit builds
its own kind's only, in the variant of its data, and only Gibbs sweeps build
the sampling ones."""


def accumulate_kernel(kind, sampling, X):
    """The compiled pass of ``accumulate`` and ``accumulate_assigned`` for one
    kernel kind, over the chunks ``first`` to ``stop - 1``: ``(first, stop,
    mode, <accumulate's arguments after kind and mode up to first_row>, seeds,
    resp, fill)``, ``seeds`` and ``resp`` as in ``accumulate_assigned`` (read in
    mode ASSIGNED only), ``fill`` as in ``accumulate`` (``NO_FILL``: none).
    Without ``sampling`` it runs every mode but SAMPLED, with it every mode: so
    a fit's initial statistics and its iterations share one compilation, and EM
    and variational Bayes never compile the draws. Each compiles one variant
    of its kind's kernels, chosen by X's shape and dtype (``kernel_variant``).
    ``threads.run_chunks`` runs it on the threads."""
    return built_pass(ACCUMULATE_KERNELS, _accumulate_kernel, kind, sampling, X)


def built_pass(built, build, kind, sampling, X):
    """``build(kind, sampling, variant)``, kept in ``built`` under those three
    (the variant of X's shape and dtype, ``kernel_variant``), so that each
    pass is built, and compiled, once per process."""
    key = (int(kind), bool(sampling), kernel_variant(kind, X.shape[1], X.itemsize))
    if key not in built:
        built[key] = build(*key)
    return built[key]


def _accumulate_kernel(kind, sampling, variant):
    # the closure holds only integers and a bool: a function held instead
    # would change its on-disk cache key in every process (Numba pickles closure
    # cells, and a dispatcher pickles with a per-process id)

    @njit(**JIT)
    def accumulate_pass(first, stop, mode, X, sample_weight, means, factor,
                        log_norm, aux, shift, chunk_rows, s0, s1, s2, loglik,
                        key, first_row, seeds, resp, fill):
        for c in range(first, stop):
            accumulate_chunk(kind, sampling, variant, c, mode, X, sample_weight,
                             means, factor, log_norm, aux, shift, chunk_rows, s0,
                             s1, s2, loglik, key, first_row, seeds, resp,
                             fill)

    return accumulate_pass


@njit(**INLINE_JIT)
def accumulate_chunk(kind, sampling, variant, c, mode, X, sample_weight, means,
                     factor, log_norm, aux, shift, chunk_rows, s0, s1, s2, loglik,
                     key, first_row, seeds, resp, fill):
    """Chunk c of a pass of ``accumulate_kernel``; inlined into callers where
    ``kind``, ``sampling`` and ``variant`` are constants, so that only that
    kind's kernels compile (of that variant), and the draws of mode SAMPLED
    only where ``sampling`` is True."""
    n_rows, n_features = X.shape
    n_components = means.shape[0]
    s0[c] = 0.0
    s1[c] = 0.0
    s2[c] = 0.0
    logp = np.empty((n_components, BLOCK_ROWS))
    lse = np.empty(BLOCK_ROWS)
    row_sums = np.empty((3, BLOCK_ROWS))  # 3: the draws' scratch (sample_block)
    work = np.empty((work_rows(n_features), BLOCK_ROWS))
    idx = np.empty(BLOCK_ROWS, dtype=np.int64)
    counts = np.empty(n_components)
    total = 0.0
    stop = min(n_rows, (c + 1) * chunk_rows)
    for start in range(c * chunk_rows, stop, BLOCK_ROWS):
        n = min(BLOCK_ROWS, stop - start)
        transpose_block(X, start, n, work)
        if fill.shape[0] > 0:
            fill_block(work, n, fill)
        if mode == ASSIGNED:
            if _assigned_block(n, start, seeds, resp, means, logp, work, idx, lse,
                               _by_label(kind, variant)):
                _add_labelled_stats(kind, variant, n_features, X, fill, start, n,
                                    idx, sample_weight, means, s0[c], s1[c], s2[c])
                continue
        else:
            _log_prob_block(kind, variant, n_features, n, means, factor, log_norm,
                            aux, shift, logp, work)
            if sampling and mode == SAMPLED:
                # the draw needs no division by each row's total
                exponentiate_rows(logp, n, lse, row_sums, bool(False))
            else:
                normalise_rows(logp, n, lse, row_sums, bool(False), bool(False))
            total += block_log_likelihood(lse, row_sums, n, sample_weight, start)
            if sampling and mode == SAMPLED:
                sample_block(logp, n, key, first_row, sample_weight, start,
                             row_sums, lse, counts)
        _add_stats_block(kind, variant, n_features, start, n, logp, sample_weight,
                         means, factor, shift, s0[c], s1[c], s2[c], work, idx)
    loglik[c] = total


@register_jitable
def _by_label(kind, variant):
    """Whether the passes of ``kind`` and ``variant`` add the statistics of
    k-means' final assignment row by row, to each row's component
    (``diag.add_labelled_stats_diag``: diag and spherical of TILE features or
    more), rather than as one-hot responsibilities through the kind's kernels,
    where every component scans every row."""
    return variant == TILED and (kind == DIAG or kind == SPHERICAL)


@njit(**INLINE_JIT)
def _add_labelled_stats(kind, variant, n_features, X, fill, start, n, labels,
                        sample_weight, means, s0, s1, s2):
    """``diag.add_labelled_stats_diag`` where ``_by_label``; inlined where
    ``kind`` and ``variant`` are constants, so that only those passes compile
    it."""
    if variant == TILED:
        if kind == DIAG:
            add_labelled_stats_diag(n_features, X, fill, start, n, labels,
                                    sample_weight, means, s0, s1, s2)
        elif kind == SPHERICAL:
            add_labelled_stats_diag(n_features, X, fill, start, n, labels,
                                    sample_weight, means, s0, s1, s2)


@compiled_only(**JIT)
def _assigned_block(n, start, seeds, resp, means, block_resp, work, idx, nearest,
                    by_label):
    """block_resp (K, BLOCK_ROWS) for rows start..start+n of an ASSIGNED pass
    (``accumulate_assigned``); the block's rows are in work[:D]. With
    ``by_label``, rows assigned to their nearest mean get only their labels, in
    idx[:n], and it returns True (the caller adds their statistics); else
    False."""
    n_components, n_features = means.shape
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
        _negative_sq_distances(n_features, n, means, block_resp, work)
        argmax_rows(block_resp, n, idx, int(0), nearest)
        if by_label:
            return True
        block_resp[:] = 0.0
        for i in range(n):
            block_resp[idx[i], i] = 1.0
    return False


@njit(**INLINE_JIT)
def _negative_sq_distances(n_features, n_rows, means, out, work):
    """out[k, i] = -||x_i - means[k]||² for the block's rows in work[:D]: the
    largest is the nearest mean. A plain sweep, not the log-density kernels:
    it runs once per initialisation, and compiles in a fraction of their time
    (four features per sweep saved 7 of 50 ms over 1M x 16 x 16 rows on one
    thread: not worth more code in every kind's pass)."""
    for k in range(means.shape[0]):
        row = out[k]
        row[:n_rows] = 0.0
        for a in range(n_features):
            m = means[k, a]
            x = work[a]
            for i in range(n_rows):
                t = x[i] - m
                row[i] -= t * t


def weighted_sums(X, sample_weight, fill, chunk_rows, out):
    """out[c] = the sum of w x over the rows x of chunk c (D,), each NaN read
    as its feature's ``fill`` (None: X has no NaN; see ``filled_value``)."""
    run_chunks(_weighted_sums, out.shape[0], X, sample_weight, fill, chunk_rows, out)


@njit(**JIT)
def _weighted_sums(first, stop, X, sample_weight, fill, chunk_rows, out):
    n_rows, n_features = X.shape
    for c in range(first, stop):
        out[c] = 0.0
        end = min(n_rows, (c + 1) * chunk_rows)
        for i in range(c * chunk_rows, end):
            w = row_weight(sample_weight, i)
            for a in range(n_features):
                out[c, a] += w * filled_value(X, fill, i, a)


def predict_rows(kind, mode, X, means, factor, log_norm, aux, shift, values, labels):
    """Prediction pass, writing only its output.

    mode SCORE: values[:, 0] = log p(x); LABELS: labels = argmax_k of the weighted
    log-density; PROBA: values (N, K) = responsibilities. Blocks of rows are
    independent, so chunks run in parallel with no reduction.
    """
    n_chunks, chunk_rows = chunk_layout(X.shape[0])
    kernel = _predict_kernel(int(kind), kernel_variant(kind, X.shape[1], X.itemsize))
    run_chunks(kernel, n_chunks, chunk_rows, mode, X, means, factor, log_norm, aux,
               shift, values, labels)


@cache
def _predict_kernel(kind, variant):
    # one compilation per kind (and variant, as ``accumulate_kernel``) serves
    # the three outputs

    @njit(**JIT)
    def predict_pass(first, stop, chunk_rows, mode, X, means, factor, log_norm, aux,
                     shift, values, labels):
        n_rows, n_features = X.shape
        n_components = means.shape[0]
        for c in range(first, stop):
            logp = np.empty((n_components, BLOCK_ROWS))
            lse = np.empty(BLOCK_ROWS)
            row_sums = np.empty((2, BLOCK_ROWS))
            work = np.empty((work_rows(n_features), BLOCK_ROWS))
            end = min(n_rows, (c + 1) * chunk_rows)
            for start in range(c * chunk_rows, end, BLOCK_ROWS):
                n = min(BLOCK_ROWS, end - start)
                transpose_block(X, start, n, work)
                _log_prob_block(kind, variant, n_features, n, means, factor,
                                log_norm, aux, shift, logp, work)
                if mode == LABELS:
                    argmax_rows(logp, n, labels, start, lse)
                    continue
                normalise_rows(logp, n, lse, row_sums, bool(True), bool(False))
                write_predictions(mode, logp, lse, n, start, values)

    return predict_pass

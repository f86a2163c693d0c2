"""Pieces shared by every covariance type: the kind codes and the
log-sum-exp that turns a block's weighted log-densities into responsibilities."""

import numpy as np
from numba import njit

from .._config import JIT

FULL, TIED, DIAG = 0, 1, 2
"""Kernel kind codes. ``spherical`` runs as ``DIAG`` with one variance repeated."""

SCORE, LABELS, PROBA = 0, 1, 2
"""What ``evaluate`` writes per row: log p(x), the most likely component, or the
responsibilities."""

# A term exp(t) with t below this is dropped: exp(-50) ~ 2e-22 cannot change a sum
# that holds a term equal to 1 (the maximum), even added up over 10^5 components.
NEGLIGIBLE_LOG = -50.0


@njit(**JIT)
def normalise_rows(logp, n_rows, lse):
    """Turn weighted log-densities into responsibilities, in place.

    ``logp`` is (BLOCK_ROWS, K); rows ``0..n_rows-1`` hold log w_k + log N(x | k).
    On return they hold the responsibilities, and ``lse[i]`` = log p(x_i).
    A row whose every term is -inf (a point impossible under the model) gets
    zero responsibilities and ``lse = -inf``.
    """
    n_components = logp.shape[1]
    for i in range(n_rows):
        top = -np.inf
        for k in range(n_components):
            if logp[i, k] > top:
                top = logp[i, k]
        if top == -np.inf:
            for k in range(n_components):
                logp[i, k] = 0.0
            lse[i] = -np.inf
            continue
        total = 0.0
        for k in range(n_components):
            t = logp[i, k] - top
            e = np.exp(t) if t > NEGLIGIBLE_LOG else 0.0
            logp[i, k] = e
            total += e
        inv = 1.0 / total
        for k in range(n_components):
            logp[i, k] *= inv
        lse[i] = top + np.log(total)


@njit(**JIT)
def argmax_rows(logp, n_rows, labels, start):
    """``labels[start + i]`` = the first k maximising ``logp[i, k]``."""
    n_components = logp.shape[1]
    for i in range(n_rows):
        best = 0
        top = logp[i, 0]
        for k in range(1, n_components):
            if logp[i, k] > top:
                top = logp[i, k]
                best = k
        labels[start + i] = best


@njit(**JIT)
def row_weight(sample_weight, row):
    """The weight of ``row``: 1 when no weights were given (an empty array)."""
    if sample_weight.shape[0] == 0:
        return 1.0
    return sample_weight[row]

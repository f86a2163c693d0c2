"""Checks of user-supplied initial parameters, and the thread-count context.

All of this runs in Python before any kernel: the kernels run without bounds
checks, so every shape they read is settled here.
"""

from contextlib import contextmanager

import numba
import numpy as np
from sklearn.utils import check_array

from ._config import chunk_layout
from ._covariance import covariance_type as as_covariance_type


def _checked_array(value, param):
    """``value`` as a float32 or float64 array (NaN, inf, strings rejected).

    scikit-learn's own message from ``check_array`` ("Input contains NaN.") is kept
    whole, after the name of the fastgmm parameter it came from.
    """
    try:
        return check_array(
            value, dtype=[np.float64, np.float32], ensure_2d=False, allow_nd=True
        )
    except ValueError as exc:
        raise ValueError(
            f"The parameter '{param}' is not a valid array: {exc}"
        ) from exc


# The messages below are scikit-learn's, word for word (sklearn/mixture/_base.py
# `_check_shape` and sklearn/mixture/_gaussian_mixture.py `_check_weights`,
# `_check_means`, `_check_precisions`), so that code matching them keeps working;
# fastgmm only appends, in parentheses, which of its parameters was wrong.


def _check_shape(array, shape, name, param):
    if array.shape != shape:
        raise ValueError(
            f"The parameter '{name}' should have the shape of {shape}, "
            f"but got {array.shape} (from {param})."
        )


def check_weights(weights, n_components):
    """Validated float64 copy of ``weights_init``: shape (K,), in [0, 1], summing
    to 1 (within 1e-6 for float32 input, 1e-8 for float64)."""
    weights = _checked_array(weights, "weights_init")
    _check_shape(weights, (n_components,), "weights", "weights_init")
    atol = 1e-6 if weights.dtype == np.float32 else 1e-8
    weights = weights.astype(np.float64)
    smallest, largest = weights.min(), weights.max()
    if smallest < 0.0 or largest > 1.0:
        # scikit-learn prints the minimum as "max value" and the maximum as
        # "min value", and its own tests match that text; the hint says it right.
        raise ValueError(
            "The parameter 'weights' should be in the range [0, 1], but got "
            f"max value {smallest:.5f}, min value {largest:.5f} (from weights_init, "
            f"whose smallest value is {smallest:.5g} and largest {largest:.5g})."
        )
    total = weights.sum()
    if abs(1.0 - total) > atol:
        raise ValueError(
            "The parameter 'weights' should be normalized, but got "
            f"sum(weights) = {total:.5f} (from weights_init: divide it by its sum)."
        )
    return weights


def check_means(means, n_components, n_features):
    """Validated float64 copy of ``means_init``: shape (K, D)."""
    means = _checked_array(means, "means_init")
    _check_shape(means, (n_components, n_features), "means", "means_init")
    return means.astype(np.float64)


def check_precisions(precisions, covariance_type, n_components, n_features):
    """Validated float64 copy of ``precisions_init``: the shape of
    ``covariance_type``, symmetric positive definite (full, tied) or positive
    (diag, spherical)."""
    name = f"{covariance_type} precision"
    shape = as_covariance_type(covariance_type).shape(n_components, n_features)
    precisions = _checked_array(precisions, "precisions_init")
    _check_shape(precisions, shape, name, "precisions_init")
    precisions = precisions.astype(np.float64)
    if not as_covariance_type(covariance_type).stores_matrices:
        if np.any(precisions <= 0.0):
            raise ValueError(
                f"'{name}' should be positive (from precisions_init, whose "
                f"minimum is {precisions.min()!r})."
            )
        return precisions
    matrices = precisions[None] if covariance_type == "tied" else precisions
    for k, matrix in enumerate(matrices):
        symmetric = np.allclose(matrix, matrix.T, rtol=1e-5, atol=1e-8)
        if not symmetric or not np.all(np.linalg.eigvalsh(matrix) > 0.0):
            which = "" if covariance_type == "tied" else f", component {k}"
            raise ValueError(
                f"'{name}' should be symmetric, positive-definite "
                f"(from precisions_init{which})."
            )
    return precisions


def resolve_n_jobs(n_jobs):
    """Threads for ``n_jobs``: None -> all of Numba's threads; -1 -> all, -2 -> all
    but one, ...; capped at Numba's maximum."""
    available = numba.config.NUMBA_NUM_THREADS
    if n_jobs is None:
        return available
    if n_jobs < 0:
        return max(1, available + 1 + n_jobs)
    return min(n_jobs, available)


@contextmanager
def numba_threads(n_jobs, n_rows=None):
    """Use ``n_jobs`` Numba threads in this thread for the duration of the block,
    restoring the previous count even if the block raises.

    With ``n_rows``, no more threads than the data have chunks
    (``_config.chunk_layout``): extra threads would only be woken to wait.
    Results never depend on the count.
    """
    threads = resolve_n_jobs(n_jobs)
    if n_rows is not None:
        threads = min(threads, chunk_layout(n_rows)[0])
    previous = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        yield
    finally:
        numba.set_num_threads(previous)

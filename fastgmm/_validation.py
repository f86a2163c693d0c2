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


def _as_float_array(value, name, ndim):
    try:
        array = check_array(
            value, dtype=[np.float64, np.float32], ensure_2d=False, allow_nd=True,
            input_name=name,
        )
    except ValueError as exc:
        raise ValueError(f"The parameter '{name}' is not a valid array: {exc}") from exc
    if array.ndim != ndim:
        raise ValueError(
            f"The parameter '{name}' should have {ndim} dimension(s), "
            f"but got an array of shape {array.shape}."
        )
    return array.astype(np.float64)


def _check_shape(array, shape, name):
    if array.shape != shape:
        raise ValueError(
            f"The parameter '{name}' should have the shape of {shape}, "
            f"but got {array.shape}."
        )


def check_weights(weights, n_components):
    """Validated copy of ``weights_init``: shape (K,), in [0, 1], summing to 1."""
    original_dtype = np.asarray(weights).dtype
    weights = _as_float_array(weights, "weights_init", 1)
    _check_shape(weights, (n_components,), "weights_init")
    if np.any(weights < 0.0) or np.any(weights > 1.0):
        raise ValueError(
            "The parameter 'weights_init' should be in the range [0, 1], but got "
            f"max value {weights.max():.5f}, min value {weights.min():.5f}."
        )
    atol = 1e-6 if original_dtype == np.float32 else 1e-8
    if abs(1.0 - weights.sum()) > atol:
        raise ValueError(
            "The parameter 'weights_init' should be normalized, but got "
            f"sum(weights_init) = {weights.sum():.5f}. Divide it by its sum."
        )
    return weights


def check_means(means, n_components, n_features):
    """Validated copy of ``means_init``: shape (K, D)."""
    means = _as_float_array(means, "means_init", 2)
    _check_shape(means, (n_components, n_features), "means_init")
    return means


def check_precisions(precisions, covariance_type, n_components, n_features):
    """Validated copy of ``precisions_init``: the shape of ``covariance_type``,
    symmetric positive definite (full, tied) or positive (diag, spherical)."""
    shape = as_covariance_type(covariance_type).shape(n_components, n_features)
    precisions = _as_float_array(precisions, "precisions_init", len(shape))
    _check_shape(precisions, shape, f"precisions_init ({covariance_type})")
    if covariance_type in ("diag", "spherical"):
        if np.any(precisions <= 0.0):
            raise ValueError(
                f"'{covariance_type}' precisions_init should be positive; got "
                f"minimum {precisions.min()!r}."
            )
        return precisions
    matrices = precisions[None] if covariance_type == "tied" else precisions
    for k, matrix in enumerate(matrices):
        symmetric = np.allclose(matrix, matrix.T, rtol=1e-5, atol=1e-8)
        if not symmetric or not np.all(np.linalg.eigvalsh(matrix) > 0.0):
            which = "" if covariance_type == "tied" else f" (component {k})"
            raise ValueError(
                f"'{covariance_type}' precisions_init{which} should be symmetric, "
                "positive-definite."
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

"""One pass over an in-memory block of data: the glue between the estimator and
the kernels. Each function validates nothing (the estimator has), allocates the
kernel's per-chunk slots and returns small arrays or ``SufficientStats``."""

import numpy as np

from ._config import chunk_layout
from ._kernels import em
from ._params import KERNEL_KIND, kernel_params
from ._stats import SufficientStats

NO_WEIGHTS = np.empty(0, dtype=np.float64)


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


def _weights(sample_weight):
    return NO_WEIGHTS if sample_weight is None else sample_weight


def _total_weight(X, sample_weight):
    return float(X.shape[0]) if sample_weight is None else float(sample_weight.sum())


def em_pass(X, params, covariance_type, sample_weight=None):
    """E-step under ``params`` fused with the statistics for the M-step."""
    kp = kernel_params(params, covariance_type)
    n_rows, n_features = X.shape
    n_chunks, chunk_rows = chunk_layout(n_rows)
    s0, s1, s2 = _slots(n_chunks, kp.means.shape[0], n_features, covariance_type)
    loglik = np.empty(n_chunks)
    em.accumulate(kp.kind, X, _weights(sample_weight), kp.means, kp.factor,
                  kp.log_norm, kp.aux, kp.shift, chunk_rows, s0, s1, s2, loglik)
    return SufficientStats.from_chunks(
        covariance_type, s0, s1, s2, kp.means, kp.shift, loglik,
        _total_weight(X, sample_weight),
    )


def assigned_stats(X, centers, covariance_type, labels=None, resp=None,
                   sample_weight=None):
    """Statistics under given hard ``labels`` (-1: no component) or soft ``resp``
    (N, K), around the shifts ``centers`` (K, D)."""
    centers = np.ascontiguousarray(centers, dtype=np.float64)
    n_rows, n_features = X.shape
    n_components = centers.shape[0]
    n_chunks, chunk_rows = chunk_layout(n_rows)
    s0, s1, s2 = _slots(n_chunks, n_components, n_features, covariance_type)
    tied_shift = centers.mean(axis=0)
    if labels is None:
        labels = np.empty(0, dtype=np.int64)
        resp = np.ascontiguousarray(resp, dtype=np.float64)
    else:
        labels = np.ascontiguousarray(labels, dtype=np.int64)
        resp = np.empty((0, n_components))
    em.accumulate_assigned(KERNEL_KIND[covariance_type], X, _weights(sample_weight),
                           labels, resp, centers, tied_shift, chunk_rows, s0, s1, s2)
    return SufficientStats.from_chunks(
        covariance_type, s0, s1, s2, centers, tied_shift, np.zeros(1),
        _total_weight(X, sample_weight),
    )


def evaluate(X, params, covariance_type, mode):
    """Per-row output of ``mode`` (SCORE: (N,), LABELS: (N,) int64, PROBA: (N, K))."""
    kp = kernel_params(params, covariance_type)
    n_rows = X.shape[0]
    n_components = kp.means.shape[0]
    if mode == em.PROBA:
        values = np.empty((n_rows, n_components))
    elif mode == em.SCORE:
        values = np.empty((n_rows, 1))
    else:
        values = np.empty((0, 1))
    labels = np.empty(n_rows if mode == em.LABELS else 0, dtype=np.int64)
    em.evaluate(kp.kind, mode, X, kp.means, kp.factor, kp.log_norm, kp.aux,
                kp.shift, values, labels)
    if mode == em.LABELS:
        return labels
    if mode == em.SCORE:
        return values[:, 0]
    return values

"""Mixture parameters and their conversions, in scikit-learn's conventions.

``precisions_cholesky_`` is upper-triangular U with precision = U Uᵀ (full, tied);
for diag and spherical it is 1 / sigma. Everything here works on small arrays
(K x D x D at most), in float64.
"""

from dataclasses import dataclass

import numpy as np
from scipy.linalg import lapack

from ._kernels.common import DIAG, FULL, TIED

KERNEL_KIND = {"full": FULL, "tied": TIED, "diag": DIAG, "spherical": DIAG}
LOG_2PI = np.log(2.0 * np.pi)


@dataclass
class Params:
    """Weights (K,), means (K, D), covariances and their precision factors, float64."""

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    precisions_cholesky: np.ndarray

    def copy(self):
        return Params(*(np.array(a, copy=True) for a in self.astuple()))

    def astuple(self):
        return (self.weights, self.means, self.covariances, self.precisions_cholesky)


def _upper_inverse_of_cholesky(matrix):
    """U upper-triangular with U Uᵀ = inv(matrix), or None if matrix is not PD.

    Calls LAPACK directly (potrf, trtri): these matrices are tiny, and the
    wrappers of numpy.linalg and scipy.linalg cost far more than the work.
    """
    lower, info = lapack.dpotrf(matrix, lower=1, clean=1)
    if info != 0 or not np.all(np.isfinite(lower)):
        return None
    inverse, info = lapack.dtrtri(lower, lower=1)
    if info != 0 or not np.all(np.isfinite(inverse)):
        return None
    return inverse.T


def precisions_cholesky_from_covariances(covariances, covariance_type):
    """Return ``(precisions_cholesky, failed)``.

    ``failed`` is a boolean array (K,) marking components whose covariance is not
    positive definite (for tied, shape (1,)); their factor is left as NaN so that
    a caller that ignores ``failed`` cannot use it silently.
    """
    if covariance_type == "full":
        n_components, n_features, _ = covariances.shape
        factors = np.full_like(covariances, np.nan)
        failed = np.zeros(n_components, dtype=bool)
        for k in range(n_components):
            factor = _upper_inverse_of_cholesky(covariances[k])
            if factor is None:
                failed[k] = True
            else:
                factors[k] = factor
        return factors, failed
    if covariance_type == "tied":
        factor = _upper_inverse_of_cholesky(covariances)
        if factor is None:
            return np.full_like(covariances, np.nan), np.ones(1, dtype=bool)
        return factor, np.zeros(1, dtype=bool)
    failed = ~(covariances > 0) | ~np.isfinite(covariances)
    if covariance_type == "diag":
        failed = failed.any(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        factors = 1.0 / np.sqrt(covariances)
    factors[failed] = np.nan
    return factors, failed


def precisions_cholesky_from_precisions(precisions, covariance_type):
    """U upper-triangular with U Uᵀ = precision, per component (reversal trick:
    the lower Cholesky factor of the row-and-column-reversed matrix, reversed)."""
    if covariance_type in ("diag", "spherical"):
        return np.sqrt(precisions)
    if covariance_type == "tied":
        return np.linalg.cholesky(precisions[::-1, ::-1])[::-1, ::-1].copy()
    return np.linalg.cholesky(precisions[:, ::-1, ::-1])[:, ::-1, ::-1].copy()


def precisions_from_cholesky(precisions_cholesky, covariance_type):
    """precision = U Uᵀ (full, tied) or U² (diag, spherical)."""
    if covariance_type == "full":
        return np.einsum("kij,klj->kil", precisions_cholesky, precisions_cholesky)
    if covariance_type == "tied":
        return precisions_cholesky @ precisions_cholesky.T
    return precisions_cholesky**2


def covariances_from_precisions_cholesky(precisions_cholesky, covariance_type):
    """covariance = inv(U Uᵀ) = inv(U)ᵀ inv(U)."""
    if covariance_type in ("diag", "spherical"):
        return 1.0 / precisions_cholesky**2
    def invert(u):
        inv_u, info = lapack.dtrtri(np.asarray(u, dtype=np.float64), lower=0)
        if info != 0:
            raise ValueError("precisions_init is singular: it has no inverse.")
        return inv_u.T @ inv_u

    if covariance_type == "tied":
        return invert(precisions_cholesky)
    return np.stack([invert(u) for u in precisions_cholesky])


def log_det_cholesky(precisions_cholesky, covariance_type, n_features):
    """log det U per component (K,), or a scalar for tied."""
    if covariance_type == "full":
        return np.log(np.diagonal(precisions_cholesky, axis1=1, axis2=2)).sum(axis=1)
    if covariance_type == "tied":
        return np.log(np.diag(precisions_cholesky)).sum()
    if covariance_type == "diag":
        return np.log(precisions_cholesky).sum(axis=1)
    return n_features * np.log(precisions_cholesky)


@dataclass
class KernelParams:
    """Parameters laid out as the kernels read them (see ``_kernels``)."""

    kind: int
    means: np.ndarray
    factor: np.ndarray
    log_norm: np.ndarray
    aux: np.ndarray
    shift: np.ndarray


def kernel_params(params, covariance_type):
    """Lay out ``params`` for the kernels: transposed factors, per-component
    normalising constants log w_k - D/2 log 2 pi + log det U_k, and for tied the
    transformed means around a shift near the data."""
    means = np.ascontiguousarray(params.means, dtype=np.float64)
    n_components, n_features = means.shape
    prec_chol = np.asarray(params.precisions_cholesky, dtype=np.float64)
    with np.errstate(divide="ignore"):
        log_weights = np.log(np.asarray(params.weights, dtype=np.float64))
    log_det = log_det_cholesky(prec_chol, covariance_type, n_features)
    log_norm = log_weights - 0.5 * n_features * LOG_2PI + log_det
    shift = np.zeros(n_features)
    aux = means
    if covariance_type == "full":
        factor = np.ascontiguousarray(prec_chol.transpose(0, 2, 1))
    elif covariance_type == "tied":
        shift = means.mean(axis=0)
        factor = np.ascontiguousarray(prec_chol.T)[None]
        aux = np.ascontiguousarray((means - shift) @ prec_chol)
    elif covariance_type == "diag":
        factor = np.ascontiguousarray((prec_chol**2)[:, None, :])
    else:  # spherical: one precision per component, factor (K, 1, 1)
        factor = np.ascontiguousarray((prec_chol**2).reshape(-1, 1, 1))
    return KernelParams(
        KERNEL_KIND[covariance_type], means, factor,
        np.ascontiguousarray(log_norm), aux, shift,
    )


def n_parameters(n_components, n_features, covariance_type):
    """Number of free parameters of the mixture."""
    cov_params = {
        "full": n_components * n_features * (n_features + 1) / 2.0,
        "diag": n_components * n_features,
        "tied": n_features * (n_features + 1) / 2.0,
        "spherical": n_components,
    }[covariance_type]
    return int(cov_params + n_features * n_components + n_components - 1)

"""One description per covariance type: every place where the type matters asks
its ``CovarianceType`` instead of branching on a string.

A type knows the shapes of its covariances and precisions, its number of free
parameters, how its precision factors are computed and converted (scikit-learn's
conventions: ``precisions_cholesky_`` is upper-triangular U with precision U Uᵀ
for full and tied, 1 / sigma for diag and spherical), how the kernels read it,
and the arithmetic of its second moment (the statistics' shift and the M-step's
scatter). Adding a covariance type means adding one class here and, if its
per-point work differs, one kernel (see ``docs/architecture.md``).

This module needs only NumPy at import (``select`` and ``plot`` use it); LAPACK
is imported on first use.
"""

import numpy as np

from ._kernels.kinds import DIAG, FULL, SPHERICAL, TIED

LOG_2PI = np.log(2.0 * np.pi)


def _lapack():
    from scipy.linalg import lapack

    return lapack


def _upper_inverse_of_cholesky(matrix):
    """U upper-triangular with U Uᵀ = inv(matrix), or None if matrix is not PD.

    Calls LAPACK directly (potrf, trtri): these matrices are tiny, and the
    wrappers of numpy.linalg and scipy.linalg cost far more than the work.
    """
    lapack = _lapack()
    lower, info = lapack.dpotrf(matrix, lower=1, clean=1)
    if info != 0 or not np.all(np.isfinite(lower)):
        return None
    inverse, info = lapack.dtrtri(lower, lower=1)
    if info != 0 or not np.all(np.isfinite(inverse)):
        return None
    return inverse.T


def _covariance_of_upper_factor(u):
    """covariance = inv(U Uᵀ) = inv(U)ᵀ inv(U) for one upper-triangular U."""
    inv_u, info = _lapack().dtrtri(np.asarray(u, dtype=np.float64), lower=0)
    if info != 0:
        raise ValueError("precisions_init is singular: it has no inverse.")
    return inv_u.T @ inv_u


def _upper_cholesky_of_precision(precision):
    """U upper-triangular with U Uᵀ = precision (reversal trick: the lower
    Cholesky factor of the row-and-column-reversed matrix, reversed)."""
    return np.linalg.cholesky(precision[..., ::-1, ::-1])[..., ::-1, ::-1].copy()


def _outer_update(s2, s1, s0, d):
    """s2 + s1 dᵀ + d s1ᵀ + s0 d dᵀ per component: (K, D, D)."""
    cross = s1[:, :, None] * d[:, None, :]
    return (
        s2 + cross + np.swapaxes(cross, 1, 2)
        + s0[:, None, None] * d[:, :, None] * d[:, None, :]
    )


def _symmetric_from_lower(lower):
    """Fill the upper triangle of (..., D, D) from the lower one."""
    upper = np.swapaxes(np.tril(lower, -1), -1, -2)
    return np.tril(lower) + upper


class CovarianceType:
    """What a covariance type is: shapes, parameter count, conversions and the
    algebra of its statistics. Subclasses are stateless singletons
    (``COVARIANCE_TYPES``)."""

    name: str
    kernel_kind: int
    # whether covariances are stored as matrices (full, tied) or as variances
    stores_matrices = False

    def __repr__(self):
        return f"CovarianceType({self.name!r})"

    def __reduce__(self):
        return (covariance_type, (self.name,))

    # ------------------------------------------------------------- shapes

    def shape(self, n_components, n_features):
        """Shape of ``covariances_``, ``precisions_`` and ``precisions_cholesky_``."""
        raise NotImplementedError

    def n_covariance_parameters(self, n_components, n_features):
        raise NotImplementedError

    def n_parameters(self, n_components, n_features):
        """Free parameters of the mixture: covariances, means and K - 1 weights
        (scikit-learn's count)."""
        k, d = n_components, n_features
        return int(self.n_covariance_parameters(k, d) + k * d + k - 1)

    def second_moment_shape(self, n_components, n_features):
        """Shape of ``SufficientStats.s2``."""
        return (n_components, n_features)

    def slot_shape(self, n_chunks, n_components, n_features):
        """Shape of the kernels' per-chunk second-moment slots."""
        raise NotImplementedError

    def second_moment_from_slots(self, s2):
        """The summed slots' second moment in its documented shape (``_stats``)."""
        return s2[:, 0, :]

    # ---------------------------------------------------------- conversions

    def cholesky_from_covariances(self, covariances):
        """Return ``(precisions_cholesky, failed)``: ``failed`` (K,) marks the
        components whose covariance is not positive definite (tied: shape (1,));
        their factor is NaN, so a caller that ignores ``failed`` cannot use it."""
        failed = ~(covariances > 0) | ~np.isfinite(covariances)
        if failed.ndim == 2:
            failed = failed.any(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            factors = 1.0 / np.sqrt(covariances)
        factors[failed] = np.nan
        return factors, failed

    def cholesky_from_precisions(self, precisions):
        return np.sqrt(precisions)

    def precisions_from_cholesky(self, precisions_cholesky):
        return precisions_cholesky**2

    def covariances_from_cholesky(self, precisions_cholesky):
        return 1.0 / precisions_cholesky**2

    def log_det_cholesky(self, precisions_cholesky, n_features):
        """log det U per component (K,) (tied: a scalar)."""
        raise NotImplementedError

    def kernel_layout(self, means, precisions_cholesky):
        """``(factor, aux, shift)`` as the kernel of ``kernel_kind`` reads them
        (see ``_kernels``)."""
        raise NotImplementedError

    def component_matrix(self, covariances, k):
        """Covariance of component k as a (D', D') matrix (spherical: (1, 1))."""
        raise NotImplementedError

    def full_matrices(self, covariances, n_components, n_features):
        """Every component's covariance as a full matrix: (K, D, D)."""
        raise NotImplementedError

    def add_to_diagonal(self, covariances, k, value):
        """Add ``value`` to the diagonal of component k's covariance, in place."""
        covariances[k] += value

    def sample(self, rng, means, covariances, counts):
        """``counts[k]`` draws from component k, in component order (the draws
        scikit-learn's ``sample`` makes from the same ``rng``)."""
        n_features = means.shape[1]
        return [m + rng.standard_normal(size=(n, n_features)) * np.sqrt(c)
                for m, c, n in zip(means, covariances, counts, strict=True)]

    # ---------------------------------------------------------- statistics

    def shifted_second_moment(self, stats, centers, tied_shift):
        """``stats.s2`` around new shifts (see ``SufficientStats.shifted``)."""
        d = stats.centers - centers
        return stats.s2 + 2.0 * stats.s1 * d + stats.s0[:, None] * d**2

    def covariances_from_stats(self, stats, means, delta, nk, reg_covar):
        """The M-step's covariances from the statistics, with ``reg_covar`` added
        to the diagonal: ``means`` = centers + ``delta``, ``nk`` the masses."""
        scatter = stats.s2 - 2.0 * stats.s1 * delta + stats.s0[:, None] * delta**2
        return scatter / nk[:, None] + reg_covar

    def quadratic_sum(self, stats, precisions_cholesky):
        """sum_k sum_n w r_nk (x_n - c_k)ᵀ P_k (x_n - c_k) from statistics taken
        around the centers c_k, with P_k the precisions of the factors
        ``precisions_cholesky`` (the responsibility-weighted quadratic forms of a
        pass's log-densities, ``_stats.pass_entropy``)."""
        return float(np.sum(precisions_cholesky**2 * stats.s2))


class Full(CovarianceType):
    name = "full"
    kernel_kind = FULL
    stores_matrices = True

    def shape(self, n_components, n_features):
        return (n_components, n_features, n_features)

    def n_covariance_parameters(self, n_components, n_features):
        return n_components * n_features * (n_features + 1) // 2

    def second_moment_shape(self, n_components, n_features):
        return (n_components, n_features, n_features)

    def slot_shape(self, n_chunks, n_components, n_features):
        return (n_chunks, n_components, n_features, n_features)

    def second_moment_from_slots(self, s2):
        return _symmetric_from_lower(s2)

    def cholesky_from_covariances(self, covariances):
        n_components = covariances.shape[0]
        if covariances.shape[-1] == 1:
            # what potrf and trtri compute for a 1 x 1 matrix, for all K at once
            # (one-feature models iterate in a few ms; K LAPACK calls cost 1)
            factors, failed = CovarianceType.cholesky_from_covariances(
                self, covariances[:, :, 0]
            )
            return factors[:, :, None], failed
        factors = np.full_like(covariances, np.nan)
        failed = np.zeros(n_components, dtype=bool)
        for k in range(n_components):
            factor = _upper_inverse_of_cholesky(covariances[k])
            if factor is None:
                failed[k] = True
            else:
                factors[k] = factor
        return factors, failed

    def cholesky_from_precisions(self, precisions):
        return _upper_cholesky_of_precision(precisions)

    def precisions_from_cholesky(self, precisions_cholesky):
        return np.einsum("kij,klj->kil", precisions_cholesky, precisions_cholesky)

    def covariances_from_cholesky(self, precisions_cholesky):
        return np.stack([_covariance_of_upper_factor(u) for u in precisions_cholesky])

    def log_det_cholesky(self, precisions_cholesky, n_features):
        return np.log(np.diagonal(precisions_cholesky, axis1=1, axis2=2)).sum(axis=1)

    def kernel_layout(self, means, precisions_cholesky):
        factor = np.ascontiguousarray(precisions_cholesky.transpose(0, 2, 1))
        return factor, means, np.zeros(means.shape[1])

    def component_matrix(self, covariances, k):
        return covariances[k]

    def full_matrices(self, covariances, n_components, n_features):
        return covariances.copy()

    def add_to_diagonal(self, covariances, k, value):
        covariances[k].flat[:: covariances.shape[-1] + 1] += value

    def sample(self, rng, means, covariances, counts):
        return [rng.multivariate_normal(m, c, int(n))
                for m, c, n in zip(means, covariances, counts, strict=True)]

    def shifted_second_moment(self, stats, centers, tied_shift):
        return _outer_update(stats.s2, stats.s1, stats.s0, stats.centers - centers)

    def covariances_from_stats(self, stats, means, delta, nk, reg_covar):
        cross = stats.s1[:, :, None] * delta[:, None, :]
        scatter = (
            stats.s2 - cross - np.swapaxes(cross, 1, 2)
            + stats.s0[:, None, None] * delta[:, :, None] * delta[:, None, :]
        )
        covariances = scatter / nk[:, None, None]
        n_features = means.shape[1]
        covariances[:, np.arange(n_features), np.arange(n_features)] += reg_covar
        return covariances

    def quadratic_sum(self, stats, precisions_cholesky):
        # P_k = U_k U_kᵀ: sum_k tr(U_kᵀ s2_k U_k)
        return float(np.einsum("kaj,kab,kbj->", precisions_cholesky, stats.s2,
                               precisions_cholesky))


class Tied(CovarianceType):
    """One covariance shared by all components; its scatter is accumulated once
    per point around one shift (``tied_shift``), not per component."""

    name = "tied"
    kernel_kind = TIED
    stores_matrices = True

    def shape(self, n_components, n_features):
        return (n_features, n_features)

    def n_covariance_parameters(self, n_components, n_features):
        return n_features * (n_features + 1) // 2

    def second_moment_shape(self, n_components, n_features):
        return (n_features, n_features)

    def slot_shape(self, n_chunks, n_components, n_features):
        return (n_chunks, 1, n_features, n_features)

    def second_moment_from_slots(self, s2):
        return _symmetric_from_lower(s2[0])

    def cholesky_from_covariances(self, covariances):
        factor = _upper_inverse_of_cholesky(covariances)
        if factor is None:
            return np.full_like(covariances, np.nan), np.ones(1, dtype=bool)
        return factor, np.zeros(1, dtype=bool)

    def cholesky_from_precisions(self, precisions):
        return _upper_cholesky_of_precision(precisions)

    def precisions_from_cholesky(self, precisions_cholesky):
        return precisions_cholesky @ precisions_cholesky.T

    def covariances_from_cholesky(self, precisions_cholesky):
        return _covariance_of_upper_factor(precisions_cholesky)

    def log_det_cholesky(self, precisions_cholesky, n_features):
        return np.log(np.diag(precisions_cholesky)).sum()

    def kernel_layout(self, means, precisions_cholesky):
        # each point is transformed once, around a shift near the data
        shift = means.mean(axis=0)
        factor = np.ascontiguousarray(precisions_cholesky.T)[None]
        aux = np.ascontiguousarray((means - shift) @ precisions_cholesky)
        return factor, aux, shift

    def component_matrix(self, covariances, k):
        return covariances

    def full_matrices(self, covariances, n_components, n_features):
        return np.broadcast_to(covariances, (n_components, n_features, n_features)
                               ).copy()

    def add_to_diagonal(self, covariances, k, value):
        covariances.flat[:: covariances.shape[-1] + 1] += value

    def sample(self, rng, means, covariances, counts):
        return [rng.multivariate_normal(m, covariances, int(n))
                for m, n in zip(means, counts, strict=True)]

    def shifted_second_moment(self, stats, centers, tied_shift):
        # the points' first moment around the old shift t, sum_k (s1_k + s0_k
        # (c_k - t)), assumes every point's responsibilities sum to one
        e = stats.tied_shift - tied_shift
        first = (stats.s1 + stats.s0[:, None] * (stats.centers - stats.tied_shift)
                 ).sum(axis=0)
        cross = first[:, None] * e[None, :]
        return stats.s2 + cross + cross.T + stats.s0.sum() * np.outer(e, e)

    def covariances_from_stats(self, stats, means, delta, nk, reg_covar):
        shift = stats.tied_shift
        # first moments of each component around the common shift, and the new
        # means' offsets from it
        g = stats.s1 + stats.s0[:, None] * (stats.centers - shift)
        e = means - shift
        cross = g.T @ e
        scatter = stats.s2 - cross - cross.T + (stats.s0[:, None] * e).T @ e
        covariances = scatter / nk.sum()
        covariances.flat[:: means.shape[1] + 1] += reg_covar
        return covariances

    def quadratic_sum(self, stats, precisions_cholesky):
        # the scatter around each point's own center, sum_k sum_n w r (x - c_k)
        # (x - c_k)ᵀ, from the one taken around the shift (as the M-step's)
        scatter = self.covariances_from_stats(
            stats, stats.centers, np.zeros_like(stats.s1), np.ones(1), 0.0)
        return float(np.einsum("aj,ab,bj->", precisions_cholesky, scatter,
                               precisions_cholesky))


class Diag(CovarianceType):
    name = "diag"
    kernel_kind = DIAG

    def shape(self, n_components, n_features):
        return (n_components, n_features)

    def n_covariance_parameters(self, n_components, n_features):
        return n_components * n_features

    def slot_shape(self, n_chunks, n_components, n_features):
        return (n_chunks, n_components, 1, n_features)

    def log_det_cholesky(self, precisions_cholesky, n_features):
        return np.log(precisions_cholesky).sum(axis=1)

    def kernel_layout(self, means, precisions_cholesky):
        # the precisions and their square roots g, and aux = g means: each
        # standardised distance is then one multiply-add (``_kernels.diag``)
        factor = np.ascontiguousarray(
            np.stack([precisions_cholesky**2, precisions_cholesky], axis=1))
        aux = np.ascontiguousarray(precisions_cholesky * means)
        return factor, aux, np.zeros(means.shape[1])

    def component_matrix(self, covariances, k):
        return np.diag(covariances[k])

    def full_matrices(self, covariances, n_components, n_features):
        return np.stack([np.diag(row) for row in covariances])


class Spherical(Diag):
    """Diag with one variance per component: the kernels get one precision per
    component (``factor`` of shape (K, 1, 1)), multiplied once per squared
    distance, in the passes of their own kind (``_kernels.kinds``)."""

    name = "spherical"
    kernel_kind = SPHERICAL

    def shape(self, n_components, n_features):
        return (n_components,)

    def n_covariance_parameters(self, n_components, n_features):
        return n_components

    def log_det_cholesky(self, precisions_cholesky, n_features):
        return n_features * np.log(precisions_cholesky)

    def kernel_layout(self, means, precisions_cholesky):
        factor = np.ascontiguousarray((precisions_cholesky**2).reshape(-1, 1, 1))
        return factor, means, np.zeros(means.shape[1])

    def component_matrix(self, covariances, k):
        return np.eye(1) * covariances[k]

    def full_matrices(self, covariances, n_components, n_features):
        return covariances[:, None, None] * np.eye(n_features)

    def covariances_from_stats(self, stats, means, delta, nk, reg_covar):
        return super().covariances_from_stats(stats, means, delta, nk,
                                              reg_covar).mean(axis=1)

    def quadratic_sum(self, stats, precisions_cholesky):
        return float(np.sum(precisions_cholesky**2 * stats.s2.sum(axis=1)))


COVARIANCE_TYPES = {t.name: t for t in (Full(), Tied(), Diag(), Spherical())}
"""The four covariance types by name, in scikit-learn's order."""

NAMES = tuple(COVARIANCE_TYPES)


def covariance_type(value):
    """The ``CovarianceType`` named ``value`` (or ``value`` itself if it is one)."""
    if isinstance(value, CovarianceType):
        return value
    try:
        return COVARIANCE_TYPES[value]
    except (KeyError, TypeError):
        raise ValueError(
            f"covariance_type must be one of {NAMES}, got {value!r}."
        ) from None

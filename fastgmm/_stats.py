"""Sufficient statistics and the M-step.

One pass over data under responsibilities r (times sample weights w) gives

    s0[k] = sum r,   s1[k] = sum r (x - c_k),   s2[k] = sum r (x - c_k)(x - c_k)ᵀ

around a shift c_k (the component's current mean), so that s1 -> 0 as EM
converges and no catastrophic cancellation occurs for data far from the origin.
Tied models keep one scatter around a single shift instead of one per component;
diag and spherical keep only the diagonal. Statistics of disjoint pieces of data
taken around the same shifts add; statistics taken around different shifts are
first moved to common shifts with exact algebra (``SufficientStats.shifted``, the
Chan-Golub-LeVeque update), which is how ``+`` merges them and how online EM keeps
a running average over batches whose parameters (hence shifts) differ.
"""

from dataclasses import dataclass

import numpy as np

from ._params import Params

# scikit-learn adds this to every component's mass so empty components divide safely.
MASS_EPS = 10 * np.finfo(np.float64).eps


@dataclass
class SufficientStats:
    """Statistics of one pass, in float64.

    Attributes
    ----------
    s0 : (K,) responsibility mass per component.
    s1 : (K, D) first moment around ``centers``.
    s2 : full (K, D, D) / tied (D, D) / diag and spherical (K, D) second moment,
        around ``centers`` (tied: around ``tied_shift``, over all points).
    centers : (K, D) per-component shifts; tied_shift : (D,).
    loglik : sum of w log p(x) under the parameters of the pass.
    weight : sum of w (the number of points when unweighted).
    """

    covariance_type: str
    s0: np.ndarray
    s1: np.ndarray
    s2: np.ndarray
    centers: np.ndarray
    tied_shift: np.ndarray
    loglik: float
    weight: float

    def __add__(self, other):
        """Statistics of the union of two disjoint pieces of data.

        When ``other`` was taken around different shifts it is first moved to
        this object's shifts (``shifted``), so the sum is around ``self``'s.
        """
        if other is None:
            return self
        if self.covariance_type != other.covariance_type:
            raise ValueError(
                "statistics of different covariance types do not add: "
                f"{self.covariance_type!r} and {other.covariance_type!r}"
            )
        if not (
            np.array_equal(self.centers, other.centers)
            and np.array_equal(self.tied_shift, other.tied_shift)
        ):
            other = other.shifted(self.centers, self.tied_shift)
        return SufficientStats(
            self.covariance_type,
            self.s0 + other.s0,
            self.s1 + other.s1,
            self.s2 + other.s2,
            self.centers,
            self.tied_shift,
            self.loglik + other.loglik,
            self.weight + other.weight,
        )

    def scaled(self, factor):
        """The statistics with every sum (masses, moments, log-likelihood, weight)
        multiplied by ``factor``: the statistics of the same data with every
        sample weight multiplied by ``factor``."""
        factor = float(factor)
        return SufficientStats(
            self.covariance_type,
            self.s0 * factor,
            self.s1 * factor,
            self.s2 * factor,
            self.centers,
            self.tied_shift,
            self.loglik * factor,
            self.weight * factor,
        )

    def shifted(self, centers, tied_shift=None):
        """The same statistics taken around other shifts (exact algebra).

        With d_k = c_k - c'_k, (x - c') = (x - c) + d gives

            s1' = s1 + s0 d,   s2' = s2 + s1 dᵀ + d s1ᵀ + s0 d dᵀ

        (diag and spherical: the diagonal of it). The tied scatter, taken once per
        point around one shift t over all points, moves with e = t - t' and the
        points' first moment around t, sum_k (s1_k + s0_k (c_k - t)), which
        assumes every point's responsibilities sum to one (true of an E-step).
        Moving to shifts near the component means (as EM does) keeps every term
        small, so nothing cancels. ``tied_shift`` defaults to the mean of
        ``centers``, the convention of the kernels.
        """
        centers = np.asarray(centers, dtype=np.float64)
        if tied_shift is None:
            tied_shift = centers.mean(axis=0)
        tied_shift = np.asarray(tied_shift, dtype=np.float64)
        d = self.centers - centers
        s0, s1 = self.s0, self.s1
        new_s1 = s1 + s0[:, None] * d
        if self.covariance_type == "full":
            cross = s1[:, :, None] * d[:, None, :]
            new_s2 = (
                self.s2 + cross + np.swapaxes(cross, 1, 2)
                + s0[:, None, None] * d[:, :, None] * d[:, None, :]
            )
        elif self.covariance_type == "tied":
            e = self.tied_shift - tied_shift
            first = (s1 + s0[:, None] * (self.centers - self.tied_shift)).sum(axis=0)
            cross = first[:, None] * e[None, :]
            new_s2 = self.s2 + cross + cross.T + s0.sum() * np.outer(e, e)
        else:
            new_s2 = self.s2 + 2.0 * s1 * d + s0[:, None] * d**2
        return SufficientStats(
            self.covariance_type, s0.copy(), new_s1, new_s2, centers.copy(),
            tied_shift.copy(), self.loglik, self.weight,
        )

    __radd__ = __add__

    @classmethod
    def from_chunks(cls, covariance_type, s0, s1, s2, centers, tied_shift, loglik,
                    weight):
        """Sum the per-chunk slots of a kernel's output in chunk order and unpack
        the second moment into its documented shape (symmetric for full and tied)."""
        s0 = s0.sum(axis=0)
        s1 = s1.sum(axis=0)
        s2 = s2.sum(axis=0)
        if covariance_type == "full":
            s2 = _symmetric_from_lower(s2)
        elif covariance_type == "tied":
            s2 = _symmetric_from_lower(s2[0])
        else:
            s2 = s2[:, 0, :]
        return cls(covariance_type, s0, s1, s2, centers, tied_shift,
                   float(np.sum(loglik)), float(weight))


def _symmetric_from_lower(lower):
    """Fill the upper triangle of (..., D, D) from the lower one."""
    upper = np.swapaxes(np.tril(lower, -1), -1, -2)
    return np.tril(lower) + upper


def m_step(stats, reg_covar, normalise_weights=True):
    """New parameters from statistics: weighted means and covariances, with
    ``reg_covar`` added to the diagonal.

    With n_k = s0_k + 10 eps and delta_k = s1_k / n_k, the mean is c_k + delta_k and
    the scatter around it is s2 - s1 deltaᵀ - delta s1ᵀ + s0 delta deltaᵀ (exactly
    scikit-learn's estimate, computed without cancellation). Weights are
    n_k / sum n_k, or n_k / weight when ``normalise_weights`` is False (scikit-learn's
    initialisation). Returns a ``Params`` whose precision factors are not yet set.
    """
    covariance_type = stats.covariance_type
    nk = stats.s0 + MASS_EPS
    s1 = stats.s1
    delta = s1 / nk[:, None]
    means = stats.centers + delta
    n_features = means.shape[1]

    if covariance_type == "full":
        cross = s1[:, :, None] * delta[:, None, :]
        scatter = (
            stats.s2 - cross - np.swapaxes(cross, 1, 2)
            + stats.s0[:, None, None] * delta[:, :, None] * delta[:, None, :]
        )
        covariances = scatter / nk[:, None, None]
        covariances[:, np.arange(n_features), np.arange(n_features)] += reg_covar
    elif covariance_type == "tied":
        shift = stats.tied_shift
        # first moments of each component around the common shift, and the new
        # means' offsets from it
        g = s1 + stats.s0[:, None] * (stats.centers - shift)
        e = means - shift
        cross = g.T @ e
        scatter = stats.s2 - cross - cross.T + (stats.s0[:, None] * e).T @ e
        covariances = scatter / nk.sum()
        covariances.flat[:: n_features + 1] += reg_covar
    else:
        scatter = stats.s2 - 2.0 * s1 * delta + stats.s0[:, None] * delta**2
        covariances = scatter / nk[:, None] + reg_covar
        if covariance_type == "spherical":
            covariances = covariances.mean(axis=1)

    if normalise_weights:
        weights = nk / nk.sum()
    else:
        weights = nk / stats.weight
    return Params(weights, means, covariances, None)

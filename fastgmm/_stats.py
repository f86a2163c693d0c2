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

from ._covariance import covariance_type as as_covariance_type
from ._params import Params

# scikit-learn adds this to every component's mass so empty components divide safely.
MASS_EPS = 10 * np.finfo(np.float64).eps


@dataclass
class SufficientStats:
    """Statistics of one pass, in float64.

    Attributes
    ----------
    covariance_type : CovarianceType (a name is accepted and converted).
    s0 : (K,) responsibility mass per component.
    s1 : (K, D) first moment around ``centers``.
    s2 : full (K, D, D) / tied (D, D) / diag and spherical (K, D) second moment,
        around ``centers`` (tied: around ``tied_shift``, over all points).
    centers : (K, D) per-component shifts; tied_shift : (D,).
    loglik : sum of w log p(x) under the parameters of the pass.
    weight : sum of w (the number of points when unweighted).
    entropy : sum of w sum_k r_k log r_k (passes that ask for it; else 0); on
        rows with missing values, less sum of w sum_k r_k H_k, the entropy of
        the missing values' conditional Gaussian under component k.
    """

    covariance_type: object
    s0: np.ndarray
    s1: np.ndarray
    s2: np.ndarray
    centers: np.ndarray
    tied_shift: np.ndarray
    loglik: float
    weight: float
    entropy: float = 0.0

    def __post_init__(self):
        self.covariance_type = as_covariance_type(self.covariance_type)

    def __add__(self, other):
        """Statistics of the union of two disjoint pieces of data.

        When ``other`` was taken around different shifts it is first moved to
        this object's shifts (``shifted``), so the sum is around ``self``'s.
        """
        if other is None:
            return self
        if self.covariance_type is not other.covariance_type:
            raise ValueError(
                "statistics of different covariance types do not add: "
                f"{self.covariance_type.name!r} and {other.covariance_type.name!r}"
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
            self.entropy + other.entropy,
        )

    def scaled(self, factor):
        """The statistics with every sum (masses, moments, log-likelihood, weight,
        entropy) multiplied by ``factor``: the statistics of the same data with
        every sample weight multiplied by ``factor``."""
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
            self.entropy * factor,
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
        new_s1 = self.s1 + self.s0[:, None] * (self.centers - centers)
        new_s2 = self.covariance_type.shifted_second_moment(self, centers, tied_shift)
        return SufficientStats(
            self.covariance_type, self.s0.copy(), new_s1, new_s2, centers.copy(),
            tied_shift.copy(), self.loglik, self.weight, self.entropy,
        )

    __radd__ = __add__

    @classmethod
    def from_chunks(cls, covariance_type, s0, s1, s2, centers, tied_shift, loglik,
                    weight, entropy=None):
        """Sum the per-chunk slots of a kernel's output in chunk order and unpack
        the second moment into its documented shape (symmetric for full and tied)."""
        ctype = as_covariance_type(covariance_type)
        return cls(ctype, s0.sum(axis=0), s1.sum(axis=0),
                   ctype.second_moment_from_slots(s2.sum(axis=0)), centers,
                   tied_shift, float(np.sum(loglik)), float(weight),
                   0.0 if entropy is None else float(np.sum(entropy)))


def pass_entropy(stats, log_norm, precisions_cholesky):
    """sum_n w_n sum_k r_nk log r_nk of the pass that took ``stats`` (around the
    means of its log-densities), from the statistics alone.

    With t_nk = log_norm_k - 1/2 (x_n - c_k)ᵀ P_k (x_n - c_k) the pass's terms
    (``_params.kernel_params``: log-densities plus per-component constants),
    log r_nk = t_nk - log p(x_n) and sum_k r_nk = 1, so the sum is
    sum_k log_norm_k s0_k - 1/2 (the weighted quadratic forms,
    ``quadratic_sum``) - loglik: the variational lower bound's entropy term
    without any work per point. A component with no mass adds nothing (its
    log_norm may be -inf).
    """
    ctype = stats.covariance_type
    held = stats.s0 > 0.0
    constants = float(np.dot(log_norm[held], stats.s0[held]))
    quadratic = ctype.quadratic_sum(stats, precisions_cholesky)
    return constants - 0.5 * quadratic - stats.loglik


def m_step(stats, reg_covar, normalise_weights=True):
    """New parameters from statistics: weighted means and covariances, with
    ``reg_covar`` added to the diagonal.

    With n_k = s0_k + 10 eps and delta_k = s1_k / n_k, the mean is c_k + delta_k and
    the scatter around it is s2 - s1 deltaᵀ - delta s1ᵀ + s0 delta deltaᵀ (exactly
    scikit-learn's estimate, computed without cancellation). Weights are
    n_k / sum n_k, or n_k / weight when ``normalise_weights`` is False (scikit-learn's
    initialisation). Returns a ``Params`` whose precision factors are not yet set.
    """
    nk = stats.s0 + MASS_EPS
    delta = stats.s1 / nk[:, None]
    means = stats.centers + delta
    covariances = stats.covariance_type.covariances_from_stats(
        stats, means, delta, nk, reg_covar
    )
    if normalise_weights:
        weights = nk / nk.sum()
    else:
        weights = nk / stats.weight
    return Params(stats.covariance_type, weights, means, covariances, None)

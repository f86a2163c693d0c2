"""Mixture parameters, and how the kernels read them.

``Params`` holds what one pass needs and what an update returns, in float64 and
scikit-learn's conventions (see ``_covariance``). ``kernel_params`` lays them out
for the kernels, with the per-component constant each estimator chooses: the
log-weights for EM, the expected log-weights plus the variational offsets for
variational Bayes.
"""

from dataclasses import dataclass

import numpy as np

from ._covariance import LOG_2PI, CovarianceType
from ._kernels.kinds import DIAG, FULL


@dataclass
class Params:
    """Weights (K,), means (K, D), covariances and their precision factors, float64,
    of a mixture of ``covariance_type`` components."""

    covariance_type: CovarianceType
    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    precisions_cholesky: np.ndarray

    def copy(self):
        return Params(self.covariance_type,
                      *(np.array(a, copy=True) for a in self.arrays()))

    def arrays(self):
        return (self.weights, self.means, self.covariances, self.precisions_cholesky)

    @property
    def precisions(self):
        return self.covariance_type.precisions_from_cholesky(self.precisions_cholesky)

    def with_precisions(self, precisions):
        """These weights and means with ``precisions`` (validated): the factors
        and the covariances follow from them."""
        ctype = self.covariance_type
        factors = ctype.cholesky_from_precisions(precisions)
        return Params(ctype, self.weights, self.means,
                      ctype.covariances_from_cholesky(factors), factors)


@dataclass
class KernelParams:
    """Parameters laid out as the kernels read them (see ``_kernels``)."""

    kind: int
    means: np.ndarray
    factor: np.ndarray
    log_norm: np.ndarray
    aux: np.ndarray
    shift: np.ndarray


def kernel_params(params, log_weights=None):
    """Lay out ``params`` for the kernels: transposed factors, per-component
    constants log_weights_k - D/2 log 2 pi + log det U_k, and for tied the
    transformed means around a shift near the data. A full model of one
    feature runs the diag kernel.

    ``log_weights`` (K,) defaults to log ``params.weights`` (EM); an estimator
    whose E-step adds other per-component terms passes them here.
    """
    ctype = params.covariance_type
    means = np.ascontiguousarray(params.means, dtype=np.float64)
    n_features = means.shape[1]
    prec_chol = np.asarray(params.precisions_cholesky, dtype=np.float64)
    if log_weights is None:
        with np.errstate(divide="ignore"):
            log_weights = np.log(np.asarray(params.weights, dtype=np.float64))
    log_det = ctype.log_det_cholesky(prec_chol, n_features)
    log_norm = log_weights - 0.5 * n_features * LOG_2PI + log_det
    factor, aux, shift = ctype.kernel_layout(means, prec_chol)
    kind = ctype.kernel_kind
    if kind == FULL and n_features == 1:
        # one feature: each covariance is a variance, and the diag kernel (here
        # spherical's layout, a precision per component) does the full
        # kernel's arithmetic without its triangular loops, in a third of the
        # time; its statistics have the full kernel's slot layout at D = 1
        kind, factor = DIAG, np.ascontiguousarray(factor**2)
    return KernelParams(kind, means, factor, np.ascontiguousarray(log_norm), aux,
                        shift)

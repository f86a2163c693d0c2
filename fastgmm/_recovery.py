"""What happens when a component's covariance is not positive definite.

scikit-learn stops the fit ("ill-defined empirical covariance") when a component
collapses onto fewer distinct points than dimensions, when a feature is constant
and ``reg_covar`` is 0, or when a component loses all its points. fastgmm keeps
fitting instead, with a ``DegenerateComponentWarning``:

* a component that still has points (mass above 1e-8 of the data) gets a variance
  floor on its diagonal: 1e-6 x the data's mean feature variance (1e-6 when the
  data are constant), raised tenfold until its covariance factorises;
* a component that lost its points is re-seeded by splitting the heaviest
  component: the two halves share its covariance and weight, and their means sit
  half a standard deviation either side along its main axis (as VLFeat and
  Armadillo do).

Parameters therefore stay finite; the floor is relative to the data, so it does
not depend on their units.
"""

import warnings

import numpy as np

FLOOR_RELATIVE = 1e-6
EMPTY_MASS = 1e-8
MAX_FLOOR_STEPS = 12


class DegenerateComponentWarning(UserWarning):
    """A component's covariance was not positive definite and was repaired."""


def _split_heaviest(params, k):
    """Re-seed empty component k by splitting the heaviest component in two."""
    heavy = int(np.argmax(params.weights))
    cov = params.covariance_type.component_matrix(params.covariances, heavy)
    values, vectors = np.linalg.eigh(cov)
    n_features = params.means.shape[1]
    if cov.shape[0] == 1:
        spread = 0.5 * np.sqrt(max(values[-1], 0.0))
        step = np.full(n_features, spread / np.sqrt(n_features))
    else:
        step = 0.5 * np.sqrt(max(values[-1], 0.0)) * vectors[:, -1]
    params.means[k] = params.means[heavy] + step
    params.means[heavy] = params.means[heavy] - step
    half = params.weights[heavy] / 2.0
    params.weights[k] = params.weights[k] + half
    params.weights[heavy] = half
    params.weights /= params.weights.sum()
    if params.covariance_type.name != "tied":
        params.covariances[k] = params.covariances[heavy]


def recover_degenerate(params, failed, feature_variance):
    """Repair the components marked in ``failed``; return ``(params, factors)``.

    ``feature_variance`` is a callable giving the data's mean feature variance (only
    called when needed, as it may cost a pass over the data).
    """
    params = params.copy()
    ctype = params.covariance_type
    tied = ctype.name == "tied"
    repaired_empty, floored = [], []
    if not tied:
        for k in np.flatnonzero(failed):
            emptied = params.weights[k] < EMPTY_MASS
            if emptied and params.weights.max() >= 2 * EMPTY_MASS:
                _split_heaviest(params, k)
                repaired_empty.append(int(k))
    factors, failed = ctype.cholesky_from_covariances(params.covariances)
    floor = FLOOR_RELATIVE * feature_variance() if failed.any() else 0.0
    for _ in range(MAX_FLOOR_STEPS):
        if not failed.any():
            break
        for k in np.flatnonzero(failed):
            ctype.add_to_diagonal(params.covariances, k, floor)
            if int(k) not in floored:
                floored.append(int(k))
        factors, failed = ctype.cholesky_from_covariances(params.covariances)
        floor *= 10.0
    if failed.any():
        raise ValueError(
            "Fitting the mixture model failed because some components have "
            "ill-defined empirical covariance that no variance floor could repair. "
            "Check the data for extreme values, scale it, or increase reg_covar."
        )
    what = []
    if repaired_empty:
        what.append(f"component(s) {repaired_empty} lost all their points and were "
                    "re-seeded by splitting the heaviest component")
    if floored:
        who = "the tied covariance" if tied else \
            f"component(s) {floored}"
        what.append(f"{who} collapsed (singular covariance) and got a variance floor "
                    "of 1e-6 x the data's variance")
    warnings.warn(
        "Ill-defined empirical covariance: " + "; ".join(what) + ". Increase "
        "reg_covar or decrease n_components to avoid this.",
        DegenerateComponentWarning,
        stacklevel=4,
    )
    return params, factors

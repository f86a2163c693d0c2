"""What model selection ranks by, shared by ``select`` and ``plot``: the
criteria, which way each is better, and which components a fit uses."""

import math

import numpy as np

CRITERIA = ("bic", "aic", "heldout")
CRITERION_LABELS = {"bic": "BIC", "aic": "AIC", "heldout": "held-out log-lik"}
# BIC and AIC are minimised; the held-out log-likelihood is maximised.
HIGHER_IS_BETTER = frozenset({"heldout"})
# A component is effectively used when its weight reaches this (Dirichlet-process
# fits leave the components they switch off with weights near 0).
EFFECTIVE_WEIGHT = 0.01


def effective_components(weights, threshold: float = EFFECTIVE_WEIGHT) -> np.ndarray:
    """Which components a fitted mixture effectively uses.

    Parameters
    ----------
    weights : array-like of shape (n_components,)
        ``weights_`` of a fitted mixture.
    threshold : float in [0, 1], default=0.01
        The smallest weight of a used component.

    Returns
    -------
    ndarray of bool, shape (n_components,)
        True where the weight is at least ``threshold``.
    """
    threshold = float(threshold)
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must be a weight in [0, 1], got {threshold!r}.")
    return np.asarray(weights, dtype=np.float64) >= threshold


def best_candidate(candidates, criterion: str) -> int:
    """Position of the best candidate under ``criterion`` (ties go to fewer
    parameters, then to the earlier candidate)."""
    sign = -1.0 if criterion in HIGHER_IS_BETTER else 1.0
    values = [sign * getattr(c, criterion) for c in candidates]
    if all(math.isnan(v) for v in values):
        raise ValueError(
            f"{CRITERION_LABELS[criterion]} was not computed for these candidates."
        )
    return min(
        range(len(candidates)),
        key=lambda i: (
            math.isnan(values[i]), values[i], candidates[i].n_parameters, i,
        ),
    )

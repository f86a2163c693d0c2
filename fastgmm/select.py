"""Model selection: fit every (number of components, covariance type) pair and
rank them by an information criterion, as R's mclust does with BIC, or by the
log-likelihood of held-out data.

Candidates are fitted one after another, each with the estimator's own thread
pool (``n_jobs``). Fitting several candidates at once would only split the same
cores between pools that each expect all of them.

Variational Bayesian candidates (``bayesian=True``) are ranked by held-out
log-likelihood: BIC and AIC count the free parameters of a maximum-likelihood
fit, which a variational posterior does not have (it switches off components
rather than fitting them), and its lower bound is not comparable across
candidates (scikit-learn's, and fastgmm's, drops terms that depend on the number
of components and the covariance type).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from ._covariance import NAMES
from ._covariance import covariance_type as covariance_type_named
from ._criteria import (
    CRITERIA,
    CRITERION_LABELS,
    HIGHER_IS_BETTER,
    best_candidate,
    effective_components,
)

__all__ = [
    "Candidate", "SelectionResult", "effective_components", "n_parameters", "select",
]

logger = logging.getLogger(__name__)

COVARIANCE_TYPES = NAMES
DEFAULT_VALIDATION_FRACTION = 0.2


def n_parameters(n_components: int, n_features: int, covariance_type: str) -> int:
    """Number of free parameters of a Gaussian mixture.

    Parameters
    ----------
    n_components : int
        Number of mixture components K.
    n_features : int
        Number of features D.
    covariance_type : {'full', 'tied', 'diag', 'spherical'}
        Covariance structure.

    Returns
    -------
    int
        ``K - 1`` weights, ``K * D`` means and the covariance parameters:
        ``K * D * (D + 1) / 2`` (full), ``D * (D + 1) / 2`` (tied),
        ``K * D`` (diag) or ``K`` (spherical). This is the count scikit-learn's
        ``bic`` and ``aic`` use.
    """
    return covariance_type_named(covariance_type).n_parameters(int(n_components),
                                                               int(n_features))


@dataclass(frozen=True)
class Candidate:
    """One fitted candidate: a row of :attr:`SelectionResult.candidates`.

    Attributes
    ----------
    n_components, covariance_type :
        The candidate.
    log_likelihood : float
        Total log-likelihood of the data under the fitted model (not the mean
        per sample that ``score`` returns).
    n_parameters : int
        Free parameters, see :func:`n_parameters`.
    bic, aic : float
        ``-2 log L + p log n`` and ``-2 log L + 2 p``; lower is better. NaN for
        variational Bayesian candidates, where they do not apply.
    converged : bool
        Whether the best initialisation converged within ``max_iter``.
    n_iter : int
        EM iterations of the best initialisation.
    fit_time : float
        Wall-clock seconds of ``fit`` (all ``n_init`` initialisations).
    heldout : float
        Mean log-likelihood per held-out sample (``model.score`` of the rows
        kept out of the fit); higher is better. NaN when no rows were held out.
    n_effective : int
        Components of weight at least 0.01 (:func:`effective_components`).
    """

    n_components: int
    covariance_type: str
    log_likelihood: float
    n_parameters: int
    bic: float
    aic: float
    converged: bool
    n_iter: int
    fit_time: float
    heldout: float = math.nan
    n_effective: int = 0

    @property
    def name(self) -> str:
        """Short label such as ``'K=3 full'``."""
        return f"K={self.n_components} {self.covariance_type}"


@dataclass
class SelectionResult:
    """What :func:`select` returns.

    Attributes
    ----------
    candidates : list of Candidate
        One row per fitted candidate, in the order they were fitted.
    estimators_ : list of GaussianMixture or BayesianGaussianMixture
        The fitted models, aligned with ``candidates``.
    criterion : {'bic', 'aic', 'heldout'}
        The criterion that chose the best candidate.
    n_samples : int
        Number of samples the candidates were fitted on.
    best_index_ : int
        Position of the best candidate (lowest BIC or AIC, highest held-out
        log-likelihood; ties go to the candidate with fewer parameters, then to
        the earlier one).
    n_heldout : int
        Number of samples held out of the fits and scored (0 for BIC and AIC).
    bayesian : bool
        Whether the candidates are ``BayesianGaussianMixture`` models.
    """

    candidates: list[Candidate]
    estimators_: list = field(repr=False)
    criterion: str
    n_samples: int
    best_index_: int
    n_heldout: int = 0
    bayesian: bool = False

    @property
    def best_(self) -> Candidate:
        """The best :class:`Candidate`."""
        return self.candidates[self.best_index_]

    @property
    def best_estimator_(self):
        """The best fitted model."""
        return self.estimators_[self.best_index_]

    @property
    def best_params_(self) -> dict:
        """``{'n_components': ..., 'covariance_type': ...}`` of the best model."""
        best = self.best_
        return {
            "n_components": best.n_components,
            "covariance_type": best.covariance_type,
        }

    def criterion_values(self, criterion: str | None = None) -> np.ndarray:
        """The chosen criterion (or ``criterion``) per candidate, as an array."""
        criterion = _check_criterion(criterion or self.criterion)
        return np.array([getattr(c, criterion) for c in self.candidates])

    def as_dict(self) -> dict[str, np.ndarray]:
        """Columns of the table as NumPy arrays (``pandas.DataFrame(result.as_dict())``
        gives a data frame)."""
        columns = [
            "n_components",
            "covariance_type",
            "log_likelihood",
            "n_parameters",
            "bic",
            "aic",
            "heldout",
            "n_effective",
            "converged",
            "n_iter",
            "fit_time",
        ]
        return {
            name: np.array([getattr(c, name) for c in self.candidates])
            for name in columns
        }

    def table(self) -> str:
        """The candidates as a plain-text table, best marked with ``*`` (``used``:
        components of weight at least 0.01)."""
        header = (
            f"  {'K':>4} {'covariance':<10} {CRITERION_LABELS[self.criterion]:>16} "
            f"{'log-lik':>14} {'params':>7} {'used':>5} {'conv':>5} {'iter':>5} "
            f"{'time s':>8}"
        )
        precision = 4 if self.criterion in HIGHER_IS_BETTER else 2  # per sample
        lines = [header]
        for i, c in enumerate(self.candidates):
            mark = "*" if i == self.best_index_ else " "
            lines.append(
                f"{mark} {c.n_components:>4} {c.covariance_type:<10} "
                f"{getattr(c, self.criterion):>16.{precision}f} "
                f"{c.log_likelihood:>14.2f} {c.n_parameters:>7d} "
                f"{c.n_effective:>5d} {'yes' if c.converged else 'no':>5} "
                f"{c.n_iter:>5d} {c.fit_time:>8.2f}"
            )
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()

    def plot(self, ax=None, *, criterion: str | None = None, **kwargs):
        """Criterion against number of components, one line per covariance type.

        See :func:`fastgmm.plot.plot_criterion`; returns the matplotlib Axes.
        """
        from .plot import plot_criterion

        return plot_criterion(self, ax=ax, criterion=criterion, **kwargs)


def _check_criterion(criterion: str) -> str:
    if not isinstance(criterion, str) or criterion.lower() not in CRITERIA:
        raise ValueError(
            f"criterion must be 'bic', 'aic' or 'heldout', got {criterion!r}."
        )
    return criterion.lower()


def _heldout_split(X, fraction: float, random_state):
    """(fitted rows, held-out rows): a random ``fraction`` of the rows, drawn
    from ``random_state`` (scikit-learn's convention: None, an int or a
    RandomState). The rows are copied."""
    from sklearn.utils import check_random_state

    if isinstance(fraction, bool) or not 0.0 < fraction < 1.0:
        raise ValueError(
            f"validation_fraction must be in (0, 1), got {fraction!r}."
        )
    n_samples = X.shape[0]
    n_heldout = int(round(fraction * n_samples))
    if not 1 <= n_heldout < n_samples:
        raise ValueError(
            f"validation_fraction={fraction} of {n_samples} samples leaves no "
            "samples to hold out or none to fit."
        )
    heldout = np.zeros(n_samples, dtype=bool)
    rows = check_random_state(random_state).permutation(n_samples)[:n_heldout]
    heldout[rows] = True
    return X[~heldout], X[heldout]


def _as_component_list(n_components) -> list[int]:
    if isinstance(n_components, int | np.integer):
        values = [n_components]
    elif isinstance(n_components, Iterable) and not isinstance(n_components, str):
        values = list(n_components)
    else:
        raise ValueError(
            "n_components must be an int or an iterable of ints (e.g. range(1, 11)), "
            f"got {n_components!r}."
        )
    if not values:
        raise ValueError("n_components is empty: give at least one candidate.")
    out = []
    for k in values:
        if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
            raise ValueError(
                f"every n_components candidate must be an int >= 1, got {k!r}."
            )
        out.append(int(k))
    return list(dict.fromkeys(out))


def _as_covariance_list(covariance_types) -> list[str]:
    if isinstance(covariance_types, str):
        covariance_types = [covariance_types]
    values = list(covariance_types)
    if not values:
        raise ValueError("covariance_types is empty: give at least one type.")
    for t in values:
        if t not in COVARIANCE_TYPES:
            raise ValueError(f"covariance type {t!r} is not one of {COVARIANCE_TYPES}.")
    return list(dict.fromkeys(values))


def select(
    X,
    n_components: int | Iterable[int] = range(1, 11),
    covariance_types: str | Iterable[str] = COVARIANCE_TYPES,
    criterion: str | None = None,
    n_init: int = 1,
    random_state=None,
    n_jobs: int | None = None,
    *,
    bayesian: bool = False,
    validation_fraction: float = DEFAULT_VALIDATION_FRACTION,
    **estimator_params,
) -> SelectionResult:
    """Fit a Gaussian mixture for every candidate and pick the best by BIC, AIC
    or held-out log-likelihood.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Data.
    n_components : int or iterable of int, default=range(1, 11)
        Numbers of components to try (for ``bayesian=True``, truncation levels:
        the fits switch off the components they do not need).
    covariance_types : str or iterable of str, default=all four
        Covariance structures to try: 'full', 'tied', 'diag', 'spherical'.
    criterion : {'bic', 'aic', 'heldout'}, default=None
        What chooses the best candidate: BIC or AIC, minimised, computed on all
        of ``X``; or 'heldout', the mean log-likelihood of a random
        ``validation_fraction`` of the rows kept out of the fits, maximised.
        None means 'bic', or 'heldout' when ``bayesian``, the only criterion
        for variational candidates (see the module docstring).
    n_init : int, default=1
        Initialisations per candidate (the best one is kept).
    random_state : int, RandomState instance or None, default=None
        Passed to every candidate; an int gives every candidate the same seed,
        so the candidates differ only in what is being compared. It also draws
        the held-out rows.
    n_jobs : int or None, default=None
        Threads of each fit (None: all cores). Candidates run one after
        another, so the machine is never oversubscribed.
    bayesian : bool, default=False
        Fit :class:`fastgmm.BayesianGaussianMixture` candidates instead of
        :class:`fastgmm.GaussianMixture` ones.
    validation_fraction : float in (0, 1), default=0.2
        The share of the rows held out when ``criterion='heldout'`` (copied, as
        are the fitted rows).
    **estimator_params
        Any other parameter of the estimator, e.g. ``max_iter``, ``tol``,
        ``reg_covar``, ``init_params``, or for ``bayesian=True``
        ``weight_concentration_prior_type`` and ``weight_concentration_prior``.

    Returns
    -------
    SelectionResult
        The table of candidates, the fitted models, ``best_estimator_`` and
        ``plot()``.

    Notes
    -----
    The log-likelihood is computed once per candidate (one pass over the fitted
    rows) and both criteria are derived from it with :func:`n_parameters`, so
    ``candidate.bic == model.bic(X)`` up to rounding. For a variational
    candidate the log-likelihood is scikit-learn's ``score``: the log of the sum
    over components of exp(E[log pi_k + log N(x | mu_k, Lambda_k)]) under the
    posterior, a lower bound on the log posterior-predictive density (Jensen).

    Progress (one line per candidate) goes to the ``fastgmm.select`` logger at
    INFO level.

    Examples
    --------
    >>> from fastgmm import select
    >>> result = select(X, n_components=range(1, 7), random_state=0)  # doctest: +SKIP
    >>> print(result.table())                                          # doctest: +SKIP
    >>> model = result.best_estimator_                                 # doctest: +SKIP
    >>> select(X, [10], bayesian=True, random_state=0)                 # doctest: +SKIP
    """
    from ._bayesian_mixture import BayesianGaussianMixture
    from ._gaussian_mixture import GaussianMixture

    if criterion is None:
        criterion = "heldout" if bayesian else "bic"
    criterion = _check_criterion(criterion)
    if bayesian and criterion != "heldout":
        raise ValueError(
            f"criterion={criterion!r} does not apply to variational Bayesian "
            "candidates (BIC and AIC count the parameters of a maximum-likelihood "
            "fit); use criterion='heldout'."
        )
    ks = _as_component_list(n_components)
    types = _as_covariance_list(covariance_types)
    for reserved, argument in (
        ("n_components", "n_components"),
        ("covariance_type", "covariance_types"),
    ):
        if reserved in estimator_params:
            raise TypeError(
                f"pass {reserved} candidates through select's {argument} argument, "
                "not as an estimator parameter."
            )

    X = np.asarray(X) if not hasattr(X, "shape") else X
    if X.ndim == 1:
        raise ValueError(
            "X must be 2-D (n_samples, n_features); for one feature use "
            "X.reshape(-1, 1)."
        )
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (n_samples, n_features), got {X.ndim}-D.")
    X_heldout = None
    if criterion == "heldout":
        X, X_heldout = _heldout_split(X, validation_fraction, random_state)
    n_samples, n_features = X.shape
    if max(ks) > n_samples:
        raise ValueError(
            f"the largest candidate has {max(ks)} components but X has only "
            f"{n_samples} samples to fit; use fewer components."
        )

    estimator = BayesianGaussianMixture if bayesian else GaussianMixture
    label = CRITERION_LABELS[criterion]
    candidates, estimators = [], []
    total = len(ks) * len(types)
    for covariance_type in types:
        for k in ks:
            model = estimator(
                n_components=k,
                covariance_type=covariance_type,
                n_init=n_init,
                random_state=random_state,
                n_jobs=n_jobs,
                **estimator_params,
            )
            start = time.perf_counter()
            model.fit(X)
            fit_time = time.perf_counter() - start
            log_likelihood = float(model.score(X)) * n_samples
            p = n_parameters(k, n_features, covariance_type)
            bic = aic = heldout = math.nan
            if not bayesian:
                bic = -2.0 * log_likelihood + p * math.log(n_samples)
                aic = -2.0 * log_likelihood + 2.0 * p
            if X_heldout is not None:
                heldout = float(model.score(X_heldout))
            candidate = Candidate(
                n_components=k,
                covariance_type=covariance_type,
                log_likelihood=log_likelihood,
                n_parameters=p,
                bic=bic,
                aic=aic,
                converged=bool(model.converged_),
                n_iter=int(model.n_iter_),
                fit_time=fit_time,
                heldout=heldout,
                n_effective=int(effective_components(model.weights_).sum()),
            )
            candidates.append(candidate)
            estimators.append(model)
            logger.info(
                "[%d/%d] %s: %s %.6g, %s after %d iterations, %.2f s",
                len(candidates),
                total,
                candidate.name,
                label,
                getattr(candidate, criterion),
                "converged" if candidate.converged else "not converged",
                candidate.n_iter,
                fit_time,
            )

    return SelectionResult(
        candidates=candidates,
        estimators_=estimators,
        criterion=criterion,
        n_samples=n_samples,
        best_index_=best_candidate(candidates, criterion),
        n_heldout=0 if X_heldout is None else X_heldout.shape[0],
        bayesian=bayesian,
    )

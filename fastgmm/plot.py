"""Pictures of fitted mixtures: ellipses, 1-D densities, the weights of the
components, the lower bound per iteration and model-selection curves.

matplotlib is an optional dependency (``pip install "fastgmm[plot]"``); it is
imported when a function is called, never when this module is imported. Every
function draws on ``ax`` (the current Axes when None) and returns it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ._covariance import covariance_type as covariance_type_named
from ._criteria import (
    CRITERIA,
    CRITERION_LABELS,
    EFFECTIVE_WEIGHT,
    HIGHER_IS_BETTER,
    best_candidate,
    effective_components,
)

__all__ = [
    "component_covariances",
    "plot_criterion",
    "plot_density_1d",
    "plot_ellipses",
    "plot_lower_bound",
    "plot_weights",
]


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - exercised without matplotlib
        raise ImportError(
            "fastgmm.plot needs matplotlib, which is an optional extra: "
            'pip install "fastgmm[plot]"'
        ) from exc
    return plt


def _axes(ax):
    return _pyplot().gca() if ax is None else ax


def _colors(n, colors):
    if colors is not None:
        if isinstance(colors, str):
            return [colors] * n
        colors = list(colors)
        return [colors[i % len(colors)] for i in range(n)]
    cycle = _pyplot().rcParams["axes.prop_cycle"].by_key().get("color", ["C0"])
    return [cycle[i % len(cycle)] for i in range(n)]


def component_covariances(
    covariances, covariance_type: str, n_components: int, n_features: int
) -> np.ndarray:
    """Expand any covariance layout to full matrices, shape (K, D, D).

    Parameters
    ----------
    covariances : ndarray
        ``covariances_`` in scikit-learn's layout: (K, D, D) full, (D, D) tied,
        (K, D) diag, (K,) spherical.
    covariance_type : {'full', 'tied', 'diag', 'spherical'}
    n_components, n_features : int

    Returns
    -------
    ndarray of shape (n_components, n_features, n_features)
    """
    c = np.asarray(covariances, dtype=np.float64)
    k, d = n_components, n_features
    ctype = covariance_type_named(covariance_type)
    expected = ctype.shape(k, d)
    if c.shape != expected:
        raise ValueError(
            f"{ctype.name} covariances of {k} components in {d} features must "
            f"have shape {expected}, got {c.shape}."
        )
    return ctype.full_matrices(c, k, d)


def _mixture(model, means, covariances, covariance_type, weights):
    """(weights, means (K, D), full covariances (K, D, D)) from a model or arrays."""
    if model is not None:
        missing = [
            a for a in ("means_", "covariances_", "weights_") if not hasattr(model, a)
        ]
        if missing:
            raise ValueError(
                "the model is not fitted (no "
                + ", ".join(missing)
                + "); call fit first or pass means= and covariances=."
            )
        means = model.means_
        covariances = model.covariances_
        covariance_type = model.covariance_type
        weights = model.weights_
    elif means is None or covariances is None:
        raise ValueError("pass a fitted model, or both means= and covariances=.")
    means = np.atleast_2d(np.asarray(means, dtype=np.float64))
    k, d = means.shape
    full = component_covariances(covariances, covariance_type or "full", k, d)
    weights = np.full(k, 1.0 / k) if weights is None else np.asarray(weights, float)
    return weights, means, full


def _ellipse_geometry(cov2):
    """Width and height of the 1-sigma ellipse and its angle in degrees."""
    values, vectors = np.linalg.eigh(cov2)
    values = np.clip(values, 0.0, None)
    # eigh sorts ascending: the last vector is the major axis.
    angle = np.degrees(np.arctan2(vectors[1, 1], vectors[0, 1]))
    return 2.0 * np.sqrt(values[1]), 2.0 * np.sqrt(values[0]), angle


def plot_ellipses(
    model=None,
    ax=None,
    *,
    means=None,
    covariances=None,
    covariance_type: str | None = None,
    n_std: float | Sequence[float] = (1.0, 2.0),
    features: tuple[int, int] = (0, 1),
    colors=None,
    show_means: bool = True,
    label: str | None = None,
    **ellipse_kwargs,
):
    """Draw each component as ellipses at the given numbers of standard deviations.

    Parameters
    ----------
    model : fitted GaussianMixture, optional
        Any estimator with ``means_``, ``covariances_``, ``weights_`` and
        ``covariance_type`` (fastgmm's or scikit-learn's).
    ax : matplotlib Axes, optional
        Where to draw; the current Axes when None.
    means, covariances, covariance_type : optional
        Parameters to draw instead of a model (e.g. the true ones), in
        scikit-learn's layouts; ``covariance_type`` defaults to 'full'.
    n_std : float or sequence of float, default=(1, 2)
        Mahalanobis radii. In two dimensions the ellipse at ``r`` holds
        ``1 - exp(-r**2 / 2)`` of the component's mass: 39% at 1, 86% at 2,
        99% at 3.
    features : (int, int), default=(0, 1)
        The two features to draw when D > 2. The ellipse is that of the
        component's marginal on those features (the 2 x 2 block of its
        covariance), which is the projection of the Gaussian onto that plane.
    colors : color or list of colors, optional
        One per component; the property cycle by default.
    show_means : bool, default=True
        Mark each mean with an ``x``.
    label : str, optional
        Legend label, attached to the first component's outermost ellipse.
    **ellipse_kwargs
        Passed to :class:`matplotlib.patches.Ellipse` (e.g. ``linestyle='--'``,
        ``linewidth=2``, ``alpha=0.5``). Ellipses are unfilled by default.

    Returns
    -------
    matplotlib.axes.Axes
        The Axes, with ``n_components * len(n_std)`` Ellipse patches added.
    """
    _pyplot()
    from matplotlib.patches import Ellipse

    ax = _axes(ax)
    _, mu, cov = _mixture(model, means, covariances, covariance_type, None)
    k, d = mu.shape
    if d == 1:
        raise ValueError(
            "ellipses need at least two features; for one feature use plot_density_1d."
        )
    i, j = (int(f) for f in features)
    if i == j or not (0 <= i < d and 0 <= j < d):
        raise ValueError(
            f"features must be two different indices in [0, {d}), got {features!r}."
        )
    radii = np.atleast_1d(np.asarray(n_std, dtype=float))
    if np.any(radii <= 0):
        raise ValueError(f"n_std must be positive, got {n_std!r}.")
    for alias in ("edgecolor", "ec", "color"):
        if alias in ellipse_kwargs:
            colors = ellipse_kwargs.pop(alias)
    colors = _colors(k, colors)
    kwargs = {"fill": False, "linewidth": 1.5, **ellipse_kwargs}
    block = np.ix_([i, j], [i, j])
    for c in range(k):
        width, height, angle = _ellipse_geometry(cov[c][block])
        for n, r in enumerate(sorted(radii)):
            patch_label = label if (c == 0 and n == len(radii) - 1) else None
            ax.add_patch(
                Ellipse(
                    (mu[c, i], mu[c, j]),
                    r * width,
                    r * height,
                    angle=angle,
                    edgecolor=colors[c],
                    label=patch_label,
                    **kwargs,
                )
            )
    if show_means:
        ax.scatter(mu[:, i], mu[:, j], marker="x", c=colors, s=40, zorder=3)
    ax.autoscale_view()
    return ax


def _normal_pdf(x, mean, var):
    return np.exp(-0.5 * (x - mean) ** 2 / var) / np.sqrt(2.0 * np.pi * var)


def plot_density_1d(
    model,
    X=None,
    ax=None,
    *,
    feature: int = 0,
    bins="auto",
    components: bool = True,
    n_points: int = 512,
    colors=None,
    hist_kwargs: dict | None = None,
):
    """Mixture density of one feature over a histogram of the data.

    Parameters
    ----------
    model : fitted GaussianMixture
    X : array-like of shape (n_samples,) or (n_samples, n_features), optional
        Data for the histogram (drawn as a density, so it is on the same scale).
    ax : matplotlib Axes, optional
    feature : int, default=0
        The feature to draw when D > 1; densities are the marginals on it.
    bins : int or str, default='auto'
        Histogram bins, as :func:`numpy.histogram` takes them.
    components : bool, default=True
        Also draw each weighted component ``w_k N(x | mu_k, sigma_k^2)``.
    n_points : int, default=512
        Grid points of the density curves.
    colors : list of colors, optional
        Component colours.
    hist_kwargs : dict, optional
        Passed to ``ax.hist``.

    Returns
    -------
    matplotlib.axes.Axes
        With the histogram bars, one line for the mixture density and, when
        ``components``, one line per component.
    """
    ax = _axes(ax)
    weights, mu, cov = _mixture(model, None, None, None, None)
    k, d = mu.shape
    if not 0 <= feature < d:
        raise ValueError(f"feature must be in [0, {d}), got {feature}.")
    m = mu[:, feature]
    var = cov[:, feature, feature]
    sd = np.sqrt(var)
    low, high = np.min(m - 4 * sd), np.max(m + 4 * sd)
    if X is not None:
        x = np.asarray(X, dtype=float)
        x = x.reshape(-1) if x.ndim == 1 else x[:, feature]
        x = x[np.isfinite(x)]
        low, high = min(low, x.min()), max(high, x.max())
        style = {"color": "0.8", "edgecolor": "0.6", "label": "data"}
        ax.hist(x, bins=bins, density=True, **{**style, **(hist_kwargs or {})})
    grid = np.linspace(low, high, n_points)
    parts = weights[:, None] * _normal_pdf(grid[None, :], m[:, None], var[:, None])
    if components:
        for c, color in zip(range(k), _colors(k, colors), strict=True):
            ax.plot(
                grid,
                parts[c],
                color=color,
                linewidth=3,
                alpha=0.8,
                label=f"component {c}",
            )
    ax.plot(grid, parts.sum(axis=0), color="black", linewidth=1.5, label="mixture")
    ax.set_xlabel(f"feature {feature}" if d > 1 else "x")
    ax.set_ylabel("density")
    return ax


def plot_lower_bound(model, ax=None, **line_kwargs):
    """The lower bound after each iteration of the kept initialisation.

    Parameters
    ----------
    model : fitted GaussianMixture or BayesianGaussianMixture
        Needs ``lower_bounds_`` (fastgmm, scikit-learn >= 1.7).
    ax : matplotlib Axes, optional
    **line_kwargs
        Passed to ``ax.plot``.

    Returns
    -------
    matplotlib.axes.Axes
        With one line: iteration (1, 2, ...) against the lower bound, which
        never decreases: the mean log-likelihood per sample for a Gaussian
        mixture (EM), the evidence lower bound up to a constant for a
        variational Bayesian one.
    """
    ax = _axes(ax)
    bounds = getattr(model, "lower_bounds_", None)
    if bounds is None:
        raise ValueError(
            "the model has no lower_bounds_: fit it first (scikit-learn models "
            "need version 1.7 or later)."
        )
    bounds = np.asarray(bounds, dtype=float)
    iterations = np.arange(1, bounds.size + 1)
    ax.plot(iterations, bounds, **{"marker": "o", "markersize": 3, **line_kwargs})
    if hasattr(model, "weight_concentration_"):  # variational Bayes
        ax.set_xlabel("variational iteration")
        ax.set_ylabel("evidence lower bound (up to a constant)")
    else:
        ax.set_xlabel("EM iteration")
        ax.set_ylabel("lower bound (mean log-likelihood)")
    if bounds.size <= 20:
        ax.set_xticks(iterations)
    status = "converged" if getattr(model, "converged_", False) else "not converged"
    ax.set_title(f"{bounds.size} iterations, {status}")
    return ax


def plot_criterion(result, ax=None, *, criterion: str | None = None, colors=None):
    """Criterion against number of components, one line per covariance type.

    Parameters
    ----------
    result : SelectionResult
        From :func:`fastgmm.select`.
    ax : matplotlib Axes, optional
    criterion : {'bic', 'aic', 'heldout'}, optional
        Which curve; the result's own criterion by default. Call twice on the
        same Axes to compare BIC and AIC.
    colors : list of colors, optional
        One per covariance type.

    Returns
    -------
    matplotlib.axes.Axes
        One line per covariance type (labelled ``'full (BIC)'`` etc.) and a
        star on the best candidate under ``criterion``.
    """
    ax = _axes(ax)
    criterion = (criterion or result.criterion).lower()
    if criterion not in CRITERIA:
        raise ValueError(
            f"criterion must be 'bic', 'aic' or 'heldout', got {criterion!r}."
        )
    values = np.array([getattr(c, criterion) for c in result.candidates])
    label = CRITERION_LABELS[criterion]
    types = list(dict.fromkeys(c.covariance_type for c in result.candidates))
    for t, color in zip(types, _colors(len(types), colors), strict=True):
        rows = [i for i, c in enumerate(result.candidates) if c.covariance_type == t]
        rows.sort(key=lambda i: result.candidates[i].n_components)
        ks = [result.candidates[i].n_components for i in rows]
        ax.plot(
            ks,
            values[rows],
            marker="o",
            markersize=4,
            color=color,
            label=f"{t} ({label})",
        )
    if criterion == result.criterion:
        best = result.best_index_
    else:
        best = best_candidate(result.candidates, criterion)
    ax.scatter(
        [result.candidates[best].n_components],
        [values[best]],
        marker="*",
        s=250,
        color="gold",
        edgecolor="black",
        zorder=3,
    )
    ax.set_xlabel("number of components")
    better = "higher" if criterion in HIGHER_IS_BETTER else "lower"
    ax.set_ylabel(f"{label} ({better} is better)")
    ax.legend()
    return ax


def plot_weights(
    model,
    ax=None,
    *,
    threshold: float = EFFECTIVE_WEIGHT,
    log: bool = False,
    color=None,
    unused_color="0.75",
    **bar_kwargs,
):
    """The weight of each component as a bar, the effectively used ones marked.

    The picture of a Dirichlet-process fit: with a small weight concentration
    prior most of the ``n_components`` bars fall to near zero, and the used
    components are the ones the data need.

    Parameters
    ----------
    model : fitted mixture
        Any estimator with ``weights_`` (``BayesianGaussianMixture``,
        ``GaussianMixture``, fastgmm's or scikit-learn's).
    ax : matplotlib Axes, optional
    threshold : float in [0, 1], default=0.01
        The smallest weight of a used component
        (:func:`fastgmm.select.effective_components`), drawn as a dashed line.
    log : bool, default=False
        A logarithmic weight axis, which shows how far towards zero the
        switched-off components' weights fall (weights of exactly 0 draw no
        bar).
    color : color, optional
        Of the used components' bars; the first colour of the cycle by default.
    unused_color : color, default='0.75'
        Of the other bars (light grey).
    **bar_kwargs
        Passed to ``ax.bar``.

    Returns
    -------
    matplotlib.axes.Axes
        With one bar per component at x = its index (the used ones and the
        others in two labelled groups), the threshold line and a title counting
        the used components.
    """
    ax = _axes(ax)
    weights = getattr(model, "weights_", None)
    if weights is None:
        raise ValueError("the model is not fitted (no weights_); call fit first.")
    weights = np.asarray(weights, dtype=np.float64)
    used = effective_components(weights, threshold)
    color = _colors(1, color)[0]
    components = np.arange(weights.size)
    kwargs = {"edgecolor": "black", "linewidth": 0.5, **bar_kwargs}
    for mask, bar_color, text in (
        (used, color, f"used (weight >= {threshold:g})"),
        (~used, unused_color, "unused"),
    ):
        if mask.any():
            ax.bar(components[mask], weights[mask], color=bar_color, label=text,
                   **kwargs)
    ax.axhline(threshold, color="black", linestyle="--", linewidth=1)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("component")
    ax.set_ylabel("weight")
    if weights.size <= 30:
        ax.set_xticks(components)
    ax.set_title(f"{int(used.sum())} of {weights.size} components used")
    ax.legend()
    return ax

"""fastgmm.plot on the Agg backend: each function returns its Axes with the
artists it promises, and the ellipses sit where the covariances put them."""

import subprocess
import sys
import warnings

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402
from matplotlib.patches import Ellipse  # noqa: E402

from fastgmm import BayesianGaussianMixture, GaussianMixture  # noqa: E402
from fastgmm.plot import (  # noqa: E402
    component_covariances,
    plot_criterion,
    plot_density_1d,
    plot_ellipses,
    plot_lower_bound,
    plot_weights,
)
from fastgmm.select import select  # noqa: E402

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")


def blobs(n_features, n_per_cluster=80, seed=0):
    rng = np.random.default_rng(seed)
    centres = 6.0 * np.eye(3, n_features)
    shear = np.eye(n_features) + 0.4 * rng.standard_normal((n_features, n_features))
    return np.vstack(
        [c + rng.standard_normal((n_per_cluster, n_features)) @ shear for c in centres]
    )


def fitted(covariance_type, n_features=3):
    return GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(
        blobs(n_features)
    )


@pytest.fixture
def ax():
    fig, ax = plt.subplots()
    yield ax
    plt.close(fig)


def mahalanobis_radii(patch, mean, cov2):
    """Mahalanobis distance from ``mean`` of the points on an Ellipse's outline
    (the end points of its Bezier segments, not their control points)."""
    path = patch.get_path()
    on_curve = np.array([v[-2:] for v, _ in path.iter_segments(simplify=False)])
    d = patch.get_patch_transform().transform(on_curve) - mean
    return np.sqrt(np.einsum("ni,ij,nj->n", d, np.linalg.inv(cov2), d))


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_component_covariances_expands_every_layout(covariance_type):
    model = fitted(covariance_type)
    full = component_covariances(model.covariances_, covariance_type, 3, 3)
    assert full.shape == (3, 3, 3)
    # Naive twin: the precisions scikit-learn's layout stores, inverted.
    for k in range(3):
        if covariance_type == "full":
            expected = model.covariances_[k]
        elif covariance_type == "tied":
            expected = model.covariances_
        elif covariance_type == "diag":
            expected = np.diag(model.covariances_[k])
        else:
            expected = model.covariances_[k] * np.eye(3)
        np.testing.assert_allclose(full[k], expected, rtol=0, atol=0)


def test_component_covariances_checks_the_shape():
    with pytest.raises(ValueError, match="shape"):
        component_covariances(np.ones((3, 2)), "full", 3, 2)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("features", [(0, 1), (2, 0)])
def test_ellipses_lie_at_the_chosen_standard_deviations(ax, covariance_type, features):
    model = fitted(covariance_type)
    radii = (1.0, 2.5)
    out = plot_ellipses(model, ax=ax, n_std=radii, features=features)
    assert out is ax and isinstance(out, Axes)
    ellipses = [p for p in ax.patches if isinstance(p, Ellipse)]
    assert len(ellipses) == 3 * len(radii)
    full = component_covariances(model.covariances_, covariance_type, 3, 3)
    block = np.ix_(features, features)
    for k in range(3):
        mean = model.means_[k, list(features)]
        for r, patch in zip(radii, ellipses[2 * k : 2 * k + 2], strict=True):
            np.testing.assert_allclose(patch.center, mean, rtol=1e-12)
            # Every point of the outline is at Mahalanobis distance r under the
            # marginal covariance of the two features.
            d = mahalanobis_radii(patch, mean, full[k][block])
            assert d.size >= 8
            np.testing.assert_allclose(d, r, rtol=1e-9)
    # The means are marked: one scatter of three points.
    assert len(ax.collections) == 1
    assert ax.collections[0].get_offsets().shape == (3, 2)


def test_ellipses_from_parameters_and_options(ax):
    means = np.array([[0.0, 0.0], [5.0, 1.0]])
    variances = np.array([[1.0, 4.0], [0.25, 0.25]])
    plot_ellipses(
        ax=ax,
        means=means,
        covariances=variances,
        covariance_type="diag",
        n_std=2,
        colors="black",
        linestyle="--",
        show_means=False,
        label="true",
    )
    ellipses = ax.patches
    assert len(ellipses) == 2 and not ax.collections
    # Axis-aligned: full widths are 2 * n_std * sd along the principal axes.
    assert sorted([ellipses[0].width, ellipses[0].height]) == pytest.approx([4.0, 8.0])
    assert ellipses[1].width == pytest.approx(2.0)
    assert ellipses[0].get_linestyle() == "--"
    assert ellipses[0].get_label() == "true" and ellipses[1].get_label() != "true"
    # The view was rescaled to show the ellipses.
    x0, x1 = ax.get_xlim()
    assert x0 < -1.0 and x1 > 5.5


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"features": (1, 1)}, "features"),
        ({"features": (0, 3)}, "features"),
        ({"n_std": 0}, "n_std"),
    ],
)
def test_ellipses_bad_arguments(ax, kwargs, message):
    with pytest.raises(ValueError, match=message):
        plot_ellipses(fitted("diag"), ax=ax, **kwargs)


def test_ellipses_need_two_features_and_a_fitted_model(ax):
    one_d = GaussianMixture(2, random_state=0).fit(blobs(1))
    with pytest.raises(ValueError, match="plot_density_1d"):
        plot_ellipses(one_d, ax=ax)
    with pytest.raises(ValueError, match="fit"):
        plot_ellipses(GaussianMixture(2), ax=ax)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_density_1d_over_histogram(ax, covariance_type):
    rng = np.random.default_rng(1)
    x = np.concatenate(
        [rng.normal(-5, 1, 300), rng.normal(0, 0.5, 200), rng.normal(4, 1.5, 300)]
    )
    X = np.column_stack([x, rng.standard_normal(x.size)])
    model = GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(X)
    out = plot_density_1d(model, X, ax=ax, bins=30, feature=0)
    assert out is ax
    assert len(ax.patches) == 30  # histogram bars
    lines = ax.get_lines()
    assert len(lines) == 3 + 1
    components, mixture = lines[:3], lines[3]
    grid = mixture.get_xdata()
    assert grid.min() <= x.min() and grid.max() >= x.max()
    total = sum(line.get_ydata() for line in components)
    np.testing.assert_allclose(total, mixture.get_ydata(), rtol=1e-12)
    # The marginal mixture density integrates to one over the plotted range.
    assert np.trapezoid(mixture.get_ydata(), grid) == pytest.approx(1.0, abs=1e-3)
    # The histogram is a density too: its bars' areas sum to one.
    area = sum(p.get_width() * p.get_height() for p in ax.patches)
    assert area == pytest.approx(1.0)


def test_density_1d_without_data_or_components(ax):
    model = GaussianMixture(2, random_state=0).fit(blobs(1))
    plot_density_1d(model, ax=ax, components=False)
    assert len(ax.get_lines()) == 1 and not ax.patches
    with pytest.raises(ValueError, match="feature"):
        plot_density_1d(model, ax=ax, feature=1)


def test_lower_bound_per_iteration(ax):
    model = GaussianMixture(3, random_state=0, tol=1e-8).fit(blobs(2))
    out = plot_lower_bound(model, ax=ax)
    assert out is ax
    (line,) = ax.get_lines()
    np.testing.assert_array_equal(line.get_ydata(), model.lower_bounds_)
    np.testing.assert_array_equal(line.get_xdata(), np.arange(1, model.n_iter_ + 1))
    assert np.all(np.diff(line.get_ydata()) >= -1e-10)  # EM never goes down
    with pytest.raises(ValueError, match="fit"):
        plot_lower_bound(GaussianMixture(2), ax=ax)


def test_criterion_curves(ax):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = select(
            blobs(2),
            n_components=[1, 2, 3, 4],
            covariance_types=["full", "spherical"],
            random_state=0,
        )
    out = plot_criterion(result, ax=ax)
    assert out is ax
    lines = ax.get_lines()
    assert [line.get_label() for line in lines] == ["full (BIC)", "spherical (BIC)"]
    for line, t in zip(lines, ["full", "spherical"], strict=True):
        rows = [c for c in result.candidates if c.covariance_type == t]
        assert list(line.get_xdata()) == [c.n_components for c in rows]
        np.testing.assert_array_equal(line.get_ydata(), [c.bic for c in rows])
    star = ax.collections[-1].get_offsets()[0]
    assert tuple(star) == (result.best_.n_components, result.best_.bic)
    assert ax.get_legend() is not None
    # The result's own plot method draws the same, and can switch criterion.
    fig, other = plt.subplots()
    assert result.plot(ax=other, criterion="aic") is other
    assert [line.get_label() for line in other.get_lines()][0] == "full (AIC)"
    plt.close(fig)


def dirichlet_process_fit(n_components=8, **params):
    """Three clusters fitted with room for eight: most weights fall near 0."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return BayesianGaussianMixture(
            n_components=n_components, random_state=0, max_iter=500, **params
        ).fit(blobs(2))


def test_weights_as_bars_with_the_used_components_marked(ax):
    model = dirichlet_process_fit(weight_concentration_prior=0.01)
    used = model.weights_ >= 0.01
    assert used.sum() == 3  # the picture the plot is for
    out = plot_weights(model, ax=ax, color="tab:red")
    assert out is ax
    bars = ax.patches
    assert len(bars) == 8
    # Each bar stands at its component's index with its weight as height.
    heights = {round(b.get_x() + b.get_width() / 2): b.get_height() for b in bars}
    assert sorted(heights) == list(range(8))
    np.testing.assert_array_equal([heights[k] for k in range(8)], model.weights_)
    for bar in bars:
        k = round(bar.get_x() + bar.get_width() / 2)
        expected = "tab:red" if used[k] else "0.75"
        assert bar.get_facecolor() == to_rgba(expected)
    (threshold,) = ax.get_lines()
    assert threshold.get_ydata()[0] == 0.01
    assert ax.get_title() == "3 of 8 components used"
    labels = ax.get_legend_handles_labels()[1]
    assert labels == ["used (weight >= 0.01)", "unused"]


def test_weights_threshold_and_other_models(ax):
    model = fitted("diag")  # a GaussianMixture: every component used
    plot_weights(model, ax=ax, threshold=0.0)
    assert ax.get_title() == "3 of 3 components used"
    assert ax.get_legend_handles_labels()[1] == ["used (weight >= 0)"]
    with pytest.raises(ValueError, match="threshold"):
        plot_weights(model, ax=ax, threshold=2.0)
    plot_weights(dirichlet_process_fit(), ax=ax, log=True)
    assert ax.get_yscale() == "log"
    with pytest.raises(ValueError, match="fit"):
        plot_weights(BayesianGaussianMixture(n_components=2), ax=ax)


def test_lower_bound_of_a_variational_fit(ax):
    model = dirichlet_process_fit(tol=1e-8)
    plot_lower_bound(model, ax=ax)
    (line,) = ax.get_lines()
    np.testing.assert_array_equal(line.get_ydata(), model.lower_bounds_)
    assert np.all(np.diff(line.get_ydata()) >= -1e-9)
    assert "evidence lower bound" in ax.get_ylabel()


def test_heldout_criterion_curves(ax):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = select(
            blobs(2), n_components=[2, 3, 5], covariance_types=["diag"],
            bayesian=True, random_state=0,
        )
    plot_criterion(result, ax=ax)
    (line,) = ax.get_lines()
    assert line.get_label() == "diag (held-out log-lik)"
    assert "higher is better" in ax.get_ylabel()
    star = ax.collections[-1].get_offsets()[0]
    assert star[1] == max(c.heldout for c in result.candidates)
    assert star[1] == result.best_.heldout
    # BIC was not computed for variational candidates
    with pytest.raises(ValueError, match="BIC was not computed"):
        plot_criterion(result, ax=ax, criterion="bic")


def test_default_axes_is_the_current_one():
    fig, ax = plt.subplots()
    try:
        assert plot_lower_bound(GaussianMixture(2, random_state=0).fit(blobs(2))) is ax
    finally:
        plt.close(fig)


def test_missing_matplotlib_is_a_clear_import_error():
    # A fresh interpreter in which matplotlib cannot be imported: the module
    # still imports, and a plotting call names the extra to install.
    code = (
        "import sys\n"
        "sys.modules['matplotlib'] = None\n"
        "sys.modules['matplotlib.pyplot'] = None\n"
        "import fastgmm.plot\n"
        "try:\n"
        "    fastgmm.plot.plot_lower_bound(object())\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert 'pip install "fastgmm[plot]"' in out.stdout

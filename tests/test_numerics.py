"""Accuracy far from the origin, at extreme scales, and degenerate data."""

import warnings

import numpy as np
import pytest

from fastgmm import GaussianMixture
from fastgmm._recovery import DegenerateComponentWarning

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]


def _two_pass_covariance(X):
    """Plain two-pass float64 covariance (mean first, then centred products)."""
    X = X.astype(np.float64)
    centred = X - X.mean(axis=0)
    return centred.T @ centred / len(X)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("offset,dtype,rtol", [(1e8, np.float64, 1e-6),
                                               (1e4, np.float32, 1e-3)])
def test_offset_data_keeps_its_covariance(offset, dtype, rtol, covariance_type):
    """With one component the fitted covariance is the data's covariance: it
    must match a two-pass float64 computation, however far the data sit from 0."""
    rng = np.random.RandomState(0)
    X = (rng.randn(5000, 3) @ np.array([[1.0, 0.3, 0.0], [0.0, 0.7, 0.2],
                                        [0.0, 0.0, 1.2]]) + offset).astype(dtype)
    reference = _two_pass_covariance(X)
    expected = {
        "full": reference[None],
        "tied": reference,
        "diag": np.diag(reference)[None],
        "spherical": np.diag(reference).mean()[None],
    }[covariance_type]
    gm = GaussianMixture(1, covariance_type=covariance_type, reg_covar=0.0,
                         max_iter=5).fit(X)
    assert gm.covariances_.dtype == dtype
    np.testing.assert_allclose(gm.covariances_, expected, rtol=rtol,
                               atol=rtol * np.abs(expected).max())


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_offset_1e8_matches_centred_fit(covariance_type):
    rng = np.random.RandomState(1)
    X = np.vstack([rng.randn(2000, 3), rng.randn(2000, 3) * 0.5 + 3.0])
    kwargs = dict(covariance_type=covariance_type, random_state=0, max_iter=50)
    centred = GaussianMixture(2, **kwargs).fit(X)
    shifted = GaussianMixture(2, **kwargs).fit(X + 1e8)
    np.testing.assert_allclose(shifted.covariances_, centred.covariances_, rtol=1e-6)
    np.testing.assert_allclose(shifted.means_ - 1e8, centred.means_, atol=1e-6)


@pytest.mark.parametrize("covariance_type", ["diag", "spherical"])
def test_tight_components_far_apart_keep_their_covariances(covariance_type):
    """Two components 1e4 apart (in each feature) with widths 1e-2: statistics
    expanded around one shift for both (|mu - shift|² / sigma² ~ 2.5e11) would
    cancel, so each covariance must match a two-pass float64 computation over
    its own points to 1e-6 (issue 13's guard for a matrix-product form of the
    diagonal kernels; the centred sweeps pass it)."""
    rng = np.random.RandomState(4)
    centers = np.array([[1.0, -2.0, 3.0], [1e4 + 1.0, 1e4 - 2.0, 1e4 + 3.0]])
    widths = np.array([[1e-2, 0.7e-2, 1.3e-2], [0.8e-2, 1.1e-2, 1e-2]])
    labels = np.repeat([0, 1], [3000, 2000])
    X = centers[labels] + rng.randn(len(labels), 3) * widths[labels]
    gm = GaussianMixture(2, covariance_type=covariance_type, reg_covar=0.0,
                         means_init=centers, max_iter=3, tol=0.0).fit(X)
    for k in range(2):
        own = X[labels == k]
        centred = own - own.mean(axis=0)  # two passes: the mean, then the squares
        variances = (centred**2).mean(axis=0)
        expected = variances if covariance_type == "diag" else variances.mean()
        np.testing.assert_allclose(gm.covariances_[k], expected, rtol=1e-6)
        np.testing.assert_allclose(gm.means_[k], own.mean(axis=0), rtol=0,
                                   atol=1e-6 * widths[k].min())


@pytest.mark.parametrize("scale", [1e-150, 1e150])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_extreme_scales_fit_finite_or_raise_clearly(scale, covariance_type):
    X = np.random.RandomState(2).randn(500, 2) * scale
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gm = GaussianMixture(2, covariance_type=covariance_type,
                                 random_state=0).fit(X)
    except ValueError as exc:
        assert "scale" in str(exc)
        return
    for attr in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
        assert np.all(np.isfinite(getattr(gm, attr))), attr
    assert np.isfinite(gm.lower_bound_)


DEGENERATE = {
    "identical points": lambda rng: np.ones((60, 3)),
    "more components than distinct points": lambda rng: np.repeat(rng.randn(3, 2), 20, axis=0),
    "constant feature": lambda rng: np.c_[rng.randn(300, 2), np.full(300, 7.0)],
}


@pytest.mark.parametrize("case", sorted(DEGENERATE))
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("reg_covar", [1e-6, 0.0])
def test_degenerate_data_fits_to_finite_parameters(case, covariance_type, reg_covar):
    X = DEGENERATE[case](np.random.RandomState(0))
    n_components = 5 if "more components" in case else 3
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gm = GaussianMixture(n_components, covariance_type=covariance_type,
                             reg_covar=reg_covar, random_state=0).fit(X)
    for attr in ("weights_", "means_", "covariances_", "precisions_cholesky_",
                 "precisions_"):
        assert np.all(np.isfinite(getattr(gm, attr))), attr
    assert np.isfinite(gm.lower_bound_)
    np.testing.assert_allclose(gm.weights_.sum(), 1.0)
    assert np.allclose(gm.predict_proba(X).sum(axis=1), 1.0)
    # Without regularisation every case leaves some covariance singular, except a
    # constant feature under a spherical model (its variance is averaged with the
    # others'); those must be announced.
    if reg_covar == 0.0 and not (case == "constant feature"
                                 and covariance_type == "spherical"):
        assert any(issubclass(w.category, DegenerateComponentWarning) for w in caught)


def test_emptied_component_is_reseeded_by_splitting():
    rng = np.random.RandomState(0)
    X = rng.randn(400, 2)
    # a component placed far from every point empties in the first E-step
    means = np.array([[0.0, 0.0], [1e3, 1e3]])
    with pytest.warns(DegenerateComponentWarning, match="re-seeded"):
        gm = GaussianMixture(2, means_init=means, reg_covar=0.0, max_iter=20,
                             random_state=0).fit(X)
    assert np.all(np.abs(gm.means_) < 5)
    assert np.all(gm.weights_ > 0.05)

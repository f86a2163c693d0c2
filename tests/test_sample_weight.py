"""fit(X, sample_weight=...): integer weights are repeated rows, zero weights are
dropped rows, bad weights are refused before any kernel runs."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from fastgmm import GaussianMixture

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]
FITTED = ["weights_", "means_", "covariances_", "precisions_cholesky_"]

# tol=0 runs every iteration on purpose
pytestmark = pytest.mark.filterwarnings(
    "ignore::sklearn.exceptions.ConvergenceWarning"
)


def _data(seed=0, n=300):
    rng = np.random.RandomState(seed)
    return np.vstack([
        rng.randn(n, 3),
        rng.randn(n, 3) * 0.7 + [4.0, 0.0, 1.0],
        rng.randn(n // 2, 3) * 0.5 - 3.0,
    ])


def _start(X, covariance_type, n_components=3):
    """Initial parameters (weights, means, precisions) shared by two fits."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        init = GaussianMixture(n_components, covariance_type=covariance_type,
                               max_iter=0, random_state=0).fit(X)
    return dict(weights_init=init.weights_, means_init=init.means_,
                precisions_init=init.precisions_)


def _pair(covariance_type, start, **kwargs):
    params = dict(covariance_type=covariance_type, tol=0.0, max_iter=30, **start,
                  **kwargs)
    return GaussianMixture(3, **params), GaussianMixture(3, **params)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_integer_weights_equal_repeated_rows(covariance_type):
    X = _data()
    weights = np.random.RandomState(1).randint(0, 5, size=X.shape[0])
    repeated = np.repeat(X, weights, axis=0)
    weighted, plain = _pair(covariance_type, _start(repeated, covariance_type))
    weighted.fit(X, sample_weight=weights)
    plain.fit(repeated)
    for name in FITTED:
        assert_allclose(getattr(weighted, name), getattr(plain, name), rtol=1e-8,
                        atol=1e-12, err_msg=name)
    assert_allclose(weighted.lower_bounds_, plain.lower_bounds_, rtol=1e-8)
    assert_allclose(weighted.predict_proba(X), plain.predict_proba(X), rtol=1e-8,
                    atol=1e-12)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_zero_weights_drop_rows(covariance_type):
    X = _data(2)
    keep = np.random.RandomState(3).rand(X.shape[0]) < 0.6
    # the dropped rows are far away: any influence would show
    X[~keep] += 50.0
    weighted, plain = _pair(covariance_type, _start(X[keep], covariance_type))
    weighted.fit(X, sample_weight=keep.astype(float))
    plain.fit(X[keep])
    for name in FITTED:
        assert_allclose(getattr(weighted, name), getattr(plain, name), rtol=1e-8,
                        atol=1e-12, err_msg=name)


@pytest.mark.parametrize("init_params", ["kmeans", "k-means++", "random_from_data"])
def test_initialisation_never_seeds_zero_weight_rows(init_params):
    X = _data(4)
    outliers = np.random.RandomState(5).randn(200, 3) + 1000.0
    X = np.vstack([X, outliers])
    weights = np.r_[np.ones(X.shape[0] - 200), np.zeros(200)]
    for seed in range(5):
        gm = GaussianMixture(3, init_params=init_params, random_state=seed)
        gm.fit(X, sample_weight=weights)
        assert np.abs(gm.means_).max() < 100.0


def test_uniform_weights_change_nothing_from_the_same_start():
    X = _data(6)
    start = _start(X, "full")
    a, b = _pair("full", start)
    a.fit(X)
    b.fit(X, sample_weight=2.5)
    for name in FITTED:
        assert_allclose(getattr(a, name), getattr(b, name), rtol=1e-10, atol=1e-13)


def test_fit_predict_with_weights_equals_fit_then_predict():
    X = _data(7)
    weights = np.random.RandomState(8).rand(X.shape[0])
    a = GaussianMixture(3, random_state=0, max_iter=5, tol=0)
    labels = a.fit_predict(X, sample_weight=weights)
    assert_array_equal(labels, a.predict(X))


def test_weighted_fit_of_float32_keeps_float32():
    X = _data(9).astype(np.float32)
    weights = np.random.RandomState(10).rand(X.shape[0])
    gm = GaussianMixture(2, random_state=0).fit(X, sample_weight=weights)
    assert gm.means_.dtype == np.float32


def test_inputs_are_not_modified():
    X = _data(11)
    weights = np.random.RandomState(12).rand(X.shape[0])
    X_before, weights_before = X.copy(), weights.copy()
    GaussianMixture(3, random_state=0).fit(X, sample_weight=weights)
    assert_array_equal(X, X_before)
    assert_array_equal(weights, weights_before)


def test_weights_as_list_and_integers():
    X = _data(13)
    weights = [1, 2, 3] * (X.shape[0] // 3)
    GaussianMixture(2, random_state=0).fit(X, sample_weight=weights)


@pytest.mark.parametrize(
    "weights, match",
    [
        (lambda n: -np.ones(n), "Negative values"),
        (lambda n: np.r_[np.ones(n - 1), -1e-3], "Negative values"),
        (lambda n: np.r_[np.ones(n - 1), np.nan], "NaN"),
        (lambda n: np.r_[np.ones(n - 1), np.inf], "infinity"),
        (lambda n: np.zeros(n), "at least one non-zero"),
        (lambda n: np.ones(n + 1), "sample_weight.shape"),
        (lambda n: np.ones(n - 1), "sample_weight.shape"),
        (lambda n: np.ones((n, 2)), "1D array or scalar"),
        (lambda n: -1.0, "Negative values"),
        (lambda n: np.nan, "finite"),
    ],
)
def test_bad_weights_are_refused(weights, match):
    X = _data(14)
    gm = GaussianMixture(2)
    with pytest.raises(ValueError, match=match):
        gm.fit(X, sample_weight=weights(X.shape[0]))
    assert not hasattr(gm, "means_")


def test_too_few_positive_weights_are_refused():
    X = _data(15)
    weights = np.zeros(X.shape[0])
    weights[:2] = 1.0
    with pytest.raises(ValueError, match="positive weight >= n_components"):
        GaussianMixture(3).fit(X, sample_weight=weights)

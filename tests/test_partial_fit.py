"""partial_fit: stepwise online EM (Cappé & Moulines, 2009), and the statistics
algebra it rests on (moving statistics between shifts, scaling, merging)."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import logsumexp
from scipy.stats import multivariate_normal
from sklearn.utils._param_validation import InvalidParameterError

from fastgmm import GaussianMixture
from fastgmm._passes import resp_stats
from fastgmm._stats import m_step

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]

pytestmark = pytest.mark.filterwarnings(
    "ignore::sklearn.exceptions.ConvergenceWarning"
)


def _mixture(n, seed, n_features=3):
    rng = np.random.RandomState(seed)
    means = np.array([[0, 0, 0], [4, 0, 1], [0, 5, -1], [-4, -3, 2], [3, 4, 4]],
                     dtype=float)[:, :n_features]
    scales = np.array([1.0, 0.6, 1.4, 0.8, 1.1])
    labels = rng.choice(5, size=n, p=[0.3, 0.15, 0.25, 0.1, 0.2])
    mixing = np.eye(n_features) + 0.3
    return (rng.randn(n, n_features) @ mixing) * scales[labels, None] + means[labels]


# ------------------------------------------------------------ statistics algebra


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_shifted_statistics_equal_statistics_taken_around_the_new_shift(
    covariance_type,
):
    rng = np.random.RandomState(0)
    X = rng.randn(2000, 3) * 2.0 + 1e3
    resp = rng.dirichlet(np.ones(4), size=2000)
    weights = rng.rand(2000)
    old = X[:4] + rng.randn(4, 3)
    new = X[:4] + 5.0 * rng.randn(4, 3)
    moved = resp_stats(X, weights, old, covariance_type, resp).shifted(new)
    direct = resp_stats(X, weights, new, covariance_type, resp)
    assert_array_equal(moved.centers, direct.centers)
    assert_array_equal(moved.tied_shift, direct.tied_shift)
    scale = np.abs(direct.s2).max()
    assert_allclose(moved.s0, direct.s0)
    assert_allclose(moved.s1, direct.s1, atol=1e-11 * np.sqrt(scale))
    assert_allclose(moved.s2, direct.s2, rtol=1e-10, atol=1e-11 * scale)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_statistics_around_different_shifts_add(covariance_type):
    rng = np.random.RandomState(1)
    X = rng.randn(3000, 2) + [1e4, -1e4]
    resp = rng.dirichlet(np.ones(3), size=3000)
    no_weights = np.empty(0)
    first = resp_stats(X[:1000], no_weights, X[:3] + 0.5, covariance_type,
                       resp[:1000])
    second = resp_stats(X[1000:], no_weights, X[10:13], covariance_type, resp[1000:])
    whole = resp_stats(X, no_weights, X[:3] + 0.5, covariance_type, resp)
    merged = first + second
    a, b = m_step(merged, 1e-6), m_step(whole, 1e-6)
    assert_allclose(a.means, b.means, rtol=1e-12)
    assert_allclose(a.covariances, b.covariances, rtol=1e-9)
    assert_allclose(a.weights, b.weights, rtol=1e-12)
    half = merged.scaled(0.5)
    assert_allclose(m_step(half, 1e-6).covariances, a.covariances, rtol=1e-12)
    assert half.weight == 0.5 * merged.weight


# ---------------------------------------------------------------- partial_fit


def _dense_covariances(gm):
    k, d = gm.means_.shape
    if gm.covariance_type == "full":
        return gm.covariances_
    if gm.covariance_type == "tied":
        return np.repeat(gm.covariances_[None], k, axis=0)
    if gm.covariance_type == "diag":
        return np.stack([np.diag(c) for c in gm.covariances_])
    return np.stack([np.eye(d) * c for c in gm.covariances_])


def _naive_stats(gm, X):
    """Raw moments per unit weight under the model's responsibilities."""
    covariances = _dense_covariances(gm)
    log_prob = np.column_stack([
        np.log(w) + multivariate_normal(m, c).logpdf(X)
        for w, m, c in zip(gm.weights_, gm.means_, covariances, strict=True)
    ])
    resp = np.exp(log_prob - logsumexp(log_prob, axis=1)[:, None])
    n = X.shape[0]
    return (resp.sum(axis=0) / n, resp.T @ X / n,
            np.einsum("ik,ia,ib->kab", resp, X, X) / n)


def _naive_m_step(stats, covariance_type, reg_covar):
    s0, s1, s2 = stats
    means = s1 / s0[:, None]
    scatter = s2 - s0[:, None, None] * means[:, :, None] * means[:, None, :]
    d = means.shape[1]
    if covariance_type == "full":
        covariances = scatter / s0[:, None, None] + reg_covar * np.eye(d)
    elif covariance_type == "tied":
        covariances = scatter.sum(axis=0) / s0.sum() + reg_covar * np.eye(d)
    else:
        covariances = np.diagonal(scatter, axis1=1, axis2=2) / s0[:, None] + reg_covar
        if covariance_type == "spherical":
            covariances = covariances.mean(axis=1)
    return s0 / s0.sum(), means, covariances


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_steps_follow_the_stepwise_em_recursion(covariance_type):
    X = _mixture(6000, 0)
    batches = np.split(X, 4)
    gm = GaussianMixture(5, covariance_type=covariance_type, random_state=0,
                         learning_decay=0.7, learning_offset=3.0)
    gm.partial_fit(batches[0])
    running = _naive_stats(gm, batches[0])
    for t, batch in enumerate(batches[1:], start=2):
        fresh = _naive_stats(gm, batch)
        step = (t + 3.0) ** -0.7
        running = tuple(
            (1 - step) * r + step * f for r, f in zip(running, fresh, strict=True)
        )
        gm.partial_fit(batch)
        weights, means, covariances = _naive_m_step(running, covariance_type,
                                                    gm.reg_covar)
        assert gm.n_steps_ == t
        assert_allclose(gm.weights_, weights, rtol=1e-9)
        assert_allclose(gm.means_, means, rtol=1e-9, atol=1e-10)
        assert_allclose(gm.covariances_, covariances, rtol=1e-8, atol=1e-10)


def test_first_call_fits_its_batch():
    X = _mixture(5000, 1)
    online = GaussianMixture(5, random_state=0).partial_fit(X)
    batch = GaussianMixture(5, random_state=0).fit(X)
    for name in ["weights_", "means_", "covariances_", "precisions_cholesky_"]:
        assert_array_equal(getattr(online, name), getattr(batch, name))
    assert online.n_steps_ == 1


def test_partial_fit_after_fit_starts_from_the_fitted_model():
    X = _mixture(8000, 2)
    gm = GaussianMixture(5, random_state=0).fit(X[:4000])
    means = gm.means_.copy()
    gm.partial_fit(X[4000:6000])
    assert gm.n_steps_ == 1
    assert_array_equal(gm.means_, means)
    gm.partial_fit(X[6000:])
    assert gm.n_steps_ == 2
    gm.fit(X)
    assert not hasattr(gm, "n_steps_")


def test_batch_weights_are_repeated_rows():
    X = _mixture(4000, 3)
    weights = np.random.RandomState(4).randint(0, 4, size=2000)
    a = GaussianMixture(5, random_state=0).partial_fit(X[:2000])
    b = GaussianMixture(5, random_state=0).partial_fit(X[:2000])
    a.partial_fit(X[2000:], sample_weight=weights)
    b.partial_fit(np.repeat(X[2000:], weights, axis=0))
    for name in ["weights_", "means_", "covariances_"]:
        assert_allclose(getattr(a, name), getattr(b, name), rtol=1e-9, atol=1e-12)


def test_partial_fit_checks_its_input():
    X = _mixture(3000, 5)
    gm = GaussianMixture(5, random_state=0).partial_fit(X[:2000])
    with pytest.raises(ValueError, match="features"):
        gm.partial_fit(X[2000:, :2])
    with pytest.raises(ValueError, match="NaN"):
        gm.partial_fit(np.full((10, 3), np.nan))
    with pytest.raises(ValueError, match="Negative"):
        gm.partial_fit(X[2000:], sample_weight=-np.ones(1000))
    with pytest.raises(InvalidParameterError):
        GaussianMixture(learning_decay=0.5).partial_fit(X)
    with pytest.raises(ValueError, match="n_components"):
        GaussianMixture(5).partial_fit(X[:3])


def test_online_em_is_within_one_percent_of_batch_em():
    """1M points of a 5-component mixture in batches of 10,000: the held-out
    log-likelihood is within 1% of converged batch EM's."""
    X = _mixture(1_000_000, 6, n_features=2)
    held_out = _mixture(100_000, 7, n_features=2)
    batch = GaussianMixture(5, random_state=0, tol=1e-6, max_iter=500).fit(X)
    online = GaussianMixture(5, random_state=0)
    for start in range(0, X.shape[0], 10_000):
        online.partial_fit(X[start : start + 10_000])
    assert online.n_steps_ == 100
    reference = batch.score(held_out)
    gap = (reference - online.score(held_out)) / abs(reference)
    assert gap < 0.01, gap

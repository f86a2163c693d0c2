"""GibbsGaussianMixture on data with missing values (``missing_values="nan"``):
the sweep's draws against their NumPy twin (``naive_missing.sampled_sums``),
the sampler's invariance (Geweke's test and an exact posterior), and the
estimator on every way of feeding data."""

import arviz as az
import naive_gibbs as naive
import numpy as np
import pytest
from naive_missing import log_marginal, normals, sampled_sums
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.utils._param_validation import InvalidParameterError
from test_gibbs import geweke_agrees, simulate_data
from test_missing import mixture_data, random_start

from fastgmm import GibbsGaussianMixture
from fastgmm._covariance import COVARIANCE_TYPES
from fastgmm._kernels import random as kernel_random
from fastgmm._missing import missing_array_source
from fastgmm._params import Params

TYPES = ("full", "tied", "diag", "spherical")


def params_of(covariance_type, weights, means, cov):
    ctype = COVARIANCE_TYPES[covariance_type]
    factors, failed = ctype.cholesky_from_covariances(np.asarray(cov, float))
    assert not np.any(failed)
    return Params(ctype, weights, means, np.asarray(cov, float), factors)


def source_of(X, sample_weight=None):
    return missing_array_source(X, sample_weight, False, "GibbsGaussianMixture")


# ------------------------------------------------------------------ the sweep


def test_normals_match_numpy_twin():
    key = np.uint64(naive.sweep_key(3, 1, 9))
    rows = np.array([0, 5, 2**33])
    for index in (0, 17):
        mine = [kernel_random.normal(key, np.uint64(r), np.uint64(index))
                for r in rows]
        assert_allclose(mine, normals(key, rows, index), rtol=1e-14, atol=1e-15)
    draws = normals(key, np.arange(200_000), 4)
    assert abs(draws.mean()) < 0.01 and abs(draws.var() - 1.0) < 0.01
    # no normal shares its counter with an assignment's uniform
    other = normals(key, np.arange(200_000), 5)
    assert abs(np.corrcoef(draws, other)[0, 1]) < 0.01
    u = naive.uniforms(key, np.arange(200_000))
    assert abs(np.corrcoef(draws, u)[0, 1]) < 0.01


@pytest.mark.parametrize("covariance_type", TYPES)
@pytest.mark.parametrize("weighted", [False, True])
def test_sampled_pass_equals_numpy_twin(covariance_type, weighted):
    """One sweep's statistics on rows with one to D - 1 missing values (D = 7:
    the one- and two-value shortcuts and the factorisations), against the
    NumPy twin's completed rows: same components, same missing values."""
    rng = np.random.default_rng(2)
    n_features, n_components = 7, 3
    weights, means, cov, _ = random_start(covariance_type, n_components,
                                          n_features, rng)
    X = means[rng.integers(n_components, size=300)] + rng.standard_normal(
        (300, n_features))
    X[rng.random(X.shape) < 0.35] = np.nan
    X[:n_features] = np.nan
    X[np.arange(n_features), np.arange(n_features)] = 1.0
    X[np.isnan(X).all(axis=1), 0] = 0.5
    sample_weight = None
    if weighted:
        sample_weight = rng.choice([0.0, 0.4, 1.0, 2.0, 3.5], size=len(X))
    params = params_of(covariance_type, weights, means, cov)
    key = naive.sweep_key(21, 0, 3)
    stats = source_of(X, sample_weight).sampled_pass(params, None, key,
                                                     first_row=11)
    mass, first, second = sampled_sums(X, weights, means, cov, covariance_type,
                                       key, sample_weight, first_row=11)
    raw = stats.shifted(np.zeros_like(means), np.zeros(n_features))
    assert_allclose(raw.s0, mass, rtol=1e-12)
    assert_allclose(raw.s1, first, rtol=1e-9, atol=1e-9)
    if covariance_type == "full":
        expected = second
    elif covariance_type == "tied":
        expected = second.sum(axis=0)
    else:
        expected = np.diagonal(second, axis1=1, axis2=2)
    assert_allclose(raw.s2, expected, rtol=1e-9, atol=1e-9)
    log_p = log_marginal(X, weights, means, cov, covariance_type)
    w = np.ones(len(X)) if sample_weight is None else sample_weight
    assert_allclose(stats.loglik, w @ log_p, rtol=1e-10)


# ----------------------------------------------------- the sampler's target


@pytest.mark.parametrize("name", TYPES)
def test_geweke_getting_it_right_with_missing_values(name):
    """Geweke's test (``test_gibbs.geweke_agrees``) with a fixed pattern of
    missing values: each sweep's new data (three features, rows shuffled so
    that the pattern is independent of the components) lose the masked entries
    before the pass draws the components and missing values. A sweep that drew
    the missing values from the wrong distribution, or left them at their
    conditional means, would move the successive chain's moments."""
    mask = np.array([[1, 0, 0], [0, 1, 1], [0, 0, 0], [1, 1, 0], [0, 0, 0]],
                    dtype=bool)

    def sweep(rng, params, t):
        X = simulate_data(rng, params, len(mask))
        rng.shuffle(X)
        X[mask] = np.nan
        return source_of(X).sampled_pass(params, None, naive.sweep_key(8, 0, t))

    geweke_agrees(name, 3, sweep, seed=12)


@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_known_covariance_posterior_of_the_mean(covariance_type):
    """One component of known covariance Sigma, mu ~ N(m0, Sigma / beta0): the
    posterior of mu given the observed coordinates is Gaussian, of precision
    beta0 Sigma⁻¹ + sum_n E_nᵀ Sigma_oo⁻¹ E_n (E_n: the rows of the identity
    at row n's observed features). The chains' mean and standard deviations
    agree with it, although every sweep sees only completed rows."""
    rng = np.random.default_rng(4)
    n_features = 4
    if covariance_type == "full":
        mixing = rng.normal(0, 0.5, (n_features, n_features))
        sigma = mixing @ mixing.T + np.eye(n_features)
        fixed = sigma[None]
    else:
        fixed = np.array([[0.5, 1.0, 2.0, 1.5]])
        sigma = np.diag(fixed[0])
    X = rng.multivariate_normal([1.0, -2.0, 0.5, 3.0], sigma, size=40)
    X[rng.random(X.shape) < 0.4] = np.nan
    X[np.isnan(X).all(axis=1), 1] = -2.0
    m0, beta0 = np.zeros(n_features), 0.5
    precision = beta0 * np.linalg.inv(sigma)
    shift = precision @ m0
    for x in X:
        o = ~np.isnan(x)
        inv_oo = np.linalg.inv(sigma[np.ix_(o, o)])
        precision[np.ix_(o, o)] += inv_oo
        shift[o] += inv_oo @ x[o]
    posterior_cov = np.linalg.inv(precision)
    posterior_mean = posterior_cov @ shift
    model = GibbsGaussianMixture(
        n_components=1, covariance_type=covariance_type, covariances_fixed=fixed,
        mean_prior=m0, mean_precision_prior=beta0, n_draws=3000, n_burn=100,
        n_chains=2, random_state=0, missing_values="nan",
    ).fit(X)
    draws = model.means_draws_[:, :, 0].reshape(-1, n_features)
    ess = min(az.ess(model.means_draws_[:, :, 0, a]) for a in range(n_features))
    sd = np.sqrt(np.diag(posterior_cov))
    assert_allclose(draws.mean(axis=0), posterior_mean,
                    atol=4 * sd.max() / np.sqrt(ess))
    assert_allclose(draws.std(axis=0), sd, rtol=0.1)


# -------------------------------------------------------------- the estimator


@pytest.mark.parametrize("covariance_type", TYPES)
def test_estimator_recovers_the_clusters(covariance_type):
    """25% of the values missing: the posterior means lie near the clusters'
    centres, nothing is NaN, and the kept log-likelihoods are the observed
    values' under each draw."""
    _, X = mixture_data(n=600, seed=1)
    model = GibbsGaussianMixture(
        n_components=3, covariance_type=covariance_type, n_draws=100, n_burn=30,
        n_chains=2, random_state=0, missing_values="nan",
    ).fit(X)
    centers = np.array([[0, 0, 0, 0], [4, 4, 0, 1], [0, 5, 5, -2.0]])
    order = [np.argmin(((model.means_ - c) ** 2).sum(axis=1)) for c in centers]
    assert_allclose(model.means_[order], centers, atol=0.35)
    for values in (model.weights_draws_, model.means_draws_,
                   model.covariances_draws_, model.log_likelihood_draws_):
        assert np.all(np.isfinite(values))
    for chain in range(2):
        draw = -1
        weights = model.weights_draws_raw_[chain, draw]
        means = model.means_draws_raw_[chain, draw]
        cov = model.covariances_draws_raw_[chain, draw]
        expected = log_marginal(X, weights, means, cov, covariance_type).sum()
        assert_allclose(model.log_likelihood_draws_[chain, draw], expected,
                        rtol=1e-10)
    imputed = model.impute(X)
    assert not np.isnan(imputed).any()
    assert_array_equal(imputed[~np.isnan(X)], X[~np.isnan(X)])
    assert np.isfinite(model.score(X)) and model.predict(X).shape == (len(X),)


def test_without_nan_the_draws_are_bitwise_the_ordinary_ones():
    X, _ = mixture_data(n=200)
    kwargs = dict(n_components=3, n_draws=20, n_burn=5, n_chains=1, random_state=2)
    a = GibbsGaussianMixture(**kwargs).fit(X)
    b = GibbsGaussianMixture(**kwargs, missing_values="nan").fit(X)
    for name in ("means_draws_raw_", "covariances_draws_raw_", "weights_draws_raw_",
                 "log_likelihood_draws_"):
        assert_array_equal(getattr(a, name), getattr(b, name))


def big_data_with_holes(n_per=6000, seed=5):
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.normal(c, 1.0, size=(n_per, 3)) for c in (-3.0, 0.0, 3.0)])
    X[rng.random(X.shape) < 0.1] = np.nan
    X[np.isnan(X).all(axis=1), 0] = 0.0
    return X


def test_threads_memory_map_and_dask_give_the_same_draws(tmp_path):
    """More than one chunk of rows: the draws are keyed by the rows' global
    indices, so one or two threads and a memory map give bitwise the same
    draws, and a dask array the same to rounding."""
    X = big_data_with_holes()
    path = tmp_path / "X.npy"
    np.save(path, X)
    kwargs = dict(n_components=3, n_draws=4, n_burn=2, n_chains=1, random_state=3,
                  missing_values="nan")
    results = []
    for n_jobs, data in ((1, X), (2, X), (2, np.load(path, mmap_mode="r"))):
        model = GibbsGaussianMixture(**kwargs, n_jobs=n_jobs).fit(data)
        results.append(model)
    names = ("means_draws_raw_", "covariances_draws_raw_", "weights_draws_raw_")
    for other in results[1:]:
        for name in names:
            assert_array_equal(getattr(results[0], name), getattr(other, name))
        # the last bit of a log-likelihood can differ between a kernel compiled
        # in this process and one loaded from Numba's cache (seen when a run
        # mixes both; never within either), which the draws do not feel
        assert_allclose(results[0].log_likelihood_draws_,
                        other.log_likelihood_draws_, rtol=1e-14)
    da = pytest.importorskip("dask.array")
    lazy = GibbsGaussianMixture(**kwargs, init_params="random_from_data")
    lazy.fit(da.from_array(X, chunks=(5000, 3)))
    eager = GibbsGaussianMixture(**kwargs, init_params="random_from_data").fit(X)
    for name in names + ("log_likelihood_draws_",):
        assert_allclose(getattr(lazy, name), getattr(eager, name), rtol=1e-9)


def test_integer_weights_are_repeated_rows():
    """A row of weight 2 draws two components and two sets of missing values:
    the posterior is that of the repeated rows (means agree closely)."""
    _, X = mixture_data(n=300, seed=3)
    weights = np.tile([1.0, 2.0, 0.0], 100)
    repeated = np.repeat(X, weights.astype(int), axis=0)
    kwargs = dict(n_components=3, n_draws=300, n_burn=50, n_chains=1,
                  random_state=0, missing_values="nan")
    a = GibbsGaussianMixture(**kwargs).fit(X, sample_weight=weights)
    b = GibbsGaussianMixture(**kwargs).fit(repeated)
    order_a = np.argsort(a.means_[:, 0] + a.means_[:, 1])
    order_b = np.argsort(b.means_[:, 0] + b.means_[:, 1])
    assert_allclose(a.means_[order_a], b.means_[order_b], atol=0.2)


def test_bad_input_is_rejected_before_sampling():
    complete, X = mixture_data(n=60)
    model = GibbsGaussianMixture(n_components=2, n_draws=2, n_burn=0, n_chains=1,
                                 missing_values="nan")
    with pytest.raises(ValueError, match="contains NaN"):
        GibbsGaussianMixture(n_components=2).fit(X)
    with pytest.raises(InvalidParameterError, match="missing_values"):
        GibbsGaussianMixture(missing_values="zero").fit(X)
    bad = X.copy()
    bad[5] = np.nan
    with pytest.raises(ValueError, match="Row 5 of X has no observed value"):
        model.fit(bad)
    bad = complete.copy()
    bad[:, 2] = np.nan
    with pytest.raises(ValueError, match="Feature \\(column\\) 2"):
        model.fit(bad)
    bad = X.copy()
    bad[0, 0] = np.inf
    before = bad.copy()
    with pytest.raises(ValueError, match="infinity"):
        model.fit(bad)
    assert_array_equal(bad, before)

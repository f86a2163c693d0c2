"""GibbsGaussianMixture (issue 12): the sampled pass against its NumPy twin, the
posterior of an enumerable problem, Geweke's joint-distribution test for every
covariance type, bitwise reproducibility across threads and memory maps, and
bad input."""

import naive_gibbs as naive
import numpy as np
import pytest
from scipy.stats import multivariate_normal
from sklearn.utils._param_validation import InvalidParameterError

from fastgmm import GibbsGaussianMixture
from fastgmm._config import BLOCK_ROWS
from fastgmm._covariance import COVARIANCE_TYPES
from fastgmm._gibbs import draw_parameters
from fastgmm._kernels import random as kernel_random
from fastgmm._params import Params
from fastgmm._sources import ArraySource
from fastgmm._stats import SufficientStats
from fastgmm._validation import numba_threads
from fastgmm._variational import resolve_priors

az = pytest.importorskip("arviz")


def three_clusters(n_per=100, seed=0):
    rng = np.random.default_rng(seed)
    centers = np.array([[0.0, 5.0], [5.0, 0.0], [8.0, 8.0]])
    return np.vstack([rng.normal(c, 1.0, size=(n_per, 2)) for c in centers])


def full_params(n_components=3, seed=1):
    rng = np.random.default_rng(seed)
    ctype = COVARIANCE_TYPES["full"]
    means = rng.normal(0.0, 3.0, size=(n_components, 2))
    a = rng.normal(size=(n_components, 2, 2))
    covariances = a @ np.swapaxes(a, 1, 2) + np.eye(2)
    factors, _ = ctype.cholesky_from_covariances(covariances)
    weights = rng.dirichlet(np.ones(n_components))
    return Params(ctype, weights, means, covariances, factors)


# ------------------------------------------------- random numbers and the pass


def test_uniforms_match_numpy_twin():
    key = np.uint64(kernel_random.sweep_key(np.uint64(12345), np.uint64(2),
                                            np.uint64(77)))
    assert key == naive.sweep_key(12345, 2, 77)
    rows = np.array([0, 1, 2, 1000, 2**40])
    for copy in (0, 3):
        mine = [kernel_random.uniform(key, np.uint64(r), np.uint64(copy)) for r in rows]
        np.testing.assert_array_equal(mine, naive.uniforms(key, rows, copy))
    u = naive.uniforms(key, np.arange(100_000))
    assert 0.0 <= u.min() and u.max() < 1.0
    assert abs(u.mean() - 0.5) < 0.005 and abs(u.var() - 1 / 12) < 0.002


@pytest.mark.parametrize("weighted", [False, True])
def test_sampled_statistics_equal_numpy(weighted):
    """One sampled pass: the assignments drawn by inverse CDF from the same
    uniforms, and their statistics, computed in NumPy."""
    rng = np.random.default_rng(3)
    X = rng.normal(0.0, 3.0, size=(5000, 2))
    weights = rng.integers(0, 4, size=X.shape[0]).astype(np.float64) if weighted \
        else None
    params = full_params()
    key = naive.sweep_key(99, 1, 5)
    stats = ArraySource(X, weights).sampled_pass(params, None, key, first_row=7)

    log_dens = np.column_stack([
        np.log(params.weights[k])
        + multivariate_normal(params.means[k], params.covariances[k]).logpdf(X)
        for k in range(3)
    ])
    resp = np.exp(log_dens - log_dens.max(axis=1, keepdims=True))
    rows = np.arange(X.shape[0]) + 7
    counts = np.zeros_like(resp)
    copies = np.ones(X.shape[0], dtype=int) if weights is None else weights.astype(int)
    for copy in range(copies.max()):
        z = naive.sampled_components(resp, naive.uniforms(key, rows, copy))
        live = copies > copy
        counts[np.flatnonzero(live), z[live]] += 1.0
    s0, s1, s2 = naive.assignment_stats(X, counts, params.means)
    np.testing.assert_array_equal(stats.s0, s0)
    np.testing.assert_allclose(stats.s1, s1, rtol=1e-10, atol=1e-9)
    np.testing.assert_allclose(stats.s2, s2, rtol=1e-10, atol=1e-9)


def test_block_draws_equal_the_one_row_search():
    """``sample_block`` draws a block's unweighted rows in vectorised loops, with
    no division by the rows' totals; each row's component is the one the
    one-row search that weighted rows use (``inverse_cdf``) finds from the
    same uniform, also with exact zeros, an empty last component and rows
    without mass."""
    rng = np.random.default_rng(8)
    n_components, n_rows = 4, BLOCK_ROWS
    mass = rng.random((n_components, n_rows))
    mass[rng.random(mass.shape) < 0.4] = 0.0
    mass[-1, 3:40] = 0.0
    mass[:, :3] = 0.0
    total = np.zeros((3, n_rows))
    for k in range(n_components):
        total[0] += mass[k]
    key, first_row = np.uint64(naive.sweep_key(4, 0, 2)), np.uint64(1000)
    drawn = mass.copy()
    kernel_random.sample_block(drawn, n_rows, key, first_row, np.empty(0), 0, total,
                               np.empty(n_rows), np.empty(n_components))
    expected = np.zeros_like(mass)
    for i in range(n_rows):
        u = kernel_random.uniform(key, first_row + np.uint64(i), np.uint64(0))
        z = kernel_random.inverse_cdf(mass, i, u)
        if z >= 0:
            expected[z, i] = 1.0
    np.testing.assert_array_equal(drawn, expected)
    assert np.array_equal(drawn.sum(axis=0), total[0] > 0.0)


def random_stats(rng, ctype, n_components, n_features, empty=()):
    """Statistics of random one-hot assignments of random points, around
    random shifts (components in ``empty`` get no point)."""
    X = rng.normal(0.0, 2.0, size=(40, n_features))
    labels = rng.integers(n_components, size=X.shape[0])
    counts = np.eye(n_components)[labels]
    counts[:, list(empty)] = 0.0
    centers = rng.normal(size=(n_components, n_features))
    s0, s1, s2 = naive.assignment_stats(X, counts, centers)
    tied_shift = centers.mean(axis=0)
    if ctype.name == "tied":
        d = X - tied_shift
        s2 = np.einsum("nk,nd,ne->de", counts, d, d)
    elif not ctype.stores_matrices:
        s2 = np.einsum("kdd->kd", s2)
    return SufficientStats(ctype, s0, s1, s2, centers, tied_shift, 0.0,
                           float(X.shape[0]))


@pytest.mark.parametrize("prior_type", ["dirichlet_process", "dirichlet_distribution"])
@pytest.mark.parametrize("name", list(COVARIANCE_TYPES))
def test_compiled_draws_equal_numpy_twin(name, prior_type):
    """The compiled conjugate draws take the same numbers from the generator as
    the NumPy formulation (the generator ends in the same state) and give the
    same parameters: bitwise for diag and spherical, where both do the same
    arithmetic; to 1e-12 for full and tied (LAPACK's and BLAS's sums against
    plain loops). Also with known covariances and with an empty component."""
    ctype = COVARIANCE_TYPES[name]
    rng = np.random.default_rng(8)
    for fixed_covariances in (False, True):
        stats = random_stats(rng, ctype, 3, 3, empty=(1,))
        priors = resolve_priors(name, 3, np.zeros(3), np.eye(3) * 2.0, 40.0,
                                weight_concentration_prior_type=prior_type)
        fixed = None
        if fixed_covariances:
            fixed = draw_parameters(np.random.default_rng(1), stats, priors)
        mine, theirs = np.random.default_rng(5), np.random.default_rng(5)
        a = draw_parameters(mine, stats, priors, fixed)
        b = naive.draw_parameters(theirs, stats, priors, fixed)
        assert mine.random() == theirs.random()
        exact = name in ("diag", "spherical")
        for x, y in zip(a.arrays(), b.arrays(), strict=True):
            if exact:
                np.testing.assert_array_equal(x, y)
            else:
                np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-12)


# ------------------------------------------------------- posterior correctness


def test_enumerated_posterior():
    """8 points, K = 2, known variance: the sampler's label-invariant estimates
    within 4 Monte-Carlo standard errors (ESS from ArviZ) of the exact posterior
    summed over all 2^8 assignments."""
    x = np.array([-2.3, -1.6, -1.1, -0.4, 0.6, 1.2, 1.5, 2.6])
    sigma2, alpha, m0, beta0 = 1.0, 1.0, 0.0, 0.2
    exact = naive.exact_posterior_1d(x, sigma2, alpha, m0, beta0)
    model = GibbsGaussianMixture(
        n_components=2, covariance_type="spherical",
        covariances_fixed=np.full(2, sigma2),
        weight_concentration_prior_type="dirichlet_distribution",
        weight_concentration_prior=alpha, mean_prior=[m0], mean_precision_prior=beta0,
        n_draws=2500, n_burn=100, n_chains=4, random_state=0,
    ).fit(x[:, None])
    means = model.means_draws_raw_[..., 0]
    weights = model.weights_draws_raw_
    left = np.argmin(means, axis=-1)
    quantities = (means.min(axis=-1), means.max(axis=-1),
                  np.take_along_axis(weights, left[..., None], axis=-1)[..., 0])
    for value, truth in zip(quantities, exact, strict=True):
        mcse = value.std() / np.sqrt(az.ess(value))
        assert abs(value.mean() - truth) < 4 * mcse, (value.mean(), truth, mcse)


def empty_stats(ctype, n_components, n_features):
    zeros = np.zeros(n_components)
    s2 = np.zeros(ctype.second_moment_shape(n_components, n_features))
    return SufficientStats(ctype, zeros, np.zeros((n_components, n_features)), s2,
                           np.zeros((n_components, n_features)),
                           np.zeros(n_features), 0.0, 0.0)


def simulate_data(rng, params, n_points):
    labels = rng.choice(params.weights.shape[0], size=n_points, p=params.weights)
    counts = np.bincount(labels, minlength=params.weights.shape[0])
    parts = params.covariance_type.sample(rng, params.means, params.covariances, counts)
    return np.vstack(parts)


def test_functions(params):
    """Functions of the parameters compared by Geweke's test."""
    ctype = params.covariance_type
    log_det = ctype.log_det_cholesky(params.precisions_cholesky, 2)
    values = [params.weights[0], params.means[0, 0], params.means[1, 1],
              np.atleast_1d(log_det)[0]]
    return np.array(values + [v * v for v in values])


test_functions.__test__ = False


def geweke_agrees(name, n_features, sweep, n_iter=1500, seed=11):
    """Geweke (2004): the marginal-conditional simulator (parameters from the
    prior, data given them) and the successive-conditional one (``sweep(rng,
    params, t)``: new data given the parameters, then the statistics of a
    Gibbs sweep's pass, followed by a draw of the parameters) must agree on
    E[g] and E[g²] of the parameters (``test_functions``); the difference of
    means within 4 standard errors (ESS of the successive chain from ArviZ).
    Two components, Dirichlet(2) weights, the prior mean (0.5, -0.5, 0, ...)."""
    ctype = COVARIANCE_TYPES[name]
    n_components = 2
    covariance_prior = {"full": np.eye(n_features), "tied": np.eye(n_features),
                        "diag": np.ones(n_features), "spherical": 1.0}[name]
    priors = resolve_priors(
        name, n_components, np.zeros(n_features), np.eye(n_features), 10.0,
        weight_concentration_prior_type="dirichlet_distribution",
        weight_concentration_prior=2.0, mean_precision_prior=0.5,
        mean_prior=np.r_[0.5, -0.5, np.zeros(n_features - 2)],
        degrees_of_freedom_prior=n_features + 2.0,
        covariance_prior=covariance_prior,
    )
    rng = np.random.default_rng(seed)
    prior = empty_stats(ctype, n_components, n_features)
    marginal = np.array([
        test_functions(draw_parameters(rng, prior, priors)) for _ in range(n_iter)
    ])
    params = draw_parameters(rng, prior, priors)
    successive = []
    with numba_threads(1):  # a few points: waking threads would cost the most
        for t in range(n_iter):
            params = draw_parameters(rng, sweep(rng, params, t), priors)
            successive.append(test_functions(params))
    successive = np.array(successive)
    for j in range(marginal.shape[1]):
        a, b = marginal[:, j], successive[:, j]
        se = np.sqrt(a.var() / n_iter + b.var() / az.ess(b[None, :]))
        assert abs(a.mean() - b.mean()) < 4 * se, (j, a.mean(), b.mean(), se)


geweke_agrees.__test__ = False


@pytest.mark.parametrize("name", list(COVARIANCE_TYPES))
def test_geweke_getting_it_right(name):
    """``geweke_agrees`` with four points of two features per sweep."""

    def sweep(rng, params, t):
        X = simulate_data(rng, params, 4)
        return ArraySource(X).sampled_pass(params, None, naive.sweep_key(5, 0, t))

    geweke_agrees(name, 2, sweep)


def test_tutorial_model_matches_posterior_given_labels():
    """The tutorial's model on well-separated data: the posterior means and sds of
    the component means agree with the analytic posterior given the true labels."""
    X = three_clusters()
    model = GibbsGaussianMixture(
        n_components=3, covariances_fixed=np.array([np.eye(2)] * 3),
        weight_concentration_prior_type="dirichlet_distribution",
        weight_concentration_prior=1.0, mean_prior=[0.0, 0.0],
        mean_precision_prior=1.0, n_draws=1000, n_burn=50, n_chains=2,
        random_state=1,
    ).fit(X)
    true_means = X.reshape(3, 100, 2).sum(axis=1) / 101.0  # prior N(0, I), n = 100
    order = np.argsort(model.means_[:, 0])
    expected = true_means[[0, 1, 2]]
    expected = expected[np.argsort(expected[:, 0])]
    draws = model.means_draws_[:, :, order].reshape(-1, 3, 2)
    ess = min(az.ess(model.means_draws_[:, :, k, j])
              for k in range(3) for j in range(2))
    np.testing.assert_allclose(draws.mean(axis=0), expected,
                               atol=4 * np.sqrt(1 / 101 / ess))
    np.testing.assert_allclose(draws.std(axis=0), np.sqrt(1 / 101), rtol=0.1)


# ------------------------------------------------------------ the estimator


@pytest.fixture(scope="module")
def fitted():
    return GibbsGaussianMixture(n_components=3, n_draws=60, n_burn=20, n_chains=2,
                                random_state=0).fit(three_clusters())


def test_shapes_predictions_and_arviz(fitted):
    X = three_clusters()
    assert fitted.means_draws_.shape == (2, 60, 3, 2)
    assert fitted.covariances_draws_.shape == (2, 60, 3, 2, 2)
    assert fitted.log_likelihood_draws_.shape == (2, 60)
    assert np.all(np.isfinite(fitted.log_likelihood_draws_))
    np.testing.assert_allclose(fitted.weights_draws_.sum(axis=-1), 1.0)
    # relabelled draws are a permutation of the raw ones
    np.testing.assert_array_equal(
        np.sort(fitted.means_draws_, axis=2), np.sort(fitted.means_draws_raw_, axis=2))
    assert np.mean(fitted.predict(X) == np.repeat(fitted.predict(X[[0, 100, 200]]),
                                                  100)) > 0.95
    np.testing.assert_allclose(fitted.predict_proba(X).sum(axis=1), 1.0)
    assert np.isfinite(fitted.score(X)) and np.isfinite(fitted.bic(X))
    assert fitted.sample(10)[0].shape == (10, 2)
    data = fitted.to_arviz()
    assert dict(data.posterior["means"].sizes) == {
        "chain": 2, "draw": 60, "component": 3, "feature": 2}
    assert "log_likelihood" in data.sample_stats
    table = fitted.summary()
    assert {"mean", "sd", "ess_bulk", "r_hat"} <= set(table.columns)
    assert (table["r_hat"] < 1.1).all()


@pytest.mark.parametrize("name", list(COVARIANCE_TYPES))
def test_every_covariance_type_and_empty_components(name):
    """Twice the components the data need: the empty ones draw from the prior
    and nothing is NaN."""
    model = GibbsGaussianMixture(n_components=6, covariance_type=name, n_draws=30,
                                 n_burn=10, n_chains=1, random_state=0,
                                 weight_concentration_prior=1e-3)
    model.fit(three_clusters(n_per=30))
    for values in (model.weights_draws_, model.means_draws_,
                   model.covariances_draws_, model.log_likelihood_draws_):
        assert np.all(np.isfinite(values))


def test_threads_and_memory_map_give_the_same_draws(tmp_path):
    rng = np.random.default_rng(5)
    X = np.vstack([rng.normal(c, 1.0, size=(15_000, 3)) for c in (-3.0, 0.0, 3.0)])
    path = tmp_path / "X.npy"
    np.save(path, X)
    results = []
    for n_jobs, data in ((1, X), (2, X), (2, np.load(path, mmap_mode="r"))):
        model = GibbsGaussianMixture(n_components=3, n_draws=5, n_burn=2,
                                     n_chains=2, random_state=3, n_jobs=n_jobs)
        model.fit(data)
        results.append((model.means_draws_raw_, model.covariances_draws_raw_,
                        model.weights_draws_raw_, model.log_likelihood_draws_))
    for other in results[1:]:
        for a, b in zip(results[0], other, strict=True):
            np.testing.assert_array_equal(a, b)


def test_streamed_sweeps_equal_the_compiled_chain(tmp_path):
    """A memory map that must be copied segment by segment (Fortran order, two
    threads: two segments) runs its sweeps from Python over the same compiled
    pieces: bitwise the in-memory chain's draws."""
    rng = np.random.default_rng(6)
    X = np.vstack([rng.normal(c, 1.0, size=(15_000, 2)) for c in (-3.0, 0.0, 3.0)])
    path = tmp_path / "X.npy"
    np.save(path, np.asfortranarray(X))
    kwargs = dict(n_components=3, n_draws=4, n_burn=1, thin=2, n_chains=1,
                  random_state=2)
    memory = GibbsGaussianMixture(**kwargs, n_jobs=1).fit(X)
    mapped = np.load(path, mmap_mode="r")
    assert not mapped.flags.c_contiguous
    streamed = GibbsGaussianMixture(**kwargs, n_jobs=2).fit(mapped)
    for name in ("means_draws_raw_", "covariances_draws_raw_", "weights_draws_raw_",
                 "log_likelihood_draws_"):
        np.testing.assert_array_equal(getattr(memory, name), getattr(streamed, name))


def test_chains_side_by_side_equal_one_after_another():
    """Data of one chunk: with two threads the chains run at once, and give
    bitwise the draws they give one after the other."""
    kwargs = dict(n_components=3, n_draws=50, n_burn=10, n_chains=4, random_state=4)
    one = GibbsGaussianMixture(**kwargs, n_jobs=1).fit(three_clusters())
    two = GibbsGaussianMixture(**kwargs, n_jobs=2).fit(three_clusters())
    for name in ("means_draws_raw_", "covariances_draws_raw_", "weights_draws_raw_",
                 "log_likelihood_draws_"):
        np.testing.assert_array_equal(getattr(one, name), getattr(two, name))


def test_verbose_reports_progress(capsys):
    GibbsGaussianMixture(n_components=2, n_draws=15, n_burn=5, n_chains=2,
                         random_state=0, verbose=2, verbose_interval=10,
                         n_jobs=1).fit(three_clusters(n_per=20))
    out = capsys.readouterr().out
    assert "Chain 1 sweep 10/20" in out and "Chain 1 sweep 20/20" in out
    assert out.count("sweeps per second") == 2


def test_integer_weights_are_repeated_rows():
    """A row of weight 2 draws two components, keyed by its row and copy: the
    statistics are those of the repeated rows' draws' distribution, so the
    posterior means agree closely on well-separated data."""
    X = three_clusters(n_per=30)
    weights = np.tile([1.0, 2.0, 0.0], 30)
    repeated = np.repeat(X, weights.astype(int), axis=0)
    kwargs = dict(n_components=3, n_draws=400, n_burn=50, n_chains=1,
                  random_state=0, mean_prior=[4.0, 4.0], covariance_prior=np.eye(2))
    a = GibbsGaussianMixture(**kwargs).fit(X, sample_weight=weights)
    b = GibbsGaussianMixture(**kwargs).fit(repeated)
    order_a, order_b = np.argsort(a.means_[:, 0]), np.argsort(b.means_[:, 0])
    np.testing.assert_allclose(a.means_[order_a], b.means_[order_b], atol=0.15)


def test_dask_matches_in_memory():
    da = pytest.importorskip("dask.array")
    X = three_clusters(n_per=200)
    kwargs = dict(n_components=3, n_draws=5, n_burn=2, n_chains=1, random_state=0,
                  init_params="random_from_data")
    a = GibbsGaussianMixture(**kwargs).fit(X)
    b = GibbsGaussianMixture(**kwargs).fit(da.from_array(X, chunks=(150, 2)))
    np.testing.assert_allclose(a.means_draws_raw_, b.means_draws_raw_, rtol=1e-9)


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize("param, value", [
    ("n_draws", 0), ("n_draws", 1.5), ("thin", 0), ("n_chains", 0),
    ("n_chains", -1), ("n_burn", -1),
])
def test_bad_sampler_settings(param, value):
    with pytest.raises(InvalidParameterError, match=param):
        GibbsGaussianMixture(**{param: value}).fit(three_clusters(n_per=5))


def test_zero_burn_is_allowed():
    GibbsGaussianMixture(n_components=2, n_burn=0, n_draws=2, n_chains=1,
                         random_state=0).fit(three_clusters(n_per=5))


@pytest.mark.parametrize("covariances, message", [
    (np.ones((2, 2)), "should have the shape"),
    (np.array([np.eye(2), -np.eye(2), np.eye(2)]), "positive definite"),
    (np.array([[[1.0, 2.0], [0.0, 1.0]]] * 3), "symmetric"),
    (np.array([np.eye(2)] * 2 + [np.full((2, 2), np.nan)]), "covariances_fixed"),
])
def test_bad_covariances_fixed(covariances, message):
    model = GibbsGaussianMixture(n_components=3, covariances_fixed=covariances)
    with pytest.raises(ValueError, match=message):
        model.fit(three_clusters(n_per=5))


@pytest.mark.parametrize("param, value", [
    ("weight_concentration_prior", -1.0), ("mean_prior", [0.0]),
    ("degrees_of_freedom_prior", 0.5), ("covariance_prior", -np.eye(2)),
])
def test_bad_priors(param, value):
    with pytest.raises(ValueError, match=param.split("_prior")[0]):
        GibbsGaussianMixture(n_components=2, **{param: value}).fit(
            three_clusters(n_per=5))


def test_bad_data():
    X = three_clusters(n_per=5)
    X[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        GibbsGaussianMixture(n_components=2).fit(X)
    with pytest.raises(ValueError, match="n_components"):
        GibbsGaussianMixture(n_components=20).fit(three_clusters(n_per=5))


def test_save_says_it_is_not_available(tmp_path):
    model = GibbsGaussianMixture(n_components=2, n_draws=10, n_burn=2, n_chains=1,
                                 random_state=0).fit(three_clusters(n_per=20))
    with pytest.raises(NotImplementedError, match="to_netcdf"):
        model.save(tmp_path / "model.npz")
    assert not (tmp_path / "model.npz").exists()

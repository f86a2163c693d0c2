"""Missing values (``missing_values="nan"``): exact EM on the observed
coordinates, against the textbook reference in ``naive_missing``; predictions,
imputation, validation and every way of feeding data."""

import warnings

import numpy as np
import pytest
from naive_missing import (
    em_step,
    impute,
    log_marginal,
    variational_elbo,
    variational_estep,
)
from naive_variational import naive_dropped_constant, naive_update
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import logsumexp
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture as SklearnGaussianMixture
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError

from fastgmm import BayesianGaussianMixture, GaussianMixture, GaussianMixtureImputer

TYPES = ("full", "tied", "diag", "spherical")


def mixture_data(n=240, seed=0, missing=0.25):
    """Three 4-D clusters with ``missing`` of the values removed at random, and
    patterns that leave a single observed feature (each feature once)."""
    rng = np.random.default_rng(seed)
    centers = np.array([[0, 0, 0, 0], [4, 4, 0, 1], [0, 5, 5, -2.0]])
    mix = np.linalg.cholesky(np.array([[1, .5, .2, 0], [.5, 1, .3, .1],
                                       [.2, .3, 1, .4], [0, .1, .4, 1]]))
    labels = rng.integers(3, size=n)
    X = centers[labels] + rng.standard_normal((n, 4)) @ mix.T
    holes = X.copy()
    holes[rng.random(X.shape) < missing] = np.nan
    for a in range(4):  # single observed features
        holes[a] = np.nan
        holes[a, a] = X[a, a]
    empty = np.isnan(holes).all(axis=1)
    holes[empty, 0] = X[empty, 0]
    return X, holes


def start_values(covariance_type, d=4):
    """A fixed starting point: weights, means, precisions (the type's layout)."""
    weights = np.array([0.3, 0.3, 0.4])
    means = np.array([[0.5, 0, 0, 0], [3, 3, 0, 1], [0, 4, 4, -1.0]])
    full = np.array([np.eye(d) * s + 0.2 for s in (1.0, 1.5, 0.8)])
    if covariance_type == "full":
        return weights, means, full, np.linalg.inv(full)
    if covariance_type == "tied":
        return weights, means, full[0], np.linalg.inv(full[0])
    if covariance_type == "diag":
        cov = np.array([[1.0, 1.2, 0.8, 1.1], [1.5, 1, 1, 2], [0.7, 0.9, 1.3, 1]])
        return weights, means, cov, 1.0 / cov
    cov = np.array([1.0, 1.5, 0.8])
    return weights, means, cov, 1.0 / cov


def fitted(covariance_type, X, max_iter=20, sample_weight=None, **kw):
    weights, means, _, precisions = start_values(covariance_type)
    model = GaussianMixture(
        3, covariance_type=covariance_type, max_iter=max_iter, tol=0.0,
        weights_init=weights, means_init=means, precisions_init=precisions,
        missing_values="nan", **kw,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, sample_weight=sample_weight)


@pytest.mark.parametrize("covariance_type", TYPES)
@pytest.mark.parametrize("weighted", [False, True])
def test_agrees_with_textbook_reference(covariance_type, weighted):
    """20 iterations from the same start: rtol 1e-8 on every parameter and on
    the log-likelihood of the last E-step."""
    _, X = mixture_data()
    sample_weight = None
    if weighted:
        sample_weight = np.random.default_rng(1).uniform(0.2, 3.0, len(X))
    model = fitted(covariance_type, X, sample_weight=sample_weight)
    weights, means, cov, _ = start_values(covariance_type)
    for _ in range(20):
        weights, means, cov, loglik = em_step(X, weights, means, cov, covariance_type,
                                              sample_weight=sample_weight)
    assert_allclose(model.weights_, weights, rtol=1e-8)
    assert_allclose(model.means_, means, rtol=1e-8, atol=1e-12)
    assert_allclose(model.covariances_, cov, rtol=1e-8, atol=1e-12)
    assert_allclose(model.lower_bound_, loglik, rtol=1e-10)



def random_start(covariance_type, n_components, n_features, rng):
    """Equal weights, random means, covariances of the type (and precisions)."""
    weights = np.full(n_components, 1.0 / n_components)
    means = rng.normal(0, 3, (n_components, n_features))
    mixing = rng.normal(0, 0.4, (n_components, n_features, n_features))
    full = mixing @ mixing.transpose(0, 2, 1) + np.eye(n_features)
    if covariance_type == "full":
        cov = full
    elif covariance_type == "tied":
        cov = full[0]
    elif covariance_type == "diag":
        cov = np.diagonal(full, axis1=1, axis2=2).copy()
    else:
        cov = np.diagonal(full, axis1=1, axis2=2).mean(axis=1)
    precisions = np.linalg.inv(cov) if covariance_type in ("full", "tied") else 1 / cov
    return weights, means, cov, precisions


@pytest.mark.parametrize("covariance_type", TYPES)
@pytest.mark.parametrize(("n_features", "n_components"), [(7, 3), (3, 5)])
def test_other_shapes_agree_with_reference(covariance_type, n_features,
                                           n_components):
    """D not a multiple of the kernels' tile of four, K larger than D, rows with
    one to D - 1 missing values: 5 iterations, then the predictions, against the
    reference (rtol 1e-8)."""
    rng = np.random.default_rng(7)
    weights, means, cov, precisions = random_start(covariance_type, n_components,
                                                   n_features, rng)
    X = means[rng.integers(n_components, size=150)] + rng.standard_normal(
        (150, n_features))
    X[rng.random(X.shape) < 0.3] = np.nan
    X[: n_features, :] = np.nan  # rows with a single observed feature
    X[np.arange(n_features), np.arange(n_features)] = 1.0
    X[np.isnan(X).all(axis=1), 0] = 0.5
    model = GaussianMixture(
        n_components, covariance_type=covariance_type, max_iter=5, tol=0.0,
        weights_init=weights, means_init=means, precisions_init=precisions,
        missing_values="nan",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X)
    for _ in range(5):
        weights, means, cov, loglik = em_step(X, weights, means, cov, covariance_type)
    assert_allclose(model.weights_, weights, rtol=1e-8)
    assert_allclose(model.means_, means, rtol=1e-8, atol=1e-12)
    assert_allclose(model.covariances_, cov, rtol=1e-8, atol=1e-12)
    assert_allclose(model.lower_bound_, loglik, rtol=1e-10)
    args = (model.weights_, model.means_, model.covariances_, covariance_type)
    assert_allclose(model.score_samples(X), log_marginal(X, *args), rtol=1e-10)
    assert_allclose(model.impute(X), impute(X, *args), rtol=1e-9, atol=1e-12)

def test_tight_components_far_from_the_origin_agree_with_reference():
    """Full: two components 1e4 apart and 1e4 from the origin, widths about
    1e-2, 20% of the values missing (rows with one to four missing values of
    five). The missing values are solved around a point near the data (g from
    the row minus that point), which must not cost accuracy: 5 iterations
    agree with the reference to 1e-8 of each width (means) and of each
    covariance's scale."""
    rng = np.random.default_rng(3)
    d = 5
    centers = np.array([[1e4] * d, [2e4] * d]) + rng.normal(0, 1, (2, d))
    mixing = rng.normal(0, 1e-2, (2, d, d))
    cov = mixing @ mixing.transpose(0, 2, 1) + 1e-4 * np.eye(d)
    labels = rng.integers(2, size=400)
    X = centers[labels] + np.einsum("nab,nb->na", np.linalg.cholesky(cov)[labels],
                                    rng.standard_normal((400, d)))
    X[rng.random(X.shape) < 0.2] = np.nan
    empty = np.isnan(X).all(axis=1)
    X[empty, 0] = centers[labels[empty], 0]
    assert (np.isnan(X).sum(axis=1) >= 3).sum() > 10
    weights, means, covariances = np.array([0.5, 0.5]), centers + 1e-3, cov * 1.5
    model = GaussianMixture(
        2, covariance_type="full", max_iter=5, tol=0.0, reg_covar=0.0,
        weights_init=weights, means_init=means,
        precisions_init=np.linalg.inv(covariances), missing_values="nan",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X)
    for _ in range(5):
        weights, means, covariances, loglik = em_step(X, weights, means, covariances,
                                                      "full", reg_covar=0.0)
    sd = np.sqrt(np.einsum("kaa->ka", covariances))
    assert np.all(np.abs(model.means_ - means) <= 1e-8 * sd)
    scale = sd[:, :, None] * sd[:, None, :]
    assert np.all(np.abs(model.covariances_ - covariances) <= 1e-8 * scale)
    assert_allclose(model.lower_bound_, loglik, rtol=1e-10)


@pytest.mark.parametrize("covariance_type", TYPES)
def test_score_samples_is_the_log_marginal_density(covariance_type):
    _, X = mixture_data(n=60)
    model = fitted(covariance_type, X, max_iter=3)
    expected = log_marginal(X, model.weights_, model.means_, model.covariances_,
                            covariance_type)
    assert np.isnan(X).any(axis=1).sum() > 20
    assert_allclose(model.score_samples(X), expected, rtol=1e-10)
    assert_allclose(model.score(X), expected.mean(), rtol=1e-10)
    resp = model.predict_proba(X)
    assert_allclose(resp.sum(axis=1), 1.0)
    assert_array_equal(model.predict(X), resp.argmax(axis=1))
    n_parameters = model._n_parameters()
    assert_allclose(model.bic(X), -2 * expected.sum() + n_parameters * np.log(len(X)))
    assert_allclose(model.aic(X), -2 * expected.sum() + 2 * n_parameters)


@pytest.mark.parametrize("covariance_type", TYPES)
def test_impute_is_the_conditional_expectation(covariance_type):
    _, X = mixture_data(n=60)
    before = X.copy()
    model = fitted(covariance_type, X, max_iter=3)
    expected = impute(X, model.weights_, model.means_, model.covariances_,
                      covariance_type)
    filled = model.impute(X)
    assert_array_equal(X, before)  # never modified
    assert not np.isnan(filled).any()
    observed = ~np.isnan(X)
    assert_array_equal(filled[observed], X[observed])
    assert_allclose(filled, expected, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("covariance_type", TYPES)
def test_observed_log_likelihood_never_decreases(covariance_type):
    _, X = mixture_data(n=400, seed=3, missing=0.3)
    model = GaussianMixture(3, covariance_type=covariance_type, max_iter=60,
                            tol=0.0, random_state=0, missing_values="nan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X)
    bounds = np.array(model.lower_bounds_)
    assert np.all(np.diff(bounds) >= -1e-10 * np.abs(bounds[1:]))


@pytest.mark.parametrize("covariance_type", TYPES)
def test_without_nan_bitwise_the_ordinary_fit(covariance_type):
    X, _ = mixture_data(n=300)
    plain = GaussianMixture(3, covariance_type=covariance_type, random_state=0).fit(X)
    model = GaussianMixture(3, covariance_type=covariance_type, random_state=0,
                            missing_values="nan").fit(X)
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_"):
        assert_array_equal(getattr(model, name), getattr(plain, name))
    assert model.lower_bounds_ == plain.lower_bounds_
    assert_array_equal(model.score_samples(X), plain.score_samples(X))
    assert_array_equal(model.impute(X), X)


@pytest.mark.parametrize("covariance_type, init_params", [
    ("full", "kmeans"), ("tied", "random_from_data"), ("tied", "k-means++"),
    ("diag", "random"),
])
def test_threads_and_memory_map_bitwise(tmp_path, covariance_type, init_params):
    """Several chunks: the same bits for any thread count and from a memory map
    (the initialisation's filled rows too, whatever their segments)."""
    rng = np.random.default_rng(5)
    X = rng.standard_normal((9000, 5)) + rng.integers(3, size=(9000, 1)) * 3.0
    X[rng.random(X.shape) < 0.1] = np.nan
    X[np.isnan(X).all(axis=1), 0] = 0.0
    path = tmp_path / "x.npy"
    np.save(path, X)
    kw = dict(covariance_type=covariance_type, init_params=init_params,
              random_state=0, max_iter=5, missing_values="nan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        one = GaussianMixture(3, n_jobs=1, **kw).fit(X)
        two = GaussianMixture(3, n_jobs=2, **kw).fit(X)
        mapped = GaussianMixture(3, n_jobs=2, **kw).fit(np.load(path, mmap_mode="r"))
    for other in (two, mapped):
        assert_array_equal(other.means_, one.means_)
        assert_array_equal(other.covariances_, one.covariances_)
        assert other.lower_bounds_ == one.lower_bounds_
    assert_array_equal(mapped.impute(np.load(path, mmap_mode="r")), one.impute(X))


def test_fit_holds_no_filled_copy_of_X():
    """The initialisation reads the mean-filled rows segment by segment: the
    fit's NumPy allocations stay far below the size of X (a filled copy of X,
    as an earlier version held, would exceed it)."""
    import tracemalloc

    rng = np.random.default_rng(7)
    X = rng.standard_normal((200_000, 8)) + rng.integers(3, size=(200_000, 1)) * 4.0
    X[rng.random(X.shape) < 0.1] = np.nan
    X[np.isnan(X).all(axis=1), 0] = 0.0
    model = GaussianMixture(3, init_params="random_from_data", max_iter=1, tol=0,
                            random_state=0, missing_values="nan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X[:5000])  # compile outside the measurement
        tracemalloc.start()
        try:
            model.fit(X)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert peak < 0.5 * X.nbytes, (peak, X.nbytes)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("weighted", [False, True])
def test_initial_passes_read_the_fill_in_place(dtype, weighted):
    """The initialisation's passes over the rows with missing values (the
    kernels read each feature's fill in place of a NaN as they load a block)
    give bitwise what the same passes give on a mean-filled copy of X (k-means++'s
    potentials to 1e-14)."""
    from fastgmm._covariance import covariance_type
    from fastgmm._missing import missing_array_source
    from fastgmm._sources import ArraySource

    rng = np.random.default_rng(11)
    X = rng.standard_normal((20_000, 5)) + rng.integers(3, size=(20_000, 1)) * 3.0
    X[rng.random(X.shape) < 0.15] = np.nan
    X[np.isnan(X).all(axis=1), 0] = 0.5
    X = X.astype(dtype)
    before = X.copy()
    w = rng.random(len(X)) * 2 if weighted else None
    filled_view = missing_array_source(X, w, False, "GaussianMixture").initial_source()
    copy = np.where(np.isnan(X), filled_view.fill.astype(dtype), X)
    plain = ArraySource(copy, w)
    assert filled_view.n_chunks > 1
    centers = copy[[3, 900, 15_000]].astype(np.float64)
    indices = np.array([3, 900, 15_000])
    with_nan = np.flatnonzero(np.isnan(X).any(axis=1))[:4]
    assert_array_equal(filled_view.rows(with_nan), plain.rows(with_nan))
    for ctype in map(covariance_type, TYPES):
        for name, args in (("nearest_stats", (centers, ctype)),
                           ("seeded_stats", (centers, indices, ctype)),
                           ("mean_and_covariance", (ctype,))):
            ours = getattr(filled_view, name)(*args)
            theirs = getattr(plain, name)(*args)
            if name == "mean_and_covariance":
                for a, b in zip(ours, theirs, strict=True):
                    assert_array_equal(a, b)
                continue
            for field in ("s0", "s1", "s2", "weight"):
                assert_array_equal(getattr(ours, field), getattr(theirs, field))
        ours = filled_view.random_stats(3, ctype, np.random.RandomState(0), 7000)
        theirs = plain.random_stats(3, ctype, np.random.RandomState(0), 7000)
        assert_array_equal(ours.s2, theirs.s2)
    chosen = centers[:2]
    assert filled_view.kmeans_mass_total(chosen) == plain.kmeans_mass_total(chosen)
    # k-means++'s potentials sum squared distances that the two compilations
    # (with and without the NaN test) may reduce over the features in another
    # order: 1 ulp apart in float32 on an AMD Zen 4, bitwise on the Intel Xeons
    assert_allclose(filled_view.kmeans_potentials(chosen, centers),
                    plain.kmeans_potentials(chosen, centers), rtol=1e-14, atol=0)
    for a, b in zip(filled_view.kmeans_sums(centers), plain.kmeans_sums(centers),
                    strict=True):
        assert_array_equal(a, b)
    assert_array_equal(filled_view.kmeans_farthest(centers, 5),
                       plain.kmeans_farthest(centers, 5))
    assert_array_equal(X, before)  # X itself is never filled


@pytest.mark.parametrize("weighted", [False, True])
def test_scan_moments(monkeypatch, weighted):
    """The validation scan (``scan_blocks``, pieces of ``SCAN_ROWS`` rows merged)
    gives the observed weight, mean and squared deviations of each feature as
    NumPy does, finds NaN, and names the first infinite or empty row."""
    from fastgmm import _missing

    monkeypatch.setattr(_missing, "SCAN_ROWS", 3000)  # several pieces
    rng = np.random.default_rng(3)
    X = rng.normal(5.0, 2.0, (10_001, 4))
    X[rng.random(X.shape) < 0.3] = np.nan
    X[np.isnan(X).all(axis=1), 1] = 7.0
    X[:, 3] += 1e6  # far from 0: the deviations are taken from block means
    w = rng.random(len(X)) * 3 if weighted else None
    scan = _missing.scan_array(X, w, "GaussianMixture")
    mass = (np.ones(len(X)) if w is None else w)[:, None] * ~np.isnan(X)
    values = np.nan_to_num(X)
    mean = (mass * values).sum(axis=0) / mass.sum(axis=0)
    assert scan.has_nan
    assert_allclose(scan.weight, mass.sum(axis=0), rtol=1e-13)
    assert_allclose(scan.mean, mean, rtol=1e-13)
    assert_allclose(scan.m2, (mass * (values - mean) ** 2).sum(axis=0), rtol=1e-10)
    assert not _missing.scan_array(np.nan_to_num(X), w, "GaussianMixture").has_nan
    bad = X.copy()
    bad[[6500, 8000], 2] = -np.inf
    with pytest.raises(ValueError, match=r"infinity.*\(row 6500\)"):
        _missing.scan_array(bad, w, "GaussianMixture")
    bad = X.copy()
    bad[[6200, 6300]] = np.nan
    with pytest.raises(ValueError, match=r"Row 6200 .* 2 such row"):
        _missing.scan_array(bad, w, "GaussianMixture")


def test_dask_matches_memory():
    da = pytest.importorskip("dask.array")
    _, X = mixture_data(n=600, seed=2)
    model = fitted("full", X, max_iter=5)
    lazy = fitted("full", da.from_array(X, chunks=(200, 4)), max_iter=5)
    assert_allclose(lazy.means_, model.means_, rtol=1e-10)
    assert_allclose(lazy.covariances_, model.covariances_, rtol=1e-10)
    Xd = da.from_array(X, chunks=(150, 4))
    assert_allclose(model.score_samples(Xd).compute(), model.score_samples(X),
                    rtol=1e-12)
    assert_allclose(model.impute(Xd).compute(), model.impute(X), rtol=1e-12)
    # the k-means initialisation on the mean-filled chunks
    GaussianMixture(3, missing_values="nan", random_state=0, max_iter=3,
                    tol=1e-1).fit(Xd)


def test_partial_fit_and_float32():
    _, X = mixture_data(n=400)
    model = GaussianMixture(3, missing_values="nan", random_state=0)
    model.partial_fit(X[:200]).partial_fit(X[200:])
    assert model.n_steps_ == 2 and np.isfinite(model.lower_bound_)
    single = GaussianMixture(3, missing_values="nan", random_state=0,
                             covariance_type="diag").fit(X.astype(np.float32))
    assert single.means_.dtype == np.float32
    assert single.impute(X.astype(np.float32)).dtype == np.float32
    assert single.score_samples(X.astype(np.float32)).dtype == np.float32


def test_bad_input():
    X, holes = mixture_data(n=50)
    with pytest.raises(ValueError, match="Input X contains NaN"):
        GaussianMixture(2).fit(holes)
    with pytest.raises(InvalidParameterError, match="missing_values"):
        GaussianMixture(2, missing_values="NaN").fit(X)
    bad = holes.copy()
    bad[3, 1] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        GaussianMixture(2, missing_values="nan").fit(bad)
    bad = holes.copy()
    bad[17] = np.nan
    before = bad.copy()
    with pytest.raises(ValueError, match="Row 17 of X has no observed value"):
        GaussianMixture(2, missing_values="nan").fit(bad)
    assert_array_equal(bad, before)
    bad = X.copy()
    bad[:, 2] = np.nan
    with pytest.raises(ValueError, match=r"Feature \(column\) 2 of X has no observed"):
        GaussianMixture(2, missing_values="nan").fit(bad)
    model = GaussianMixture(2, missing_values="nan", random_state=0).fit(holes)
    with pytest.raises(ValueError, match="Row 1 of X"):
        model.score_samples(np.array([[0.0, 1, 2, 3], [np.nan] * 4]))


def truth_errors(fitted_means, fitted_covs, means, covs):
    """Distances of fitted means and covariances (matched to the nearest true
    means) from the true ones (Frobenius norms over all components)."""
    order = [int(np.argmin(((fitted_means - m) ** 2).sum(axis=1))) for m in means]
    return (np.linalg.norm(fitted_means[order] - means),
            np.linalg.norm(fitted_covs[order] - covs))


def test_closer_to_the_truth_than_filling_or_dropping():
    """Six features, 20% of values missing completely at random (a quarter of
    the rows complete): the fitted means and covariances are closer to the truth
    than scikit-learn's after mean filling and after dropping incomplete rows, by
    a margin of 20% (seen: about half the error of dropping, a tenth of filling's).
    """
    d = 6
    truth = np.random.default_rng(100)
    means = truth.normal(0, 3, (3, d))
    mixing = truth.normal(0, 1, (3, d, d))
    covs = mixing @ mixing.transpose(0, 2, 1) / d + 0.5 * np.eye(d)
    rng = np.random.default_rng(0)
    labels = rng.integers(3, size=2000)
    X = means[labels] + np.einsum("nij,nj->ni", np.linalg.cholesky(covs)[labels],
                                  rng.standard_normal((2000, d)))
    holes = X.copy()
    holes[rng.random(X.shape) < 0.2] = np.nan
    empty = np.isnan(holes).all(axis=1)
    holes[empty, 0] = X[empty, 0]

    ours = GaussianMixture(3, missing_values="nan", random_state=0).fit(holes)
    filled = np.where(np.isnan(holes), np.nanmean(holes, axis=0), holes)
    mean_fill = SklearnGaussianMixture(3, random_state=0).fit(filled)
    dropped = SklearnGaussianMixture(3, random_state=0).fit(
        holes[~np.isnan(holes).any(axis=1)])
    e_ours = truth_errors(ours.means_, ours.covariances_, means, covs)
    e_fill = truth_errors(mean_fill.means_, mean_fill.covariances_, means, covs)
    e_drop = truth_errors(dropped.means_, dropped.covariances_, means, covs)
    for i in range(2):
        assert e_ours[i] < 0.8 * min(e_fill[i], e_drop[i])


def test_imputer_in_a_pipeline():
    X, holes = mixture_data(n=300)
    pipe = make_pipeline(GaussianMixtureImputer(3, random_state=0), StandardScaler())
    out = pipe.fit_transform(holes)
    assert out.shape == X.shape and not np.isnan(out).any()
    imputer = pipe[0]
    assert_array_equal(imputer.transform(holes), imputer.mixture_.impute(holes))
    error = np.abs(imputer.transform(holes) - X)[np.isnan(holes)].mean()
    mean_error = np.abs(np.nanmean(holes, axis=0) - X)[np.isnan(holes)].mean()
    assert error < 0.8 * mean_error


# ------------------------------------------- variational Bayes with missing values


def test_bayesian_default_priors_from_the_observed_values():
    """mean_prior_: the observed means; covariance_prior_: the mean-filled
    rows' covariance with each feature rescaled to its observed variance (then
    scikit-learn's W / (W - 1)), positive definite."""
    _, X = mixture_data(n=200, seed=4)
    model = BayesianGaussianMixture(n_components=3, missing_values="nan",
                                    random_state=0, max_iter=0).fit(X)
    mean = np.nanmean(X, axis=0)
    filled = np.where(np.isnan(X), mean, X)
    n = len(X)
    scale = np.sqrt(n / (~np.isnan(X)).sum(axis=0))
    covariance = (filled - mean).T @ (filled - mean) / (n - 1) * np.outer(scale, scale)
    assert_allclose(model.mean_prior_, mean, rtol=1e-12)
    assert_allclose(model.covariance_prior_, covariance, rtol=1e-10)
    assert_allclose(np.diag(model.covariance_prior_),
                    np.nanvar(X, axis=0) * n / (n - 1), rtol=1e-10)
    assert np.linalg.eigvalsh(model.covariance_prior_).min() > 0


def bayesian_reference(prior_type, weighted, n_iter=20):
    """fastgmm and the reference of ``naive_missing`` (Bishop's VB with the
    missing values latent), ``n_iter`` iterations of 'full' VB from
    init_params='random''s responsibilities on the mean-filled rows, given
    priors, reg_covar = 0."""
    _, X = mixture_data(n=120, seed=6)
    n = len(X)
    weights = np.random.RandomState(8).uniform(0.2, 3.0, n) if weighted else None
    priors = dict(alpha0=0.5, beta0=0.8, m0=np.array([1.0, 2, 1, 0]),
                  covariance_prior=np.eye(4) * 2.0 + 0.3, nu0=5.0)
    resp = np.random.RandomState(3).uniform(size=(n, 3))
    resp /= resp.sum(axis=1)[:, None]
    w = np.ones(n) if weights is None else weights
    observed = ~np.isnan(X)
    fill = (w[:, None] * np.where(observed, X, 0)).sum(axis=0) / (w @ observed)
    post = naive_update(np.where(observed, X, fill), resp, weights, prior_type,
                        **priors)
    bounds = []
    for _ in range(n_iter):
        log_rho, completed, conds = variational_estep(X, post, prior_type)
        resp = np.exp(log_rho - logsumexp(log_rho, axis=1)[:, None])
        post = naive_update(completed, resp, weights, prior_type, **priors,
                            conditional=conds)
        bounds.append(variational_elbo(X, resp, weights, post, completed, conds,
                                       prior_type, **priors))
    constant = naive_dropped_constant(prior_type, 3, w.sum(), priors["alpha0"],
                                      priors["beta0"], priors["covariance_prior"],
                                      priors["nu0"])
    model = BayesianGaussianMixture(
        n_components=3, weight_concentration_prior_type=prior_type,
        weight_concentration_prior=priors["alpha0"],
        mean_precision_prior=priors["beta0"], mean_prior=priors["m0"],
        covariance_prior=priors["covariance_prior"],
        degrees_of_freedom_prior=priors["nu0"], init_params="random",
        random_state=3, tol=0.0, max_iter=n_iter, reg_covar=0.0,
        missing_values="nan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, sample_weight=weights)
    return X, model, post, np.array(bounds) - constant


@pytest.mark.parametrize("prior_type", ["dirichlet_process", "dirichlet_distribution"])
@pytest.mark.parametrize("weighted", [False, True])
def test_bayesian_agrees_with_textbook_reference(prior_type, weighted):
    """20 iterations: the posterior and every iteration's bound (Bishop's, less
    the terms of the priors and the total weight only) to rtol 1e-8."""
    X, model, post, bounds = bayesian_reference(prior_type, weighted)
    assert np.isnan(X).any(axis=1).sum() > 40
    assert_allclose(model.means_, post["m"], rtol=1e-8, atol=1e-10)
    assert_allclose(model.covariances_,
                    np.linalg.inv(post["W"]) / post["nu"][:, None, None], rtol=1e-8)
    assert_allclose(model.degrees_of_freedom_, post["nu"], rtol=1e-8)
    assert_allclose(model.mean_precision_, post["beta"], rtol=1e-8)
    assert_allclose(model.lower_bounds_, bounds, rtol=1e-8)
    assert np.all(np.diff(bounds) >= -1e-9 * np.abs(bounds[1:]))


def test_bayesian_predictions_and_impute_match_the_reference():
    """score_samples: log sum_k rho_nk, the expected log-density of the observed
    coordinates; predict_proba and impute: the reference's responsibilities
    and sum_k r_k E_q[x_m | z = k]."""
    X, model, _, _ = bayesian_reference("dirichlet_process", False, n_iter=3)
    state = model._fitted_state()
    post = dict(concentration=state.weight_concentration, beta=state.mean_precision,
                m=state.means, nu=state.degrees_of_freedom,
                W=np.linalg.inv(state.covariances * state.degrees_of_freedom[:, None,
                                                                             None]))
    log_rho, completed, _ = variational_estep(X, post, "dirichlet_process")
    assert_allclose(model.score_samples(X), logsumexp(log_rho, axis=1), rtol=1e-10)
    resp = np.exp(log_rho - logsumexp(log_rho, axis=1)[:, None])
    assert_allclose(model.predict_proba(X), resp, rtol=1e-9, atol=1e-12)
    before = X.copy()
    assert_allclose(model.impute(X), np.einsum("nk,knd->nd", resp, completed),
                    rtol=1e-9, atol=1e-12)
    assert_array_equal(X, before)


@pytest.mark.parametrize("covariance_type", TYPES)
def test_bayesian_bound_never_decreases(covariance_type):
    _, X = mixture_data(n=400, seed=3, missing=0.3)
    model = BayesianGaussianMixture(
        n_components=5, covariance_type=covariance_type, max_iter=60, tol=0.0,
        random_state=0, missing_values="nan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X)
    bounds = np.array(model.lower_bounds_)
    assert np.all(np.isfinite(bounds))
    assert np.all(np.diff(bounds) >= -1e-9 * np.abs(bounds[1:]))
    filled = model.impute(X)
    assert not np.isnan(filled).any()
    assert_array_equal(filled[~np.isnan(X)], X[~np.isnan(X)])


@pytest.mark.parametrize("covariance_type", TYPES)
def test_bayesian_without_nan_bitwise_the_ordinary_fit(covariance_type):
    X, _ = mixture_data(n=300)
    kw = dict(n_components=3, covariance_type=covariance_type, random_state=0)
    plain = BayesianGaussianMixture(**kw).fit(X)
    model = BayesianGaussianMixture(**kw, missing_values="nan").fit(X)
    for name in ("weights_", "means_", "covariances_", "covariance_prior_"):
        assert_array_equal(getattr(model, name), getattr(plain, name))
    assert model.lower_bounds_ == plain.lower_bounds_
    assert_array_equal(model.score_samples(X), plain.score_samples(X))


def test_bayesian_memory_map_dask_and_partial_fit(tmp_path):
    da = pytest.importorskip("dask.array")
    _, X = mixture_data(n=600, seed=2)
    path = tmp_path / "x.npy"
    np.save(path, X)
    kw = dict(n_components=4, random_state=0, max_iter=5, missing_values="nan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = BayesianGaussianMixture(**kw).fit(X)
        mapped = BayesianGaussianMixture(**kw).fit(np.load(path, mmap_mode="r"))
        lazy = BayesianGaussianMixture(**kw).fit(da.from_array(X, chunks=(200, 4)))
    assert_array_equal(mapped.means_, model.means_)
    # seen once to differ in the last bit, when one of the two fits ran code
    # compiled in the process and the other code loaded from Numba's cache
    assert_allclose(mapped.lower_bounds_, model.lower_bounds_, rtol=1e-14)
    assert_allclose(lazy.means_, model.means_, rtol=1e-10)
    assert_allclose(lazy.covariance_prior_, model.covariance_prior_, rtol=1e-12)
    assert_allclose(lazy.lower_bounds_, model.lower_bounds_, rtol=1e-10)
    online = BayesianGaussianMixture(n_components=4, random_state=0,
                                     missing_values="nan")
    online.partial_fit(X[:300]).partial_fit(X[300:])
    assert online.n_steps_ == 2 and np.isfinite(online.lower_bound_)
    assert np.all(np.isfinite(online.means_))


def test_bayesian_bad_input():
    X, holes = mixture_data(n=50)
    with pytest.raises(ValueError, match="Input X contains NaN"):
        BayesianGaussianMixture(n_components=2).fit(holes)
    with pytest.raises(InvalidParameterError, match="missing_values"):
        BayesianGaussianMixture(n_components=2, missing_values="NaN").fit(X)
    bad = holes.copy()
    bad[5] = np.nan
    with pytest.raises(ValueError, match="Row 5 of X has no observed value"):
        BayesianGaussianMixture(n_components=2, missing_values="nan").fit(bad)
    bad = holes.copy()
    bad[2, 0] = -np.inf
    with pytest.raises(ValueError, match="infinity"):
        BayesianGaussianMixture(n_components=2, missing_values="nan").fit(bad)

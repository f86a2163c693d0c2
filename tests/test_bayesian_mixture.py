"""fastgmm.BayesianGaussianMixture as a whole: agreement with scikit-learn's
BayesianGaussianMixture and with the Bishop reference (tests/naive_variational.py)
over whole fits, the lower bound, bad priors, sample weights, memory maps, Dask,
partial_fit, degenerate data, dtypes, threads and the estimator contract.
(tests/test_variational.py tests the update, E-step and bound one step at a time.)

Tolerances, and why
-------------------
rtol 1e-8 in float64 after 20 iterations (set by the issue). From the same
initial responsibilities the three implementations compute the same formulas and
differ only in rounding (fastgmm forms moments around shifted centers, the
reference inverts W_k⁻¹ where the others factor it); on these data they agree to
about 1e-13, so 1e-8 leaves room for rounding that the iterations amplify and
still catches any formula difference. Array attributes are compared on their own
scale (atol = rtol * max|expected|): entries near zero by construction
(off-diagonal covariances, Cholesky factors) carry no relative meaning.

Run ``python tests/test_bayesian_mixture.py`` for the table of agreement figures
(the largest relative difference per covariance type and prior type).
"""

from __future__ import annotations

import copy
import pickle
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from naive_variational import (
    naive_dropped_constant,
    naive_elbo,
    naive_log_rho,
    naive_update,
)
from numpy.testing import assert_allclose, assert_array_equal
from scipy.special import logsumexp
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import BayesianGaussianMixture as SklearnBayesianGaussianMixture
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError

from fastgmm import BayesianGaussianMixture
from fastgmm._base import RANDOM_INIT_ROWS
from fastgmm._recovery import DegenerateComponentWarning

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
PRIOR_TYPES = ("dirichlet_process", "dirichlet_distribution")
N_ITER = 20
RTOL = 1e-8
N_COMPONENTS = 4
ARRAY_ATTRIBUTES = ("weights_", "means_", "covariances_", "precisions_",
                    "precisions_cholesky_", "mean_precision_", "degrees_of_freedom_")
PRIOR_ATTRIBUTES = ("weight_concentration_prior_", "mean_precision_prior_",
                    "mean_prior_", "degrees_of_freedom_prior_", "covariance_prior_")

ignore_convergence = pytest.mark.filterwarnings(
    "ignore::sklearn.exceptions.ConvergenceWarning"
)


def _mixture(seed=0, n=150, n_features=3):
    """Three overlapping clusters, 2.5 n points."""
    rng = np.random.RandomState(seed)
    mixing = np.eye(n_features) + 0.3
    return np.vstack([
        rng.randn(n, n_features) @ mixing,
        rng.randn(n, n_features) * 0.6 + np.r_[4.0, 0.0, 1.0, 2.0][:n_features],
        rng.randn(n // 2, n_features) * 0.5 - 3.0,
    ])


def _relative_difference(actual, expected):
    """max |actual - expected| / max |expected|: the figure the scale-aware
    comparison below bounds."""
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    return float(np.max(np.abs(actual - expected)) / np.max(np.abs(expected)))


def assert_close_on_scale(actual, expected, rtol, name):
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, f"{name}: shape"
    assert_allclose(actual, expected, rtol=rtol, atol=rtol * np.abs(expected).max(),
                    err_msg=name)


def assert_concentration_close(ours, theirs, rtol):
    """weight_concentration_: a (gamma_1, gamma_2) pair for the process, an
    array for the Dirichlet distribution."""
    if isinstance(theirs, tuple):
        assert isinstance(ours, tuple) and len(ours) == 2
        for a, b in zip(ours, theirs, strict=True):
            assert_allclose(a, b, rtol=rtol)
    else:
        assert not isinstance(ours, tuple)
        assert_allclose(ours, theirs, rtol=rtol)


def _both_fits(covariance_type, prior_type, init_params, X, **params):
    params = dict(dict(n_components=N_COMPONENTS, covariance_type=covariance_type,
                       weight_concentration_prior_type=prior_type,
                       init_params=init_params, random_state=1, tol=0.0,
                       max_iter=N_ITER), **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return (BayesianGaussianMixture(**params).fit(X),
                SklearnBayesianGaussianMixture(**params).fit(X))


def agreement_figures(X=None):
    """{(init_params, covariance_type, prior_type): {attribute: max relative
    difference}} of 20-iteration fits, fastgmm against scikit-learn."""
    X = _mixture() if X is None else X
    table = {}
    for init_params in ("random", "random_from_data"):
        for covariance_type in COVARIANCE_TYPES:
            for prior_type in PRIOR_TYPES:
                ours, theirs = _both_fits(covariance_type, prior_type, init_params, X)
                row = {name: _relative_difference(getattr(ours, name),
                                                  getattr(theirs, name))
                       for name in ("lower_bound_", *ARRAY_ATTRIBUTES)}
                row["predict_proba"] = float(np.max(np.abs(
                    ours.predict_proba(X) - theirs.predict_proba(X))))
                row["score_samples"] = _relative_difference(
                    ours.score_samples(X), theirs.score_samples(X))
                table[init_params, covariance_type, prior_type] = row
    return table


# --------------------------------------------------------------------------
# 1. Against scikit-learn, 20 iterations from the same start
# --------------------------------------------------------------------------


def _sklearn_agreement_cases():
    # tied + random_from_data includes scikit-learn's tied start from one-hot
    # seeds, which counts every row (see _passes._with_unassigned_scatter)
    for init_params in ("random", "random_from_data"):
        for covariance_type in COVARIANCE_TYPES:
            for prior_type in PRIOR_TYPES:
                yield init_params, covariance_type, prior_type


@pytest.mark.parametrize("init_params, covariance_type, prior_type",
                         list(_sklearn_agreement_cases()))
def test_twenty_iterations_match_sklearn(init_params, covariance_type, prior_type):
    X = _mixture()
    ours, theirs = _both_fits(covariance_type, prior_type, init_params, X)
    assert ours.n_iter_ == theirs.n_iter_ == N_ITER
    assert ours.converged_ == theirs.converged_
    assert len(ours.lower_bounds_) == N_ITER
    # scikit-learn's tied bounds are arrays of shape (1,)
    assert_allclose(ours.lower_bounds_, np.ravel(theirs.lower_bounds_), rtol=RTOL)
    assert_allclose(ours.lower_bound_, np.ravel(theirs.lower_bound_), rtol=RTOL)
    assert isinstance(ours.lower_bound_, float)
    for name in ARRAY_ATTRIBUTES:
        ours_value, theirs_value = getattr(ours, name), getattr(theirs, name)
        assert np.shape(ours_value) == np.shape(theirs_value), name
        assert_close_on_scale(ours_value, theirs_value, RTOL, name)
    assert_concentration_close(ours.weight_concentration_,
                               theirs.weight_concentration_, RTOL)
    for name in PRIOR_ATTRIBUTES:
        assert np.shape(getattr(ours, name)) == np.shape(getattr(theirs, name)), name
        assert_allclose(getattr(ours, name), getattr(theirs, name), rtol=1e-12,
                        err_msg=name)

    # predictions of the fitted models, on the data and on far-away points
    tails = np.random.default_rng(2).normal(scale=10.0, size=(100, 3))
    X_eval = np.vstack([X, tails])
    assert_allclose(ours.score_samples(X_eval), theirs.score_samples(X_eval),
                    rtol=RTOL, atol=RTOL)
    assert_allclose(ours.predict_proba(X_eval), theirs.predict_proba(X_eval),
                    atol=RTOL)
    assert_array_equal(ours.predict(X_eval), theirs.predict(X_eval))
    assert_allclose(ours.score(X), theirs.score(X), rtol=RTOL)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_convergence_matches_sklearn_with_default_tol(covariance_type):
    """Default tol (1e-3) and max_iter: the same iteration count and verdict."""
    X = _mixture(seed=3)
    for prior_type in PRIOR_TYPES:
        params = dict(n_components=3, covariance_type=covariance_type,
                      weight_concentration_prior_type=prior_type,
                      init_params="random", random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            ours = BayesianGaussianMixture(**params).fit(X)
            theirs = SklearnBayesianGaussianMixture(**params).fit(X)
        assert ours.n_iter_ == theirs.n_iter_
        assert ours.converged_ == theirs.converged_
        assert_allclose(ours.lower_bound_, np.ravel(theirs.lower_bound_), rtol=RTOL)


def test_random_init_draws_sklearns_responsibilities():
    """init_params='random' draws uniform(size=(n, K)) from random_state in
    windows of RANDOM_INIT_ROWS rows: for data smaller than one window this is
    scikit-learn's single draw (what the reference runs below rely on)."""
    X = _mixture()
    assert X.shape[0] < RANDOM_INIT_ROWS
    ours, theirs = _both_fits("full", "dirichlet_process", "random", X, max_iter=0)
    assert_close_on_scale(ours.means_, theirs.means_, 1e-12, "means_")
    assert_close_on_scale(ours.covariances_, theirs.covariances_, 1e-12,
                          "covariances_")


@pytest.mark.parametrize("prior_type", PRIOR_TYPES)
def test_initial_covariances_of_each_type_are_the_full_ones_reduced(prior_type):
    """scikit-learn's test_compare_covar_type, through fit(max_iter=0) instead of
    its private _initialize_parameters (which tests/test_sklearn_suite.py lists
    as a deviation): from the same initial responsibilities, W_k⁻¹ (covariances_
    times degrees_of_freedom_) of 'tied' is the mean of the 'full' ones, 'diag'
    their diagonals and 'spherical' the mean of those."""
    X = _mixture(seed=25) * 7.0
    scatter = {}
    for covariance_type in COVARIANCE_TYPES:
        est = BayesianGaussianMixture(
            n_components=2 * N_COMPONENTS, covariance_type=covariance_type,
            weight_concentration_prior_type=prior_type, init_params="random",
            random_state=0, max_iter=0,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est.fit(X)
        dof = est.degrees_of_freedom_
        scatter[covariance_type] = est.covariances_ * (
            dof if covariance_type in ("tied", "spherical")
            else dof.reshape((-1,) + (1,) * (est.covariances_.ndim - 1))
        )
    full = scatter["full"]
    assert_allclose(scatter["tied"], full.mean(axis=0), rtol=1e-12)
    diagonals = np.array([np.diag(c) for c in full])
    assert_allclose(scatter["diag"], diagonals, rtol=1e-12)
    assert_allclose(scatter["spherical"], diagonals.mean(axis=1), rtol=1e-12)


# --------------------------------------------------------------------------
# 2. Against the Bishop reference, 20 iterations of its own loop
# --------------------------------------------------------------------------


def _default_priors(X, weights, n_components):
    """scikit-learn's documented defaults, computed here from their definitions:
    alpha_0 = 1/K, beta_0 = 1, m_0 = the (weighted) mean, nu_0 = D, covariance
    prior = the (weighted) covariance with W - 1 as denominator."""
    w = np.ones(X.shape[0]) if weights is None else weights
    total = w.sum()
    mean = w @ X / total
    d = X - mean
    covariance = (w * d.T) @ d / (total - 1.0)
    return dict(alpha0=1.0 / n_components, beta0=1.0, m0=mean,
                covariance_prior=covariance, nu0=float(X.shape[1]))


def _reference_fit(X, weights, resp, prior_type, priors, n_iter):
    """The reference's own VB loop: update from ``resp``, then ``n_iter`` times
    E-step (log rho, normalised), update, Bishop's bound."""
    post = naive_update(X, resp, weights, prior_type, **priors)
    bounds = []
    for _ in range(n_iter):
        log_rho = naive_log_rho(X, post, prior_type)
        resp = np.exp(log_rho - logsumexp(log_rho, axis=1)[:, None])
        post = naive_update(X, resp, weights, prior_type, **priors)
        bounds.append(naive_elbo(X, resp, weights, post, prior_type, **priors))
    return post, np.array(bounds)


def _reference_weights(concentration, prior_type):
    """E[pi_k] from the reference's posterior: alpha_k / sum alpha, or for the
    process E[v_k] prod_{j<k} (1 - E[v_j]) renormalised over the truncation."""
    if prior_type == "dirichlet_distribution":
        return concentration / concentration.sum()
    gamma1, gamma2 = concentration
    stick = gamma1 / (gamma1 + gamma2)
    weights = stick * np.r_[1.0, np.cumprod(1.0 - stick)[:-1]]
    return weights / weights.sum()


def reference_comparison(prior_type, weighted):
    """fastgmm and the reference, 20 iterations of 'full' VB from init_params=
    'random''s responsibilities, reg_covar = 0 (the regularisation is not part of
    Bishop's model, and the bound differs from his by the documented constant
    only then). Returns the fitted estimator, the reference's values under the
    estimator's attribute names (its bounds less the constant) and its priors."""
    X = _mixture(seed=5, n=60)
    n_samples = X.shape[0]
    weights = None
    if weighted:
        weights = np.random.RandomState(6).uniform(0.2, 3.0, size=n_samples)
    seed = 7
    # init_params='random': one uniform draw of (n, K), rows normalised
    resp = np.random.RandomState(seed).uniform(size=(n_samples, N_COMPONENTS))
    resp /= resp.sum(axis=1)[:, None]
    priors = _default_priors(X, weights, N_COMPONENTS)
    post, elbos = _reference_fit(X, weights, resp, prior_type, priors, N_ITER)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = BayesianGaussianMixture(
            n_components=N_COMPONENTS, weight_concentration_prior_type=prior_type,
            init_params="random", random_state=seed, tol=0.0, max_iter=N_ITER,
            reg_covar=0.0,
        ).fit(X, sample_weight=weights)
    total_weight = n_samples if weights is None else weights.sum()
    constant = naive_dropped_constant(
        prior_type, N_COMPONENTS, total_weight, priors["alpha0"], priors["beta0"],
        priors["covariance_prior"], priors["nu0"])
    expected = {
        "lower_bounds_": elbos - constant,
        "weights_": _reference_weights(post["concentration"], prior_type),
        "means_": post["m"],
        "covariances_": np.stack([np.linalg.inv(W) / nu for W, nu
                                  in zip(post["W"], post["nu"], strict=True)]),
        "precisions_": post["W"] * post["nu"][:, None, None],
        "mean_precision_": post["beta"],
        "degrees_of_freedom_": post["nu"],
        "weight_concentration_": post["concentration"],
    }
    return ours, expected, priors


@pytest.mark.parametrize("prior_type", PRIOR_TYPES)
@pytest.mark.parametrize("weighted", [False, True])
def test_twenty_iterations_match_bishop_reference(prior_type, weighted):
    ours, expected, priors = reference_comparison(prior_type, weighted)
    assert_allclose(ours.mean_prior_, priors["m0"], rtol=1e-12)
    assert_allclose(ours.covariance_prior_, priors["covariance_prior"], rtol=1e-12)
    assert ours.degrees_of_freedom_prior_ == priors["nu0"]
    assert ours.weight_concentration_prior_ == priors["alpha0"]
    assert ours.mean_precision_prior_ == priors["beta0"]

    assert_allclose(ours.lower_bounds_, expected.pop("lower_bounds_"), rtol=RTOL)
    assert_concentration_close(ours.weight_concentration_,
                               expected.pop("weight_concentration_"), RTOL)
    for name, value in expected.items():
        assert_close_on_scale(getattr(ours, name), value, RTOL, name)


# --------------------------------------------------------------------------
# 3. The lower bound never decreases
# --------------------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(
    n_features=st.integers(1, 4),
    n_components=st.integers(1, 5),
    points_per_cluster=st.integers(8, 60),
    covariance_type=st.sampled_from(COVARIANCE_TYPES),
    prior_type=st.sampled_from(PRIOR_TYPES),
    init_params=st.sampled_from(["kmeans", "k-means++", "random", "random_from_data"]),
    concentration=st.sampled_from([None, 1e-3, 10.0]),
    seed=st.integers(0, 2**31 - 1),
)
def test_lower_bound_never_decreases(n_features, n_components, points_per_cluster,
                                     covariance_type, prior_type, init_params,
                                     concentration, seed):
    """Every iteration's bound is at least the previous one, up to 1e-9 of its
    size (rounding of the float64 statistics), for random shapes and settings."""
    rng = np.random.RandomState(seed % 2**32)
    centers = rng.randn(3, n_features) * 4.0
    X = np.vstack([rng.randn(points_per_cluster, n_features) * rng.uniform(0.3, 2.0)
                   + c for c in centers])
    n_components = min(n_components, X.shape[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = BayesianGaussianMixture(
            n_components=n_components, covariance_type=covariance_type,
            weight_concentration_prior_type=prior_type,
            weight_concentration_prior=concentration, init_params=init_params,
            tol=0.0, max_iter=30, random_state=seed,
        ).fit(X)
    bounds = np.asarray(est.lower_bounds_)
    assert bounds.shape == (30,)
    assert np.all(np.isfinite(bounds))
    assert np.all(np.diff(bounds) >= -1e-9 * np.abs(bounds[1:]))


# --------------------------------------------------------------------------
# 4. Bad priors: refused, naming the parameter, before any pass over the data
# --------------------------------------------------------------------------

FULL_PRIOR = np.array([[2.0, 0.3, 0.1], [0.3, 1.0, -0.2], [0.1, -0.2, 0.5]])

BAD_PRIORS = [
    (dict(degrees_of_freedom_prior=2.0), "degrees_of_freedom_prior"),
    (dict(degrees_of_freedom_prior=0.5), "degrees_of_freedom_prior"),
    (dict(mean_prior=[0.0, 1.0]), "mean_prior"),
    (dict(mean_prior=np.zeros((1, 3))), "mean_prior"),
    (dict(mean_prior=[0.0, np.nan, 1.0]), "mean_prior"),
    (dict(covariance_prior=np.eye(2)), "covariance_prior"),
    (dict(covariance_prior=-FULL_PRIOR), "covariance_prior"),
    (dict(covariance_prior=np.triu(FULL_PRIOR)), "covariance_prior"),
    (dict(covariance_prior=np.diag([1.0, 0.0, 1.0])), "covariance_prior"),
    (dict(covariance_type="tied", covariance_prior=np.ones((3, 3))),
     "covariance_prior"),
    (dict(covariance_type="diag", covariance_prior=[1.0, -1.0, 2.0]),
     "covariance_prior"),
    (dict(covariance_type="diag", covariance_prior=[1.0, 0.0, 2.0]),
     "covariance_prior"),
    (dict(covariance_type="diag", covariance_prior=np.eye(3)), "covariance_prior"),
    (dict(covariance_type="spherical", covariance_prior=-1.0), "covariance_prior"),
    (dict(covariance_type="spherical", covariance_prior=0.0), "covariance_prior"),
    (dict(covariance_type="spherical", covariance_prior=[1.0, 1.0, 1.0]),
     "covariance_prior"),
    (dict(weight_concentration_prior=0.0), "weight_concentration_prior"),
    (dict(weight_concentration_prior=-1.0), "weight_concentration_prior"),
    (dict(mean_precision_prior=-0.5), "mean_precision_prior"),
    (dict(weight_concentration_prior_type="dirichlet"),
     "weight_concentration_prior_type"),
]


@pytest.fixture
def nan_at_the_end_memmap(tmp_path):
    """A memory-mapped X whose last row holds a NaN: memory maps are checked for
    finiteness inside the passes, so an error about anything else proves that
    no pass (no kernel) ran before it."""
    X = _mixture(seed=8)
    X[-1, 0] = np.nan
    path = tmp_path / "X.npy"
    np.save(path, X)
    return np.load(path, mmap_mode="r")


@pytest.mark.parametrize("params, name", BAD_PRIORS)
def test_bad_priors_are_refused_before_any_pass(nan_at_the_end_memmap, params, name):
    X = _mixture(seed=8)
    X_before = X.copy()
    for method in ("fit", "fit_predict", "partial_fit"):
        est = BayesianGaussianMixture(n_components=2, **params)
        with pytest.raises(ValueError, match=name):
            getattr(est, method)(X)
        assert not hasattr(est, "means_")
        with pytest.raises(ValueError, match=name) as caught:
            getattr(est, method)(nan_at_the_end_memmap)
        assert "Input X" not in str(caught.value)
    assert_array_equal(X, X_before)
    # scikit-learn refuses the same priors (a drop-in raises where it raises)
    with pytest.raises(ValueError):
        SklearnBayesianGaussianMixture(n_components=2, **params).fit(X)


def test_the_nan_memmap_is_found_by_a_pass(nan_at_the_end_memmap):
    """The control of the test above: with valid priors, the pass finds the NaN."""
    with pytest.raises(ValueError, match="Input X contains NaN"):
        BayesianGaussianMixture(n_components=2).fit(nan_at_the_end_memmap)


def test_parameter_errors_are_sklearns_exceptions():
    X = _mixture()
    for params in (dict(weight_concentration_prior=-1.0),
                   dict(mean_precision_prior=0.0),
                   dict(covariance_type="spherical", covariance_prior=-2.0)):
        with pytest.raises(InvalidParameterError):
            BayesianGaussianMixture(**params).fit(X)


def test_degrees_of_freedom_just_above_n_features_minus_one_is_accepted():
    X = _mixture()
    est = BayesianGaussianMixture(n_components=2, degrees_of_freedom_prior=2.0001,
                                  random_state=0, max_iter=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X)
    assert est.degrees_of_freedom_prior_ == 2.0001


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_valid_user_priors_are_kept_and_inputs_untouched(covariance_type):
    X = np.asfortranarray(_mixture(seed=9))
    X_before = X.copy()
    covariance_prior = {"full": FULL_PRIOR, "tied": FULL_PRIOR,
                        "diag": np.array([2.0, 1.0, 0.5]), "spherical": 0.7}
    priors = dict(weight_concentration_prior=0.05, mean_precision_prior=0.3,
                  mean_prior=np.array([1.0, -0.5, 0.25]),
                  degrees_of_freedom_prior=4.5,
                  covariance_prior=covariance_prior[covariance_type])
    given_priors = copy.deepcopy(priors)
    ours, theirs = _both_fits(covariance_type, "dirichlet_process", "random", X,
                              **priors)
    assert_array_equal(X, X_before)
    for key, value in given_priors.items():
        assert_array_equal(priors[key], value)
        assert_array_equal(getattr(ours, key + "_"), value)
    assert_close_on_scale(ours.means_, theirs.means_, RTOL, "means_")
    assert_close_on_scale(ours.covariances_, theirs.covariances_, RTOL, "covariances_")


# --------------------------------------------------------------------------
# 5. Sample weights
# --------------------------------------------------------------------------

FITTED = ("weights_", "means_", "covariances_", "precisions_cholesky_",
          "mean_precision_", "degrees_of_freedom_")


def _started(X, covariance_type, prior_type="dirichlet_process"):
    """A model fitted for two iterations with warm_start on: deep copies of it
    continue from one identical state on whatever data they are given (the
    priors are made again from those data)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return BayesianGaussianMixture(
            n_components=3, covariance_type=covariance_type,
            weight_concentration_prior_type=prior_type, warm_start=True,
            random_state=0, max_iter=2,
        ).fit(X)


def _continued(model, X, sample_weight=None, max_iter=20):
    model = copy.deepcopy(model).set_params(max_iter=max_iter, tol=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, sample_weight=sample_weight)


def _assert_same_model(a, b, rtol):
    for name in (*FITTED, *PRIOR_ATTRIBUTES):
        assert_close_on_scale(getattr(a, name), getattr(b, name), rtol, name)
    assert_allclose(a.lower_bounds_, b.lower_bounds_, rtol=rtol)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("prior_type", PRIOR_TYPES)
def test_integer_weights_equal_repeated_rows(covariance_type, prior_type):
    """From one state, 20 iterations on weighted rows and on the rows repeated
    as many times as their weight agree (priors, bound and posterior): rtol 1e-8."""
    X = _mixture(seed=10)
    weights = np.random.RandomState(11).randint(0, 4, size=X.shape[0])
    repeated = np.repeat(X, weights, axis=0)
    start = _started(repeated, covariance_type, prior_type)
    weighted = _continued(start, X, weights)
    plain = _continued(start, repeated)
    _assert_same_model(weighted, plain, RTOL)
    assert_allclose(weighted.predict_proba(X), plain.predict_proba(X), atol=RTOL)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_zero_weights_drop_rows(covariance_type):
    X = _mixture(seed=12)
    keep = np.random.RandomState(13).rand(X.shape[0]) < 0.6
    # the dropped rows are far away: any influence (also on the default priors)
    # would show
    X[~keep] += 50.0
    start = _started(X[keep], covariance_type)
    weighted = _continued(start, X, keep.astype(float))
    plain = _continued(start, X[keep])
    _assert_same_model(weighted, plain, RTOL)


def test_random_from_data_never_seeds_zero_weight_rows():
    """(Weighted fits against the reference: test_twenty_iterations_match_bishop_
    reference[True-...].)"""
    X = _mixture(seed=14)
    outliers = np.random.RandomState(15).randn(100, 3) + 1000.0
    X = np.vstack([X, outliers])
    weights = np.r_[np.ones(X.shape[0] - 100), np.zeros(100)]
    for seed in range(4):
        est = BayesianGaussianMixture(n_components=3, init_params="random_from_data",
                                      random_state=seed, max_iter=5)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est.fit(X, sample_weight=weights)
        assert np.abs(est.means_).max() < 100.0
        assert np.abs(est.mean_prior_).max() < 100.0


# --------------------------------------------------------------------------
# 6. Memory maps and Dask
# --------------------------------------------------------------------------


def _large_mixture(seed=0, n=8000):
    """20,000 rows, far from the origin: several chunks of the kernels'
    partition, and shifted statistics matter."""
    return _mixture(seed, n) + 1e3


@pytest.mark.parametrize("covariance_type, init_params",
                         [("full", "kmeans"), ("tied", "random"),
                          ("diag", "random_from_data"), ("spherical", "k-means++")])
def test_memmap_fit_is_bitwise_the_in_memory_fit(tmp_path, monkeypatch,
                                                 covariance_type, init_params):
    import fastgmm._sources as sources

    # blocks of one chunk, so the file is read in many blocks
    monkeypatch.setattr(sources, "STREAM_SEGMENT_BYTES", 1)
    X = _large_mixture()
    # read-only like the map, so both fits run the same compiled kernels (Numba
    # compiles read-only and writable arrays apart; see tests/test_memmap.py)
    X.setflags(write=False)
    path = tmp_path / "X.npy"
    np.save(path, X)
    mapped = np.load(path, mmap_mode="r")
    params = dict(n_components=4, covariance_type=covariance_type,
                  init_params=init_params, random_state=0, max_iter=10,
                  weight_concentration_prior=0.01)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = BayesianGaussianMixture(**params).fit(X)
        b = BayesianGaussianMixture(**params).fit(mapped)
    for name in (*FITTED, *PRIOR_ATTRIBUTES):
        assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert a.lower_bounds_ == b.lower_bounds_
    assert_array_equal(a.predict_proba(X), b.predict_proba(mapped))
    assert_array_equal(a.score_samples(X), a.score_samples(mapped))


@pytest.fixture(scope="module")
def dask_client():
    pytest.importorskip("dask.array")
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1,
                                       processes=True, dashboard_address=None)
    with distributed.Client(cluster) as client:
        yield client
    cluster.close()


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_dask_fit_equals_in_memory_fit(dask_client, covariance_type):
    """From one state (warm start), 20 iterations on a dask array on a real
    cluster and in memory: rtol 1e-10 (the chunks' statistics are summed in
    another order). The priors come from the dask array's own pass."""
    import dask.array as da

    X = _large_mixture(seed=1, n=2000)
    weights = np.random.RandomState(2).randint(0, 3, size=X.shape[0]).astype(float)
    D = da.from_array(X, chunks=(1500, 3)).persist()
    W = da.from_array(weights, chunks=1500)
    start = _started(X, covariance_type)
    a = _continued(start, X, weights)
    b = _continued(start, D, W)
    _assert_same_model(a, b, 1e-10)


def test_dask_predictions_are_lazy(dask_client):
    import dask.array as da

    X = _large_mixture(seed=3, n=2000)
    D = da.from_array(X, chunks=(2500, 3)).persist()
    est = BayesianGaussianMixture(n_components=3, random_state=0).fit(X)
    proba, labels, scores = est.predict_proba(D), est.predict(D), est.score_samples(D)
    for result in (proba, labels, scores):
        assert isinstance(result, da.Array)
    assert proba.chunks == (D.chunks[0], (3,))
    assert_allclose(proba.compute(), est.predict_proba(X), rtol=1e-12, atol=1e-15)
    assert_array_equal(labels.compute(), est.predict(X))
    assert_allclose(scores.compute(), est.score_samples(X), rtol=1e-12)
    fitted_on_dask = BayesianGaussianMixture(n_components=3, random_state=0)
    assert isinstance(fitted_on_dask.fit_predict(D), da.Array)


# --------------------------------------------------------------------------
# 7. partial_fit
# --------------------------------------------------------------------------


def _separated(n, seed):
    """Three well-separated round clusters in 2-D (weights 0.5, 0.3, 0.2)."""
    rng = np.random.RandomState(seed)
    means = np.array([[0.0, 0.0], [8.0, 0.0], [0.0, 8.0]])
    labels = rng.choice(3, size=n, p=[0.5, 0.3, 0.2])
    return rng.randn(n, 2) * 0.7 + means[labels], means


def _in_true_order(est):
    """Weights and means ordered as _separated's means: (0, 0), (8, 0), (0, 8)."""
    order = np.argsort(est.means_[:, 0] + 2.0 * est.means_[:, 1])
    return est.weights_[order], est.means_[order]


def test_streaming_batches_converge_near_the_batch_fit():
    X, true_means = _separated(30_000, 0)
    held_out, _ = _separated(5_000, 1)
    batch = BayesianGaussianMixture(n_components=3, random_state=0, max_iter=300,
                                    tol=1e-6).fit(X)
    online = BayesianGaussianMixture(n_components=3, random_state=0)
    for part in np.array_split(X, 30):
        online.partial_fit(part)
    assert online.n_steps_ == 30
    batch_weights, batch_means = _in_true_order(batch)
    online_weights, online_means = _in_true_order(online)
    # sampling noise of 1,000 to 30,000 points: 0.05 on a mean, 0.01 on a weight
    assert_allclose(online_means, batch_means, atol=0.05)
    assert_allclose(online_weights, batch_weights, atol=0.01)
    assert_allclose(batch_means, true_means, atol=0.05)
    # held-out mean log-likelihood within 0.1% of the batch fit's
    reference = batch.score(held_out)
    assert abs(online.score(held_out) - reference) < 1e-3 * abs(reference)


def test_first_call_fits_its_batch_and_steps_are_counted():
    X, _ = _separated(6000, 2)
    batches = np.split(X, 3)
    params = dict(n_components=3, random_state=0)
    online = BayesianGaussianMixture(**params).partial_fit(batches[0])
    fitted = BayesianGaussianMixture(**params).fit(batches[0])
    assert online.n_steps_ == 1
    for name in (*FITTED, *PRIOR_ATTRIBUTES):
        assert_array_equal(getattr(online, name), getattr(fitted, name), err_msg=name)
    online.partial_fit(batches[1])
    assert online.n_steps_ == 2
    online.partial_fit(batches[2])
    assert online.n_steps_ == 3
    # the priors are those of the first fit
    for name in PRIOR_ATTRIBUTES:
        assert_array_equal(getattr(online, name), getattr(fitted, name), err_msg=name)
    online.fit(X)
    assert not hasattr(online, "n_steps_")
    online.partial_fit(batches[0])
    assert online.n_steps_ == 1


def test_second_step_is_the_reference_update_of_the_mixed_statistics():
    """Step 2 of stochastic VI: running statistics (1 - g) s_1 + g s_2 (per unit
    weight, each batch under the model before its step, g = (2 + t0)^-decay) at
    the weight seen so far, n_1 + n_2. Both batches' rows, weighted accordingly,
    through the reference's update ('full', with reg_covar)."""
    X, _ = _separated(4000, 3)
    first, second = X[:2500], X[2500:]
    est = BayesianGaussianMixture(n_components=3, random_state=0,
                                  learning_decay=0.7, learning_offset=3.0)
    est.partial_fit(first)
    resp_first = est.predict_proba(first)
    prior_args = dict(alpha0=est.weight_concentration_prior_,
                      beta0=est.mean_precision_prior_, m0=est.mean_prior_,
                      covariance_prior=est.covariance_prior_,
                      nu0=est.degrees_of_freedom_prior_, reg_covar=est.reg_covar)
    resp_second = est.predict_proba(second)
    est.partial_fit(second)
    step = (2 + 3.0) ** -0.7
    seen = first.shape[0] + second.shape[0]
    weights = np.r_[np.full(first.shape[0], (1 - step) * seen / first.shape[0]),
                    np.full(second.shape[0], step * seen / second.shape[0])]
    post = naive_update(np.vstack([first, second]), np.vstack([resp_first,
                                                               resp_second]),
                        weights, "dirichlet_process", **prior_args)
    assert_close_on_scale(est.means_, post["m"], 1e-9, "means_")
    covariances = np.stack([np.linalg.inv(W) / nu
                            for W, nu in zip(post["W"], post["nu"], strict=True)])
    assert_close_on_scale(est.covariances_, covariances, 1e-9, "covariances_")
    assert_allclose(est.degrees_of_freedom_, post["nu"], rtol=1e-9)
    assert_concentration_close(est.weight_concentration_, post["concentration"], 1e-9)


# --------------------------------------------------------------------------
# 8. Degenerate data, float32, threads
# --------------------------------------------------------------------------


def _fit_degenerate(X, covariance_type, singular_prior):
    """Fit with the default covariance prior: a DegenerateComponentWarning when
    (and only when) that prior, made of the data, is singular; otherwise the
    Wishart prior keeps every posterior covariance positive definite and no
    repair is needed."""
    est = BayesianGaussianMixture(n_components=2, covariance_type=covariance_type,
                                  random_state=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.fit(X)
    degenerate = [w for w in caught
                  if issubclass(w.category, DegenerateComponentWarning)]
    assert len(degenerate) == int(singular_prior)
    if singular_prior:
        assert "covariance_prior" in str(degenerate[0].message)
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_",
                 "covariance_prior_", "lower_bounds_"):
        assert np.all(np.isfinite(getattr(est, name))), name
    assert np.all(np.isfinite(est.score_samples(X)))
    assert np.all(np.isfinite(est.predict_proba(X)))
    return est


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_constant_feature(covariance_type):
    X = _mixture(seed=16)
    X[:, 1] = 3.0
    # 'spherical' averages the variances: its prior stays positive
    est = _fit_degenerate(X, covariance_type,
                          singular_prior=covariance_type != "spherical")
    assert_allclose(est.means_[:, 1], 3.0, rtol=1e-12)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_fewer_distinct_points_than_features(covariance_type):
    X = np.repeat(np.random.RandomState(17).randn(3, 5), 20, axis=0)
    # every feature varies: only the matrices of 'full' and 'tied' are singular
    _fit_degenerate(X, covariance_type,
                    singular_prior=covariance_type in ("full", "tied"))


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_float32_in_float32_out(covariance_type):
    X = _mixture(seed=18)
    X32 = X.astype(np.float32)
    params = dict(n_components=3, covariance_type=covariance_type,
                  init_params="random", random_state=0, max_iter=10, tol=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est32 = BayesianGaussianMixture(**params).fit(X32)
        est64 = BayesianGaussianMixture(**params).fit(X32.astype(np.float64))
    for name in ("weights_", "means_", "covariances_", "precisions_cholesky_",
                 "mean_prior_"):
        assert getattr(est32, name).dtype == np.float32, name
    scores = est32.score_samples(X32)
    assert scores.dtype == np.float32
    assert est32.predict_proba(X32).dtype == np.float32
    assert isinstance(est32.lower_bound_, np.float32)
    # the statistics are summed in float64: float32 only in what is returned
    assert_close_on_scale(est32.means_, est64.means_, 1e-6, "means_")
    assert_allclose(scores, est64.score_samples(X32), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_one_and_two_threads_give_the_same_bits(covariance_type):
    # enough rows for several chunks, so two threads really split the work
    X = _large_mixture(seed=19, n=16_000)
    digests = []
    for n_jobs in (1, 2):
        est = BayesianGaussianMixture(n_components=4, covariance_type=covariance_type,
                                      random_state=0, max_iter=8, tol=0.0,
                                      n_jobs=n_jobs)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est.fit(X)
        digests.append([np.asarray(a).tobytes() for a in (
            *(getattr(est, name) for name in FITTED), est.lower_bounds_,
            est.predict_proba(X[:500]), est.score_samples(X[:500]))])
    assert digests[0] == digests[1]


# --------------------------------------------------------------------------
# 9. The estimator contract
# --------------------------------------------------------------------------


def test_clone_pipeline_and_pickle():
    X = _mixture(seed=20)
    est = BayesianGaussianMixture(n_components=3, covariance_type="diag",
                                  weight_concentration_prior=0.1, random_state=0)
    unfitted = clone(est)
    assert unfitted.get_params() == est.get_params()
    assert not hasattr(unfitted, "means_")
    est.fit(X)
    assert not hasattr(clone(est), "means_")

    restored = pickle.loads(pickle.dumps(est))
    for name in (*FITTED, *PRIOR_ATTRIBUTES, "lower_bounds_", "n_iter_"):
        assert_array_equal(getattr(restored, name), getattr(est, name), err_msg=name)
    assert_array_equal(restored.predict_proba(X), est.predict_proba(X))
    assert_array_equal(restored.score_samples(X), est.score_samples(X))

    pipeline = make_pipeline(StandardScaler(), clone(est)).fit(X)
    scaled = StandardScaler().fit_transform(X)
    direct = clone(est).fit(scaled)
    assert_array_equal(pipeline.predict(X), direct.predict(scaled))
    assert_allclose(pipeline.score(X), direct.score(scaled), rtol=1e-12)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_fit_predict_equals_fit_then_predict(covariance_type):
    X = _mixture(seed=21)
    params = dict(n_components=3, covariance_type=covariance_type, random_state=0,
                  max_iter=3, tol=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        labels = BayesianGaussianMixture(**params).fit_predict(X)
        est = BayesianGaussianMixture(**params).fit(X)
    assert_array_equal(labels, est.predict(X))


def test_convergence_warning_when_max_iter_is_too_small():
    X = _mixture(seed=22)
    est = BayesianGaussianMixture(n_components=3, max_iter=2, random_state=0)
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        est.fit(X)
    assert not est.converged_
    assert est.n_iter_ == 2


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_warm_start_continues_where_it_stopped(covariance_type):
    """5 + 5 iterations with warm_start are the 10-iteration fit, bit for bit."""
    X = _mixture(seed=23)
    params = dict(n_components=3, covariance_type=covariance_type, tol=0.0,
                  random_state=0, init_params="random")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        whole = BayesianGaussianMixture(max_iter=10, **params).fit(X)
        warm = BayesianGaussianMixture(max_iter=5, warm_start=True, **params).fit(X)
        first_half = list(warm.lower_bounds_)
        warm.fit(X)
    assert warm.n_iter_ == 5
    assert first_half + list(warm.lower_bounds_) == list(whole.lower_bounds_)
    for name in FITTED:
        assert_array_equal(getattr(warm, name), getattr(whole, name), err_msg=name)


def test_sample_draws_from_the_fitted_mixture():
    X = _mixture(seed=24)
    est = BayesianGaussianMixture(n_components=3, random_state=0).fit(X)
    samples, labels = est.sample(20_000)
    assert samples.shape == (20_000, 3)
    counts = np.bincount(labels, minlength=3) / 20_000
    # binomial noise of 20,000 draws: 4 standard deviations < 0.015
    assert_allclose(counts, est.weights_, atol=0.015)


if __name__ == "__main__":
    # the agreement figures for the closing note
    figures = agreement_figures()
    names = ("lower_bound_", "weights_", "means_", "covariances_",
             "precisions_cholesky_", "predict_proba", "score_samples")
    print("max relative difference, fastgmm vs scikit-learn, 20 iterations, "
          "float64 (predict_proba: absolute)")
    print(f"{'init':17s}{'covariance':11s}{'prior':24s}"
          + "".join(f"{n.rstrip('_')[:13]:>14s}" for n in names))
    for (init_params, covariance_type, prior_type), row in figures.items():
        print(f"{init_params:17s}{covariance_type:11s}{prior_type:24s}"
              + "".join(f"{row[n]:14.1e}" for n in names))
    print("\nmax relative difference, fastgmm vs the Bishop reference "
          "(tests/naive_variational.py), 'full', 20 iterations, reg_covar=0")
    names = ("lower_bounds_", "weights_", "means_", "covariances_", "precisions_")
    print(f"{'prior':24s}{'weights':9s}"
          + "".join(f"{n.rstrip('_')[:13]:>14s}" for n in names))
    for prior_type in PRIOR_TYPES:
        for weighted in (False, True):
            ours, expected, _ = reference_comparison(prior_type, weighted)
            row = [_relative_difference(getattr(ours, n), expected[n]) for n in names]
            print(f"{prior_type:24s}{'yes' if weighted else 'no':9s}"
                  + "".join(f"{value:14.1e}" for value in row))

"""fastgmm against the naive reference EM (tests/naive.py) and scikit-learn.

Tolerances, and why
-------------------
float64, rtol 1e-8 (set by the issue). The three implementations differ only in
summation order and in how the statistics are formed; on these data the
reference and scikit-learn agree to ~1e-13 after 20 iterations, so 1e-8 leaves
five orders of magnitude for rounding that EM amplifies, and still catches any
real formula difference (a missing reg_covar, N vs N - 1, a wrong pooling).

float32, rtol 1e-4 (set by the issue). The reference runs in float64 on the
float32 data and initial values, so it is the exact answer for the float32
inputs. An implementation that rounds to float32 (eps 1.2e-7) sums thousands
of terms and repeats that 20 times; scikit-learn, which does all its arithmetic
in float32 and forms tied/diag/spherical covariances from raw second moments,
measures up to about 1e-5 from the reference on these data. fastgmm accumulates in
float64 and should be well inside 1e-4.

How "relative" is measured. Lower bounds (values around -5 to -7, far from 0)
use the plain elementwise rtol. Array attributes hold entries that are near
zero by construction (off-diagonal covariances, Cholesky factors, mean
coordinates near the origin) whose elementwise relative error means nothing,
so each array is compared with atol = rtol * max|expected|: every entry must
be within rtol of the attribute's own scale.

Log-densities (score_samples) are compared with atol = rtol as well as rtol:
an absolute error e in a log-density is a relative error e in the density.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from naive import (
    COVARIANCE_TYPES,
    covariances_from_precision_cholesky,
    naive_em,
    naive_predict_proba,
    naive_score_samples,
    naive_weighted_log_prob,
)
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture as SklearnGaussianMixture

from fastgmm import GaussianMixture

DTYPES = (np.float64, np.float32)
RTOL = {np.float64: 1e-8, np.float32: 1e-4}
INIT_PARAMS = ("kmeans", "k-means++", "random", "random_from_data")
N_ITER = 20
REG_COVAR = 1e-6
ARRAY_ATTRIBUTES = (
    "weights_",
    "means_",
    "covariances_",
    "precisions_",
    "precisions_cholesky_",
)

ignore_convergence = pytest.mark.filterwarnings(
    "ignore::sklearn.exceptions.ConvergenceWarning"
)


# --------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------


def random_covariance(rng, n_features):
    """A random, well-conditioned, correlated covariance matrix."""
    a = rng.normal(size=(n_features, n_features))
    return a @ a.T / n_features + 0.5 * np.eye(n_features)


def make_mixture(n_samples, n_features, n_components, spread, seed):
    """Points drawn from a Gaussian mixture with random correlated covariances.

    The component means are drawn with standard deviation ``spread`` (the
    components' own standard deviations are about 1) and centred on the origin.
    Returns the data and the true means.
    """
    rng = np.random.default_rng(seed)
    means = rng.normal(scale=spread, size=(n_components, n_features))
    means -= means.mean(axis=0)
    weights = rng.dirichlet(5.0 * np.ones(n_components))
    labels = rng.choice(n_components, size=n_samples, p=weights)
    X = np.empty((n_samples, n_features))
    for k in range(n_components):
        members = labels == k
        X[members] = rng.multivariate_normal(
            means[k], random_covariance(rng, n_features), size=members.sum()
        )
    return X, means


# name: (n_samples, n_features, n_components, spread, initial mean jitter)
CASES = {
    "separated": (3000, 3, 3, 5.0, 0.5),
    "overlapping": (2000, 4, 4, 1.5, 1.0),
    # two whole 4 x 4 register tiles and a remainder feature (see _kernels.common)
    "wide": (2500, 9, 3, 3.0, 0.5),
}


def make_case(case, dtype, covariance_type, seed=0):
    """Data and a rough common starting point for one agreement case.

    The start: equal weights, the true means jittered, and every component's
    covariance set to the covariance of the whole data set (expressed as
    precisions in scikit-learn's ``precisions_init`` layout). Everything is
    rounded to ``dtype``, so all implementations see identical inputs.
    """
    n_samples, n_features, n_components, spread, jitter = CASES[case]
    X, true_means = make_mixture(n_samples, n_features, n_components, spread, seed)
    rng = np.random.default_rng(seed + 1)
    means_init = true_means + rng.normal(scale=jitter, size=true_means.shape)
    weights_init = np.full(n_components, 1.0 / n_components)
    global_precision = np.linalg.inv(np.cov(X, rowvar=False))
    precisions_init = {
        "full": np.repeat(global_precision[None], n_components, axis=0),
        "tied": global_precision,
        "diag": np.tile(1.0 / np.var(X, axis=0, ddof=1), (n_components, 1)),
        "spherical": np.full(n_components, 1.0 / np.var(X, axis=0, ddof=1).mean()),
    }[covariance_type]
    return (
        X.astype(dtype),
        weights_init.astype(dtype),
        means_init.astype(dtype),
        precisions_init.astype(dtype),
    )


def fit_from_start(cls, X, weights, means, precisions, covariance_type):
    """Fit ``cls`` for exactly N_ITER iterations from the given start."""
    return cls(
        n_components=len(weights),
        covariance_type=covariance_type,
        tol=0.0,
        max_iter=N_ITER,
        reg_covar=REG_COVAR,
        weights_init=weights,
        means_init=means,
        precisions_init=precisions,
        random_state=0,
    ).fit(X)


# --------------------------------------------------------------------------
# Comparison helpers
# --------------------------------------------------------------------------


def assert_close_on_scale(actual, expected, rtol, name):
    """Elementwise |actual - expected| <= rtol * (|expected| + max|expected|)."""
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, f"{name}: shape"
    assert_allclose(
        actual,
        expected,
        rtol=rtol,
        atol=rtol * np.abs(expected).max(),
        err_msg=name,
    )


def reference_as_attributes(ref):
    """The naive EM result, keyed by the estimator attribute names."""
    return {
        "weights_": ref["weights"],
        "means_": ref["means"],
        "covariances_": ref["covariances"],
        "precisions_": ref["precisions"],
        "precisions_cholesky_": ref["precisions_cholesky"],
    }


def assert_agrees_with_reference(est, ref, rtol):
    """Every fitted attribute of ``est`` against a naive_em result."""
    assert est.n_iter_ == N_ITER
    assert len(est.lower_bounds_) == N_ITER
    assert_allclose(float(est.lower_bound_), ref["lower_bounds"][-1], rtol=rtol)
    assert_allclose(
        np.asarray(est.lower_bounds_, dtype=np.float64),
        ref["lower_bounds"],
        rtol=rtol,
        err_msg="lower_bounds_",
    )
    for name, expected in reference_as_attributes(ref).items():
        assert_close_on_scale(getattr(est, name), expected, rtol, name)


# --------------------------------------------------------------------------
# Agreement of a 20-iteration fit from a common start
# --------------------------------------------------------------------------


@ignore_convergence
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("case", CASES)
def test_reference_matches_sklearn(case, dtype, covariance_type):
    """The reference itself against scikit-learn: this is what vouches for it."""
    X, weights, means, precisions = make_case(case, dtype, covariance_type)
    ref = naive_em(X, weights, means, precisions, covariance_type, REG_COVAR, N_ITER)
    skl = fit_from_start(
        SklearnGaussianMixture, X, weights, means, precisions, covariance_type
    )
    assert_agrees_with_reference(skl, ref, RTOL[dtype])


@ignore_convergence
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("case", CASES)
def test_fastgmm_matches_reference(case, dtype, covariance_type):
    X, weights, means, precisions = make_case(case, dtype, covariance_type)
    ref = naive_em(X, weights, means, precisions, covariance_type, REG_COVAR, N_ITER)
    est = fit_from_start(
        GaussianMixture, X, weights, means, precisions, covariance_type
    )
    assert_agrees_with_reference(est, ref, RTOL[dtype])


@ignore_convergence
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("case", CASES)
def test_fastgmm_matches_sklearn(case, dtype, covariance_type):
    """Direct comparison, including dtypes and the shape of the Cholesky factor."""
    X, weights, means, precisions = make_case(case, dtype, covariance_type)
    est = fit_from_start(
        GaussianMixture, X, weights, means, precisions, covariance_type
    )
    skl = fit_from_start(
        SklearnGaussianMixture, X, weights, means, precisions, covariance_type
    )
    rtol = RTOL[dtype]
    assert est.n_iter_ == skl.n_iter_ == N_ITER
    assert est.converged_ == skl.converged_
    assert est.n_features_in_ == skl.n_features_in_
    assert_allclose(float(est.lower_bound_), float(skl.lower_bound_), rtol=rtol)
    for name in ARRAY_ATTRIBUTES:
        ours, theirs = getattr(est, name), getattr(skl, name)
        assert ours.dtype == theirs.dtype == dtype, name
        assert_close_on_scale(ours, theirs, rtol, name)
    if covariance_type in ("full", "tied"):
        # Upper-triangular U with precision = U Uᵀ: exact zeros below the diagonal.
        below = np.tril(est.precisions_cholesky_, k=-1)
        assert not below.any()


@ignore_convergence
@pytest.mark.parametrize("init_params", ["random", "random_from_data"])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_random_initialisations_are_sklearns(covariance_type, init_params):
    """'random' and 'random_from_data' draw scikit-learn's initial responsibilities
    from the same random_state and form the same start from them (for tied and
    seeds, scikit-learn's scatter over all rows), so 20 iterations agree."""
    X, _, _, _ = make_case("separated", np.float64, covariance_type)
    X = X + 3.0  # away from the origin, where the tied seeded start depends on it
    params = dict(n_components=3, covariance_type=covariance_type,
                  init_params=init_params, random_state=5, max_iter=N_ITER, tol=0,
                  reg_covar=REG_COVAR)
    est = GaussianMixture(**params).fit(X)
    skl = SklearnGaussianMixture(**params).fit(X)
    # seeds alone start diag/spherical components at a variance of reg_covar, so
    # the first bound is about -5e6, formed by cancellation in scikit-learn's
    # raw moments: its last digits are rounding (4e-8 seen), the rest are not
    assert_allclose(est.lower_bounds_[0], skl.lower_bounds_[0], rtol=1e-6)
    assert_allclose(est.lower_bounds_[1:], skl.lower_bounds_[1:], rtol=1e-8)
    for name in ARRAY_ATTRIBUTES:
        assert_close_on_scale(getattr(est, name), getattr(skl, name), 1e-8, name)


@ignore_convergence
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_offset_data_matches_reference(dtype, covariance_type):
    """Data far from the origin (DESIGN.md: shifted statistics).

    EM commutes with translation, so fitting X + c from means + c must give the
    means of the untranslated fit plus c and the same everything else. The
    reference runs on (X + c) - c, which is exact in floating point here, so it
    sees exactly the data the estimator sees. Raw second moments lose about
    eps * (c / sigma)**2 of the covariances: scikit-learn's tied/diag/spherical
    paths are off by up to 1e-3 (float64, c = 1e6) and 2e-2 (float32, c = 1e2), so
    scikit-learn is not compared here.
    """
    offset = {np.float64: 1e6, np.float32: 1e2}[dtype]
    X, weights, means, precisions = make_case("overlapping", dtype, covariance_type)
    X_far = X + dtype(offset)
    means_far = means + dtype(offset)
    X_back = X_far.astype(np.float64) - offset
    means_back = means_far.astype(np.float64) - offset
    ref = naive_em(
        X_back, weights, means_back, precisions, covariance_type, REG_COVAR, N_ITER
    )
    est = fit_from_start(
        GaussianMixture, X_far, weights, means_far, precisions, covariance_type
    )
    rtol = RTOL[dtype]
    assert_allclose(float(est.lower_bound_), ref["lower_bounds"][-1], rtol=rtol)
    assert_close_on_scale(
        est.means_.astype(np.float64) - offset, ref["means"], rtol, "means_"
    )
    for name in ("weights_", "covariances_", "precisions_cholesky_"):
        expected = reference_as_attributes(ref)[name]
        assert_close_on_scale(getattr(est, name), expected, rtol, name)


# --------------------------------------------------------------------------
# Predictions on fitted parameters
# --------------------------------------------------------------------------


@ignore_convergence
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_predictions_match_reference(dtype, covariance_type):
    """score_samples / score / predict_proba / predict against the reference.

    The reference uses the fitted weights_, means_ and covariances_, so this
    also checks that covariances_ and precisions_cholesky_ describe the same
    model. Points far out in the tails (log-densities in the hundreds) are
    included as well as the training data.
    """
    X, _ = make_mixture(1500, 3, 3, spread=4.0, seed=3)
    X = X.astype(dtype)
    est = GaussianMixture(
        n_components=3, covariance_type=covariance_type, max_iter=10, random_state=0
    ).fit(X)
    tails = np.random.default_rng(4).normal(scale=15.0, size=(200, 3)).astype(dtype)
    X_eval = np.vstack([X, tails])
    params = (est.weights_, est.means_, est.covariances_, covariance_type)
    rtol = RTOL[dtype]

    log_density = est.score_samples(X_eval)
    expected_log_density = naive_score_samples(X_eval, *params)
    assert log_density.shape == (len(X_eval),)
    assert_allclose(log_density, expected_log_density, rtol=rtol, atol=rtol)
    assert_allclose(est.score(X), expected_log_density[: len(X)].mean(), rtol=rtol)

    proba = est.predict_proba(X_eval)
    assert proba.shape == (len(X_eval), 3)
    assert_allclose(proba, naive_predict_proba(X_eval, *params), atol=rtol)

    # Labels must match wherever the best component wins by a clear margin;
    # near-ties may legitimately break either way under rounding.
    weighted = naive_weighted_log_prob(X_eval, *params)
    top_two = np.sort(weighted, axis=1)[:, -2:]
    clear = top_two[:, 1] - top_two[:, 0] > 1e3 * rtol
    assert clear.mean() > 0.9
    labels = est.predict(X_eval)
    assert_array_equal(labels[clear], weighted.argmax(axis=1)[clear])


@ignore_convergence
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_fit_predict_equals_fit_then_predict(dtype, covariance_type):
    """fit_predict ends with an E-step on the final parameters."""
    X, _ = make_mixture(1000, 2, 4, spread=2.0, seed=5)
    X = X.astype(dtype)

    def make():
        return GaussianMixture(
            n_components=4, covariance_type=covariance_type, max_iter=5, random_state=7
        )

    fitted_then_predicted = make().fit(X).predict(X)
    est = make()
    labels = est.fit_predict(X)
    assert_array_equal(labels, fitted_then_predicted)
    assert_array_equal(labels, est.predict(X))


# --------------------------------------------------------------------------
# The lower bound never decreases
# --------------------------------------------------------------------------


@pytest.mark.parametrize("init_params", INIT_PARAMS)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_lower_bound_never_decreases(dtype, covariance_type, init_params):
    """Each EM iteration cannot lower the log-likelihood.

    (Adding reg_covar makes the M-step a penalised maximiser, not the exact
    one; at the default 1e-6 no decrease is seen in exact-enough arithmetic.)

    The allowance is rounding in the lower bound itself: 1e-12 relative in
    float64. In float32 fastgmm still accumulates in float64, but the
    parameters it keeps between iterations are rounded to float32, and the
    lower bound may be reported in float32 (half an ulp is 3e-8 relative);
    1e-6 relative (about 8 float32 ulps) covers both. scikit-learn, with float32
    arithmetic throughout, does not always meet this: on the "separated" data
    (full, init_params="random", random_state=2) its lower bound drops by 7e-6
    relative, so the float32 allowance is a claim about fastgmm only.
    """
    X, _ = make_mixture(2000, 4, 4, spread=1.5, seed=0)
    X = X.astype(dtype)
    allowance = {np.float64: 1e-12, np.float32: 1e-6}[dtype]
    for seed in range(2):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est = GaussianMixture(
                n_components=4,
                covariance_type=covariance_type,
                init_params=init_params,
                tol=1e-8,
                max_iter=100,
                random_state=seed,
            ).fit(X)
        lower_bounds = np.asarray(est.lower_bounds_, dtype=np.float64)
        assert len(lower_bounds) == est.n_iter_
        steps = np.diff(lower_bounds)
        worst = steps.min(initial=0.0)
        assert worst >= -allowance * np.abs(lower_bounds).max(), (
            f"seed {seed}: lower bound dropped by {-worst:.3g} "
            f"at iteration {steps.argmin() + 2} of {len(lower_bounds)}"
        )


# --------------------------------------------------------------------------
# Property test: random shapes, dtypes and memory layouts
# --------------------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(
    n_features=st.integers(1, 4),
    n_components=st.integers(1, 4),
    points_per_component=st.integers(15, 60),
    covariance_type=st.sampled_from(COVARIANCE_TYPES),
    dtype=st.sampled_from(DTYPES),
    order=st.sampled_from("CF"),
    seed=st.integers(0, 2**31 - 1),
)
def test_predictions_property(
    n_features, n_components, points_per_component, covariance_type, dtype, order, seed
):
    """predict_proba rows sum to 1; score_samples is the mixture log-density.

    The reference density is built from precisions_cholesky_ (what prediction
    uses), converted to covariances in float64, so small, nearly singular
    components fitted on few points do not turn float32 rounding of two
    separately stored attributes into a spurious failure.
    """
    n_samples = n_components * points_per_component
    X, _ = make_mixture(n_samples, n_features, n_components, spread=3.0, seed=seed)
    X = np.asarray(X.astype(dtype), order=order)
    other_layout = np.asarray(X, order="F" if order == "C" else "C")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = GaussianMixture(
            n_components=n_components,
            covariance_type=covariance_type,
            max_iter=3,
            random_state=seed,
        ).fit(X)
    rtol = RTOL[dtype]

    proba = est.predict_proba(X)
    assert proba.shape == (n_samples, n_components)
    assert np.all(proba >= 0)
    row_sum_tol = {np.float64: 1e-12, np.float32: 1e-5}[dtype]
    assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=row_sum_tol)

    covariances = covariances_from_precision_cholesky(
        est.precisions_cholesky_, covariance_type
    )
    log_density = est.score_samples(X)
    expected = naive_score_samples(
        X, est.weights_, est.means_, covariances, covariance_type
    )
    assert_allclose(log_density, expected, rtol=rtol, atol=rtol)

    # The memory layout of the input to prediction does not change the answer
    # (beyond a few float32 ulps: BLAS may sum in another order for F arrays).
    layout_rtol = {np.float64: 1e-12, np.float32: 1e-6}[dtype]
    assert_allclose(est.score_samples(other_layout), log_density, rtol=layout_rtol)
    assert_array_equal(est.predict(other_layout), est.predict(X))


@settings(max_examples=25, deadline=None)
@given(
    n_features=st.integers(1, 4),
    n_components=st.integers(1, 4),
    points_per_component=st.integers(15, 60),
    covariance_type=st.sampled_from(COVARIANCE_TYPES),
    init_params=st.sampled_from(["kmeans", "k-means++", "random", "random_from_data"]),
    dtype=st.sampled_from(DTYPES),
    order=st.sampled_from("CF"),
    seed=st.integers(0, 2**31 - 1),
)
def test_lower_bound_never_decreases_property(
    n_features, n_components, points_per_component, covariance_type, init_params,
    dtype, order, seed,
):
    """EM never lowers the likelihood, for random shapes, dtypes, layouts and
    initialisations (the lower bound of every iteration, up to rounding: of the
    float64 statistics, and for float32 data of the float32 log-densities of
    full covariances and the float32 bound reported, as in
    ``test_lower_bound_never_decreases``: at convergence the bound may move by
    an ulp, 1.2e-7 relative, either way). A full or tied covariance kept in
    float32 holds its smallest eigenvalue only to about eps32 x its condition
    number, relatively: a component of two points whose covariance is
    reg_covar across (condition number 4e5) lowered the bound by 2.4e-5
    relative between two iterations (the same parameters scored on float64
    data agree), so float32 fits are also allowed ``_float32_rounding``."""
    n_samples = n_components * points_per_component
    X, _ = make_mixture(n_samples, n_features, n_components, spread=3.0, seed=seed)
    X = np.asarray(X.astype(dtype), order=order)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = GaussianMixture(
            n_components=n_components, covariance_type=covariance_type,
            init_params=init_params, max_iter=30, tol=0, random_state=seed,
        ).fit(X)
    bounds = np.asarray(est.lower_bounds_, dtype=np.float64)
    assert np.all(np.isfinite(bounds))
    allowance = {np.float64: 1e-9, np.float32: 1e-6}[dtype]
    tolerance = allowance * np.maximum(1.0, np.abs(bounds[1:]))
    if dtype is np.float32:
        tolerance += _float32_rounding(est)
    assert np.all(np.diff(bounds) >= -tolerance)


def _float32_rounding(est):
    """How far rounding a fitted model's full or tied covariances to float32 may
    move its mean log-likelihood per point: a component's log-determinant and
    distances by about D eps32 cond(covariance), for its share of the points
    (diagonal and spherical variances are rounded each on its own: 0)."""
    covariances = np.asarray(est.covariances_, dtype=np.float64)
    if est.covariance_type == "full":
        condition = np.linalg.cond(covariances)
    elif est.covariance_type == "tied":
        condition = np.full(est.n_components, np.linalg.cond(covariances))
    else:
        return 0.0
    eps = np.finfo(np.float32).eps
    return float(np.sum(est.weights_ * est.n_features_in_ * eps * condition))

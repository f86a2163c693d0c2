"""The variational update, E-step constants and lower bound (fastgmm._variational)
against scikit-learn's BayesianGaussianMixture (its private _m_step,
_estimate_weighted_log_prob and _compute_lower_bound, called on the same
responsibilities) and against the Bishop reference in naive_variational.py.

Tolerances: rtol 1e-10 against scikit-learn (the two compute the same formulas
from the same responsibilities; they differ only in rounding: fastgmm takes
moments around shifted centers); rtol 1e-9 against the reference, which inverts
W_k⁻¹ where the others factor it.
"""

import numpy as np
import pytest
from naive import naive_log_gaussian
from naive_variational import (
    as_sklearn_attributes,
    naive_dropped_constant,
    naive_elbo,
    naive_log_rho,
    naive_update,
)
from sklearn.mixture import BayesianGaussianMixture

from fastgmm._covariance import LOG_2PI
from fastgmm._covariance import covariance_type as covariance_type_named
from fastgmm._params import Params
from fastgmm._passes import resp_stats
from fastgmm._sources import ArraySource
from fastgmm._stats import SufficientStats
from fastgmm._variational import (
    Priors,
    VariationalParams,
    conjugate_update,
    data_moments,
    expected_log_weights,
    log_prob_offsets,
    log_weight_terms,
    lower_bound,
    resolve_priors,
    variational_kernel_params,
)

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
PRIOR_TYPES = ("dirichlet_process", "dirichlet_distribution")
N_COMPONENTS = 4
RTOL = 1e-10


def numpy_stats(X, resp, weights, centers, covariance_type):
    """SufficientStats of ``X`` under ``resp`` (times ``weights``), around
    ``centers`` (tied: around their mean, over all points), in plain NumPy."""
    w = np.ones(X.shape[0]) if weights is None else weights
    wr = resp * w[:, None]
    s0 = wr.sum(axis=0)
    s1 = np.stack([wr[:, k] @ (X - c) for k, c in enumerate(centers)])
    tied_shift = centers.mean(axis=0)
    if covariance_type == "full":
        s2 = np.stack([(wr[:, k] * (X - c).T) @ (X - c) for k, c in enumerate(centers)])
    elif covariance_type == "tied":
        d = X - tied_shift
        s2 = (w * d.T) @ d
    else:
        s2 = np.stack([wr[:, k] @ (X - c) ** 2 for k, c in enumerate(centers)])
    return SufficientStats(covariance_type, s0, s1, s2, centers.copy(), tied_shift,
                           0.0, float(w.sum()))


def one_component_stats(X, weights=None):
    """'full' statistics of a single component holding every point."""
    return numpy_stats(X, np.ones((X.shape[0], 1)), weights, X[:1].copy(), "full")


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(11)
    X = rng.normal(size=(200, 3)) @ np.array(
        [[1.5, 0.0, 0.0], [0.4, 0.8, 0.0], [-0.3, 0.2, 0.6]]
    ) + np.array([2.0, -1.0, 0.5])
    X[:60] += np.array([3.0, 1.0, -2.0])
    resp = rng.dirichlet(np.full(N_COMPONENTS, 0.7), size=X.shape[0])
    centers = rng.normal(size=(N_COMPONENTS, 3)) * 2.0
    return X, resp, centers


def sklearn_model(X, resp, covariance_type, prior_type, reg_covar=1e-6, **priors):
    """A BayesianGaussianMixture after _check_parameters and one _m_step."""
    model = BayesianGaussianMixture(
        n_components=N_COMPONENTS, covariance_type=covariance_type,
        weight_concentration_prior_type=prior_type, reg_covar=reg_covar, **priors,
    )
    model._check_parameters(X)
    with np.errstate(divide="ignore"):
        model._m_step(X, np.log(resp))
    model._set_parameters(model._get_parameters())
    return model


def fastgmm_update(X, resp, centers, covariance_type, prior_type, reg_covar=1e-6,
                   weights=None, **priors):
    mean, covariance, total = data_moments(one_component_stats(X, weights))
    resolved = resolve_priors(covariance_type, N_COMPONENTS, mean, covariance, total,
                              weight_concentration_prior_type=prior_type, **priors)
    stats = numpy_stats(X, resp, weights, centers, covariance_type)
    return resolved, conjugate_update(stats, resolved, covariance_type, reg_covar)


def both_updates(problem, covariance_type, prior_type, **priors):
    """scikit-learn's model and fastgmm's (priors, update) from the same
    responsibilities."""
    X, resp, centers = problem
    model = sklearn_model(X, resp, covariance_type, prior_type, **priors)
    return (model, *fastgmm_update(X, resp, centers, covariance_type, prior_type,
                                   **priors))


def assert_concentration_close(ours, theirs, rtol=RTOL):
    if isinstance(theirs, tuple):
        assert isinstance(ours, tuple) and len(ours) == 2
        for a, b in zip(ours, theirs, strict=True):
            np.testing.assert_allclose(a, b, rtol=rtol)
    else:
        np.testing.assert_allclose(ours, theirs, rtol=rtol)


USER_PRIORS = dict(
    weight_concentration_prior=0.05, mean_precision_prior=0.3,
    mean_prior=[1.0, -0.5, 0.25], degrees_of_freedom_prior=4.5,
)
USER_COVARIANCE_PRIOR = {
    "full": np.array([[2.0, 0.3, 0.1], [0.3, 1.0, -0.2], [0.1, -0.2, 0.5]]),
    "tied": np.array([[2.0, 0.3, 0.1], [0.3, 1.0, -0.2], [0.1, -0.2, 0.5]]),
    "diag": np.array([2.0, 1.0, 0.5]),
    "spherical": 0.7,
}


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("prior_type", PRIOR_TYPES)
@pytest.mark.parametrize("user_priors", [False, True])
def test_priors_and_update_match_sklearn(problem, covariance_type, prior_type,
                                         user_priors):
    priors = {}
    if user_priors:
        priors = dict(USER_PRIORS,
                      covariance_prior=USER_COVARIANCE_PRIOR[covariance_type])
    model, resolved, vp = both_updates(problem, covariance_type, prior_type, **priors)

    assert resolved.weight_concentration_prior == model.weight_concentration_prior_
    assert resolved.mean_precision_prior == model.mean_precision_prior_
    assert resolved.degrees_of_freedom_prior == model.degrees_of_freedom_prior_
    np.testing.assert_allclose(resolved.mean_prior, model.mean_prior_, rtol=1e-13)
    np.testing.assert_allclose(resolved.covariance_prior, model.covariance_prior_,
                               rtol=1e-13)
    assert np.shape(resolved.covariance_prior) == np.shape(model.covariance_prior_)

    assert_concentration_close(vp.weight_concentration, model.weight_concentration_)
    for name in ("mean_precision", "means", "degrees_of_freedom", "covariances",
                 "precisions_cholesky"):
        ours, theirs = getattr(vp, name), getattr(model, name + "_")
        assert np.shape(ours) == np.shape(theirs), name
        np.testing.assert_allclose(ours, theirs, rtol=RTOL, err_msg=name)
    np.testing.assert_allclose(vp.weights(), model.weights_, rtol=RTOL)
    np.testing.assert_allclose(vp.precisions(covariance_type), model.precisions_,
                               rtol=RTOL)
    assert len(vp.astuple()) == len(model._get_parameters())


def gaussian_log_density(X, vp, covariance_type):
    """log N(x | means_k, covariances_k) by SciPy (tests/naive.py): the Gaussian
    whose precision is U_k U_kᵀ."""
    return naive_log_gaussian(X, vp.means, vp.covariances, covariance_type)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("prior_type", PRIOR_TYPES)
def test_expected_log_prob_matches_sklearn(problem, covariance_type, prior_type):
    X, resp = problem[:2]
    model, resolved, vp = both_updates(problem, covariance_type, prior_type)
    n_features = X.shape[1]

    np.testing.assert_allclose(log_weight_terms(vp, resolved),
                               model._estimate_log_weights(), rtol=RTOL)
    offsets = log_prob_offsets(vp, covariance_type, n_features)
    assert offsets.shape == (N_COMPONENTS,)
    ours = gaussian_log_density(X, vp, covariance_type) + offsets \
        + log_weight_terms(vp, resolved)
    np.testing.assert_allclose(ours, model._estimate_weighted_log_prob(X), rtol=1e-9)

    # the kernels' per-component constant: E[log pi_k] + c_k - D/2 log 2 pi + log det U
    kp = variational_kernel_params(vp, resolved, covariance_type)
    log_det = np.broadcast_to(
        covariance_type_named(covariance_type).log_det_cholesky(
            vp.precisions_cholesky, n_features
        ),
        (N_COMPONENTS,),
    )
    np.testing.assert_allclose(
        kp.log_norm,
        expected_log_weights(vp, resolved, covariance_type) - 0.5 * n_features * LOG_2PI
        + log_det,
        rtol=1e-13,
    )


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("prior_type", PRIOR_TYPES)
def test_lower_bound_matches_sklearn(problem, covariance_type, prior_type):
    X, resp = problem[:2]
    model, resolved, vp = both_updates(problem, covariance_type, prior_type)
    log_resp = np.log(resp)
    expected = model._compute_lower_bound(log_resp, 0.0)
    ours = lower_bound(np.sum(resp * log_resp), vp, resolved, covariance_type,
                       X.shape[1])
    assert isinstance(ours, float)
    np.testing.assert_allclose(ours, expected, rtol=RTOL)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("prior_type", PRIOR_TYPES)
def test_integer_weights_are_repeated_rows(problem, covariance_type, prior_type):
    """Weighted statistics, priors and bound equal scikit-learn's on the rows
    repeated as many times as their weight (the W - 1 convention of the default
    covariance prior included)."""
    X, resp, centers = problem
    weights = np.random.default_rng(3).integers(0, 4, size=X.shape[0]).astype(float)
    X_rep, resp_rep = np.repeat(X, weights.astype(int), axis=0), np.repeat(
        resp, weights.astype(int), axis=0)
    model = sklearn_model(X_rep, resp_rep, covariance_type, prior_type)
    resolved, vp = fastgmm_update(X, resp, centers, covariance_type, prior_type,
                                  weights=weights)
    np.testing.assert_allclose(resolved.mean_prior, model.mean_prior_, rtol=1e-12)
    np.testing.assert_allclose(resolved.covariance_prior, model.covariance_prior_,
                               rtol=1e-12)
    for name in ("means", "covariances", "precisions_cholesky"):
        np.testing.assert_allclose(getattr(vp, name), getattr(model, name + "_"),
                                   rtol=RTOL, err_msg=name)
    entropy = np.sum(weights[:, None] * resp * np.log(resp))
    np.testing.assert_allclose(
        lower_bound(entropy, vp, resolved, covariance_type, X.shape[1]),
        model._compute_lower_bound(np.log(resp_rep), 0.0), rtol=RTOL,
    )


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_kernel_statistics_give_sklearn_update(problem, covariance_type):
    """Statistics from the kernels (``_passes.resp_stats``), weighted, give
    scikit-learn's update of the repeated rows, for both prior types."""
    X, resp, centers = problem
    weights = np.random.default_rng(4).integers(1, 3, size=X.shape[0]).astype(float)
    X_rep = np.repeat(X, weights.astype(int), axis=0)
    resp_rep = np.repeat(resp, weights.astype(int), axis=0)
    stats = resp_stats(X, weights, centers, covariance_type, resp)
    mean, covariance, total = data_moments(
        resp_stats(X, weights, X[:1], "full", np.ones((X.shape[0], 1)))
    )
    for prior_type in PRIOR_TYPES:
        model = sklearn_model(X_rep, resp_rep, covariance_type, prior_type)
        priors = resolve_priors(covariance_type, N_COMPONENTS, mean, covariance, total,
                                weight_concentration_prior_type=prior_type)
        vp = conjugate_update(stats, priors, covariance_type, 1e-6)
        for name in ("weights", "precisions"):
            ours = getattr(vp, name)() if name == "weights" else vp.precisions(
                covariance_type)
            np.testing.assert_allclose(ours, getattr(model, name + "_"), rtol=RTOL)
        np.testing.assert_allclose(vp.means, model.means_, rtol=RTOL)
        np.testing.assert_allclose(vp.covariances, model.covariances_, rtol=RTOL)


def test_initialisation_from_seeded_responsibilities(problem):
    """scikit-learn's _initialize from one-hot responsibilities (k-means labels)
    is the same update: conjugate_update serves it."""
    X, _, centers = problem
    labels = np.arange(X.shape[0]) % N_COMPONENTS
    resp = np.eye(N_COMPONENTS)[labels]
    for covariance_type in COVARIANCE_TYPES:
        model = BayesianGaussianMixture(n_components=N_COMPONENTS,
                                        covariance_type=covariance_type)
        model._check_parameters(X)
        model._initialize(X, resp)
        _, vp = fastgmm_update(X, resp, centers, covariance_type, "dirichlet_process")
        np.testing.assert_allclose(vp.covariances, model.covariances_, rtol=RTOL)
        np.testing.assert_allclose(vp.means, model.means_, rtol=RTOL)
        assert_concentration_close(vp.weight_concentration, model.weight_concentration_)


# --------------------------------------------------------------------------
# Against the Bishop reference (full covariances)
# --------------------------------------------------------------------------

def bishop_prior_args(priors):
    """The reference's names for resolved priors (covariance_prior is W_0⁻¹)."""
    return dict(
        alpha0=priors.weight_concentration_prior, beta0=priors.mean_precision_prior,
        m0=priors.mean_prior, covariance_prior=priors.covariance_prior,
        nu0=priors.degrees_of_freedom_prior,
    )


@pytest.mark.parametrize("prior_type", PRIOR_TYPES)
@pytest.mark.parametrize("weighted", [False, True])
def test_full_update_and_bound_match_bishop(problem, prior_type, weighted):
    X, resp, centers = problem
    weights = None
    if weighted:
        weights = np.random.default_rng(5).uniform(0.5, 2.0, size=X.shape[0])
    # reg_covar = 0: the regularisation is not part of Bishop's model
    resolved, vp = fastgmm_update(X, resp, centers, "full", prior_type, reg_covar=0.0,
                                  weights=weights, **USER_PRIORS,
                                  covariance_prior=USER_COVARIANCE_PRIOR["full"])
    prior_args = bishop_prior_args(resolved)
    post = naive_update(X, resp, weights, prior_type, **prior_args)
    reference = as_sklearn_attributes(post)
    assert_concentration_close(vp.weight_concentration,
                               reference["weight_concentration"], rtol=1e-9)
    for name in ("mean_precision", "means", "degrees_of_freedom", "covariances"):
        np.testing.assert_allclose(getattr(vp, name), reference[name], rtol=1e-9,
                                   err_msg=name)

    # E-step: Bishop's log rho_nk (10.46)
    log_rho = naive_log_rho(X, post, prior_type)
    ours = gaussian_log_density(X, vp, "full") + expected_log_weights(
        vp, resolved, "full")
    np.testing.assert_allclose(ours, log_rho, rtol=1e-9)

    # the bound: Bishop's, every term kept, less the documented constant
    total_weight = X.shape[0] if weights is None else weights.sum()
    w = np.ones(X.shape[0]) if weights is None else weights
    entropy = np.sum(w[:, None] * resp * np.log(resp))
    elbo = naive_elbo(X, resp, weights, post, prior_type, **prior_args)
    constant = naive_dropped_constant(prior_type, N_COMPONENTS, total_weight,
                                      prior_args["alpha0"], prior_args["beta0"],
                                      prior_args["covariance_prior"],
                                      prior_args["nu0"])
    ours_bound = lower_bound(entropy, vp, resolved, "full", X.shape[1])
    np.testing.assert_allclose(ours_bound + constant, elbo, rtol=1e-9)


@pytest.mark.parametrize("prior_type", PRIOR_TYPES)
def test_bound_differences_match_bishop(problem, prior_type):
    """Between two responsibilities (hence two updates) the bound moves as
    Bishop's does: the dropped constant cancels."""
    X, resp, centers = problem
    other = np.random.default_rng(8).dirichlet(np.ones(N_COMPONENTS), size=X.shape[0])
    bounds, elbos = [], []
    for r in (resp, other):
        resolved, vp = fastgmm_update(X, r, centers, "full", prior_type, reg_covar=0.0)
        prior_args = bishop_prior_args(resolved)
        post = naive_update(X, r, None, prior_type, **prior_args)
        elbos.append(naive_elbo(X, r, None, post, prior_type, **prior_args))
        bounds.append(lower_bound(np.sum(r * np.log(r)), vp, resolved, "full",
                                  X.shape[1]))
    np.testing.assert_allclose(bounds[1] - bounds[0], elbos[1] - elbos[0],
                               rtol=1e-8)
    assert bounds[0] != bounds[1]


def test_update_maximises_bishop_bound(problem):
    """The conjugate update is the optimum of Bishop's bound for fixed
    responsibilities: perturbing the posterior lowers it."""
    X, resp, centers = problem
    prior_args = dict(alpha0=0.25, beta0=1.0, m0=X.mean(axis=0),
                      covariance_prior=np.cov(X.T), nu0=3.0)
    post = naive_update(X, resp, None, "dirichlet_distribution", **prior_args)
    best = naive_elbo(X, resp, None, post, "dirichlet_distribution", **prior_args)
    for key, factor in (("beta", 1.1), ("nu", 1.05), ("W", 0.97),
                        ("concentration", 1.02)):
        moved = dict(post)
        moved[key] = post[key] * factor
        assert naive_elbo(X, resp, None, moved, "dirichlet_distribution",
                          **prior_args) < best


# --------------------------------------------------------------------------
# Priors: defaults, conventions and bad values
# --------------------------------------------------------------------------

def test_data_moments_match_numpy(problem):
    X, _, _ = problem
    mean, covariance, total = data_moments(one_component_stats(X))
    assert total == X.shape[0]
    np.testing.assert_allclose(mean, X.mean(axis=0), rtol=1e-13)
    np.testing.assert_allclose(covariance, np.cov(X.T, ddof=0), rtol=1e-12)
    priors = resolve_priors("diag", 3, mean, covariance, total)
    np.testing.assert_allclose(priors.covariance_prior, np.var(X, axis=0, ddof=1),
                               rtol=1e-12)
    assert isinstance(priors, Priors)
    assert priors.weight_concentration_prior == 1.0 / 3


def resolve(covariance_type="full", **kwargs):
    return resolve_priors(covariance_type, 2, np.zeros(3), np.eye(3), 10.0, **kwargs)


@pytest.mark.parametrize("kwargs, match", [
    (dict(weight_concentration_prior_type="dirichlet"),
     "'weight_concentration_prior_type' parameter"),
    (dict(weight_concentration_prior=-1.0), "'weight_concentration_prior' parameter"),
    (dict(weight_concentration_prior=0.0), "'weight_concentration_prior' parameter"),
    (dict(mean_precision_prior=0.0), "'mean_precision_prior' parameter"),
    (dict(mean_precision_prior=float("nan")), "'mean_precision_prior' parameter"),
    (dict(degrees_of_freedom_prior=2.0),
     r"'degrees_of_freedom_prior' should be greater than 2, but got 2.000"),
    (dict(degrees_of_freedom_prior=-1.0), "'degrees_of_freedom_prior'"),
    (dict(mean_prior=[1.0, 2.0]),
     r"'means' should have the shape of \(3,\), but got \(2,\)"),
    (dict(mean_prior=[1.0, 2.0, np.nan]), "'mean_prior'.*contains NaN"),
    (dict(covariance_prior=np.eye(2)),
     r"'full covariance_prior' should have the shape of \(3, 3\)"),
    (dict(covariance_prior=-np.eye(3)),
     "'covariance_prior'.*'full precision' should be symmetric, positive-definite"),
    (dict(covariance_prior=np.triu(np.ones((3, 3)))),
     "'full precision' should be symmetric, positive-definite"),
])
def test_bad_priors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        resolve(**kwargs)


@pytest.mark.parametrize("covariance_type, prior, match", [
    ("tied", np.diag([1.0, 0.0, 1.0]), "'tied precision' should be symmetric"),
    ("diag", np.array([1.0, -1.0, 1.0]), "'covariance_prior'.*'diag precision' "
     "should be positive"),
    ("diag", np.ones(2), r"'diag covariance_prior' should have the shape of \(3,\)"),
    ("spherical", -1.0, "'covariance_prior' parameter"),
    ("spherical", 0.0, "'covariance_prior' parameter"),
    ("spherical", np.ones(3), "'spherical covariance_prior' should have the shape"),
])
def test_bad_covariance_priors(covariance_type, prior, match):
    with pytest.raises(ValueError, match=match):
        resolve(covariance_type, covariance_prior=prior)


def test_default_covariance_prior_needs_weight_above_one():
    with pytest.raises(ValueError, match="total sample weight above 1"):
        resolve_priors("full", 2, np.zeros(3), np.eye(3), 1.0)
    # an explicit prior does not need it
    priors = resolve_priors("full", 2, np.zeros(3), np.eye(3), 0.5,
                            covariance_prior=np.eye(3))
    np.testing.assert_array_equal(priors.covariance_prior, np.eye(3))


def test_stats_of_another_type_are_refused(problem):
    X, resp, centers = problem
    priors = resolve("diag")
    stats = numpy_stats(X, resp[:, :2], None, centers[:2], "full")
    with pytest.raises(ValueError, match="'full' model given for a 'diag' update"):
        conjugate_update(stats, priors, "diag", 1e-6)


def test_variational_params_is_a_dataclass_of_sklearn_parameters(problem):
    X, resp, centers = problem
    _, vp = fastgmm_update(X, resp, centers, "spherical", "dirichlet_distribution")
    assert isinstance(vp, VariationalParams)
    np.testing.assert_allclose(vp.weights().sum(), 1.0)
    np.testing.assert_allclose(vp.precisions("spherical"), vp.covariances ** -1.0,
                               rtol=1e-13)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("n_features", [1, 3, 6])
@pytest.mark.parametrize("weighted", [False, True])
def test_pass_entropy_is_the_sum_of_r_log_r(covariance_type, n_features, weighted):
    """A variational pass takes sum_n w sum_k r log r from its statistics
    (``_stats.pass_entropy``: no work per point): against NumPy's
    responsibilities under the same log-densities and per-component constants,
    one of them -inf (a component given no weight), on data far from the origin,
    in every kernel variant (one feature, below four, tiled)."""
    rng = np.random.default_rng(7)
    n_components = 4
    X = rng.normal(size=(5000, n_features)) * 2.0 + 40.0
    weights = rng.uniform(0.0, 2.0, size=X.shape[0]) if weighted else None
    means = X[rng.choice(X.shape[0], n_components, replace=False)]
    spread = rng.normal(size=(n_components, n_features, n_features))
    full = spread @ spread.transpose(0, 2, 1) / n_features + np.eye(n_features)
    covariances = {
        "full": full,
        "tied": full[0],
        "diag": np.diagonal(full, axis1=1, axis2=2).copy(),
        "spherical": np.diagonal(full, axis1=1, axis2=2).mean(axis=1),
    }[covariance_type]
    ctype = covariance_type_named(covariance_type)
    factors, failed = ctype.cholesky_from_covariances(covariances)
    assert not np.any(failed)
    params = Params(ctype, np.full(n_components, 0.25), means, covariances, factors)
    with np.errstate(divide="ignore"):
        log_weights = np.log([0.1, 0.2, 0.7, 0.0])
    stats = ArraySource(X, weights).stats_pass(params, log_weights, entropy=True)

    terms = naive_log_gaussian(X, means, covariances, covariance_type) + log_weights
    top = terms.max(axis=1, keepdims=True)
    log_p = top + np.log(np.exp(terms - top).sum(axis=1, keepdims=True))
    resp = np.exp(terms - log_p)
    with np.errstate(invalid="ignore"):  # 0 * -inf where a weight is 0
        per_row = np.where(resp > 0, resp * (terms - log_p), 0.0).sum(axis=1)
    w = np.ones(X.shape[0]) if weights is None else weights
    np.testing.assert_allclose(stats.loglik, w @ log_p[:, 0], rtol=1e-12)
    np.testing.assert_allclose(stats.entropy, w @ per_row, rtol=1e-9)

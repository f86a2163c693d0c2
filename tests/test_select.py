"""Model selection: fastgmm.select and its result."""

import math
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture as SklearnGaussianMixture

from fastgmm import BayesianGaussianMixture, GaussianMixture
from fastgmm.select import (
    Candidate,
    SelectionResult,
    effective_components,
    n_parameters,
    select,
)

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")


def three_clusters(n_per_cluster=100, seed=0):
    """Three well-separated 2-D clusters: every criterion should find K = 3."""
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0], [8.0, 0.0], [0.0, 8.0]])
    return np.vstack([c + rng.standard_normal((n_per_cluster, 2)) for c in centres])


@pytest.fixture(scope="module")
def X():
    return three_clusters()


@pytest.fixture(scope="module")
def result(X):
    return select(
        X,
        n_components=range(1, 6),
        covariance_types=("full", "diag"),
        random_state=0,
        n_jobs=1,
    )


def test_select_is_exported_as_a_function():
    # The submodule fastgmm.select must not shadow the function fastgmm.select,
    # whatever was imported first.
    import fastgmm
    import fastgmm.select  # noqa: F401

    assert callable(fastgmm.select)
    assert fastgmm.select is select


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("n_components, n_features", [(1, 1), (3, 2), (4, 5)])
def test_n_parameters_matches_scikit_learn(covariance_type, n_components, n_features):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, n_features))
    reference = SklearnGaussianMixture(
        n_components, covariance_type=covariance_type, max_iter=5, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reference.fit(X)
    assert n_parameters(n_components, n_features, covariance_type) == (
        reference._n_parameters()
    )


def test_n_parameters_rejects_unknown_type():
    with pytest.raises(ValueError, match="covariance_type"):
        n_parameters(2, 2, "banana")


def test_every_candidate_is_fitted_in_order(result):
    assert isinstance(result, SelectionResult)
    assert [(c.covariance_type, c.n_components) for c in result.candidates] == [
        (t, k) for t in ("full", "diag") for k in range(1, 6)
    ]
    assert len(result.estimators_) == len(result.candidates) == 10
    for candidate, model in zip(result.candidates, result.estimators_, strict=True):
        assert isinstance(candidate, Candidate)
        assert model.n_components == candidate.n_components
        assert model.covariance_type == candidate.covariance_type
        assert model.n_jobs == 1
        assert candidate.n_iter == model.n_iter_
        assert candidate.converged is bool(model.converged_)
        assert candidate.fit_time >= 0.0


def test_criteria_agree_with_the_model(X, result):
    n = X.shape[0]
    for c, model in zip(result.candidates, result.estimators_, strict=True):
        assert c.log_likelihood == pytest.approx(model.score(X) * n, rel=1e-12)
        assert c.bic == pytest.approx(model.bic(X), rel=1e-10)
        assert c.aic == pytest.approx(model.aic(X), rel=1e-10)
        assert c.bic == pytest.approx(
            -2 * c.log_likelihood + c.n_parameters * math.log(n), rel=1e-12
        )


def test_bic_finds_three_clusters(result):
    assert result.criterion == "bic"
    values = result.criterion_values()
    assert result.best_index_ == int(np.argmin(values))
    assert result.best_.n_components == 3
    assert result.best_params_["n_components"] == 3
    assert result.best_estimator_ is result.estimators_[result.best_index_]
    assert result.best_estimator_.means_.shape == (3, 2)


def test_aic_chooses_its_own_minimum(X):
    result = select(
        X,
        n_components=[1, 2, 3, 4],
        covariance_types="spherical",
        criterion="AIC",
        random_state=0,
    )
    assert result.criterion == "aic"
    aics = [c.aic for c in result.candidates]
    assert result.best_index_ == int(np.argmin(aics))


def test_same_seed_same_table(X):
    a = select(X, n_components=[2, 3], covariance_types="tied", random_state=3)
    b = select(X, n_components=[2, 3], covariance_types="tied", random_state=3)
    assert a.criterion_values().tolist() == b.criterion_values().tolist()


def test_table_and_columns(result):
    text = result.table()
    lines = text.splitlines()
    assert len(lines) == 1 + len(result.candidates)
    assert "BIC" in lines[0]
    starred = [line for line in lines[1:] if line.startswith("*")]
    assert len(starred) == 1 and starred[0].split()[1] == "3"
    assert str(result) == text
    columns = result.as_dict()
    assert set(columns) >= {
        "n_components",
        "covariance_type",
        "bic",
        "aic",
        "log_likelihood",
        "n_parameters",
        "converged",
        "fit_time",
    }
    assert all(len(v) == 10 for v in columns.values())
    assert columns["n_components"].tolist() == [1, 2, 3, 4, 5] * 2


def test_estimator_parameters_are_passed_on(X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        result = select(
            X,
            n_components=[3],
            covariance_types="full",
            max_iter=1,
            tol=0.0,
            n_init=2,
            random_state=0,
        )
    (model,) = result.estimators_
    assert model.max_iter == 1 and model.n_init == 2
    assert result.candidates[0].n_iter == 1
    assert result.candidates[0].converged is False


def test_duplicates_are_fitted_once(X):
    result = select(X, n_components=[2, 2, 3], covariance_types=["diag", "diag"])
    assert len(result.candidates) == 2


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"criterion": "hqc"}, "criterion"),
        ({"criterion": "heldout", "validation_fraction": 0.0}, "validation_fraction"),
        ({"criterion": "heldout", "validation_fraction": 1.0}, "validation_fraction"),
        ({"criterion": "heldout", "validation_fraction": 0.001}, "hold out"),
        ({"bayesian": True, "criterion": "bic"}, "heldout"),
        ({"bayesian": True, "criterion": "aic"}, "heldout"),
        ({"n_components": []}, "empty"),
        ({"n_components": [0, 1]}, ">= 1"),
        ({"n_components": [2.5]}, ">= 1"),
        ({"n_components": "3"}, "n_components"),
        ({"covariance_types": ["full", "round"]}, "round"),
        ({"covariance_types": []}, "empty"),
        ({"n_components": [1000]}, "samples"),
    ],
)
def test_bad_arguments_say_what_is_wrong(X, kwargs, message):
    with pytest.raises(ValueError, match=message):
        select(X, **kwargs)


def test_candidates_go_through_select_not_estimator_params(X):
    with pytest.raises(TypeError, match="covariance_types"):
        select(X, n_components=[2], covariance_type="full")


def test_one_dimensional_input_is_refused_with_a_hint():
    with pytest.raises(ValueError, match="reshape"):
        select(np.arange(20.0), n_components=[1])


# ------------------------------------------------ held-out ranking, variational


def heldout_rows(n_samples, fraction, seed):
    """The rows select holds out: the first fraction of a permutation drawn
    from RandomState(seed)."""
    mask = np.zeros(n_samples, dtype=bool)
    order = np.random.RandomState(seed).permutation(n_samples)
    mask[order[: round(fraction * n_samples)]] = True
    return mask


@pytest.fixture(scope="module")
def bayesian_result(X):
    return select(
        X,
        n_components=[2, 3, 6],
        covariance_types=("full", "diag"),
        bayesian=True,
        random_state=0,
        n_jobs=1,
    )


def test_effective_components():
    np.testing.assert_array_equal(
        effective_components([0.5, 0.49, 0.01, 0.0]), [True, True, True, False]
    )
    np.testing.assert_array_equal(
        effective_components([0.6, 0.3, 0.1], threshold=0.2), [True, True, False]
    )
    for threshold in (-0.1, 1.5, np.nan):
        with pytest.raises(ValueError, match="threshold"):
            effective_components([1.0], threshold=threshold)


def test_bayesian_candidates_are_ranked_by_heldout_log_likelihood(X, bayesian_result):
    result = bayesian_result
    assert result.bayesian and result.criterion == "heldout"
    heldout = heldout_rows(len(X), 0.2, 0)
    assert (result.n_samples, result.n_heldout) == (240, 60)
    for c, model in zip(result.candidates, result.estimators_, strict=True):
        assert isinstance(model, BayesianGaussianMixture)
        assert model.n_components == c.n_components
        # scored on the held-out rows, fitted on the others
        assert c.heldout == pytest.approx(model.score(X[heldout]), rel=1e-12)
        assert c.log_likelihood == pytest.approx(
            model.score(X[~heldout]) * 240, rel=1e-12
        )
        assert math.isnan(c.bic) and math.isnan(c.aic)
        assert c.n_effective == int(np.sum(model.weights_ >= 0.01))
    values = result.criterion_values()
    assert result.best_index_ == int(np.argmax(values))  # higher is better
    # Three clusters: a truncation at 6 switches off the components it does not
    # need and uses three, and two components are worse than three.
    six = [c for c in result.candidates if c.n_components == 6]
    assert all(c.n_effective == 3 for c in six)
    two = [c for c in result.candidates if c.n_components == 2]
    assert max(c.heldout for c in two) < result.best_.heldout
    assert result.best_.n_components == 3


def test_bayesian_table_and_parameters(X, bayesian_result):
    lines = bayesian_result.table().splitlines()
    assert "held-out log-lik" in lines[0] and "used" in lines[0]
    assert len(lines) == 1 + 6
    result = select(
        X, n_components=[4], covariance_types="spherical", bayesian=True,
        weight_concentration_prior_type="dirichlet_distribution",
        weight_concentration_prior=1e-3, random_state=1,
    )
    (model,) = result.estimators_
    assert model.weight_concentration_prior_type == "dirichlet_distribution"
    assert model.weight_concentration_prior == 1e-3


def test_gaussian_candidates_by_heldout_log_likelihood(X):
    result = select(
        X,
        n_components=[1, 2, 3],
        covariance_types="full",
        criterion="heldout",
        validation_fraction=0.25,
        random_state=4,
    )
    heldout = heldout_rows(len(X), 0.25, 4)
    assert (result.n_samples, result.n_heldout) == (225, 75)
    for c, model in zip(result.candidates, result.estimators_, strict=True):
        assert isinstance(model, GaussianMixture)
        assert c.heldout == pytest.approx(model.score(X[heldout]), rel=1e-12)
        # BIC and AIC are still those of the fitted rows
        assert c.bic == pytest.approx(model.bic(X[~heldout]), rel=1e-10)
    assert result.best_.n_components == 3
    assert "held-out log-lik" in result.table().splitlines()[0]


def test_bic_leaves_heldout_empty(result):
    assert result.n_heldout == 0 and not result.bayesian
    assert np.isnan(result.criterion_values("heldout")).all()


def test_select_with_missing_values():
    """Candidates fitted with missing_values='nan' are ranked by the BIC of the
    observed-data likelihood (and by held-out rows that have NaN too)."""
    rng = np.random.RandomState(0)
    X = np.vstack([rng.randn(200, 2) - 3, rng.randn(200, 2) + 3])
    X[::5, 1] = np.nan
    result = select(X, n_components=[1, 2, 3], covariance_types=["full"],
                    missing_values="nan", random_state=0)
    assert result.best_.n_components == 2
    best = result.best_estimator_
    assert best.missing_values == "nan"
    assert result.best_.bic == pytest.approx(best.bic(X), rel=1e-12)
    heldout = select(X, n_components=[1, 2, 3], covariance_types=["full"],
                     criterion="heldout", missing_values="nan", random_state=0)
    assert heldout.best_.n_components == 2

"""Model selection: fastgmm.select and its result."""

import math
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture as SklearnGaussianMixture

from fastgmm.select import Candidate, SelectionResult, n_parameters, select

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

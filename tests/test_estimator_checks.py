"""scikit-learn's own estimator checks, with no expected failures."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from fastgmm import GaussianMixture


@parametrize_with_checks(
    [
        GaussianMixture(),
        GaussianMixture(n_components=2, covariance_type="tied", init_params="random"),
        GaussianMixture(n_components=2, covariance_type="diag", init_params="k-means++"),
        GaussianMixture(covariance_type="spherical", init_params="random_from_data"),
    ]
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)

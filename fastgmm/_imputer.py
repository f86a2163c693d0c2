"""``GaussianMixtureImputer``: a scikit-learn transformer that fills missing
values with their conditional expectation under a Gaussian mixture."""

from numbers import Integral, Real

from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._covariance import NAMES
from ._gaussian_mixture import GaussianMixture


class GaussianMixtureImputer(TransformerMixin, BaseEstimator):
    """Fill missing values (NaN) with their conditional expectation under a
    Gaussian mixture fitted to the observed values.

    ``fit`` fits :class:`GaussianMixture` with ``missing_values="nan"`` (exact EM
    on the observed coordinates); ``transform`` returns
    ``mixture_.impute(X)``: each missing entry replaced by
    sum_k r_k E[x_m | x_o, k], observed entries kept. A step of a scikit-learn
    pipeline like :class:`sklearn.impute.SimpleImputer`.

    Parameters
    ----------
    n_components : int, default=1
    covariance_type : {'full', 'tied', 'diag', 'spherical'}, default='full'
    tol : float, default=1e-3
    reg_covar : float, default=1e-6
    max_iter : int, default=100
    n_init : int, default=1
    init_params : {'kmeans', 'k-means++', 'random', 'random_from_data'}, \
            default='kmeans'
    random_state : int, RandomState instance or None, default=None
    n_jobs : int, default=None
        As for :class:`GaussianMixture`.

    Attributes
    ----------
    mixture_ : GaussianMixture
        The fitted mixture.
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from fastgmm import GaussianMixtureImputer
    >>> X = np.array([[1.0, 2.0], [np.nan, 4.1], [3.0, 6.0], [4.0, np.nan]])
    >>> GaussianMixtureImputer(random_state=0).fit_transform(X).shape
    (4, 2)
    """

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "covariance_type": [StrOptions(set(NAMES))],
        "tol": [Interval(Real, 0.0, None, closed="left")],
        "reg_covar": [Interval(Real, 0.0, None, closed="left")],
        "max_iter": [Interval(Integral, 0, None, closed="left")],
        "n_init": [Interval(Integral, 1, None, closed="left")],
        "init_params": [
            StrOptions({"kmeans", "k-means++", "random", "random_from_data"})
        ],
        "random_state": ["random_state"],
        "n_jobs": [Integral, None],
    }

    def __init__(self, n_components=1, *, covariance_type="full", tol=1e-3,
                 reg_covar=1e-6, max_iter=100, n_init=1, init_params="kmeans",
                 random_state=None, n_jobs=None):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.random_state = random_state
        self.n_jobs = n_jobs

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, sample_weight=None):
        """Fit the mixture to the observed values of ``X``.

        Parameters
        ----------
        X : array-like, memory map or dask array of shape (n_samples, n_features)
        y : Ignored
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : GaussianMixtureImputer
        """
        self.mixture_ = GaussianMixture(
            self.n_components, covariance_type=self.covariance_type, tol=self.tol,
            reg_covar=self.reg_covar, max_iter=self.max_iter, n_init=self.n_init,
            init_params=self.init_params, random_state=self.random_state,
            n_jobs=self.n_jobs, missing_values="nan",
        ).fit(X, sample_weight=sample_weight)
        self.n_features_in_ = self.mixture_.n_features_in_
        if hasattr(self.mixture_, "feature_names_in_"):
            self.feature_names_in_ = self.mixture_.feature_names_in_
        return self

    def transform(self, X):
        """``X`` with its missing values filled (a new array).

        Parameters
        ----------
        X : array-like, memory map or dask array of shape (n_samples, n_features)

        Returns
        -------
        X_imputed : ndarray of shape (n_samples, n_features)
        """
        check_is_fitted(self)
        return self.mixture_.impute(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

"""Fit, predict and score with fastgmm, scikit-learn or the NumPy baseline alike.

Every ``GaussianMixture`` fit here starts from given ``weights_init``,
``means_init`` and ``precisions_init`` and runs exactly ``max_iter`` EM iterations
(``tol=0``), so the three implementations do the same work and timings do not
depend on convergence. ``BayesianGaussianMixture`` takes no initial parameters:
its fits start from the random responsibilities that ``init_params='random'``
draws from ``random_state``, the same in both libraries.
"""

import contextlib
import os
import warnings

import numpy as np

from . import numpy_em

IMPLEMENTATIONS = ("fastgmm", "sklearn", "numpy")
#: ``BayesianGaussianMixture`` has no NumPy baseline: scikit-learn's is the baseline.
BAYESIAN_IMPLEMENTATIONS = ("fastgmm", "sklearn")

#: The 1-D Dirichlet-process mixture that data-synthesis libraries fit to every
#: numeric column of a table; every other parameter keeps scikit-learn's default.
DP_COLUMN_PARAMS = {"n_components": 10, "weight_concentration_prior": 0.001}

#: Set to "sklearn" to let scikit-learn stand in for fastgmm (to try the benchmarks
#: themselves before the estimator exists). The reports say so in their headers.
STANDIN_ENV = "FASTGMM_BENCH_STANDIN"


def standin() -> bool:
    """Whether scikit-learn stands in for fastgmm (see ``STANDIN_ENV``)."""
    return os.environ.get(STANDIN_ENV, "") == "sklearn"


def make_estimator(implementation, estimator="GaussianMixture", **params):
    """Return an unfitted ``estimator`` (``"GaussianMixture"`` or
    ``"BayesianGaussianMixture"``) of ``implementation``, fastgmm or sklearn.

    ``n_jobs`` is passed to fastgmm only; scikit-learn's threads are those of its BLAS
    and OpenMP pools (limit them with threadpoolctl).
    """
    if implementation == "sklearn" or (implementation == "fastgmm" and standin()):
        import sklearn.mixture

        params.pop("n_jobs", None)
        return getattr(sklearn.mixture, estimator)(**params)
    if implementation == "fastgmm":
        import fastgmm

        return getattr(fastgmm, estimator)(**params)
    raise ValueError(f"no estimator for implementation {implementation!r}")


@contextlib.contextmanager
def quiet():
    """Silence the ConvergenceWarning that ``tol=0`` and a fixed ``max_iter`` imply."""
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.filterwarnings("ignore", message=".*did not converge.*")
        yield


def quiet_fit(estimator, X, **fit_params):
    """``estimator.fit(X, **fit_params)`` under :func:`quiet`."""
    with quiet():
        return estimator.fit(X, **fit_params)


def thread_limits(threads):
    """Limit BLAS and OpenMP pools to ``threads`` (no limit when None)."""
    if threads is None:
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=threads)


def fit_model(
    implementation,
    X,
    init,
    covariance_type,
    max_iter,
    n_jobs=None,
):
    """Fit ``max_iter`` EM iterations with ``tol=0`` from ``init``; return the model.

    For "numpy" the model is a :class:`harness.numpy_em.NumpyMixture`.
    """
    if implementation == "numpy":
        return numpy_em.fit_em(
            X,
            init["weights_init"],
            init["means_init"],
            init["precisions_init"],
            covariance_type,
            n_iter=max_iter,
        )
    estimator = make_estimator(
        implementation,
        n_components=len(init["weights_init"]),
        covariance_type=covariance_type,
        tol=0.0,
        max_iter=max_iter,
        init_params="random_from_data",
        random_state=0,
        n_jobs=n_jobs,
        **init,
    )
    return quiet_fit(estimator, X)


def predict(implementation, model, X):
    """Component labels of ``X`` under a model that :func:`fit_model` returned."""
    if implementation == "numpy":
        return numpy_em.predict(X, model)
    return model.predict(X)


def score_samples(implementation, model, X):
    """Per-point log-likelihood of ``X`` under a model that :func:`fit_model`
    returned."""
    if implementation == "numpy":
        return numpy_em.score_samples(X, model)
    return model.score_samples(X)


def lower_bound(implementation, model):
    """The lower bound of a fitted model as a float: for EM the mean log-likelihood
    of the last E-step, for variational Bayes the evidence lower bound (a sum over
    the points; scikit-learn returns it as a 1-element array for 'tied')."""
    if implementation == "numpy":
        return model.lower_bound
    return float(np.ravel(model.lower_bound_)[0])


def warm_up(implementation, X, init, covariance_type, n_jobs=None):
    """Pay Numba compilation (and lazy imports) with small fits and predictions."""
    small = X[: min(len(X), 2_000)]
    model = fit_model(implementation, small, init, covariance_type, 2, n_jobs)
    predict(implementation, model, small)
    score_samples(implementation, model, small)


def fit_bayesian(
    implementation,
    X,
    n_components,
    covariance_type,
    max_iter,
    n_jobs=None,
    random_state=0,
    estimator="BayesianGaussianMixture",
):
    """Fit a ``BayesianGaussianMixture`` for exactly ``max_iter`` iterations
    (``tol=0``) from the random responsibilities of ``random_state``; return it.

    ``init_params='random'`` draws the same N x K uniform numbers in both libraries
    (fastgmm a window of rows at a time), so both start from the same
    responsibilities and, iteration after iteration, compute the same parameters.
    ``estimator="GaussianMixture"`` fits EM from the same responsibilities instead
    (the reference for the variational fit's cost).
    """
    estimator = make_estimator(
        implementation,
        estimator,
        n_components=n_components,
        covariance_type=covariance_type,
        tol=0.0,
        max_iter=max_iter,
        init_params="random",
        random_state=random_state,
        n_jobs=n_jobs,
    )
    return quiet_fit(estimator, X)


def fit_dp_column(implementation, column, n_jobs=None, random_state=0, **params):
    """Fit the Dirichlet-process mixture of ``DP_COLUMN_PARAMS`` to one column.

    Each library initialises its own way (``init_params='kmeans'``, the default)
    and stops by its default ``tol`` and ``max_iter`` unless ``params`` say
    otherwise. ``column`` has shape (N,) or (N, 1).
    """
    estimator = make_estimator(
        implementation,
        "BayesianGaussianMixture",
        random_state=random_state,
        n_jobs=n_jobs,
        **{**DP_COLUMN_PARAMS, **params},
    )
    return quiet_fit(estimator, np.reshape(column, (-1, 1)))


def warm_up_bayesian(implementation, X, n_components, covariance_type, n_jobs=None,
                     estimator="BayesianGaussianMixture"):
    """Pay Numba compilation of a fit from random responsibilities and of its
    predictions."""
    small = X[: min(len(X), 2_000)]
    model = fit_bayesian(implementation, small, n_components, covariance_type, 2,
                         n_jobs, estimator=estimator)
    model.predict(small)
    model.score_samples(small)

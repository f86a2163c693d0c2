"""Fit, predict and score with fastgmm, scikit-learn or the NumPy baseline alike.

Every fit here starts from given ``weights_init``, ``means_init`` and
``precisions_init`` and runs exactly ``max_iter`` EM iterations (``tol=0``), so the
three implementations do the same work and timings do not depend on convergence.
"""

import contextlib
import os
import warnings

from . import numpy_em

IMPLEMENTATIONS = ("fastgmm", "sklearn", "numpy")

#: Set to "sklearn" to let scikit-learn stand in for fastgmm (to try the benchmarks
#: themselves before the estimator exists). The reports say so in their headers.
STANDIN_ENV = "FASTGMM_BENCH_STANDIN"


def standin() -> bool:
    """Whether scikit-learn stands in for fastgmm (see ``STANDIN_ENV``)."""
    return os.environ.get(STANDIN_ENV, "") == "sklearn"


def make_estimator(implementation, **params):
    """Return an unfitted ``GaussianMixture``; ``implementation`` is fastgmm or sklearn.

    ``n_jobs`` is passed to fastgmm only; scikit-learn's threads are those of its BLAS
    and OpenMP pools (limit them with threadpoolctl).
    """
    if implementation == "sklearn" or (implementation == "fastgmm" and standin()):
        from sklearn.mixture import GaussianMixture

        params.pop("n_jobs", None)
        return GaussianMixture(**params)
    if implementation == "fastgmm":
        from fastgmm import GaussianMixture

        return GaussianMixture(**params)
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
    """The mean log-likelihood of the last E-step of a fitted model."""
    return model.lower_bound if implementation == "numpy" else model.lower_bound_


def warm_up(implementation, X, init, covariance_type, n_jobs=None):
    """Pay Numba compilation (and lazy imports) with small fits and predictions."""
    small = X[: min(len(X), 2_000)]
    model = fit_model(implementation, small, init, covariance_type, 2, n_jobs)
    predict(implementation, model, small)
    score_samples(implementation, model, small)

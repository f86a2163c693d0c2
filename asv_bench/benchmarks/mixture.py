"""Gaussian mixtures: fastgmm against scikit-learn and a plain vectorised NumPy EM.

Every class is parametrised over the implementation as well as N, D, K and the
covariance type, so one ``asv run`` times all three on the same data:

- ``fastgmm``: ``fastgmm.GaussianMixture``;
- ``sklearn``: ``sklearn.mixture.GaussianMixture``;
- ``numpy``: the textbook EM of ``harness.numpy_em`` (N x K responsibilities,
  Cholesky solves), the baseline a careful NumPy user would write.

All three start from the same ``weights_init``/``means_init``/``precisions_init``
(a perturbed copy of the seeded true mixture) and run exactly ``N_ITER`` iterations
(``tol=0``). A fit's time includes its initialisation: scikit-learn runs one even when
all three initial values are given (``init_params="random_from_data"``, its cheapest).
``setup`` pays Numba compilation with small fits before anything is timed.

Sizes are kept small so that ``asv run --python=same --quick`` finishes in minutes on
a 2-core machine; ``python asv_bench/compare.py`` measures the full-size cases.

``BayesianFit``, ``BayesianFitMemory`` and ``DirichletProcessColumn`` time
``BayesianGaussianMixture`` against scikit-learn's, the baseline (there is no NumPy
one): the first two from the random responsibilities of ``init_params='random'``
(the same numbers in both libraries) with exactly ``N_ITER`` iterations, the last
as data-synthesis libraries fit one 1-D Dirichlet-process mixture per column of a
table (k-means initialisation, each library its own).

Set ``FASTGMM_BENCH_STANDIN=sklearn`` to let scikit-learn stand in for fastgmm (to
try the suite itself).
"""

import time

from harness import COVARIANCE_TYPES
from harness.data import make_mixture, make_table
from harness.fitting import (
    BAYESIAN_IMPLEMENTATIONS,
    IMPLEMENTATIONS,
    fit_bayesian,
    fit_dp_column,
    fit_model,
    predict,
    score_samples,
    warm_up,
    warm_up_bayesian,
)
from harness.memory import peak_rss_growth
from harness.timing import SETTLE_SECONDS, seconds

#: EM iterations of every timed fit.
N_ITER = 3
PARAM_NAMES = [
    "implementation",
    "n_samples",
    "n_features",
    "n_components",
    "covariance_type",
]


class _Mixture:
    """Data and initial parameters for one combination of the parameters."""

    param_names = PARAM_NAMES
    timeout = 600

    def setup(
        self, implementation, n_samples, n_features, n_components, covariance_type
    ):
        self.X, self.init = make_mixture(
            n_samples, n_features, n_components, covariance_type, seed=0
        )
        # Compiles fastgmm's kernels (or loads them from Numba's cache) before timing.
        warm_up(implementation, self.X, self.init, covariance_type)
        # Let the BLAS threads woken by the data generation go idle: spinning, they
        # slow a fit that follows at once (see harness.timing.SETTLE_SECONDS).
        time.sleep(SETTLE_SECONDS)

    def _fit(self, implementation, covariance_type):
        return fit_model(implementation, self.X, self.init, covariance_type, N_ITER)


class Fit(_Mixture):
    """``fit`` with ``N_ITER`` EM iterations, ``tol=0``, from the shared start."""

    params = (
        list(IMPLEMENTATIONS),
        [10_000, 50_000],
        [2, 16],
        [3, 16],
        list(COVARIANCE_TYPES),
    )

    def time_fit(self, implementation, n_samples, n_features, n_components, cov):
        self._fit(implementation, cov)


class FitMemory(_Mixture):
    """Memory of the same fits, on fewer sizes (memory hardly depends on D and K here).

    ``peakmem_fit`` is asv's peak resident set of the whole process, so X, the imports
    and the compiled code are in it; ``track_fit_memory_beyond_x`` isolates the fit.
    """

    params = (
        list(IMPLEMENTATIONS),
        [50_000],
        [16],
        [16],
        list(COVARIANCE_TYPES),
    )

    def peakmem_fit(self, implementation, n_samples, n_features, n_components, cov):
        self._fit(implementation, cov)

    def track_fit_memory_beyond_x(
        self, implementation, n_samples, n_features, n_components, cov
    ):
        """Peak resident bytes of one fit above the resident set just before it.

        The kernel's high-water mark is reset through /proc/self/clear_refs, so X and
        the compiled code are not counted; every page the fit touches is, whoever
        allocated it (NumPy, Numba's runtime, BLAS).
        """
        growth, _ = peak_rss_growth(lambda: self._fit(implementation, cov))
        return growth

    track_fit_memory_beyond_x.unit = "bytes"


class Predict(_Mixture):
    """``predict`` and ``score_samples`` of a model fitted from the shared start."""

    params = (
        list(IMPLEMENTATIONS),
        [50_000],
        [2, 16],
        [16],
        list(COVARIANCE_TYPES),
    )

    def setup(
        self, implementation, n_samples, n_features, n_components, covariance_type
    ):
        super().setup(
            implementation, n_samples, n_features, n_components, covariance_type
        )
        self.model = fit_model(
            implementation, self.X, self.init, covariance_type, max_iter=2
        )
        time.sleep(SETTLE_SECONDS)

    def time_predict(self, implementation, n_samples, n_features, n_components, cov):
        predict(implementation, self.model, self.X)

    def time_score_samples(
        self, implementation, n_samples, n_features, n_components, cov
    ):
        score_samples(implementation, self.model, self.X)


# ------------------------------------------------------ BayesianGaussianMixture


class _BayesianMixture:
    """Data for one combination of the parameters; compilation paid in setup."""

    param_names = PARAM_NAMES
    timeout = 600

    def setup(
        self, implementation, n_samples, n_features, n_components, covariance_type
    ):
        self.X, _ = make_mixture(
            n_samples, n_features, n_components, covariance_type, seed=0
        )
        warm_up_bayesian(implementation, self.X, n_components, covariance_type)
        time.sleep(SETTLE_SECONDS)

    def _fit(self, implementation, n_components, covariance_type, max_iter=N_ITER):
        return fit_bayesian(
            implementation, self.X, n_components, covariance_type, max_iter
        )


class BayesianFit(_BayesianMixture):
    """``fit`` of a ``BayesianGaussianMixture`` with ``N_ITER`` iterations,
    ``tol=0``, from the random responsibilities of ``random_state=0``."""

    # one size only (the grid of 64 fits with 10k rows too took half of CI's
    # quick ASV run; EM's Fit keeps both sizes)
    params = (
        list(BAYESIAN_IMPLEMENTATIONS),
        [50_000],
        [2, 16],
        [3, 16],
        list(COVARIANCE_TYPES),
    )

    def time_fit(self, implementation, n_samples, n_features, n_components, cov):
        self._fit(implementation, n_components, cov)

    def track_seconds_per_iteration(
        self, implementation, n_samples, n_features, n_components, cov
    ):
        """(fit with 1 + N_ITER iterations - fit with 1) / N_ITER: one iteration,
        without validation, the priors' pass and the initialisation."""
        one, _ = seconds(self._fit, implementation, n_components, cov, 1)
        more, _ = seconds(self._fit, implementation, n_components, cov, 1 + N_ITER)
        return (more - one) / N_ITER

    track_seconds_per_iteration.unit = "seconds"


class BayesianFitMemory(_BayesianMixture):
    """Memory of the same variational fits (see ``FitMemory``)."""

    params = (
        list(BAYESIAN_IMPLEMENTATIONS),
        [50_000],
        [16],
        [16],
        list(COVARIANCE_TYPES),
    )

    def peakmem_fit(self, implementation, n_samples, n_features, n_components, cov):
        self._fit(implementation, n_components, cov)

    def track_fit_memory_beyond_x(
        self, implementation, n_samples, n_features, n_components, cov
    ):
        """Peak resident bytes of one fit above the resident set just before it."""
        growth, _ = peak_rss_growth(
            lambda: self._fit(implementation, n_components, cov)
        )
        return growth

    track_fit_memory_beyond_x.unit = "bytes"


class DirichletProcessColumn:
    """One 1-D Dirichlet-process mixture (``harness.fitting.DP_COLUMN_PARAMS``) per
    column, k-means initialisation (each library its own), ``N_COLUMN_ITER``
    iterations with ``tol=0`` so that the time does not depend on convergence;
    ``compare.py --cases bayesian-columns`` runs the whole fits of all ten
    columns of 200,000 rows with the default ``tol`` and ``max_iter``."""

    N_COLUMN_ITER = 20
    params = (
        list(BAYESIAN_IMPLEMENTATIONS),
        [50_000],
        ["age", "price", "balance"],
    )
    param_names = ["implementation", "n_rows", "column"]
    timeout = 600

    def setup(self, implementation, n_rows, column):
        self.column = make_table(n_rows, seed=0)[column]
        fit_dp_column(implementation, self.column[:2_000], max_iter=2, tol=0.0)
        time.sleep(SETTLE_SECONDS)

    def time_fit(self, implementation, n_rows, column):
        fit_dp_column(
            implementation, self.column, max_iter=self.N_COLUMN_ITER, tol=0.0
        )

"""Gaussian-mixture EM: fastgmm against scikit-learn and a plain vectorised NumPy EM.

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

Set ``FASTGMM_BENCH_STANDIN=sklearn`` to let scikit-learn stand in for fastgmm (to
try the suite itself).
"""

import time

from harness import COVARIANCE_TYPES
from harness.data import make_mixture
from harness.fitting import (
    IMPLEMENTATIONS,
    fit_model,
    predict,
    score_samples,
    warm_up,
)
from harness.memory import peak_rss_growth
from harness.timing import SETTLE_SECONDS

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

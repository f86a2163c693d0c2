"""Missing values: fastgmm's EM with 10% of the values missing at random
(``missing_values="nan"``) against the complete-data fit of the same array.

Both fits start from the same ``weights_init``/``means_init``/``precisions_init``
(``harness.data.make_mixture``) and run exactly ``N_ITER`` iterations
(``tol=0``); the incomplete array is the complete one with a seeded 10% of its
entries replaced by NaN. ``track_missing_over_complete`` is the ratio of the two
fit times measured side by side (issue 14's targets at 1M x 16 x 16: 2.5 for
full, 1.5 for diag; ``python asv_bench/compare.py --cases missing`` and
``asv_bench/missing_timing.py`` measure that size). Sizes are small so that
``asv run --quick`` stays short; ``setup`` pays Numba compilation first.

``MissingValuesGibbs`` does the same for GibbsGaussianMixture's sweeps, which
draw the missing values (``track_missing_over_complete_sweeps``: the cost of
``N_ITER`` sweeps, a one-sweep fit subtracted, with and without NaN).
"""

import time

import numpy as np

from harness.data import make_mixture
from harness.fitting import quiet_fit
from harness.timing import best_seconds

N_ITER = 3
MISSING_FRACTION = 0.1


def with_holes(X):
    """A copy of X with a seeded ``MISSING_FRACTION`` of its entries NaN (a row
    left with none keeps its first)."""
    holes = X.copy()
    rng = np.random.default_rng(0)
    holes[rng.random(X.shape) < MISSING_FRACTION] = np.nan
    empty = np.isnan(holes).all(axis=1)
    holes[empty, 0] = X[empty, 0]
    return holes


def _model(init, covariance_type):
    from fastgmm import GaussianMixture

    return GaussianMixture(
        len(init["weights_init"]), covariance_type=covariance_type, tol=0.0,
        max_iter=N_ITER, missing_values="nan", **init,
    )


class MissingValuesFit:
    """A fit with 10% of the values missing against the complete-data fit."""

    params = ([50_000], [16], [8], ["full", "diag"])
    param_names = ["n_samples", "n_features", "n_components", "covariance_type"]

    def setup(self, n_samples, n_features, n_components, covariance_type):
        self.X, self.init = make_mixture(n_samples, n_features, n_components,
                                         covariance_type)
        self.holes = with_holes(self.X)
        for data in (self.X[:2000], self.holes[:2000]):
            quiet_fit(_model(self.init, covariance_type), data)

    def time_fit_complete(self, n_samples, n_features, n_components,
                          covariance_type):
        quiet_fit(_model(self.init, covariance_type), self.X)

    def time_fit_missing(self, n_samples, n_features, n_components,
                         covariance_type):
        quiet_fit(_model(self.init, covariance_type), self.holes)

    def track_missing_over_complete(self, n_samples, n_features, n_components,
                                    covariance_type):
        """Best of three of each fit, taken in turns."""
        best = [np.inf, np.inf]
        for _ in range(3):
            for j, data in enumerate((self.X, self.holes)):
                start = time.perf_counter()
                quiet_fit(_model(self.init, covariance_type), data)
                best[j] = min(best[j], time.perf_counter() - start)
        return best[1] / best[0]

    track_missing_over_complete.unit = "ratio"


def _sampler(n_components, covariance_type, n_draws):
    from fastgmm import GibbsGaussianMixture

    return GibbsGaussianMixture(
        n_components=n_components, covariance_type=covariance_type, n_chains=1,
        n_burn=0, n_draws=n_draws, init_params="random_from_data", random_state=0,
        missing_values="nan",
    )


class MissingValuesGibbs:
    """Gibbs sweeps with 10% of the values missing against complete-data sweeps."""

    params = ([20_000], [16], [8], ["full", "diag"])
    param_names = ["n_samples", "n_features", "n_components", "covariance_type"]

    def setup(self, n_samples, n_features, n_components, covariance_type):
        self.X, _ = make_mixture(n_samples, n_features, n_components,
                                 covariance_type)
        self.holes = with_holes(self.X)
        for data in (self.X[:2000], self.holes[:2000]):
            quiet_fit(_sampler(n_components, covariance_type, 2), data)

    def time_sweeps_missing(self, n_samples, n_features, n_components,
                            covariance_type):
        quiet_fit(_sampler(n_components, covariance_type, 1 + N_ITER), self.holes)

    def track_missing_over_complete_sweeps(self, n_samples, n_features,
                                           n_components, covariance_type):
        def sweeps(data):
            def fit(n_draws):
                return best_seconds(lambda: quiet_fit(
                    _sampler(n_components, covariance_type, n_draws), data))
            return fit(1 + N_ITER) - fit(1)

        return sweeps(self.holes) / sweeps(self.X)

    track_missing_over_complete_sweeps.unit = "ratio"

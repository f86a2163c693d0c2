"""GibbsGaussianMixture: a sweep against an EM iteration, and draws per second
on the Pyro tutorial's model.

``track_sweep_over_em_iteration`` times a one-chain sampler of 1 + ``N_SWEEPS``
sweeps against one of 1 (burn-in 0), and EM of 1 + ``N_SWEEPS`` iterations
against 1 (``tol=0``), on the same data and threads: the difference is the cost
of the sweeps and of the iterations alone (issue 12's target at 1M x 16 x 16:
1.5; ``python asv_bench/compare.py --cases gibbs`` measures that size).
``track_tutorial_draws_per_second`` fits the tutorial example's model
(3 x 100 points, 4 chains). Sizes are small so that ``asv run --quick`` stays
short; ``setup`` pays Numba compilation first.
"""

import os
import sys

from harness.data import make_mixture
from harness.fitting import quiet_fit
from harness.timing import best_seconds

N_SWEEPS = 4
TUTORIAL_DRAWS, TUTORIAL_BURN = 500, 100


def _sampler(n_components, covariance_type, n_draws):
    from fastgmm import GibbsGaussianMixture

    return GibbsGaussianMixture(
        n_components=n_components, covariance_type=covariance_type, n_chains=1,
        n_burn=0, n_draws=n_draws, init_params="random_from_data", random_state=0,
    )


def _em(init, covariance_type, max_iter):
    from fastgmm import GaussianMixture

    return GaussianMixture(
        len(init["weights_init"]), covariance_type=covariance_type, tol=0.0,
        max_iter=max_iter, **init,
    )


class GibbsSweep:
    """A Gibbs sweep next to an EM iteration on the same data."""

    params = ([20_000], [8], [8], ["full", "diag"])
    param_names = ["n_samples", "n_features", "n_components", "covariance_type"]

    def setup(self, n_samples, n_features, n_components, covariance_type):
        self.X, self.init = make_mixture(n_samples, n_features, n_components,
                                         covariance_type)
        quiet_fit(_sampler(n_components, covariance_type, 2), self.X[:2000])
        quiet_fit(_em(self.init, covariance_type, 2), self.X[:2000])

    def time_sweeps(self, n_samples, n_features, n_components, covariance_type):
        quiet_fit(_sampler(n_components, covariance_type, 1 + N_SWEEPS), self.X)

    def track_sweep_over_em_iteration(self, n_samples, n_features, n_components,
                                      covariance_type):
        def seconds_of(make, count):
            return best_seconds(lambda: quiet_fit(make(count), self.X))

        def sampler(n_draws):
            return _sampler(n_components, covariance_type, n_draws)

        def em(max_iter):
            return _em(self.init, covariance_type, max_iter)

        sweeps = seconds_of(sampler, 1 + N_SWEEPS) - seconds_of(sampler, 1)
        iterations = seconds_of(em, 1 + N_SWEEPS) - seconds_of(em, 1)
        return sweeps / iterations

    track_sweep_over_em_iteration.unit = "ratio"


class GibbsTutorial:
    """The Pyro tutorial's model (``examples/gibbs_tutorial.py``)."""

    def setup(self):
        examples = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
            os.path.abspath(__file__)))), "examples")
        sys.path.insert(0, examples)
        try:
            from gibbs_tutorial import make_data, model
        finally:
            sys.path.remove(examples)
        self.X, self.model = make_data(), model
        self.model(5, 5).fit(self.X)

    def track_tutorial_draws_per_second(self):
        fitted = self.model(TUTORIAL_DRAWS, TUTORIAL_BURN)
        seconds = best_seconds(lambda: fitted.fit(self.X))
        return fitted.n_chains * (TUTORIAL_DRAWS + TUTORIAL_BURN) / seconds

    track_tutorial_draws_per_second.unit = "draws per second"

"""Issue 12's timing figures for GibbsGaussianMixture: one sweep (sampled pass +
conjugate draws) next to one EM iteration (pass + M-step) on the same data and
threads, and 1,000 sweeps at 1M x 2, K = 3.

    python asv_bench/gibbs_timing.py [n_rows]
"""

import sys
from time import perf_counter

import numpy as np

from fastgmm._gibbs import draw_parameters
from fastgmm._kernels.random import sweep_key
from fastgmm._sources import ArraySource
from fastgmm._stats import m_step
from fastgmm._validation import numba_threads
from fastgmm._variational import resolve_priors


def setup(n_rows, n_features, n_components, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(0.0, 4.0, size=(n_components, n_features))
    X = centers[rng.integers(n_components, size=n_rows)] + rng.normal(
        size=(n_rows, n_features))
    source = ArraySource(np.ascontiguousarray(X))
    priors = resolve_priors("full", n_components, X.mean(axis=0), np.cov(X.T),
                            float(n_rows))
    stats = source.nearest_stats(centers, "full")
    params = draw_parameters(np.random.default_rng(1), stats, priors)
    return source, priors, params


def best_of(function, repeats):
    function()
    times = []
    for _ in range(repeats):
        start = perf_counter()
        function()
        times.append(perf_counter() - start)
    return min(times)


def main():
    n_rows = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    rng = np.random.default_rng(2)
    with numba_threads(None, n_rows):
        source, priors, params = setup(n_rows, 16, 16)

        def em_iteration():
            m_step(source.stats_pass(params), 1e-6)

        def sweep():
            stats = source.sampled_pass(params, None, sweep_key(
                np.uint64(0), np.uint64(0), np.uint64(1)))
            draw_parameters(rng, stats, priors)

        em, gibbs = best_of(em_iteration, 5), best_of(sweep, 5)
        print(f"{n_rows} x 16, K = 16, full: EM iteration {em * 1e3:.1f} ms, "
              f"Gibbs sweep {gibbs * 1e3:.1f} ms, ratio {gibbs / em:.2f}")

        source, priors, params = setup(n_rows, 2, 3)
        start = perf_counter()
        for s in range(1000):
            stats = source.sampled_pass(params, None, sweep_key(
                np.uint64(0), np.uint64(0), np.uint64(s)))
            params = draw_parameters(rng, stats, priors)
        print(f"{n_rows} x 2, K = 3, full: 1000 sweeps in "
              f"{perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()

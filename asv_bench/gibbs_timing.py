"""Issue 12's timing figures for GibbsGaussianMixture: one sweep (sampled pass +
conjugate draws) next to one EM iteration (pass + M-step) on the same data and
threads, and 1,000 sweeps at 1M x 2, K = 3 as ``fit`` runs them
(``_gibbs.run_sweeps``: at this size a Python loop over the parallel pass and the
compiled draws; the sweeps only, no initialisation).

    python asv_bench/gibbs_timing.py [n_rows] [--sweeps-only]

Wall-clock seconds, and the process's CPU seconds (on a shared machine, CPU / wall
far below the thread count means other work took the cores).
"""

import sys
from time import perf_counter, process_time

import numpy as np

from fastgmm._gibbs import (
    ChainState,
    KeptDraws,
    draw_parameters,
    kernel_priors,
    run_sweeps,
    single_segment,
)
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
    return source, priors, params, stats


def chain_sweeps(source, priors, stats, n_sweeps, rng):
    """n_sweeps sweeps of one chain (and the pass giving its last draw's
    log-likelihood) from the draw given ``stats``."""
    ctype = stats.covariance_type
    state = ChainState(ctype, *stats.s1.shape, n_chunks=source.n_chunks)
    priors = kernel_priors(priors, ctype)
    state.draw(rng, stats, priors)
    kept = KeptDraws(state, n_sweeps)
    run_sweeps(source, state, rng, priors, 0, 0, (0, n_sweeps), 0, 1, kept,
               single_segment(source))
    return kept


def best_of(function, repeats):
    function()
    times = []
    for _ in range(repeats):
        start = perf_counter()
        function()
        times.append(perf_counter() - start)
    return min(times)


def main():
    arguments = [a for a in sys.argv[1:] if not a.startswith("--")]
    n_rows = int(arguments[0]) if arguments else 1_000_000
    rng = np.random.default_rng(2)
    with numba_threads(None, n_rows):
        if "--sweeps-only" not in sys.argv:
            sweep_versus_em(n_rows, rng)
        source, priors, _, stats = setup(n_rows, 2, 3)
        chain_sweeps(source, priors, stats, 2, rng)  # compile before timing
        start, cpu = perf_counter(), process_time()
        chain_sweeps(source, priors, stats, 1000, rng)
        print(f"{n_rows} x 2, K = 3, full: 1000 sweeps in "
              f"{perf_counter() - start:.1f} s ({process_time() - cpu:.1f} s of CPU)")


def sweep_versus_em(n_rows, rng):
    source, priors, params, _ = setup(n_rows, 16, 16)

    def em_iteration():
        m_step(source.stats_pass(params), 1e-6)

    def sweep():
        stats = source.sampled_pass(params, None, sweep_key(
            np.uint64(0), np.uint64(0), np.uint64(1)))
        draw_parameters(rng, stats, priors)

    em, gibbs = best_of(em_iteration, 5), best_of(sweep, 5)
    print(f"{n_rows} x 16, K = 16, full: EM iteration {em * 1e3:.1f} ms, "
          f"Gibbs sweep {gibbs * 1e3:.1f} ms, ratio {gibbs / em:.2f}")


if __name__ == "__main__":
    main()

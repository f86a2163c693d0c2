"""Where an EM pass spends its time, stage by stage, on one thread.

    python asv_bench/stage_profile.py [full|tied|diag|spherical] [N] [D] [K] [float32]

Runs the kernels of one ``em.accumulate`` kernel-block loop in a plain (non-parallel)
compiled loop, adding one stage at a time: the transpose of each block, the
log-densities, the normalisation to responsibilities, the statistics. Each line
is the best of five passes over all N rows; the difference to the line above is
that stage's cost. Not collected by ASV (outside ``benchmarks/``).
"""

import sys
import time

import numba
import numpy as np

from fastgmm._config import BLOCK_ROWS
from fastgmm._covariance import covariance_type as covariance_type_named
from fastgmm._kernels import common, em
from fastgmm._params import Params, kernel_params
from harness.data import make_mixture

STAGES = ("transpose", "+ log-density", "+ normalise", "+ statistics")


@numba.njit
def _run(kind, X, means, factor, log_norm, aux, shift, stages):
    n_rows, n_features = X.shape
    n_components = means.shape[0]
    variant = em.kernel_variant(kind, n_features, X.itemsize)
    work = np.empty((common.work_rows(n_features), BLOCK_ROWS))
    logp = np.empty((n_components, BLOCK_ROWS))
    lse = np.empty(BLOCK_ROWS)
    row_sums = np.empty((2, BLOCK_ROWS))
    idx = np.empty(BLOCK_ROWS, dtype=np.int64)
    no_weights = np.empty(0)
    s0 = np.zeros(n_components)
    s1 = np.zeros((n_components, n_features))
    k2 = 1 if kind == common.TIED else n_components
    d2 = 1 if kind == common.DIAG else n_features
    s2 = np.zeros((k2, d2, n_features))
    for start in range(0, n_rows, BLOCK_ROWS):
        n = min(BLOCK_ROWS, n_rows - start)
        common.transpose_block(X, start, n, work)
        if stages >= 2:
            em._log_prob_block(kind, variant, n_features, n, means, factor,
                               log_norm, aux, shift, logp, work)
        if stages >= 3:
            common.normalise_rows(logp, n, lse, row_sums, False)
        if stages >= 4:
            em._add_stats_block(kind, variant, n_features, start, n, logp,
                                no_weights, means, factor, shift, s0, s1, s2, work,
                                idx)
    return s0.sum()


def main(argv):
    covariance_type = argv[0] if argv else "diag"
    n, d, k = (int(v) for v in (argv[1:4] if len(argv) >= 4 else (1_000_000, 16, 16)))
    X, init = make_mixture(n, d, k, covariance_type, seed=0)
    if "float32" in argv[4:]:
        X = X.astype(np.float32)
    start = Params(covariance_type_named(covariance_type), init["weights_init"],
                   init["means_init"], None, None)
    kp = kernel_params(start.with_precisions(init["precisions_init"]))
    args = (kp.kind, X, kp.means, kp.factor, kp.log_norm, kp.aux, kp.shift)
    print(f"{n:,} x {d} x {k} {covariance_type} {X.dtype}, one thread, ms per pass")
    previous = 0.0
    for stages, name in enumerate(STAGES, start=1):
        _run(*args, stages)  # compile
        best = float("inf")
        for _ in range(5):
            started = time.perf_counter()
            _run(*args, stages)
            best = min(best, time.perf_counter() - started)
        ms = 1e3 * best
        print(f"  {name:<15} {ms:7.1f}  (+{ms - previous:.1f})")
        previous = ms


if __name__ == "__main__":
    main(sys.argv[1:])

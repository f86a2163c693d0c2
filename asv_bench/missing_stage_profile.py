"""Where a full model's pass over rows with missing values spends its time, on one
thread, against the same rows complete.

    NUMBA_NUM_THREADS=1 python asv_bench/missing_stage_profile.py [N] [D] [K]

Runs the kernels of ``accumulate_missing``'s block loop for a full model (fitted for
two iterations to the first 20,000 complete rows of ``missing_timing.make_data``) in
a plain compiled loop, with a clock around each stage: the transpose and list of the
missing entries, the completions (``_complete_full``), the log-densities (with the
completions written into the block once per component), the normalisation, the
statistics (written again) and the conditional covariances. "write completions" is
timed on its own as well: K writes of the block's completions, which the two
stages above each contain. Best of five passes over N rows (default 200,000), in
ms. Not collected by ASV (outside ``benchmarks/``).
"""

import sys
import time
import warnings

import numba
import numpy as np

from fastgmm import GaussianMixture
from fastgmm._config import BLOCK_ROWS
from fastgmm._kernels import common, em
from fastgmm._kernels import missing as M
from fastgmm._missing import missing_params
from missing_timing import make_data

STAGES = ("scan", "completions", "(write completions x K)", "log-density",
          "normalise", "statistics", "conditional covariances")


@numba.njit
def _now():
    with numba.objmode(t="f8"):
        t = time.perf_counter()
    return t


@numba.njit
def _run(kind, X, means, factor, log_norm, aux, shift, precision, precision_t,
         log_minors, columns, center, elapsed):
    n_rows, d = X.shape
    n_components = means.shape[0]
    variant = em.kernel_variant(kind, d, X.itemsize)
    logp = np.empty((n_components, BLOCK_ROWS))
    lse = np.empty(BLOCK_ROWS)
    row_sums = np.empty((3, BLOCK_ROWS))
    work = np.empty((common.work_rows(d), BLOCK_ROWS))
    idx = np.empty(BLOCK_ROWS, dtype=np.int64)
    count = np.empty(BLOCK_ROWS, dtype=np.int64)
    features = np.empty((BLOCK_ROWS, d), dtype=np.int64)
    offset = np.empty(BLOCK_ROWS, dtype=np.int64)
    fills, position = M._fills_scratch(kind, n_components)
    conditional = np.empty((BLOCK_ROWS, n_components))
    sums = np.empty((d, d, n_components))
    correction = np.empty((n_components, BLOCK_ROWS))
    vectors = np.zeros((M.N_VECTORS, max(d, n_components)))
    g = np.empty((d, n_components))
    chol = np.empty((4, 4, n_components))
    s0 = np.zeros(n_components)
    s1 = np.zeros((n_components, d))
    s2 = np.zeros((n_components, d, d))
    no_weights = np.empty(0)
    elapsed[:] = 0.0
    for start in range(0, n_rows, BLOCK_ROWS):
        n = min(BLOCK_ROWS, n_rows - start)
        t0 = _now()
        n_missing = M._scan_block(kind, False, X, start, n, work, count, features,
                                  offset)
        t1 = _now()
        elapsed[0] += t1 - t0
        if n_missing == 0:
            em._log_prob_block(kind, variant, d, n, means, factor, log_norm, aux,
                               shift, logp, work)
            t2 = _now()
            elapsed[3] += t2 - t1
            common.normalise_rows(logp, n, lse, row_sums, False, False)
            t3 = _now()
            elapsed[4] += t3 - t2
            em._add_stats_block(kind, variant, d, start, n, logp, no_weights, means,
                                factor, shift, s0, s1, s2, work, idx)
            elapsed[5] += _now() - t3
            continue
        fills, position, conditional, chol = M._block_scratch(
            kind, count, n, n_missing, fills, position, conditional, chol)
        M._complete_full(X, start, n, count, features, offset, center, columns,
                         precision_t, log_minors, fills, correction, conditional, g,
                         chol, vectors[M._LOG_DET, :n_components], vectors[M._T])
        M._entry_positions(n, count, features, offset, work.shape[1], position)
        t2 = _now()
        elapsed[1] += t2 - t1
        for k in range(n_components):
            M._write_fills(k, work, n_missing, position, fills)
        t3 = _now()
        elapsed[2] += t3 - t2
        for k in range(n_components):
            M._write_fills(k, work, n_missing, position, fills)
            M._log_prob_completed_full(k, d, n, means, factor, log_norm, correction,
                                       vectors[M._ZERO], logp, work)
        t4 = _now()
        elapsed[3] += t4 - t3
        common.normalise_rows(logp, n, lse, row_sums, False, False)
        t5 = _now()
        elapsed[4] += t5 - t4
        for k in range(n_components):
            M._write_fills(k, work, n_missing, position, fills)
            common.add_component_stats(work, d, n, logp, no_weights, start, k,
                                       means[k], idx, s0, s1, s2[k])
        t6 = _now()
        elapsed[5] += t6 - t5
        M._add_conditional_covariances(n, logp, no_weights, start, count, features,
                                       conditional, vectors[M._T], sums, s2)
        elapsed[6] += _now() - t6
    return s0.sum()


def main(argv=None):
    given = [int(a) for a in (sys.argv[1:] if argv is None else argv)[:3]]
    n_rows, d, k = given + [200_000, 16, 16][len(given):]
    X, holes = make_data(n_rows, d, k, 0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = GaussianMixture(k, covariance_type="full", max_iter=2, tol=0.0,
                                random_state=0).fit(X[:20_000])
    kp, *missing = missing_params(model._fitted_state(), None)
    best = {}
    for label, data in (("complete", X), ("10% missing", holes)):
        elapsed = np.zeros(len(STAGES))
        for _ in range(5):  # the clocks run inside: compiling is not counted
            _run(kp.kind, data, kp.means, kp.factor, kp.log_norm, kp.aux, kp.shift,
                 *missing, elapsed)
            total = elapsed.sum() - elapsed[2]
            if label not in best or total < best[label][0]:
                best[label] = (total, elapsed.copy())
    print(f"{n_rows:,} x {d} x {k} full, one thread, ms")
    print(f"{'stage':26s} {'complete':>9s} {'missing':>9s}")
    for j, name in enumerate(STAGES):
        print(f"{name:26s} {1e3 * best['complete'][1][j]:9.1f} "
              f"{1e3 * best['10% missing'][1][j]:9.1f}")
    complete, missing_total = best["complete"][0], best["10% missing"][0]
    print(f"{'total':26s} {1e3 * complete:9.1f} {1e3 * missing_total:9.1f}"
          f"   missing / complete {missing_total / complete:.2f}")


if __name__ == "__main__":
    main()

"""Bitwise reproducibility whatever the thread count, and thread-count hygiene."""

import json
import os
import subprocess
import sys
import threading

import numba
import numpy as np
import pytest

from fastgmm import GaussianMixture

# Enough rows for several chunks (see fastgmm._config.chunk_layout), so threads
# really do split the work.
N_ROWS = 40_000

FIT_SCRIPT = """
import hashlib, json, sys, warnings
import numpy as np
from fastgmm import GaussianMixture
warnings.simplefilter("ignore")
rng = np.random.RandomState(0)
X = np.vstack([rng.randn({n} // 2, 3), rng.randn({n} - {n} // 2, 3) * 0.5 + 2.0])
out = {{}}
for cov in ["full", "tied", "diag", "spherical"]:
    gm = GaussianMixture(3, covariance_type=cov, random_state=1, max_iter=15,
                         n_jobs={n_jobs}).fit(X)
    digest = hashlib.sha256()
    for a in (gm.weights_, gm.means_, gm.covariances_, gm.precisions_cholesky_,
              np.array(gm.lower_bounds_), gm.predict_proba(X[:500]),
              gm.score_samples(X[:500])):
        digest.update(np.ascontiguousarray(a).tobytes())
    out[cov] = digest.hexdigest()
import numba
out["threads"] = numba.config.NUMBA_NUM_THREADS
print(json.dumps(out))
"""


def _fit_in_subprocess(numba_threads, n_jobs="None"):
    env = dict(os.environ, NUMBA_NUM_THREADS=str(numba_threads))
    script = FIT_SCRIPT.format(n=N_ROWS, n_jobs=n_jobs)
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True,
        timeout=600, check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_bitwise_identical_for_1_2_3_numba_threads():
    # A first run compiles whatever the on-disk cache lacks; the compared runs then
    # all load the same machine code. (Numba's freshly compiled and cache-loaded
    # code can round differently in the last bit: numba/numba#10617.)
    _fit_in_subprocess(2)
    runs = {t: _fit_in_subprocess(t) for t in (1, 2, 3)}
    assert [runs[t].pop("threads") for t in (1, 2, 3)] == [1, 2, 3]
    assert runs[1] == runs[2] == runs[3]


def _digest(gm, X):
    return [np.ascontiguousarray(a).tobytes() for a in (
        gm.weights_, gm.means_, gm.covariances_, gm.precisions_cholesky_,
        gm.predict_proba(X[:300]))]


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
def test_n_jobs_does_not_change_a_bit(covariance_type):
    rng = np.random.RandomState(3)
    X = np.vstack([rng.randn(N_ROWS // 2, 4), rng.randn(N_ROWS // 2, 4) + 3])
    digests = [
        _digest(GaussianMixture(4, covariance_type=covariance_type, random_state=0,
                                max_iter=10, tol=0, n_jobs=n).fit(X), X)
        for n in (1, 2, 3, None)
    ]
    assert all(d == digests[0] for d in digests[1:])


def test_n_jobs_is_restored_after_fit_and_after_an_error():
    before = numba.get_num_threads()
    X = np.random.RandomState(0).randn(N_ROWS, 2)
    GaussianMixture(2, n_jobs=1, max_iter=3).fit(X)
    assert numba.get_num_threads() == before
    with pytest.raises(ValueError):
        GaussianMixture(2, n_jobs=1).fit(np.full((10, 2), np.nan))
    assert numba.get_num_threads() == before
    fitted = GaussianMixture(2, n_jobs=1, max_iter=3).fit(X)
    with pytest.raises(ValueError):
        fitted.predict(np.ones((5, 3)))  # wrong number of features
    assert numba.get_num_threads() == before


def test_concurrent_fits_from_python_threads_match_serial_fits():
    rng = np.random.RandomState(5)
    datasets = [np.vstack([rng.randn(6000, 3), rng.randn(6000, 3) * 0.3 + i])
                for i in range(4)]
    serial = [GaussianMixture(2, random_state=0, max_iter=20).fit(X).means_
              for X in datasets]
    results = [None] * len(datasets)
    errors = []

    def work(i):
        try:
            gm = GaussianMixture(2, random_state=0, max_iter=20,
                                 n_jobs=1 + i % 2).fit(datasets[i])
            results[i] = gm.means_
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(datasets))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for got, expected in zip(results, serial):
        np.testing.assert_array_equal(got, expected)

"""Fitting beyond one in-memory array: sample weights, memory-mapped files, online
EM (``partial_fit``) and Dask, each timed against the in-memory fit it replaces.

- ``WeightedFit``: ``fit(X, sample_weight=w)`` with integer weights against the
  fit of the rows repeated ``w`` times (the same statistics, ~2.5x fewer rows).
- ``MemmapFit``: ``fit(np.load(path, mmap_mode='r'))`` against ``fit`` of the same
  array in memory, and the peak *anonymous* memory of the memory-mapped fit above
  the process's before it (pages of the file itself are not anonymous: the kernel
  can drop them and read them again, so they are not the fit's memory).
- ``PartialFit``: ``partial_fit`` throughput, points per second, on batches of
  10,000.
- ``DaskFit``: EM iterations on a dask array persisted on a ``LocalCluster`` of
  two single-threaded worker processes, against the in-memory fit.

Every timed fit starts from given ``weights_init``/``means_init``/``precisions_init``
and runs exactly ``N_ITER`` iterations (``tol=0``), so timings do not depend on
convergence; ``setup`` pays Numba compilation first. Sizes are small so that
``asv run --quick`` stays short on a 2-core machine; run this module from
``asv_bench/`` (``python -m benchmarks.bench_scale --full``) for the full-size
figures (40M x 4 memory map, 1M x 8 Dask fit with K = 8, 1M streamed points).
Data and initial parameters come from ``harness.data.make_mixture`` (full
covariances).
"""

import os
import shutil
import sys
import tempfile
import time
import warnings

import numpy as np

from harness.data import make_mixture, write_mixture_file
from harness.fitting import quiet_fit
from harness.memory import peak_anon_growth

N_ITER = 5


def model(init, **kwargs):
    """An unfitted fastgmm model that runs ``N_ITER`` iterations from ``init``."""
    from fastgmm import GaussianMixture

    settings = dict(tol=0.0, max_iter=N_ITER, **init)
    settings.update(kwargs)
    return GaussianMixture(len(init["weights_init"]), **settings)


def spread(client, D):
    """Persist ``D`` on the cluster with its chunks spread evenly over the workers.

    ``da.from_array`` makes every chunk a slice of one array held by one worker,
    so they would all stay there and one worker would do all the work."""
    from distributed import wait

    D = D.persist()
    wait(D)
    client.rebalance(D)
    return D


# ------------------------------------------------------------------ asv classes


class WeightedFit:
    """Integer sample weights against the same rows repeated."""

    params = ([50_000], [4], [4])
    param_names = ["n_samples", "n_features", "n_components"]

    def setup(self, n_samples, n_features, n_components):
        self.X, self.init = make_mixture(n_samples, n_features, n_components)
        self.weights = np.random.RandomState(1).randint(1, 5, size=n_samples)
        self.repeated = np.repeat(self.X, self.weights, axis=0)
        quiet_fit(model(self.init), self.X[:2000], sample_weight=self.weights[:2000])

    def time_fit_weighted(self, n_samples, n_features, n_components):
        quiet_fit(model(self.init), self.X, sample_weight=self.weights)

    def time_fit_repeated(self, n_samples, n_features, n_components):
        quiet_fit(model(self.init), self.repeated)


class MemmapFit:
    """A memory-mapped .npy file against the same array in memory."""

    params = ([2_000_000], [4], [4])
    param_names = ["n_samples", "n_features", "n_components"]
    timeout = 600

    def setup(self, n_samples, n_features, n_components):
        self.directory = tempfile.mkdtemp(prefix="fastgmm-bench-")
        self.X, self.init = make_mixture(n_samples, n_features, n_components)
        path = os.path.join(self.directory, "X.npy")
        np.save(path, self.X)
        self.mapped = np.load(path, mmap_mode="r")
        quiet_fit(model(self.init), self.mapped[:5000])
        quiet_fit(model(self.init), self.X[:5000])

    def teardown(self, n_samples, n_features, n_components):
        del self.mapped
        shutil.rmtree(self.directory, ignore_errors=True)

    def time_fit_memmap(self, n_samples, n_features, n_components):
        quiet_fit(model(self.init), self.mapped)

    def time_fit_in_memory(self, n_samples, n_features, n_components):
        quiet_fit(model(self.init), self.X)

    def track_memmap_peak_anonymous_bytes(self, n_samples, n_features, n_components):
        """Default k-means initialisation included: its scratch is the largest."""
        growth, _ = peak_anon_growth(
            lambda: quiet_fit(_kmeans_model(n_components), self.mapped)
        )
        return growth

    track_memmap_peak_anonymous_bytes.unit = "bytes"


def _kmeans_model(n_components):
    from fastgmm import GaussianMixture

    return GaussianMixture(n_components, random_state=0, max_iter=N_ITER, tol=0.0)


class PartialFit:
    """Online EM throughput on batches of 10,000 points."""

    params = ([200_000], [4], [5])
    param_names = ["n_samples", "n_features", "n_components"]

    def setup(self, n_samples, n_features, n_components):
        self.X, _ = make_mixture(n_samples, n_features, n_components)
        self._stream(self.X[:30_000], n_components)

    @staticmethod
    def _stream(X, n_components, batch=10_000):
        from fastgmm import GaussianMixture

        online = GaussianMixture(n_components, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for start in range(0, X.shape[0], batch):
                online.partial_fit(X[start : start + batch])
        return online

    def time_partial_fit_stream(self, n_samples, n_features, n_components):
        self._stream(self.X, n_components)

    def track_points_per_second(self, n_samples, n_features, n_components):
        start = time.perf_counter()
        self._stream(self.X, n_components)
        return n_samples / (time.perf_counter() - start)

    track_points_per_second.unit = "points/s"


class DaskFit:
    """EM on a persisted dask array on a LocalCluster against the in-memory fit."""

    params = ([200_000], [8], [8])
    param_names = ["n_samples", "n_features", "n_components"]
    timeout = 600

    def setup(self, n_samples, n_features, n_components):
        try:
            import dask.array as da
            from distributed import Client, LocalCluster
        except ImportError as exc:  # the [dask] extra is not installed
            raise NotImplementedError("dask and distributed are needed") from exc
        self.cluster = LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        )
        self.client = Client(self.cluster)
        self.X, self.init = make_mixture(n_samples, n_features, n_components)
        self.D = spread(
            self.client, da.from_array(self.X, chunks=(n_samples // 8, n_features))
        )
        # every worker loads the kernels before timing
        quiet_fit(model(self.init, n_jobs=1, max_iter=1), self.D)
        quiet_fit(model(self.init), self.X[:5000])

    def teardown(self, n_samples, n_features, n_components):
        self.client.close()
        self.cluster.close()

    def time_fit_dask(self, n_samples, n_features, n_components):
        quiet_fit(model(self.init, n_jobs=1), self.D)

    def time_fit_in_memory(self, n_samples, n_features, n_components):
        quiet_fit(model(self.init), self.X)


# ------------------------------------------------------- full-size measurements

_MEMMAP_CHILD = r"""
import sys, time, json, warnings
import numpy as np
sys.path.insert(0, sys.argv[4])
from harness.fitting import quiet_fit
from harness.memory import peak_anon_growth
from fastgmm import GaussianMixture
path, mode, out = sys.argv[1], sys.argv[2], sys.argv[3]
small = np.load(path, mmap_mode="r")[:20000]
np.save(out + ".warm.npy", np.ascontiguousarray(small))
warm = np.load(out + ".warm.npy", mmap_mode="r")
quiet_fit(GaussianMixture(4, random_state=0, max_iter=2), warm if mode == "memmap"
          else np.array(warm))
X = np.load(path, mmap_mode="r") if mode == "memmap" else np.load(path)
gm = GaussianMixture(4, random_state=0, max_iter=10, tol=0.0)
start = time.perf_counter()
growth, _ = peak_anon_growth(lambda: quiet_fit(gm, X))
elapsed = time.perf_counter() - start
np.savez(out, means=gm.means_, covariances=gm.covariances_, weights=gm.weights_)
with open("/proc/self/status") as status:
    hwm = [line for line in status if line.startswith("VmHWM")][0].split()[1]
print(json.dumps({"seconds": elapsed, "peak_anon_growth": growth,
                  "vmhwm_kib": int(hwm)}))
"""


def measure_memmap(n_samples=40_000_000, n_features=4, directory=None):
    import json
    import subprocess

    directory = tempfile.mkdtemp(prefix="fastgmm-memmap-", dir=directory)
    try:
        path = os.path.join(directory, "X.npy")
        write_mixture_file(path, n_samples, n_features, 4)
        size = os.path.getsize(path)
        asv_bench = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        results = {}
        for mode in ["memmap", "in_memory"]:
            out = os.path.join(directory, mode)
            child = subprocess.run(
                [sys.executable, "-c", _MEMMAP_CHILD, path, mode, out, asv_bench],
                capture_output=True,
                text=True,
                check=True,
            )
            results[mode] = json.loads(child.stdout.strip().splitlines()[-1])
        a = np.load(os.path.join(directory, "memmap.npz"))
        b = np.load(os.path.join(directory, "in_memory.npz"))
        same = all(np.array_equal(a[k], b[k]) for k in a.files)
        print(
            f"memmap fit of {n_samples} x {n_features} float64 ({size / 1e9:.2f} GB), "
            "K=4, k-means init + 10 EM iterations"
        )
        for mode, r in results.items():
            print(
                f"  {mode:10s} {r['seconds']:7.2f} s   peak anonymous growth "
                f"{r['peak_anon_growth'] / 2**20:8.1f} MiB "
                f"({100 * r['peak_anon_growth'] / size:5.2f}% of the file)   "
                f"VmHWM {r['vmhwm_kib'] / 2**20:.2f} GiB"
            )
        print(f"  fitted parameters bitwise equal: {same}")
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def measure_weighted(n_samples=1_000_000, n_features=4, n_components=4):
    X, init = make_mixture(n_samples, n_features, n_components)
    weights = np.random.RandomState(1).randint(0, 5, size=n_samples)
    repeated = np.repeat(X, weights, axis=0)
    quiet_fit(model(init), X[:2000], sample_weight=weights[:2000])
    start = time.perf_counter()
    a = quiet_fit(model(init, max_iter=20), X, sample_weight=weights)
    weighted_s = time.perf_counter() - start
    start = time.perf_counter()
    b = quiet_fit(model(init, max_iter=20), repeated)
    repeated_s = time.perf_counter() - start
    worst = max(
        np.max(np.abs(getattr(a, n) - getattr(b, n)) / np.abs(getattr(b, n)).max())
        for n in ["weights_", "means_", "covariances_"]
    )
    print(
        f"weighted fit of {n_samples} x {n_features}, K={n_components}, integer "
        f"weights 0..4 ({repeated.shape[0]} repeated rows), 20 iterations:"
    )
    print(
        f"  weighted {weighted_s:.2f} s, repeated {repeated_s:.2f} s; largest "
        f"relative difference of the parameters {worst:.1e}; lower bounds "
        f"{a.lower_bound_!r} vs {b.lower_bound_!r}"
    )


def measure_partial_fit(n_samples=1_000_000, batch=10_000):
    from fastgmm import GaussianMixture

    points, _ = make_mixture(n_samples + 200_000, 3, 5, seed=6)
    X, held_out = points[:n_samples], points[n_samples:]
    start = time.perf_counter()
    full = quiet_fit(GaussianMixture(5, random_state=0, tol=1e-6, max_iter=1000), X)
    batch_s = time.perf_counter() - start
    online = GaussianMixture(5, random_state=0)
    PartialFit._stream(X[:30_000], 5)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for s in range(0, n_samples, batch):
            online.partial_fit(X[s : s + batch])
    online_s = time.perf_counter() - start
    ref, got = full.score(held_out), online.score(held_out)
    print(f"partial_fit: {n_samples} points (5 components, D=3) in batches of {batch}")
    print(
        f"  held-out mean log-likelihood: batch EM {ref:.5f} ({full.n_iter_} "
        f"iterations, {batch_s:.2f} s), online {got:.5f} ({online_s:.2f} s, "
        f"{n_samples / online_s:,.0f} points/s); "
        f"gap {100 * (ref - got) / abs(ref):.4f}%"
    )


def measure_dask(
    n_samples=1_000_000, n_features=8, n_components=8, n_more=10, repeats=5
):
    """Seconds per EM iteration: (fit with 1 + n_more iterations - fit with 1) /
    n_more, the median of ``repeats``, in memory and on a LocalCluster of two
    single-threaded workers (n_jobs=1: one Numba thread per worker, so the two
    workers fill two cores)."""
    import statistics

    import dask.array as da
    from distributed import Client, LocalCluster

    X, init = make_mixture(n_samples, n_features, n_components)

    def per_iteration(data, n_jobs):
        values = []
        for _ in range(repeats):
            times = []
            for max_iter in (1, 1 + n_more):
                estimator = model(init, max_iter=max_iter, n_jobs=n_jobs)
                start = time.perf_counter()
                quiet_fit(estimator, data)
                times.append(time.perf_counter() - start)
            values.append((times[1] - times[0]) / n_more)
        return statistics.median(values)

    quiet_fit(model(init), X[:5000])
    results = {}
    for n_jobs in (None, 1):
        results[f"in memory, n_jobs={n_jobs}"] = per_iteration(X, n_jobs)
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        for n_chunks in (2, 8):
            D = spread(
                client, da.from_array(X, chunks=(n_samples // n_chunks, n_features))
            )
            quiet_fit(model(init, n_jobs=1, max_iter=2), D)
            results[f"dask LocalCluster 2 workers x 1 thread, {n_chunks} chunks"] = (
                per_iteration(D, 1)
            )
        a = quiet_fit(model(init, max_iter=20), X)
        b = quiet_fit(model(init, max_iter=20), D)
        worst = max(
            np.max(np.abs(getattr(a, n) - getattr(b, n)) / np.abs(getattr(a, n)).max())
            for n in ["weights_", "means_", "covariances_"]
        )
    print(
        f"Dask: {n_samples} x {n_features}, K={n_components}, full covariance, "
        f"seconds per EM iteration (median of {repeats})"
    )
    for name, value in results.items():
        print(f"  {name:50s} {value:.3f}")
    print(
        "  20 iterations from the same start, dask vs in memory: largest relative "
        f"difference {worst:.1e}"
    )


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="run every measurement")
    parser.add_argument(
        "sections",
        nargs="*",
        help="measurements to run: weighted, memmap, partial_fit, "
        "dask (default with --full: all)",
    )
    parser.add_argument("--memmap-rows", type=int, default=40_000_000)
    parser.add_argument("--tmp", default=None, help="directory for the memmap file")
    args = parser.parse_args()
    sections = args.sections or (
        ["weighted", "memmap", "partial_fit", "dask"] if args.full else []
    )
    unknown = set(sections) - {"weighted", "memmap", "partial_fit", "dask"}
    if not sections or unknown:
        parser.error(
            "name the measurements to run (weighted, memmap, partial_fit, "
            "dask), or pass --full"
        )
    for section in sections:
        if section == "weighted":
            measure_weighted()
        elif section == "memmap":
            measure_memmap(args.memmap_rows, directory=args.tmp)
        elif section == "partial_fit":
            measure_partial_fit()
        else:
            measure_dask()
        sys.stdout.flush()

"""fit(np.load(path, mmap_mode='r')): streamed block by block, never copied, and
bitwise equal to the fit of the same rows in memory."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from numpy.testing import assert_array_equal

import fastgmm._kmeans as kmeans_module
import fastgmm._sources as sources
from fastgmm import GaussianMixture

FITTED = ["weights_", "means_", "covariances_", "precisions_cholesky_", "precisions_"]

pytestmark = pytest.mark.filterwarnings(
    "ignore::sklearn.exceptions.ConvergenceWarning"
)


def _data(n=12_000, seed=0):
    """30,000 rows: seven chunks of the kernels' partition."""
    rng = np.random.RandomState(seed)
    return np.vstack([
        rng.randn(n, 3),
        rng.randn(n, 3) * 0.6 + [5.0, 0.0, 2.0],
        rng.randn(n // 2, 3) * 0.4 - 4.0,
    ]) + 1e3


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of one chunk, so even a small file is read in many blocks."""
    monkeypatch.setattr(sources, "STREAM_SEGMENT_BYTES", 1)


def test_small_blocks_really_split_the_file(small_blocks):
    source = sources.ArraySource(np.zeros((30_000, 3)), streamed=True)
    assert len(list(source.segments(scratch_bytes_per_row=16))) >= 5


def _read_only(X):
    """X itself, marked read-only like the memory map it is compared with, so that
    both fits run the same compiled kernels: Numba compiles read-only and
    writable arrays separately, and freshly compiled and cache-loaded code can
    round differently in the last bit (numba/numba#10617)."""
    X.setflags(write=False)
    return X


def _mapped(tmp_path, X, name="X.npy"):
    path = tmp_path / name
    np.save(path, X)
    return np.load(path, mmap_mode="r")


def _assert_same_fit(a, b):
    for name in FITTED:
        assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert a.lower_bounds_ == b.lower_bounds_
    assert a.n_iter_ == b.n_iter_


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
@pytest.mark.parametrize("init_params",
                         ["kmeans", "k-means++", "random", "random_from_data"])
def test_memmap_fit_is_bitwise_the_in_memory_fit(tmp_path, small_blocks,
                                                 covariance_type, init_params):
    X = _read_only(_data())
    mapped = _mapped(tmp_path, X)
    params = dict(n_components=3, covariance_type=covariance_type,
                  init_params=init_params, random_state=0, max_iter=15)
    a = GaussianMixture(**params).fit(X)
    b = GaussianMixture(**params).fit(mapped)
    _assert_same_fit(a, b)
    assert_array_equal(a.predict_proba(X), b.predict_proba(mapped))
    assert_array_equal(a.score_samples(X), a.score_samples(mapped))
    assert_array_equal(a.predict(X), a.predict(mapped))


@pytest.mark.parametrize("init_params", ["kmeans", "k-means++", "random_from_data"])
def test_weighted_memmap_fit_is_bitwise_the_in_memory_fit(tmp_path, small_blocks,
                                                          init_params):
    X = _read_only(_data(seed=1))
    weights = np.random.RandomState(2).randint(0, 4, size=X.shape[0]).astype(float)
    mapped = _mapped(tmp_path, X)
    params = dict(n_components=3, init_params=init_params, random_state=0,
                  max_iter=15)
    a = GaussianMixture(**params).fit(X, sample_weight=weights)
    b = GaussianMixture(**params).fit(mapped, sample_weight=weights)
    _assert_same_fit(a, b)


@pytest.mark.parametrize("weighted", [False, True])
def test_sampled_kmeans_memmap_fit_is_bitwise_the_in_memory_fit(
        tmp_path, small_blocks, monkeypatch, weighted):
    """Lloyd on a sample of the rows (forced here by a small sample size): the
    sample is read from the file, so the centers are those of the array."""
    monkeypatch.setattr(kmeans_module, "LLOYD_MIN_SAMPLE", 4000)
    X = _read_only(_data(seed=4))
    weights = None
    if weighted:
        weights = np.random.RandomState(5).randint(0, 3, size=X.shape[0]) * 1.0
    mapped = _mapped(tmp_path, X)
    params = dict(n_components=3, init_params="kmeans", random_state=0, max_iter=5)
    a = GaussianMixture(**params).fit(X, sample_weight=weights)
    b = GaussianMixture(**params).fit(mapped, sample_weight=weights)
    _assert_same_fit(a, b)


def test_block_size_does_not_change_the_fit(tmp_path, monkeypatch):
    X = _data(seed=3)
    mapped = _mapped(tmp_path, X)
    fits = []
    for block_bytes in [1, 200_000, 2**40]:
        monkeypatch.setattr(sources, "STREAM_SEGMENT_BYTES", block_bytes)
        fits.append(GaussianMixture(3, random_state=0, max_iter=10).fit(mapped))
    _assert_same_fit(fits[0], fits[1])
    _assert_same_fit(fits[0], fits[2])


@pytest.mark.parametrize("dtype, order", [(np.float32, "C"), (np.float64, "F"),
                                          (np.int16, "C"), (">f4", "C")])
def test_other_layouts_are_converted_block_by_block(tmp_path, small_blocks, dtype,
                                                    order):
    X = _read_only(np.asarray(np.round(_data(seed=4) * 10), dtype=dtype))
    mapped = np.memmap(tmp_path / "X.dat", dtype=dtype, mode="w+", shape=X.shape,
                       order=order)
    mapped[:] = X
    mapped.flush()
    mapped = np.memmap(tmp_path / "X.dat", dtype=dtype, mode="r", shape=X.shape,
                       order=order)
    a = GaussianMixture(3, random_state=0, max_iter=10).fit(X)
    b = GaussianMixture(3, random_state=0, max_iter=10).fit(mapped)
    _assert_same_fit(a, b)
    float32 = np.dtype(dtype).kind == "f" and np.dtype(dtype).itemsize == 4
    assert b.means_.dtype == (np.float32 if float32 else np.float64)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("where", [0, -1])
def test_non_finite_values_are_found_inside_the_pass(tmp_path, small_blocks, bad,
                                                     where):
    X = _data(seed=5)
    X[where, 1] = bad
    mapped = _mapped(tmp_path, X)
    match = "NaN" if np.isnan(bad) else "infinity"
    for init_params in ["kmeans", "random"]:
        gm = GaussianMixture(2, init_params=init_params)
        with pytest.raises(ValueError, match=match):
            gm.fit(mapped)
        assert not hasattr(gm, "means_")
    fitted = GaussianMixture(2, random_state=0).fit(_data(seed=6))
    with pytest.raises(ValueError, match=match):
        fitted.predict(mapped)


def test_memmap_shape_checks(tmp_path):
    with pytest.raises(ValueError, match="2D"):
        GaussianMixture(2).fit(_mapped(tmp_path, np.ones(10), "one.npy"))
    with pytest.raises(ValueError, match="minimum of 2"):
        GaussianMixture(1).fit(_mapped(tmp_path, np.ones((1, 3)), "row.npy"))
    fitted = GaussianMixture(2, random_state=0).fit(_data(seed=7))
    with pytest.raises(ValueError, match="features"):
        fitted.score_samples(_mapped(tmp_path, np.ones((5, 2)), "two.npy"))


def test_fit_predict_on_memmap(tmp_path, small_blocks):
    X = _read_only(_data(seed=8))
    mapped = _mapped(tmp_path, X)
    labels = GaussianMixture(3, random_state=0, max_iter=10).fit_predict(mapped)
    assert_array_equal(
        labels, GaussianMixture(3, random_state=0, max_iter=10).fit_predict(X)
    )


_PEAK_SCRIPT = textwrap.dedent("""
    import sys, threading, time
    import numpy as np
    from fastgmm import GaussianMixture

    def rss_anon():
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1]) * 1024

    # compile (or load) the kernels for read-only maps first: code is not data
    np.save(sys.argv[2], np.random.rand(3000, 4))
    GaussianMixture(3, random_state=0, max_iter=2).fit(
        np.load(sys.argv[2], mmap_mode="r"))
    X = np.load(sys.argv[1], mmap_mode="r")
    base = rss_anon()
    peak = [base]
    done = threading.Event()
    def watch():
        while not done.is_set():
            peak[0] = max(peak[0], rss_anon())
            time.sleep(0.002)
    watcher = threading.Thread(target=watch)
    watcher.start()
    GaussianMixture(3, random_state=0, max_iter=5, tol=0).fit(X)
    done.set()
    watcher.join()
    print(peak[0] - base)
""")


def test_memmap_fit_allocates_little_beyond_the_file(tmp_path):
    """Peak anonymous memory of a memory-mapped fit (in a fresh process) stays a
    small fraction of the file: X is never copied."""
    X = np.random.RandomState(9).rand(1_500_000, 4)  # 48 MB
    path = tmp_path / "X.npy"
    np.save(path, X)
    del X
    warm = tmp_path / "warm.npy"
    result = subprocess.run([sys.executable, "-c", _PEAK_SCRIPT, str(path), str(warm)],
                            capture_output=True, text=True, check=True,
                            env={**os.environ, "PYTHONWARNINGS": "ignore"})
    extra = int(result.stdout.split()[-1])
    assert extra < 0.10 * os.path.getsize(path), extra

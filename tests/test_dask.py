"""fit / predict on dask arrays, on a real distributed.LocalCluster of two worker
processes (one thread each)."""

import threading
import time

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

dask = pytest.importorskip("dask")
da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

from fastgmm import GaussianMixture  # noqa: E402

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]
FITTED = ["weights_", "means_", "covariances_", "precisions_cholesky_"]

pytestmark = pytest.mark.filterwarnings(
    "ignore::sklearn.exceptions.ConvergenceWarning"
)


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1,
                                       processes=True, dashboard_address=None)
    with distributed.Client(cluster) as client:
        yield client
    cluster.close()


def _data(n=3000, seed=0):
    rng = np.random.RandomState(seed)
    return np.vstack([
        rng.randn(n, 3),
        rng.randn(n, 3) * 0.6 + [5.0, 0.0, 2.0],
        rng.randn(n // 2, 3) * 0.4 - 4.0,
    ]) + 100.0


def _start(X, covariance_type):
    init = GaussianMixture(3, covariance_type=covariance_type, max_iter=0,
                           random_state=0).fit(X)
    return dict(weights_init=init.weights_, means_init=init.means_,
                precisions_init=init.precisions_)


def _assert_close(a, b, rtol=1e-8):
    for name in FITTED:
        assert_allclose(getattr(a, name), getattr(b, name), rtol=rtol, atol=1e-12,
                        err_msg=name)
    assert_allclose(a.lower_bounds_, b.lower_bounds_, rtol=rtol)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_dask_fit_equals_in_memory_fit_from_the_same_start(client, covariance_type):
    X = _data()
    D = da.from_array(X, chunks=(1000, 3)).persist()
    params = dict(n_components=3, covariance_type=covariance_type, tol=0.0,
                  max_iter=20, **_start(X, covariance_type))
    a = GaussianMixture(**params).fit(X)
    b = GaussianMixture(**params).fit(D)
    _assert_close(a, b)


@pytest.mark.parametrize("init_params", ["kmeans", "k-means++"])
def test_distributed_kmeans_initialisation_matches_in_memory(client, init_params):
    """The same seeding and Lloyd iterations, summed over chunks: on data without
    near-ties the fits agree to rounding."""
    X = _data(seed=1)
    D = da.from_array(X, chunks=(1700, 3)).persist()
    params = dict(n_components=3, init_params=init_params, random_state=2,
                  max_iter=10)
    _assert_close(GaussianMixture(**params).fit(X), GaussianMixture(**params).fit(D))


def test_sampled_kmeans_initialisation_matches_in_memory(client, monkeypatch):
    """Lloyd on a sample of the rows (forced here by a small sample size), read
    from the cluster: the same sample and centers as in memory."""
    import fastgmm._kmeans as kmeans_module

    monkeypatch.setattr(kmeans_module, "LLOYD_MIN_SAMPLE", 2000)
    X = _data(seed=4)
    weights = np.random.RandomState(5).uniform(0.0, 2.0, size=X.shape[0])
    D = da.from_array(X, chunks=(1700, 3)).persist()
    W = da.from_array(weights, chunks=1700)
    params = dict(n_components=3, init_params="kmeans", random_state=2, max_iter=5)
    _assert_close(GaussianMixture(**params).fit(X, sample_weight=weights),
                  GaussianMixture(**params).fit(D, sample_weight=W))


@pytest.mark.parametrize("init_params", ["random", "random_from_data"])
def test_other_initialisations_run_on_the_cluster(client, init_params):
    X = _data(seed=3)
    D = da.from_array(X, chunks=(2000, 3)).persist()
    gm = GaussianMixture(3, init_params=init_params, random_state=0).fit(D)
    assert np.isfinite(gm.lower_bound_)
    again = GaussianMixture(3, init_params=init_params, random_state=0).fit(D)
    assert_array_equal(gm.means_, again.means_)


@pytest.mark.parametrize("as_dask", [False, True])
def test_weighted_dask_fit(client, as_dask):
    X = _data(seed=4)
    weights = np.random.RandomState(5).randint(0, 4, size=X.shape[0]).astype(float)
    D = da.from_array(X, chunks=(1500, 3)).persist()
    given = da.from_array(weights, chunks=1000) if as_dask else weights
    params = dict(n_components=3, tol=0.0, max_iter=20, **_start(X, "full"))
    a = GaussianMixture(**params).fit(X, sample_weight=weights)
    b = GaussianMixture(**params).fit(D, sample_weight=given)
    _assert_close(a, b)


def test_bad_dask_weights_are_refused(client):
    D = da.from_array(_data(seed=6), chunks=(2000, 3))
    n = D.shape[0]
    for weights, match in [
        (da.from_array(-np.ones(n), chunks=1000), "Negative"),
        (da.from_array(np.zeros(n), chunks=1000), "non-zero"),
        (da.from_array(np.full(n, np.nan), chunks=1000), "NaN"),
        (da.ones(n + 1, chunks=1000), "shape"),
    ]:
        with pytest.raises(ValueError, match=match):
            GaussianMixture(2).fit(D, sample_weight=weights)


def test_predictions_are_lazy_dask_arrays(client):
    X = _data(seed=7)
    D = da.from_array(X, chunks=(2500, 3)).persist()
    gm = GaussianMixture(3, random_state=0).fit(X)
    proba = gm.predict_proba(D)
    labels = gm.predict(D)
    scores = gm.score_samples(D)
    for result in (proba, labels, scores):
        assert isinstance(result, da.Array)
    assert proba.chunks == (D.chunks[0], (3,))
    assert labels.chunks == (D.chunks[0],)
    assert_allclose(proba.compute(), gm.predict_proba(X), rtol=1e-12, atol=1e-15)
    assert_array_equal(labels.compute(), gm.predict(X))
    assert_allclose(scores.compute(), gm.score_samples(X), rtol=1e-12)
    assert_allclose(gm.score(D), gm.score(X), rtol=1e-12)
    assert isinstance(GaussianMixture(3, random_state=0).fit_predict(D), da.Array)


def test_float32_and_column_chunks(client):
    X = _data(seed=8).astype(np.float32)
    D = da.from_array(X, chunks=(2000, 2))
    params = dict(n_components=3, tol=0.0, max_iter=10, **_start(X, "diag"),
                  covariance_type="diag")
    a = GaussianMixture(**params).fit(X)
    b = GaussianMixture(**params).fit(D)
    assert b.means_.dtype == np.float32
    assert_allclose(a.means_, b.means_, rtol=1e-6)


def test_invalid_dask_input(client):
    X = _data(seed=9)
    X[-1, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        GaussianMixture(2).fit(da.from_array(X, chunks=(2000, 3)))
    with pytest.raises(ValueError, match="2D"):
        GaussianMixture(2).fit(da.ones(10, chunks=5))
    fitted = GaussianMixture(2, random_state=0).fit(_data(seed=10))
    with pytest.raises(ValueError, match="features"):
        fitted.predict(da.ones((10, 2), chunks=5))


def test_local_scheduler_without_a_client():
    """No distributed.Client: the same code runs on Dask's local threads."""
    X = _data(seed=11)
    D = da.from_array(X, chunks=(2000, 3))
    params = dict(n_components=3, tol=0.0, max_iter=10, **_start(X, "full"))
    with dask.config.set(scheduler="threads"):
        _assert_close(GaussianMixture(**params).fit(X),
                      GaussianMixture(**params).fit(D))


def test_worker_restart_mid_fit_changes_nothing(client):
    """A worker restarted in the middle of a fit loses its tasks and its chunks
    of the persisted X; they are recomputed elsewhere, the fit completes and its
    result is bitwise the undisturbed one."""
    X = _data(n=8000, seed=12)
    D = da.from_array(X, chunks=(2000, 3)).persist()
    params = dict(n_components=3, random_state=0, tol=0.0, max_iter=60)
    undisturbed = GaussianMixture(**params).fit(D)

    fit_done = threading.Event()
    restarted = {}

    def restart_one_worker():
        def transitions(dask_scheduler):
            return dask_scheduler.transition_counter

        start = client.run_on_scheduler(transitions)
        # wait until the fit below is well under way
        while client.run_on_scheduler(transitions) < start + 300:
            time.sleep(0.01)
        worker = sorted(client.scheduler_info()["workers"])[0]
        restarted["during_fit"] = not fit_done.is_set()
        client.restart_workers([worker])
        restarted["completed_during_fit"] = not fit_done.is_set()

    thread = threading.Thread(target=restart_one_worker)
    thread.start()
    disturbed = GaussianMixture(**params).fit(D)
    fit_done.set()
    thread.join()
    assert restarted == {"during_fit": True, "completed_during_fit": True}
    assert disturbed.n_iter_ == undisturbed.n_iter_ == 60
    for name in FITTED:
        assert_array_equal(getattr(disturbed, name), getattr(undisturbed, name))

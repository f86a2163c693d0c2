"""The 'kmeans' initialisation on large data: Lloyd's iterations on a uniform
random sample of the rows, then every row labelled by its nearest center."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.cluster import KMeans

import fastgmm._kmeans as kmeans_module
from fastgmm import GaussianMixture
from fastgmm._covariance import covariance_type as covariance_type_of
from fastgmm._kmeans import kmeans, lloyd_sample
from fastgmm._sources import ArraySource
from fastgmm._stats import m_step

CENTERS = np.array([[0.0, 0.0, 0.0], [6.0, 0.0, 2.0], [-4.0, 5.0, -4.0]])


def _blobs(n_per_blob, seed=0):
    rng = np.random.RandomState(seed)
    return np.vstack([rng.randn(n_per_blob, 3) * s + c
                      for c, s in zip(CENTERS, [1.0, 0.6, 0.4], strict=True)])


def _by_first_feature(centers):
    return centers[np.argsort(centers[:, 0])]


def test_small_data_is_not_sampled():
    source = ArraySource(_blobs(1000))
    assert lloyd_sample(source, 3, np.random.RandomState(0)) is source


def test_large_data_is_sampled_in_order_with_its_weights():
    X = _blobs(20_000)
    weights = np.random.RandomState(1).uniform(0.5, 2.0, size=X.shape[0])
    source = ArraySource(X, weights)
    sample = lloyd_sample(source, 3, np.random.RandomState(0))
    # drawn with replacement, repeats dropped: ~ n^2 / 2N = 9,000 of 32,768 here
    assert 0.6 * kmeans_module.LLOYD_MIN_SAMPLE < sample.n_rows
    assert sample.n_rows <= kmeans_module.LLOYD_MIN_SAMPLE
    # every sampled row is a row of X with its own weight, rows kept in order
    rows = np.flatnonzero(np.isin(X[:, 0], sample.X[:, 0]))
    assert rows.size == sample.n_rows
    assert_array_equal(sample.X, X[rows])
    assert_array_equal(sample.sample_weight, weights[rows])


def test_sampled_centers_are_those_of_all_rows_within_sampling_error():
    X = _blobs(40_000)
    full = KMeans(3, n_init=1, random_state=0).fit(X).cluster_centers_
    sampled = kmeans(ArraySource(X), 3, np.random.RandomState(0))
    # each blob has about 11,000 of the 32,768 sampled rows: error ~ 1 / sqrt(11,000)
    assert_allclose(_by_first_feature(sampled), _by_first_feature(full), atol=0.05)


def test_a_sample_without_weight_falls_back_to_all_rows(monkeypatch):
    monkeypatch.setattr(kmeans_module, "LLOYD_MIN_SAMPLE", 10)
    monkeypatch.setattr(kmeans_module, "LLOYD_ROWS_PER_CLUSTER", 1)
    X = _blobs(400)
    weights = np.zeros(X.shape[0])
    weights[-1] = 1.0
    source = ArraySource(X, weights)
    random_state = np.random.RandomState(0)
    assert lloyd_sample(source, 1, random_state) is source
    centers = kmeans(source, 1, np.random.RandomState(0))
    assert_array_equal(centers, X[-1:])


def test_fit_from_the_sampled_initialisation_finds_the_blobs():
    X = _blobs(15_000, seed=3)
    gm = GaussianMixture(3, init_params="kmeans", max_iter=0, random_state=0).fit(X)
    assert_allclose(_by_first_feature(gm.means_), _by_first_feature(CENTERS), atol=0.05)
    assert_allclose(np.sort(gm.weights_), [1 / 3] * 3, atol=0.01)


@pytest.mark.parametrize("seed", [0, 1])
def test_sampled_initialisation_is_reproducible(seed):
    X = _blobs(12_000, seed=seed)
    a = GaussianMixture(3, max_iter=2, random_state=seed, n_jobs=1).fit(X)
    b = GaussianMixture(3, max_iter=2, random_state=seed, n_jobs=2).fit(X)
    assert_array_equal(a.means_, b.means_)
    assert a.lower_bounds_ == b.lower_bounds_


def test_the_sampled_tolerance_scales_with_the_samples_variance(monkeypatch):
    """On sampled rows, Lloyd's tolerance is tol times the sample's weighted mean
    feature variance (NumPy, against a direct formula here), and no pass over
    all rows computes the data's: a default fit of large data never asks the
    source for it. Small data still scale by the data's own variance."""
    X = _blobs(20_000)
    weights = np.random.RandomState(2).uniform(0.5, 2.0, size=X.shape[0])
    sample = lloyd_sample(ArraySource(X, weights), 3, np.random.RandomState(0))
    w = sample.sample_weight / sample.sample_weight.sum()
    mean = w @ sample.X
    expected = np.mean(w @ (sample.X - mean) ** 2)
    assert_allclose(kmeans_module._sample_feature_variance(sample), expected,
                    rtol=1e-12)

    def no_full_pass(self, ctype):
        raise AssertionError("a pass over all rows for the variance")

    with monkeypatch.context() as patched:
        patched.setattr(ArraySource, "mean_feature_variance", no_full_pass)
        GaussianMixture(3, max_iter=2, random_state=0).fit(X, sample_weight=weights)
        small = _blobs(1000)
        with pytest.raises(AssertionError, match="a pass over all rows"):
            GaussianMixture(3, max_iter=2, random_state=0).fit(small)
    asked = []
    kmeans(ArraySource(small), 3, np.random.RandomState(0),
           mean_feature_variance=lambda: asked.append(1) or 1.0)
    assert asked == [1]


def _grid_rows(n_rows, n_features, seed):
    # small integers: squared distances to centers on the grid are exact, so
    # rows equally far from two centers are exact ties
    return np.random.RandomState(seed).randint(-3, 4, size=(n_rows, n_features)) * 1.0


def test_bounded_lloyd_steps_equal_steps_computing_every_distance():
    """A resident source keeps each row's label and Hamerly bounds between Lloyd
    steps and computes distances only for rows near a boundary; a streamed one
    computes them all. Along a path of centers with small moves, a jump (an
    empty cluster re-seeded) and exact ties (the first nearest wins), both give
    the same sums and counts bitwise, and a step after a small move skips most
    rows."""
    X = _grid_rows(3000, 4, seed=0)
    resident = ArraySource(X)
    streamed = ArraySource(X, streamed=True)
    assert resident.resident and not streamed.resident
    rng = np.random.RandomState(1)
    centers = X[[0, 7, 19, 40, 41]].copy()
    for step in range(14):
        if step == 9:  # the rows' distances to a moved center are recomputed only
            # where the bounds cannot exclude it: mark which ones were
            resident.cache[("lloyd bounds", 0)][4][:] = np.nan
        ours = resident.kmeans_sums(centers)
        theirs = streamed.kmeans_sums(centers)
        for a, b in zip(ours, theirs, strict=True):
            assert_array_equal(a, b)
        if step == 9:
            recomputed = np.isfinite(resident.cache[("lloyd bounds", 0)][4])
            assert recomputed.mean() < 0.5
        if step in (3, 11):  # back onto the grid: exact ties again
            centers = np.round(centers)
        elif step == 6:  # a jump, as when an empty cluster is re-seeded
            centers[2] = X[2500]
        else:
            centers = centers + rng.uniform(-1e-3, 1e-3, size=centers.shape)


@pytest.mark.parametrize("covariance_type", ["full", "tied", "diag", "spherical"])
@pytest.mark.parametrize("n_features", [3, 6])
@pytest.mark.parametrize("weighted", [False, True])
def test_final_assignment_statistics_match_a_numpy_reference(covariance_type,
                                                             n_features, weighted):
    """Every row labelled by its nearest center (k-means' final assignment; diag
    and spherical add each row to its center's sums, the others take one-hot
    responsibilities), then the update: each cluster's weighted mean and
    covariance, against NumPy over the rows of each label."""
    rng = np.random.RandomState(2)
    X = rng.randn(6000, n_features) * 2.0 + 10.0
    weights = rng.uniform(0.0, 2.0, size=X.shape[0]) if weighted else None
    centers = X[[1, 50, 700, 3000]]
    ctype = covariance_type_of(covariance_type)
    fitted = m_step(ArraySource(X, weights).nearest_stats(centers, ctype), 0.0)
    w = np.ones(X.shape[0]) if weights is None else weights
    labels = ((X[:, None, :] - centers[None]) ** 2).sum(axis=2).argmin(axis=1)
    masses = np.array([w[labels == k].sum() for k in range(4)])
    means = np.array([w[labels == k] @ X[labels == k] for k in range(4)])
    means /= masses[:, None]
    scatter = np.array([(w[labels == k, None] * (X[labels == k] - means[k])).T
                        @ (X[labels == k] - means[k]) for k in range(4)])
    expected = {
        "full": scatter / masses[:, None, None],
        "tied": scatter.sum(axis=0) / masses.sum(),
        "diag": np.diagonal(scatter, axis1=1, axis2=2) / masses[:, None],
        "spherical": np.diagonal(scatter, axis1=1, axis2=2).mean(axis=1) / masses,
    }[covariance_type]
    assert_allclose(fitted.weights, masses / masses.sum(), rtol=1e-12)
    assert_allclose(fitted.means, means, rtol=1e-12)
    assert_allclose(fitted.covariances, expected, rtol=1e-10)

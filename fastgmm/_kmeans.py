"""k-means++ seeding and Lloyd's k-means over a source, driving compiled kernels.

Used by the 'kmeans' and 'k-means++' initialisations. The drivers
(``kmeans_plusplus``, ``kmeans``) draw every random number from the estimator's
``RandomState`` and see the data only through a few passes of the source:

* ``kmeans_mass_total(chosen)`` / ``kmeans_locate(chosen, draws)``: the total of
  the sampling masses w * D(x)² (D: distance to the nearest center in ``chosen``;
  ``chosen=None`` means the mass w) and the rows where their running sum first
  reaches each draw;
* ``kmeans_potentials(chosen, candidates)``: the k-means++ potential after adding
  each candidate;
* ``kmeans_sums(centers)``: weighted sums and masses of the rows nearest each
  center (one Lloyd step); ``kmeans_farthest(centers, m)``: the m positive-weight
  rows farthest from their centers (to re-seed empty clusters);
* ``rows(indices)``.

``ArraySource`` (in memory or memory-mapped) implements them in
``_kmeans_passes``; ``DaskSource`` with per-chunk tasks (``_dask``).
"""

import numpy as np

# Lloyd's iterations run on a uniform random sample of this many rows per cluster
# (at least LLOYD_MIN_SAMPLE rows) when X has more: the centers move by about
# sigma / sqrt(2048) from those of all rows, far less than EM then moves them,
# and the initialisation stops growing with N (see ``kmeans``).
LLOYD_ROWS_PER_CLUSTER = 2048
LLOYD_MIN_SAMPLE = 32768


def kmeans_plusplus(source, n_clusters, random_state):
    """Greedy k-means++ seeding (Arthur & Vassilvitskii, with 2 + log K local
    trials per center). The first center is drawn uniformly, or proportionally to
    the sample weights. Returns ``(centers (K, D) float64, indices (K,))``."""
    n_rows = source.n_rows
    n_trials = 2 + int(np.log(n_clusters))
    indices = np.empty(n_clusters, dtype=np.int64)
    if source.sample_weight is None:
        indices[0] = random_state.randint(n_rows)
    else:
        total = source.kmeans_mass_total(None)
        draw = random_state.uniform(size=1) * total
        indices[0] = source.kmeans_locate(None, draw)[0]
    chosen = source.rows(indices[:1])
    for c in range(1, n_clusters):
        total = source.kmeans_mass_total(chosen)
        if total > 0:
            draws = random_state.uniform(size=n_trials) * total
            candidates = source.kmeans_locate(chosen, draws)
        else:  # every point already sits on a center
            candidates = random_state.randint(n_rows, size=n_trials)
        points = source.rows(candidates)
        potentials = source.kmeans_potentials(chosen, points)
        best = int(np.argmin(potentials))
        indices[c] = candidates[best]
        chosen = np.concatenate([chosen, points[best : best + 1]])
    source.cache.clear()
    return chosen, indices


def kmeans(source, n_clusters, random_state, max_iter=300, tol=1e-4,
           mean_feature_variance=None):
    """Lloyd's k-means from a k-means++ seeding; returns the centers (K, D).

    Stops when the centers move less than ``tol`` times the mean feature variance
    of the rows it iterates on (scikit-learn's criterion; when no label changes
    the centers do not move at all, so this also covers scikit-learn's other
    criterion). Empty clusters are moved to the (positive-weight) rows farthest
    from their centers. The rows' final labels are those of the nearest
    returned center (``source.nearest_stats``).

    With more than max(LLOYD_MIN_SAMPLE, LLOYD_ROWS_PER_CLUSTER * K) rows, the
    seeding and the iterations see a uniform random sample of about that many
    rows (with their weights), drawn from ``random_state``, so that a source of any
    kind (in memory, memory-mapped, Dask) gives the same centers. scikit-learn
    iterates over all rows; on 1M x 16 points with 16 clusters (2 cores) the
    sample took k-means from 2.1-2.5 s (76 Lloyd steps over all rows) to 0.14 s.
    The tolerance then scales with the sample's variance, taken in NumPy
    (``_sample_feature_variance``), instead of a pass over all rows (12 ms of a
    0.52 s default fit at 1M x 16 x 16 diag, 2 threads).

    ``mean_feature_variance``: a function of no arguments giving the mean
    feature variance of ``source`` (called only when the rows are not
    sampled), or None for a scale of 1.
    """
    sample = lloyd_sample(source, n_clusters, random_state)
    if sample is not source:
        scale = _sample_feature_variance(sample)
    else:
        scale = 1.0 if mean_feature_variance is None else mean_feature_variance()
    source = sample
    centers, _ = kmeans_plusplus(source, n_clusters, random_state)
    threshold = tol * float(scale)
    for _ in range(max_iter):
        sums, counts = source.kmeans_sums(centers)
        filled = counts > 0
        new_centers = sums
        new_centers[filled] /= counts[filled, None]
        empty = np.flatnonzero(~filled)
        if empty.size:
            far = source.kmeans_farthest(centers, empty.size)
            new_centers[empty[: far.size]] = source.rows(far)
        moved = float(((new_centers - centers) ** 2).sum())
        centers = new_centers
        if moved <= threshold:
            break
    source.cache.clear()
    return centers


def _sample_feature_variance(sample):
    """Mean over features of the (weighted) variance of an in-memory sample's
    rows (``lloyd_sample``: float64, finite, some weight positive), around
    their (weighted) mean and divided by their total weight."""
    X = sample.X
    weights = sample.sample_weight
    mean = np.average(X, axis=0, weights=weights)
    return float(np.average((X - mean) ** 2, axis=0, weights=weights).mean())


def lloyd_sample(source, n_clusters, random_state):
    """The source Lloyd's iterations run on: ``source`` itself when it is small,
    else an in-memory source of a uniform random sample of its rows (sorted,
    distinct, with their weights); ``source`` again if the sample's weights are all
    zero."""
    n_sample = max(LLOYD_MIN_SAMPLE, LLOYD_ROWS_PER_CLUSTER * n_clusters)
    if source.n_rows <= n_sample:
        return source
    # drawn with replacement and the repeats dropped: time and memory of the
    # sample's size, not of N (the sample is a few repeats short of n_sample)
    indices = np.unique(random_state.randint(source.n_rows, size=n_sample))
    sample = source.subset(indices)
    return source if sample is None else sample

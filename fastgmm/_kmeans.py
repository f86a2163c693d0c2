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

``ArraySource`` (in memory or memory-mapped) implements them here with exactly
the arithmetic of one resident pass (running sums continue across blocks), so a
memory-mapped file gives the same centers as the array in memory. ``DaskSource``
implements them with per-chunk tasks (``_dask``). Per-row scratch: the
distances to the chosen centers, kept between passes when X is resident and
recomputed block by block when it is streamed (K²/2 distance evaluations per row
over the seeding instead of K, and no array of length N).
"""

import numpy as np

from ._kernels import kmeans as kernels

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
           column_variance=None):
    """Lloyd's k-means from a k-means++ seeding; returns the centers (K, D).

    Stops when the centers move less than ``tol`` times the mean feature variance
    (scikit-learn's criterion; when no label changes the centers do not move at
    all, so this also covers scikit-learn's other criterion). Empty clusters are
    moved to the (positive-weight) rows farthest from their centers. The rows'
    final labels are those of the nearest returned center
    (``source.nearest_stats``).

    With more than max(LLOYD_MIN_SAMPLE, LLOYD_ROWS_PER_CLUSTER * K) rows, the
    seeding and the iterations see a uniform random sample of about that many
    rows (with their weights), drawn from ``random_state``, so that a source of any
    kind (in memory, memory-mapped, Dask) gives the same centers. scikit-learn
    iterates over all rows; on 1M x 16 points with 16 clusters (2 cores) the
    sample took k-means from 2.1-2.5 s (76 Lloyd steps over all rows) to 0.14 s.
    """
    source = lloyd_sample(source, n_clusters, random_state)
    centers, _ = kmeans_plusplus(source, n_clusters, random_state)
    threshold = tol * (1.0 if column_variance is None else float(column_variance))
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


def lloyd_sample(source, n_clusters, random_state):
    """The source Lloyd's iterations run on: ``source`` itself when it is small,
    else an in-memory source of a uniform random sample of its rows (sorted,
    distinct, with their weights); ``source`` again if the sample's weights are all
    zero."""
    from ._sources import ArraySource  # _sources imports this module

    n_sample = max(LLOYD_MIN_SAMPLE, LLOYD_ROWS_PER_CLUSTER * n_clusters)
    if source.n_rows <= n_sample:
        return source
    # drawn with replacement and the repeats dropped: time and memory of the
    # sample's size, not of N (the sample is a few repeats short of n_sample)
    indices = np.unique(random_state.randint(source.n_rows, size=n_sample))
    weights = None
    if source.sample_weight is not None:
        # np.asarray computes a dask array's selection
        weights = np.asarray(source.sample_weight[indices], dtype=np.float64)
        if not np.any(weights > 0):
            return source
    return ArraySource(source.rows(indices), weights)


# ------------------------------------------------ passes of an ArraySource


def _closest(source, block, chosen):
    """Squared distance of each row of ``block`` to its nearest center in
    ``chosen``, computed in the order of the resident algorithm (the first center,
    then one update per later center) so the values never depend on the blocks.
    Resident sources keep the array and apply only the new centers next time."""
    key = ("closest", block.index)
    cached = source.cache.get(key) if not source.streamed else None
    if cached is not None and cached[0].shape[0] <= chosen.shape[0] and (
        np.array_equal(cached[0], chosen[: cached[0].shape[0]])
    ):
        done, closest = cached
    else:
        done = chosen[:1]
        closest = np.empty(block.stop - block.start)
        kernels.sq_dist_to_point(block.X, np.ascontiguousarray(done), closest)
    for j in range(done.shape[0], chosen.shape[0]):
        kernels.update_closest(block.X, np.ascontiguousarray(chosen[j : j + 1]),
                               closest)
    if not source.streamed:
        source.cache[key] = (chosen.copy(), closest)
    return closest


# The running sum of the sampling mass is taken over windows of this many rows,
# each continuing the previous one's total: bitwise one running sum over all rows
# (np.cumsum adds in order), with scratch of one window instead of N.
MASS_WINDOW = 1 << 16


def _block_closest(source, block, chosen):
    return None if chosen is None else _closest(source, block, chosen)


def _running_mass(source, block, closest, lo, hi, carry):
    """Running sum of the sampling mass over rows lo..hi-1 of ``block``,
    continuing ``carry``; ``closest`` is the block's squared distances (None: the
    mass is the weight)."""
    if closest is None:
        mass = block.weights[lo:hi].copy()
    elif source.sample_weight is None:
        mass = closest[lo:hi].copy()
    else:
        mass = closest[lo:hi] * block.weights[lo:hi]
    mass[0] += carry
    return np.cumsum(mass, out=mass)


def array_mass_total(source, chosen):
    carry = 0.0
    windows = []  # (block index, first row, end row within the block, carry)
    for block in source.blocks(scratch_bytes_per_row=16):
        closest = _block_closest(source, block, chosen)
        n_rows = block.stop - block.start
        for lo in range(0, n_rows, MASS_WINDOW):
            hi = min(n_rows, lo + MASS_WINDOW)
            windows.append((block.index, lo, hi, carry))
            carry = float(_running_mass(source, block, closest, lo, hi, carry)[-1])
    source.cache["mass windows"] = windows
    return carry


def array_locate(source, chosen, draws):
    """Rows whose running mass first reaches each draw (searchsorted 'left'),
    clipped to the last row. Needs the ``array_mass_total`` of the same
    ``chosen`` just before; recomputes only the windows holding a draw."""
    windows = source.cache.pop("mass windows")
    found = np.full(draws.shape[0], source.n_rows - 1, dtype=np.int64)
    window_ends = np.array([w[3] for w in windows[1:]] + [np.inf])
    owner = np.searchsorted(window_ends, draws, side="left")
    wanted = sorted({int(w) for w in owner})
    blocks = {windows[w][0] for w in wanted}
    for block in source.blocks(scratch_bytes_per_row=16, only=blocks):
        closest = _block_closest(source, block, chosen)
        for w in wanted:
            index, lo, hi, carry = windows[w]
            if index != block.index:
                continue
            mine = owner == w
            running = _running_mass(source, block, closest, lo, hi, carry)
            local = np.searchsorted(running, draws[mine], side="left")
            found[mine] = np.minimum(block.start + lo + local, source.n_rows - 1)
    return found


def array_potentials(source, chosen, candidates):
    candidates = np.ascontiguousarray(candidates, dtype=np.float64)
    potentials = np.empty((source.n_chunks, candidates.shape[0]))
    for block in source.blocks(scratch_bytes_per_row=8):
        closest = _closest(source, block, chosen)
        kernels.candidate_potentials(
            block.X, block.weights, closest, candidates, source.chunk_rows,
            potentials[block.chunk_start : block.chunk_stop],
        )
    return potentials.sum(axis=0)


def _lloyd_block(source, block, centers, sums, counts):
    n_rows = block.stop - block.start
    labels = np.empty(n_rows, dtype=np.int64)
    closest = np.empty(n_rows)
    c = slice(block.chunk_start, block.chunk_stop)
    changed = np.empty(block.chunk_stop - block.chunk_start, dtype=np.int64)
    kernels.lloyd_step(block.X, block.weights, centers, source.chunk_rows, labels,
                       closest, sums[c], counts[c], changed)
    return closest


def array_sums(source, centers):
    centers = np.ascontiguousarray(centers, dtype=np.float64)
    n_clusters, n_features = centers.shape
    sums = np.empty((source.n_chunks, n_clusters, n_features))
    counts = np.empty((source.n_chunks, n_clusters))
    for block in source.blocks(scratch_bytes_per_row=16):
        closest = _lloyd_block(source, block, centers, sums, counts)
        if not source.streamed:
            source.cache["lloyd"] = (centers.copy(), block.index, closest)
    return sums.sum(axis=0), counts.sum(axis=0)


def array_farthest(source, centers, n_wanted):
    """The ``n_wanted`` positive-weight rows farthest from their nearest center,
    farthest first (ties: the later row first)."""
    return merge_farthest(*array_farthest_candidates(source, centers, n_wanted),
                          n_wanted)


def array_farthest_candidates(source, centers, n_wanted):
    """``(distances, rows)`` of each block's ``n_wanted`` farthest positive-weight
    rows: the candidates ``merge_farthest`` chooses from."""
    centers = np.ascontiguousarray(centers, dtype=np.float64)
    n_clusters, n_features = centers.shape
    resident = source.cache.get("lloyd")
    values, rows = [], []
    for block in source.blocks(scratch_bytes_per_row=16):
        if resident is not None and resident[1] == block.index and np.array_equal(
            resident[0], centers
        ):
            closest = resident[2]
        else:
            closest = _lloyd_block(
                source, block, centers,
                np.empty((source.n_chunks, n_clusters, n_features)),
                np.empty((source.n_chunks, n_clusters)),
            )
        candidates = np.flatnonzero(block.weights > 0) if block.weights.size else None
        block_values = closest if candidates is None else closest[candidates]
        order = np.argsort(block_values, kind="stable")[::-1][:n_wanted]
        local = order if candidates is None else candidates[order]
        values.append(block_values[order])
        rows.append(block.start + local)
    return np.concatenate(values), np.concatenate(rows)


def merge_farthest(values, rows, n_wanted):
    """The ``n_wanted`` rows of largest value, ties broken by the larger row."""
    order = np.lexsort((rows, values))[::-1][:n_wanted]
    return rows[order]

"""The k-means passes of an ``ArraySource`` (in memory or memory-mapped), which
``ArraySource.kmeans_*`` call; ``_kmeans`` drives them (its docstring says what
each computes), ``_dask`` runs them on every dask chunk.

They do exactly the arithmetic of one resident pass (running sums continue
across segments), so a memory-mapped file gives the same centers as the array in
memory. Per-row scratch: the distances to the chosen centers, kept between
passes when X is resident and recomputed segment by segment when it is streamed
(K²/2 distance evaluations per row over the seeding instead of K, and no array
of length N).
"""

import numpy as np

from ._kernels import kmeans as kernels


def _closest(source, seg, chosen):
    """Squared distance of each row of ``seg`` to its nearest center in
    ``chosen``, computed in the order of the resident algorithm (the first center,
    then one update per later center) so the values never depend on the segments.
    Resident sources keep the array and apply only the new centers next time."""
    key = ("closest", seg.index)
    cached = source.cache.get(key) if source.resident else None
    if cached is not None and cached[0].shape[0] <= chosen.shape[0] and (
        np.array_equal(cached[0], chosen[: cached[0].shape[0]])
    ):
        done, closest = cached
    else:
        # the first center's distances are its update of +inf (one kernel
        # fewer to compile)
        done = chosen[:0]
        closest = np.full(seg.stop - seg.start, np.inf)
    for j in range(done.shape[0], chosen.shape[0]):
        kernels.update_closest(seg.X, source.fill,
                               np.ascontiguousarray(chosen[j : j + 1]),
                               closest)
    if source.resident:
        source.cache[key] = (chosen.copy(), closest)
    return closest


# The running sum of the sampling mass is taken over windows of this many rows,
# each continuing the previous one's total: bitwise one running sum over all rows
# (np.cumsum adds in order), with scratch of one window instead of N.
MASS_WINDOW = 1 << 16


def _segment_closest(source, seg, chosen):
    return None if chosen is None else _closest(source, seg, chosen)


def _running_mass(source, seg, closest, lo, hi, carry):
    """Running sum of the sampling mass over rows lo..hi-1 of ``seg``,
    continuing ``carry``; ``closest`` is the segment's squared distances (None: the
    mass is the weight)."""
    if closest is None:
        mass = seg.weights[lo:hi].copy()
    elif source.sample_weight is None:
        mass = closest[lo:hi].copy()
    else:
        mass = closest[lo:hi] * seg.weights[lo:hi]
    mass[0] += carry
    return np.cumsum(mass, out=mass)


def mass_total(source, chosen):
    carry = 0.0
    windows = []  # (segment index, first row, end row within it, carry)
    for seg in source.segments(scratch_bytes_per_row=16):
        closest = _segment_closest(source, seg, chosen)
        n_rows = seg.stop - seg.start
        for lo in range(0, n_rows, MASS_WINDOW):
            hi = min(n_rows, lo + MASS_WINDOW)
            windows.append((seg.index, lo, hi, carry))
            carry = float(_running_mass(source, seg, closest, lo, hi, carry)[-1])
    source.cache["mass windows"] = windows
    return carry


def locate(source, chosen, draws):
    """Rows whose running mass first reaches each draw (searchsorted 'left'),
    clipped to the last row. Needs the ``mass_total`` of the same
    ``chosen`` just before; recomputes only the windows holding a draw."""
    windows = source.cache.pop("mass windows")
    found = np.full(draws.shape[0], source.n_rows - 1, dtype=np.int64)
    window_ends = np.array([w[3] for w in windows[1:]] + [np.inf])
    owner = np.searchsorted(window_ends, draws, side="left")
    wanted = sorted({int(w) for w in owner})
    segments = {windows[w][0] for w in wanted}
    for seg in source.segments(scratch_bytes_per_row=16, only=segments):
        closest = _segment_closest(source, seg, chosen)
        for w in wanted:
            index, lo, hi, carry = windows[w]
            if index != seg.index:
                continue
            mine = owner == w
            running = _running_mass(source, seg, closest, lo, hi, carry)
            local = np.searchsorted(running, draws[mine], side="left")
            found[mine] = np.minimum(seg.start + lo + local, source.n_rows - 1)
    return found


def potentials(source, chosen, candidates):
    candidates = np.ascontiguousarray(candidates, dtype=np.float64)
    potentials = np.empty((source.n_chunks, candidates.shape[0]))
    for seg in source.segments(scratch_bytes_per_row=8):
        closest = _closest(source, seg, chosen)
        kernels.candidate_potentials(
            seg.X, source.fill, seg.weights, closest, candidates, source.chunk_rows,
            potentials[seg.chunk_start : seg.chunk_stop],
        )
    return potentials.sum(axis=0)


def _lloyd_segment(source, seg, centers, sums, counts, state=None):
    """One Lloyd step over ``seg``, into its chunks' slots of sums and counts.

    ``state`` is what the segment's previous step returned: (its centers, and
    per row the label, Hamerly's upper and lower bounds and the squared
    distance to the nearest center). Taking it on, only the rows near a
    boundary between centers get their distances computed (on the 32k-row
    sample of 1M x 16 x 16 with 16 centers: 10-20% of the rows after 20 of
    k-means' 75 steps, 5% at the end); None (or other centers' shape):
    every row's. The sums are those of every row under its label either way,
    bitwise. Returns the new state; its distances are every row's only when
    ``state`` was None."""
    if state is None or state[0].shape != centers.shape:
        n_rows = seg.stop - seg.start
        labels = np.full(n_rows, -1, dtype=np.int64)
        upper, lower, closest = np.empty((3, n_rows))
        zeros = np.zeros(centers.shape[0])
        bounds = zeros, zeros, zeros, 0.0
    else:
        previous, labels, upper, lower, closest = state
        bounds = _hamerly_bounds(previous, centers)
    c = slice(seg.chunk_start, seg.chunk_stop)
    kernels.lloyd_step(seg.X, source.fill, seg.weights, centers, bounds,
                       source.chunk_rows, labels, upper, lower, closest, sums[c],
                       counts[c])
    return centers.copy(), labels, upper, lower, closest


# relative margin by which the bounds are loosened: far above the rounding of a
# distance (a sum of D squares, then a square root) and of the bounds' updates,
# so that a row keeps its label only when computing every distance would give it
SLACK = 1e-10


def _hamerly_bounds(previous, centers):
    """(drift, others, half_gaps, slack) of ``kernels.lloyd_step`` for rows whose
    bounds were taken against ``previous`` centers."""
    n_clusters, n_features = centers.shape
    slack = SLACK + 8 * (n_features + 4) * np.finfo(np.float64).eps
    drift = np.sqrt(((centers - previous) ** 2).sum(axis=1)) * (1.0 + slack)
    others = np.zeros(n_clusters)
    if n_clusters > 1:
        order = np.argsort(drift)
        others[:] = drift[order[-1]]
        others[order[-1]] = drift[order[-2]]
    gaps = np.sqrt(((centers[:, None, :] - centers[None, :, :]) ** 2).sum(axis=2))
    np.fill_diagonal(gaps, np.inf)
    half_gaps = 0.5 * gaps.min(axis=1) * (1.0 - slack)
    return drift, others, half_gaps, slack


def lloyd_sums(source, centers):
    centers = np.ascontiguousarray(centers, dtype=np.float64)
    n_clusters, n_features = centers.shape
    sums = np.empty((source.n_chunks, n_clusters, n_features))
    counts = np.empty((source.n_chunks, n_clusters))
    # per row: a label, two bounds and the distance (8 bytes each), kept
    # between steps only when X is resident (streamed and Dask sources compute
    # every distance each step)
    for seg in source.segments(scratch_bytes_per_row=32):
        key = ("lloyd bounds", seg.index)
        state = _lloyd_segment(source, seg, centers, sums, counts,
                               source.cache.get(key))
        if source.resident:
            source.cache[key] = state
    return sums.sum(axis=0), counts.sum(axis=0)


def farthest(source, centers, n_wanted):
    """The ``n_wanted`` positive-weight rows farthest from their nearest center,
    farthest first (ties: the later row first)."""
    return merge_farthest(*farthest_candidates(source, centers, n_wanted),
                          n_wanted)


def farthest_candidates(source, centers, n_wanted):
    """``(distances, rows)`` of each seg's ``n_wanted`` farthest positive-weight
    rows: the candidates ``merge_farthest`` chooses from."""
    centers = np.ascontiguousarray(centers, dtype=np.float64)
    n_clusters, n_features = centers.shape
    values, rows = [], []
    for seg in source.segments(scratch_bytes_per_row=32):
        closest = _lloyd_segment(
            source, seg, centers,
            np.empty((source.n_chunks, n_clusters, n_features)),
            np.empty((source.n_chunks, n_clusters)),
        )[4]
        candidates = np.flatnonzero(seg.weights > 0) if seg.weights.size else None
        segment_values = closest if candidates is None else closest[candidates]
        order = np.argsort(segment_values, kind="stable")[::-1][:n_wanted]
        local = order if candidates is None else candidates[order]
        values.append(segment_values[order])
        rows.append(seg.start + local)
    return np.concatenate(values), np.concatenate(rows)


def merge_farthest(values, rows, n_wanted):
    """The ``n_wanted`` rows of largest value, ties broken by the larger row."""
    order = np.lexsort((rows, values))[::-1][:n_wanted]
    return rows[order]

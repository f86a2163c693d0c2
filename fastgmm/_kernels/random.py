"""Counter-based random numbers and the sampled assignment of Gibbs sweeps.

A uniform is a pure function of (key, row, copy): ``key`` already mixes the
seed, the chain and the sweep (``sweep_key``), ``row`` is the point's global
row index. Nothing depends on which thread handles a row or on how rows are cut
into chunks, segments or dask chunks, so a sweep's draws are bitwise the same
for any thread count, in memory, memory-mapped or on a cluster.

The mixing function is splitmix64's finaliser (Steele, Lea and Flood, 2014),
applied twice: once to the key advanced by the row (Weyl sequence) and once more
with the copy index, which only weighted rows use. Normals (the missing values
a sweep draws) come from pairs of uniforms of another key (``normal``).
"""

import numpy as np
from numba import njit

from .._config import JIT

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_COPY = np.uint64(0xD1B54A32D192ED03)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)
_ONE = np.uint64(1)
_TO_UNIT = 1.0 / 9007199254740992.0  # 2**-53
_NOISE = np.uint64(0x8CB92BA72F3D8DD7)  # sets the normals' key apart
_TWO = np.uint64(2)
_TWO_PI = 2.0 * np.pi


@njit(**JIT)
def mix64(z):
    """splitmix64's finaliser: a bijection of uint64 whose output bits each
    depend on every input bit."""
    z = (z ^ (z >> _S30)) * _MIX1
    z = (z ^ (z >> _S27)) * _MIX2
    return z ^ (z >> _S31)


@njit(**JIT)
def sweep_key(seed, chain, sweep):
    """The key of one sweep of one chain (all three uint64)."""
    return mix64(mix64(mix64(seed + _GOLDEN) + chain * _GOLDEN) + sweep * _GOLDEN)


@njit(**JIT)
def uniform(key, row, copy):
    """A double in [0, 1) from (key, row, copy), all uint64: the top 53 bits of
    the mixed counter."""
    z = mix64(key + (row + _ONE) * _GOLDEN)
    if copy != 0:
        z = mix64(z + copy * _COPY)
    return np.float64(z >> _S11) * _TO_UNIT


@njit(**JIT)
def normal(key, row, index):
    """A standard normal from (key, row, index), all uint64: Box and Muller's
    transform of the uniforms (copies 2 index + 1 and 2 index + 2) of row under
    ``key ^ _NOISE``, so that no normal shares a counter with an assignment's
    uniform."""
    noise_key = key ^ _NOISE
    u = uniform(noise_key, row, _TWO * index + _ONE)
    v = uniform(noise_key, row, _TWO * index + _TWO)
    return np.sqrt(-2.0 * np.log(1.0 - u)) * np.cos(_TWO_PI * v)


@njit(**JIT)
def inverse_cdf(mass, i, u):
    """The first component whose cumulative mass exceeds u times the point's
    total (``mass`` (K, BLOCK_ROWS) need not be normalised), the last one with
    mass when rounding puts the target past every cumulative sum, or -1 for a
    point with no mass."""
    n_components = mass.shape[0]
    total = 0.0
    for k in range(n_components):
        total += mass[k, i]
    if not total > 0.0:
        return -1
    target = u * total
    cumulative = 0.0
    last = -1
    for k in range(n_components):
        value = mass[k, i]
        if value > 0.0:
            last = k
            cumulative += value
            if target < cumulative:
                return k
    return last  # rounding put the target past the last positive term


@njit(**JIT)
def sample_block(mass, n_rows, key, first_row, sample_weight, start, total, label,
                 counts):
    """Replace the block's unnormalised responsibilities by sampled assignments,
    in place.

    ``mass`` (K, BLOCK_ROWS) holds, for rows start..start + n_rows of the
    segment, whose first row has the global index ``first_row`` (uint64),
    exp(log-density - the row's largest), and ``total[0]`` their sums over
    components (``common.exponentiate_rows``); no division is needed, as the
    search compares cumulative masses with u times the row's total. Each row
    draws one component by inverse CDF (``inverse_cdf``) from
    ``uniform(key, row, 0)`` and its column becomes one-hot. A row of sample
    weight w counts as floor(w) copies, copy c drawing from
    ``uniform(key, row, c)``, plus one draw of weight w - floor(w): its column
    becomes (counts of the copies' components) / w, so that the statistics,
    which multiply by w, add the copies' one-hot statistics (integer weights are
    repeated rows exactly). ``total[1:3]`` and ``label`` (BLOCK_ROWS,) are
    overwritten as scratch; ``counts`` (K,) is scratch.
    """
    if sample_weight.shape[0] != 0:
        _sample_weighted_block(mass, n_rows, key, first_row, sample_weight, start,
                               counts)
        return
    # inverse_cdf for every row at once, loops over rows innermost so that
    # they vectorise: the component drawn is the last one with mass whose
    # cumulative mass before it is at most the target (the first whose
    # cumulative mass exceeds the target, or the last with mass)
    n_components = mass.shape[0]
    target, before = total[1], total[2]
    first = first_row + np.uint64(start)
    for i in range(n_rows):
        target[i] = uniform(key, first + np.uint64(i), np.uint64(0)) * total[0, i]
        before[i] = 0.0
        label[i] = -1.0
    for k in range(n_components):
        for i in range(n_rows):
            value = mass[k, i]
            cumulative = before[i]
            take = 1.0 if (value > 0.0) & (target[i] >= cumulative) else 0.0
            # arithmetic, not a conditional store: LLVM would make that a
            # masked store, slow on AMD processors (exact: small integers)
            current = label[i]
            label[i] = current + (k - current) * take
            before[i] = cumulative + value
    for k in range(n_components):
        for i in range(n_rows):
            mass[k, i] = 1.0 if label[i] == k else 0.0


@njit(**JIT)
def weighted_copies(w):
    """A row of sample weight w draws ``(n_draws, n_copies, fraction)``: copies
    0..n_copies - 1 = floor(w) - 1 of weight 1, and copy n_copies of weight
    fraction = w - floor(w) when it is positive."""
    whole = np.floor(w)
    n_copies = np.int64(whole)
    fraction = w - whole
    return n_copies + (1 if fraction > 0.0 else 0), n_copies, fraction


@njit(**JIT)
def _sample_weighted_block(mass, n_rows, key, first_row, sample_weight, start,
                           counts):
    """``sample_block`` for weighted rows."""
    n_components = mass.shape[0]
    for i in range(n_rows):
        row = first_row + np.uint64(start + i)
        w = sample_weight[start + i]
        for k in range(n_components):
            counts[k] = 0.0
        n_draws, n_copies, fraction = weighted_copies(w)
        for c in range(n_draws):
            z = inverse_cdf(mass, i, uniform(key, row, np.uint64(c)))
            if z >= 0:
                counts[z] += 1.0 if c < n_copies else fraction
        for k in range(n_components):
            mass[k, i] = counts[k] / w if w > 0.0 else 0.0

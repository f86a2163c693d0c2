"""Block kernels against NumPy: the register-tiled products of
``_kernels.common`` for every number of features around the tile size (whole
tiles, remainders, none), the variational entropy and the masked statistics of
diagonal models with missing values."""

import functools
import importlib.util
from pathlib import Path

import numpy as np
import pytest
from numba import njit
from numpy.testing import assert_allclose

from fastgmm._config import BLOCK_ROWS, JIT, CompiledOnly, python_callable
from fastgmm._covariance import covariance_type
from fastgmm._kernels.common import (
    NEGLIGIBLE_LOG,
    TILE,
    add_lower_products,
    add_triangular_norms,
    block_entropy,
    block_log_likelihood,
    exp_nonpositive,
    log_positive,
    normalise_rows,
    transpose_block,
)
from fastgmm._kernels.diag import (
    EXPANDED_LIMIT,
    SCALED_LIMIT,
    SPHERICAL_LIMIT,
    add_stats_diag,
    add_stats_diag_narrow,
    add_stats_spherical,
    centre_on_means,
    log_prob_diag,
    log_prob_diag_narrow,
    log_prob_spherical,
)
from fastgmm._kernels.full import (
    add_stats_full_double,
    add_stats_full_narrow,
    add_stats_full_single,
    log_prob_full_double,
    log_prob_full_narrow,
    log_prob_full_single,
)
from fastgmm._kernels.kinds import DIAG
from fastgmm._kernels.missing import (
    N_VECTORS,
    _add_stats_observed_diag,
    _scan_block,
)
from fastgmm._kernels.tied import add_stats_tied, add_stats_tied_narrow, log_prob_tied

# The kernels imported above that only compiled code calls have no wrapper for
# Python; the tests call copies that have one, compiled from the same source
globals().update({name: python_callable(kernel)
                  for name, kernel in list(globals().items())
                  if isinstance(kernel, CompiledOnly)})

N_ROWS = BLOCK_ROWS - 3  # a partial block: the kernels must stop at n_rows


def narrow_too(n_features, tiled, narrow):
    """The kernels to test at ``n_features``: the tiled one (any D), and below
    TILE features the narrow one as well (the passes' choice there)."""
    return [tiled, narrow] if n_features < TILE else [tiled]


@pytest.mark.parametrize("n_features", range(1, 14))
def test_lower_products(n_features):
    rng = np.random.default_rng(n_features)
    d = n_features
    work = rng.normal(size=(3 * d + 6, BLOCK_ROWS))
    out = rng.normal(size=(d, d))
    before = out.copy()
    add_lower_products(work, 2 * d, d, d, N_ROWS, out)
    left, right = work[2 * d:3 * d, :N_ROWS], work[d:2 * d, :N_ROWS]
    expected = before + np.tril(left @ right.T)
    assert_allclose(np.tril(out), np.tril(expected), rtol=1e-12, atol=1e-12)
    # the upper triangle is never touched
    assert np.array_equal(np.triu(out, 1), np.triu(before, 1))


# rows centred by the caller (any D), or by the tiles (D a multiple of 4 only)
@pytest.mark.parametrize("n_features, centre_in_tiles",
                         [(d, False) for d in range(1, 14)]
                         + [(d, True) for d in (4, 8, 12)])
def test_triangular_norms(n_features, centre_in_tiles):
    rng = np.random.default_rng(100 + n_features)
    d, k = n_features, 1
    work = rng.normal(size=(3 * d + 6, BLOCK_ROWS))
    factor = np.tril(rng.normal(size=(2, d, d)))  # factor[k, j, a], a <= j
    factor[:, np.triu_indices(d, 1)[0], np.triu_indices(d, 1)[1]] = np.nan
    factor[:, np.arange(d), np.arange(d)] += 2.0
    center = rng.normal(size=d)
    x = work[:d, :N_ROWS]
    y = factor[k].copy()
    y[np.isnan(y)] = 0.0
    expected = ((y @ (x - center[:, None])) ** 2).sum(axis=0) + 1.5
    norms = np.full(BLOCK_ROWS, 1.5)
    if centre_in_tiles:
        add_triangular_norms(work, 0, 3 * d + 2, d, N_ROWS, factor, k, center,
                             np.zeros(d), norms)
    else:
        work[d:2 * d, :N_ROWS] = x - center[:, None]
        add_triangular_norms(work, d, 3 * d + 2, d, N_ROWS, factor, k,
                             np.zeros(d), np.zeros(d), norms)
    assert_allclose(norms[:N_ROWS], expected, rtol=1e-12)
    assert np.all(norms[N_ROWS:] == 1.5)


@pytest.mark.parametrize("n_features", [3, 4, 8, 13])
def test_lower_products_float32(n_features):
    """float32 rows: each sum is taken in float32 lanes and added to the float64
    output, within float32 rounding of the float64 products of the same values."""
    rng = np.random.default_rng(200 + n_features)
    d = n_features
    work = rng.normal(size=(3 * d + 6, BLOCK_ROWS)).astype(np.float32)
    out = np.zeros((d, d))
    add_lower_products(work, 2 * d, d, d, N_ROWS, out)
    left = work[2 * d:3 * d, :N_ROWS].astype(np.float64)
    right = work[d:2 * d, :N_ROWS].astype(np.float64)
    scale = np.abs(left) @ np.abs(right).T  # what rounding is relative to
    error = np.abs(np.tril(out - left @ right.T))
    assert out.dtype == np.float64
    assert np.all(error <= 1e-6 * np.tril(scale))


@pytest.mark.parametrize("n_features", [1, 2, 3, 4, 5, 8])
def test_full_log_densities_against_numpy(n_features):
    """``log_prob_full_double`` against NumPy: the register tiles (with rows
    centred beforehand beyond the whole tiles), and below TILE features
    ``log_prob_full_narrow`` too (one sweep per component); tight components
    (widths 1e-2) 1e4 from the origin, so each squared norm must come from
    x - mu taken first (expanded around the origin it would be 1e8 x eps off)."""
    rng = np.random.default_rng(320 + n_features)
    d, k = n_features, 3
    means = 1e4 + rng.normal(size=(k, d))
    labels = rng.integers(k, size=N_ROWS)
    x = means[labels] + 1e-2 * rng.normal(size=(N_ROWS, d))
    factor = np.tril(rng.normal(scale=10.0, size=(k, d, d)))
    factor[:, np.arange(d), np.arange(d)] += 100.0
    upper = np.triu_indices(d, 1)
    factor[:, upper[0], upper[1]] = np.nan  # never read
    log_norm = rng.normal(size=k)
    lower = np.nan_to_num(factor)
    y = np.einsum("kja,kna->knj", lower, x[None] - means[:, None])
    expected = log_norm[:, None] - 0.5 * (y**2).sum(axis=2)
    for kernel in narrow_too(d, log_prob_full_double, log_prob_full_narrow):
        work = np.zeros((3 * d + 6, BLOCK_ROWS))
        work[:d, :N_ROWS] = x.T
        out = np.full((k, BLOCK_ROWS), 3.0)
        kernel(d, N_ROWS, means, factor, log_norm, out, work)
        assert_allclose(out[:, :N_ROWS], expected, rtol=1e-13, atol=1e-13)
        assert np.all(out[:, N_ROWS:] == 3.0)
        assert np.array_equal(work[:d, :N_ROWS], x.T)


@pytest.mark.parametrize("n_features", [1, 2, 3, 4, 5, 8])
def test_tied_log_densities_against_numpy(n_features):
    """``log_prob_tied`` (each point transformed once around the shift, the
    layout of ``_covariance.Tied.kernel_layout``) against NumPy, and below
    TILE features ``log_prob_full_narrow`` with the one factor (the passes'
    choice there), on components a few widths apart 1e4 from the origin."""
    rng = np.random.default_rng(340 + n_features)
    d, k = n_features, 4
    means = 1e4 + 0.05 * rng.normal(size=(k, d))
    x = means[rng.integers(k, size=N_ROWS)] + 1e-2 * rng.normal(size=(N_ROWS, d))
    upper_factor = np.triu(rng.normal(scale=10.0, size=(d, d)))
    upper_factor[np.arange(d), np.arange(d)] = 100.0 + rng.random(d)
    factor, aux, shift = covariance_type("tied").kernel_layout(means, upper_factor)
    assert factor.shape == (1, d, d)
    log_norm = rng.normal(size=k)
    y = (x[None] - means[:, None]) @ upper_factor
    expected = log_norm[:, None] - 0.5 * (y**2).sum(axis=2)
    for narrow in [False, True] if d < TILE else [False]:
        work = np.zeros((3 * d + 6, BLOCK_ROWS))
        work[:d, :N_ROWS] = x.T
        out = np.full((k, BLOCK_ROWS), 3.0)
        if narrow:
            log_prob_full_narrow(d, N_ROWS, means, factor, log_norm, out, work)
        else:
            log_prob_tied(d, N_ROWS, aux, factor, log_norm, shift, out, work)
        assert_allclose(out[:, :N_ROWS], expected, rtol=1e-12, atol=1e-11)
        assert np.all(out[:, N_ROWS:] == 3.0)
        assert np.array_equal(work[:d, :N_ROWS], x.T)


@pytest.mark.parametrize("n_features", [3, 8, 16])
def test_float32_log_densities_far_from_the_origin(n_features):
    """``log_prob_full_single`` (float32 data) against the float64 kernel on the
    same float32 values, 1e4 from the origin with unit widths: the squared
    norms agree to float32 accuracy because each mean's rounding to float32
    is compensated; centring on the rounded means alone would be off by far
    more (checked, so that the data do exercise the compensation)."""
    rng = np.random.default_rng(300 + n_features)
    d, k = n_features, 3
    means = 1e4 + rng.normal(size=(k, d))
    labels = rng.integers(k, size=N_ROWS)
    x = (means[labels] + rng.normal(size=(N_ROWS, d))).astype(np.float32)
    work = np.zeros((3 * d + 6, BLOCK_ROWS))
    work[:d, :N_ROWS] = x.T
    factor = np.tril(rng.normal(scale=0.1, size=(k, d, d)))
    factor[:, np.arange(d), np.arange(d)] += 1.0
    log_norm = rng.normal(size=k)
    double = np.zeros((k, BLOCK_ROWS))
    single = np.zeros((k, BLOCK_ROWS))
    log_prob_full_double(d, N_ROWS, means, factor, log_norm, double, work)
    log_prob_full_single(d, N_ROWS, means, factor, log_norm, single, work)
    maha = 2.0 * (log_norm[:, None] - double[:, :N_ROWS])
    error = np.abs(single[:, :N_ROWS] - double[:, :N_ROWS])
    assert np.all(error <= 1e-5 * (1.0 + maha))
    rounded = means.astype(np.float32).astype(np.float64)
    uncompensated = np.zeros((k, BLOCK_ROWS))
    log_prob_full_double(d, N_ROWS, rounded, factor, log_norm, uncompensated, work)
    assert np.max(np.abs(uncompensated - double)[:, :N_ROWS]) > 100 * np.max(error)


@pytest.mark.parametrize("n_features", [4, 8, 16])
@pytest.mark.parametrize("compact", [False, True])
def test_float32_statistics_far_from_the_origin(n_features, compact):
    """``add_stats_full_single`` against the float64 kernel on float32 values 1e4
    from the origin: the deviations are taken from float32(mu) and the block's
    sums moved to mu in float64, so the statistics around mu keep float32
    accuracy of their own size (not of 1e4). With ``compact`` most
    responsibilities are 0 and only the others are gathered."""
    rng = np.random.default_rng(400 + n_features)
    d, k = n_features, 3
    means = 1e4 + rng.normal(size=(k, d))
    labels = rng.integers(k, size=N_ROWS)
    x = (means[labels] + rng.normal(size=(N_ROWS, d))).astype(np.float32)
    resp = np.zeros((k, BLOCK_ROWS))
    resp[:, :N_ROWS] = rng.random((k, N_ROWS))
    if compact:
        resp[:, :N_ROWS] *= rng.random((k, N_ROWS)) < 0.2
    weights = rng.random(N_ROWS + 5)
    results = []
    for kernel in (add_stats_full_double, add_stats_full_single):
        work = np.zeros((3 * d + 6, BLOCK_ROWS))
        work[:d, :N_ROWS] = x.T
        stats = (np.zeros(k), np.zeros((k, d)), np.zeros((k, d, d)))
        kernel(d, 5, N_ROWS, resp, weights, means, *stats, work,
               np.empty(BLOCK_ROWS, dtype=np.int64))
        results.append(stats)
    (s0, s1, s2), (t0, t1, t2) = results
    r = resp[:, :N_ROWS] * weights[5:]
    deviations = x.astype(np.float64)[None] - means[:, None]
    assert_allclose(s1, np.einsum("kn,knd->kd", r, deviations), rtol=1e-9,
                    atol=1e-9 * np.abs(s1).max())
    assert_allclose(t0, s0, rtol=1e-6)
    # float32 accuracy relative to the moments' own scale
    assert np.abs(t1 - s1).max() <= 1e-5 * np.einsum(
        "kn,knd->kd", r, np.abs(deviations)).max()
    lower = np.tril_indices(d)
    assert np.abs(t2 - s2)[:, lower[0], lower[1]].max() <= 1e-5 * np.abs(s2).max()


@pytest.mark.parametrize("n_features", [1, 2, 3, 4, 5, 8, 13, 16])
@pytest.mark.parametrize("compact", [False, True])
@pytest.mark.parametrize("weighted", [False, True])
def test_full_and_tied_statistics_against_two_pass(n_features, compact, weighted):
    """``add_stats_full_double`` (products centred inside the sweeps when most
    responsibilities are nonzero, gathered rows otherwise; below TILE features
    ``add_stats_full_narrow`` too, every point swept) and ``add_stats_tied``
    (and ``add_stats_tied_narrow``: per-component moments, and the scatter
    around a shift) against a two-pass NumPy computation, on
    tight components (widths 1e-2) 1e4 from the origin and from each other:
    the moments around each mean keep float64 accuracy of their own size."""
    rng = np.random.default_rng(500 + n_features)
    d, k = n_features, 3
    centres = 1e4 * np.arange(1, k + 1)[:, None] + rng.normal(size=(k, d))
    # component 0 holds most rows (its products sweep every row unless
    # ``compact``), the others a few (gathered); each only its own rows
    labels = rng.choice(k, size=N_ROWS, p=[0.8, 0.1, 0.1])
    x = centres[labels] + 1e-2 * rng.normal(size=(N_ROWS, d))
    means = centres + 1e-3 * rng.normal(size=(k, d))
    resp = np.zeros((k, BLOCK_ROWS))
    resp[:, :N_ROWS] = (labels == np.arange(k)[:, None]) * rng.random((k, N_ROWS))
    if compact:
        resp[:, :N_ROWS] *= rng.random((k, N_ROWS)) < 0.2
    weights = rng.random(N_ROWS + 5) if weighted else np.empty(0)
    r = resp[:, :N_ROWS] * (weights[5:] if weighted else 1.0)
    deviations = x[None] - means[:, None]
    expected_s1 = np.einsum("kn,knd->kd", r, deviations)
    expected_s2 = np.einsum("kn,kna,knb->kab", r, deviations, deviations)

    # accuracy relative to each component's own moments (1e-3 and 1e-4 per
    # point), not to 1e4: a product expanded around the origin would be
    # 1e8 x 1e-16 = 1e-8 off per point
    scale1 = np.einsum("kn,knd->k", r, np.abs(deviations))[:, None]
    scale2 = np.abs(expected_s2).max(axis=(1, 2))[:, None]
    lower, upper = np.tril_indices(d), np.triu_indices(d, 1)
    tiled = functools.partial(add_stats_full_double,
                              idx=np.empty(BLOCK_ROWS, dtype=np.int64))
    for kernel in narrow_too(d, tiled, add_stats_full_narrow):
        work = np.zeros((3 * d + 6, BLOCK_ROWS))
        work[:d, :N_ROWS] = x.T
        s0, s1, s2 = np.zeros(k), np.zeros((k, d)), np.zeros((k, d, d))
        s2[:, upper[0], upper[1]] = 7.0
        kernel(d, 5, N_ROWS, resp, weights, means, s0, s1, s2, work)
        assert_allclose(s0, r.sum(axis=1), rtol=1e-12)
        assert np.all(np.abs(s1 - expected_s1) <= 1e-12 * scale1)
        assert np.all(np.abs((s2 - expected_s2)[:, lower[0], lower[1]])
                      <= 1e-12 * scale2)
        # the upper triangle is left alone
        assert np.all(s2[:, upper[0], upper[1]] == 7.0)

    # tied: the per-component moments and the shared scatter around a shift
    # (means[0]: the points of the other components lie 1e4 and 2e4 from it)
    shift = means[0]
    w = weights[5:] if weighted else np.ones(N_ROWS)
    expected_scatter = np.einsum("n,na,nb->ab", w, x - shift, x - shift)
    tied = functools.partial(add_stats_tied,
                             idx=np.empty(BLOCK_ROWS, dtype=np.int64))
    for kernel in narrow_too(d, tied, add_stats_tied_narrow):
        work = np.zeros((3 * d + 6, BLOCK_ROWS))
        work[:d, :N_ROWS] = x.T
        t0, t1, t2 = np.zeros(k), np.zeros((k, d)), np.zeros((1, d, d))
        t2[0, upper[0], upper[1]] = 7.0
        kernel(d, 5, N_ROWS, resp, weights, means, shift, t0, t1, t2, work)
        assert_allclose(t0, r.sum(axis=1), rtol=1e-12)
        assert np.all(np.abs(t1 - expected_s1) <= 1e-12 * scale1)
        assert_allclose(t2[0][lower], expected_scatter[lower], rtol=1e-12)
        assert np.all(t2[0, upper[0], upper[1]] == 7.0)


@pytest.mark.parametrize("n_features", [1, 2, 3, 4, 5, 7, 8, 16, 33])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n_rows", [BLOCK_ROWS, N_ROWS, 3])
@pytest.mark.parametrize("layout", ["C", "F", "strided"])
def test_transpose_block(n_features, dtype, n_rows, layout):
    """``transpose_block`` (a sweep per feature over the block's values seen
    flat) writes exactly the block's rows, in float64, and nothing else of
    ``work``; X that is not C-contiguous (which the passes never give it) is
    read right too."""
    d = n_features
    X = np.random.default_rng(d).normal(size=(1000, 2 * d)).astype(dtype)
    X = X[:, ::2] if layout == "strided" else X[:, :d].copy(order=layout)
    work = np.zeros((3 * d + 6, BLOCK_ROWS))
    transpose_block(X, 100, n_rows, work)
    assert np.array_equal(work[:d, :n_rows], X[100:100 + n_rows].T.astype(np.float64))
    assert not work[:d, n_rows:].any() and not work[d:].any()


@pytest.mark.parametrize("n_features", [1, 2, 3, 4, 5, 16])
@pytest.mark.parametrize("offset", [0.0, 0.5, 1e6])
def test_diag_log_densities_against_numpy(n_features, offset):
    """``log_prob_diag`` with diag's layout against NumPy, for components whose
    means lie ``offset`` times SCALED_LIMIT widths from the origin: below the
    limit each distance is one multiply-add (u = g x - g mu); far beyond it the
    component takes the exact form, whose accuracy does not depend on where the
    data lie (a scaled form would lose 1e6 x SCALED_LIMIT x eps here). Below
    TILE features ``log_prob_diag_narrow`` too: every component in the exact
    form, in one sweep."""
    rng = np.random.default_rng(700 + n_features)
    d, k = n_features, 5
    widths = np.exp(rng.uniform(-1.0, 1.0, size=(k, d)))
    means = offset * SCALED_LIMIT * widths * rng.choice([-1.0, 1.0], size=(k, 1))
    means += widths * rng.normal(size=(k, d))
    labels = rng.integers(k, size=N_ROWS)
    x = means[labels] + widths[labels] * rng.normal(size=(N_ROWS, d))
    log_norm = rng.normal(size=k)
    factor, aux, _ = covariance_type("diag").kernel_layout(means, 1.0 / widths)
    assert factor.shape == (k, 2, d)
    expected = log_norm[:, None] - 0.5 * (
        ((x[None] - means[:, None]) / widths[:, None]) ** 2).sum(axis=2)
    tiled = functools.partial(log_prob_diag, aux=aux)
    for kernel in narrow_too(d, tiled, log_prob_diag_narrow):
        work = np.zeros((3 * d + 6, BLOCK_ROWS))
        work[:d, :N_ROWS] = x.T
        out = np.zeros((k, BLOCK_ROWS))
        kernel(d, N_ROWS, means, factor, log_norm, out=out, work=work)
        # within a few eps of each standardised distance times the largest
        # |g mu| that takes the scaled form
        assert np.all(np.abs(out[:, :N_ROWS] - expected)
                      <= 1e-12 * (1.0 + np.abs(expected)))
        assert_allclose(work[:d, :N_ROWS], x.T, rtol=0, atol=0)


def _far_block(rng, n_features, n_components):
    """Points, means and responsibilities of tight components (widths 1e-2)
    1e4 apart. Every component has a nonzero weight on every point (so that
    it is summed in a group), negligible beyond its own points."""
    d, k = n_features, n_components
    centres = 1e4 * np.arange(k)[:, None] + rng.normal(size=(k, d))
    labels = rng.integers(k, size=N_ROWS)
    x = centres[labels] + 1e-2 * rng.normal(size=(N_ROWS, d))
    means = centres + 1e-3 * rng.normal(size=(k, d))
    resp = rng.random((k, N_ROWS)) * 1e-20
    resp[labels, np.arange(N_ROWS)] = rng.random(N_ROWS)
    return x, means, resp


def _two_pass_inputs(rng, x, means, resp, weighted):
    """The diag statistics tests' block of responsibilities (K, BLOCK_ROWS),
    row weights (offset by 5 rows, or none), r = resp * weight, the deviations
    x - mean (K, D, N) and the first moments sum r (x - mean) (K, D)."""
    block = np.zeros((len(means), BLOCK_ROWS))
    block[:, :N_ROWS] = resp
    weights = rng.random(N_ROWS + 5) if weighted else np.empty(0)
    r = resp * (weights[5:] if weighted else 1.0)
    deviations = x.T[None] - means[:, :, None]
    return block, weights, r, deviations, np.einsum("kn,kdn->kd", r, deviations)


@pytest.mark.parametrize("n_features", [1, 2, 3, 4, 5, 16])
@pytest.mark.parametrize("n_components", [3, 5, 9])
@pytest.mark.parametrize("layout", ["near", "far", "mixed"])
@pytest.mark.parametrize("weighted", [False, True])
def test_diag_statistics_against_two_pass(n_features, n_components, layout,
                                          weighted):
    """``add_stats_diag`` against a two-pass NumPy computation. Dense
    components take groups of eight in expanded form (around the mean of the
    means), four where four or fewer are left: K = 3 a group of four padded
    with a repeat, K = 5 a group of eight padded with three, K = 9 a whole
    group of eight and a group of four padded with three (spherical models'
    groups are of four: ``test_spherical_statistics_against_two_pass``).
    "near": overlapping components near the origin, every responsibility
    nonzero (the expanded sums are kept); "far": tight components (widths
    1e-2) 1e4 apart, where the expanded sums would cancel and are summed
    again around the means; "mixed": a third of the components responsible
    for a few points only (their points are gathered). Below four features
    ``add_stats_diag_narrow`` too: every component in one centred sweep over
    every point."""
    rng = np.random.default_rng(600 + 10 * n_features + n_components)
    d, k = n_features, n_components
    if layout == "far":
        x, means, resp = _far_block(rng, d, k)
    else:
        centres = rng.normal(size=(k, d))
        x = centres[rng.integers(k, size=N_ROWS)] + rng.normal(size=(N_ROWS, d))
        means = centres + 0.1 * rng.normal(size=(k, d))
        resp = rng.random((k, N_ROWS))
        if layout == "mixed":
            resp[::3] *= rng.random((len(resp[::3]), N_ROWS)) < 0.1
    block, weights, r, deviations, expected_s1 = _two_pass_inputs(
        rng, x, means, resp, weighted)
    expected_s2 = np.einsum("kn,kdn->kd", r, deviations**2)

    # accuracy relative to each component's own moments, not to 1e4 or to its
    # mean's distance from the shift (at most EXPANDED_LIMIT widths when kept)
    scale1 = np.einsum("kn,kdn->kd", r, np.abs(deviations))
    tolerance = 1e-11 if layout == "far" else 4e-16 * EXPANDED_LIMIT * 10
    tiled = functools.partial(add_stats_diag,
                              idx=np.empty(BLOCK_ROWS, dtype=np.int64))
    for kernel in narrow_too(d, tiled, add_stats_diag_narrow):
        work = np.zeros((3 * d + 6, BLOCK_ROWS))
        work[:d, :N_ROWS] = x.T
        s0, s1, s2 = np.ones(k), np.ones((k, d)), np.ones((k, 1, d))
        kernel(d, 5, N_ROWS, block, weights, means, s0, s1, s2, work)
        assert_allclose(s0, 1.0 + r.sum(axis=1), rtol=1e-13)
        assert np.all(np.abs(s1 - 1.0 - expected_s1)
                      <= tolerance * scale1 + 1e-15)
        assert np.all(np.abs(s2[:, 0] - 1.0 - expected_s2)
                      <= tolerance * expected_s2 + 1e-15)


def _spherical_block(rng, n_features, n_components, layout):
    """Points, means and responsibilities of a spherical mixture for the
    spherical kernels' tests: "near", overlapping components (every
    responsibility nonzero); "far", tight components (widths 1e-2) 1e4 apart,
    far beyond SPHERICAL_LIMIT widths from the mean of the means; "mixed", as
    near with a third of the components responsible for a few points only."""
    d, k = n_features, n_components
    if layout == "far":
        widths = np.full(k, 1e-2)
        x, means, resp = _far_block(rng, d, k)
    else:
        widths = np.exp(rng.uniform(-0.5, 0.5, size=k))
        centres = 3.0 * rng.normal(size=(k, d)) + 100.0
        x = (centres[rng.integers(k, size=N_ROWS)]
             + widths[rng.integers(k, size=N_ROWS), None]
             * rng.normal(size=(N_ROWS, d)))
        means = centres + 0.1 * rng.normal(size=(k, d))
        resp = rng.random((k, N_ROWS))
        if layout == "mixed":
            resp[::3] *= rng.random((len(resp[::3]), N_ROWS)) < 0.1
    return x, means, widths, resp


@pytest.mark.parametrize("n_features", [1, 2, 3, 4, 5, 16])
@pytest.mark.parametrize("layout", ["near", "far", "edge"])
def test_spherical_log_densities_against_numpy(n_features, layout):
    """``log_prob_spherical`` against NumPy, data 100 from the origin. "near"
    and "far" as in ``_spherical_block``; "edge": components SPHERICAL_LIMIT
    widths from the mean of the means, half just inside (expanded form), half
    just outside (exact form). The expanded form's error is bounded by a few
    eps lambda (||y||² + ||m||²), y and m the point and the mean around the
    mean of the means; the exact form's by a few eps of the result."""
    rng = np.random.default_rng(800 + n_features)
    d, k = n_features, 6
    x, means, widths, _ = _spherical_block(rng, d, k, layout)
    if layout == "edge":
        # three pairs of opposite means (so that c stays at 100), of unit
        # width, at 0.9, 1.1 and 0.95 SPHERICAL_LIMIT from c
        widths = np.ones(k)
        direction = rng.normal(size=(k // 2, d))
        direction /= np.linalg.norm(direction, axis=1, keepdims=True)
        scale = SPHERICAL_LIMIT * np.array([0.9, 1.1, 0.95])[:, None]
        signs = np.tile([1.0, -1.0], k // 2)[:, None]
        offsets = np.repeat(direction * scale, 2, axis=0) * signs
        means = 100.0 + offsets
        x = means[rng.integers(k, size=N_ROWS)] + rng.normal(size=(N_ROWS, d))
    precision = 1.0 / widths**2
    log_norm = rng.normal(size=k)
    work = np.zeros((3 * d + 6, BLOCK_ROWS))
    work[:d, :N_ROWS] = x.T
    out = np.zeros((k, BLOCK_ROWS))
    centre_on_means(d, N_ROWS, means, work)
    log_prob_spherical(d, N_ROWS, means, precision.reshape(-1, 1, 1), log_norm, out,
                       work)
    squared = ((x[None] - means[:, None]) ** 2).sum(axis=2)
    expected = log_norm[:, None] - 0.5 * precision[:, None] * squared
    c = work[3 * d + 3, :d].copy()
    assert_allclose(c, means.mean(axis=0), rtol=1e-15)
    assert_allclose(work[2 * d:3 * d, :N_ROWS], x.T - c[:, None], rtol=0, atol=0)
    around = (((x - c) ** 2).sum(axis=1)[None]
              + ((means - c) ** 2).sum(axis=1)[:, None]) * precision[:, None]
    expanded = precision * ((means - c) ** 2).sum(axis=1) <= SPHERICAL_LIMIT**2
    if layout == "far":
        assert not expanded.any()
    elif layout == "edge":
        assert_allclose(expanded, [True, True, False, False, True, True])
    else:
        assert expanded.all()
    eps = np.finfo(np.float64).eps
    bound = np.where(expanded[:, None], 8 * eps * around, 0.0)
    bound += 8 * eps * (1.0 + np.abs(expected))
    assert np.all(np.abs(out[:, :N_ROWS] - expected) <= bound)
    assert_allclose(work[:d, :N_ROWS], x.T, rtol=0, atol=0)
    if d < TILE:
        # the passes' choice below TILE features: diag's exact sweep, reading
        # the one precision for every feature
        narrow = np.full((k, BLOCK_ROWS), 3.0)
        log_prob_diag_narrow(d, N_ROWS, means, precision.reshape(-1, 1, 1),
                             log_norm, narrow, work)
        assert np.all(np.abs(narrow[:, :N_ROWS] - expected)
                      <= 8 * eps * (1.0 + np.abs(expected)))
        assert np.all(narrow[:, N_ROWS:] == 3.0)


@pytest.mark.parametrize("n_features", [1, 2, 3, 4, 5, 16, 70])
@pytest.mark.parametrize("n_components", [3, 5, 9])
@pytest.mark.parametrize("layout", ["near", "far", "mixed"])
@pytest.mark.parametrize("weighted", [False, True])
def test_spherical_statistics_against_two_pass(n_features, n_components, layout,
                                               weighted):
    """``add_stats_spherical`` on a centred block against a two-pass NumPy
    computation: s0, s1 per feature and the second moment summed over the
    features (all a spherical model reads). The groups of four add sum r y
    per feature and sum r ||y||² once; "far" components, whose expanded sums
    would cancel, are summed again around their means. Below TILE features
    the passes take diag's ``add_stats_diag_narrow`` instead (per-feature
    sums), tested in its place."""
    rng = np.random.default_rng(900 + 10 * n_features + n_components)
    d, k = n_features, n_components
    x, means, _, resp = _spherical_block(rng, d, k, layout)
    block, weights, r, deviations, expected_s1 = _two_pass_inputs(
        rng, x, means, resp, weighted)
    expected_s2 = np.einsum("kn,kdn->k", r, deviations**2)
    scale1 = np.einsum("kn,kdn->kd", r, np.abs(deviations))
    tolerance = 1e-11 if layout == "far" else 4e-16 * EXPANDED_LIMIT * 10

    work = np.zeros((3 * d + 6, BLOCK_ROWS))
    work[:d, :N_ROWS] = x.T
    s0, s1, s2 = np.ones(k), np.ones((k, d)), np.ones((k, 1, d))
    if d < TILE:
        add_stats_diag_narrow(d, 5, N_ROWS, block, weights, means, s0, s1, s2,
                              work)
    else:
        centre_on_means(d, N_ROWS, means, work)
        add_stats_spherical(d, 5, N_ROWS, block, weights, means, s0, s1, s2, work,
                            np.empty(BLOCK_ROWS, dtype=np.int64))
    assert_allclose(s0, 1.0 + r.sum(axis=1), rtol=1e-13)
    assert np.all(np.abs(s1 - 1.0 - expected_s1) <= tolerance * scale1 + 1e-15)
    assert np.all(np.abs(s2[:, 0].sum(axis=1) - d - expected_s2)
                  <= tolerance * expected_s2 + 1e-15)


def test_log_positive_against_numpy():
    """``log_positive`` within 2 ulp of np.log over the normal floats, near 1
    (where log x is tiny) and at the mantissa split sqrt(2); exact at powers
    of two."""
    rng = np.random.default_rng(3)
    sqrt2 = np.sqrt(2.0)
    x = np.concatenate([
        np.exp(rng.uniform(-700.0, 700.0, 20_000)),
        1.0 + rng.uniform(-1e-3, 1e-3, 20_000),
        rng.uniform(1.0, 1000.0, 20_000),
        [np.finfo(float).tiny, np.finfo(float).max, sqrt2, np.nextafter(sqrt2, 0.0),
         np.nextafter(sqrt2 / 2, 1.0), 1.0, 2.0, 0.5, 1024.0],
    ])
    result = np.array([log_positive(v) for v in x])
    expected = np.log(x)
    ulp = np.spacing(np.abs(expected))
    assert np.all(np.abs(result - expected) <= 2 * ulp)
    assert np.all(result[-4:] == np.log(x[-4:]))


@njit(**{**JIT, "cache": False})
def _exps(t, out):
    """``exp_nonpositive`` over an array, in a loop compiled as the kernels'
    (vectorised, with their fastmath flags)."""
    for i in range(t.shape[0]):
        out[i] = exp_nonpositive(t[i])


def test_exp_nonpositive_against_numpy():
    """``exp_nonpositive`` as the kernels run it: within 2 ulp of np.exp down
    to -5, and within 20 ulp (about 1.3 ulp per unit of |t|) down to
    NEGLIGIBLE_LOG, where its docstring says why; exactly 1 at 0."""
    rng = np.random.default_rng(6)
    t = np.concatenate([rng.uniform(-5.0, 0.0, 100_000),
                        rng.uniform(NEGLIGIBLE_LOG, -5.0, 100_000),
                        [0.0, -0.0, NEGLIGIBLE_LOG, -np.log(2.0) / 2]])
    result = np.empty_like(t)
    _exps(t, result)
    expected = np.exp(t)
    ulps = np.abs(result - expected) / np.spacing(expected)
    near = t >= -5.0
    assert ulps[near].max() <= 2.0
    assert ulps[~near].max() <= 20.0
    assert result[-4] == 1.0 and result[-3] == 1.0


@njit(**{**JIT, "cache": False})
def _four_logs(x):
    """Four ``log_positive`` summed in straight-line code, compiled with the
    kernels' fastmath flags: LLVM inlines the four and vectorises them."""
    return ((log_positive(x[0]) + log_positive(x[1]))
            + (log_positive(x[2]) + log_positive(x[3])))


def test_log_positive_summed_in_a_fastmath_caller():
    """Logs added together in a caller compiled with reassociation stay
    exact: with "reassoc" on ``log_positive``'s own instructions, LLVM merged
    the four subtractions of 1.5 * 2**52 into one, and most of these sums came
    out off by multiples of ln 2."""
    rng = np.random.default_rng(4)
    x = np.exp(rng.uniform(0.0, 40.0, size=(500, 4)))
    result = np.array([_four_logs(row) for row in x])
    assert_allclose(result, np.log(x).sum(axis=1), rtol=4e-16, atol=0.0)


@pytest.mark.parametrize("n_rows", [N_ROWS, 3 * BLOCK_ROWS + 13])
@pytest.mark.parametrize("weighted", [False, True])
def test_block_log_likelihood_and_entropy(weighted, n_rows):
    """Σ w log p(x) and Σ w Σ_k r log r from ``normalise_rows(entropy=True)``
    against NumPy: over a partial block and over several blocks' worth of
    points, with a
    point no component can explain (every term -inf: it adds nothing to the
    entropy and makes the log-likelihood -inf, checked apart) and terms far
    below a point's maximum (their r is 0)."""
    rng = np.random.default_rng(5)
    n_components = 5
    logp = np.full((n_components, n_rows + 7), np.nan)
    logp[:, :n_rows] = rng.normal(scale=8.0, size=(n_components, n_rows)) - 700.0
    logp[:, 7] = -np.inf
    logp[1:, 11] = logp[0, 11] - 80.0
    terms = logp[:, :n_rows].copy()
    weights = rng.uniform(0.0, 3.0, size=n_rows + 10) if weighted else np.empty(0)
    start = 10 if weighted else 0
    lse = np.empty(n_rows + 7)
    total = np.empty((3, n_rows + 7))
    normalise_rows(logp, n_rows, lse, total, False, True)
    log_likelihood = block_log_likelihood(lse, total, n_rows, weights, start)
    entropy = block_entropy(lse, total, log_likelihood, n_rows, weights, start)

    top = terms.max(axis=0)
    finite = np.isfinite(top)
    shifted = terms[:, finite] - top[finite]
    r = np.exp(shifted) / np.exp(shifted).sum(axis=0)
    assert_allclose(logp[:, :n_rows][:, finite], r, rtol=1e-14, atol=1e-21)
    # the point no component explains: no responsibility, its top -inf again
    assert np.all(logp[:, 7] == 0.0) and lse[7] == -np.inf and total[0, 7] == 0.0
    plain = terms.copy()
    normalise_rows(plain, n_rows, np.empty(n_rows), np.empty((2, n_rows)), True)
    assert np.array_equal(plain, logp[:, :n_rows])
    with np.errstate(divide="ignore", invalid="ignore"):
        per_point = np.where(r > 0.0, r * np.log(r), 0.0).sum(axis=0)
    w = weights[start:start + n_rows] if weighted else np.ones(n_rows)
    assert np.isfinite(entropy)
    assert_allclose(entropy, np.sum(w[finite] * per_point), rtol=1e-12)
    assert log_likelihood == -np.inf
    total[0, 7], lse[7] = 1.0, 0.0  # the -inf point explained: log p = 0
    log_likelihood = block_log_likelihood(lse, total, n_rows, weights, start)
    expected = np.sum(w[finite] * (top[finite] + np.log(np.exp(shifted).sum(axis=0))))
    assert_allclose(log_likelihood, expected, rtol=1e-14)
    # a finite log-likelihood: unweighted, the entropy takes the sum of the
    # logs from it (the point's total[2] is 0 and its log S 0: the same sum)
    assert_allclose(block_entropy(lse, total, log_likelihood, n_rows, weights,
                                  start), entropy, rtol=1e-12)


@pytest.mark.parametrize("n_components", [3, 1000])
def test_block_log_likelihood_of_equal_terms(n_components):
    """A point whose K terms are all equal has log p = term + log K (a row
    sum of K), for a few components and for many."""
    n_rows = 2 * BLOCK_ROWS
    logp = np.full((n_components, n_rows), -3.0)
    lse = np.empty(n_rows)
    total = np.empty((3, n_rows))
    normalise_rows(logp, n_rows, lse, total, False, True)
    log_likelihood = block_log_likelihood(lse, total, n_rows, np.empty(0), 0)
    assert_allclose(log_likelihood, n_rows * (np.log(n_components) - 3.0),
                    rtol=1e-14)
    assert_allclose(block_entropy(lse, total, log_likelihood, n_rows, np.empty(0),
                                  0),
                    -n_rows * np.log(n_components), rtol=1e-13)


@pytest.mark.parametrize("n_features", [3, 4, 9])
@pytest.mark.parametrize("spherical", [False, True])
def test_masked_diag_statistics(n_features, spherical):
    """The statistics of a block with NaN (diag and spherical): each component's
    rows completed with its mean, plus r / λ per missing entry, against NumPy;
    one component responsible for most rows (summed in place), one for a few
    (gathered first), one for none, weighted rows. ``_scan_block`` masks the
    block and counts its NaN."""
    rng = np.random.default_rng(n_features)
    d, n_components = n_features, 3
    X = rng.normal(size=(N_ROWS + 20, d)) * 3.0 + 50.0
    X[rng.random(X.shape) < 0.3] = np.nan
    start = 20
    weights = rng.uniform(0.0, 2.0, size=len(X))
    resp = np.zeros((n_components, BLOCK_ROWS))
    resp[0, :N_ROWS] = rng.uniform(0.2, 1.0, N_ROWS)
    few = rng.choice(N_ROWS, 9, replace=False)
    resp[1, few] = rng.uniform(0.1, 0.9, 9)
    means = rng.normal(50.0, 1.0, size=(n_components, d))
    precision = rng.uniform(0.5, 2.0, size=(n_components, 1, 1 if spherical else d))

    work = np.full((3 * d + 6, BLOCK_ROWS), np.nan)
    count = np.empty(BLOCK_ROWS, dtype=np.int64)
    features = np.empty((BLOCK_ROWS, d), dtype=np.int64)
    offset = np.empty(BLOCK_ROWS, dtype=np.int64)
    block = X[start:start + N_ROWS]
    n_missing = _scan_block(DIAG, False, X, start, N_ROWS, work, count, features,
                            offset)
    assert n_missing == np.isnan(block).sum()
    s0 = np.zeros(n_components)
    s1 = np.zeros((n_components, d))
    s2 = np.zeros((n_components, 1, d))
    vectors = np.zeros((N_VECTORS, d))
    idx = np.empty(BLOCK_ROWS, dtype=np.int64)
    _add_stats_observed_diag(d, start, N_ROWS, resp.copy(), weights, means,
                             precision, s0, s1, s2, vectors, work, idx)

    missing = np.isnan(block)
    for k in range(n_components):
        r = resp[k, :N_ROWS] * weights[start:start + N_ROWS]
        t = np.where(missing, 0.0, block - means[k])
        variance = 1.0 / np.broadcast_to(precision[k, 0], (d,))
        assert_allclose(s0[k], r.sum(), rtol=1e-13)
        assert_allclose(s1[k], r @ t, rtol=1e-12, atol=1e-12)
        expected = r @ t**2 + (r @ missing) * variance
        assert_allclose(s2[k, 0], expected, rtol=1e-12, atol=1e-12)



def _bench_script(name, monkeypatch):
    """The module of asv_bench/<name>.py, loaded as when it runs as a script:
    it finds the benchmarks' harness next to it on sys.path."""
    asv_bench = Path(__file__).resolve().parents[1] / "asv_bench"
    monkeypatch.syspath_prepend(str(asv_bench))
    spec = importlib.util.spec_from_file_location(name, asv_bench / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_stage_profile_script_runs(capsys, monkeypatch):
    """asv_bench/stage_profile.py (the per-stage profile quoted in the notes)
    runs against the current kernels and reports each stage."""
    _bench_script("stage_profile", monkeypatch).main(["diag", "3000", "5", "3"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("3,000 x 5 x 3 diag")
    assert [line.split()[0] for line in lines[1:]] == ["transpose", "+", "+", "+"]
    assert all(float(line.split()[-2]) >= 0.0 for line in lines[1:])  # cumulative ms


def test_missing_stage_profile_script_runs(capsys, monkeypatch):
    """asv_bench/missing_stage_profile.py (the missing-value stages quoted in
    the notes) runs against the current kernels: one line per stage with both
    times, the missing rows' completions costing time and the complete rows'
    nothing."""
    module = _bench_script("missing_stage_profile", monkeypatch)
    module.main(["3000", "5", "3"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("3,000 x 5 x 3 full")
    times = {line[:26].strip(): [float(v) for v in line[26:].split()[:2]]
             for line in lines[2:]}
    assert list(times) == [*module.STAGES, "total"]
    assert times["completions"][0] == 0.0 < times["completions"][1]
    assert all(v >= 0.0 for pair in times.values() for v in pair)


@pytest.mark.parametrize("weighted", [False, True])
def test_one_feature_full_runs_the_diag_kernel(weighted):
    """A full model of one feature is laid out for the diag kernel
    (``kernel_params``); its pass gives the full kernel's statistics,
    log-likelihood and predictions from the same parameters."""
    from fastgmm import GaussianMixture
    from fastgmm._kernels import em
    from fastgmm._kernels.kinds import FULL, PROBA, RESPONSIBILITIES
    from fastgmm._params import kernel_params

    rng = np.random.default_rng(4)
    X = rng.standard_normal((9000, 1)) * 3 + rng.integers(4, size=(9000, 1)) * 5
    w = rng.random(len(X)) * 2 if weighted else np.empty(0)
    model = GaussianMixture(4, max_iter=3, tol=0, random_state=0).fit(X)
    kp = kernel_params(model._fitted_state())
    assert kp.kind == DIAG
    # the full kernel's own layout: the transposed upper factor, 1/sigma
    full_factor = np.ascontiguousarray(model.precisions_cholesky_)
    assert_allclose(kp.factor, full_factor**2, rtol=1e-15)
    n_chunks, chunk_rows = 2, 4608

    def run(kind, factor):
        s0 = np.empty((n_chunks, 4))
        s1 = np.empty((n_chunks, 4, 1))
        s2 = np.empty((n_chunks, 4, 1, 1))
        loglik = np.empty(n_chunks)
        em.accumulate(kind, RESPONSIBILITIES, X, w, kp.means, factor, kp.log_norm,
                      kp.aux, kp.shift, chunk_rows, s0, s1, s2, loglik,
                      np.uint64(0), np.uint64(0))
        proba = np.empty((len(X), 4))
        em.predict_rows(kind, PROBA, X, kp.means, factor, kp.log_norm, kp.aux,
                        kp.shift, proba, np.empty(0, dtype=np.int64))
        return s0, s1, s2, loglik, proba

    for ours, theirs in zip(run(kp.kind, kp.factor), run(FULL, full_factor),
                            strict=True):
        assert_allclose(ours, theirs, rtol=1e-12, atol=1e-300)

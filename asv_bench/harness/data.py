"""Synthetic Gaussian mixtures and the initial parameters the benchmarks share."""

import numpy as np

from . import COVARIANCE_TYPES


def make_mixture(
    n_samples,
    n_features,
    n_components,
    covariance_type="full",
    seed=0,
    dtype=np.float64,
):
    """Draw a synthetic mixture and the initial parameters all implementations share.

    The components have covariances of the given type with eigenvalues in [0.5, 1.5];
    their means are spread so that two of them lie about 4 standard deviations apart
    (overlapping a little, as real clusters do, rather than so far apart that every
    responsibility is 0 or 1). The initial parameters are the true ones disturbed: equal
    weights, means moved by a fraction of the spread, covariances inflated by 1.5.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features) and the given dtype
    init : dict with ``weights_init``, ``means_init`` and ``precisions_init`` (float64,
        in the shape scikit-learn takes for ``covariance_type``)
    """
    rng = np.random.default_rng(seed)
    spread, weights, means, covariances = _true_mixture(
        rng, n_features, n_components, covariance_type
    )
    X = np.empty((n_samples, n_features), dtype=dtype)
    _draw_points(rng, weights, means, covariances, X)

    inflated = 1.5 * covariances
    if covariance_type == "full":
        precisions = np.linalg.inv(inflated)
    elif covariance_type == "tied":
        precisions = np.linalg.inv(inflated[0])
    elif covariance_type == "diag":
        precisions = 1.0 / np.diagonal(inflated, axis1=1, axis2=2)
    else:
        precisions = 1.0 / inflated[:, 0, 0]
    init = {
        "weights_init": np.full(n_components, 1.0 / n_components),
        "means_init": means + rng.normal(0.0, 0.25 * spread, size=means.shape),
        "precisions_init": precisions,
    }
    return X, init


def write_mixture_file(
    path,
    n_samples,
    n_features,
    n_components,
    covariance_type="full",
    seed=0,
    rows=1_000_000,
):
    """Write points of a mixture like :func:`make_mixture`'s to a float64 ``.npy`` file.

    The points are drawn ``rows`` at a time into a memory-mapped file, so a file larger
    than memory can be written. They come from the same mixture as ``make_mixture``'s
    for the same arguments, but are not the same points (they are drawn piece by piece).
    """
    rng = np.random.default_rng(seed)
    _, weights, means, covariances = _true_mixture(
        rng, n_features, n_components, covariance_type
    )
    out = np.lib.format.open_memmap(
        path, mode="w+", dtype=np.float64, shape=(n_samples, n_features)
    )
    for start in range(0, n_samples, rows):
        _draw_points(rng, weights, means, covariances, out[start : start + rows])
    out.flush()
    del out


def _true_mixture(rng, n_features, n_components, covariance_type):
    """Return (spread of the means, weights, means, (K, D, D) covariances)."""
    d, k = n_features, n_components
    spread = 4.0 / np.sqrt(2.0 * d)
    means = rng.normal(0.0, spread, size=(k, d))
    weights = rng.dirichlet(np.full(k, 5.0))

    def random_covariance():
        q, _ = np.linalg.qr(rng.standard_normal((d, d)))
        return (q * rng.uniform(0.5, 1.5, size=d)) @ q.T

    if covariance_type == "full":
        covariances = np.stack([random_covariance() for _ in range(k)])
    elif covariance_type == "tied":
        covariances = np.broadcast_to(random_covariance(), (k, d, d))
    elif covariance_type == "diag":
        covariances = np.stack([np.diag(rng.uniform(0.5, 1.5, d)) for _ in range(k)])
    elif covariance_type == "spherical":
        covariances = np.stack([rng.uniform(0.5, 1.5) * np.eye(d) for _ in range(k)])
    else:
        raise ValueError(f"covariance_type must be one of {COVARIANCE_TYPES}")
    return spread, weights, means, covariances


def _draw_points(rng, weights, means, covariances, out):
    """Fill the rows of ``out`` with independent points of the mixture."""
    labels = rng.choice(len(weights), size=len(out), p=weights)
    for j in range(len(weights)):
        rows = np.flatnonzero(labels == j)
        factor = np.linalg.cholesky(covariances[j])
        out[rows] = rng.standard_normal((rows.size, out.shape[1])) @ factor.T + means[j]


#: The numeric columns of :func:`make_table`: name -> what a column of that name
#: looks like in a real table (and why it is in the benchmark).
TABLE_COLUMNS = {
    "age": "two Gaussians of different widths (34 +- 6, 58 +- 9)",
    "sensor": "three Gaussians at different offsets and scales",
    "price": "log-normal: skewed, a long right tail",
    "returns": "Student's t with 2.5 degrees of freedom: heavy tails",
    "balance": "a spike: 35% exactly 0, the rest two Gaussians near 2,500",
    "altitude": "two Gaussians far from 0 (1e5 +- 300 and +- 900)",
    "concentration": "three Gaussians at the 1e-3 scale",
    "duration": "gamma (shape 2): skewed, bounded below by 0",
    "grade": "Gaussian rounded to integers and clipped to 0..100 (ties)",
    "signal": "four Gaussians whose widths span 0.1 to 10",
}


def make_table(n_rows, seed=0):
    """Draw a table of the numeric columns of ``TABLE_COLUMNS``, each 1-D.

    The columns imitate those a data-synthesis library meets: mixtures of a few
    Gaussians at different offsets and scales (including far from 0 and at the
    1e-3 scale), a skewed one, a heavy-tailed one, one with a spike of repeated
    values and one of rounded values.

    Returns
    -------
    dict name -> ndarray of shape (n_rows,), float64, in ``TABLE_COLUMNS``' order
    """
    rng = np.random.default_rng(seed)

    def gaussians(weights, means, scales):
        labels = rng.choice(len(weights), size=n_rows, p=weights)
        return rng.normal(np.take(means, labels), np.take(scales, labels))

    balance = gaussians([0.6, 0.4], [1_800.0, 3_200.0], [400.0, 700.0])
    balance[rng.random(n_rows) < 0.35] = 0.0
    grade = np.clip(np.round(rng.normal(70.0, 12.0, n_rows)), 0.0, 100.0)
    table = {
        "age": gaussians([0.6, 0.4], [34.0, 58.0], [6.0, 9.0]),
        "sensor": gaussians([0.3, 0.5, 0.2], [-2.0, 0.0, 5.0], [0.3, 1.0, 0.5]),
        "price": rng.lognormal(3.0, 0.8, n_rows),
        "returns": 0.01 * rng.standard_t(2.5, n_rows),
        "balance": balance,
        "altitude": gaussians([0.7, 0.3], [1.0e5, 1.03e5], [300.0, 900.0]),
        "concentration": gaussians(
            [0.5, 0.3, 0.2], [2.0e-3, 2.5e-3, 3.5e-3], [1.0e-4, 3.0e-4, 1.0e-4]
        ),
        "duration": rng.gamma(2.0, 30.0, n_rows),
        "grade": grade,
        "signal": gaussians(
            [0.4, 0.3, 0.2, 0.1], [0.0, 0.0, 50.0, -30.0], [1.0, 10.0, 0.1, 5.0]
        ),
    }
    return table

"""The demo behind ``fastgmm demo``: a built-in mixture fitted next to scikit-learn.

:func:`run_demo` draws points from :func:`demo_mixture`, fits them with fastgmm
and (optionally) with scikit-learn from the same k-means start, prints the true
and recovered parameters and both fit times, and draws a picture. scikit-learn,
SciPy and matplotlib are imported only when the demo runs.
"""

from __future__ import annotations

import time
import warnings

import numpy as np

from fastgmm._terminal import progress_on_stderr, to_stderr

__all__ = ["DEFAULT_PICTURE", "MIN_SAMPLES", "demo_mixture", "run_demo"]

DEFAULT_PICTURE = "fastgmm-demo.png"
MIN_SAMPLES = 100

# Both the shared k-means start and the picture's scatter use at most this many
# points: enough to show the shape, cheap at any n_samples.
_SUBSAMPLE = 20_000


def demo_mixture(n_samples: int, seed: int = 0):
    """The demo's mixture: five rotated, elongated components in 2-D.

    Returns ``(X, labels, weights, means, covariances)`` with ``X`` of shape
    (n_samples, 2), drawn with ``numpy.random.default_rng(seed)``.
    """
    weights = np.array([0.30, 0.25, 0.20, 0.15, 0.10])
    means = np.array([[-4.0, -2.0], [3.0, -3.0], [0.0, 4.0], [-6.5, 5.0], [6.0, 3.5]])
    scales = np.array([[2.0, 0.6], [1.0, 1.0], [1.5, 0.5], [0.8, 1.8], [1.2, 0.4]])
    angles = np.radians([30.0, 0.0, -45.0, 15.0, 70.0])
    covariances = np.empty((5, 2, 2))
    for k, (s, a) in enumerate(zip(scales, angles, strict=True)):
        rotation = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
        covariances[k] = rotation @ np.diag(s**2) @ rotation.T
    rng = np.random.default_rng(seed)
    labels = rng.choice(len(weights), size=n_samples, p=weights)
    noise = rng.standard_normal((n_samples, 2))
    factors = np.linalg.cholesky(covariances)
    X = means[labels] + np.einsum("nij,nj->ni", factors[labels], noise)
    return X, labels, weights, means, covariances


def run_demo(
    n_samples: int = 1_000_000,
    *,
    seed: int = 0,
    compare_sklearn: bool = True,
    picture: str | None = DEFAULT_PICTURE,
    n_jobs: int | None = None,
    progress: bool = True,
) -> None:
    """Fit the demo mixture with fastgmm, next to scikit-learn, and report.

    The report goes to stdout: the true and recovered weights, means, standard
    deviations and correlations, the largest errors, and the fit times of both
    estimators, which start EM from the same k-means solution (on at most
    20,000 of the points) so that their times compare the same work. A short
    warm-up fit first pays any Numba compilation, so it is not timed.

    Parameters
    ----------
    n_samples : int, default=1_000_000
        Number of points drawn from :func:`demo_mixture`; at least
        :data:`MIN_SAMPLES`.
    seed : int, default=0
        Seed of the data and of the k-means start.
    compare_sklearn : bool, default=True
        Also fit ``sklearn.mixture.GaussianMixture`` and report the speed-up.
    picture : str or None, default="fastgmm-demo.png"
        Where to save a picture of the fit (.png, .pdf or .svg; needs
        matplotlib); None draws nothing.
    n_jobs : int or None, default=None
        Threads for fastgmm; None uses all cores.
    progress : bool, default=True
        Show each fit's iterations (the estimators' verbose output) on stderr.
        The lines saying what is being done go to stderr either way.

    Raises
    ------
    ValueError
        If ``n_samples`` is below :data:`MIN_SAMPLES`.
    ImportError
        If ``picture`` is given and matplotlib is not installed; raised before
        any fitting.

    Examples
    --------
    >>> from fastgmm.demo import run_demo
    >>> run_demo(100_000, compare_sklearn=False, picture=None)  # doctest: +SKIP
    """
    from fastgmm import GaussianMixture

    if n_samples < MIN_SAMPLES:
        raise ValueError(f"n_samples must be at least {MIN_SAMPLES}, got {n_samples}")
    plt = None
    if picture is not None:
        import matplotlib.pyplot as plt  # before the fits, not after

    start = time.perf_counter()
    X, _, true_w, true_mu, true_cov = demo_mixture(n_samples, seed=seed)
    k = true_w.size
    print(
        f"data: {n_samples:,} points in 2-D from a mixture of {k} Gaussians "
        f"(seed {seed}, made in {time.perf_counter() - start:.2f} s)"
    )

    # Pay Numba's compilation (cached on disk after the first run) before timing.
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # two iterations do not converge; fine here
        GaussianMixture(k, max_iter=2, random_state=0, n_jobs=n_jobs).fit(X[:2000])
    warm = time.perf_counter() - start
    to_stderr(
        f"warm-up fit on 2,000 points (pays any first-run compilation): {warm:.1f} s"
    )

    weights, means, precisions = _shared_start(X, k, seed)
    start_params = {
        "weights_init": weights,
        "means_init": means,
        "precisions_init": precisions,
        "max_iter": 300,
        "tol": 1e-3,
    }
    verbose = 2 if progress else 0

    to_stderr("fitting with fastgmm ...")
    model = GaussianMixture(k, verbose=verbose, n_jobs=n_jobs, **start_params)
    start = time.perf_counter()
    with progress_on_stderr(progress):
        model.fit(X)
    fast_seconds = time.perf_counter() - start

    reference, sk_seconds = None, None
    if compare_sklearn:
        from sklearn.mixture import GaussianMixture as SklearnGaussianMixture

        to_stderr("fitting with scikit-learn from the same start ...")
        reference = SklearnGaussianMixture(k, verbose=verbose, **start_params)
        start = time.perf_counter()
        with progress_on_stderr(progress):
            reference.fit(X)
        sk_seconds = time.perf_counter() - start

    _print_recovery(model, true_w, true_mu, true_cov)
    print()
    print(
        f"fit time, EM from the same start (k-means on {_SUBSAMPLE:,} of the points), "
        f"{n_samples:,} points, K={k} full, tol 1e-3:"
    )
    for name, fitted, seconds in (
        ("fastgmm", model, fast_seconds),
        ("scikit-learn", reference, sk_seconds),
    ):
        if fitted is None:
            continue
        status = "converged" if fitted.converged_ else "not converged"
        print(
            f"  {name:<13} {seconds:8.2f} s  {fitted.n_iter_:4d} EM iterations, "
            f"{status}, lower bound {fitted.lower_bound_:.6f}"
        )
    if reference is not None:
        print(
            f"  speed-up {sk_seconds / fast_seconds:.1f}x; lower bounds differ by "
            f"{abs(model.lower_bound_ - reference.lower_bound_):.2e}"
        )
    if plt is not None:
        _draw_picture(
            plt,
            X,
            model,
            reference,
            true_mu,
            true_cov,
            fast_seconds,
            sk_seconds,
            picture,
        )
        print(f"\npicture written to {picture}")


def _shared_start(X, n_components: int, seed: int):
    """Weights, means and precisions from k-means on a 20,000-point subsample.

    Both estimators start EM here, so their times compare the same work.
    """
    from sklearn.cluster import KMeans

    rng = np.random.default_rng(seed)
    sub = X[rng.choice(X.shape[0], size=min(X.shape[0], _SUBSAMPLE), replace=False)]
    labels = KMeans(n_components, n_init=3, random_state=seed).fit_predict(sub)
    weights = np.bincount(labels, minlength=n_components) / labels.size
    means = np.stack([sub[labels == k].mean(axis=0) for k in range(n_components)])
    precisions = np.stack(
        [
            np.linalg.inv(np.cov(sub[labels == k], rowvar=False) + 1e-6 * np.eye(2))
            for k in range(n_components)
        ]
    )
    return weights, means, precisions


def _match(true_means, fitted_means):
    """Fitted component index for each true component (closest means overall)."""
    from scipy.optimize import linear_sum_assignment

    cost = np.linalg.norm(true_means[:, None, :] - fitted_means[None, :, :], axis=2)
    _, columns = linear_sum_assignment(cost)
    return columns


def _print_recovery(model, true_w, true_mu, true_cov) -> None:
    """Print each true component next to the fitted one matched to it."""
    order = _match(true_mu, model.means_)
    print()
    print("true vs recovered parameters (fastgmm):")
    print(
        f"{'':>3} {'weight':>15}  {'mean':>27}  {'sd along x, y':>27}  "
        f"{'correlation':>15}"
    )
    for t, f in enumerate(order):
        tc, fc = true_cov[t], np.asarray(model.covariances_[f], dtype=float)
        tsd, fsd = np.sqrt(np.diag(tc)), np.sqrt(np.diag(fc))
        tr, fr = tc[0, 1] / (tsd[0] * tsd[1]), fc[0, 1] / (fsd[0] * fsd[1])
        print(
            f"{t:>3} {true_w[t]:>6.3f} -> {model.weights_[f]:<6.3f}  "
            f"({true_mu[t, 0]:5.2f}, {true_mu[t, 1]:5.2f}) -> "
            f"({model.means_[f, 0]:5.2f}, {model.means_[f, 1]:5.2f})  "
            f"({tsd[0]:5.2f}, {tsd[1]:5.2f}) -> ({fsd[0]:5.2f}, {fsd[1]:5.2f})  "
            f"{tr:6.3f} -> {fr:<6.3f}"
        )
    mean_error = np.abs(model.means_[order] - true_mu).max()
    cov_error = np.abs(np.asarray(model.covariances_)[order] - true_cov).max()
    print(
        f"largest error: means {mean_error:.4f}, covariance entries {cov_error:.4f}"
        f" (sampling error shrinks as 1/sqrt(n))"
    )


def _draw_picture(plt, X, model, reference, true_mu, true_cov, fast_s, sk_s, path):
    """Left: the points coloured by fastgmm with true and fitted ellipses.
    Right: the lower bound per EM iteration of each estimator."""
    from fastgmm.plot import plot_ellipses, plot_lower_bound

    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5.5))
    rng = np.random.default_rng(1)
    shown = X[rng.choice(X.shape[0], size=min(X.shape[0], _SUBSAMPLE), replace=False)]
    left.scatter(
        shown[:, 0],
        shown[:, 1],
        s=1,
        c=model.predict(shown),
        cmap="tab10",
        vmin=0,
        vmax=9,
        alpha=0.4,
        rasterized=True,
    )
    plot_ellipses(
        ax=left,
        means=true_mu,
        covariances=true_cov,
        n_std=2,
        colors="black",
        linestyle="--",
        linewidth=2,
        show_means=False,
        label="true (2 sd)",
    )
    plot_ellipses(
        model, ax=left, n_std=2, colors="red", linewidth=1.2, label="fastgmm (2 sd)"
    )
    left.set_aspect("equal", adjustable="datalim")
    left.legend(loc="upper left")
    left.set_title(f"{X.shape[0]:,} points ({_SUBSAMPLE:,} drawn), coloured by fastgmm")
    plot_lower_bound(model, ax=right, label=f"fastgmm {fast_s:.2f} s", linewidth=2.5)
    if reference is not None:
        plot_lower_bound(
            reference,
            ax=right,
            label=f"scikit-learn {sk_s:.2f} s",
            linestyle="--",
            color="black",
        )
        right.set_title("EM from the same start: same path, different speed")
    right.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)

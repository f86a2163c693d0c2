"""A million points fitted by fastgmm and by scikit-learn, side by side.

One million 2-D points from three overlapping, tilted Gaussians. Both
estimators start EM from the same weights, means and precisions (k-means on
10,000 of the points) and run to the same tolerance, so the timings compare
the same work (the first run also compiles fastgmm's kernels, outside the
timing); the fitted ellipses of both are drawn over a 2-D histogram of
all the points, with the times in the titles.

    python examples/million_points.py million_points.png
"""

import argparse
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import LogNorm
from sklearn.cluster import KMeans
from sklearn.mixture import GaussianMixture as SklearnGaussianMixture

from fastgmm import GaussianMixture
from fastgmm.plot import plot_ellipses

WEIGHTS = np.array([0.5, 0.3, 0.2])
MEANS = np.array([[0.0, 0.0], [4.0, 2.0], [1.0, 5.0]])
COVARIANCES = np.array(
    [[[2.0, 0.8], [0.8, 1.0]], [[1.0, -0.6], [-0.6, 1.5]], [[0.6, 0.0], [0.0, 2.5]]]
)


def make_data(n_samples, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.choice(3, size=n_samples, p=WEIGHTS)
    factors = np.linalg.cholesky(COVARIANCES)
    noise = rng.standard_normal((n_samples, 2))
    return MEANS[labels] + np.einsum("nij,nj->ni", factors[labels], noise)


def shared_start(X, seed):
    """k-means on 10,000 of the points: its clusters' sizes, centres and spreads."""
    rng = np.random.default_rng(seed)
    sub = X[rng.choice(len(X), size=min(len(X), 10_000), replace=False)]
    labels = KMeans(3, n_init=5, random_state=seed).fit_predict(sub)
    groups = [sub[labels == k] for k in range(3)]
    return {
        "weights_init": np.array([len(g) for g in groups]) / len(sub),
        "means_init": np.stack([g.mean(axis=0) for g in groups]),
        "precisions_init": np.stack(
            [np.linalg.inv(np.cov(g, rowvar=False)) for g in groups]
        ),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", nargs="?", default="million_points.png")
    parser.add_argument("--n-samples", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    X = make_data(args.n_samples, args.seed)
    start = shared_start(X, args.seed)
    settings = {
        "n_components": 3,
        "covariance_type": "full",
        "tol": 1e-4,
        "max_iter": 500,
        **start,
    }

    # Numba compiles each kernel on first use (then caches it on disk): pay that
    # outside the timing.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        GaussianMixture(3, max_iter=2).fit(X[:1000])

    fits = {}
    for name, estimator in (
        ("fastgmm", GaussianMixture),
        ("scikit-learn", SklearnGaussianMixture),
    ):
        model = estimator(**settings)
        begin = time.perf_counter()
        model.fit(X)
        seconds = time.perf_counter() - begin
        fits[name] = (model, seconds)
        print(
            f"{name:<13} {seconds:7.2f} s  {model.n_iter_:3d} iterations  "
            f"lower bound {model.lower_bound_:.8f}  converged {model.converged_}"
        )
    fast, sk = fits["fastgmm"], fits["scikit-learn"]
    gap = np.abs(fast[0].means_ - sk[0].means_).max()
    print(
        f"speed-up {sk[1] / fast[1]:.1f}x; largest difference between the "
        f"fitted means {gap:.1e}"
    )

    fig, axes = plt.subplots(1, 2, figsize=(13, 6))
    for ax, (name, (model, seconds)) in zip(axes, fits.items(), strict=True):
        ax.hist2d(X[:, 0], X[:, 1], bins=300, cmap="Greys", norm=LogNorm())
        plot_ellipses(
            ax=ax,
            means=MEANS,
            covariances=COVARIANCES,
            n_std=(1, 2),
            colors="black",
            linestyle="--",
            show_means=False,
            label="true",
        )
        plot_ellipses(model, ax=ax, n_std=(1, 2), colors="crimson", label=name)
        ax.set_aspect("equal", adjustable="datalim")
        ax.legend(loc="upper left")
        ax.set_title(f"{name}: {seconds:.2f} s, {model.n_iter_} EM iterations")
    fig.suptitle(f"{len(X):,} points, 3 full-covariance components, same start")
    fig.tight_layout()
    fig.savefig(args.output, dpi=100)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()

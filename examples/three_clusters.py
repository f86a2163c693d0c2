"""Three 2-D clusters with diagonal covariances: fitted ellipses over the true ones.

The classic first picture of EM: 400, 600 and 1000 points drawn from three
axis-aligned Gaussians, a three-component 'diag' mixture fitted from a poor
start (means off to the side, unit variances), and the lower bound climbing
with each iteration until EM stops.

    python examples/three_clusters.py three_clusters.png
"""

import argparse

import matplotlib.pyplot as plt
import numpy as np

from fastgmm import GaussianMixture
from fastgmm.plot import plot_ellipses, plot_lower_bound

SIZES = [400, 600, 1000]
TRUE_MEANS = np.array([[0.5, 0.5], [5.5, 2.5], [1.0, 7.0]])
TRUE_VARIANCES = np.array([[1.0, 3.0], [2.0, 2.0], [6.0, 2.0]])  # diagonal covariances
# A deliberately rough start so that the lower bound has something to climb.
START_MEANS = np.array([[0.0, -1.0], [6.0, 0.0], [0.0, 9.0]])


def make_data(seed=0):
    rng = np.random.default_rng(seed)
    parts = [
        mean + np.sqrt(var) * rng.standard_normal((n, 2))
        for n, mean, var in zip(SIZES, TRUE_MEANS, TRUE_VARIANCES, strict=True)
    ]
    labels = np.repeat(np.arange(3), SIZES)
    return np.vstack(parts), labels


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", nargs="?", default="three_clusters.png")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    X, labels = make_data(args.seed)
    gmm = GaussianMixture(
        n_components=3,
        covariance_type="diag",
        weights_init=np.full(3, 1 / 3),
        means_init=START_MEANS,
        precisions_init=np.ones((3, 2)),  # unit variances
        tol=1e-6,
    ).fit(X)

    print("component  weight (true)    mean (true)              variances (true)")
    true_weights = np.array(SIZES) / sum(SIZES)
    for k in range(3):
        print(
            f"{k:>9}  {gmm.weights_[k]:.3f} ({true_weights[k]:.3f})  "
            f"{np.round(gmm.means_[k], 2)} ({TRUE_MEANS[k]})  "
            f"{np.round(gmm.covariances_[k], 2)} ({TRUE_VARIANCES[k]})"
        )
    agreement = np.mean(gmm.predict(X) == labels)
    print(f"{agreement:.1%} of points are assigned to the component that drew them")
    print(f"converged: {gmm.converged_} after {gmm.n_iter_} iterations")

    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5.5))
    for k, color in enumerate(["C0", "C1", "C2"]):
        left.scatter(*X[labels == k].T, s=4, color=color, alpha=0.5)
    plot_ellipses(
        ax=left,
        means=TRUE_MEANS,
        covariances=TRUE_VARIANCES,
        covariance_type="diag",
        n_std=(1, 2),
        colors="black",
        linestyle="--",
        linewidth=1.5,
        show_means=False,
        label="true (1 and 2 sd)",
    )
    plot_ellipses(
        gmm,
        ax=left,
        n_std=(1, 2),
        colors="crimson",
        linewidth=1.5,
        label="fitted (1 and 2 sd)",
    )
    left.set_aspect("equal", adjustable="datalim")
    left.legend(loc="upper right")
    left.set_title("400, 600 and 1000 points; diagonal covariances")
    plot_lower_bound(gmm, ax=right)
    right.set_title(f"lower bound per EM iteration ({gmm.n_iter_} iterations)")
    # The first step dwarfs the rest: zoom in on the later ones.
    zoom = right.inset_axes([0.3, 0.12, 0.65, 0.5])
    plot_lower_bound(gmm, ax=zoom, color="C3")
    later = np.asarray(gmm.lower_bounds_)[1:]
    pad = 0.1 * (later.max() - later.min()) or 1e-6
    zoom.set_xlim(1.5, len(gmm.lower_bounds_) + 0.5)
    zoom.set_ylim(later.min() - pad, later.max() + pad)
    zoom.set_title("from iteration 2 on", fontsize=9)
    zoom.set_xlabel("")
    zoom.set_ylabel("")
    zoom.tick_params(labelsize=8)
    fig.tight_layout()
    fig.savefig(args.output, dpi=100)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()

"""A 1-D mixture of three clusters: fitted densities drawn over a histogram.

Three groups of measurements on one axis, centred near -10, 0 and 10 with
different spreads and sizes. A three-component mixture is fitted and each
weighted component, and their sum, is drawn over the histogram of the data,
with the true mixture density dashed for comparison.

    python examples/density_1d.py density_1d.png
"""

import argparse

import matplotlib.pyplot as plt
import numpy as np

from fastgmm import GaussianMixture
from fastgmm.plot import plot_density_1d

TRUE_WEIGHTS = np.array([0.25, 0.45, 0.30])
TRUE_MEANS = np.array([-10.0, 0.0, 10.0])
TRUE_SDS = np.array([2.0, 3.0, 1.5])


def make_data(n_samples, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.choice(3, size=n_samples, p=TRUE_WEIGHTS)
    x = TRUE_MEANS[labels] + TRUE_SDS[labels] * rng.standard_normal(n_samples)
    return x.reshape(-1, 1), labels


def true_density(grid):
    z = (grid[:, None] - TRUE_MEANS) / TRUE_SDS
    return (TRUE_WEIGHTS * np.exp(-0.5 * z**2) / (TRUE_SDS * np.sqrt(2 * np.pi))).sum(1)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", nargs="?", default="density_1d.png")
    parser.add_argument("--n-samples", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    X, _ = make_data(args.n_samples, args.seed)
    gmm = GaussianMixture(n_components=3, random_state=args.seed).fit(X)
    order = np.argsort(gmm.means_[:, 0])
    print("      weight (true)   mean (true)      sd (true)")
    for k, j in enumerate(order):
        print(
            f"{k:>3}  {gmm.weights_[j]:.3f} ({TRUE_WEIGHTS[k]:.2f})  "
            f"{gmm.means_[j, 0]:7.2f} ({TRUE_MEANS[k]:5.1f})  "
            f"{np.sqrt(gmm.covariances_[j, 0, 0]):5.2f} ({TRUE_SDS[k]:.1f})"
        )

    fig, ax = plt.subplots(figsize=(9, 5))
    plot_density_1d(gmm, X, ax=ax, bins=60)
    grid = np.linspace(X.min() - 1, X.max() + 1, 500)
    ax.plot(grid, true_density(grid), "k--", linewidth=1, label="true mixture")
    ax.legend()
    ax.set_title(f"{args.n_samples:,} points: fitted three-component mixture")
    fig.tight_layout()
    fig.savefig(args.output, dpi=100)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()

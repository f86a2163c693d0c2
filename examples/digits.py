"""Generating new handwritten digits with a Gaussian mixture as a density model.

The 8x8 digits bundled with scikit-learn (1,797 images, 64 pixels) are reduced
by PCA to the components that keep 99% of the variance, whitened. Full-covariance
mixtures with 50 to 200 components are compared by AIC and BIC with
``fastgmm.select``; the model that AIC prefers is sampled for 100 new points,
which PCA maps back to pixels and which are drawn as a 10 x 10 grid.

    python examples/digits.py digits.png
"""

import argparse

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA

from fastgmm import select
from fastgmm.plot import plot_criterion


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", nargs="?", default="digits.png")
    parser.add_argument(
        "--components",
        default="50,80,110,140,170,200",
        help="comma-separated numbers of components to compare",
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    ks = [int(k) for k in args.components.split(",")]

    digits = load_digits()
    pca = PCA(n_components=0.99, whiten=True, random_state=args.seed)
    X = pca.fit_transform(digits.data)
    print(f"PCA keeps {X.shape[1]} of 64 dimensions for 99% of the variance")

    result = select(
        X,
        n_components=ks,
        covariance_types="full",
        criterion="aic",
        random_state=args.seed,
    )
    print(result.table())
    by_bic = int(np.argmin(result.criterion_values("bic")))
    print(
        f"AIC prefers {result.best_.n_components} components, "
        f"BIC {result.candidates[by_bic].n_components} "
        f"(each full 41-D component costs {X.shape[1] * (X.shape[1] + 3) // 2 + 1} "
        "parameters, which BIC charges log(1797) = 7.5 each and AIC 2)"
    )

    gmm = result.best_estimator_
    new_points, _ = gmm.sample(100)
    new_digits = pca.inverse_transform(new_points)

    fig = plt.figure(figsize=(14, 7))
    left, right = fig.subfigures(1, 2, width_ratios=[1, 1.1])
    aic_ax, bic_ax = left.subplots(2, 1, sharex=True)
    left.subplots_adjust(left=0.2, right=0.95, top=0.9, bottom=0.1)
    plot_criterion(result, ax=aic_ax, criterion="aic")
    plot_criterion(result, ax=bic_ax, criterion="bic", colors=["C1"])
    aic_ax.set_xlabel("")
    aic_ax.set_title(f"PCA to {X.shape[1]} dimensions, full covariances")
    grid = right.subplots(10, 10, subplot_kw={"xticks": [], "yticks": []})
    right.subplots_adjust(hspace=0.05, wspace=0.05, left=0.02, right=0.98)
    for ax, image in zip(grid.ravel(), new_digits, strict=True):
        ax.imshow(image.reshape(8, 8), cmap="binary", vmin=0, vmax=16)
    right.suptitle(f"100 digits sampled from the {gmm.n_components}-component mixture")
    fig.savefig(args.output, dpi=100)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()

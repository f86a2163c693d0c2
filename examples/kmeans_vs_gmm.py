"""Stretched blobs: k-means' round clusters fail, a full-covariance mixture succeeds.

Four blobs are drawn and then sheared by a random linear map, which turns
them into long, thin, tilted ellipses. k-means can only cut the plane into
convex cells around its centres, judged by plain distance, so it slices across
the stretched clusters. A Gaussian mixture with full covariances learns each
cluster's shape and orientation and recovers them. The adjusted Rand index
against the true labels (1 is perfect, 0 is chance) says how well each did.

    python examples/kmeans_vs_gmm.py kmeans_vs_gmm.png
"""

import argparse

import matplotlib.pyplot as plt
import numpy as np
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

from fastgmm import GaussianMixture
from fastgmm.plot import plot_ellipses


def make_data(n_samples=400, seed=0):
    X, labels = make_blobs(
        n_samples=n_samples, centers=4, cluster_std=0.6, random_state=seed
    )
    shear = np.random.RandomState(13).randn(2, 2)
    return X @ shear, labels


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", nargs="?", default="kmeans_vs_gmm.png")
    parser.add_argument("--n-samples", type=int, default=400)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    X, truth = make_data(args.n_samples, args.seed)
    kmeans = KMeans(n_clusters=4, n_init=10, random_state=args.seed).fit(X)
    gmm = GaussianMixture(
        n_components=4, covariance_type="full", n_init=5, random_state=args.seed
    ).fit(X)
    kmeans_labels, gmm_labels = kmeans.labels_, gmm.predict(X)
    kmeans_ari = adjusted_rand_score(truth, kmeans_labels)
    gmm_ari = adjusted_rand_score(truth, gmm_labels)
    print(
        f"adjusted Rand index against the true labels: k-means {kmeans_ari:.3f}, "
        f"full-covariance GMM {gmm_ari:.3f}"
    )

    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5.5))
    left.scatter(*X.T, c=kmeans_labels, s=15, cmap="viridis", zorder=2)
    for k, centre in enumerate(kmeans.cluster_centers_):
        # k-means' implicit model: a disc reaching its farthest member.
        radius = np.linalg.norm(X[kmeans_labels == k] - centre, axis=1).max()
        left.add_patch(plt.Circle(centre, radius, fc="0.85", ec="0.5", alpha=0.5))
    left.scatter(*kmeans.cluster_centers_.T, marker="x", c="red", s=60, zorder=3)
    left.set_title(f"k-means: round cells cut the clusters (ARI {kmeans_ari:.2f})")

    probability = gmm.predict_proba(X).max(axis=1)
    right.scatter(*X.T, c=gmm_labels, s=30 * probability**2, cmap="viridis", zorder=2)
    plot_ellipses(gmm, ax=right, n_std=(1, 2, 3), colors="0.3", linewidth=1)
    right.set_title(f"full-covariance mixture: shapes learnt (ARI {gmm_ari:.2f})")
    for ax in (left, right):
        ax.set_aspect("equal", adjustable="datalim")
    fig.tight_layout()
    fig.savefig(args.output, dpi=100)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()

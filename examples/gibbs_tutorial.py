"""The Pyro MCMC tutorial's Gaussian mixture, sampled by GibbsGaussianMixture.

The tutorial's model and data shape: 3 x 100 points in 2-D drawn around (0, 5),
(5, 0) and (8, 8) with identity covariances; K = 3, Dirichlet(1) weights, means
with a N(0, I) prior and known identity covariances. The tutorial ran NUTS
(50 warm-up steps, 100 draws): about 6.5 s, some 15 effective samples per
second on a two-core machine. Here 4 chains of blocked Gibbs sweeps (each
chain one compiled call; on 300 points the chains run side by side, one per
thread), then the draws of the means over the data (left), the posterior means
next to the analytic posterior given the true labels (right), timing and
effective samples per second of the slowest mean coordinate (ArviZ).

    python examples/gibbs_tutorial.py gibbs_tutorial.png [--draws 2000]
        [--million gibbs_million.png [--rows 1000000]]

With ``--million``, a second figure: the same three clusters with a million
points, 'full' covariances sampled too (2 chains of 50 + 200 sweeps, one
parallel pass over the data per sweep): the data's density with the posterior
mean ellipses, and the draws of one component's mean next to its sample mean.
"""

import argparse
from time import perf_counter

import arviz as az
import matplotlib.pyplot as plt
import numpy as np

from fastgmm import GibbsGaussianMixture

TRUE_MEANS = np.array([[0.0, 5.0], [5.0, 0.0], [8.0, 8.0]])
N_PER = 100
TUTORIAL_SECONDS, TUTORIAL_ESS_PER_SECOND = 6.5, 15.0


def make_data(seed=2):
    rng = np.random.default_rng(seed)
    return np.vstack([rng.normal(mean, 1.0, size=(N_PER, 2)) for mean in TRUE_MEANS])


def model(n_draws, n_burn, random_state=0, n_jobs=None):
    return GibbsGaussianMixture(
        n_components=3,
        covariances_fixed=np.array([np.eye(2)] * 3),  # known unit covariances
        weight_concentration_prior_type="dirichlet_distribution",
        weight_concentration_prior=1.0,  # Dirichlet(1, 1, 1)
        mean_prior=[0.0, 0.0], mean_precision_prior=1.0,  # means ~ N(0, I)
        n_draws=n_draws, n_burn=n_burn, n_chains=4, random_state=random_state,
        n_jobs=n_jobs,  # 300 points: the chains run side by side, one per thread
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", nargs="?", default="gibbs_tutorial.png")
    parser.add_argument("--draws", type=int, default=2000)
    parser.add_argument("--burn", type=int, default=200)
    parser.add_argument("--million", metavar="PNG",
                        help="also sample a million points, writing this figure")
    parser.add_argument("--rows", type=int, default=1_000_000,
                        help="points of the --million figure")
    args = parser.parse_args(argv)

    X = make_data()
    model(5, 5).fit(X)  # compile (or load the cache) before timing
    start = perf_counter()
    gibbs = model(args.draws, args.burn).fit(X)
    elapsed = perf_counter() - start
    ess = az.ess(gibbs.to_arviz(), var_names=["means"])["means"].values
    slowest = float(ess.min())

    # the analytic posterior of each mean given the true labels: N(sum x / 101, I/101)
    analytic = X.reshape(3, N_PER, 2).sum(axis=1) / (N_PER + 1.0)
    order = [int(np.argmin(np.sum((gibbs.means_ - m) ** 2, axis=1))) for m in analytic]
    draws = gibbs.means_draws_.reshape(-1, 3, 2)
    print("component  posterior mean (sd)            analytic given labels (sd)")
    for k, j in enumerate(order):
        mean, sd = draws[:, j].mean(axis=0), draws[:, j].std(axis=0)
        print(f"{k:>9}  {np.round(mean, 3)} ({np.round(sd, 3)})  "
              f"{np.round(analytic[k], 3)} ({np.sqrt(1 / (N_PER + 1)):.3f})")
    n_sweeps = 4 * (args.draws + args.burn)
    print(f"4 chains x ({args.burn} burn-in + {args.draws} draws): {elapsed:.2f} s, "
          f"{n_sweeps / elapsed:.0f} sweeps per second")
    print(f"ESS of the slowest mean coordinate: {slowest:.0f}, "
          f"{slowest / elapsed:.0f} per second (the tutorial's NUTS: "
          f"{TUTORIAL_ESS_PER_SECOND:.0f} per second, {TUTORIAL_SECONDS} s for 100 "
          "draws)")
    print(f"max R-hat: {float(gibbs.summary()['r_hat'].max()):.3f}")

    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 6.2))
    for ax in (left, right):
        ax.scatter(X[:, 0], X[:, 1], s=9, color="tab:blue", alpha=0.6, label="data")
        ax.set_aspect("equal")
        ax.set_xlabel("x")
        ax.set_ylabel("y")
    shown = draws[:: max(1, draws.shape[0] // 400)]
    left.scatter(shown[:, :, 0].ravel(), shown[:, :, 1].ravel(), s=4, color="red",
                 alpha=0.4, label="draws of the means")
    left.set_title(f"locs: {shown.shape[0]} of {draws.shape[0]} posterior draws")
    right.scatter(gibbs.means_[:, 0], gibbs.means_[:, 1], s=99, color="red",
                  label="posterior means")
    right.scatter(analytic[:, 0], analytic[:, 1], s=160, facecolors="none",
                  edgecolors="black", label="analytic, given the labels")
    right.set_title(f"loc: {elapsed:.2f} s, {slowest / elapsed:.0f} effective "
                    "samples per second")
    for ax in (left, right):
        ax.legend(loc="lower right")
    fig.suptitle("The Pyro tutorial's mixture (K = 3, known unit covariances) by "
                 "GibbsGaussianMixture, 4 chains")
    fig.tight_layout()
    fig.savefig(args.output, dpi=110)
    print(f"wrote {args.output}")
    if args.million:
        million_figure(args.million, args.rows)


def million_figure(output, n_rows, n_draws=200, n_burn=50, n_chains=2):
    """Sample the full-covariance posterior of n_rows points around the
    tutorial's means; plot the data's density with the posterior mean ellipses
    and the draws of one mean against the sample mean of its cluster."""
    rng = np.random.default_rng(3)
    labels = rng.integers(3, size=n_rows)
    X = TRUE_MEANS[labels] + rng.normal(size=(n_rows, 2))
    sampler = GibbsGaussianMixture(n_components=3, covariance_type="full",
                                   n_draws=n_draws, n_burn=n_burn, n_chains=n_chains,
                                   random_state=0)
    GibbsGaussianMixture(n_components=3, n_draws=2, n_burn=0, n_chains=1).fit(X[:500])
    start = perf_counter()
    sampler.fit(X)
    elapsed = perf_counter() - start
    n_sweeps = n_chains * (n_draws + n_burn)
    print(f"{n_rows:,} points, full covariances: {n_chains} chains x ({n_burn} "
          f"burn-in + {n_draws} draws) in {elapsed:.1f} s, "
          f"{n_sweeps / elapsed:.1f} sweeps per second")

    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 6.2))
    left.hexbin(X[:, 0], X[:, 1], gridsize=80, bins="log", cmap="Blues")
    angles = np.linspace(0.0, 2.0 * np.pi, 100)
    circle = np.stack([np.cos(angles), np.sin(angles)])
    for mean, covariance in zip(sampler.means_, sampler.covariances_, strict=True):
        ellipse = mean[:, None] + 2.0 * np.linalg.cholesky(covariance) @ circle
        left.plot(ellipse[0], ellipse[1], color="red")
    left.set_aspect("equal")
    left.set_title(f"{n_rows:,} points; posterior mean ellipses (2 sd), "
                   f"{elapsed:.1f} s")
    k = int(np.argmin(np.sum((sampler.means_ - TRUE_MEANS[0]) ** 2, axis=1)))
    draws = sampler.means_draws_[:, :, k].reshape(-1, 2)
    cluster = X[labels == 0]
    right.scatter(draws[:, 0], draws[:, 1], s=6, color="red", alpha=0.5,
                  label=f"{draws.shape[0]} draws of the mean")
    right.scatter(*cluster.mean(axis=0), s=160, facecolors="none",
                  edgecolors="black", label="the cluster's sample mean")
    right.set_aspect("equal")
    spread = (f"posterior sd {draws.std(axis=0).mean():.4f} (1 / sqrt(n_k) = "
              f"{1 / np.sqrt(cluster.shape[0]):.4f})")
    print(f"the mean near {TRUE_MEANS[0]}: {spread}")
    right.set_title(f"the mean near {TRUE_MEANS[0]}: {spread}")
    right.legend(loc="lower right")
    fig.suptitle("GibbsGaussianMixture on a million points (K = 3, full "
                 "covariances)")
    fig.tight_layout()
    fig.savefig(output, dpi=110)
    print(f"wrote {output}")


if __name__ == "__main__":
    main()

"""How many components does a Dirichlet process use? The weight concentration prior.

Four 2-D clusters of unequal sizes (45%, 30%, 15% and 10% of the points) are fitted
by a variational Dirichlet-process mixture with room for ten components, once per
weight concentration prior gamma, from 0.001 to 1000. Each stick of the
stick-breaking process has a Beta(1, gamma) prior: a small gamma makes the sticks
long, so that the first components take all the mass, a large one makes them
short and leaves mass for the components after them.

What the picture shows: the process finds the four clusters at every prior (the
data, not the prior, decide which components are used), and the prior decides
how much weight the six components the data do not need keep. At gamma = 0.001
their weights fall from 1e-6 to below 1e-20 along the sticks; at gamma = 1000
they keep about 0.2% each, 1% together, close to the 1% at which a single
component counts as used: the prior's mass then rivals the data's (here 500
points). With fewer points, or clusters that are not Gaussian, more components
cross that line as the prior grows. The top row draws the used components
(weight at least 1%) as ellipses over the data, the bottom row the weights of
all ten on a log scale.

    python examples/dirichlet_process.py dirichlet_process.png
"""

import argparse
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning

from fastgmm import BayesianGaussianMixture
from fastgmm.plot import plot_ellipses, plot_weights
from fastgmm.select import effective_components

PRIORS = [0.001, 0.01, 1.0, 1000.0]
N_COMPONENTS = 10
TRUE_WEIGHTS = np.array([0.45, 0.30, 0.15, 0.10])
TRUE_MEANS = np.array([[0.0, 0.0], [6.0, 1.0], [1.0, 6.0], [7.0, 7.0]])
TRUE_COVARIANCES = np.array(
    [
        [[2.0, 0.8], [0.8, 1.0]],
        [[1.0, -0.5], [-0.5, 1.5]],
        [[0.6, 0.0], [0.0, 0.6]],
        [[1.2, 0.6], [0.6, 0.8]],
    ]
)


def make_data(n_samples, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.choice(len(TRUE_WEIGHTS), size=n_samples, p=TRUE_WEIGHTS)
    X = np.empty((n_samples, 2))
    for k, (mean, cov) in enumerate(zip(TRUE_MEANS, TRUE_COVARIANCES, strict=True)):
        rows = labels == k
        X[rows] = rng.multivariate_normal(mean, cov, size=rows.sum())
    return X, labels


def fit(X, prior, seed):
    model = BayesianGaussianMixture(
        n_components=N_COMPONENTS,
        weight_concentration_prior_type="dirichlet_process",
        weight_concentration_prior=prior,
        max_iter=1000,
        random_state=seed,
    )
    with warnings.catch_warnings():
        # a large prior converges slowly; the picture is clear well before
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", nargs="?", default="dirichlet_process.png")
    parser.add_argument("--n-samples", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    X, _ = make_data(args.n_samples, args.seed)
    models = [fit(X, prior, args.seed) for prior in PRIORS]

    print(f"{args.n_samples:,} points from {len(TRUE_WEIGHTS)} clusters, "
          f"{N_COMPONENTS} components available")
    print("prior     used  weight of the unused  iterations  weights of the used")
    for prior, model in zip(PRIORS, models, strict=True):
        used = effective_components(model.weights_)
        weights = " ".join(f"{w:.3f}" for w in np.sort(model.weights_[used])[::-1])
        unused = model.weights_[~used].sum()
        print(f"{prior:<8g} {used.sum():>5d} {unused:>20.1e} {model.n_iter_:>11d}  "
              f"{weights}")
    print("true weights: " + " ".join(f"{w:.3f}" for w in TRUE_WEIGHTS))

    fig, axes = plt.subplots(2, len(PRIORS), figsize=(4.2 * len(PRIORS), 8),
                             gridspec_kw={"height_ratios": [3, 2]})
    for column, (prior, model) in enumerate(zip(PRIORS, models, strict=True)):
        top, bottom = axes[:, column]
        used = effective_components(model.weights_)
        top.scatter(*X.T, s=2, color="0.6", alpha=0.4)
        plot_ellipses(
            ax=top,
            means=model.means_[used],
            covariances=model.covariances_[used],
            covariance_type="full",
            n_std=(1, 2),
            linewidth=1.5,
        )
        top.set_aspect("equal", adjustable="datalim")
        top.set_title(f"weight concentration prior {prior:g}")
        plot_weights(model, ax=bottom, log=True)
        bottom.set_ylim(1e-25, 1.0)
        bottom.get_legend().remove()  # one legend for the row, below it
    handles, labels = axes[1, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=2)
    fig.suptitle("Dirichlet-process mixture with ten components: the four "
                 "clusters are found at every prior; the prior sets the weight "
                 "left to the others")
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    fig.savefig(args.output, dpi=100)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()

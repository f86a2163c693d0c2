"""Missing values: fit the observed values exactly instead of dropping or filling.

Three correlated 2-D clusters; 30% of the values are removed at random (rows
left with no value at all are dropped, as they carry nothing). Three fits:

* fastgmm with ``missing_values="nan"``: exact EM on the observed coordinates;
* scikit-learn after dropping every incomplete row (half of them here);
* scikit-learn after filling each hole with its column's mean (the filled
  points sit on two lines and drag the covariances).

The left panels draw each fit's ellipses over the true ones; the right panel
compares the imputation error (root mean square over the removed values) of
``GaussianMixture.impute`` (each hole filled with its conditional expectation
under the mixture) with mean filling and scikit-learn's ``IterativeImputer``,
and with ``BayesianGaussianMixture.impute`` after variational Bayes with ten
components and ``missing_values="nan"``, which switches off those it does not
need.

    python examples/missing_values.py missing_values.png
"""

import argparse

import matplotlib.pyplot as plt
import numpy as np
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer
from sklearn.mixture import GaussianMixture as SklearnGaussianMixture

from fastgmm import BayesianGaussianMixture, GaussianMixture
from fastgmm.plot import plot_ellipses

TRUE_MEANS = np.array([[0.0, 0.0], [6.0, 1.0], [2.0, 7.0]])
TRUE_COVARIANCES = np.array([
    [[3.0, 2.2], [2.2, 2.5]],
    [[1.5, -1.0], [-1.0, 2.0]],
    [[2.5, 0.0], [0.0, 0.6]],
])


def make_data(n_samples, missing, seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(3, size=n_samples)
    factors = np.linalg.cholesky(TRUE_COVARIANCES)
    X = TRUE_MEANS[labels] + np.einsum("nij,nj->ni", factors[labels],
                                       rng.standard_normal((n_samples, 2)))
    holes = X.copy()
    holes[rng.random(X.shape) < missing] = np.nan
    keep = ~np.isnan(holes).all(axis=1)
    return X[keep], holes[keep]


def truth_errors(means, covariances):
    """Distances of fitted means and covariances (each true component matched to
    its nearest fitted mean) from the truth."""
    order = [int(np.argmin(((means - m) ** 2).sum(axis=1))) for m in TRUE_MEANS]
    return (np.linalg.norm(means[order] - TRUE_MEANS),
            np.linalg.norm(covariances[order] - TRUE_COVARIANCES))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", nargs="?", default="missing_values.png")
    parser.add_argument("--n-samples", type=int, default=3000)
    parser.add_argument("--missing", type=float, default=0.3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    X, holes = make_data(args.n_samples, args.missing, args.seed)
    missing = np.isnan(holes)
    complete = ~missing.any(axis=1)
    print(f"{len(X)} rows, {missing.mean():.0%} of values missing, "
          f"{complete.mean():.0%} of rows complete")

    ours = GaussianMixture(3, missing_values="nan", random_state=0).fit(holes)
    dropped = SklearnGaussianMixture(3, random_state=0).fit(holes[complete])
    column_means = np.nanmean(holes, axis=0)
    mean_filled = np.where(missing, column_means, holes)
    filled = SklearnGaussianMixture(3, random_state=0).fit(mean_filled)
    fits = [("fastgmm, missing_values='nan'", ours),
            ("scikit-learn, incomplete rows dropped", dropped),
            ("scikit-learn, holes mean-filled", filled)]
    print("fit                                     mean error  covariance error")
    for name, model in fits:
        mean_error, cov_error = truth_errors(model.means_, model.covariances_)
        print(f"{name:38s}  {mean_error:10.3f}  {cov_error:16.3f}")

    bayes = BayesianGaussianMixture(n_components=10, missing_values="nan",
                                    weight_concentration_prior=1e-3,
                                    max_iter=500, random_state=0).fit(holes)
    print(f"variational Bayes, 10 components, missing_values='nan': "
          f"{int((bayes.weights_ > 0.01).sum())} with weight above 0.01")
    imputations = {
        "GaussianMixture.impute": ours.impute(holes),
        "BayesianGaussianMixture.impute": bayes.impute(holes),
        "IterativeImputer": IterativeImputer(random_state=0).fit_transform(holes),
        "mean filling": mean_filled,
    }
    errors = {name: float(np.sqrt(np.mean((values - X)[missing] ** 2)))
              for name, values in imputations.items()}
    print("imputation RMSE over the removed values")
    for name, error in errors.items():
        print(f"  {name:31s} {error:.3f}")

    fig, axes = plt.subplots(1, 4, figsize=(22, 5.5))
    shown = [holes[complete], holes[complete], mean_filled]
    for ax, (name, model), points in zip(axes[:3], fits, shown, strict=True):
        ax.scatter(*points.T, s=3, color="0.6", alpha=0.5)
        plot_ellipses(ax=ax, means=TRUE_MEANS, covariances=TRUE_COVARIANCES,
                      n_std=(1, 2), colors="black", linestyle="--", linewidth=1.2,
                      show_means=False, label="true")
        plot_ellipses(model, ax=ax, n_std=(1, 2), linewidth=2, label="fitted")
        mean_error, cov_error = truth_errors(model.means_, model.covariances_)
        ax.set_title(f"{name}\nmean error {mean_error:.2f}, "
                     f"covariance error {cov_error:.2f}", fontsize=10)
        ax.set_aspect("equal", adjustable="datalim")
        ax.legend(loc="upper right", fontsize=8)
    names = list(errors)
    axes[3].bar([n.replace("GaussianMixture.", "GM.") for n in names],
                [errors[n] for n in names], color=["C0", "C2", "C1", "C7"])
    axes[3].set_ylabel("RMSE over the removed values")
    axes[3].set_title(f"imputation error ({args.missing:.0%} removed at random)",
                      fontsize=10)
    axes[3].tick_params(axis="x", labelsize=8)
    fig.tight_layout()
    fig.savefig(args.output, dpi=100)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()

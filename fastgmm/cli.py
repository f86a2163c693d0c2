"""The ``fastgmm`` command: fit, predict, select and demo without writing Python.

Results go to stdout; progress and errors go to stderr. An error is one line
and a non-zero exit status (2 for bad arguments, 1 for anything else), never a
traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import math
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

__all__ = ["main"]

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
INIT_PARAMS = ("kmeans", "k-means++", "random", "random_from_data")
DATA_SUFFIXES = (".npy", ".csv", ".tsv", ".txt")
DEMO_PNG = "fastgmm-demo.png"


class CommandError(Exception):
    """A problem the user can fix; printed as one line."""


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error message instead of usage plus message."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


# ---------------------------------------------------------------- helpers


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a whole number, got {text!r}"
        ) from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0 or not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text}")
    return value


def _non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value >= 0 or not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text}")
    return value


def _n_jobs(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a whole number, got {text!r}"
        ) from None
    if value == 0:
        raise argparse.ArgumentTypeError(
            "expected a number of threads >= 1, or -1 for all cores, -2 for all "
            "but one, ...; got 0"
        )
    return value


def parse_components(text: str) -> list[int]:
    """Parse ``'3'``, ``'1..10'``, ``'2,4,8'``, ``'10..50:10'`` or mixtures of them."""
    values: list[int] = []
    for part in text.replace(" ", "").split(","):
        if not part:
            continue
        try:
            if ".." in part:
                span, _, step_text = part.partition(":")
                first_text, _, last_text = span.partition("..")
                first, last = int(first_text), int(last_text)
                step = int(step_text) if step_text else 1
                if step < 1 or last < first:
                    raise ValueError
                values.extend(range(first, last + 1, step))
            else:
                values.append(int(part))
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"cannot read {part!r} as component counts; write e.g. 3, 1..10, "
                "2,4,8 or 10..50:10"
            ) from None
    if not values:
        raise argparse.ArgumentTypeError("no component counts given")
    if min(values) < 1:
        raise argparse.ArgumentTypeError("component counts must be >= 1")
    return list(dict.fromkeys(values))


def _covariance_list(text: str) -> list[str]:
    if text.strip().lower() == "all":
        return list(COVARIANCE_TYPES)
    values = [t.strip().lower() for t in text.split(",") if t.strip()]
    bad = [t for t in values if t not in COVARIANCE_TYPES]
    if bad or not values:
        raise argparse.ArgumentTypeError(
            f"unknown covariance type {', '.join(bad) or text!r}; choose from "
            f"{', '.join(COVARIANCE_TYPES)} or all (comma-separated)"
        )
    return list(dict.fromkeys(values))


def _header_rows(path: Path, delimiter: str | None) -> int:
    """1 when the first non-empty line has a field that is not a number."""
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if line.strip():
                fields = line.strip().split(delimiter)
                try:
                    [float(f) for f in fields if f.strip()]
                except ValueError:
                    return 1
                return 0
    return 0


def load_data(path: str) -> np.ndarray:
    """Read a data matrix from .npy, .csv, .tsv or whitespace-separated .txt.

    A text file may start with one header line. A 1-D array is one feature.
    Raises :class:`CommandError` with a one-line reason on any problem.
    """
    p = Path(path)
    if not p.exists():
        raise CommandError(f"{path}: no such file")
    if p.is_dir():
        raise CommandError(f"{path}: is a directory, expected a data file")
    suffix = p.suffix.lower()
    if suffix not in DATA_SUFFIXES:
        raise CommandError(
            f"{path}: cannot read {suffix or 'files without an extension'}; "
            f"data files must be {', '.join(DATA_SUFFIXES)}"
        )
    try:
        if suffix == ".npy":
            with open(p, "rb") as handle:
                if handle.read(6) != b"\x93NUMPY":
                    raise CommandError(
                        f"{path}: not a .npy file (it lacks the NumPy header); "
                        "write one with numpy.save"
                    )
            X = np.load(p, allow_pickle=False)
        else:
            delimiter = {".csv": ",", ".tsv": "\t"}.get(suffix)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # an empty file is reported below
                X = np.loadtxt(
                    p,
                    delimiter=delimiter,
                    skiprows=_header_rows(p, delimiter),
                    dtype=np.float64,
                    ndmin=2,
                )
    except (ValueError, OSError, EOFError) as exc:
        raise CommandError(
            f"{path}: not a readable {suffix} file ({_one_line(exc)})"
        ) from None
    if not isinstance(X, np.ndarray) or X.dtype.kind not in "biuf":
        kind = getattr(X, "dtype", type(X))
        raise CommandError(f"{path}: expected numbers, found {kind}")
    if X.ndim == 1:
        X = X.reshape(-1, 1)
    if X.ndim != 2:
        raise CommandError(
            f"{path}: expected a 2-D array (samples x features), got shape {X.shape}"
        )
    if X.size == 0:
        raise CommandError(f"{path}: contains no data (shape {X.shape})")
    if X.dtype.kind != "f":
        X = X.astype(np.float64)
    bad_rows = ~np.isfinite(X).all(axis=1)
    if bad_rows.any():
        first, count = int(np.argmax(bad_rows)), int(bad_rows.sum())
        rows = "1 row contains" if count == 1 else f"{count} rows contain"
        raise CommandError(
            f"{path}: {rows} NaN or infinite values (first: row {first}); "
            "remove or impute them first"
        )
    return X


def _check_output(path: str | None, suffixes: tuple[str, ...], what: str) -> None:
    """Fail before a long fit rather than after it."""
    if path is None:
        return
    p = Path(path)
    if p.suffix.lower() not in suffixes:
        choices = ", ".join(suffixes[:-1]) + " or " if len(suffixes) > 1 else ""
        raise CommandError(f"{path}: {what} must end in {choices}{suffixes[-1]}")
    if not p.parent.exists() and str(p.parent) != "":
        raise CommandError(f"{path}: directory {p.parent} does not exist")
    if p.is_dir():
        raise CommandError(f"{path}: is a directory")


@contextlib.contextmanager
def _progress(enabled: bool):
    """Route the estimator's verbose output and fastgmm's log to stderr."""
    logger = logging.getLogger("fastgmm")
    if not enabled:
        yield
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)


def _load_model(path: str):
    import fastgmm

    p = Path(path)
    if not p.exists():
        raise CommandError(f"{path}: no such file")
    if p.is_dir():
        raise CommandError(f"{path}: is a directory, expected a model file")
    try:
        model = fastgmm.load(path)
    except Exception as exc:  # any reader failure is a bad file to the user
        reason = _one_line(exc).rstrip(".")
        if p.name not in reason:
            reason = f"{path}: not a fastgmm model file ({reason})"
        raise CommandError(
            f"{reason}; write one with 'fastgmm fit DATA -o model.npz'"
        ) from None
    if not hasattr(model, "means_"):
        raise CommandError(f"{path}: the model in this file is not fitted")
    return model


def _format_vector(v, precision: int = 3, limit: int = 6) -> str:
    v = np.asarray(v, dtype=float).ravel()
    shown = ", ".join(f"{x:.{precision}g}" for x in v[:limit])
    return f"[{shown}{', ...' if v.size > limit else ''}]"


def _print_model(model, n_samples: int, n_features: int, seconds: float) -> None:
    status = "converged" if model.converged_ else "did NOT converge"
    print(
        f"fitted {model.n_components} {model.covariance_type} components to "
        f"{n_samples:,} x {n_features} points in {seconds:.2f} s: {status} "
        f"after {model.n_iter_} iteration{'' if model.n_iter_ == 1 else 's'}"
    )
    print(f"lower bound (mean log-likelihood per sample): {model.lower_bound_:.6f}")
    print(f"{'component':>9} {'weight':>8}  mean")
    for k in range(model.n_components):
        print(f"{k:>9d} {model.weights_[k]:>8.4f}  {_format_vector(model.means_[k])}")


def _add_fit_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--n-init", type=_positive_int, default=1, help="initialisations (default 1)"
    )
    p.add_argument(
        "--max-iter", type=_positive_int, default=100, help="EM iterations (100)"
    )
    p.add_argument(
        "--tol",
        type=_non_negative_float,
        default=1e-3,
        help="convergence threshold on the lower bound (1e-3)",
    )
    p.add_argument(
        "--reg-covar",
        type=_non_negative_float,
        default=1e-6,
        help="added to covariance diagonals (1e-6)",
    )
    p.add_argument(
        "--init",
        choices=INIT_PARAMS,
        default="kmeans",
        help="initialisation method (kmeans)",
    )
    p.add_argument("--seed", type=int, default=None, help="random seed")
    p.add_argument(
        "--n-jobs", type=_n_jobs, default=None, help="threads (default: all cores)"
    )
    p.add_argument(
        "-q", "--quiet", action="store_true", help="no progress messages on stderr"
    )


def _estimator_params(args) -> dict:
    return {
        "n_init": args.n_init,
        "max_iter": args.max_iter,
        "tol": args.tol,
        "reg_covar": args.reg_covar,
        "init_params": args.init,
        "random_state": args.seed,
        "n_jobs": args.n_jobs,
    }


def _check_samples(X, k: int, path: str) -> None:
    if k > X.shape[0]:
        raise CommandError(
            f"{path} has {X.shape[0]} samples, fewer than the {k} components asked for"
        )


# ---------------------------------------------------------------- commands


def _run_fit(args) -> int:
    from fastgmm import GaussianMixture

    _check_output(args.output, (".npz",), "model files")
    start = time.perf_counter()
    X = load_data(args.data)
    _check_samples(X, args.n_components, args.data)
    if not args.quiet:
        _log(
            f"read {args.data}: {X.shape[0]:,} x {X.shape[1]} {X.dtype} "
            f"({time.perf_counter() - start:.2f} s)"
        )
        _log(f"fitting {args.n_components} {args.covariance} components ...")
    model = GaussianMixture(
        n_components=args.n_components,
        covariance_type=args.covariance,
        verbose=0 if args.quiet else 2,
        **_estimator_params(args),
    )
    start = time.perf_counter()
    with _progress(not args.quiet):
        model.fit(X)
    seconds = time.perf_counter() - start
    _print_model(model, X.shape[0], X.shape[1], seconds)
    if args.output:
        model.save(args.output)
        print(f"model written to {args.output}")
    return 0


def _write_array(path: str | None, values: np.ndarray, integer: bool) -> None:
    if path is None:
        fmt = "%d" if integer else "%.6g"
        np.savetxt(sys.stdout, values, fmt=fmt, delimiter=",")
        return
    if Path(path).suffix.lower() == ".npy":
        np.save(path, values)
    else:
        delimiter = "\t" if Path(path).suffix.lower() == ".tsv" else ","
        np.savetxt(path, values, fmt="%d" if integer else "%.6g", delimiter=delimiter)


def _run_predict(args) -> int:
    _check_output(args.output, DATA_SUFFIXES, "outputs")
    model = _load_model(args.model)
    X = load_data(args.data)
    n_features = int(getattr(model, "n_features_in_", model.means_.shape[1]))
    if X.shape[1] != n_features:
        raise CommandError(
            f"{args.data} has {X.shape[1]} columns but the model in {args.model} "
            f"was fitted on {n_features} features"
        )
    if args.proba:
        values = model.predict_proba(X)
    else:
        values = model.predict(X)
    _write_array(args.output, values, integer=not args.proba)
    if args.output:
        what = "probabilities" if args.proba else "labels"
        print(f"{X.shape[0]:,} {what} written to {args.output}")
        if not args.proba:
            counts = np.bincount(values, minlength=model.n_components)
            print("points per component: " + ", ".join(str(int(c)) for c in counts))
    return 0


def _run_select(args) -> int:
    from fastgmm.select import select

    _check_output(args.output, (".npz",), "model files")
    _check_output(args.plot, (".png", ".pdf", ".svg"), "plots")
    plt = _plt_or_error() if args.plot else None  # before the fits, not after
    X = load_data(args.data)
    _check_samples(X, max(args.k), args.data)
    if not args.quiet:
        _log(
            f"read {args.data}: {X.shape[0]:,} x {X.shape[1]} {X.dtype}; fitting "
            f"{len(args.k) * len(args.covariance)} candidates ..."
        )
    with _progress(not args.quiet):
        result = select(
            X,
            n_components=args.k,
            covariance_types=args.covariance,
            criterion=args.criterion,
            **_estimator_params(args),
        )
    print(result.table())
    best = result.best_
    print(
        f"best by {args.criterion.upper()}: {best.n_components} {best.covariance_type}"
        f" components ({args.criterion.upper()} {getattr(best, args.criterion):.2f})"
    )
    if args.output:
        result.best_estimator_.save(args.output)
        print(f"best model written to {args.output}")
    if plt is not None:
        fig, ax = plt.subplots(figsize=(7, 4.5))
        result.plot(ax=ax)
        fig.tight_layout()
        fig.savefig(args.plot, dpi=110)
        plt.close(fig)
        print(f"plot written to {args.plot}")
    return 0


def _plt_or_error():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise CommandError(
            'plots need matplotlib: pip install "fastgmm[plot]"'
        ) from None
    return plt


# ---------------------------------------------------------------- demo


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


def _shared_start(X, n_components: int, seed: int):
    """Weights, means and precisions from k-means on a 20,000-point subsample.

    Both estimators start EM here, so their times compare the same work.
    """
    from sklearn.cluster import KMeans

    rng = np.random.default_rng(seed)
    sub = X[rng.choice(X.shape[0], size=min(X.shape[0], 20_000), replace=False)]
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


def _run_demo(args) -> int:
    from fastgmm import GaussianMixture

    if args.n_samples < 100:
        raise CommandError("--n-samples must be at least 100")
    plt = None
    if not args.no_plot:
        _check_output(args.output, (".png", ".pdf", ".svg"), "the picture")
        try:
            plt = _plt_or_error()
        except CommandError:
            _log('no picture without matplotlib: pip install "fastgmm[plot]"')

    n = args.n_samples
    start = time.perf_counter()
    X, _, true_w, true_mu, true_cov = demo_mixture(n, seed=args.seed)
    k = true_w.size
    print(
        f"data: {n:,} points in 2-D from a mixture of {k} Gaussians "
        f"(seed {args.seed}, made in {time.perf_counter() - start:.2f} s)"
    )

    # Pay Numba's compilation (cached on disk after the first run) before timing.
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # two iterations do not converge; fine here
        GaussianMixture(k, max_iter=2, random_state=0, n_jobs=args.n_jobs).fit(X[:2000])
    warm = time.perf_counter() - start
    _log(f"warm-up fit on 2,000 points (pays any first-run compilation): {warm:.1f} s")

    weights, means, precisions = _shared_start(X, k, args.seed)
    start_params = {
        "weights_init": weights,
        "means_init": means,
        "precisions_init": precisions,
        "max_iter": 300,
        "tol": 1e-3,
    }
    verbose = 0 if args.quiet else 2

    _log("fitting with fastgmm ...")
    model = GaussianMixture(k, verbose=verbose, n_jobs=args.n_jobs, **start_params)
    start = time.perf_counter()
    with _progress(not args.quiet):
        model.fit(X)
    fast_seconds = time.perf_counter() - start

    reference, sk_seconds = None, None
    if not args.no_sklearn:
        from sklearn.mixture import GaussianMixture as SklearnGaussianMixture

        _log("fitting with scikit-learn from the same start ...")
        reference = SklearnGaussianMixture(k, verbose=verbose, **start_params)
        start = time.perf_counter()
        with _progress(not args.quiet):
            reference.fit(X)
        sk_seconds = time.perf_counter() - start

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

    print()
    print(
        f"fit time, EM from the same start (k-means on 20,000 of the points), "
        f"{n:,} points, K={k} full, tol 1e-3:"
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
        _demo_figure(
            plt,
            X,
            model,
            reference,
            true_mu,
            true_cov,
            fast_seconds,
            sk_seconds,
            args.output,
        )
        print(f"\npicture written to {args.output}")
    return 0


def _demo_figure(plt, X, model, reference, true_mu, true_cov, fast_s, sk_s, path):
    from fastgmm.plot import plot_ellipses, plot_lower_bound

    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5.5))
    rng = np.random.default_rng(1)
    shown = X[rng.choice(X.shape[0], size=min(X.shape[0], 20_000), replace=False)]
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
    left.set_title(f"{X.shape[0]:,} points (20,000 drawn), coloured by fastgmm")
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


# ---------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``fastgmm`` command."""
    try:
        from importlib.metadata import version

        own_version = version("fastgmm")
    except Exception:
        own_version = "unknown"
    parser = _Parser(
        prog="fastgmm",
        description=(
            "Gaussian mixture models on millions of points from the command line. "
            "Data files: .npy, .csv, .tsv or whitespace-separated .txt (rows are "
            "samples; text files may have one header line). Model files: .npz."
        ),
        epilog="Run 'fastgmm COMMAND --help' for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"fastgmm {own_version}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    fit = commands.add_parser(
        "fit",
        help="fit a mixture to a data file and save it",
        description="Fit a Gaussian mixture to DATA and optionally save it as .npz.",
    )
    fit.add_argument("data", metavar="DATA", help="data file (.npy, .csv, .tsv, .txt)")
    fit.add_argument(
        "-k",
        "--k",
        "--n-components",
        dest="n_components",
        type=_positive_int,
        required=True,
        help="number of components",
    )
    fit.add_argument(
        "--covariance",
        choices=COVARIANCE_TYPES,
        default="full",
        help="covariance type (full)",
    )
    fit.add_argument("-o", "--output", metavar="MODEL.npz", help="where to save")
    _add_fit_options(fit)
    fit.set_defaults(run=_run_fit)

    predict = commands.add_parser(
        "predict",
        help="label data with a saved model",
        description=(
            "Predict the component of each row of DATA (or, with --proba, the "
            "probability of each component) with a model saved by 'fastgmm fit'."
        ),
    )
    predict.add_argument("model", metavar="MODEL", help="model file (.npz)")
    predict.add_argument("data", metavar="DATA", help="data file")
    predict.add_argument(
        "-o",
        "--output",
        metavar="OUT",
        help="output file: .npy, .csv, .tsv or .txt (default: CSV on stdout)",
    )
    predict.add_argument(
        "--proba",
        action="store_true",
        help="write an (n_samples, n_components) array of probabilities",
    )
    predict.set_defaults(run=_run_predict)

    select = commands.add_parser(
        "select",
        help="choose the number of components and covariance type by BIC or AIC",
        description=(
            "Fit every combination of component counts and covariance types and "
            "rank them by an information criterion (lower is better)."
        ),
    )
    select.add_argument("data", metavar="DATA", help="data file")
    select.add_argument(
        "-k",
        "--k",
        dest="k",
        type=parse_components,
        default=list(range(1, 11)),
        metavar="KS",
        help="component counts: 3, 1..10 (default), 2,4,8 or 10..50:10",
    )
    select.add_argument(
        "--covariance",
        type=_covariance_list,
        default=list(COVARIANCE_TYPES),
        metavar="TYPES",
        help="comma-separated covariance types, or all (default: all)",
    )
    select.add_argument(
        "--criterion", choices=("bic", "aic"), default="bic", help="(bic)"
    )
    select.add_argument(
        "-o", "--output", metavar="MODEL.npz", help="save the best model here"
    )
    select.add_argument(
        "--plot", metavar="PNG", help="draw the criterion curves (needs matplotlib)"
    )
    _add_fit_options(select)
    select.set_defaults(run=_run_select)

    demo = commands.add_parser(
        "demo",
        help="fit a built-in million-point mixture, next to scikit-learn",
        description=(
            "Draw points from a built-in mixture of five 2-D Gaussians, fit it with "
            "fastgmm, print the true and recovered parameters and the time next to "
            "scikit-learn's from the same initialisation, and draw a picture when "
            "matplotlib is installed."
        ),
    )
    demo.add_argument(
        "--n-samples",
        type=_positive_int,
        default=1_000_000,
        help="number of points (1,000,000)",
    )
    demo.add_argument(
        "--no-sklearn", action="store_true", help="skip the scikit-learn comparison"
    )
    demo.add_argument(
        "--output", default=DEMO_PNG, metavar="PNG", help=f"picture ({DEMO_PNG})"
    )
    demo.add_argument("--no-plot", action="store_true", help="draw no picture")
    demo.add_argument("--seed", type=int, default=0, help="data seed (0)")
    demo.add_argument(
        "--n-jobs", type=_n_jobs, default=None, help="threads (default: all cores)"
    )
    demo.add_argument(
        "-q", "--quiet", action="store_true", help="no progress messages on stderr"
    )
    demo.set_defaults(run=_run_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``fastgmm`` command; returns the exit status.

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name; ``sys.argv[1:]`` when None.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version and argument errors
        return exc.code if isinstance(exc.code, int) else 2
    if args.command is None:
        _log(
            "fastgmm: error: choose a command: fit, predict, select or demo "
            "(see 'fastgmm --help')"
        )
        return 2
    prog = f"fastgmm {args.command}"

    def one_line_warning(message, category, *_args, **_kwargs):
        _log(f"{prog}: warning: {category.__name__}: {_one_line(message)}")

    try:
        with warnings.catch_warnings():
            warnings.showwarning = one_line_warning
            return args.run(args)
    except CommandError as exc:
        _log(f"{prog}: error: {exc}")
    except KeyboardInterrupt:
        _log(f"{prog}: interrupted")
        return 130
    except BrokenPipeError:  # e.g. 'fastgmm predict ... | head': not an error
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the flush at exit
        return 0
    except MemoryError:
        _log(f"{prog}: error: out of memory; try a smaller file or fewer components")
    except Exception as exc:  # never a traceback: one line naming the problem
        _log(f"{prog}: error: {type(exc).__name__}: {_one_line(exc)}")
    return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""The ``fastgmm`` command: fit, predict, select and demo without writing Python.

Results go to stdout; progress and errors go to stderr. An error is one line
and a non-zero exit status (2 for bad arguments, 1 for anything else), never a
traceback. What ``fastgmm demo`` runs lives in :mod:`fastgmm.demo`.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from fastgmm._covariance import NAMES
from fastgmm._terminal import progress_on_stderr, to_stderr
from fastgmm.demo import DEFAULT_PICTURE, MIN_SAMPLES, run_demo

__all__ = ["main"]

COVARIANCE_TYPES = NAMES
INIT_PARAMS = ("kmeans", "k-means++", "random", "random_from_data")
PRIOR_TYPES = ("dirichlet_process", "dirichlet_distribution")
DATA_SUFFIXES = (".npy", ".csv", ".tsv", ".txt")


class CommandError(Exception):
    """A problem the user can fix; printed as one line."""


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error message instead of usage plus message."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


# ---------------------------------------------------------------- helpers


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


def _thread_count(text: str) -> int:
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


def load_data(path: str, missing: bool = False) -> np.ndarray:
    """Read a data matrix from .npy, .csv, .tsv or whitespace-separated .txt.

    A text file may start with one header line. A 1-D array is one feature. With
    ``missing``, empty cells and NaN are read as missing values (NaN); without
    it, they are refused. Raises :class:`CommandError` with a one-line reason on
    any problem.
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
                if missing:
                    # empty cells become NaN
                    X = np.genfromtxt(
                        p, delimiter=delimiter, skip_header=_header_rows(p, delimiter),
                        dtype=np.float64, ndmin=2, invalid_raise=True,
                    )
                else:
                    X = np.loadtxt(
                        p,
                        delimiter=delimiter,
                        skiprows=_header_rows(p, delimiter),
                        dtype=np.float64,
                        ndmin=2,
                    )
    except (ValueError, OSError, EOFError) as exc:
        hint = ""
        if not missing and "string ''" in str(exc):
            hint = "; empty cells are missing values: fit with --missing-values nan"
        raise CommandError(
            f"{path}: not a readable {suffix} file ({_one_line(exc)}){hint}"
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
    if missing:
        bad_rows = np.isinf(X).any(axis=1)
        what, fix = "infinite values", "remove them first"
    else:
        bad_rows = ~np.isfinite(X).all(axis=1)
        what = "NaN or infinite values"
        fix = ("remove or impute them first, or fit with --missing-values nan to "
               "model the missing ones")
    if bad_rows.any():
        first, count = int(np.argmax(bad_rows)), int(bad_rows.sum())
        rows = "1 row contains" if count == 1 else f"{count} rows contain"
        raise CommandError(f"{path}: {rows} {what} (first: row {first}); {fix}")
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
    from fastgmm._criteria import EFFECTIVE_WEIGHT, effective_components

    status = "converged" if model.converged_ else "did NOT converge"
    bayesian = hasattr(model, "weight_concentration_prior_type")
    how = (
        f" by variational Bayes ({model.weight_concentration_prior_type} prior)"
        if bayesian else ""
    )
    print(
        f"fitted {model.n_components} {model.covariance_type} components{how} to "
        f"{n_samples:,} x {n_features} points in {seconds:.2f} s: {status} "
        f"after {model.n_iter_} iteration{'' if model.n_iter_ == 1 else 's'}"
    )
    used = effective_components(model.weights_)
    if bayesian:
        print(f"lower bound (variational, up to a constant): {model.lower_bound_:.6f}")
        print(
            f"components used (weight >= {EFFECTIVE_WEIGHT:g}): {int(used.sum())} "
            f"of {model.n_components}"
        )
    else:
        print(
            f"lower bound (mean log-likelihood per sample): {model.lower_bound_:.6f}"
        )
    print(f"{'component':>9} {'weight':>8}  mean")
    for k in range(model.n_components):
        unused = "  (unused)" if bayesian and not used[k] else ""
        print(
            f"{k:>9d} {model.weights_[k]:>8.4f}  {_format_vector(model.means_[k])}"
            f"{unused}"
        )


def _add_fit_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--n-init", type=_positive_int, default=1, help="initialisations (default 1)"
    )
    p.add_argument(
        "--max-iter", type=_positive_int, default=100, help="iterations (100)"
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
        "--n-jobs",
        type=_thread_count,
        default=None,
        help="threads (default: all cores)",
    )
    p.add_argument(
        "-q", "--quiet", action="store_true", help="no progress messages on stderr"
    )
    p.add_argument(
        "--missing-values",
        choices=("nan",),
        default=None,
        help="read empty cells and NaN as missing values and fit the observed "
        "ones exactly (EM, or variational Bayes with --bayesian)",
    )
    bayes = p.add_argument_group(
        "variational Bayes",
        "fit BayesianGaussianMixture models, which switch off the components "
        "the data do not need",
    )
    bayes.add_argument(
        "--bayesian", action="store_true",
        help="variational Bayesian mixtures instead of maximum likelihood (EM)",
    )
    bayes.add_argument(
        "--weight-concentration-prior",
        type=_positive_float,
        default=None,
        metavar="X",
        help="concentration of the weights' prior: small values use few "
        "components (default 1 / n_components)",
    )
    bayes.add_argument(
        "--prior-type",
        choices=PRIOR_TYPES,
        default=None,
        help="prior of the weights (dirichlet_process)",
    )


def _check_bayesian_options(parser: argparse.ArgumentParser, args) -> None:
    """The prior options only mean something with --bayesian."""
    prog = f"{parser.prog} {args.command}"
    if getattr(args, "bayesian", True):
        return
    for option, value in (
        ("--weight-concentration-prior", args.weight_concentration_prior),
        ("--prior-type", args.prior_type),
    ):
        if value is not None:
            parser.exit(2, f"{prog}: error: {option} needs --bayesian (see '{prog} "
                        "--help')\n")


def _estimator_params(args) -> dict:
    params = {
        "n_init": args.n_init,
        "max_iter": args.max_iter,
        "tol": args.tol,
        "reg_covar": args.reg_covar,
        "init_params": args.init,
        "random_state": args.seed,
        "n_jobs": args.n_jobs,
    }
    if args.missing_values is not None:
        params["missing_values"] = args.missing_values
    return params


def _prior_params(args) -> dict:
    """BayesianGaussianMixture's prior parameters from the options."""
    return {
        "weight_concentration_prior_type": args.prior_type or PRIOR_TYPES[0],
        "weight_concentration_prior": args.weight_concentration_prior,
    }


def _check_enough_samples(X, k: int, path: str) -> None:
    if k > X.shape[0]:
        raise CommandError(
            f"{path} has {X.shape[0]} samples, fewer than the {k} components asked for"
        )


# ---------------------------------------------------------------- commands


def _run_fit(args) -> int:
    from fastgmm import BayesianGaussianMixture, GaussianMixture

    _check_output(args.output, (".npz",), "model files")
    start = time.perf_counter()
    X = load_data(args.data, missing=args.missing_values is not None)
    _check_enough_samples(X, args.n_components, args.data)
    if not args.quiet:
        to_stderr(
            f"read {args.data}: {X.shape[0]:,} x {X.shape[1]} {X.dtype} "
            f"({time.perf_counter() - start:.2f} s)"
        )
        to_stderr(f"fitting {args.n_components} {args.covariance} components ...")
    estimator, params = GaussianMixture, _estimator_params(args)
    if args.bayesian:
        estimator = BayesianGaussianMixture
        params.update(_prior_params(args))
    model = estimator(
        n_components=args.n_components,
        covariance_type=args.covariance,
        verbose=0 if args.quiet else 2,
        **params,
    )
    start = time.perf_counter()
    with progress_on_stderr(not args.quiet):
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
    X = load_data(args.data, missing=getattr(model, "missing_values", None) == "nan")
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
    from fastgmm._criteria import CRITERION_LABELS
    from fastgmm.select import select

    _check_output(args.output, (".npz",), "model files")
    _check_output(args.plot, (".png", ".pdf", ".svg"), "plots")
    plt = _pyplot_or_error() if args.plot else None  # before the fits, not after
    X = load_data(args.data, missing=args.missing_values is not None)
    _check_enough_samples(X, max(args.k), args.data)
    if not args.quiet:
        to_stderr(
            f"read {args.data}: {X.shape[0]:,} x {X.shape[1]} {X.dtype}; fitting "
            f"{len(args.k) * len(args.covariance)} candidates ..."
        )
    params = _estimator_params(args)
    if args.bayesian:
        params.update(_prior_params(args))
    with progress_on_stderr(not args.quiet):
        result = select(
            X,
            n_components=args.k,
            covariance_types=args.covariance,
            criterion=args.criterion,
            bayesian=args.bayesian,
            **params,
        )
    print(result.table())
    best = result.best_
    label = CRITERION_LABELS[result.criterion]
    value = getattr(best, result.criterion)
    print(
        f"best by {label}: {best.n_components} {best.covariance_type} components "
        f"({label} {value:.{4 if result.criterion == 'heldout' else 2}f})"
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


def _pyplot_or_error():
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


def _run_demo(args) -> int:
    if args.n_samples < MIN_SAMPLES:
        raise CommandError(f"--n-samples must be at least {MIN_SAMPLES}")
    picture = None if args.no_plot else args.output
    if picture is not None:
        _check_output(picture, (".png", ".pdf", ".svg"), "the picture")
        try:
            _pyplot_or_error()
        except CommandError:
            to_stderr('no picture without matplotlib: pip install "fastgmm[plot]"')
            picture = None
    run_demo(
        args.n_samples,
        seed=args.seed,
        compare_sklearn=not args.no_sklearn,
        picture=picture,
        n_jobs=args.n_jobs,
        progress=not args.quiet,
    )
    return 0


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
        description=(
            "Fit a Gaussian mixture to DATA (by EM, or by variational Bayes with "
            "--bayesian) and optionally save it as .npz."
        ),
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
        help="choose the number of components and covariance type by BIC, AIC or "
        "held-out log-likelihood",
        description=(
            "Fit every combination of component counts and covariance types and "
            "rank them by an information criterion (lower is better) or by the "
            "log-likelihood of a random 20% of the rows held out of the fits "
            "(higher is better; the only criterion with --bayesian)."
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
        "--criterion",
        choices=("bic", "aic", "heldout"),
        default=None,
        help="(bic; heldout with --bayesian)",
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
        "--output",
        default=DEFAULT_PICTURE,
        metavar="PNG",
        help=f"picture ({DEFAULT_PICTURE})",
    )
    demo.add_argument("--no-plot", action="store_true", help="draw no picture")
    demo.add_argument("--seed", type=int, default=0, help="data seed (0)")
    demo.add_argument(
        "--n-jobs",
        type=_thread_count,
        default=None,
        help="threads (default: all cores)",
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
        _check_bayesian_options(parser, args)
    except SystemExit as exc:  # --help, --version and argument errors
        return exc.code if isinstance(exc.code, int) else 2
    if args.command is None:
        to_stderr(
            "fastgmm: error: choose a command: fit, predict, select or demo "
            "(see 'fastgmm --help')"
        )
        return 2
    prog = f"fastgmm {args.command}"

    def one_line_warning(message, category, *_args, **_kwargs):
        to_stderr(f"{prog}: warning: {category.__name__}: {_one_line(message)}")

    try:
        with warnings.catch_warnings():
            warnings.showwarning = one_line_warning
            return args.run(args)
    except CommandError as exc:
        to_stderr(f"{prog}: error: {exc}")
    except KeyboardInterrupt:
        to_stderr(f"{prog}: interrupted")
        return 130
    except BrokenPipeError:  # e.g. 'fastgmm predict ... | head': not an error
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the flush at exit
        return 0
    except MemoryError:
        to_stderr(
            f"{prog}: error: out of memory; try a smaller file or fewer components"
        )
    except Exception as exc:  # never a traceback: one line naming the problem
        to_stderr(f"{prog}: error: {type(exc).__name__}: {_one_line(exc)}")
    return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""Compare fastgmm with scikit-learn and a plain NumPy EM; print the result as Markdown.

Run ``python asv_bench/compare.py`` for the full comparison (about half an hour on a
2-core machine, most of it spent waiting for scikit-learn and NumPy), ``python
asv_bench/compare.py --quick`` for a smoke run with smaller data (a minute or two), and
``--help`` for the options. The report goes to standard output (and to ``--markdown
PATH``); progress goes to standard error. fastgmm must be importable (installed, for
example with ``pip install -e .``); the shared ``harness`` is found next to this file.

What is measured, and how
-------------------------
- **Time per EM iteration.** All three implementations start from the same
  ``weights_init``, ``means_init`` and ``precisions_init`` (a perturbed copy of the
  true mixture, seeded), with ``tol=0`` so that every fit runs exactly ``max_iter``
  iterations. A fit also validates, initialises and, in scikit-learn, runs a final
  E-step; to leave those out, each repeat times ``fit`` with ``max_iter=1`` and
  ``max_iter=1+n`` and takes the difference divided by ``n``. The median over repeats
  is reported, and the implementations take turns within each repeat, so a slow moment
  on a shared machine hits all of them alike; each timed call waits
  ``harness.timing.SETTLE_SECONDS`` first, so that the previous implementation's
  spinning BLAS or OpenMP threads do not steal the cores. Numba compilation is paid by
  untimed fits before timing. scikit-learn runs its initialisation even when all three
  ``*_init`` are given; ``init_params="random_from_data"`` is used as its cheapest form
  (it cancels out of the per-iteration figure anyway).
- **Peak memory beyond X.** Each (case, implementation) runs in a fresh subprocess that
  builds X, pays compilation with a small fit, releases free heap pages
  (``malloc_trim``), resets the kernel's resident-set high-water mark
  (``/proc/self/clear_refs``), runs one ``fit(max_iter=1)`` and reads ``VmHWM``. The
  figure is that peak minus the resident set just before the fit, which already holds
  X: every page the fit touches, whoever allocated it (NumPy, Numba's runtime, BLAS,
  thread stacks). ``MALLOC_MMAP_THRESHOLD_`` is fixed in the subprocess so that large
  blocks go back to the system when freed instead of hiding in the heap. A second fit
  under ``tracemalloc`` gives the peak of the allocations Python can see (NumPy arrays,
  not Numba's runtime arrays), shown in the details for comparison.
- The NumPy baseline is :mod:`harness.numpy_em`, the textbook vectorised EM.
- **oneDAL** (a column of the EM table): Intel oneDAL's ``em_gmm`` (daal4py) from
  the same data and start, timed the same way in a subprocess that runs in a
  virtual environment of its own (daal4py needs scikit-learn < 1.6); skipped,
  with a line saying how to set it up, when there is none
  (:mod:`harness.onedal_em`).
- **Roofline** (columns of the EM table): the useful floating-point work of one
  iteration (:func:`harness.roofline.flops_per_iteration`, derived there per
  covariance type) over fastgmm's time per iteration, next to the rate of a square
  NumPy matrix product timed in this process on the same threads.
- **The whole default fit** (``--cases default-fit``): ``fit`` with scikit-learn's
  defaults (``init_params='kmeans'``, ``tol=1e-3``, ``n_init=1``), each library
  with its own initialisation: wall times, ``n_iter_`` and the final mean
  log-likelihoods of both.
- **BayesianGaussianMixture** (``--cases bayesian``, or rows such as
  ``bayesian-2x3-full``): time per variational iteration of fastgmm and
  scikit-learn, measured as above, both from the random responsibilities that
  ``init_params='random'`` draws from the same ``random_state`` (the same numbers
  in both libraries, so both compute the same iterations: the lower bounds after
  them are reported), and the memory of one fit beyond X next to that of
  fastgmm's ``GaussianMixture`` from the same kind of start.
- **One Dirichlet-process mixture per column** (``--cases bayesian-columns``): a
  table of 10 realistic numeric columns (``harness.data.make_table``), one 1-D
  ``BayesianGaussianMixture(n_components=10, weight_concentration_prior=0.001)``
  per column with every other parameter at its default, each library with its
  own initialisation: whole-fit wall times, ``n_iter_``, initialisation and
  per-iteration times, and the mean log-likelihood per point of both models.

- **GibbsGaussianMixture** (``--cases gibbs``): one sweep next to one EM
  iteration on the same data, start and threads (each by the difference of two
  fits, as above: a chain of ``1 + n`` draws without burn-in against one of 1);
  1,000 sweeps at 1M x 2 x 3; and the Pyro tutorial's model
  (``examples/gibbs_tutorial.py``: 4 chains of 200 + 2,000 sweeps) with its
  draws per second and ArviZ's effective samples per second of the slowest mean
  coordinate.

Timings on a shared or small machine are provisional; the ratios measured side by side
in one process are what the comparison is about.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass

import numpy as np

from harness.data import TABLE_COLUMNS, make_mixture, make_table
from harness.fitting import (
    BAYESIAN_IMPLEMENTATIONS,
    IMPLEMENTATIONS,
    STANDIN_ENV,
    fit_bayesian,
    fit_dp_column,
    fit_model,
    lower_bound,
    make_estimator,
    predict,
    quiet,
    quiet_fit,
    score_samples,
    standin,
    thread_limits,
    warm_up,
    warm_up_bayesian,
)
from harness.memory import peak_rss_growth, peak_traced_growth
from harness.onedal_em import SETUP_HINT, onedal_python, time_onedal
from harness.roofline import dgemm_rate, flops_per_iteration
from harness.timing import median_seconds, seconds, time_per_iteration


@dataclass(frozen=True)
class Case:
    """One row of the comparison table."""

    n_samples: int
    n_features: int
    n_components: int
    covariance_type: str
    target: str = ""

    @property
    def key(self) -> str:
        return f"{self.n_features}x{self.n_components}-{self.covariance_type}"

    @property
    def label(self) -> str:
        return (
            f"{_count(self.n_samples)} x {self.n_features} x {self.n_components} "
            f"{self.covariance_type}"
        )

    def scaled(self, divisor: int) -> Case:
        return Case(
            max(self.n_samples // divisor, 1_000),
            self.n_features,
            self.n_components,
            self.covariance_type,
            self.target,
        )


#: The targets of issue 3 (speed-up over scikit-learn per EM iteration).
TABLE_CASES = (
    Case(1_000_000, 2, 3, "full", ">= 30x"),
    Case(1_000_000, 2, 3, "diag", ">= 30x"),
    Case(1_000_000, 16, 16, "full", ">= 20x"),
    Case(1_000_000, 16, 16, "tied", ">= 20x"),
    Case(1_000_000, 16, 16, "diag", ">= 20x"),
    Case(1_000_000, 16, 16, "spherical", ">= 20x"),
    Case(200_000, 64, 32, "full", ">= 5x"),
)
#: The targets of issue 11 (speed-up over scikit-learn's BayesianGaussianMixture
#: per variational iteration): the EM table's rows but the last.
BAYESIAN_CASES = TABLE_CASES[:6]
BAYESIAN_PREFIX = "bayesian-"
SECTIONS = (
    "table",
    "memory",
    "threads",
    "small",
    "predict",
    "float32",
    "init",
    "default-fit",
    "bayesian",
    "bayesian-columns",
    "missing",
    "gibbs",
)
QUICK_DIVISOR = 20


def case_data(base: Case, args) -> tuple[Case, np.ndarray, dict]:
    """``(case, X, init)``: ``base`` scaled down under ``--quick``, and its data
    and shared start from ``make_mixture`` with the run's seed."""
    case = base.scaled(QUICK_DIVISOR) if args.quick else base
    X, init = make_mixture(case.n_samples, case.n_features, case.n_components,
                           case.covariance_type, seed=args.seed)
    return case, X, init


def _count(n: int) -> str:
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n >= 1_000 and n % 1_000 == 0:
        return f"{n // 1_000}k"
    return str(n)


# ------------------------------------------------------------------------ memory


def _memory_child(spec):
    """Entry point of the measuring subprocess; prints one JSON line."""
    dtype = np.dtype(spec["dtype"])
    X, init = make_mixture(
        spec["n_samples"],
        spec["n_features"],
        spec["n_components"],
        spec["covariance_type"],
        seed=spec["seed"],
        dtype=dtype,
    )
    implementation = spec["implementation"]
    init_params = spec.get("init_params")
    estimator_name = spec.get("estimator", "GaussianMixture")

    def fit(data):
        if estimator_name == "BayesianGaussianMixture" or init_params == "random":
            return fit_bayesian(
                implementation, data, spec["n_components"], spec["covariance_type"],
                1, spec["threads"], random_state=0, estimator=estimator_name,
            )
        if init_params is None:
            return fit_model(
                implementation, data, init, spec["covariance_type"], 1,
                spec["threads"],
            )
        estimator = make_estimator(
            implementation,
            n_components=spec["n_components"],
            covariance_type=spec["covariance_type"],
            tol=0.0,
            max_iter=1,
            init_params=init_params,
            random_state=0,
            n_jobs=spec["threads"],
        )
        with quiet():
            return estimator.fit(data)

    with thread_limits(spec["threads"]):
        if estimator_name == "GaussianMixture":
            warm_up(implementation, X, init, spec["covariance_type"], spec["threads"])
        # The measured fit's own path (its initialisation included) compiled, or
        # loaded from Numba's cache, before the measurement.
        fit(X[:2_000])
        rss, model = peak_rss_growth(lambda: fit(X))
        del model
        traced, model = peak_traced_growth(lambda: fit(X))
    print(json.dumps({"rss": rss, "traced": traced, "x_bytes": X.nbytes}))


def measure_memory(case, implementation, seed, threads, dtype="float64", log=print,
                   init_params=None, estimator="GaussianMixture"):
    """Peak memory of one ``fit(max_iter=1)`` beyond X, measured in a subprocess:
    from the shared initial parameters, or initialised by ``init_params``; a
    ``BayesianGaussianMixture`` from ``init_params='random'``."""
    spec = {
        "estimator": estimator,
        "init_params": init_params,
        "implementation": implementation,
        "n_samples": case.n_samples,
        "n_features": case.n_features,
        "n_components": case.n_components,
        "covariance_type": case.covariance_type,
        "seed": seed,
        "threads": threads,
        "dtype": dtype,
    }
    env = dict(os.environ)
    # A fixed threshold turns off glibc's adaptive one, under which freed blocks of up
    # to 32 MiB stay in the heap and later allocations reuse them without the resident
    # set growing: large blocks come from and go back to mmap, so the peak is honest.
    env["MALLOC_MMAP_THRESHOLD_"] = str(256 * 1024)
    command = [
        sys.executable,
        os.path.abspath(__file__),
        "--memory-child",
        json.dumps(spec),
    ]
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        log(
            f"    memory child failed ({implementation}): {done.stderr.strip()[-2000:]}"
        )
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------- machine


def describe_machine(threads):
    """A Markdown list: CPU, cores, memory and the versions that matter."""
    from importlib import metadata

    model = "unknown"
    flags = set()
    with contextlib.suppress(OSError):
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name") and model == "unknown":
                    model = line.split(":", 1)[1].strip()
                elif line.startswith("flags") and not flags:
                    flags = set(line.split(":", 1)[1].split())
    simd = [f for f in ("avx2", "fma", "avx512f") if f in flags]
    memory = "unknown"
    with contextlib.suppress(OSError, ValueError):
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    memory = f"{int(line.split()[1]) / 2**20:.1f} GiB"
                    break
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None

    def version(name):
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "not installed"

    import numba

    blas = []
    with contextlib.suppress(Exception):
        from threadpoolctl import threadpool_info

        for pool in threadpool_info():
            blas.append(
                f"{pool.get('internal_api')} {pool.get('version')} "
                f"({pool.get('num_threads')} threads)"
            )
    fastgmm_version = version("fastgmm")
    if fastgmm_version == "not installed":
        fastgmm_version = "source tree (not installed)"
    lines = [
        f"- CPU: {model} ({', '.join(simd) or 'no AVX2/AVX-512 flags'}); "
        f"{os.cpu_count()} logical cores, {usable} usable; memory {memory}",
        f"- Python {platform.python_version()}, NumPy {np.__version__}, "
        f"SciPy {version('scipy')}, scikit-learn {version('scikit-learn')}, "
        f"Numba {numba.__version__} ({numba.config.NUMBA_NUM_THREADS} threads), "
        f"fastgmm {fastgmm_version}",
        f"- Thread pools: {'; '.join(blas) or 'unknown'}",
        f"- Threads for this run: {threads if threads else 'all'} "
        "(fastgmm `n_jobs`; BLAS/OpenMP limited with threadpoolctl when set)",
        f"- {datetime.datetime.now().isoformat(timespec='seconds')}, "
        f"`{' '.join(['python asv_bench/compare.py', *sys.argv[1:]])}`",
    ]
    return "\n".join(lines)


# ---------------------------------------------------------------------- report


def _ms(value):
    if value is None:
        return "n/a"
    ms = value * 1e3
    if abs(ms) >= 100:
        return f"{ms:,.0f}"
    if abs(ms) >= 10:
        return f"{ms:.1f}"
    return f"{ms:.2f}"


def _ratio(numerator, denominator):
    if numerator is None or denominator is None or denominator <= 0:
        return "n/a"
    return f"{numerator / denominator:.1f}x"


def _relative(value, reference):
    return (value - reference) / abs(reference)


def _mib(value):
    return "n/a" if value is None else f"{value / 2**20:,.1f}"


def markdown_table(header, rows):
    lines = ["| " + " | ".join(header) + " |"]
    lines.append("|" + "|".join("---" for _ in header) + "|")
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _whole_fit_cells(timings, names):
    """Median seconds of fit(1) and of fit(1 + n) of each implementation, then
    scikit-learn's speed-up over fastgmm in each repeat."""
    return [
        *(f"{timings[name]['fit_1']:.3f}" for name in names),
        *(f"{timings[name]['fit_n']:.3f}" for name in names),
        ", ".join(
            f"{sk / fg:.1f}" if fg > 0 else "n/a"
            for sk, fg in zip(
                timings["sklearn"]["runs"], timings["fastgmm"]["runs"], strict=True
            )
        ),
    ]


def _memory_cells(memory, labels):
    """'resident / traced' MiB of each measured label."""
    return [
        f"{_mib(memory[label]['rss'])} / {_mib(memory[label]['traced'])}"
        if memory.get(label)
        else "n/a"
        for label in labels
    ]


def _roofline_cells(case, per_iter, log):
    """GFLOP of one iteration of ``case``, fastgmm's GFLOP/s at ``per_iter``
    seconds an iteration, the dgemm GFLOP/s measured now, and the fraction."""
    work = flops_per_iteration(
        case.n_samples, case.n_features, case.n_components, case.covariance_type
    )
    rate, order = dgemm_rate()
    log(f"{case.label}: dgemm {rate / 1e9:.1f} GFLOP/s (n = {order})")
    if not per_iter or per_iter <= 0:
        return [f"{work / 1e9:.3g}", "n/a", f"{rate / 1e9:.3g}", "n/a"]
    achieved = work / per_iter
    return [
        f"{work / 1e9:.3g}",
        f"{achieved / 1e9:.3g}",
        f"{rate / 1e9:.3g}",
        f"{100 * achieved / rate:.0f}%",
    ]


def _onedal_note(python, detail):
    """A sentence for the EM table's legend: which oneDAL ran (``detail``: its
    version), or why none did (``detail``: the reason) and how to add it."""
    if python:
        return f" oneDAL: daal4py {detail} in `{python}`."
    return f" oneDAL skipped ({detail}); to add its column: {SETUP_HINT}."


def _onedal_agreement(timing, sklearn_model):
    """oneDAL's log-likelihood per point minus scikit-learn's lower bound after the
    same iterations, then oneDAL's ms/iteration in each repeat."""
    if not timing:
        return "n/a"
    gap = timing["log_likelihood"] - lower_bound("sklearn", sklearn_model)
    runs = ", ".join(_ms(run) for run in timing["runs"])
    return f"{gap:+.1e}; {runs}"


class Report:
    """Markdown written to stdout as it grows, and kept for ``--markdown``."""

    def __init__(self):
        self.parts = []

    def add(self, text):
        self.parts.append(text)
        print(text + "\n", flush=True)

    def text(self):
        return "\n\n".join(self.parts) + "\n"


# ---------------------------------------------------------------------- sections


def section_table(cases, args, report, log):
    fastgmm_label = "fastgmm (stand-in)" if standin() else "fastgmm"
    rows, details = [], []
    memory_rows = []
    onedal, onedal_detail = (None, "--no-onedal") if args.no_onedal else (
        onedal_python()
    )
    for case in cases:
        log(f"{case.label}: generating data")
        X, init = make_mixture(
            case.n_samples,
            case.n_features,
            case.n_components,
            case.covariance_type,
            seed=args.seed,
        )
        ct = case.covariance_type
        log(f"{case.label}: warming up (compilation, lazy imports)")
        for name in IMPLEMENTATIONS:
            warm_up(name, X, init, ct, args.threads)
        # A full-size fit too, in case fastgmm compiles a path that depends on N.
        fit_model("fastgmm", X, init, ct, 1, args.threads)

        def fitter(implementation, X=X, init=init, ct=ct):
            return lambda max_iter: fit_model(
                implementation, X, init, ct, max_iter, args.threads
            )

        timings = time_per_iteration(
            {name: fitter(name) for name in IMPLEMENTATIONS},
            args.iterations,
            args.repeat,
            log,
        )
        f, s, n = (timings[name]["per_iter"] for name in IMPLEMENTATIONS)
        agreement = lower_bound("fastgmm", timings["fastgmm"]["model"]) - lower_bound(
            "sklearn", timings["sklearn"]["model"]
        )
        onedal_timing = None
        if onedal:
            log(f"{case.label}: oneDAL em_gmm (subprocess)")
            onedal_timing = time_onedal(
                onedal, X, init, ct, args.iterations, args.repeat, args.threads, log
            )
        o = onedal_timing["per_iter"] if onedal_timing else None
        roofline = _roofline_cells(case, f, log)
        n_iter_ok = getattr(timings["fastgmm"]["model"], "n_iter_", None)
        memory = {}
        if not args.no_memory:
            for name in IMPLEMENTATIONS:
                log(f"{case.label}: memory of {name} (subprocess)")
                memory[name] = measure_memory(
                    case, name, args.seed, args.threads, log=log
                )
        rows.append(
            [
                case.label,
                _ms(f),
                _ms(s),
                _ms(n),
                f"**{_ratio(s, f)}**",
                _ratio(n, f),
                case.target,
                _ms(o),
                f"**{_ratio(o, f)}**" if o else "n/a",
                *roofline,
                *(
                    _mib(memory[name]["rss"]) if memory.get(name) else "n/a"
                    for name in IMPLEMENTATIONS
                ),
            ]
        )
        details.append(
            [
                case.label,
                *_whole_fit_cells(timings, IMPLEMENTATIONS),
                f"{agreement:+.1e}",
                str(n_iter_ok),
                _onedal_agreement(onedal_timing, timings["sklearn"]["model"]),
            ]
        )
        if memory:
            memory_rows.append(
                [
                    case.label,
                    _mib(X.nbytes),
                    *_memory_cells(memory, IMPLEMENTATIONS),
                ]
            )
        del X
    report.add(
        "## EM iteration: fastgmm, scikit-learn and NumPy\n\n"
        f"Milliseconds per EM iteration (median of {args.repeat}; difference of "
        f"`fit(max_iter=1)` and `fit(max_iter={1 + args.iterations})`, `tol=0`, same "
        "initial parameters). Ratios: the other's time / fastgmm's. oneDAL: "
        "daal4py's `em_gmm` from the same data and start, `accuracyThreshold=0`, "
        "timed the same way in a subprocess of its own environment after the "
        "others' repeats, not interleaved with them (target >= 3x; "
        "oneDAL has no tied or spherical storage). Roofline: the useful "
        "floating-point work of one iteration "
        "(`harness.roofline.flops_per_iteration`) over fastgmm's time per "
        "iteration, next to the rate of a square NumPy matrix product (dgemm) "
        "timed in this process on the same threads just before the case. Memory: "
        "peak resident set of one `fit(max_iter=1)` beyond X, MiB."
        + _onedal_note(onedal, onedal_detail)
        + "\n\n"
        + markdown_table(
            [
                "case",
                f"{fastgmm_label} ms/it",
                "scikit-learn ms/it",
                "NumPy ms/it",
                "sklearn / fastgmm",
                "NumPy / fastgmm",
                "target",
                "oneDAL ms/it",
                "oneDAL / fastgmm",
                "GFLOP/it",
                "fastgmm GFLOP/s",
                "dgemm GFLOP/s",
                "fastgmm / dgemm",
                "fastgmm MiB",
                "sklearn MiB",
                "NumPy MiB",
            ],
            rows,
        )
    )
    report.add(
        "<details><summary>Whole fits, agreement, memory as Python sees it"
        "</summary>\n\n"
        "Median seconds of the whole `fit` at `max_iter=1` and "
        f"`max_iter={1 + args.iterations}` (initialisation, validation and "
        "scikit-learn's final E-step included); the speed-up in each repeat (a wide "
        "spread means a busy machine); fastgmm's `lower_bound_` minus "
        "scikit-learn's after the same iterations; fastgmm's `n_iter_`; oneDAL's "
        "goal function per point minus scikit-learn's `lower_bound_` after the "
        "same iterations (oneDAL regularises only ill-conditioned covariances, "
        "scikit-learn adds `reg_covar` always), and oneDAL's ms/iteration in "
        "each repeat.\n\n"
        + markdown_table(
            [
                "case",
                "fastgmm fit(1) s",
                "sklearn fit(1) s",
                "NumPy fit(1) s",
                f"fastgmm fit({1 + args.iterations}) s",
                f"sklearn fit({1 + args.iterations}) s",
                f"NumPy fit({1 + args.iterations}) s",
                "sklearn / fastgmm in each repeat",
                "lower bound: fastgmm - sklearn",
                "fastgmm n_iter_",
                "oneDAL: log-likelihood - sklearn; ms/it in each repeat",
            ],
            details,
        )
        + (
            "\n\nPeak memory beyond X, MiB: resident set (everything the process "
            "touched) / tracemalloc (allocations Python sees: NumPy arrays, not "
            "Numba's runtime arrays or BLAS buffers).\n\n"
            + markdown_table(["case", "X MiB", *IMPLEMENTATIONS], memory_rows)
            if memory_rows
            else ""
        )
        + "\n\n</details>"
    )


def section_memory(args, report, log):
    base = Case(4_000_000, 16, 16, "full", "<= 10% of X")
    case = base.scaled(QUICK_DIVISOR) if args.quick else base
    rows = []
    x_bytes = case.n_samples * case.n_features * 8
    runs = [(name, None) for name in IMPLEMENTATIONS]
    runs += [(name, init) for init in ("kmeans", "k-means++")
             for name in ("fastgmm", "sklearn")]
    for name, init_params in runs:
        label = name
        if init_params is not None:
            label = f"{name}, `init_params='{init_params}'`"
        log(f"memory {case.label}: {label} (subprocess)")
        result = measure_memory(case, name, args.seed, args.threads, log=log,
                                init_params=init_params)
        if result is None:
            rows.append([label, "n/a", "n/a", "n/a"])
            continue
        rows.append(
            [
                label,
                _mib(result["rss"]),
                f"{100 * result['rss'] / result['x_bytes']:.1f}%",
                _mib(result["traced"]),
            ]
        )
    report.add(
        f"## Memory: {case.label}, X = {_mib(x_bytes)} MiB float64 "
        "(target for fastgmm: peak beyond X <= 10% of X)\n\n"
        "One `fit(max_iter=1)` in a fresh subprocess after a warm-up fit: from the "
        "same initial parameters (first three rows), or initialised by `init_params` "
        "(the initialisation's own memory included).\n\n"
        + markdown_table(
            [
                "implementation",
                "peak RSS beyond X, MiB",
                "% of X",
                "tracemalloc peak, MiB",
            ],
            rows,
        )
    )


def section_threads(args, report, log):
    base = Case(1_000_000, 16, 16, "full")
    case = base.scaled(QUICK_DIVISOR) if args.quick else base
    X, init = make_mixture(
        case.n_samples, case.n_features, case.n_components, "full", seed=args.seed
    )
    counts = sorted({1, 2, os.cpu_count() or 1})
    fitters = {}
    for count in counts:
        with thread_limits(count):
            warm_up("fastgmm", X, init, "full", count)

        def fit(max_iter, count=count):
            with thread_limits(count):
                return fit_model("fastgmm", X, init, "full", max_iter, count)

        fitters[f"{count} thread{'s' if count > 1 else ''}"] = fit
    log(f"threads {case.label}: {counts}")
    timings = time_per_iteration(fitters, args.iterations, args.repeat, log)
    one = timings[next(iter(fitters))]["per_iter"]
    rows = [
        [label, _ms(entry["per_iter"]), _ratio(one, entry["per_iter"])]
        for label, entry in timings.items()
    ]
    report.add(
        f"## Threads: fastgmm on {case.label} (target: 2 threads >= 1.8x 1 thread)\n\n"
        "`n_jobs` = threads, BLAS/OpenMP pools limited to the same number.\n\n"
        + markdown_table(["threads", "ms/iteration", "speed-up over 1 thread"], rows)
    )


def section_small(args, report, log):
    X, init = make_mixture(1_000, 2, 3, "full", seed=args.seed)
    repeat = max(args.repeat, 25)
    rows = []
    for name in IMPLEMENTATIONS:
        warm_up(name, X, init, "full", args.threads)
    fixed = {}
    for name in IMPLEMENTATIONS:
        fixed[name], _ = median_seconds(
            lambda name=name: fit_model(name, X, init, "full", 100, args.threads),
            repeat,
        )
    default = {}
    for name in ("fastgmm", "sklearn"):

        def fit(name=name):
            estimator = make_estimator(
                name, n_components=3, random_state=0, n_jobs=args.threads
            )
            with quiet():
                return estimator.fit(X)

        fit()
        default[name], model = median_seconds(fit, repeat)
        default[name + " n_iter_"] = model.n_iter_
    rows.append(
        [
            "fixed init, `tol=0`, `max_iter=100`",
            _ms(fixed["fastgmm"]),
            _ms(fixed["sklearn"]),
            _ms(fixed["numpy"]),
            _ratio(fixed["sklearn"], fixed["fastgmm"]),
        ]
    )
    rows.append(
        [
            "defaults (`init_params='kmeans'`, `tol=1e-3`), `random_state=0`; "
            f"n_iter_ {default['fastgmm n_iter_']} / {default['sklearn n_iter_']}",
            _ms(default["fastgmm"]),
            _ms(default["sklearn"]),
            "",
            _ratio(default["sklearn"], default["fastgmm"]),
        ]
    )
    log("small fits done")
    report.add(
        "## Small problem: 1,000 x 2, K = 3, whole `fit` "
        "(target: fastgmm no slower)\n\n"
        f"Milliseconds per `fit`, median of {repeat}, after compilation.\n\n"
        + markdown_table(
            ["fit", "fastgmm ms", "scikit-learn ms", "NumPy ms", "sklearn / fastgmm"],
            rows,
        )
    )


def section_predict(args, report, log):
    base = Case(1_000_000, 16, 16, "full")
    case = base.scaled(QUICK_DIVISOR) if args.quick else base
    X, init = make_mixture(
        case.n_samples, case.n_features, case.n_components, "full", seed=args.seed
    )
    models = {}
    for name in IMPLEMENTATIONS:
        warm_up(name, X, init, "full", args.threads)
        log(f"predict {case.label}: fitting {name}")
        models[name] = fit_model(name, X, init, "full", 2, args.threads)
    results = {}
    for method, call in (("predict", predict), ("score_samples", score_samples)):
        for name in IMPLEMENTATIONS:
            results[method, name] = median_seconds(
                lambda name=name, call=call: call(name, models[name], X), args.repeat
            )
            log(f"  {method} {name}: {results[method, name][0]:.3f} s")
    rows = []
    for method in ("predict", "score_samples"):
        f, s, n = (results[method, name][0] for name in IMPLEMENTATIONS)
        if method == "predict":
            check = np.mean(
                results[method, "fastgmm"][1] == results[method, "sklearn"][1]
            )
            check = f"labels equal: {100 * check:.3f}%"
        else:
            diff = results[method, "fastgmm"][1] - results[method, "sklearn"][1]
            check = f"max abs diff {np.max(np.abs(diff)):.1e}"
        rows.append(
            [f"`{method}`", _ms(f), _ms(s), _ms(n), _ratio(s, f), _ratio(n, f), check]
        )
    report.add(
        f"## Prediction on {case.label} (target: >= 20x scikit-learn)\n\n"
        f"Milliseconds per call on all {case.n_samples:,} points, median of "
        f"{args.repeat}; models fitted with 2 iterations from the same start.\n\n"
        + markdown_table(
            [
                "method",
                "fastgmm ms",
                "scikit-learn ms",
                "NumPy ms",
                "sklearn / fastgmm",
                "NumPy / fastgmm",
                "fastgmm vs sklearn",
            ],
            rows,
        )
    )


def section_float32(args, report, log):
    bases = (Case(1_000_000, 16, 16, "full"), Case(1_000_000, 2, 3, "full"))
    rows = []
    for base in bases:
        case = base.scaled(QUICK_DIVISOR) if args.quick else base
        X64, init = make_mixture(
            case.n_samples, case.n_features, case.n_components, "full", seed=args.seed
        )
        X32 = X64.astype(np.float32)
        for X in (X64, X32):
            warm_up("fastgmm", X, init, "full", args.threads)
        fitters = {
            dtype: (
                lambda max_iter, X=X, init=init: fit_model(
                    "fastgmm", X, init, "full", max_iter, args.threads
                )
            )
            for dtype, X in (("float64", X64), ("float32", X32))
        }
        log(f"float32 {case.label}")
        timings = time_per_iteration(fitters, args.iterations, args.repeat, log)
        t64, t32 = timings["float64"]["per_iter"], timings["float32"]["per_iter"]
        m64, m32 = timings["float64"]["model"], timings["float32"]["model"]
        rows.append(
            [
                case.label,
                _ms(t64),
                _ms(t32),
                _ratio(t64, t32),
                str(m32.means_.dtype),
                # in float64: float32 - float64 scalars give a float32 (NEP 50)
                f"{_relative(float(m32.lower_bound_), float(m64.lower_bound_)):+.1e}",
            ]
        )
    report.add(
        "## float32 input: fastgmm (targets, 1M x 16 x 16 full: float32 at least 1.6x"
        " as fast as float64, lower bound within 1e-6 relative)\n\n"
        + markdown_table(
            [
                "case",
                "float64 ms/it",
                "float32 ms/it",
                "float64 / float32",
                "float32 fit: means_ dtype",
                "lower bound, float32 vs float64 (relative)",
            ],
            rows,
        )
    )


def section_init(args, report, log):
    base = Case(1_000_000, 16, 16, "full")
    case = base.scaled(QUICK_DIVISOR) if args.quick else base
    X, init = make_mixture(
        case.n_samples, case.n_features, case.n_components, "full", seed=args.seed
    )
    rows = []
    for init_params in ("kmeans", "k-means++"):
        result = {}
        for name in ("fastgmm", "sklearn"):

            def fit(name=name, data=X, init_params=init_params):
                estimator = make_estimator(
                    name,
                    n_components=case.n_components,
                    init_params=init_params,
                    max_iter=0,
                    random_state=0,
                    n_jobs=args.threads,
                )
                with quiet():
                    return estimator.fit(data)

            fit(data=X[:2_000])  # compilation
            total, model = median_seconds(fit, args.repeat)
            e_step, scores = median_seconds(
                lambda model=model: model.score_samples(X), 3
            )
            result[name] = (total, e_step, float(np.mean(scores)))
            log(f"init {init_params} {name}: fit {total:.3f} s, E-step {e_step:.3f} s")
        (f_total, _, f_score), (s_total, s_e, s_score) = (
            result["fastgmm"],
            result["sklearn"],
        )
        rows.append(
            [
                f"`{init_params}`",
                f"{f_total:.3f}",
                f"{s_total:.3f}",
                _ratio(s_total, f_total),
                f"{s_e:.3f}",
                f"{s_total - s_e:.3f}",
                f"**{_ratio(s_total - s_e, f_total)}**",
                f"{f_score:.4f} / {s_score:.4f}",
            ]
        )
    report.add(
        f"## Initialisation on {case.label} (target: >= 10x scikit-learn)\n\n"
        f"Seconds of `fit(max_iter=0)`, median of {args.repeat}: validation and "
        "initialisation, and in scikit-learn one more E-step (so that `fit_predict` "
        "agrees with `predict`). That E-step, estimated by a `score_samples` on the "
        "same data, is taken off scikit-learn's time for the init-alone ratio; "
        "fastgmm's whole `fit(max_iter=0)` stays in, so that ratio errs in "
        "scikit-learn's favour if fastgmm's fit does more than initialise. Last "
        "column: mean log-likelihood per point of the initialised models, so that "
        "speed is not bought with a worse start.\n\n"
        + markdown_table(
            [
                "init_params",
                "fastgmm fit s",
                "scikit-learn fit s",
                "ratio (whole fit)",
                "sklearn E-step s",
                "sklearn init alone s",
                "ratio (init alone)",
                "mean log-lik.: fastgmm / sklearn",
            ],
            rows,
        )
    )


#: The whole default fit's cases (issue 13: >= 20x scikit-learn's whole fit).
DEFAULT_FIT_CASES = (
    Case(1_000_000, 16, 16, "full", ">= 20x"),
    Case(1_000_000, 16, 16, "diag", ">= 20x"),
)
#: fastgmm's final mean log-likelihood per point may be below scikit-learn's by
#: this much in the whole default fit.
DEFAULT_FIT_SCORE_TOLERANCE = 1e-3


def section_default_fit(args, report, log):
    """``fit`` with scikit-learn's defaults, each library with its own
    initialisation, from k-means to convergence."""
    rows = []
    for base in DEFAULT_FIT_CASES:
        case, X, _ = case_data(base, args)
        result = {}
        for name in ("fastgmm", "sklearn"):

            def fit(name=name, data=X, case=case):
                return quiet_fit(
                    make_estimator(
                        name,
                        n_components=case.n_components,
                        covariance_type=case.covariance_type,
                        random_state=0,
                        n_jobs=args.threads,
                    ),
                    data,
                )

            fit(data=X[:2_000])  # compilation, lazy imports
            # fastgmm's fit is short, so a pause of the machine weighs more on it:
            # the median of --repeat fits; scikit-learn's is long: one fit.
            repeat = args.repeat if name == "fastgmm" else 1
            elapsed, model = median_seconds(fit, repeat)
            result[name] = {
                "seconds": elapsed,
                "score": float(model.score(X)),
                "n_iter": model.n_iter_,
                "converged": model.converged_,
            }
            log(
                f"default fit {case.label} {name}: {elapsed:.3f} s, n_iter_ "
                f"{model.n_iter_}, score {result[name]['score']:.6f}"
            )
        f, s = result["fastgmm"], result["sklearn"]
        gap = f["score"] - s["score"]
        within = gap >= -DEFAULT_FIT_SCORE_TOLERANCE
        rows.append(
            [
                case.label,
                f"{f['seconds']:.3f}",
                f"{s['seconds']:.2f}",
                f"**{_ratio(s['seconds'], f['seconds'])}**",
                case.target,
                f"{f['score']:.6f}",
                f"{s['score']:.6f}",
                f"{gap:+.1e}" if within else f"**{gap:+.1e}**",
                f"{f['n_iter']} / {s['n_iter']}",
                f"{f['converged']} / {s['converged']}",
            ]
        )
        del X
    report.add(
        "## Whole default fit: fastgmm and scikit-learn (targets: >= 20x; "
        "fastgmm's mean log-likelihood no worse than scikit-learn's by more than "
        f"{DEFAULT_FIT_SCORE_TOLERANCE:g} per point)\n\n"
        "`GaussianMixture(n_components=K, covariance_type=..., random_state=0)` "
        "with every other parameter at scikit-learn's default "
        "(`init_params='kmeans'`, `tol=1e-3`, `n_init=1`, `max_iter=100`), each "
        "library with its own k-means initialisation, on the same data; seconds "
        f"of the whole `fit` (fastgmm: median of {args.repeat}; scikit-learn: one "
        "fit), after a small fit that pays compilation. Score: `score(X)`, the "
        "final model's mean log-likelihood per point.\n\n"
        + markdown_table(
            [
                "case",
                "fastgmm s",
                "scikit-learn s",
                "sklearn / fastgmm",
                "target",
                "fastgmm score",
                "sklearn score",
                "score: fastgmm - sklearn",
                "n_iter_ fastgmm / sklearn",
                "converged_ fastgmm / sklearn",
            ],
            rows,
        )
    )


# ------------------------------------------------------ BayesianGaussianMixture


def section_bayesian(cases, args, report, log):
    """Variational iterations of fastgmm and scikit-learn from the same start."""
    bayes = "BayesianGaussianMixture"
    rows, details, memory_rows = [], [], []
    for case in cases:
        log(f"bayesian {case.label}: generating data")
        X, _ = make_mixture(
            case.n_samples,
            case.n_features,
            case.n_components,
            case.covariance_type,
            seed=args.seed,
        )
        k, ct = case.n_components, case.covariance_type
        log(f"bayesian {case.label}: warming up (compilation, lazy imports)")
        for name in BAYESIAN_IMPLEMENTATIONS:
            warm_up_bayesian(name, X, k, ct, args.threads)
        fit_bayesian("fastgmm", X, k, ct, 1, args.threads)

        def fitter(implementation, estimator=bayes, X=X, k=k, ct=ct):
            return lambda max_iter: fit_bayesian(
                implementation, X, k, ct, max_iter, args.threads, random_state=0,
                estimator=estimator,
            )

        # fastgmm's EM from the same responsibilities, the same passes without
        # the variational terms: a reference that a busy machine slows alike
        warm_up_bayesian("fastgmm", X, k, ct, args.threads, "GaussianMixture")
        fitters = {name: fitter(name) for name in BAYESIAN_IMPLEMENTATIONS}
        fitters["GaussianMixture"] = fitter("fastgmm", "GaussianMixture")
        timings = time_per_iteration(fitters, args.iterations, args.repeat, log)
        f, s, em = (
            timings[name]["per_iter"]
            for name in (*BAYESIAN_IMPLEMENTATIONS, "GaussianMixture")
        )
        bounds = {
            name: lower_bound(name, timings[name]["model"])
            for name in BAYESIAN_IMPLEMENTATIONS
        }
        difference = bounds["fastgmm"] - bounds["sklearn"]
        memory = {}
        if not args.no_memory:
            # fastgmm's GaussianMixture from the same kind of start: the target
            for label, name, estimator, init_params in (
                ("fastgmm", "fastgmm", bayes, None),
                ("GaussianMixture", "fastgmm", "GaussianMixture", "random"),
                ("sklearn", "sklearn", bayes, None),
            ):
                log(f"bayesian {case.label}: memory of {label} (subprocess)")
                memory[label] = measure_memory(
                    case, name, args.seed, args.threads, log=log,
                    init_params=init_params, estimator=estimator,
                )
        measured = all(memory.get(label) for label in ("fastgmm", "GaussianMixture"))
        within = (
            "yes" if memory["fastgmm"]["rss"] <= memory["GaussianMixture"]["rss"]
            else "**no**"
        ) if measured else "n/a"
        rows.append(
            [
                case.label,
                _ms(f),
                _ms(s),
                f"**{_ratio(s, f)}**",
                case.target,
                f"{_ms(em)} ({_ratio(f, em)})",
                f"{difference:+.1e} ({difference / abs(bounds['sklearn']):+.0e})",
                *(
                    _mib(memory[label]["rss"]) if memory.get(label) else "n/a"
                    for label in ("fastgmm", "GaussianMixture", "sklearn")
                ),
                within,
            ]
        )
        details.append(
            [
                case.label,
                *_whole_fit_cells(timings, BAYESIAN_IMPLEMENTATIONS),
                f"{bounds['fastgmm']:.6f}",
                str(timings["fastgmm"]["model"].n_iter_),
            ]
        )
        if memory:
            memory_rows.append(
                [
                    case.label,
                    _mib(X.nbytes),
                    *_memory_cells(memory, ("fastgmm", "GaussianMixture", "sklearn")),
                ]
            )
        del X
    report.add(
        "## Variational iteration: fastgmm and scikit-learn's "
        "BayesianGaussianMixture\n\n"
        f"Milliseconds per iteration (median of {args.repeat}; difference of "
        f"`fit(max_iter=1)` and `fit(max_iter={1 + args.iterations})`, `tol=0`), "
        "both from the random responsibilities of `init_params='random'`, "
        "`random_state=0` (the same numbers in both libraries), "
        "`weight_concentration_prior_type='dirichlet_process'` and the other "
        "priors at their defaults. Lower bound: fastgmm's `lower_bound_` minus "
        "scikit-learn's after the same iterations (relative to scikit-learn's in "
        "brackets; the bound is a sum over the points). fastgmm's "
        "`GaussianMixture` from the same responsibilities is timed alongside: the "
        "same passes without the variational terms, a reference that a busy "
        "machine slows alike. Memory: peak resident set "
        "of one `fit(max_iter=1)` beyond X, MiB, from the random start; "
        "the target is fastgmm's `GaussianMixture` from the same kind of start "
        "(`init_params='random'`).\n\n"
        + markdown_table(
            [
                "case",
                "fastgmm ms/it",
                "scikit-learn ms/it",
                "sklearn / fastgmm",
                "target",
                "fastgmm GaussianMixture ms/it (fastgmm / it)",
                "lower bound: fastgmm - sklearn",
                "fastgmm MiB",
                "fastgmm GaussianMixture MiB",
                "sklearn MiB",
                "memory <= GaussianMixture's",
            ],
            rows,
        )
    )
    report.add(
        "<details><summary>Whole variational fits, memory as Python sees it"
        "</summary>\n\n"
        "Median seconds of the whole `fit` at `max_iter=1` and "
        f"`max_iter={1 + args.iterations}` (validation, the priors' pass over the "
        "data, the random initialisation and scikit-learn's final E-step "
        "included); the speed-up in each repeat; fastgmm's `lower_bound_` and "
        "`n_iter_`.\n\n"
        + markdown_table(
            [
                "case",
                "fastgmm fit(1) s",
                "sklearn fit(1) s",
                f"fastgmm fit({1 + args.iterations}) s",
                f"sklearn fit({1 + args.iterations}) s",
                "sklearn / fastgmm in each repeat",
                "fastgmm lower_bound_",
                "fastgmm n_iter_",
            ],
            details,
        )
        + (
            "\n\nPeak memory beyond X, MiB: resident set / tracemalloc.\n\n"
            + markdown_table(
                [
                    "case",
                    "X MiB",
                    "fastgmm",
                    "fastgmm GaussianMixture",
                    "sklearn",
                ],
                memory_rows,
            )
            if memory_rows
            else ""
        )
        + "\n\n</details>"
    )


#: Rows of the per-column table (the issue's 200,000), divided by QUICK_DIVISOR
#: under ``--quick``.
COLUMN_ROWS = 200_000
#: fastgmm's mean log-likelihood per point may be below scikit-learn's by this much.
SCORE_TOLERANCE = 0.01
#: Components whose weight exceeds this count as used by a fitted model.
USED_WEIGHT = 0.01


def section_bayesian_columns(args, report, log):
    """Whole Dirichlet-process fits of each column of a table, as data-synthesis
    libraries run them."""
    n_rows = args.column_rows or (
        COLUMN_ROWS // QUICK_DIVISOR if args.quick else COLUMN_ROWS
    )
    table = make_table(n_rows, seed=args.seed)
    log(f"bayesian-columns: {len(table)} columns x {n_rows:,} rows; warming up")
    for name in BAYESIAN_IMPLEMENTATIONS:
        for max_iter in (0, 5):
            fit_dp_column(name, table["age"][:2_000], args.threads, max_iter=max_iter)
    rows = []
    totals = dict.fromkeys(BAYESIAN_IMPLEMENTATIONS, 0.0)
    n_within = 0
    for column_name, column in table.items():
        result = {}
        for name in BAYESIAN_IMPLEMENTATIONS:
            # fastgmm's fit is short, so a pause of the machine weighs more on it:
            # the median of --repeat fits; scikit-learn's is long: one fit.
            repeat = args.repeat if name == "fastgmm" else 1
            times = []
            for _ in range(repeat):
                elapsed, model = seconds(fit_dp_column, name, column, args.threads)
                times.append(elapsed)
            init_seconds, _ = seconds(
                fit_dp_column, name, column, args.threads, max_iter=0
            )
            whole = float(np.median(times))
            result[name] = {
                "whole": whole,
                "init": init_seconds,
                "n_iter": model.n_iter_,
                "per_iter": (whole - init_seconds) / max(model.n_iter_, 1),
                "score": float(model.score(column.reshape(-1, 1))),
                "used": int(np.sum(model.weights_ > USED_WEIGHT)),
            }
            totals[name] += whole
            log(
                f"  {column_name} {name}: {whole:.3f} s, n_iter_ {model.n_iter_}, "
                f"init {init_seconds:.3f} s, score {result[name]['score']:.4f}"
            )
        f, s = result["fastgmm"], result["sklearn"]
        gap = f["score"] - s["score"]
        n_within += gap >= -SCORE_TOLERANCE
        rows.append(
            [
                f"`{column_name}`",
                f"{f['whole']:.3f}",
                f"{s['whole']:.2f}",
                f"**{_ratio(s['whole'], f['whole'])}**",
                f"{f['n_iter']} / {s['n_iter']}",
                f"{f['init']:.3f} / {s['init']:.3f}",
                f"{_ms(f['per_iter'])} / {_ms(s['per_iter'])}",
                _ratio(s["per_iter"], f["per_iter"]),
                f"{f['score']:.4f}",
                f"{s['score']:.4f}",
                f"{gap:+.4f}" if gap >= -SCORE_TOLERANCE else f"**{gap:+.4f}**",
                f"{f['used']} / {s['used']}",
            ]
        )
    rows.append(
        [
            "**all columns**",
            f"{totals['fastgmm']:.3f}",
            f"{totals['sklearn']:.2f}",
            f"**{_ratio(totals['sklearn'], totals['fastgmm'])}**",
            "",
            "",
            "",
            "",
            "",
            "",
            f"{n_within} of {len(table)} within {SCORE_TOLERANCE}",
            "",
        ]
    )
    legend = "\n".join(
        f"- `{name}`: {description}" for name, description in TABLE_COLUMNS.items()
    )
    report.add(
        f"## Dirichlet-process mixture per column: {len(table)} columns x "
        f"{n_rows:,} rows (targets: >= 20x overall; fastgmm's score no worse than "
        f"scikit-learn's by more than {SCORE_TOLERANCE} in at least 9 of 10 "
        "columns)\n\n"
        "One 1-D `BayesianGaussianMixture(n_components=10, "
        "weight_concentration_prior=0.001, random_state=0)` per column, every "
        "other parameter at scikit-learn's default (`init_params='kmeans'`, "
        "`tol=1e-3`, `max_iter=100`), each library with its own initialisation; "
        "whole fits, seconds (fastgmm: median of "
        f"{args.repeat}; scikit-learn: one fit). Init: the same fit with "
        "`max_iter=0` (validation, priors, k-means; scikit-learn's final E-step "
        "too); per iteration: (whole - init) / `n_iter_`. Score: `score(column)`, "
        "the mean log-likelihood per point. Used components: weight > "
        f"{USED_WEIGHT}.\n\n"
        + markdown_table(
            [
                "column",
                "fastgmm s",
                "scikit-learn s",
                "sklearn / fastgmm",
                "n_iter_ fastgmm / sklearn",
                "init s fastgmm / sklearn",
                "ms/iteration fastgmm / sklearn",
                "per-iteration ratio",
                "fastgmm score",
                "sklearn score",
                "score: fastgmm - sklearn",
                "used components fastgmm / sklearn",
            ],
            rows,
        )
        + "\n\nThe columns:\n\n"
        + legend
    )


# ------------------------------------------------------------------------- main


#: Issue 14's targets: an iteration with 10% of values missing at random against
#: the complete-data iteration.
MISSING_CASES = (
    Case(1_000_000, 16, 16, "full", "<= 2.5x"),
    Case(1_000_000, 16, 16, "diag", "<= 1.5x"),
)
MISSING_FRACTION = 0.1


def with_holes(X, seed):
    """A copy of X with ``MISSING_FRACTION`` of its values NaN at random (a row
    left with none keeps its first)."""
    holes = X.copy()
    rng = np.random.default_rng(seed)
    holes[rng.random(X.shape) < MISSING_FRACTION] = np.nan
    empty = np.isnan(holes).all(axis=1)
    holes[empty, 0] = X[empty, 0]
    return holes


def section_missing(args, report, log):
    """fastgmm's EM with 10% of the values missing (``missing_values="nan"``)
    against the complete-data fit of the same array, from the same start."""
    rows = []
    for base in MISSING_CASES:
        case, X, init = case_data(base, args)
        holes = with_holes(X, args.seed)

        def fit(max_iter, data, case=case, init=init):
            if standin():  # scikit-learn has no missing values: fill with zeros
                data = np.nan_to_num(data)
                params = {}
            else:
                params = {"missing_values": "nan", "n_jobs": args.threads}
            estimator = make_estimator(
                "fastgmm", n_components=case.n_components,
                covariance_type=case.covariance_type, tol=0.0, max_iter=max_iter,
                init_params="random_from_data", random_state=0, **params, **init,
            )
            with quiet():
                return estimator.fit(data)

        fitters = {
            "complete": lambda max_iter, X=X: fit(max_iter, X),
            "10% missing": lambda max_iter, holes=holes: fit(max_iter, holes),
        }
        for fitter in fitters.values():
            fitter(1)  # compilation
        log(f"missing {case.label}")
        timings = time_per_iteration(fitters, args.iterations, args.repeat, log)
        complete = timings["complete"]["per_iter"]
        missing = timings["10% missing"]["per_iter"]
        rows.append([
            case.label, f"{np.isnan(holes).any(axis=1).mean():.0%}", _ms(complete),
            _ms(missing), _ratio(missing, complete), case.target,
        ])
    report.add(
        "## Missing values: fastgmm with 10% of the values missing at random "
        "against the complete data\n\n"
        + markdown_table(
            [
                "case",
                "rows with a missing value",
                "complete ms/it",
                "10% missing ms/it",
                "missing / complete",
                "target",
            ],
            rows,
        )
    )


GIBBS_SWEEP_CASE = Case(1_000_000, 16, 16, "full", "<= 1.5")
GIBBS_LONG_CASE = Case(1_000_000, 2, 3, "full", "< 30 s")
GIBBS_LONG_SWEEPS = 1_000
TUTORIAL_TARGET = ">= 16,000"


def _gibbs(case, n_draws, threads, missing_values=None):
    """A one-chain GibbsGaussianMixture of ``n_draws`` sweeps without burn-in,
    started like the EM fits (the same ``random_from_data`` draw)."""
    from fastgmm import GibbsGaussianMixture

    return GibbsGaussianMixture(
        n_components=case.n_components, covariance_type=case.covariance_type,
        n_chains=1, n_burn=0, n_draws=n_draws, init_params="random_from_data",
        random_state=0, n_jobs=threads, missing_values=missing_values,
    )


def section_gibbs(args, report, log):
    """GibbsGaussianMixture: a sweep against an EM iteration, 1,000 sweeps at
    1M x 2 x 3, and the tutorial model's draws and effective samples per second."""
    if standin():
        report.add("## Gibbs sampling\n\nscikit-learn has no Gibbs sampler: "
                   "skipped while it stands in for fastgmm.")
        return
    case, X, init = case_data(GIBBS_SWEEP_CASE, args)

    def em(max_iter):
        estimator = make_estimator(
            "fastgmm", n_components=case.n_components,
            covariance_type=case.covariance_type, tol=0.0, max_iter=max_iter,
            init_params="random_from_data", random_state=0, n_jobs=args.threads,
            **init)
        with quiet():
            return estimator.fit(X)

    def gibbs(n_draws, data=X, missing_values=None):
        with quiet():
            return _gibbs(case, n_draws, args.threads, missing_values).fit(data)

    holes = with_holes(X, args.seed)
    fitters = {
        "EM iteration": em, "Gibbs sweep": gibbs,
        "Gibbs sweep, 10% missing": lambda n_draws: gibbs(n_draws, holes, "nan"),
    }
    for fitter in fitters.values():
        fitter(1)  # compilation
    log(f"gibbs {case.label}")
    timings = time_per_iteration(fitters, args.iterations, args.repeat, log)
    em_time = timings["EM iteration"]["per_iter"]
    sweep = timings["Gibbs sweep"]["per_iter"]
    missing = timings["Gibbs sweep, 10% missing"]["per_iter"]
    rows = [[case.label, _ms(em_time), _ms(sweep), f"{sweep / em_time:.2f}",
             case.target, _ms(missing), f"{missing / sweep:.2f}"]]

    long_case, X_long, _ = case_data(GIBBS_LONG_CASE, args)
    gibbs_long = _gibbs(long_case, GIBBS_LONG_SWEEPS, args.threads)
    with quiet():
        _gibbs(long_case, 2, args.threads).fit(X_long)  # compilation
    log(f"gibbs {long_case.label}: {GIBBS_LONG_SWEEPS} sweeps")
    long_seconds, _ = seconds(quiet_fit, gibbs_long, X_long)

    tutorial = _tutorial_figures(log)
    report.add(
        "## Gibbs sampling: GibbsGaussianMixture\n\n"
        "A sweep (sampled pass + conjugate draws) against an EM iteration on the "
        "same data, start and threads (median of the repeats):\n\n"
        + markdown_table(["case", "EM ms/it", "Gibbs ms/sweep", "sweep / iteration",
                          "target", "ms/sweep, 10% missing",
                          "missing / complete sweep"], rows)
        + f"\n\n{GIBBS_LONG_SWEEPS:,} sweeps of one chain on {long_case.label} "
        f"(initialisation and the final log-likelihood pass included): "
        f"{long_seconds:.1f} s (target at 1M x 2 x 3: {long_case.target}).\n\n"
        "The Pyro tutorial's model (`examples/gibbs_tutorial.py`: 3 x 100 points, "
        "K = 3, known unit covariances, 4 chains of 200 + 2,000 sweeps), best of "
        "3 fits:\n\n"
        + markdown_table(
            ["fit s", "draws per second", "ESS of the slowest mean coordinate",
             "ESS per second", "target"],
            [[f"{tutorial['seconds']:.4g}", f"{tutorial['draws_per_second']:,.0f}",
              f"{tutorial['ess']:,.0f}", f"{tutorial['ess_per_second']:,.0f}",
              TUTORIAL_TARGET]])
    )


def _tutorial_figures(log):
    """Best-of-3 fit time of the tutorial example's model, its draws per second
    and ArviZ's effective samples per second of the slowest mean coordinate."""
    import arviz

    examples = os.path.join(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))), "examples")
    sys.path.insert(0, examples)
    try:
        from gibbs_tutorial import make_data, model
    finally:
        sys.path.remove(examples)
    X = make_data()
    n_draws, n_burn = 2_000, 200
    model(5, 5).fit(X)  # compilation
    log("gibbs: the tutorial model")
    best, fitted = min(
        (seconds(model(n_draws, n_burn).fit, X) for _ in range(3)),
        key=lambda run: run[0])
    ess = float(arviz.ess(fitted.to_arviz(), var_names=["means"])["means"].min())
    sweeps = fitted.n_chains * (n_draws + n_burn)
    return {"seconds": best, "draws_per_second": sweeps / best, "ess": ess,
            "ess_per_second": ess / best}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python asv_bench/compare.py",
        description="Compare fastgmm with scikit-learn and a plain NumPy EM.",
    )
    keys = [case.key for case in TABLE_CASES]
    keys += [BAYESIAN_PREFIX + case.key for case in BAYESIAN_CASES]
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"N divided by {QUICK_DIVISOR}: a smoke run for CI (a minute or two)",
    )
    parser.add_argument(
        "--cases",
        nargs="+",
        default=["all"],
        metavar="NAME",
        help="what to run: 'all', sections "
        f"({', '.join(SECTIONS)}) and/or rows of the EM and variational tables "
        f"({', '.join(keys)})",
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="timed repeats; the median is reported"
    )
    parser.add_argument(
        "--iterations",
        type=int,
        default=4,
        help="EM iterations between the two timed fits of a repeat (default 4); "
        "raise it for rows whose iterations take a few ms (20 for 1M x 2 x 3: "
        "at 4, a variational fit's 20 ms of iterations sit on 55 ms of "
        "initialisation, and one run's repeats gave 22x, 22x and 45x; at 20, "
        "GaussianMixture diag's gave 49.9x, 50.3x and 49.9x)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="fastgmm n_jobs and the limit on BLAS/OpenMP threads (default: all)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the data")
    parser.add_argument(
        "--column-rows",
        type=int,
        default=None,
        help=f"rows of the bayesian-columns table (default {COLUMN_ROWS:,}, "
        f"{COLUMN_ROWS // QUICK_DIVISOR:,} with --quick)",
    )
    parser.add_argument("--no-memory", action="store_true", help="skip memory")
    parser.add_argument(
        "--no-onedal",
        action="store_true",
        help="skip oneDAL's column even when its environment is there "
        "(see harness/onedal_em.py)",
    )
    parser.add_argument("--markdown", metavar="PATH", help="also write the report here")
    parser.add_argument(
        "--fastgmm-standin",
        action="store_true",
        help="let scikit-learn stand in for fastgmm, to test the benchmark itself "
        f"(same as {STANDIN_ENV}=sklearn)",
    )
    parser.add_argument("--memory-child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    unknown = set(args.cases) - {"all", *SECTIONS, *keys}
    if unknown:
        parser.error(
            f"unknown --cases {sorted(unknown)}; choose from all, "
            f"{', '.join(SECTIONS)}, {', '.join(keys)}"
        )
    if args.repeat < 1 or args.iterations < 1:
        parser.error("--repeat and --iterations must be at least 1")
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.fastgmm_standin:
        os.environ[STANDIN_ENV] = "sklearn"  # the memory subprocesses inherit it
    if args.memory_child:
        _memory_child(json.loads(args.memory_child))
        return 0

    def log(message):
        stamp = time.strftime("%H:%M:%S")
        print(f"[bench {stamp}] {message}", file=sys.stderr, flush=True)

    wanted = set(args.cases)
    everything = "all" in wanted
    cases = [
        case.scaled(QUICK_DIVISOR) if args.quick else case
        for case in TABLE_CASES
        if everything or "table" in wanted or case.key in wanted
    ]
    bayesian_cases = [
        case.scaled(QUICK_DIVISOR) if args.quick else case
        for case in BAYESIAN_CASES
        if everything or "bayesian" in wanted or BAYESIAN_PREFIX + case.key in wanted
    ]
    report = Report()
    title = "# fastgmm benchmark"
    if args.quick:
        title += f" (quick: N / {QUICK_DIVISOR})"
    header = [title, "", describe_machine(args.threads)]
    if standin():
        header += [
            "",
            "**scikit-learn is standing in for fastgmm in this run: the fastgmm "
            "column measures scikit-learn.**",
        ]
    header += [
        "",
        "Timings on a shared or small machine are provisional; the ratios, measured "
        "side by side in one process, are the point.",
    ]
    report.add("\n".join(header))
    started = time.perf_counter()
    with thread_limits(args.threads):
        if cases:
            section_table(cases, args, report, log)
        if bayesian_cases:
            section_bayesian(bayesian_cases, args, report, log)
        sections = {
            "memory": section_memory,
            "threads": section_threads,
            "small": section_small,
            "predict": section_predict,
            "float32": section_float32,
            "init": section_init,
            "default-fit": section_default_fit,
            "bayesian-columns": section_bayesian_columns,
            "missing": section_missing,
            "gibbs": section_gibbs,
        }
        for name, section in sections.items():
            if everything or name in wanted:
                if name == "memory" and args.no_memory:
                    continue
                log(f"section {name}")
                section(args, report, log)
    log(f"done in {time.perf_counter() - started:.0f} s")
    if args.markdown:
        with open(args.markdown, "w") as out:
            out.write(report.text())
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Intel oneDAL's ``em_gmm`` (package daal4py), timed in an environment of its own.

daal4py needs scikit-learn < 1.6 and fastgmm needs >= 1.6, so oneDAL runs in a
separate virtual environment that the comparison script calls as a subprocess;
it is never a dependency. Set it up once from the repository root::

    python3 -m venv .venv-onedal
    .venv-onedal/bin/pip install daal4py "scikit-learn<1.6" packaging

(packaging is imported by daal4py but not declared). The comparison script finds
that interpreter at ``.venv-onedal/bin/python`` or wherever ``FASTGMM_ONEDAL_PYTHON``
points, and skips the oneDAL column, saying how to set it up, when there is none.

The parent side (:func:`onedal_python`, :func:`time_onedal`) needs only the
standard library and NumPy. It writes X and the shared start (weights, means and
covariances, from the same ``weights_init``/``means_init``/``precisions_init`` as
the other implementations) to temporary ``.npy`` files and runs this module as
``python -m harness.onedal_em SPEC`` from ``asv_bench/``. The child times
``em_gmm`` with ``accuracyThreshold=0`` (every fit runs exactly ``maxIterations``
iterations) at 1 and 1 + n iterations, like :func:`harness.timing.time_per_iteration`,
and prints one JSON line. oneDAL stores full and diagonal covariances only.
"""

import json
import os
import subprocess
import sys
import tempfile

import numpy as np

#: Where the comparison script looks for daal4py's interpreter when
#: ``ONEDAL_PYTHON_ENV`` is not set, relative to the repository root.
DEFAULT_ONEDAL_PYTHON = os.path.join(".venv-onedal", "bin", "python")
ONEDAL_PYTHON_ENV = "FASTGMM_ONEDAL_PYTHON"
#: fastgmm's covariance types -> oneDAL's ``covarianceStorage``.
STORAGE = {"full": "full", "diag": "diagonal"}
SETUP_HINT = (
    "python3 -m venv .venv-onedal && .venv-onedal/bin/pip install daal4py "
    '"scikit-learn<1.6" packaging (from the repository root), or set '
    f"{ONEDAL_PYTHON_ENV} to a Python that has daal4py"
)

_ASV_BENCH = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def onedal_python():
    """Return (path of a Python with daal4py, daal4py's version), or (None, why
    there is none)."""
    path = os.environ.get(ONEDAL_PYTHON_ENV) or os.path.join(
        os.path.dirname(_ASV_BENCH), DEFAULT_ONEDAL_PYTHON
    )
    if not os.path.exists(path):
        return None, f"no {path}"
    probe = "import daal4py, importlib.metadata as m; print(m.version('daal4py'))"
    done = subprocess.run([path, "-c", probe], capture_output=True, text=True)
    if done.returncode != 0:
        return None, f"{path} cannot import daal4py: {done.stderr.strip()[-300:]}"
    return path, done.stdout.strip()


def _covariances(init, covariance_type):
    """The shared start's covariances as oneDAL takes them: (K, D, D) for full,
    (K, 1, D) for diagonal storage."""
    precisions = np.asarray(init["precisions_init"], dtype=np.float64)
    if covariance_type == "full":
        return np.linalg.inv(precisions)
    return (1.0 / precisions)[:, np.newaxis, :]


def time_onedal(python, X, init, covariance_type, n_iter, repeat, threads, log):
    """Median seconds per ``em_gmm`` iteration from ``init`` on ``X``.

    Returns None for a covariance type oneDAL does not store or when the child
    fails (its error is logged), otherwise a dict with ``per_iter``, ``runs`` (one
    figure per repeat) and ``log_likelihood`` (oneDAL's goal function after
    1 + ``n_iter`` iterations, divided by N).
    """
    if covariance_type not in STORAGE:
        return None
    with tempfile.TemporaryDirectory(prefix="fastgmm-onedal-") as folder:
        paths = {
            name: os.path.join(folder, f"{name}.npy")
            for name in ("X", "weights", "means", "covariances")
        }
        np.save(paths["X"], np.ascontiguousarray(X, dtype=np.float64))
        np.save(paths["weights"], np.asarray(init["weights_init"], dtype=np.float64))
        np.save(paths["means"], np.asarray(init["means_init"], dtype=np.float64))
        np.save(paths["covariances"], _covariances(init, covariance_type))
        spec = {
            "paths": paths,
            "storage": STORAGE[covariance_type],
            "n_iter": n_iter,
            "repeat": repeat,
            "threads": threads,
        }
        done = subprocess.run(
            [python, "-m", "harness.onedal_em", json.dumps(spec)],
            capture_output=True,
            text=True,
            cwd=_ASV_BENCH,
        )
    for line in done.stderr.strip().splitlines():
        log(f"    oneDAL: {line}")
    if done.returncode != 0:
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------ the child process


def _child(spec):
    import statistics

    import daal4py

    from harness.timing import seconds

    if spec["threads"]:
        daal4py.daalinit(spec["threads"])
    paths = spec["paths"]
    X = np.load(paths["X"])
    weights = np.load(paths["weights"]).reshape(1, -1)
    means = np.load(paths["means"])
    covariances = list(np.load(paths["covariances"]))

    def fit(max_iter, data=X):
        algorithm = daal4py.em_gmm(
            nComponents=len(means),
            maxIterations=max_iter,
            accuracyThreshold=0.0,
            covarianceStorage=spec["storage"],
        )
        return algorithm.compute(data, weights, means, covariances)

    fit(2, X[:2_000])  # first-call costs (thread pool, dispatch) before timing
    n_iter, runs = spec["n_iter"], []
    for r in range(spec["repeat"]):
        t_lo, _ = seconds(fit, 1)
        t_hi, result = seconds(fit, 1 + n_iter)
        runs.append((t_hi - t_lo) / n_iter)
        print(
            f"repeat {r + 1}/{spec['repeat']}: fit(1) {t_lo:.3f} s, "
            f"fit({1 + n_iter}) {t_hi:.3f} s -> {runs[-1] * 1e3:.1f} ms/iter",
            file=sys.stderr,
        )
    print(
        json.dumps(
            {
                "per_iter": statistics.median(runs),
                "runs": runs,
                "n_iterations": int(np.ravel(result.nIterations)[0]),
                "log_likelihood": float(np.ravel(result.goalFunction)[0]) / len(X),
            }
        )
    )


if __name__ == "__main__":
    _child(json.loads(sys.argv[1]))

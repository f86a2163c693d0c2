"""scikit-learn's own mixture tests, run against fastgmm.

Each test module that the installed scikit-learn wheel ships for an estimator
fastgmm replaces (``sklearn/mixture/tests/test_gaussian_mixture.py`` and
``test_bayesian_mixture.py``) is copied into a temporary folder with its one
``from sklearn.mixture import <Estimator>`` rewritten to import fastgmm's, and run
by pytest in a subprocess, with scikit-learn's conftest loaded as a plugin for its
``global_dtype`` and ``global_random_seed`` fixtures and the float32 cases
switched on. Every case must pass except the deviations listed for its module,
each with its reason; a listed case that starts to pass fails this test as well,
so that the list stays true.

scikit-learn's array API cases skip here as they do in scikit-learn's own runs
without ``SCIPY_ARRAY_API=1`` and an array library; fastgmm takes NumPy and Dask
arrays only.
"""

import os
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest
import sklearn

import fastgmm

SKLEARN_TESTS = Path(sklearn.__file__).parent / "mixture" / "tests"
SEED = "42"  # scikit-learn's default global_random_seed, pinned for the ids below

# module: (estimator, the fewest cases that must pass, {case: why it fails})
SUITES = {
    "test_gaussian_mixture.py": ("GaussianMixture", 60, {
        "test_regularisation": (
            "reg_covar=0 on data where components collapse: scikit-learn raises "
            "ValueError, fastgmm floors the variance and warns with "
            "DegenerateComponentWarning (documented in the README)"
        ),
        f"test_gaussian_mixture_all_init_does_not_estimate_gaussian_parameters"
        f"[{SEED}]": (
            "counts calls of scikit-learn's private "
            "sklearn.mixture._gaussian_mixture._estimate_gaussian_parameters "
            "through a mock; fastgmm never calls it"
        ),
    }),
    "test_bayesian_mixture.py": ("BayesianGaussianMixture", 16, {
        "test_compare_covar_type": (
            "initialises through scikit-learn's private _check_parameters and "
            "_initialize_parameters, which fastgmm's estimator does not have; "
            "its claims (tied = the mean of the full covariances, diag = their "
            "diagonals, spherical = their mean variance) are checked from fits in "
            "tests/test_variational.py"
        ),
    }),
}

# Appended to the copied module: proves the cases ran against this checkout's
# fastgmm and not against scikit-learn's estimator.
IMPORT_CHECK = """

def test_runs_against_fastgmm():
    import fastgmm
    assert {estimator} is fastgmm.{estimator}
    assert fastgmm.__file__ == {fastgmm_file!r}
"""


def outcomes(junit_xml):
    """{test name: "passed" | "failed" | "skipped"} from pytest's JUnit report."""
    result = {}
    for case in ElementTree.parse(junit_xml).getroot().iter("testcase"):
        tags = {child.tag for child in case}
        if tags & {"failure", "error"}:
            result[case.get("name")] = "failed"
        elif "skipped" in tags:
            result[case.get("name")] = "skipped"
        else:
            result[case.get("name")] = "passed"
    return result


@pytest.mark.parametrize("module", sorted(SUITES))
def test_sklearn_mixture_tests_pass_against_fastgmm(module, tmp_path):
    estimator, least_passed, deviations = SUITES[module]
    path = SKLEARN_TESTS / module
    if not path.exists():
        pytest.skip(f"the installed scikit-learn ships no {module}")
    source = path.read_text()
    sklearn_import = f"from sklearn.mixture import {estimator}\n"
    assert source.count(sklearn_import) == 1, "scikit-learn changed its import"
    copy = tmp_path / f"test_sklearn_{module.removeprefix('test_')}"
    copy.write_text(
        source.replace(sklearn_import, f"from fastgmm import {estimator}\n")
        + IMPORT_CHECK.format(estimator=estimator, fastgmm_file=fastgmm.__file__)
    )
    (tmp_path / "pytest.ini").write_text("[pytest]\n")  # not this project's options
    report = tmp_path / "report.xml"
    checkout = str(Path(fastgmm.__file__).parent.parent)
    env = {
        key: value for key, value in os.environ.items()
        if key != "SKLEARN_WARNINGS_AS_ERRORS"
    }
    env.update(
        PYTHONPATH=os.pathsep.join(filter(None, [checkout, env.get("PYTHONPATH")])),
        SKLEARN_RUN_FLOAT32_TESTS="1",
        SKLEARN_TESTS_GLOBAL_RANDOM_SEED=SEED,
        SKLEARN_SKIP_NETWORK_TESTS="1",
    )
    run = subprocess.run(
        [
            sys.executable, "-m", "pytest", "-q", "-p", "sklearn.conftest",
            "-p", "no:cacheprovider", "--rootdir", str(tmp_path),
            "-c", str(tmp_path / "pytest.ini"), f"--junitxml={report}", str(copy),
        ],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600,
    )
    assert run.returncode in (0, 1) and report.exists(), run.stdout + run.stderr
    result = outcomes(report)
    assert result.pop("test_runs_against_fastgmm") == "passed", run.stdout
    failed = {name for name, outcome in result.items() if outcome == "failed"}
    passed = sum(outcome == "passed" for outcome in result.values())
    assert passed >= least_passed, (
        f"only {passed} of scikit-learn's cases passed\n{run.stdout}"
    )
    unexpected = sorted(failed - deviations.keys())
    no_longer = sorted(deviations.keys() - failed)
    assert not unexpected, f"new failures {unexpected}\n{run.stdout[-20000:]}"
    assert not no_longer, f"listed deviations that now pass: {no_longer}"


def test_all_initial_values_given_means_no_initial_statistics(monkeypatch):
    """fastgmm's form of scikit-learn's mock-counting case (listed above): with
    weights, means and precisions all given, fitting computes no initial
    statistics, so every pass over the data is an EM iteration."""
    import numpy as np

    from fastgmm import GaussianMixture
    from fastgmm._sources import ArraySource

    passes = []
    stats_pass = ArraySource.stats_pass
    monkeypatch.setattr(
        ArraySource, "stats_pass",
        lambda self, *args, **kwargs: passes.append(1) or stats_pass(
            self, *args, **kwargs),
    )
    for name in ("nearest_stats", "seeded_stats", "random_stats"):
        monkeypatch.setattr(ArraySource, name, None)  # calling one would fail
    rng = np.random.RandomState(0)
    X = np.vstack([rng.randn(200, 2) - 3, rng.randn(200, 2) + 3])
    gm = GaussianMixture(
        2, weights_init=[0.5, 0.5], means_init=[[-3, 0], [3, 0]],
        precisions_init=np.stack([np.eye(2)] * 2), max_iter=7, tol=0,
    ).fit(X)
    assert gm.n_iter_ == 7
    assert len(passes) == gm.n_iter_

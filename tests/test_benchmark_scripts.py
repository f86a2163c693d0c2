"""The comparison script of asv_bench/ runs against the current package, in a fresh
interpreter as a user runs it, including its memory subprocesses."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]


def run_script(tmp_path, script, *arguments, **environment):
    """Run asv_bench/``script`` with ``arguments`` (and the ``environment``
    variables) in a fresh interpreter that imports this source tree, from
    ``tmp_path``; assert it succeeded and return its standard output."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
        **environment,
    }
    done = subprocess.run(
        [sys.executable, str(REPO / "asv_bench" / script), *arguments],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def run_compare(tmp_path, *arguments, **environment):
    """Run compare.py with ``arguments`` (and the ``environment`` variables) in a
    fresh interpreter; return its Markdown report."""
    report = tmp_path / "report.md"
    run_script(tmp_path, "compare.py", *arguments, *("--markdown", str(report)),
               **environment)
    return report.read_text()


def rows_by_header(report, label):
    """The rows of the report's tables whose first cell is ``label``, each as a
    dict from its table's header to the cell."""
    rows, header = [], None
    for line in report.splitlines():
        if not line.startswith("|"):
            header = None  # a table ends
        elif not line.startswith("|---"):
            cells = [cell.strip() for cell in line.strip("|").split("|")]
            if header is None:
                header = cells
            elif cells[0] == label:
                rows.append(dict(zip(header, cells, strict=True)))
    return rows


def printed_rounding(cell):
    """The largest relative error of a positive number printed as ``cell``: half
    its last digit over its value (rates in the reports are computed from the
    unrounded figure, so a check against the printed one must allow this)."""
    decimals = len(cell.replace(",", "").partition(".")[2])
    return 0.5 * 10.0**-decimals / float(cell.replace(",", ""))


@pytest.mark.slow
def test_compare_script_quick_table_row(tmp_path):
    report = run_compare(
        tmp_path,
        *("--quick", "--cases", "2x3-full", "--repeat", "1"),
        # ms/it is the difference of two fits' times: with one iteration (about a
        # millisecond here) noise can make it non-positive, and the rate n/a
        *("--iterations", "4"),
        # no oneDAL environment here, whatever the checkout has: the column says so
        FASTGMM_ONEDAL_PYTHON=str(tmp_path / "no-such-python"),
    )
    rows = rows_by_header(report, "50k x 2 x 3 full")
    # the main table, the whole-fit details, the memory details
    assert len(rows) == 3
    main, details, memory = rows
    # ms/iteration, then MiB from the subprocesses
    for column in ("fastgmm ms/it", "scikit-learn ms/it", "NumPy ms/it",
                   "fastgmm MiB", "sklearn MiB", "NumPy MiB"):
        float(main[column].replace(",", ""))
    # the roofline: fastgmm's rate is the work over its time, next to dgemm's
    work, rate = float(main["GFLOP/it"]), float(main["fastgmm GFLOP/s"])
    assert work == pytest.approx(50_000 * 3 * (2 * 4 + 7 * 2 + 8) / 1e9, rel=1e-2)
    ms = float(main["fastgmm ms/it"])
    assert rate == pytest.approx(
        work / ms * 1e3, rel=printed_rounding(main["fastgmm ms/it"]) + 0.002)
    assert float(main["dgemm GFLOP/s"]) > 0
    assert main["fastgmm / dgemm"].endswith("%")
    assert main["oneDAL ms/it"] == "n/a"
    assert "oneDAL skipped" in report and ".venv-onedal" in report
    # fastgmm and scikit-learn, from the same start, reach the same lower bound
    assert abs(float(details["lower bound: fastgmm - sklearn"])) < 1e-8
    # fastgmm's n_iter_ after fit(max_iter=1 + iterations)
    assert details["fastgmm n_iter_"] == "5"
    assert all("/" in cell for cell in list(memory.values())[2:])


@pytest.mark.slow
def test_compare_script_bayesian_rows(tmp_path):
    """The variational row and the per-column table, on tiny data: fastgmm and
    scikit-learn start from the same responsibilities and agree after the same
    iterations; every column of the table gets a row with both scores."""
    lines = run_compare(
        tmp_path,
        *("--quick", "--cases", "bayesian-2x3-diag", "bayesian-columns"),
        *("--repeat", "1", "--iterations", "1", "--no-memory"),
        *("--column-rows", "2000"),
    ).splitlines()
    cells = [
        [cell.strip() for cell in line.strip("|").split("|")]
        for line in lines
        if line.startswith("| 50k x 2 x 3 diag |")
    ]
    main, details = cells  # the table and the whole-fit details
    assert len(main) == 11
    float(main[1]), float(main[2])  # ms/iteration of both libraries
    difference, relative = main[6].split()
    assert abs(float(relative.strip("()"))) < 1e-10
    assert details[-1] == "2"  # fastgmm's n_iter_ after fit(max_iter=2)

    columns = [
        [cell.strip() for cell in line.strip("|").split("|")]
        for line in lines
        if line.startswith("| `")
    ]
    assert len(columns) == 10
    for row in columns:
        assert len(row) == 12
        fastgmm_score, sklearn_score, gap = (float(c.strip("*")) for c in row[8:11])
        assert np.isfinite(fastgmm_score) and np.isfinite(sklearn_score)
        assert gap == pytest.approx(fastgmm_score - sklearn_score, abs=2e-4)
    assert any(line.startswith("| **all columns** |") for line in lines)


@pytest.mark.slow
def test_compare_script_gibbs_section(tmp_path):
    """The Gibbs section on tiny data: a sweep and an EM iteration timed side by
    side, the long run's seconds, and the tutorial model's effective samples."""
    report = run_compare(
        tmp_path, *("--quick", "--cases", "gibbs"),
        *("--repeat", "1", "--iterations", "1"),
    )
    (row,) = rows_by_header(report, "50k x 16 x 16 full")
    # per-sweep times are differences of two short timed fits, so on a busy
    # machine one can come out negative at this size: only their consistency
    # with the ratios is tested, never their sign or size
    assert np.isfinite(float(row["EM ms/it"]))
    assert np.isfinite(float(row["Gibbs ms/sweep"]))
    assert float(row["sweep / iteration"]) == pytest.approx(
        float(row["Gibbs ms/sweep"]) / float(row["EM ms/it"]), rel=0.01, abs=0.01)
    assert float(row["missing / complete sweep"]) == pytest.approx(
        float(row["ms/sweep, 10% missing"]) / float(row["Gibbs ms/sweep"]),
        rel=0.01, abs=0.01)
    assert "1,000 sweeps of one chain on 50k x 2 x 3 full" in report
    (tutorial,) = [line for line in report.splitlines()
                   if line.startswith("|") and line.endswith(">= 16,000 |")]
    cells = [cell.strip() for cell in tutorial.strip("|").split("|")[:4]]
    seconds, draws, ess, ess_per_second = (
        float(cell.replace(",", "")) for cell in cells)
    # the rates were computed from the unrounded seconds
    rounding = printed_rounding(cells[0])
    assert draws == pytest.approx(4 * 2200 / seconds, rel=rounding + 0.001)
    assert 0 < ess <= 3 * 4 * 2000  # ESS may exceed the draws, not by this much
    assert ess_per_second == pytest.approx(ess / seconds, rel=rounding + 0.001)


@pytest.mark.slow
def test_missing_memory_script(tmp_path):
    """missing_memory.py on small data: one line per (type, init) with the size of
    X and the memory beyond it of the complete and the missing-value fit, each
    measured in a subprocess."""
    stdout = run_script(tmp_path, "missing_memory.py",
                        *("--rows", "20000", "--features", "4", "--components", "3"),
                        *("--types", "diag", "--inits", "random_from_data"))
    (line,) = [line for line in stdout.splitlines() if line.startswith("diag")]
    x_mib, complete, missing = (float(cell) for cell in line.split()[2:])
    assert x_mib == pytest.approx(20000 * 4 * 8 / 2**20, abs=0.05)
    assert complete >= 0 and missing >= 0


@pytest.mark.slow
def test_first_fit_script(tmp_path):
    """first_fit.py for one covariance type: a Markdown row with the first fit
    in a fresh cache and the fit in a second process (timings are reported,
    not judged: the architecture tests check that the second compiles nothing)."""
    stdout = run_script(tmp_path, "first_fit.py",
                        *("--types", "tied", "--shape", "500", "2", "2"))
    (row,) = [line for line in stdout.splitlines() if line.startswith("| tied")]
    times = [float(cell) for cell in row.strip("|").split("|")[1:]]
    assert len(times) == 4 and all(t > 0 for t in times)
    assert times[1] >= times[0] and times[3] >= times[2]

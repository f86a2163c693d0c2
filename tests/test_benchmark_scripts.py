"""The comparison script of asv_bench/ runs against the current package, in a fresh
interpreter as a user runs it, including its memory subprocesses."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]


def run_compare(tmp_path, *arguments):
    """Run compare.py with ``arguments`` in a fresh interpreter; return its
    Markdown report."""
    report = tmp_path / "report.md"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run(
        [
            sys.executable,
            str(REPO / "asv_bench" / "compare.py"),
            *arguments,
            *("--markdown", str(report)),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    return report.read_text()


@pytest.mark.slow
def test_compare_script_quick_table_row(tmp_path):
    report = run_compare(
        tmp_path,
        *("--quick", "--cases", "2x3-full", "--repeat", "1"),
        *("--iterations", "1"),
    )
    rows = [
        line.strip("|").split("|")
        for line in report.splitlines()
        if line.startswith("| 50k x 2 x 3 full |")
    ]
    # the main table, the whole-fit details, the memory details
    assert len(rows) == 3
    main, details, memory = ([cell.strip() for cell in row] for row in rows)
    assert len(main) == 10
    for cell in main[1:4] + main[7:]:  # ms/iteration, then MiB from the subprocesses
        float(cell.replace(",", ""))
    # fastgmm and scikit-learn, from the same start, reach the same lower bound
    assert abs(float(details[-2])) < 1e-8
    assert details[-1] == "2"  # fastgmm's n_iter_ after fit(max_iter=2)
    assert all("/" in cell for cell in memory[2:])


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

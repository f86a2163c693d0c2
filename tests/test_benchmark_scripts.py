"""The comparison script of asv_bench/ runs against the current package, in a fresh
interpreter as a user runs it, including its memory subprocesses."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_compare_script_quick_table_row(tmp_path):
    report = tmp_path / "report.md"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run(
        [
            sys.executable,
            str(REPO / "asv_bench" / "compare.py"),
            *("--quick", "--cases", "2x3-full", "--repeat", "1"),
            *("--iterations", "1", "--markdown", str(report)),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    rows = [
        line.strip("|").split("|")
        for line in report.read_text().splitlines()
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

"""Every example runs headless (MPLBACKEND=Agg) in a fresh interpreter, with
small sizes, and writes its PNG.

The digits, million-point and Dirichlet-process examples are marked ``slow``
(15 to 20 s each on two cores at these sizes, most of it compiling the kernels
they use); ``pytest -m "not slow"`` leaves them out.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("matplotlib")

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def run_example(name, tmp_path, *args):
    output = tmp_path / f"{Path(name).stem}.png"
    env = {
        **os.environ,
        "MPLBACKEND": "Agg",
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / name), str(output), *map(str, args)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert output.read_bytes()[:8] == PNG_MAGIC
    assert output.stat().st_size > 10_000  # a picture, not an empty canvas
    assert f"wrote {output}" in done.stdout
    return done.stdout


def test_three_clusters(tmp_path):
    out = run_example("three_clusters.py", tmp_path)
    share = float(re.search(r"([\d.]+)% of points are assigned", out).group(1))
    assert share > 90.0
    assert "converged: True" in out


def test_density_1d(tmp_path):
    out = run_example("density_1d.py", tmp_path, "--n-samples", 900)
    means = [
        float(m)
        for m in re.findall(r"^\s+\d\s+[\d.]+ \([\d.]+\)\s+(-?[\d.]+)", out, flags=re.M)
    ]
    assert len(means) == 3
    for fitted, true in zip(means, [-10.0, 0.0, 10.0], strict=True):
        assert abs(fitted - true) < 1.0


def test_kmeans_vs_gmm(tmp_path):
    out = run_example("kmeans_vs_gmm.py", tmp_path)
    kmeans, gmm = map(
        float,
        re.search(
            r"k-means ([\d.]+), full-covariance GMM "
            r"([\d.]+)",
            out,
        ).groups(),
    )
    assert gmm > 0.95
    assert gmm > kmeans + 0.2


@pytest.mark.slow
def test_digits(tmp_path):
    out = run_example("digits.py", tmp_path, "--components", "5,10")
    assert "PCA keeps 41 of 64 dimensions" in out
    assert re.search(r"AIC prefers (5|10) components", out)


@pytest.mark.slow
def test_million_points(tmp_path):
    out = run_example("million_points.py", tmp_path, "--n-samples", 20_000)
    assert "fastgmm" in out and "scikit-learn" in out
    gap = float(re.search(r"fitted means ([\d.e+-]+)", out).group(1))
    assert gap < 1e-6


@pytest.mark.slow
def test_dirichlet_process(tmp_path):
    out = run_example("dirichlet_process.py", tmp_path)
    # prior, components used, weight of the unused ones, iterations
    rows = re.findall(r"^(\S+)\s+(\d+)\s+(\S+)\s+(\d+)  ", out, flags=re.M)
    assert [float(r[0]) for r in rows] == [0.001, 0.01, 1.0, 1000.0]
    # the four clusters are found at every prior ...
    assert [int(r[1]) for r in rows] == [4, 4, 4, 4]
    # ... and the prior sets the weight left to the six others
    unused = [float(r[2]) for r in rows]
    assert np.all(np.diff(unused) > 0)
    assert unused[0] < 1e-4 and 1e-3 < unused[-1] < 0.05


def test_missing_values(tmp_path):
    out = run_example("missing_values.py", tmp_path, "--n-samples", 1500)
    rmse = dict(re.findall(r"^  (\S+(?: \S+)?)\s+([\d.]+)$", out, flags=re.M))
    ours = float(rmse["GaussianMixture.impute"])
    assert ours < float(rmse["IterativeImputer"])
    assert ours < float(rmse["mean filling"])
    # variational Bayes keeps the three clusters and imputes as well, within 5%
    assert re.search(r"missing_values='nan': 3 with weight above 0.01", out)
    assert float(rmse["BayesianGaussianMixture.impute"]) < 1.05 * ours
    errors = re.findall(r"^(fastgmm|scikit-learn)[^\n]*?\s+([\d.]+)\s+([\d.]+)$", out,
                        flags=re.M)
    assert len(errors) == 3
    assert float(errors[0][1]) < float(errors[2][1])  # means: vs mean filling


def test_gibbs_tutorial(tmp_path):
    pytest.importorskip("arviz")
    out = run_example("gibbs_tutorial.py", tmp_path, "--draws", 300, "--burn", 50,
                      "--million", tmp_path / "million.png", "--rows", 20_000)
    assert (tmp_path / "million.png").stat().st_size > 0
    sd, expected = re.search(r"posterior sd ([\d.]+) \(1 / sqrt\(n_k\) = ([\d.]+)",
                             out).groups()
    assert float(sd) == pytest.approx(float(expected), rel=0.3)
    number = r"\s*(-?[\d.]+)\s+(-?[\d.]+)\s*"
    rows = re.findall(rf"^\s+\d\s+\[{number}\]\s+\(.*?\)\s+\[{number}\]", out,
                      flags=re.M)
    assert len(rows) == 3
    for values in rows:
        sampled, analytic = map(float, values[:2]), map(float, values[2:])
        for a, b in zip(sampled, analytic, strict=True):
            assert abs(a - b) < 0.05  # 4 Monte-Carlo errors at ~1,000 draws
    assert float(re.search(r"max R-hat: ([\d.]+)", out).group(1)) < 1.05

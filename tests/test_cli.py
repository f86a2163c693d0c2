"""The fastgmm command, run in-process through main([...]) and once as
``python -m fastgmm``: end to end on small files, and one-line errors."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import fastgmm
from fastgmm.cli import main, parse_components
from fastgmm.demo import demo_mixture, run_demo

REPO = Path(__file__).resolve().parents[1]


def three_clusters(n_per_cluster=60, seed=0):
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    return np.vstack([c + rng.standard_normal((n_per_cluster, 2)) for c in centres])


@pytest.fixture(scope="module")
def X():
    return three_clusters()


@pytest.fixture
def npy(tmp_path, X):
    path = tmp_path / "data.npy"
    np.save(path, X)
    return path


@pytest.fixture
def csv(tmp_path, X):
    path = tmp_path / "data.csv"
    np.savetxt(path, X, delimiter=",", header="x,y", comments="")
    return path


@pytest.fixture
def model_file(tmp_path, npy):
    path = tmp_path / "model.npz"
    assert main(["fit", str(npy), "-k", "3", "--seed", "0", "-q", "-o", str(path)]) == 0
    return path


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(err, command):
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"{command}: error: "), err
    assert "Traceback" not in err


# ---------------------------------------------------------------- help


def test_python_dash_m_help():
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    out = subprocess.run(
        [sys.executable, "-m", "fastgmm", "--help"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    for command in ("fit", "predict", "select", "demo"):
        assert command in out.stdout
    assert out.stderr == ""


@pytest.mark.parametrize("command", [[], ["fit"], ["predict"], ["select"], ["demo"]])
def test_help_everywhere(capsys, command):
    code, out, _ = run(capsys, *command, "--help")
    assert code == 0
    assert out.startswith("usage: fastgmm")


def test_version(capsys):
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.startswith("fastgmm ")


# ---------------------------------------------------------------- fit and predict


def test_fit_npy_then_predict_labels(capsys, tmp_path, npy, X):
    model_path = tmp_path / "m.npz"
    code, out, err = run(
        capsys,
        "fit",
        npy,
        "-k",
        3,
        "--covariance",
        "diag",
        "--seed",
        0,
        "--n-jobs",
        1,
        "-o",
        model_path,
    )
    assert code == 0, err
    assert "fitted 3 diag components to 180 x 2 points" in out
    assert f"model written to {model_path}" in out
    # Progress went to stderr, results to stdout.
    assert "read" in err and "fitting 3 diag components" in err

    model = fastgmm.load(model_path)
    assert model.n_components == 3 and model.covariance_type == "diag"
    assert model.n_jobs == 1 and model.random_state == 0
    labels_path = tmp_path / "labels.npy"
    code, out, err = run(capsys, "predict", model_path, npy, "-o", labels_path)
    assert code == 0, err
    labels = np.load(labels_path)
    np.testing.assert_array_equal(labels, model.predict(X))
    # Three clean clusters: three groups of 60.
    assert sorted(np.bincount(labels).tolist()) == [60, 60, 60]
    assert "points per component" in out


def test_fit_csv_with_header_matches_npy(capsys, tmp_path, npy, csv):
    a, b = tmp_path / "a.npz", tmp_path / "b.npz"
    assert run(capsys, "fit", npy, "-k", 3, "--seed", 1, "-q", "-o", a)[0] == 0
    assert run(capsys, "fit", csv, "-k", 3, "--seed", 1, "-q", "-o", b)[0] == 0
    np.testing.assert_allclose(
        fastgmm.load(a).means_, fastgmm.load(b).means_, rtol=1e-12
    )


def test_quiet_fit_prints_nothing_on_stderr(capsys, npy):
    code, out, err = run(capsys, "fit", npy, "-k", 2, "-q")
    assert code == 0 and err == "" and "fitted 2 full components" in out


def test_warnings_are_one_line_too(capsys, npy):
    code, out, err = run(capsys, "fit", npy, "-k", 3, "--max-iter", 1, "-q")
    assert code == 0
    assert "did NOT converge after 1 iteration" in out
    lines = err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("fastgmm fit: warning: ConvergenceWarning: ")


def test_predict_proba_to_csv_and_stdout(capsys, tmp_path, model_file, csv, X):
    model = fastgmm.load(model_file)
    out_path = tmp_path / "proba.csv"
    code, _, err = run(capsys, "predict", model_file, csv, "--proba", "-o", out_path)
    assert code == 0, err
    proba = np.loadtxt(out_path, delimiter=",")
    assert proba.shape == (X.shape[0], 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(proba.argmax(axis=1), model.predict(X))

    code, out, _ = run(capsys, "predict", model_file, csv)
    assert code == 0
    assert [int(v) for v in out.split()] == model.predict(X).tolist()


def test_fit_bayesian_then_predict(capsys, tmp_path, npy, X):
    model_path = tmp_path / "bayesian.npz"
    code, out, err = run(
        capsys, "fit", npy, "-k", 8, "--bayesian", "--weight-concentration-prior",
        0.01, "--prior-type", "dirichlet_process", "--seed", 0, "-q", "-o",
        model_path,
    )
    assert code == 0, err
    assert "fitted 8 full components by variational Bayes (dirichlet_process " in out
    assert "lower bound (variational, up to a constant)" in out
    # Three clusters, room for eight: the process switches five off.
    assert "components used (weight >= 0.01): 3 of 8" in out
    assert out.count("(unused)") == 5

    model = fastgmm.load(model_path)
    assert isinstance(model, fastgmm.BayesianGaussianMixture)
    assert model.weight_concentration_prior == 0.01
    assert model.weight_concentration_prior_type == "dirichlet_process"
    labels_path = tmp_path / "labels.npy"
    code, out, err = run(capsys, "predict", model_path, npy, "-o", labels_path)
    assert code == 0, err
    labels = np.load(labels_path)
    np.testing.assert_array_equal(labels, model.predict(X))
    assert sorted(np.bincount(labels, minlength=8).tolist()) == [0] * 5 + [60] * 3

    code, out, err = run(capsys, "predict", model_path, npy, "--proba")
    assert code == 0, err
    proba = np.loadtxt(out.splitlines(), delimiter=",")
    assert proba.shape == (180, 8)


def test_fit_bayesian_dirichlet_distribution(capsys, tmp_path, npy):
    model_path = tmp_path / "bayesian.npz"
    code, out, err = run(
        capsys, "fit", npy, "-k", 3, "--covariance", "diag", "--bayesian",
        "--prior-type", "dirichlet_distribution", "--seed", 1, "-q", "-o",
        model_path,
    )
    assert code == 0, err
    assert "(dirichlet_distribution prior)" in out
    model = fastgmm.load(model_path)
    assert model.weight_concentration_prior_type == "dirichlet_distribution"
    assert model.weight_concentration_prior is None  # the default, 1 / K
    assert model.weight_concentration_.shape == (3,)


def test_one_feature_text_file(capsys, tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "x.txt"
    np.savetxt(path, np.concatenate([rng.normal(-5, 1, 100), rng.normal(5, 1, 100)]))
    code, out, err = run(capsys, "fit", path, "-k", 2, "-q", "--seed", 0)
    assert code == 0, err
    assert "200 x 1 points" in out


# ---------------------------------------------------------------- select and demo


def test_select_end_to_end(capsys, tmp_path, npy):
    best, png = tmp_path / "best.npz", tmp_path / "select.png"
    code, out, err = run(
        capsys,
        "select",
        npy,
        "--k",
        "1..4",
        "--covariance",
        "full,spherical",
        "--seed",
        0,
        "-o",
        best,
        "--plot",
        png,
    )
    assert code == 0, err
    rows = [line.lstrip("* ").split() for line in out.splitlines()]
    table = [r for r in rows if len(r) > 2 and r[0].isdigit()]
    assert [(int(r[0]), r[1]) for r in table] == [
        (k, t) for t in ("full", "spherical") for k in range(1, 5)
    ]
    assert "best by BIC: 3 " in out
    assert fastgmm.load(best).n_components == 3
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # One progress line per candidate on stderr.
    assert sum("[" in line and "/8]" in line for line in err.splitlines()) == 8


def test_select_aic(capsys, npy):
    code, out, _ = run(
        capsys,
        "select",
        npy,
        "-k",
        "2,3",
        "--covariance",
        "diag",
        "--criterion",
        "aic",
        "-q",
    )
    assert code == 0 and "best by AIC" in out and "AIC" in out.splitlines()[0]


def test_select_bayesian(capsys, tmp_path, npy):
    best = tmp_path / "best.npz"
    code, out, err = run(
        capsys, "select", npy, "--k", "2,3,6", "--covariance", "diag", "--bayesian",
        "--seed", 0, "-q", "-o", best,
    )
    assert code == 0, err
    header = out.splitlines()[0]
    assert "held-out log-lik" in header and "used" in header
    assert "best by held-out log-lik: 3 diag components" in out
    model = fastgmm.load(best)
    assert isinstance(model, fastgmm.BayesianGaussianMixture)
    assert model.n_components == 3


def test_select_bayesian_refuses_bic(capsys, npy):
    code, _, err = run(
        capsys, "select", npy, "--k", "2", "--bayesian", "--criterion", "bic", "-q"
    )
    assert code == 1
    assert_one_line_error(err, "fastgmm select")
    assert "heldout" in err


def test_demo_small(capsys, tmp_path):
    png = tmp_path / "demo.png"
    code, out, err = run(capsys, "demo", "--n-samples", 4000, "--output", png)
    assert code == 0, err
    assert "true vs recovered parameters" in out
    assert "scikit-learn" in out and "speed-up" in out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "fitting with fastgmm" in err


def test_demo_without_sklearn_or_picture(capsys, tmp_path):
    code, out, err = run(
        capsys, "demo", "--n-samples", 3000, "--no-sklearn", "--no-plot", "-q"
    )
    assert code == 0, err
    assert "fastgmm" in out and "scikit-learn " not in out
    assert not list(tmp_path.iterdir())


def test_run_demo_from_python(capsys, tmp_path):
    png = tmp_path / "demo.png"
    run_demo(3000, compare_sklearn=False, picture=str(png), progress=False)
    out, err = capsys.readouterr()
    assert "true vs recovered parameters" in out and "scikit-learn " not in out
    assert f"picture written to {png}" in out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Initialization" not in err  # progress=False: no iterations shown


def test_run_demo_rejects_too_few_samples():
    with pytest.raises(ValueError, match="at least 100"):
        run_demo(99, picture=None)


def test_demo_mixture_is_seeded_and_shaped():
    X1, labels, weights, means, covariances = demo_mixture(5000, seed=3)
    X2, *_ = demo_mixture(5000, seed=3)
    np.testing.assert_array_equal(X1, X2)
    assert X1.shape == (5000, 2) and covariances.shape == (5, 2, 2)
    assert weights.sum() == pytest.approx(1.0)
    for k in range(5):
        assert abs(np.mean(labels == k) - weights[k]) < 0.03
        np.testing.assert_allclose(X1[labels == k].mean(axis=0), means[k], atol=0.2)


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "content, name, message",
    [
        (None, "missing.npy", "no such file"),
        (b"not numbers at all", "data.npy", "not a .npy file"),
        (b"a,b\n1,2\n3,oops\n", "data.csv", "not a readable .csv file"),
        (b"1,2\n3\n", "data.csv", "not a readable .csv file"),
        (b"", "data.csv", "contains no data"),
        (b"1,2\n", "data.parquet", "data files must be"),
    ],
)
def test_bad_data_files(capsys, tmp_path, content, name, message):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    code, _, err = run(capsys, "fit", path, "-k", 1)
    assert code == 1
    assert_one_line_error(err, "fastgmm fit")
    assert message in err


@pytest.mark.parametrize(
    "array, message",
    [
        (np.zeros((2, 2, 2)), "2-D"),
        (np.array([[1.0, 2.0], [np.nan, 1.0], [np.inf, 0.0]]), "2 rows contain NaN"),
        (np.array(["a", "b"]), "expected numbers"),
    ],
)
def test_bad_arrays(capsys, tmp_path, array, message):
    path = tmp_path / "bad.npy"
    np.save(path, array)
    code, _, err = run(capsys, "fit", path, "-k", 1)
    assert code == 1
    assert_one_line_error(err, "fastgmm fit")
    assert message in err


def test_pickled_npy_is_refused(capsys, tmp_path):
    path = tmp_path / "objects.npy"
    np.save(path, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    code, _, err = run(capsys, "fit", path, "-k", 1)
    assert code == 1
    assert_one_line_error(err, "fastgmm fit")


def test_bad_model_files(capsys, tmp_path, npy):
    not_a_model = tmp_path / "fake.npz"
    np.savez(not_a_model, a=np.arange(3))
    for model in (npy, not_a_model, tmp_path / "absent.npz"):
        code, _, err = run(capsys, "predict", model, npy)
        assert code == 1
        assert_one_line_error(err, "fastgmm predict")


def test_predict_with_wrong_number_of_columns(capsys, tmp_path, model_file):
    wide = tmp_path / "wide.npy"
    np.save(wide, np.zeros((5, 3)))
    code, _, err = run(capsys, "predict", model_file, wide)
    assert code == 1
    assert_one_line_error(err, "fastgmm predict")
    assert "3 columns" in err and "2 features" in err


def test_outputs_are_checked_before_fitting(capsys, tmp_path, npy):
    for output, message in [
        (tmp_path / "no" / "such" / "dir" / "m.npz", "does not exist"),
        (tmp_path / "model.pkl", "must end in .npz"),
    ]:
        code, _, err = run(capsys, "fit", npy, "-k", 2, "-o", output)
        assert code == 1
        assert_one_line_error(err, "fastgmm fit")
        assert message in err
        assert "fitting" not in err


def test_too_many_components(capsys, npy):
    code, _, err = run(capsys, "fit", npy, "-k", 500)
    assert code == 1
    assert_one_line_error(err, "fastgmm fit")
    assert "180 samples" in err


@pytest.mark.parametrize(
    "argv, prog",
    [
        ([], "fastgmm"),
        (["frobnicate"], "fastgmm"),
        (["fit", "DATA"], "fastgmm fit"),
        (["fit", "DATA", "-k", "0"], "fastgmm fit"),
        (["fit", "DATA", "-k", "two"], "fastgmm fit"),
        (["fit", "DATA", "-k", "2", "--covariance", "round"], "fastgmm fit"),
        (["fit", "DATA", "-k", "2", "--tol", "-1"], "fastgmm fit"),
        (["fit", "DATA", "-k", "2", "--n-jobs", "0"], "fastgmm fit"),
        (["fit", "DATA", "-k", "2", "--bogus"], "fastgmm"),
        (["predict", "MODEL"], "fastgmm predict"),
        (["select", "DATA", "--k", "5..2"], "fastgmm select"),
        (["select", "DATA", "--covariance", "full,round"], "fastgmm select"),
        (["select", "DATA", "--criterion", "hqc"], "fastgmm select"),
        (["demo", "--n-samples", "-5"], "fastgmm demo"),
        (["fit", "DATA", "-k", "2", "--weight-concentration-prior", "0.1"],
         "fastgmm fit"),
        (["fit", "DATA", "-k", "2", "--prior-type", "dirichlet_distribution"],
         "fastgmm fit"),
        (["select", "DATA", "--prior-type", "dirichlet_process"], "fastgmm select"),
        (["fit", "DATA", "-k", "2", "--bayesian", "--weight-concentration-prior",
          "0"], "fastgmm fit"),
        (["fit", "DATA", "-k", "2", "--bayesian", "--prior-type", "stick"],
         "fastgmm fit"),
    ],
)
def test_bad_arguments(capsys, argv, prog):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    assert_one_line_error(err, prog)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("3", [3]),
        ("1..4", [1, 2, 3, 4]),
        ("2,4,8", [2, 4, 8]),
        ("10..50:20", [10, 30, 50]),
        ("1..3, 7", [1, 2, 3, 7]),
        ("2,2,3", [2, 3]),
    ],
)
def test_parse_components(text, expected):
    assert parse_components(text) == expected


def test_fit_and_predict_a_csv_with_empty_cells(capsys, tmp_path, X):
    """--missing-values nan reads empty cells as missing values and fits the
    observed ones exactly; the saved model reads them again to predict."""
    data = tmp_path / "holes.csv"
    lines = ["a,b"]
    for i, (u, v) in enumerate(X):
        u, v = float(u), float(v)
        lines.append(f"{u!r}," if i % 7 == 3 else f"{u!r},{v!r}")
    data.write_text("\n".join(lines) + "\n")
    code, out, err = run(capsys, "fit", data, "-k", 3, "--seed", 0, "--n-jobs", 1)
    assert code == 1 and "--missing-values nan" in err  # refused without the flag
    model_path = tmp_path / "m.npz"
    code, out, err = run(capsys, "fit", data, "-k", 3, "--seed", 0, "--n-jobs", 1,
                         "--missing-values", "nan", "-o", model_path)
    assert code == 0, err
    model = fastgmm.load(model_path)
    assert model.missing_values == "nan"
    expected = fastgmm.GaussianMixture(3, random_state=0, n_jobs=1,
                                       missing_values="nan")
    holes = X.copy()
    holes[3::7, 1] = np.nan
    np.testing.assert_allclose(model.means_, expected.fit(holes).means_, rtol=1e-12)
    labels = tmp_path / "labels.npy"
    code, out, err = run(capsys, "predict", model_path, data, "-o", labels)
    assert code == 0, err
    np.testing.assert_array_equal(np.load(labels), expected.predict(holes))


def test_bayesian_fit_of_a_csv_with_empty_cells(capsys, tmp_path, X):
    """--bayesian --missing-values nan fits BayesianGaussianMixture on the
    observed values, as the estimator does on the array with NaN."""
    data = tmp_path / "holes.csv"
    holes = X.copy()
    holes[2::5, 0] = np.nan
    np.savetxt(data, holes, delimiter=",")
    model_path = tmp_path / "b.npz"
    code, out, err = run(capsys, "fit", data, "-k", 4, "--seed", 0, "--n-jobs", 1,
                         "--bayesian", "--missing-values", "nan", "-o", model_path)
    assert code == 0, err
    model = fastgmm.load(model_path)
    assert isinstance(model, fastgmm.BayesianGaussianMixture)
    assert model.missing_values == "nan"
    expected = fastgmm.BayesianGaussianMixture(
        n_components=4, random_state=0, n_jobs=1, missing_values="nan").fit(holes)
    np.testing.assert_allclose(model.means_, expected.means_, rtol=1e-12)

"""Every accepted layout and dtype of X gives the answer of float64 C-order X.

Issue 4, item 1: C or Fortran order, strided and negative-stride views, unaligned and
big-endian buffers, memory maps, integer and float32 input, Python lists (and pandas
DataFrames when pandas is installed) fitted from the same random_state give the same
fitted parameters and predictions as the same values in a float64 C-contiguous array:
to rtol 1e-10 where the values are exactly the same float64 numbers, to a stated
tolerance for float32.
"""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from fastgmm import GaussianMixture

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]
PARAMETERS = ["weights_", "means_", "covariances_", "precisions_cholesky_"]
N_SAMPLES, N_FEATURES = 120, 3


def make_data(seed=0):
    rng = np.random.default_rng(seed)
    centers = np.array([[0.0, 0.0, 0.0], [6.0, 6.0, 0.0], [0.0, 7.0, 7.0]])
    labels = np.arange(N_SAMPLES) % 3
    scales = np.array([1.0, 0.6, 1.4])
    return centers[labels] + rng.normal(size=(N_SAMPLES, N_FEATURES)) * scales


def fit(X, covariance_type, **params):
    model = GaussianMixture(
        n_components=3, covariance_type=covariance_type, random_state=0, **params
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X)


def assert_same_fit(actual, expected, rtol, atol):
    for name in PARAMETERS:
        np.testing.assert_allclose(
            getattr(actual, name),
            getattr(expected, name),
            rtol=rtol,
            atol=atol,
            err_msg=name,
        )
    np.testing.assert_allclose(
        actual.lower_bound_, expected.lower_bound_, rtol=rtol, atol=atol
    )
    assert actual.n_iter_ == expected.n_iter_
    assert actual.converged_ == expected.converged_
    assert actual.n_features_in_ == expected.n_features_in_


# Each layout holds exactly the float64 values of X.


def _poisoned(shape, dtype):
    """A buffer of NaN: reading a value outside the view shows up as NaN."""
    return np.full(shape, np.nan, dtype=dtype)


def _every_other_row(X):
    buffer = _poisoned((2 * len(X), X.shape[1]), X.dtype)
    buffer[::2] = X
    return buffer[::2]


def _every_other_column(X):
    buffer = _poisoned((len(X), 2 * X.shape[1]), X.dtype)
    buffer[:, ::2] = X
    return buffer[:, ::2]


def _both_strided(X):
    buffer = _poisoned((3 * len(X), 2 * X.shape[1]), X.dtype)
    buffer[::3, ::2] = X
    return buffer[::3, ::2]


def _reversed_columns(X):
    return X[:, ::-1].copy()[:, ::-1]


def _reversed_rows(X):
    return X[::-1].copy()[::-1]


def _transposed(X):
    return X.T.copy().T


def _unaligned(X):
    raw = np.zeros(X.nbytes + 1, dtype=np.uint8)
    view = np.ndarray(X.shape, dtype=X.dtype, buffer=raw, offset=1)
    view[...] = X
    assert not view.flags.aligned
    return view


def _big_endian(X):
    return X.astype(X.dtype.newbyteorder(">"))


def _read_only(X):
    X = X.copy()
    X.setflags(write=False)
    return X


def _column_slice_of_wider(X):
    wider = np.concatenate([X, np.full((len(X), 2), np.nan, dtype=X.dtype)], axis=1)
    return wider[:, : X.shape[1]]


LAYOUTS = {
    "C": lambda X: X.copy(),
    "Fortran": np.asfortranarray,
    "every other row": _every_other_row,
    "every other column": _every_other_column,
    "rows and columns strided": _both_strided,
    "reversed columns": _reversed_columns,
    "reversed rows": _reversed_rows,
    "transposed copy": _transposed,
    "column slice of wider": _column_slice_of_wider,
    "unaligned": _unaligned,
    "big-endian": _big_endian,
    "read-only": _read_only,
    "list of lists": lambda X: X.tolist(),
    "list of rows": lambda X: list(X),
    "tuple of tuples": lambda X: tuple(tuple(row) for row in X.tolist()),
}


@pytest.fixture(scope="module")
def data():
    return make_data()


@pytest.fixture(scope="module")
def reference_fits(data):
    return {ct: fit(np.ascontiguousarray(data), ct) for ct in COVARIANCE_TYPES}


@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_layout_gives_same_fit(data, reference_fits, covariance_type, layout):
    X = LAYOUTS[layout](data)
    before = np.array(X, dtype=np.float64, copy=True)
    model = fit(X, covariance_type)
    assert model.means_.dtype == np.float64
    assert_same_fit(model, reference_fits[covariance_type], rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(np.asarray(X, dtype=np.float64), before)


def test_memmap_gives_same_fit(data, reference_fits, tmp_path):
    path = tmp_path / "X.dat"
    memmap = np.memmap(path, dtype=np.float64, mode="w+", shape=data.shape)
    memmap[...] = data
    memmap.flush()
    read_only = np.memmap(path, dtype=np.float64, mode="r", shape=data.shape)
    model = fit(read_only, "full")
    assert_same_fit(model, reference_fits["full"], rtol=1e-10, atol=1e-12)
    del memmap, read_only


@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_layout_gives_same_predictions(data, reference_fits, covariance_type, layout):
    model = reference_fits[covariance_type]
    X = LAYOUTS[layout](data)
    np.testing.assert_array_equal(model.predict(X), model.predict(data))
    np.testing.assert_allclose(
        model.predict_proba(X), model.predict_proba(data), rtol=1e-10, atol=1e-15
    )
    np.testing.assert_allclose(
        model.score_samples(X), model.score_samples(data), rtol=1e-10
    )
    np.testing.assert_allclose(model.score(X), model.score(data), rtol=1e-10)


@pytest.mark.parametrize("criterion", ["aic", "bic"])
@pytest.mark.parametrize("layout", ["list of lists", "Fortran", "every other row"])
def test_information_criteria_accept_layouts(data, reference_fits, criterion, layout):
    model = reference_fits["full"]
    X = LAYOUTS[layout](data)
    np.testing.assert_allclose(
        getattr(model, criterion)(X), getattr(model, criterion)(data), rtol=1e-10
    )


# Integer and float16 inputs convert exactly to float64, so they must give the fit of
# their float64 values to the same tolerance.

EXACT_DTYPES = {
    "int64": lambda X: np.round(X * 4).astype(np.int64),
    "int32": lambda X: np.round(X * 4).astype(np.int32),
    "int16": lambda X: np.round(X * 4).astype(np.int16),
    "int8": lambda X: np.round(X * 4).astype(np.int8),
    "uint8": lambda X: (np.round(X * 4) + 64).astype(np.uint8),
    "uint64": lambda X: (np.round(X * 4) + 64).astype(np.uint64),
    "float16": lambda X: X.astype(np.float16),
    "int64 Fortran": lambda X: np.asfortranarray(np.round(X * 4).astype(np.int64)),
    "int list": lambda X: np.round(X * 4).astype(int).tolist(),
}


@pytest.mark.parametrize("kind", list(EXACT_DTYPES))
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_exactly_convertible_dtypes(data, covariance_type, kind):
    X = EXACT_DTYPES[kind](data)
    values = np.asarray(X).astype(np.float64)
    model = fit(X, covariance_type)
    reference = fit(np.ascontiguousarray(values), covariance_type)
    assert model.means_.dtype == np.float64
    assert_same_fit(model, reference, rtol=1e-10, atol=1e-12)


# float32: attributes stay float32; the fit matches the float64 fit of the same values
# to float32 accuracy (EM run to a tight tolerance so both reach the same optimum).

FLOAT32_LAYOUTS = [
    "C",
    "Fortran",
    "every other row",
    "rows and columns strided",
    "reversed columns",
    "unaligned",
    "read-only",
]


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_float32_matches_float64_of_same_values(data, covariance_type):
    X32 = data.astype(np.float32)
    model = fit(X32, covariance_type, tol=1e-6, max_iter=500)
    reference = fit(X32.astype(np.float64), covariance_type, tol=1e-6, max_iter=500)
    for name in PARAMETERS:
        assert getattr(model, name).dtype == np.float32, name
    for name in PARAMETERS:
        np.testing.assert_allclose(
            getattr(model, name),
            getattr(reference, name),
            rtol=1e-3,
            atol=1e-4,
            err_msg=name,
        )
    np.testing.assert_allclose(model.lower_bound_, reference.lower_bound_, rtol=1e-4)
    np.testing.assert_array_equal(model.predict(X32), reference.predict(X32))


def test_float32_full_iterations_match_float64():
    """Full covariances on float32 data run their products in float32 (issue 13):
    from the same start, with fixed iterations, the lower bound stays within
    1e-6 relative of the float64 fit of the same values, the parameters within
    float32 accuracy."""
    rng = np.random.default_rng(13)
    n, d, k = 40_000, 16, 6
    centres = rng.normal(scale=3.0, size=(k, d)) + 50.0
    X = (centres[rng.integers(k, size=n)] + rng.normal(size=(n, d)))
    X32 = X.astype(np.float32)
    start = dict(n_components=k, covariance_type="full", tol=0.0, max_iter=10,
                 means_init=centres + 0.5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        single = GaussianMixture(**start).fit(X32)
        double = GaussianMixture(**start).fit(X32.astype(np.float64))
    assert single.means_.dtype == np.float32
    lower = np.float64(single.lower_bound_)
    assert abs(lower - double.lower_bound_) <= 1e-6 * abs(double.lower_bound_)
    for name in ("weights_", "means_", "covariances_"):
        expected = getattr(double, name)
        np.testing.assert_allclose(getattr(single, name), expected, rtol=0,
                                   atol=1e-5 * np.abs(expected).max(), err_msg=name)


@pytest.mark.parametrize("layout", FLOAT32_LAYOUTS)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_float32_layouts_agree(data, covariance_type, layout):
    X32 = data.astype(np.float32)
    reference = fit(np.ascontiguousarray(X32), covariance_type)
    X = LAYOUTS[layout](X32)
    assert X.dtype == np.float32
    model = fit(X, covariance_type)
    for name in PARAMETERS:
        assert getattr(model, name).dtype == np.float32, name
    assert_same_fit(model, reference, rtol=1e-6, atol=1e-7)


def test_float32_big_endian(data):
    X32 = data.astype(np.float32)
    reference = fit(X32, "full")
    model = fit(_big_endian(X32), "full")
    assert model.means_.dtype == np.float32
    assert_same_fit(model, reference, rtol=1e-6, atol=1e-7)


def test_dataframe(data, reference_fits):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(data, columns=["a", "b", "c"])
    model = fit(frame, "full")
    assert_same_fit(model, reference_fits["full"], rtol=1e-10, atol=1e-12)
    assert list(model.feature_names_in_) == ["a", "b", "c"]
    np.testing.assert_array_equal(model.predict(frame), model.predict(data))
    frame32 = frame.astype(np.float32)
    assert fit(frame32, "full").means_.dtype == np.float32

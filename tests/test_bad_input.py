"""Bad input at every entry point: a clear error, and the caller's data left alone.

Issue 4, item 1: NaN/inf, wrong number of dimensions, zero samples or features, fewer
samples than components, strings, complex numbers, object arrays, sparse matrices,
wrong n_features at predict, invalid constructor parameters and invalid initial
values all raise ValueError/TypeError (scikit-learn's own classes where it has one)
with a message that says what was wrong; the caller's arrays are never modified and
read-only arrays are accepted.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.mixture import GaussianMixture as SklearnGaussianMixture
from sklearn.utils._param_validation import InvalidParameterError

from fastgmm import GaussianMixture

FIT_ENTRIES = ["fit", "fit_predict"]
PREDICT_ENTRIES = ["predict", "predict_proba", "score", "score_samples", "aic", "bic"]
X_ENTRIES = FIT_ENTRIES + PREDICT_ENTRIES
COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]


def make_data(n_samples=40, seed=0):
    rng = np.random.default_rng(seed)
    centers = np.array([[0.0, 0.0, 0.0], [6.0, 6.0, 6.0]])
    return centers[np.arange(n_samples) % 2] + rng.normal(size=(n_samples, 3))


@pytest.fixture(scope="module")
def fitted():
    return GaussianMixture(n_components=2, random_state=0).fit(make_data())


def snapshot(value):
    """A deep copy of what the caller passed, to compare with afterwards."""
    if scipy.sparse.issparse(value):
        return value.copy()
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, list):
        return [snapshot(item) for item in value]
    return value


def assert_unchanged(before, after):
    if scipy.sparse.issparse(before):
        assert type(after) is type(before)
        assert (before != after).nnz == 0
    elif isinstance(before, np.ndarray):
        assert after.dtype == before.dtype
        assert after.shape == before.shape
        if before.dtype.kind in "fc":
            np.testing.assert_array_equal(after, before)  # NaN == NaN here
        else:
            assert np.array_equal(after, before)
    elif isinstance(before, list):
        assert len(after) == len(before)
        for item_before, item_after in zip(before, after, strict=True):
            assert_unchanged(item_before, item_after)
    else:
        assert after is before or after == before


def call(entry, X, fitted, **params):
    if entry in FIT_ENTRIES:
        params.setdefault("n_components", 2)
        params.setdefault("random_state", 0)
        model = GaussianMixture(**params)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return getattr(model, entry)(X)
    return getattr(fitted, entry)(X)


def read_only(array):
    array = np.array(array)
    array.setflags(write=False)
    return array


# ------------------------------------------------------------------- bad X


def _with_value(value):
    def make():
        X = make_data()
        X[3, 1] = value
        return X

    return make


def _object_array(value):
    def make():
        X = make_data().astype(object)
        X[3, 1] = value
        return X

    return make


def _object_array_with_sequence():
    X = make_data().astype(object)
    X[3, 1] = [1.0, 2.0]
    return X


BAD_X = [
    # id, factory, exception, message fragment (regex)
    ("nan", _with_value(np.nan), ValueError, r"NaN"),
    ("inf", _with_value(np.inf), ValueError, r"infinity"),
    ("-inf", _with_value(-np.inf), ValueError, r"infinity"),
    ("1-d", lambda: make_data()[:, 0].copy(), ValueError, r"2D|2-D|dimension"),
    ("3-d", lambda: make_data().reshape(40, 3, 1), ValueError, r"dim 3|3D|dimension"),
    ("0-d", lambda: np.float64(1.5), ValueError, r"2D|scalar"),
    ("none", lambda: None, ValueError, r"2D|scalar|None"),
    ("zero samples", lambda: np.empty((0, 3)), ValueError, r"0 sample"),
    ("zero features", lambda: np.empty((40, 0)), ValueError, r"0 feature"),
    ("strings", lambda: np.array([["a", "b", "c"]] * 40), ValueError, r"string"),
    ("complex", lambda: make_data() + 1j, ValueError, r"[Cc]omplex"),
    ("object with string", _object_array("abc"), ValueError, r"string"),
    ("object with None", _object_array(None), ValueError, r"NaN|None"),
    (
        "object with list",
        _object_array_with_sequence,
        ValueError,
        r"sequence|inhomogeneous",
    ),
    (
        "ragged list",
        lambda: [[1.0, 2.0, 3.0], [1.0, 2.0]] * 20,
        ValueError,
        r"sequence|inhomogeneous",
    ),
    (
        "sparse csr",
        lambda: scipy.sparse.csr_matrix(make_data()),
        TypeError,
        r"[Ss]parse.*dense",
    ),
    (
        "sparse csc",
        lambda: scipy.sparse.csc_matrix(make_data()),
        TypeError,
        r"[Ss]parse.*dense",
    ),
    (
        "sparse coo",
        lambda: scipy.sparse.coo_matrix(make_data()),
        TypeError,
        r"[Ss]parse.*dense",
    ),
    (
        "sparse array",
        lambda: scipy.sparse.csr_array(make_data()),
        TypeError,
        r"[Ss]parse.*dense",
    ),
]


def _bad_x_cases():
    """Each bad X as given, and again read-only where it is an array."""
    cases = []
    for name, make, error, fragment in BAD_X:
        cases.append(pytest.param(make, error, fragment, True, id=name))
        if isinstance(make(), np.ndarray):
            cases.append(
                pytest.param(make, error, fragment, False, id=f"{name}, read-only")
            )
    return cases


@pytest.mark.parametrize("make, error, fragment, writeable", _bad_x_cases())
@pytest.mark.parametrize("entry", X_ENTRIES)
def test_bad_X(fitted, entry, make, error, fragment, writeable):
    X = make()
    if not writeable:
        X.setflags(write=False)
    before = snapshot(X)
    means_before = fitted.means_.copy()
    with pytest.raises(error, match=fragment):
        call(entry, X, fitted)
    assert_unchanged(before, X)
    np.testing.assert_array_equal(fitted.means_, means_before)


@pytest.mark.parametrize("entry", PREDICT_ENTRIES)
@pytest.mark.parametrize("n_features", [1, 2, 4])
def test_wrong_n_features_at_predict(fitted, entry, n_features):
    X = make_data()[:, :1].repeat(n_features, axis=1)
    before = X.copy()
    with pytest.raises(ValueError, match=rf"{n_features} features.*expecting 3"):
        call(entry, X, fitted)
    assert_unchanged(before, X)


@pytest.mark.parametrize("entry", FIT_ENTRIES)
def test_one_sample_cannot_be_fitted(fitted, entry):
    X = make_data()[:1]
    with pytest.raises(ValueError, match=r"1 sample"):
        call(entry, X, fitted, n_components=1)


@pytest.mark.parametrize("entry", FIT_ENTRIES)
@pytest.mark.parametrize("n_samples, n_components", [(3, 5), (2, 3), (9, 10)])
def test_fewer_samples_than_components(fitted, entry, n_samples, n_components):
    X = read_only(make_data()[:n_samples])
    before = X.copy()
    with pytest.raises(ValueError, match=r"n_samples >= n_components|n_components"):
        call(entry, X, fitted, n_components=n_components)
    assert_unchanged(before, X)


@pytest.mark.parametrize("entry", PREDICT_ENTRIES + ["sample"])
def test_not_fitted(entry):
    model = GaussianMixture(n_components=2)
    argument = 5 if entry == "sample" else make_data()
    with pytest.raises(NotFittedError, match="not fitted"):
        getattr(model, entry)(argument)


@pytest.mark.parametrize("n_samples", [0, -1, -100])
def test_sample_non_positive(fitted, n_samples):
    with pytest.raises(ValueError, match="n_samples"):
        fitted.sample(n_samples)


@pytest.mark.parametrize("n_samples", ["a", None, 2.5, np.nan, [3]])
def test_sample_wrong_type(fitted, n_samples):
    with pytest.raises((TypeError, ValueError), match="n_samples"):
        fitted.sample(n_samples)


# ------------------------------------------------------- readonly and unchanged


@pytest.mark.parametrize("entry", X_ENTRIES)
def test_read_only_X_works_and_is_unchanged(fitted, entry):
    X = read_only(make_data())
    before = X.copy()
    result = call(entry, X, fitted)
    assert_unchanged(before, X)
    expected = call(entry, make_data(), fitted)
    if entry == "fit":
        np.testing.assert_array_equal(result.means_, fitted.means_)
    else:
        np.testing.assert_array_equal(result, expected)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_fit_does_not_change_X_or_initial_values(covariance_type, dtype):
    X = make_data().astype(dtype)
    init = {
        "weights_init": np.array([0.4, 0.6], dtype=dtype),
        "means_init": np.array([[0.5, 0.0, 0.0], [5.0, 6.0, 6.5]], dtype=dtype),
        "precisions_init": valid_precisions(covariance_type).astype(dtype),
    }
    for value in [X, *init.values()]:
        value.setflags(write=False)
    before = {name: value.copy() for name, value in init.items()}
    X_before = X.copy()
    model = GaussianMixture(
        n_components=2, covariance_type=covariance_type, random_state=0, **init
    )
    model.fit(X)
    model.predict(X)
    assert_unchanged(X_before, X)
    for name, value in init.items():
        assert_unchanged(before[name], value)
    assert np.all(np.isfinite(model.means_))


def test_fit_with_writeable_initial_values_does_not_change_them():
    X = make_data()
    means = np.array([[0.5, 0.0, 0.0], [5.0, 6.0, 6.5]])
    weights = [0.4, 0.6]
    means_before, weights_before = means.copy(), list(weights)
    GaussianMixture(
        n_components=2, means_init=means, weights_init=weights, random_state=0
    ).fit(X)
    assert_unchanged(means_before, means)
    assert weights == weights_before


# ---------------------------------------------------- constructor parameters

INVALID_PARAMS = [
    ("n_components", 0),
    ("n_components", -1),
    ("n_components", "abc"),
    ("n_components", 2.5),
    ("n_components", None),
    ("covariance_type", "x"),
    ("covariance_type", None),
    ("covariance_type", 1),
    ("tol", -1),
    ("tol", "a"),
    ("tol", np.nan),
    ("reg_covar", -1),
    ("reg_covar", "a"),
    ("reg_covar", np.inf),
    ("max_iter", -1),
    ("max_iter", 1.5),
    ("max_iter", "a"),
    ("n_init", 0),
    ("n_init", 1.5),
    ("init_params", "x"),
    ("init_params", None),
    ("n_jobs", 0),
    ("n_jobs", "a"),
    ("n_jobs", 1.5),
    ("verbose_interval", 0),
    ("verbose", -1),
    ("warm_start", "yes"),
    ("random_state", "a"),
    ("random_state", -1),
]


@pytest.mark.parametrize(
    "name, value", INVALID_PARAMS, ids=[f"{n}={v!r}" for n, v in INVALID_PARAMS]
)
@pytest.mark.parametrize("entry", FIT_ENTRIES)
def test_invalid_constructor_parameter(fitted, entry, name, value):
    X = read_only(make_data())
    before = X.copy()
    with pytest.raises(InvalidParameterError, match=rf"'{name}' parameter"):
        call(entry, X, fitted, **{name: value})
    assert_unchanged(before, X)


# ----------------------------------------------------------- initial values


def valid_precisions(covariance_type, n_components=2, n_features=3):
    return {
        "full": np.stack([np.eye(n_features)] * n_components),
        "tied": np.eye(n_features),
        "diag": np.ones((n_components, n_features)),
        "spherical": np.ones(n_components),
    }[covariance_type]


INVALID_WEIGHTS = [
    ("too short", [1.0], r"weights.*shape"),
    ("too long", [0.2, 0.3, 0.5], r"weights.*shape"),
    ("2-d", [[0.5, 0.5]], r"weights.*(shape|dimension)"),
    ("negative", [-0.5, 1.5], r"weights.*range"),
    ("sum below 1", [0.3, 0.3], r"weights.*normali[sz]ed"),
    ("sum above 1", [0.7, 0.7], r"weights.*normali[sz]ed"),
    ("nan", [np.nan, 0.5], r"weights.*NaN"),
    ("inf", [np.inf, 0.5], r"weights.*(infinity|range)"),
    ("strings", ["a", "b"], r"weights.*string"),
]


@pytest.mark.parametrize(
    "weights, fragment",
    [case[1:] for case in INVALID_WEIGHTS],
    ids=[case[0] for case in INVALID_WEIGHTS],
)
@pytest.mark.parametrize("entry", FIT_ENTRIES)
def test_invalid_weights_init(fitted, entry, weights, fragment):
    weights = np.array(weights)
    before = weights.copy()
    with pytest.raises(ValueError, match=fragment):
        call(entry, make_data(), fitted, weights_init=weights)
    assert_unchanged(before, weights)


INVALID_MEANS = [
    ("too many features", np.zeros((2, 4)), r"means.*shape"),
    ("too few features", np.zeros((2, 2)), r"means.*shape"),
    ("too many components", np.zeros((3, 3)), r"means.*shape"),
    ("1-d", np.zeros(6), r"means.*(shape|dimension)"),
    ("3-d", np.zeros((2, 3, 1)), r"means.*(shape|dimension)"),
    ("nan", np.array([[np.nan, 0, 0], [1, 1, 1]]), r"means.*NaN"),
    ("inf", np.array([[np.inf, 0, 0], [1, 1, 1]]), r"means.*infinity"),
]


@pytest.mark.parametrize(
    "means, fragment",
    [case[1:] for case in INVALID_MEANS],
    ids=[case[0] for case in INVALID_MEANS],
)
@pytest.mark.parametrize("entry", FIT_ENTRIES)
def test_invalid_means_init(fitted, entry, means, fragment):
    before = means.copy()
    with pytest.raises(ValueError, match=fragment):
        call(entry, make_data(), fitted, means_init=means)
    assert_unchanged(before, means)


def _invalid_precisions():
    cases = []
    for covariance_type in COVARIANCE_TYPES:
        good = valid_precisions(covariance_type)
        cases.append((covariance_type, "wrong shape", good[..., :-1], "shape"))
        cases.append((covariance_type, "extra axis", good[None], "shape|dimension"))
        cases.append((covariance_type, "negative", -good, "positive"))
        nan = good.copy()
        nan.flat[0] = np.nan
        cases.append((covariance_type, "nan", nan, "NaN"))
        if covariance_type in ("full", "tied"):
            asymmetric = good.copy()
            asymmetric[..., 0, 1] = 0.5
            cases.append((covariance_type, "not symmetric", asymmetric, "symmetric"))
            singular = good.copy()
            singular[..., 0, 0] = 0.0
            cases.append((covariance_type, "singular", singular, "positive"))
            indefinite = good.copy()
            indefinite[..., 0, 1] = indefinite[..., 1, 0] = 2.0
            cases.append((covariance_type, "indefinite", indefinite, "positive"))
        else:
            zero = good.copy()
            zero.flat[-1] = 0.0
            cases.append((covariance_type, "zero", zero, "positive"))
    return cases


INVALID_PRECISIONS = _invalid_precisions()


@pytest.mark.parametrize(
    "covariance_type, precisions, fragment",
    [(c[0], c[2], c[3]) for c in INVALID_PRECISIONS],
    ids=[f"{c[0]}-{c[1]}" for c in INVALID_PRECISIONS],
)
@pytest.mark.parametrize("entry", FIT_ENTRIES)
def test_invalid_precisions_init(fitted, entry, covariance_type, precisions, fragment):
    before = precisions.copy()
    with pytest.raises(ValueError, match=rf"precision.*({fragment})"):
        call(
            entry,
            make_data(),
            fitted,
            covariance_type=covariance_type,
            precisions_init=precisions,
        )
    assert_unchanged(before, precisions)


# ----------------------------------------- scikit-learn's words for bad initial values


def sklearn_error(**params):
    """scikit-learn's own message for initial values it rejects."""
    with pytest.raises(ValueError) as info:
        SklearnGaussianMixture(n_components=2, **params).fit(make_data())
    return str(info.value)


# scikit-learn rejects these 3-d arrays in check_array ("Found array with dim 3, while
# dim <= 2 is required."); fastgmm reports the wrong shape, which says what is expected.
SKLEARN_SAYS_DIM = {"means_init-3-d"} | {
    f"precisions_init-{c}-extra axis" for c in ("tied", "diag")
}

INITIAL_VALUE_CASES = [
    pytest.param(param, covariance_type, value, id=f"{param}-{name}")
    for param, covariance_type, name, value in (
        [("weights_init", "full", name, np.array(v)) for name, v, _ in INVALID_WEIGHTS]
        + [("means_init", "full", name, v) for name, v, _ in INVALID_MEANS]
        + [("precisions_init", c[0], f"{c[0]}-{c[1]}", c[2])
           for c in INVALID_PRECISIONS]
    )
    if f"{param}-{name}" not in SKLEARN_SAYS_DIM
]


@pytest.mark.parametrize("param, covariance_type, value", INITIAL_VALUE_CASES)
def test_initial_value_errors_contain_sklearns_words(param, covariance_type, value):
    expected = sklearn_error(covariance_type=covariance_type, **{param: value})
    with pytest.raises(ValueError) as info:
        GaussianMixture(
            n_components=2, covariance_type=covariance_type, **{param: value}
        ).fit(make_data())
    assert expected in str(info.value)


@pytest.mark.parametrize(
    "param, covariance_type, value, message",
    [
        ("means_init", "full", np.zeros((3, 3)),
         "The parameter 'means' should have the shape of (2, 3), but got (3, 3)"),
        ("weights_init", "full", np.full((2, 1), 0.5),
         "The parameter 'weights' should have the shape of (2,), but got (2, 1)"),
        ("precisions_init", "full", np.ones((3, 3, 3)),
         "The parameter 'full precision' should have the shape of (2, 3, 3), "
         "but got (3, 3, 3)"),
        ("precisions_init", "spherical", np.ones(3),
         "The parameter 'spherical precision' should have the shape of (2,), "
         "but got (3,)"),
        ("weights_init", "full", np.array([0.3, 0.3]),
         "The parameter 'weights' should be normalized, "
         "but got sum(weights) = 0.60000"),
        ("precisions_init", "tied", -np.eye(3),
         "'tied precision' should be symmetric, positive-definite"),
        ("precisions_init", "diag", -np.ones((2, 3)),
         "'diag precision' should be positive"),
    ],
)
def test_initial_value_errors_start_with_sklearns_text(
    param, covariance_type, value, message
):
    """The texts code in the wild matches, verbatim at the start of the message;
    fastgmm's note on which parameter was wrong comes after."""
    with pytest.raises(ValueError) as info:
        GaussianMixture(
            n_components=2, covariance_type=covariance_type, **{param: value}
        ).fit(make_data())
    assert str(info.value).startswith(message)
    assert param in str(info.value)

"""Persistence: pickle, and GaussianMixture.save / BayesianGaussianMixture.save /
fastgmm.load to a portable .npz file.

Every round trip must give back a model whose parameters, fitted attributes (dtypes
included) and predictions are exactly those of the original. Every damaged, altered or
foreign file must raise ValueError naming the problem, and never run code from the file.
"""

import io
import json
import pickle
import warnings
import zipfile

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning, NotFittedError

import fastgmm
from fastgmm import BayesianGaussianMixture, GaussianMixture

COVARIANCE_TYPES = ["full", "tied", "diag", "spherical"]
FITTED_ARRAYS = [
    "weights_",
    "means_",
    "covariances_",
    "precisions_",
    "precisions_cholesky_",
]
FITTED_SCALARS = ["converged_", "n_iter_", "lower_bound_", "n_features_in_"]


def make_data(n_samples=150, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    centers = np.array([[0.0, 0.0, 0.0], [5.0, 5.0, 0.0], [0.0, 6.0, 6.0]])
    labels = rng.integers(0, 3, size=n_samples)
    X = centers[labels] + rng.normal(scale=[1.0, 0.5, 1.5], size=(n_samples, 3))
    return X.astype(dtype)


def fit_model(covariance_type="full", dtype=np.float64, **params):
    X = make_data(dtype=dtype)
    params.setdefault("n_components", 3)
    params.setdefault("random_state", 0)
    model = GaussianMixture(covariance_type=covariance_type, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X)
    return model, X


def assert_same_params(a, b):
    params_a, params_b = a.get_params(deep=False), b.get_params(deep=False)
    assert params_a.keys() == params_b.keys()
    for name, value in params_a.items():
        other = params_b[name]
        if isinstance(value, np.random.RandomState):
            assert isinstance(other, np.random.RandomState), name
            state_a, state_b = value.get_state(), other.get_state()
            assert state_a[0] == state_b[0]
            np.testing.assert_array_equal(state_a[1], state_b[1])
            assert state_a[2:] == state_b[2:], name
        elif isinstance(value, (np.ndarray, list, tuple)):
            np.testing.assert_array_equal(np.asarray(other), np.asarray(value))
        else:
            assert type(other) is type(value), (name, value, other)
            assert other == value, name


def assert_same_model(original, loaded, X):
    """Same class, parameters, fitted attributes (value, dtype, type) and outputs."""
    assert type(loaded) is type(original)
    assert_same_params(original, loaded)
    for name in FITTED_ARRAYS:
        expected, actual = getattr(original, name), getattr(loaded, name)
        assert isinstance(actual, np.ndarray), name
        assert actual.dtype == expected.dtype, name
        assert actual.shape == expected.shape, name
        np.testing.assert_array_equal(actual, expected, err_msg=name)
    for name in FITTED_SCALARS:
        expected, actual = getattr(original, name), getattr(loaded, name)
        assert actual == expected, name
        assert np.asarray(actual).dtype == np.asarray(expected).dtype, name
    assert type(loaded.converged_) is bool
    assert isinstance(loaded.n_iter_, int)
    assert isinstance(loaded.n_features_in_, int)
    assert type(loaded.lower_bounds_) is type(original.lower_bounds_)
    assert len(loaded.lower_bounds_) == len(original.lower_bounds_)
    np.testing.assert_array_equal(
        np.asarray(loaded.lower_bounds_), np.asarray(original.lower_bounds_)
    )
    assert hasattr(loaded, "feature_names_in_") == hasattr(
        original, "feature_names_in_"
    )
    if hasattr(original, "feature_names_in_"):
        np.testing.assert_array_equal(
            loaded.feature_names_in_, original.feature_names_in_
        )
        assert loaded.feature_names_in_.dtype == original.feature_names_in_.dtype

    np.testing.assert_array_equal(loaded.predict(X), original.predict(X))
    np.testing.assert_array_equal(loaded.predict_proba(X), original.predict_proba(X))
    np.testing.assert_array_equal(loaded.score_samples(X), original.score_samples(X))
    assert loaded.score(X) == original.score(X)
    if hasattr(original, "bic"):  # GaussianMixture only
        assert loaded.aic(X) == original.aic(X)
        assert loaded.bic(X) == original.bic(X)


# ----------------------------------------------------------------- round trips


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_save_load_round_trip(tmp_path, covariance_type, dtype):
    model, X = fit_model(covariance_type, dtype)
    assert model.means_.dtype == dtype  # float32 in, float32 attributes out
    path = tmp_path / "model.npz"
    model.save(path)
    loaded = fastgmm.load(path)
    assert_same_model(model, loaded, X)
    assert not hasattr(loaded, "feature_names_in_")
    # Same random_state (an int) gives the same samples.
    sample_original, labels_original = model.sample(7)
    sample_loaded, labels_loaded = loaded.sample(7)
    np.testing.assert_array_equal(sample_loaded, sample_original)
    np.testing.assert_array_equal(labels_loaded, labels_original)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_round_trip_keeps_init_arrays_and_random_state_instance(
    tmp_path, covariance_type
):
    X = make_data()
    precisions = {
        "full": np.stack([np.eye(3)] * 3),
        "tied": np.eye(3),
        "diag": np.ones((3, 3)),
        "spherical": np.ones(3),
    }[covariance_type]
    model = GaussianMixture(
        n_components=3,
        covariance_type=covariance_type,
        weights_init=np.array([0.2, 0.3, 0.5]),
        means_init=np.array([[0.0, 0.0, 0.0], [5.0, 5.0, 0.0], [0.0, 6.0, 6.0]]),
        precisions_init=precisions,
        random_state=np.random.RandomState(42),
        tol=1e-5,
        reg_covar=1e-5,
        max_iter=50,
        verbose_interval=3,
    ).fit(X)
    path = tmp_path / "model.npz"
    model.save(path)
    loaded = fastgmm.load(path)
    assert_same_model(model, loaded, X)
    # The RandomState was saved in the state it had at save time, so both draw the
    # same samples next.
    np.testing.assert_array_equal(loaded.sample(9)[0], model.sample(9)[0])


def test_round_trip_random_state_none_and_non_default_params(tmp_path):
    model, X = fit_model("diag", random_state=None, n_init=2, init_params="random")
    path = tmp_path / "model.npz"
    model.save(path)
    loaded = fastgmm.load(path)
    assert loaded.random_state is None
    assert loaded.n_init == 2 and loaded.init_params == "random"
    assert_same_model(model, loaded, X)


def test_round_trip_n_jobs(tmp_path):
    model, X = fit_model("full", n_jobs=1)
    path = tmp_path / "model.npz"
    model.save(path)
    loaded = fastgmm.load(path)
    assert loaded.n_jobs == 1
    assert_same_model(model, loaded, X)


def test_loaded_model_warm_starts_like_the_original(tmp_path):
    model, X = fit_model("full", warm_start=True, max_iter=2, tol=0.0)
    path = tmp_path / "model.npz"
    model.save(path)
    loaded = fastgmm.load(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X)
        loaded.fit(X)
    assert_same_model(model, loaded, X)


def test_max_iter_zero_model_round_trips(tmp_path):
    # lower_bound_ is -inf and lower_bounds_ empty after max_iter=0.
    model, X = fit_model("full", max_iter=0)
    path = tmp_path / "model.npz"
    model.save(path)
    loaded = fastgmm.load(path)
    assert_same_model(model, loaded, X)


def test_round_trip_dataframe_keeps_feature_names(tmp_path):
    pd = pytest.importorskip("pandas")
    X = make_data()
    frame = pd.DataFrame(X, columns=["height", "width", "depth"])
    model = GaussianMixture(n_components=3, random_state=0).fit(frame)
    assert list(model.feature_names_in_) == ["height", "width", "depth"]
    path = tmp_path / "model.npz"
    model.save(path)
    loaded = fastgmm.load(path)
    assert_same_model(model, loaded, frame)


def test_round_trip_through_file_object():
    model, X = fit_model("tied")
    buffer = io.BytesIO()
    model.save(buffer)
    buffer.seek(0)
    loaded = fastgmm.load(buffer)
    assert_same_model(model, loaded, X)


def test_save_writes_exactly_the_given_path(tmp_path):
    model, X = fit_model("spherical")
    path = tmp_path / "model.gmm"
    model.save(str(path))
    assert path.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.gmm"]
    assert_same_model(model, fastgmm.load(str(path)), X)


def test_save_overwrites_an_existing_file(tmp_path):
    path = tmp_path / "model.npz"
    path.write_text("old content")
    model, X = fit_model("diag")
    model.save(path)
    assert_same_model(model, fastgmm.load(path), X)


def test_file_is_a_plain_npz_without_objects(tmp_path):
    model, _ = fit_model("full")
    path = tmp_path / "model.npz"
    model.save(path)
    with zipfile.ZipFile(path) as archive:
        assert all(name.endswith(".npy") for name in archive.namelist())
    with np.load(path, allow_pickle=False) as data:
        members = {name: data[name] for name in data.files}
    assert not any(array.dtype.hasobject for array in members.values())
    assert str(members["format"]) == "fastgmm.GaussianMixture"
    assert int(members["format_version"]) == 1
    params = json.loads(str(members["params"]))
    assert params["n_components"] == 3
    assert params["covariance_type"] == "full"
    np.testing.assert_array_equal(members["means_"], model.means_)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_pickle_round_trip(covariance_type, dtype):
    model, X = fit_model(covariance_type, dtype)
    loaded = pickle.loads(pickle.dumps(model))
    assert_same_model(model, loaded, X)


def test_model_fitted_by_scikit_learn_loads_into_fastgmm(tmp_path):
    from sklearn.mixture import GaussianMixture as SklearnGaussianMixture

    from fastgmm._persistence import save_model

    X = make_data()
    original = SklearnGaussianMixture(n_components=3, random_state=0).fit(X)
    path = tmp_path / "model.npz"
    save_model(original, path)
    loaded = fastgmm.load(path)
    assert type(loaded) is GaussianMixture
    for name in FITTED_ARRAYS:
        np.testing.assert_array_equal(getattr(loaded, name), getattr(original, name))
    np.testing.assert_array_equal(loaded.predict(X), original.predict(X))
    np.testing.assert_allclose(
        loaded.score_samples(X), original.score_samples(X), rtol=1e-10
    )


def test_big_endian_file_loads(saved_full, tmp_path):
    """A file written on a big-endian machine holds big-endian arrays."""

    def to_big_endian(members):
        for name, array in members.items():
            if array.dtype.kind in "biuf" and array.dtype.itemsize > 1:
                members[name] = array.astype(array.dtype.newbyteorder(">"))

    loaded = fastgmm.load(altered(saved_full, tmp_path, to_big_endian))
    reference = fastgmm.load(saved_full[0])
    X = make_data()
    for name in FITTED_ARRAYS:
        assert getattr(loaded, name).dtype.isnative
        np.testing.assert_array_equal(getattr(loaded, name), getattr(reference, name))
    np.testing.assert_array_equal(loaded.predict_proba(X), reference.predict_proba(X))


def test_save_refuses_unportable_parameter(tmp_path):
    model, _ = fit_model("full")
    model.set_params(random_state=np.random.default_rng(0))
    path = tmp_path / "model.npz"
    with pytest.raises(ValueError, match="random_state"):
        model.save(path)
    assert not path.exists()


def test_save_unfitted_model_raises_not_fitted(tmp_path):
    path = tmp_path / "model.npz"
    with pytest.raises(NotFittedError, match="not fitted"):
        GaussianMixture(n_components=2).save(path)
    assert not path.exists()


def test_load_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        fastgmm.load(tmp_path / "missing.npz")


# ------------------------------------------------------- damaged or foreign files


@pytest.fixture(scope="module")
def saved_full(tmp_path_factory):
    """A valid 'full' model file, its bytes and its members."""
    model, _ = fit_model("full")
    path = tmp_path_factory.mktemp("saved") / "model.npz"
    model.save(path)
    with np.load(path, allow_pickle=False) as data:
        members = {name: data[name] for name in data.files}
    return path, path.read_bytes(), members


def write_members(path, members):
    with open(path, "wb") as file:
        np.savez(file, **members)
    return path


def altered(saved, tmp_path, change):
    """Write a copy of the saved members after change(members) edits them."""
    members = {name: array.copy() for name, array in saved[2].items()}
    change(members)
    return write_members(tmp_path / "altered.npz", members)


def test_unaltered_copy_loads(saved_full, tmp_path):
    # The rewriting helper itself produces loadable files.
    fastgmm.load(altered(saved_full, tmp_path, lambda members: None))


@pytest.mark.parametrize("fraction", [0.0, 0.001, 0.25, 0.5, 0.9, 0.999])
def test_truncated_file(saved_full, tmp_path, fraction):
    content = saved_full[1]
    path = tmp_path / "truncated.npz"
    path.write_bytes(content[: int(len(content) * fraction)])
    with pytest.raises(ValueError, match="truncated|corrupted|not a fastgmm"):
        fastgmm.load(path)


@pytest.mark.parametrize("position", [0.3, 0.5, 0.7])
def test_corrupted_bytes(saved_full, tmp_path, position):
    content = bytearray(saved_full[1])
    start = int(len(content) * position)
    for i in range(start, start + 8):
        content[i] ^= 0xFF
    path = tmp_path / "corrupted.npz"
    path.write_bytes(bytes(content))
    with pytest.raises(ValueError, match="fastgmm model file|corrupted|member"):
        fastgmm.load(path)


REQUIRED_MEMBERS = [
    "format_version",
    "params",
    "info",
    "weights_",
    "means_",
    "covariances_",
    "precisions_",
    "precisions_cholesky_",
    "converged_",
    "n_iter_",
    "lower_bound_",
    "lower_bounds_",
    "n_features_in_",
]


@pytest.mark.parametrize("member", REQUIRED_MEMBERS)
def test_missing_member(saved_full, tmp_path, member):
    path = altered(saved_full, tmp_path, lambda members: members.pop(member))
    with pytest.raises(ValueError, match=member):
        fastgmm.load(path)


def test_missing_format_marker_is_foreign(saved_full, tmp_path):
    path = altered(saved_full, tmp_path, lambda members: members.pop("format"))
    with pytest.raises(ValueError, match="not a fastgmm model file.*format"):
        fastgmm.load(path)


def set_member(name, value):
    def change(members):
        members[name] = np.asarray(value)

    return change


@pytest.mark.parametrize(
    "name, make",
    [
        ("means_", lambda m: m[:, :-1]),
        ("means_", lambda m: m[:-1]),
        ("means_", lambda m: m.ravel()),
        ("weights_", lambda w: np.append(w, 0.0)),
        ("weights_", lambda w: w[None]),
        ("covariances_", lambda c: c[:-1]),
        ("covariances_", lambda c: c[0]),
        ("precisions_", lambda p: p[:, :-1]),
        ("precisions_cholesky_", lambda p: p[..., :-1]),
        ("lower_bounds_", lambda b: b[:, None]),
        ("n_iter_", lambda n: np.array([n])),
        ("lower_bound_", lambda b: np.array([b, b])),
    ],
)
def test_changed_shape(saved_full, tmp_path, name, make):
    def change(members):
        members[name] = make(members[name])

    with pytest.raises(ValueError, match=name):
        fastgmm.load(altered(saved_full, tmp_path, change))


@pytest.mark.parametrize(
    "name, make",
    [
        ("means_", lambda m: m.astype(np.int64)),
        ("means_", lambda m: m.astype(np.float16)),
        ("means_", lambda m: m.astype(str)),
        ("means_", lambda m: m.astype(np.complex128)),
        ("covariances_", lambda c: c.astype(np.float32)),
        ("weights_", lambda w: w.astype(str)),
        ("converged_", lambda c: c.astype(np.float64)),
        ("n_iter_", lambda n: n.astype(np.float64)),
        ("format_version", lambda v: np.array("1")),
        ("format_version", lambda v: np.array(1.0)),
        ("params", lambda p: np.array(p.tobytes())),
    ],
)
def test_changed_dtype(saved_full, tmp_path, name, make):
    def change(members):
        members[name] = make(members[name])

    with pytest.raises(ValueError, match=name):
        fastgmm.load(altered(saved_full, tmp_path, change))


def _scale_first(name, factor):
    def change(members):
        members[name] = members[name].copy()
        members[name].flat[0] *= factor

    return change


def _set_first(name, value):
    def change(members):
        members[name] = members[name].copy()
        members[name].flat[0] = value

    return change


def _lower_triangle(members):
    chol = members["precisions_cholesky_"].copy()
    chol[0, 2, 0] = 0.5
    members["precisions_cholesky_"] = chol


def _symmetric_change_to_precisions(members):
    prec = members["precisions_"].copy()
    prec[1, 0, 1] += 0.1
    prec[1, 1, 0] += 0.1
    members["precisions_"] = prec


@pytest.mark.parametrize(
    "change, fragment",
    [
        (_scale_first("weights_", 2.0), "weights_ sum"),
        (_set_first("weights_", -0.1), "weights_"),
        (_set_first("weights_", np.nan), "weights_"),
        (_set_first("means_", np.nan), "means_ contains NaN"),
        (_set_first("means_", np.inf), "means_ contains NaN or inf"),
        (_set_first("covariances_", np.nan), "covariances_"),
        (_lower_triangle, "not upper triangular"),
        (_set_first("precisions_cholesky_", -1.0), "precisions_cholesky_"),
        (_symmetric_change_to_precisions, "precisions_"),
        (_scale_first("covariances_", 1.5), "covariances_"),
        (_scale_first("precisions_cholesky_", 1.01), "precisions_"),
        (set_member("n_features_in_", 4), "n_features_in_"),
        (set_member("lower_bound_", np.nan), "lower_bound_"),
        (set_member("n_iter_", -1), "n_iter_"),
    ],
)
def test_tampered_values(saved_full, tmp_path, change, fragment):
    with pytest.raises(ValueError, match=fragment):
        fastgmm.load(altered(saved_full, tmp_path, change))


def _edit_params(**updates):
    def change(members):
        params = json.loads(str(members["params"]))
        params.update(updates)
        members["params"] = np.array(json.dumps(params))

    return change


@pytest.mark.parametrize(
    "change, fragment",
    [
        (_edit_params(covariance_type="diag"), "shape"),
        (_edit_params(covariance_type="banana"), "covariance_type"),
        (_edit_params(n_components=2), "n_components|shape"),
        (_edit_params(n_components="3"), "n_components"),
        (_edit_params(tol=-1.0), "tol"),
        (_edit_params(init_params="x"), "init_params"),
        (_edit_params(surprise=1), "unknown constructor parameter"),
        (_edit_params(means_init={"a": 1}), "means_init"),
        (set_member("params", "{not json"), "JSON"),
        (set_member("params", "[1, 2]"), "JSON object"),
    ],
)
def test_tampered_params(saved_full, tmp_path, change, fragment):
    with pytest.raises(ValueError, match=fragment):
        fastgmm.load(altered(saved_full, tmp_path, change))


@pytest.mark.parametrize("version", [2, 99, 0, -1])
def test_wrong_version(saved_full, tmp_path, version):
    path = altered(saved_full, tmp_path, set_member("format_version", version))
    with pytest.raises(ValueError, match="version"):
        fastgmm.load(path)


def test_newer_version_says_upgrade(saved_full, tmp_path):
    newer = fastgmm._persistence.FORMAT_VERSION + 1
    path = altered(saved_full, tmp_path, set_member("format_version", newer))
    with pytest.raises(ValueError, match="newer.*upgrade"):
        fastgmm.load(path)


@pytest.mark.parametrize("marker", ["sklearn.GaussianMixture", "", "fastgmm"])
def test_wrong_format_marker(saved_full, tmp_path, marker):
    path = altered(saved_full, tmp_path, set_member("format", marker))
    with pytest.raises(ValueError, match="format marker"):
        fastgmm.load(path)


def test_unexpected_extra_member(saved_full, tmp_path):
    path = altered(saved_full, tmp_path, set_member("extra", np.arange(3)))
    with pytest.raises(ValueError, match="unexpected member.*extra"):
        fastgmm.load(path)


def test_foreign_npz(tmp_path):
    path = write_members(tmp_path / "foreign.npz", {"a": np.arange(3), "b": np.eye(2)})
    with pytest.raises(ValueError, match="not a fastgmm model file"):
        fastgmm.load(path)


def test_zip_with_other_members(saved_full, tmp_path):
    path = tmp_path / "other.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "hello")
        archive.writestr("data.csv", "1,2,3\n")
    with pytest.raises(ValueError, match="not a fastgmm model file"):
        fastgmm.load(path)
    # A valid file with a non-array member added.
    path = tmp_path / "extended.npz"
    path.write_bytes(saved_full[1])
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("notes.txt", "hello")
    with pytest.raises(ValueError, match="notes.txt"):
        fastgmm.load(path)


@pytest.mark.parametrize(
    "content",
    [b"", b"hello, I am a text file\n", b"weights,means\n0.5,1.0\n", b"PK\x03\x04"],
)
def test_text_and_garbage_files(tmp_path, content):
    path = tmp_path / "model.npz"
    path.write_bytes(content)
    with pytest.raises(ValueError, match="not a fastgmm model file|truncated"):
        fastgmm.load(path)


def test_single_npy_array(tmp_path):
    path = tmp_path / "model.npz"
    with open(path, "wb") as file:
        np.save(file, np.eye(3))
    with pytest.raises(ValueError, match="single .npy array"):
        fastgmm.load(path)


class _CreatesFileWhenUnpickled:
    """Unpickling this calls open(path, 'w'): proof that code ran."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def _payload_is_live(tmp_path):
    """Check the payload really creates its file when unpickled."""
    probe = tmp_path / "probe-marker"
    pickle.loads(pickle.dumps(_CreatesFileWhenUnpickled(probe))).close()
    assert probe.exists()


def test_pickle_renamed_npz_runs_no_code(tmp_path):
    _payload_is_live(tmp_path)
    marker = tmp_path / "marker"
    path = tmp_path / "model.npz"
    path.write_bytes(pickle.dumps(_CreatesFileWhenUnpickled(marker)))
    with pytest.raises(ValueError, match="not a fastgmm model file.*pickle"):
        fastgmm.load(path)
    assert not marker.exists()


def test_pickled_model_renamed_npz(tmp_path):
    model, _ = fit_model("diag")
    path = tmp_path / "model.npz"
    path.write_bytes(pickle.dumps(model))
    with pytest.raises(ValueError, match="not a fastgmm model file"):
        fastgmm.load(path)


def test_npy_of_objects_runs_no_code(tmp_path):
    _payload_is_live(tmp_path)
    marker = tmp_path / "marker"
    path = tmp_path / "model.npz"
    with open(path, "wb") as file:
        np.save(file, np.array([_CreatesFileWhenUnpickled(marker)], dtype=object))
    with pytest.raises(ValueError, match="not a fastgmm model file"):
        fastgmm.load(path)
    assert not marker.exists()


@pytest.mark.parametrize("member", ["means_", "extra", "params"])
def test_object_member_runs_no_code(saved_full, tmp_path, member):
    _payload_is_live(tmp_path)
    marker = tmp_path / "marker"
    payload = np.array([_CreatesFileWhenUnpickled(marker)], dtype=object)
    path = altered(saved_full, tmp_path, set_member(member, payload))
    with pytest.raises(ValueError, match=member):
        fastgmm.load(path)
    assert not marker.exists()


def test_forged_header_does_not_allocate(saved_full, tmp_path):
    """A header that claims 10**12 elements must be refused before reading."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (10**12,)}
    )
    forged = header.getvalue() + np.zeros(4).tobytes()
    path = tmp_path / "forged.npz"
    with zipfile.ZipFile(path, "w") as archive:
        for name, array in saved_full[2].items():
            if name == "lower_bounds_":
                archive.writestr(name + ".npy", forged)
            else:
                buffer = io.BytesIO()
                np.save(buffer, array)
                archive.writestr(name + ".npy", buffer.getvalue())
    with pytest.raises(ValueError, match="lower_bounds_"):
        fastgmm.load(path)


@pytest.mark.parametrize("compressed", [True, False])
def test_random_corruption_raises_value_error_or_loads_the_same_model(
    saved_full, compressed
):
    """Flip random bytes (and sometimes truncate): the only outcomes allowed are
    ValueError, or a model identical to the saved one (bytes zip does not read)."""
    if compressed:
        content = saved_full[1]
    else:
        buffer = io.BytesIO()
        np.savez(buffer, **saved_full[2])
        content = buffer.getvalue()
    original = fastgmm.load(io.BytesIO(content))
    rng = np.random.default_rng(7)
    outcomes = {"ValueError": 0, "loaded": 0}
    for _ in range(300):
        damaged = bytearray(content)
        for position in rng.integers(0, len(damaged), size=rng.choice([1, 3, 20])):
            damaged[position] = rng.integers(0, 256)
        if rng.random() < 0.2:
            damaged = damaged[: rng.integers(0, len(damaged))]
        try:
            loaded = fastgmm.load(io.BytesIO(bytes(damaged)))
        except ValueError:
            outcomes["ValueError"] += 1
            continue
        outcomes["loaded"] += 1
        for name in FITTED_ARRAYS:
            np.testing.assert_array_equal(
                getattr(loaded, name), getattr(original, name)
            )
    assert outcomes["ValueError"] > 200


def test_save_refuses_inconsistent_model(tmp_path):
    model, _ = fit_model("full")
    model.weights_ = model.weights_ * 2
    path = tmp_path / "model.npz"
    with pytest.raises(ValueError, match="weights_"):
        model.save(path)
    assert not path.exists()


# ------------------------------------------------------ partial_fit's online state

ONLINE_MEMBERS = [
    "n_steps_",
    "online.s0",
    "online.s1",
    "online.s2",
    "online.centers",
    "online.tied_shift",
    "online.loglik",
    "online.weight",
]
ONLINE_FIELDS = ["s0", "s1", "s2", "centers", "tied_shift", "loglik", "weight"]


def batches(dtype=np.float64):
    X = make_data(n_samples=240, dtype=dtype)
    return X[:80], X[80:160], X[160:]


def assert_bitwise(a, b, name):
    a, b = np.asarray(a), np.asarray(b)
    assert (a.dtype, a.shape) == (b.dtype, b.shape), name
    assert a.tobytes() == b.tobytes(), name


def assert_same_online_model(original, loaded):
    """Same fitted arrays and online state, to the last bit."""
    for name in [*FITTED_ARRAYS, "lower_bound_"]:
        assert_bitwise(getattr(loaded, name), getattr(original, name), name)
    assert loaded.n_steps_ == original.n_steps_
    for field in ONLINE_FIELDS:
        assert_bitwise(
            getattr(loaded._online_stats, field),
            getattr(original._online_stats, field),
            field,
        )


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_loaded_model_continues_partial_fit_bitwise(tmp_path, covariance_type, dtype):
    first, second, third = batches(dtype)
    model = GaussianMixture(n_components=3, covariance_type=covariance_type,
                            random_state=0)
    model.partial_fit(first).partial_fit(second)
    path = tmp_path / "model.npz"
    model.save(path)
    loaded = fastgmm.load(path)
    assert_same_online_model(model, loaded)

    model.partial_fit(third)
    loaded.partial_fit(third)
    assert model.n_steps_ == 3
    assert_same_online_model(model, loaded)

    # Without the saved state the next step starts afresh and lands elsewhere.
    stateless = fastgmm.load(path)
    del stateless._online_stats, stateless.n_steps_
    stateless.partial_fit(third)
    assert stateless.n_steps_ == 1
    assert not np.array_equal(stateless.means_, model.means_)


def test_online_state_after_fit_is_saved(tmp_path):
    """partial_fit on a model fitted by fit() (one step so far) round trips too."""
    first, second, third = batches()
    model, _ = fit_model("diag")
    model.partial_fit(first)
    path = tmp_path / "model.npz"
    model.save(path)
    loaded = fastgmm.load(path)
    model.partial_fit(second).partial_fit(third)
    loaded.partial_fit(second).partial_fit(third)
    assert_same_online_model(model, loaded)


def saved_members(model, path):
    model.save(path)
    with np.load(path, allow_pickle=False) as data:
        return {name: data[name] for name in data.files}


def test_model_never_partial_fitted_saves_no_online_state(tmp_path):
    model, _ = fit_model("tied")
    members = saved_members(model, tmp_path / "fitted.npz")
    assert not set(ONLINE_MEMBERS) & set(members)
    assert int(members["format_version"]) == 1  # readable by version-1 readers
    loaded = fastgmm.load(tmp_path / "fitted.npz")
    assert not hasattr(loaded, "_online_stats")
    assert not hasattr(loaded, "n_steps_")

    # fit() after partial_fit() discards the online state, and so does the file.
    model.partial_fit(batches()[0])
    assert int(saved_members(model, tmp_path / "online.npz")["format_version"]) == 2
    model.fit(make_data())
    members = saved_members(model, tmp_path / "refitted.npz")
    assert not set(ONLINE_MEMBERS) & set(members)


@pytest.fixture(scope="module")
def saved_online(tmp_path_factory):
    """A valid 'full' model file with partial_fit's state, and its members."""
    first, second, _ = batches()
    model = GaussianMixture(n_components=3, random_state=0)
    model.partial_fit(first).partial_fit(second)
    path = tmp_path_factory.mktemp("saved") / "online.npz"
    members = saved_members(model, path)
    assert set(ONLINE_MEMBERS) <= set(members)
    return path, path.read_bytes(), members


def test_unaltered_online_copy_loads(saved_online, tmp_path):
    loaded = fastgmm.load(altered(saved_online, tmp_path, lambda members: None))
    assert loaded.n_steps_ == 2


@pytest.mark.parametrize("member", ONLINE_MEMBERS)
def test_missing_online_member(saved_online, tmp_path, member):
    path = altered(saved_online, tmp_path, lambda members: members.pop(member))
    with pytest.raises(ValueError, match=rf"missing member.*{member}"):
        fastgmm.load(path)


def test_online_state_in_a_version_1_file_is_unexpected(saved_online, tmp_path):
    path = altered(saved_online, tmp_path, set_member("format_version", 1))
    with pytest.raises(ValueError, match=r"unexpected member.*online\.s0"):
        fastgmm.load(path)


def _change(name, make):
    def change(members):
        members[name] = make(members[name].copy())

    return change


def _asymmetric(s2):
    s2[0, 0, 1] += 0.1 * np.abs(s2).max()
    return s2


def _flat_set(value, index=0):
    def make(array):
        array.flat[index] = value
        return array

    return make


@pytest.mark.parametrize(
    "change, fragment",
    [
        (_change("online.s0", lambda a: a[:-1]), r"online\.s0.*shape"),
        (_change("online.s1", lambda a: a[:, :-1]), r"online\.s1.*shape"),
        (_change("online.s2", lambda a: a[:, 0]), r"online\.s2.*shape"),
        (_change("online.centers", lambda a: a.T[:2]), r"online\.centers.*shape"),
        (_change("online.tied_shift", lambda a: a[None]), r"online\.tied_shift"),
        (_change("online.weight", lambda a: a[None]), r"online\.weight.*shape"),
        (_change("online.s1", lambda a: a.astype(np.float32)), r"online\.s1.*float64"),
        (_change("online.centers", lambda a: a.astype(np.int64)), r"online\.centers"),
        (_change("online.loglik", lambda a: a.astype(str)), r"online\.loglik"),
        (_change("n_steps_", lambda a: a.astype(np.float64)), "n_steps_"),
        (_change("n_steps_", lambda a: np.array([a])), "n_steps_"),
        (set_member("n_steps_", 0), "n_steps_"),
        (_change("online.s1", _flat_set(np.nan)), r"online\.s1 .*NaN"),
        (_change("online.s2", _flat_set(np.inf)), r"online\.s2 .*inf"),
        (_change("online.centers", _flat_set(-np.inf)), r"online\.centers .*inf"),
        (set_member("online.loglik", np.nan), r"online\.loglik .*NaN"),
        (_change("online.s0", _flat_set(-0.1)), r"online\.s0.*non-negative"),
        (set_member("online.weight", 0.0), r"online\.weight.*positive"),
        (_change("online.s0", lambda a: a * 1.5), r"online\.s0.*sums to"),
        (_change("online.s2", _asymmetric), r"online\.s2.*not symmetric"),
    ],
)
def test_tampered_online_state(saved_online, tmp_path, change, fragment):
    with pytest.raises(ValueError, match=fragment):
        fastgmm.load(altered(saved_online, tmp_path, change))


def test_save_refuses_inconsistent_online_state(tmp_path):
    model = GaussianMixture(n_components=3, random_state=0)
    model.partial_fit(batches()[0])
    path = tmp_path / "model.npz"
    model._online_stats.s1 = model._online_stats.s1.copy()
    model._online_stats.s1[0, 0] = np.nan
    with pytest.raises(ValueError, match=r"Cannot save.*online\.s1"):
        model.save(path)
    del model._online_stats
    with pytest.raises(ValueError, match="Cannot save.*n_steps_"):
        model.save(path)
    assert not path.exists()


# ------------------------------------------------------- BayesianGaussianMixture

PRIOR_TYPES = ["dirichlet_process", "dirichlet_distribution"]
VARIATIONAL_ATTRIBUTES = [
    "weight_concentration_",
    "mean_precision_",
    "degrees_of_freedom_",
    "weight_concentration_prior_",
    "mean_precision_prior_",
    "mean_prior_",
    "degrees_of_freedom_prior_",
    "covariance_prior_",
]
PRIOR_FIELDS = [
    "weight_concentration_prior_type",
    "weight_concentration_prior",
    "mean_precision_prior",
    "mean_prior",
    "degrees_of_freedom_prior",
    "covariance_prior",
]


def fit_bayesian(covariance_type="full", prior_type="dirichlet_process",
                 dtype=np.float64, **params):
    X = make_data(dtype=dtype)
    params.setdefault("n_components", 4)
    params.setdefault("random_state", 0)
    model = BayesianGaussianMixture(
        covariance_type=covariance_type, weight_concentration_prior_type=prior_type,
        **params,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X)
    return model, X


def assert_same_value(actual, expected, name):
    """Same type and the same bits (a tuple: element by element)."""
    assert type(actual) is type(expected), (name, type(actual), type(expected))
    if isinstance(expected, tuple):
        assert len(actual) == len(expected), name
        for part_actual, part_expected in zip(actual, expected, strict=True):
            assert_same_value(part_actual, part_expected, name)
    else:
        assert_bitwise(actual, expected, name)


def assert_same_priors(original, loaded):
    for field in PRIOR_FIELDS:
        assert_same_value(
            getattr(loaded._priors, field), getattr(original._priors, field), field
        )


def assert_same_bayesian_model(original, loaded, X):
    assert_same_model(original, loaded, X)
    for name in VARIATIONAL_ATTRIBUTES:
        assert_same_value(getattr(loaded, name), getattr(original, name), name)


def assert_same_bayesian_online_model(original, loaded):
    assert_same_online_model(original, loaded)
    for name in VARIATIONAL_ATTRIBUTES:
        assert_same_value(getattr(loaded, name), getattr(original, name), name)
    assert_same_value(loaded._online_stats.entropy, original._online_stats.entropy,
                      "entropy")
    assert_same_value(loaded._online_weight, original._online_weight,
                      "_online_weight")
    assert_same_priors(original, loaded)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("prior_type", PRIOR_TYPES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_bayesian_round_trip(tmp_path, covariance_type, prior_type, dtype):
    model, X = fit_bayesian(covariance_type, prior_type, dtype)
    assert model.means_.dtype == dtype
    path = tmp_path / "bayesian.npz"
    model.save(path)
    loaded = fastgmm.load(path)
    assert_same_bayesian_model(model, loaded, X)
    assert_same_priors(model, loaded)
    assert not hasattr(loaded, "n_steps_")
    sample_original, labels_original = model.sample(7)
    sample_loaded, labels_loaded = loaded.sample(7)
    np.testing.assert_array_equal(sample_loaded, sample_original)
    np.testing.assert_array_equal(labels_loaded, labels_original)


def test_bayesian_round_trip_keeps_prior_arrays_and_random_state(tmp_path):
    X = make_data()
    model = BayesianGaussianMixture(
        n_components=3,
        covariance_type="diag",
        weight_concentration_prior=1000,  # an int stays an int
        mean_precision_prior=0.1,
        mean_prior=[1.0, 2.0, 3.0],
        degrees_of_freedom_prior=4.5,
        covariance_prior=np.array([1.0, 2.0, 0.5]),
        random_state=np.random.RandomState(3),
        max_iter=30,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X)
    path = tmp_path / "bayesian.npz"
    members = saved_members(model, path)
    assert {"param.mean_prior", "param.covariance_prior"} <= set(members)
    loaded = fastgmm.load(path)
    assert_same_bayesian_model(model, loaded, X)
    assert type(loaded.weight_concentration_prior_) is int
    np.testing.assert_array_equal(loaded.sample(9)[0], model.sample(9)[0])


def test_bayesian_file_records_the_estimator(tmp_path):
    model, _ = fit_bayesian("tied", "dirichlet_process")
    members = saved_members(model, tmp_path / "bayesian.npz")
    assert str(members["format"]) == "fastgmm.BayesianGaussianMixture"
    assert int(members["format_version"]) == 1  # no online state
    assert not any(array.dtype.hasobject for array in members.values())
    assert not set(ONLINE_MEMBERS) & set(members)
    # the process's two Beta parameters, one row each
    assert members["weight_concentration_"].shape == (2, 4)
    np.testing.assert_array_equal(
        members["weight_concentration_"][1], model.weight_concentration_[1]
    )
    assert members["degrees_of_freedom_"].shape == ()  # one for 'tied'
    assert members["priors.mean_prior"].dtype == np.float64
    assert members["priors.covariance_prior"].shape == (3, 3)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_bayesian_pickle_round_trip(covariance_type, dtype):
    model, X = fit_bayesian(covariance_type, "dirichlet_distribution", dtype)
    loaded = pickle.loads(pickle.dumps(model))
    assert_same_bayesian_model(model, loaded, X)


def test_bayesian_model_fitted_by_scikit_learn_loads_into_fastgmm(tmp_path):
    from sklearn.mixture import BayesianGaussianMixture as SklearnBayesian

    from fastgmm._persistence import save_model

    X = make_data()
    original = SklearnBayesian(n_components=3, random_state=0, max_iter=300).fit(X)
    path = tmp_path / "bayesian.npz"
    save_model(original, path)
    loaded = fastgmm.load(path)
    assert type(loaded) is BayesianGaussianMixture
    # no float64 priors in the file: the model rebuilds them from its attributes
    assert "_priors" not in vars(loaded)
    for name in FITTED_ARRAYS + VARIATIONAL_ATTRIBUTES:
        expected = getattr(original, name)
        actual = getattr(loaded, name)
        np.testing.assert_array_equal(np.asarray(actual), np.asarray(expected), name)
    np.testing.assert_array_equal(loaded.predict(X), original.predict(X))
    np.testing.assert_allclose(
        loaded.score_samples(X), original.score_samples(X), rtol=1e-10
    )


def test_bayesian_save_unfitted_model_raises_not_fitted(tmp_path):
    path = tmp_path / "model.npz"
    with pytest.raises(NotFittedError, match="not fitted"):
        BayesianGaussianMixture(n_components=2).save(path)
    assert not path.exists()


def test_bayesian_save_refuses_inconsistent_model(tmp_path):
    model, _ = fit_bayesian("diag")
    model.mean_precision_ = model.mean_precision_ + 1.0
    path = tmp_path / "model.npz"
    with pytest.raises(ValueError, match="Cannot save.*mean_precision_"):
        model.save(path)
    assert not path.exists()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("prior_type", PRIOR_TYPES)
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_loaded_bayesian_model_continues_partial_fit_bitwise(
    tmp_path, covariance_type, prior_type, dtype
):
    first, second, third = batches(dtype)
    model = BayesianGaussianMixture(
        n_components=3, covariance_type=covariance_type,
        weight_concentration_prior_type=prior_type, random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.partial_fit(first).partial_fit(second)
    path = tmp_path / "bayesian.npz"
    model.save(path)
    loaded = fastgmm.load(path)
    assert_same_bayesian_online_model(model, loaded)

    model.partial_fit(third)
    loaded.partial_fit(third)
    assert model.n_steps_ == 3
    assert_same_bayesian_online_model(model, loaded)

    # The total weight of the batches scales the running statistics in the update.
    weightless = fastgmm.load(path)
    del weightless._online_weight
    weightless.partial_fit(third)
    assert not np.array_equal(weightless.mean_precision_, model.mean_precision_)


def test_float32_model_needs_its_float64_priors_to_continue_bitwise(tmp_path):
    """The attributes hold the priors rounded to float32; a file without the
    float64 priors loads (as a scikit-learn model's would) but its next step
    differs in the last bits."""
    first, second, third = batches(np.float32)
    model = BayesianGaussianMixture(n_components=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.partial_fit(first).partial_fit(second)
    path = tmp_path / "bayesian.npz"
    members = saved_members(model, path)
    del members["priors.mean_prior"], members["priors.covariance_prior"]
    rebuilt = fastgmm.load(write_members(tmp_path / "no_priors.npz", members))
    loaded = fastgmm.load(path)
    for each in (model, loaded, rebuilt):
        each.partial_fit(third)
    assert_same_bayesian_online_model(model, loaded)
    assert not np.array_equal(rebuilt._online_stats.centers,
                              model._online_stats.centers)


def test_bayesian_save_refuses_online_state_without_its_weight(tmp_path):
    model = BayesianGaussianMixture(n_components=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.partial_fit(batches()[0])
    del model._online_weight
    path = tmp_path / "model.npz"
    with pytest.raises(ValueError, match="Cannot save.*_online_weight"):
        model.save(path)
    assert not path.exists()


@pytest.fixture(scope="module")
def saved_bayesian(tmp_path_factory):
    """A valid 'full' Dirichlet-process model file with partial_fit's state."""
    first, second, _ = batches()
    model = BayesianGaussianMixture(n_components=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.partial_fit(first).partial_fit(second)
    path = tmp_path_factory.mktemp("saved") / "bayesian.npz"
    members = saved_members(model, path)
    assert int(members["format_version"]) == 2
    assert {"online.entropy", "online_weight"} <= set(members)
    return path, path.read_bytes(), members


def test_unaltered_bayesian_copy_loads(saved_bayesian, tmp_path):
    loaded = fastgmm.load(altered(saved_bayesian, tmp_path, lambda members: None))
    assert isinstance(loaded, BayesianGaussianMixture)
    assert loaded.n_steps_ == 2


def test_gaussian_file_marked_bayesian_is_incomplete(saved_full, tmp_path):
    change = set_member("format", "fastgmm.BayesianGaussianMixture")
    with pytest.raises(ValueError, match="missing member.*weight_concentration_"):
        fastgmm.load(altered(saved_full, tmp_path, change))


def test_bayesian_file_marked_gaussian_has_unexpected_members(saved_bayesian,
                                                              tmp_path):
    change = set_member("format", "fastgmm.GaussianMixture")
    with pytest.raises(ValueError, match="unexpected member.*online.entropy"):
        fastgmm.load(altered(saved_bayesian, tmp_path, change))


def _set_both_covariance_priors(value):
    def change(members):
        members["covariance_prior_"] = np.asarray(value)
        members["priors.covariance_prior"] = np.asarray(value, dtype=np.float64)

    return change


@pytest.mark.parametrize(
    "change, fragment",
    [
        # shapes and dtypes, from the headers
        (_change("weight_concentration_", lambda a: a[0]), "weight_concentration_"),
        (_change("degrees_of_freedom_", lambda a: a[0]), "degrees_of_freedom_"),
        (_change("covariance_prior_", np.diag), "covariance_prior_"),
        (_change("mean_prior_", lambda a: a[:-1]), "mean_prior_"),
        (set_member("degrees_of_freedom_prior_", "3"), "degrees_of_freedom_prior_"),
        (_change("mean_precision_", lambda a: a.astype(np.int64)), "mean_precision_"),
        (_change("priors.covariance_prior", lambda a: a.astype(np.float32)),
         r"priors\.covariance_prior.*float64"),
        (_edit_params(weight_concentration_prior_type="dirichlet_distribution"),
         "weight_concentration_"),
        (_edit_params(weight_concentration_prior_type="stick"),
         "weight_concentration_prior_type"),
        (_edit_params(means_init=None), "unknown constructor parameter"),
        (set_member("param.means_init", np.zeros((3, 3))), "unexpected member"),
        (lambda members: members.pop("priors.covariance_prior"),
         r"missing member.*priors\.covariance_prior"),
        (lambda members: members.pop("online.entropy"),
         r"missing member.*online\.entropy"),
        (lambda members: members.pop("online_weight"), "missing member.*online_weight"),
        # values
        (_change("mean_prior_", _flat_set(np.nan)), "mean_prior_ contains NaN"),
        (_change("weight_concentration_", _flat_set(np.inf)), "weight_concentration_"),
        (_change("priors.mean_prior", lambda a: a + 1e-3),
         r"priors\.mean_prior does not round"),
        (set_member("degrees_of_freedom_prior_", 1), "degrees_of_freedom_prior"),
        (set_member("weight_concentration_prior_", -0.5),
         "weight_concentration_prior"),
        (set_member("mean_precision_prior_", 0.0), "mean_precision_prior"),
        (_set_both_covariance_priors(-np.eye(3)), "covariance_prior"),
        (_change("weight_concentration_", _flat_set(-1.0)), "must be positive"),
        (_change("weight_concentration_", lambda a: a * 1.5),
         "weight_concentration_ does not match"),
        (_change("mean_precision_", _flat_set(50.0)), "mean_precision_"),
        (_change("mean_precision_", _flat_set(0.5)), "mean_precision_ is below"),
        (_change("degrees_of_freedom_", lambda a: a + 1.0),
         "degrees_of_freedom_ does not match"),
        (_change("weights_", lambda w: w[::-1]), "weights_ are not the posterior"),
        (set_member("online.entropy", 0.5), r"online\.entropy"),
        (set_member("online.entropy", -100.0), r"online\.entropy"),
        (set_member("online_weight", 0.0), "online_weight.*positive"),
        (set_member("online_weight", np.nan), "online_weight"),
    ],
)
def test_tampered_bayesian_file(saved_bayesian, tmp_path, change, fragment):
    with pytest.raises(ValueError, match=fragment):
        fastgmm.load(altered(saved_bayesian, tmp_path, change))


def test_random_corruption_of_a_bayesian_file(saved_bayesian):
    """As for a GaussianMixture's file: ValueError, or the same model."""
    content = saved_bayesian[1]
    original = fastgmm.load(io.BytesIO(content))
    rng = np.random.default_rng(11)
    failures = 0
    for _ in range(150):
        damaged = bytearray(content)
        for position in rng.integers(0, len(damaged), size=rng.choice([1, 3, 20])):
            damaged[position] = rng.integers(0, 256)
        try:
            loaded = fastgmm.load(io.BytesIO(bytes(damaged)))
        except ValueError:
            failures += 1
            continue
        for name in FITTED_ARRAYS + ["mean_precision_", "degrees_of_freedom_"]:
            np.testing.assert_array_equal(
                getattr(loaded, name), getattr(original, name)
            )
    assert failures > 100

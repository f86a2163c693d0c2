"""Save and load a fitted GaussianMixture as a portable ``.npz`` file, without pickle.

The file is a NumPy ``.npz`` archive (a zip of ``.npy`` members) holding only plain
numeric and unicode arrays, so it can be read with ``np.load(path, allow_pickle=False)``
by any NumPy on any platform, and reading it never runs code from the file.

Members (format versions 1 and 2)
---------------------------------
``format``
    0-d unicode, always ``"fastgmm.GaussianMixture"``.
``format_version``
    0-d int64: ``2`` when the file holds the online state below, ``1`` otherwise
    (so that a model never given to ``partial_fit`` stays readable by fastgmm
    releases that read version 1 only).
``params``
    0-d unicode: a JSON object with the constructor parameters whose values are
    ``None``, booleans, numbers or strings. A ``numpy.random.RandomState`` given as
    ``random_state`` is written as ``{"RandomState": {"pos": ..., "has_gauss": ...,
    "cached_gaussian": ...}}`` with its key in the member ``param.random_state.key``.
``info``
    0-d unicode: a JSON object describing the writer (class, versions) and how to
    rebuild Python containers (``lower_bounds_`` as a list or an array). Informative
    only, except for ``"lower_bounds_container"``.
``param.weights_init``, ``param.means_init``, ``param.precisions_init``
    Array-valued constructor parameters, present when they were set.
``weights_``, ``means_``, ``covariances_``, ``precisions_``, ``precisions_cholesky_``
    The fitted arrays, in the dtype they had (float32 or float64).
``converged_``, ``n_iter_``, ``lower_bound_``, ``n_features_in_``
    0-d arrays (bool, int64, float, int64).
``lower_bounds_``
    1-D float array.
``feature_names_in_``
    1-D unicode array, present when the model was fitted on a DataFrame.
``n_steps_`` and ``online.<field>``
    Version 2 only, and then all of them: the state of ``partial_fit``, its step
    count (0-d int64) and its running statistics, one member per field of
    ``_stats.SufficientStats`` (all float64): ``online.s0`` (K,), ``online.s1``
    (K, D), ``online.s2`` (K, D, D) full / (D, D) tied / (K, D) diag and spherical,
    ``online.centers`` (K, D), ``online.tied_shift`` (D,), 0-d ``online.loglik``
    and ``online.weight``. A loaded model's next ``partial_fit`` gives bitwise
    what the saved model's would.

Loading checks the marker and version, that the members are exactly the expected
ones, their dtypes and shapes against each other (read from the ``.npy`` headers
before any data is read, so a forged header cannot make us allocate gigabytes), and
the values: finite parameters, weights that sum to one, precision Cholesky factors
that are upper triangular with a positive diagonal and consistent with
``precisions_`` and ``covariances_``, finite online statistics with non-negative
masses that sum to their weight. Anything else raises ``ValueError``.
"""

from __future__ import annotations

import io
import json
import math
import os
import tempfile
import zipfile
import zlib
from typing import Any

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ._covariance import NAMES
from ._covariance import covariance_type as as_covariance_type
from ._stats import SufficientStats

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "load", "save_model"]

FORMAT_NAME = "fastgmm.GaussianMixture"
FORMAT_VERSION = 2  # the newest version this module reads and writes
_ONLINE_STATE_VERSION = 2  # the version that added partial_fit's state

_COVARIANCE_TYPES = NAMES
_ARRAY_PARAMS = ("weights_init", "means_init", "precisions_init")
_RANDOM_STATE_KEY = "param.random_state.key"
_PARAM_ARRAY_PREFIX = "param."
_FLOAT_ATTRIBUTES = (
    "weights_",
    "means_",
    "covariances_",
    "precisions_",
    "precisions_cholesky_",
)
_SCALAR_ATTRIBUTES = ("converged_", "n_iter_", "lower_bound_", "n_features_in_")
_REQUIRED_MEMBERS = frozenset(
    ("format", "format_version", "params", "info", "lower_bounds_")
    + _FLOAT_ATTRIBUTES
    + _SCALAR_ATTRIBUTES
)
_OPTIONAL_MEMBERS = frozenset(
    ["feature_names_in_", _RANDOM_STATE_KEY]
    + [_PARAM_ARRAY_PREFIX + name for name in _ARRAY_PARAMS]
)
_ONLINE_ARRAYS = ("s0", "s1", "s2", "centers", "tied_shift")
_ONLINE_SCALARS = ("loglik", "weight")
_ONLINE_PREFIX = "online."
_ONLINE_MEMBERS = frozenset(
    ["n_steps_"]
    + [_ONLINE_PREFIX + field for field in _ONLINE_ARRAYS + _ONLINE_SCALARS]
)
# Text members are JSON or short names; anything larger is not one of our files.
_MAX_TEXT_CHARS = 1_000_000


def save_model(model: Any, path: str | os.PathLike | io.IOBase) -> None:
    """Write a fitted Gaussian mixture to a portable ``.npz`` file without pickle.

    Parameters
    ----------
    model : GaussianMixture
        A fitted ``fastgmm.GaussianMixture`` (a fitted
        ``sklearn.mixture.GaussianMixture`` is accepted too).
    path : str, path-like or binary file object
        Where to write. The name is used exactly as given (no ``.npz`` is appended).
        A path is written to a temporary file in the same folder and renamed into
        place, so an interrupted save never leaves a truncated file under ``path``.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        If ``model`` has not been fitted.
    ValueError
        If a constructor parameter cannot be stored portably (for example a
        ``random_state`` that is neither None, an int nor a ``RandomState``), or if
        the fitted attributes are inconsistent with each other.

    See Also
    --------
    load : Read the file back.
    """
    check_is_fitted(
        model,
        attributes=[
            "weights_",
            "means_",
            "covariances_",
            "precisions_cholesky_",
            "n_features_in_",
        ],
    )
    online = _encode_online_state(model)
    version = _ONLINE_STATE_VERSION if online else 1
    members: dict[str, np.ndarray] = {
        "format": np.array(FORMAT_NAME),
        "format_version": np.array(version, dtype=np.int64),
    }
    members.update(_encode_params(model.get_params(deep=False)))

    lower_bounds = getattr(model, "lower_bounds_", [])
    info = {
        "estimator": f"{type(model).__module__}.{type(model).__qualname__}",
        "lower_bounds_container": (
            "ndarray" if isinstance(lower_bounds, np.ndarray) else "list"
        ),
        "versions": _library_versions(),
    }
    members["info"] = np.array(json.dumps(info, sort_keys=True))

    for name in _FLOAT_ATTRIBUTES:
        members[name] = np.ascontiguousarray(getattr(model, name))
    members["converged_"] = np.array(bool(model.converged_))
    members["n_iter_"] = np.array(int(model.n_iter_), dtype=np.int64)
    members["lower_bound_"] = np.array(model.lower_bound_)
    members["n_features_in_"] = np.array(int(model.n_features_in_), dtype=np.int64)
    bounds = np.asarray(lower_bounds).reshape(-1)
    if bounds.size == 0 or bounds.dtype.kind != "f":
        bounds = bounds.astype(np.result_type(members["lower_bound_"], np.float32))
    members["lower_bounds_"] = bounds
    if hasattr(model, "feature_names_in_"):
        members["feature_names_in_"] = np.asarray(model.feature_names_in_, dtype=str)
    members.update(online)

    # Never write a file that load() would refuse: fail here, where the cause is.
    params = json.loads(str(members["params"]))
    try:
        _check_fitted_values(members, params["n_components"], params["covariance_type"])
    except ValueError as err:
        raise ValueError(f"Cannot save this model: {err}") from None

    if isinstance(path, (str, os.PathLike)):
        _write_atomically(os.fspath(path), members)
    else:
        np.savez_compressed(path, **members)


def load(path: str | os.PathLike | io.IOBase):
    """Read a Gaussian mixture written by ``GaussianMixture.save``.

    The file is read with ``np.load(path, allow_pickle=False)``: no code from the
    file is ever executed. Every member is checked before the model is built.

    Parameters
    ----------
    path : str, path-like or binary file object
        A file written by :meth:`fastgmm.GaussianMixture.save`.

    Returns
    -------
    model : fastgmm.GaussianMixture
        The fitted model, with the saved constructor parameters and every fitted
        attribute restored with its dtype.

    Raises
    ------
    ValueError
        If the file is not a fastgmm model file (not an ``.npz`` archive, a pickle, an
        arbitrary ``.npz``), is truncated or corrupted, was written by a newer format
        version, or holds members that are missing, unexpected, of the wrong dtype or
        shape, or inconsistent with each other. The message names the problem.
    OSError
        If the file cannot be opened (for example it does not exist).

    See Also
    --------
    save_model : Write the file.
    """
    where = _describe(path)
    try:
        with _open_npz(path, where) as archive:
            members = _read_members(archive, where)
    except (
        zipfile.BadZipFile,
        zlib.error,
        EOFError,
        # zipfile's answers to damaged headers: an unknown compression method or
        # zip version (NotImplementedError), an "encrypted" flag (RuntimeError).
        NotImplementedError,
        RuntimeError,
    ) as err:
        raise ValueError(
            f"{where} is truncated or corrupted and cannot be read as a fastgmm "
            f"model file: {err}"
        ) from None
    try:
        return _build_model(members)
    except ValueError as err:
        raise ValueError(f"{where} is not a valid fastgmm model file: {err}") from None


# --------------------------------------------------------------------------- writing


def _encode_params(params: dict[str, Any]) -> dict[str, np.ndarray]:
    """Split constructor parameters into one JSON member and array members."""
    scalars: dict[str, Any] = {}
    arrays: dict[str, np.ndarray] = {}
    for name, value in params.items():
        if isinstance(value, np.random.RandomState):
            if name != "random_state":
                raise ValueError(
                    f"Cannot save parameter {name!r}: a RandomState is only "
                    "supported as random_state."
                )
            state = value.get_state(legacy=True)
            if state[0] != "MT19937":
                raise ValueError(
                    f"Cannot save random_state: unsupported bit generator {state[0]!r}."
                )
            scalars[name] = {
                "RandomState": {
                    "pos": int(state[2]),
                    "has_gauss": int(state[3]),
                    "cached_gaussian": float(state[4]),
                }
            }
            arrays[_RANDOM_STATE_KEY] = np.asarray(state[1], dtype=np.uint32)
        elif value is None or isinstance(value, (bool, str, np.bool_)):
            scalars[name] = value.item() if isinstance(value, np.bool_) else value
        elif isinstance(value, (int, float, np.integer, np.floating)):
            scalars[name] = value.item() if isinstance(value, np.generic) else value
        elif name in _ARRAY_PARAMS:
            array = np.asarray(value)
            if array.dtype.kind not in "biuf":
                raise ValueError(
                    f"Cannot save parameter {name!r}: expected a numeric array, got "
                    f"dtype {array.dtype}."
                )
            arrays[_PARAM_ARRAY_PREFIX + name] = np.require(array, requirements="C")
        else:
            raise ValueError(
                f"Cannot save parameter {name}={value!r} of type "
                f"{type(value).__name__} portably; use None, a bool, a number or a "
                "string."
            )
    arrays["params"] = np.array(json.dumps(scalars, sort_keys=True, allow_nan=True))
    return arrays


def _encode_online_state(model: Any) -> dict[str, np.ndarray]:
    """The members holding ``partial_fit``'s state; none for a model without it."""
    stats = getattr(model, "_online_stats", None)
    steps = getattr(model, "n_steps_", None)
    if stats is None and steps is None:
        return {}
    if stats is None or steps is None:
        raise ValueError(
            "Cannot save this model: it has partial_fit's step count n_steps_ "
            "without its running statistics, or the reverse."
        )
    if stats.covariance_type.name != model.covariance_type:
        raise ValueError(
            "Cannot save this model: its partial_fit statistics are for "
            f"covariance_type={stats.covariance_type.name!r}, the model's is "
            f"{model.covariance_type!r}."
        )
    members = {"n_steps_": np.array(int(steps), dtype=np.int64)}
    for field in _ONLINE_ARRAYS:
        members[_ONLINE_PREFIX + field] = np.ascontiguousarray(getattr(stats, field))
    for field in _ONLINE_SCALARS:
        members[_ONLINE_PREFIX + field] = np.array(getattr(stats, field))
    return members


def _library_versions() -> dict[str, str]:
    from importlib import metadata

    versions = {"numpy": np.__version__}
    for package in ("fastgmm", "scikit-learn"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            pass
    return versions


def _write_atomically(path: str, members: dict[str, np.ndarray]) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".fastgmm-", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            np.savez_compressed(file, **members)
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise


# --------------------------------------------------------------------------- reading


def _describe(path: Any) -> str:
    if isinstance(path, (str, os.PathLike)):
        return repr(os.fspath(path))
    return "the file object"


def _open_npz(path: Any, where: str):
    try:
        archive = np.load(path, allow_pickle=False)
    except ValueError as err:
        # np.load treats anything that is neither a zip nor an .npy file as a pickle;
        # with allow_pickle=False it refuses to unpickle it, which is what we want.
        raise ValueError(
            f"{where} is not a fastgmm model file: it is not an .npz archive "
            f"({_sniff(path)}); nothing in it was executed. NumPy said: {err}"
        ) from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise ValueError(
            f"{where} is not a fastgmm model file: it holds a single .npy array, not "
            "an .npz archive."
        )
    return archive


def _sniff(path: Any) -> str:
    """A short description of what a file that np.load refused looks like."""
    if not isinstance(path, (str, os.PathLike)):
        return "unrecognised content"
    try:
        with open(path, "rb") as file:
            start = file.read(2)
    except OSError:
        return "unreadable"
    if start[:1] == b"\x80":
        return "it looks like a pickle"
    if start == b"\x93N":
        return "an .npy file holding Python objects"
    return "unrecognised content, perhaps text"


def _read_members(archive, where: str) -> dict[str, np.ndarray]:
    """Check names, headers, dtypes and sizes, then read every member."""
    names = archive.zip.namelist()
    bad_names = [name for name in names if not name.endswith(".npy")]
    if bad_names:
        raise ValueError(
            f"{where} is not a fastgmm model file: it has non-array members "
            f"{sorted(bad_names)}."
        )
    present = {name[: -len(".npy")] for name in names}
    if len(present) != len(names):
        raise ValueError(f"{where} is not a fastgmm model file: duplicate members.")
    if "format" not in present:
        raise ValueError(
            f"{where} is not a fastgmm model file: the 'format' marker is missing "
            f"(members: {sorted(present)})."
        )
    headers = {name: _read_header(archive, name, where) for name in present}

    # The marker and version come first: a foreign or newer file is named as such
    # rather than reported member by member.
    marker = _read_text(archive, "format", headers, where)
    if marker != FORMAT_NAME:
        raise ValueError(
            f"{where} is not a fastgmm model file: format marker is {marker!r}, "
            f"expected {FORMAT_NAME!r}."
        )
    if "format_version" not in present:
        raise ValueError(f"{where}: the member 'format_version' is missing.")
    shape, dtype = headers["format_version"]
    if shape != () or dtype.kind not in "iu":
        raise ValueError(
            f"{where}: 'format_version' must be a 0-d integer, got dtype {dtype} and "
            f"shape {shape}."
        )
    version = int(archive["format_version"])
    if version > FORMAT_VERSION:
        raise ValueError(
            f"{where} has format version {version}, newer than the versions this "
            f"fastgmm reads (up to {FORMAT_VERSION}); upgrade fastgmm to load it."
        )
    if version < 1:
        raise ValueError(f"{where} has an invalid format version {version}.")

    required = _REQUIRED_MEMBERS
    if version >= _ONLINE_STATE_VERSION:
        required = required | _ONLINE_MEMBERS
    missing = required - present
    if missing:
        raise ValueError(
            f"{where} is incomplete: missing member(s) {sorted(missing)} "
            f"(format version {version})."
        )
    unexpected = present - required - _OPTIONAL_MEMBERS
    if unexpected:
        raise ValueError(
            f"{where} has unexpected member(s) {sorted(unexpected)}; it was not "
            "written by fastgmm or has been altered."
        )

    members: dict[str, Any] = {"format_version": version}
    for name in ("params", "info"):
        members[name] = _read_text(archive, name, headers, where)
    params = _decode_json(members["params"], "params", where)
    n_components = params.get("n_components")
    covariance_type = params.get("covariance_type")
    if (
        not isinstance(n_components, int)
        or isinstance(n_components, bool)
        or n_components < 1
    ):
        raise ValueError(
            f"{where}: parameter n_components must be a positive int, got "
            f"{n_components!r}."
        )
    if covariance_type not in _COVARIANCE_TYPES:
        raise ValueError(
            f"{where}: parameter covariance_type must be one of {_COVARIANCE_TYPES}, "
            f"got {covariance_type!r}."
        )

    # Shapes from the headers, before any data is read.
    means_shape, _ = headers["means_"]
    if len(means_shape) != 2 or means_shape[0] != n_components or means_shape[1] < 1:
        raise ValueError(
            f"{where}: 'means_' must have shape (n_components={n_components}, "
            f"n_features), got {means_shape}."
        )
    n_features = means_shape[1]
    expected = _expected_shapes(n_components, n_features, covariance_type)
    for name, shape in expected.items():
        _check_header(headers, name, shape, "f", where)
    for name in ("converged_",):
        _check_header(headers, name, (), "b", where)
    for name in ("n_iter_", "n_features_in_"):
        _check_header(headers, name, (), "iu", where)
    _check_header(headers, "lower_bound_", (), "f", where)
    lb_shape, _ = headers["lower_bounds_"]
    if len(lb_shape) != 1:
        raise ValueError(f"{where}: 'lower_bounds_' must be 1-D, got shape {lb_shape}.")
    _check_header(headers, "lower_bounds_", lb_shape, "f", where)
    if "feature_names_in_" in present:
        _check_header(headers, "feature_names_in_", (n_features,), "U", where)
    if _RANDOM_STATE_KEY in present:
        _check_header(headers, _RANDOM_STATE_KEY, (624,), "u", where)
    if "n_steps_" in present:
        _check_header(headers, "n_steps_", (), "iu", where)
        shapes = _online_shapes(n_components, n_features, covariance_type)
        for name, shape in shapes.items():
            _check_header(headers, name, shape, "f", where)
            if headers[name][1].itemsize != 8:
                raise ValueError(
                    f"{where}: member {name!r} has dtype {headers[name][1]}; "
                    "partial_fit's statistics are float64."
                )
    for name in _ARRAY_PARAMS:
        member = _PARAM_ARRAY_PREFIX + name
        if member in present:
            shape, dtype = headers[member]
            _check_header(headers, member, shape, "biuf", where)
            if math.prod(shape) > 16 * n_components * n_features * n_features + 64:
                raise ValueError(
                    f"{where}: {member!r} is far too large, shape {shape}."
                )

    for name in sorted(present - {"format", "format_version", "params", "info"}):
        try:
            array = archive[name]
        except ValueError as err:
            raise ValueError(
                f"{where}: member {name!r} cannot be read: {err}"
            ) from None
        if array.dtype.byteorder not in "=|":
            array = array.astype(array.dtype.newbyteorder("="))
        # np.ascontiguousarray would turn a 0-d array into a 1-d one.
        members[name] = np.require(array, requirements="C")
    members["params"] = params
    members["info"] = _decode_json(members["info"], "info", where)
    return members


def _read_header(archive, name: str, where: str) -> tuple[tuple[int, ...], np.dtype]:
    """Shape and dtype of a member, from its .npy header, reading no data."""
    fmt = np.lib.format
    entry = archive.zip.getinfo(name + ".npy")
    try:
        with archive.zip.open(entry) as stream:
            major, minor = fmt.read_magic(stream)
            if (major, minor) == (1, 0):
                shape, _, dtype = fmt.read_array_header_1_0(stream)
            elif (major, minor) == (2, 0):
                shape, _, dtype = fmt.read_array_header_2_0(stream)
            else:
                raise ValueError(f"unsupported .npy version {major}.{minor}")
    except ValueError as err:
        raise ValueError(
            f"{where}: member {name!r} is not a valid .npy array: {err}"
        ) from None
    if dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None:
        raise ValueError(
            f"{where}: member {name!r} has dtype {dtype}; only plain numeric and "
            "unicode arrays are allowed."
        )
    shape = tuple(int(n) for n in shape)
    # A forged header or zip entry must not make np.load allocate far more than the
    # file could hold: the data must fit in the declared size, and the declared size
    # in what the compressed bytes can expand to (deflate's ratio is below 1032:1).
    if math.prod(shape) * dtype.itemsize > entry.file_size or (
        entry.file_size > 1100 * entry.compress_size + 4096
    ):
        raise ValueError(
            f"{where}: member {name!r} declares shape {shape} and dtype {dtype}, "
            f"more data than it holds ({entry.file_size} bytes)."
        )
    return shape, dtype


def _read_text(archive, name: str, headers, where: str) -> str:
    shape, dtype = headers[name]
    if shape != () or dtype.kind != "U" or dtype.itemsize // 4 > _MAX_TEXT_CHARS:
        raise ValueError(
            f"{where}: member {name!r} must be a 0-d unicode string, got dtype "
            f"{dtype} and shape {shape}."
        )
    return str(archive[name][()])


def _decode_json(text: str, name: str, where: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"{where}: member {name!r} is not valid JSON: {err}") from None
    if not isinstance(value, dict):
        raise ValueError(f"{where}: member {name!r} must hold a JSON object.")
    return value


def _expected_shapes(
    n_components: int, n_features: int, covariance_type: str
) -> dict[str, tuple[int, ...]]:
    covariance_shape = as_covariance_type(covariance_type).shape(n_components,
                                                                 n_features)
    return {
        "weights_": (n_components,),
        "means_": (n_components, n_features),
        "covariances_": covariance_shape,
        "precisions_": covariance_shape,
        "precisions_cholesky_": covariance_shape,
    }


def _online_shapes(
    n_components: int, n_features: int, covariance_type: str
) -> dict[str, tuple[int, ...]]:
    """Shapes of the online-state statistics members (``SufficientStats``)."""
    second_moment = as_covariance_type(covariance_type).second_moment_shape(
        n_components, n_features
    )
    shapes = {
        "s0": (n_components,),
        "s1": (n_components, n_features),
        "s2": second_moment,
        "centers": (n_components, n_features),
        "tied_shift": (n_features,),
        "loglik": (),
        "weight": (),
    }
    return {_ONLINE_PREFIX + field: shape for field, shape in shapes.items()}


def _check_header(headers, name: str, shape, kinds: str, where: str) -> None:
    actual_shape, dtype = headers[name]
    if actual_shape != tuple(shape):
        raise ValueError(
            f"{where}: member {name!r} has shape {actual_shape}, expected "
            f"{tuple(shape)}."
        )
    if dtype.kind not in kinds or (kinds == "f" and dtype.itemsize not in (4, 8)):
        raise ValueError(
            f"{where}: member {name!r} has dtype {dtype}, which is not allowed here."
        )


# --------------------------------------------------------------------- building


def _build_model(members: dict[str, Any]):
    from fastgmm import GaussianMixture

    params = dict(members["params"])
    known = GaussianMixture().get_params(deep=False)
    unknown = set(params) - set(known)
    if unknown:
        raise ValueError(f"unknown constructor parameter(s) {sorted(unknown)}.")
    if "random_state" in params and isinstance(params["random_state"], dict):
        params["random_state"] = _decode_random_state(
            params["random_state"], members.get(_RANDOM_STATE_KEY)
        )
    elif _RANDOM_STATE_KEY in members:
        raise ValueError(
            f"member {_RANDOM_STATE_KEY!r} present but random_state is not a "
            "RandomState."
        )
    for name in _ARRAY_PARAMS:
        member = _PARAM_ARRAY_PREFIX + name
        if member in members:
            if params.get(name) is not None:
                raise ValueError(f"parameter {name!r} is stored twice.")
            params[name] = members[member]
    for name, value in params.items():
        if isinstance(value, (dict, list)):
            raise ValueError(
                f"parameter {name!r} has an unsupported JSON value {value!r}."
            )

    model = GaussianMixture(**params)
    validate = getattr(model, "_validate_params", None)
    if validate is not None:
        # scikit-learn's own constraint check; it raises InvalidParameterError, a
        # ValueError, naming the parameter and the allowed values.
        validate()

    _check_fitted_values(members, params["n_components"], params["covariance_type"])

    for name in _FLOAT_ATTRIBUTES:
        setattr(model, name, members[name])
    model.converged_ = bool(members["converged_"])
    model.n_iter_ = int(members["n_iter_"])
    model.lower_bound_ = members["lower_bound_"][()]
    model.n_features_in_ = int(members["n_features_in_"])
    lower_bounds = members["lower_bounds_"]
    container = members["info"].get("lower_bounds_container", "list")
    model.lower_bounds_ = (
        lower_bounds if container == "ndarray" else [value for value in lower_bounds]
    )
    if "feature_names_in_" in members:
        model.feature_names_in_ = members["feature_names_in_"].astype(object)
    if "n_steps_" in members:
        model.n_steps_ = int(members["n_steps_"])
        online = {
            field: members[_ONLINE_PREFIX + field]
            for field in _ONLINE_ARRAYS + _ONLINE_SCALARS
        }
        online.update({field: float(online[field]) for field in _ONLINE_SCALARS})
        model._online_stats = SufficientStats(params["covariance_type"], **online)
    return model


def _decode_random_state(description: dict[str, Any], key) -> np.random.RandomState:
    fields = description.get("RandomState") if len(description) == 1 else None
    if not isinstance(fields, dict) or key is None:
        raise ValueError(f"random_state has an unsupported value {description!r}.")
    try:
        state = (
            "MT19937",
            key,
            int(fields["pos"]),
            int(fields["has_gauss"]),
            float(fields["cached_gaussian"]),
        )
        random_state = np.random.RandomState()
        random_state.set_state(state)
    except (KeyError, TypeError, ValueError) as err:
        raise ValueError(f"random_state cannot be restored: {err}") from None
    return random_state


def _check_fitted_values(
    members: dict[str, Any], n_components: int, covariance_type: str
) -> None:
    """Check the fitted arrays' shapes, dtypes and values against each other.

    Raises ValueError naming the first problem found. Shared by save and load.
    """
    if covariance_type not in _COVARIANCE_TYPES:
        raise ValueError(f"unknown covariance_type {covariance_type!r}.")
    means = members["means_"]
    if means.ndim != 2 or means.shape[0] != n_components:
        raise ValueError(
            f"means_ must have shape (n_components={n_components}, n_features), got "
            f"{means.shape}."
        )
    n_features = means.shape[1]
    for name, shape in _expected_shapes(
        n_components, n_features, covariance_type
    ).items():
        array = members[name]
        if array.shape != shape:
            raise ValueError(f"{name} has shape {array.shape}, expected {shape}.")
        if array.dtype not in (np.float32, np.float64):
            raise ValueError(f"{name} has dtype {array.dtype}, expected float32/64.")
        if not np.all(np.isfinite(array)):
            raise ValueError(f"{name} contains NaN or infinity.")
    dtypes = {members[name].dtype for name in _FLOAT_ATTRIBUTES[1:]}
    if len(dtypes) != 1:
        raise ValueError(
            "means_, covariances_, precisions_ and precisions_cholesky_ have "
            f"different dtypes {sorted(str(d) for d in dtypes)}."
        )

    if int(members["n_features_in_"]) != n_features:
        raise ValueError(
            f"n_features_in_ is {int(members['n_features_in_'])} but means_ has "
            f"{n_features} features."
        )
    if int(members["n_iter_"]) < 0:
        raise ValueError(f"n_iter_ is negative ({int(members['n_iter_'])}).")
    lower_bound = float(members["lower_bound_"])
    if math.isnan(lower_bound) or lower_bound == math.inf:
        raise ValueError(f"lower_bound_ is {lower_bound}.")
    if np.any(np.isnan(members["lower_bounds_"])):
        raise ValueError("lower_bounds_ contains NaN.")
    if "feature_names_in_" in members:
        names = members["feature_names_in_"]
        if names.shape != (n_features,):
            raise ValueError(
                f"feature_names_in_ has shape {names.shape}, expected ({n_features},)."
            )

    weights = members["weights_"].astype(np.float64)
    eps = float(np.finfo(members["weights_"].dtype).eps)
    if np.any(weights < 0):
        raise ValueError(f"weights_ has negative entries (min {weights.min()}).")
    if abs(weights.sum() - 1.0) > 16 * n_components * eps:
        raise ValueError(f"weights_ sum to {weights.sum()!r}, not 1.")

    _check_precisions(
        members["covariances_"],
        members["precisions_"],
        members["precisions_cholesky_"],
        covariance_type,
    )
    if "n_steps_" in members:
        _check_online_state(members, n_components, n_features, covariance_type)


def _check_online_state(
    members: dict[str, Any], n_components: int, n_features: int, covariance_type: str
) -> None:
    """partial_fit's statistics: float64 arrays of the right shapes, finite, with
    non-negative masses that sum to the total weight, and a step count >= 1."""
    if int(members["n_steps_"]) < 1:
        raise ValueError(f"n_steps_ is {int(members['n_steps_'])}, expected >= 1.")
    shapes = _online_shapes(n_components, n_features, covariance_type)
    for name, shape in shapes.items():
        array = members[name]
        if array.shape != shape or array.dtype != np.float64:
            raise ValueError(
                f"{name} (partial_fit's statistics) has shape {array.shape} and dtype "
                f"{array.dtype}, expected {shape} and float64."
            )
        if not np.all(np.isfinite(array)):
            raise ValueError(f"{name} (partial_fit's statistics) contains NaN or inf.")
    masses = members[_ONLINE_PREFIX + "s0"]
    total = float(masses.sum())
    weight = float(members[_ONLINE_PREFIX + "weight"])
    if np.any(masses < 0) or weight <= 0:
        raise ValueError(
            f"{_ONLINE_PREFIX}s0 and {_ONLINE_PREFIX}weight (partial_fit's "
            "statistics) must be non-negative masses and a positive weight."
        )
    # Every point's responsibilities sum to one, so the masses sum to the weight.
    if abs(total - weight) > 1e-8 * weight:
        raise ValueError(
            f"{_ONLINE_PREFIX}s0 (partial_fit's statistics) sums to {total!r}, "
            f"not to {_ONLINE_PREFIX}weight {weight!r}."
        )
    if as_covariance_type(covariance_type).stores_matrices:
        scatter = members[_ONLINE_PREFIX + "s2"]
        asymmetry = np.abs(scatter - np.swapaxes(scatter, -1, -2)).max()
        if asymmetry > 64 * np.finfo(np.float64).eps * np.abs(scatter).max():
            raise ValueError(
                f"{_ONLINE_PREFIX}s2 (partial_fit's statistics) is not symmetric."
            )


def _check_precisions(covariances, precisions, cholesky, covariance_type) -> None:
    """precisions_ == L Lᵀ with L = precisions_cholesky_ upper triangular, and
    covariances_ is the inverse of precisions_, within rounding."""
    eps = float(np.finfo(cholesky.dtype).eps)
    covariances = covariances.astype(np.float64)
    precisions = precisions.astype(np.float64)
    cholesky = cholesky.astype(np.float64)
    if not as_covariance_type(covariance_type).stores_matrices:
        if np.any(cholesky <= 0):
            raise ValueError("precisions_cholesky_ has non-positive entries.")
        if not np.allclose(precisions, cholesky**2, rtol=64 * eps, atol=0):
            raise ValueError("precisions_ is not precisions_cholesky_ ** 2.")
        if not np.allclose(covariances * precisions, 1.0, rtol=0, atol=64 * eps):
            raise ValueError("covariances_ is not the inverse of precisions_.")
        return

    if covariance_type == "tied":
        covariances, precisions, cholesky = (
            covariances[None],
            precisions[None],
            cholesky[None],
        )
    n_features = cholesky.shape[-1]
    identity = np.eye(n_features)
    for k, (cov, prec, chol) in enumerate(
        zip(covariances, precisions, cholesky, strict=True)
    ):
        which = "" if covariance_type == "tied" else f" of component {k}"
        scale = np.abs(chol).max()
        if np.any(np.abs(np.tril(chol, -1)) > 64 * eps * scale):
            raise ValueError(f"precisions_cholesky_{which} is not upper triangular.")
        if np.any(np.diag(chol) <= 0):
            raise ValueError(
                f"precisions_cholesky_{which} has a non-positive diagonal."
            )
        product = chol @ chol.T
        tolerance = 64 * n_features * eps * max(np.abs(product).max(), 1e-300)
        if np.abs(prec - product).max() > tolerance:
            raise ValueError(
                f"precisions_{which} is not precisions_cholesky_ @ "
                "precisions_cholesky_.T."
            )
        if np.abs(cov - cov.T).max() > 64 * eps * np.abs(cov).max():
            raise ValueError(f"covariances_{which} is not symmetric.")
        # Lᵀ Σ L = I when Σ⁻¹ = L Lᵀ; its rounding error grows with cond(Σ).
        with np.errstate(all="ignore"):
            condition = np.linalg.cond(cov)
        if not np.isfinite(condition):
            raise ValueError(f"covariances_{which} is singular.")
        tolerance = max(64 * n_features * eps * condition, 1e-6)
        if np.abs(chol.T @ cov @ chol - identity).max() > tolerance:
            raise ValueError(f"covariances_{which} is not the inverse of precisions_.")

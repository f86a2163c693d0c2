"""Save and load a fitted GaussianMixture or BayesianGaussianMixture as a portable
``.npz`` file, without pickle.

The file is a NumPy ``.npz`` archive (a zip of ``.npy`` members) holding only plain
numeric and unicode arrays, so it can be read with ``np.load(path, allow_pickle=False)``
by any NumPy on any platform, and reading it never runs code from the file.

Members (format versions 1 and 2)
---------------------------------
``format``
    0-d unicode: which estimator the file holds, ``"fastgmm.GaussianMixture"`` or
    ``"fastgmm.BayesianGaussianMixture"``.
``format_version``
    0-d int64: ``2`` when the file holds the online state below, ``1`` otherwise
    (so that a Gaussian mixture never given to ``partial_fit`` stays readable by
    fastgmm releases that read version 1 only). Both estimators follow this rule.
``params``
    0-d unicode: a JSON object with the constructor parameters whose values are
    ``None``, booleans, numbers or strings. A ``numpy.random.RandomState`` given as
    ``random_state`` is written as ``{"RandomState": {"pos": ..., "has_gauss": ...,
    "cached_gaussian": ...}}`` with its key in the member ``param.random_state.key``.
``info``
    0-d unicode: a JSON object describing the writer (class, versions) and how to
    rebuild Python containers (``lower_bounds_`` as a list or an array). Informative
    only, except for ``"lower_bounds_container"``.
``param.<name>``
    Array-valued constructor parameters, present when they were set:
    ``weights_init``, ``means_init``, ``precisions_init`` (GaussianMixture),
    ``mean_prior``, ``covariance_prior`` (BayesianGaussianMixture).
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
    and ``online.weight``; for a BayesianGaussianMixture also 0-d
    ``online.entropy`` (the running sum of r log r, which its lower bound needs)
    and ``online_weight`` (the total sample weight of the batches, which scales
    the running statistics in its update). A loaded model's next ``partial_fit``
    gives bitwise what the saved model's would.

BayesianGaussianMixture only
----------------------------
``weight_concentration_``
    (2, K), the two Beta parameters of the sticks, for
    ``weight_concentration_prior_type='dirichlet_process'`` (loaded back as a tuple
    of two arrays); (K,) for ``'dirichlet_distribution'``.
``mean_precision_`` (K,), ``degrees_of_freedom_`` (K,) or 0-d for 'tied'
    The rest of the posterior.
``weight_concentration_prior_``, ``mean_precision_prior_``
    0-d int or float, as the fitted attributes are; so is
    ``degrees_of_freedom_prior_``.
``mean_prior_`` (D,), ``covariance_prior_``
    The priors as the attributes hold them (in the data's dtype);
    ``covariance_prior_`` is (D, D) full and tied, (D,) diag, 0-d spherical.
``priors.mean_prior``, ``priors.covariance_prior``
    The same two priors in float64, as the model's updates use them (the attributes
    are their rounding to the data's dtype); both present when the model holds
    them (any model fitted by fastgmm), both absent otherwise (a model fitted by
    scikit-learn), in which case the loaded model rebuilds them from the
    attributes.

Loading checks the marker and version, that the members are exactly the expected
ones, their dtypes and shapes against each other (read from the ``.npy`` headers
before any data is read, so a forged header cannot make us allocate gigabytes), and
the values: finite parameters, weights that sum to one, precision Cholesky factors
that are upper triangular with a positive diagonal and consistent with
``precisions_`` and ``covariances_``, finite online statistics with non-negative
masses that sum to their weight. For a BayesianGaussianMixture also: priors that
scikit-learn would accept, and a posterior consistent with them and with itself
(``weight_concentration_``, ``mean_precision_`` and ``degrees_of_freedom_`` imply
the same component masses, and ``weights_`` are those of
``weight_concentration_``). Anything else raises ``ValueError``.
"""

from __future__ import annotations

import io
import json
import math
import os
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ._covariance import NAMES
from ._covariance import covariance_type as as_covariance_type
from ._stats import SufficientStats
from ._variational import PRIOR_TYPES, Priors, VariationalParams, resolve_priors

__all__ = [
    "BAYESIAN_FORMAT", "FORMAT_NAME", "FORMAT_VERSION", "read_model", "save_model",
]

FORMAT_NAME = "fastgmm.GaussianMixture"  # GaussianMixture's marker
BAYESIAN_FORMAT = "fastgmm.BayesianGaussianMixture"
FORMAT_VERSION = 2  # the newest version this module reads and writes
_ONLINE_STATE_VERSION = 2  # the version that added partial_fit's state

_COVARIANCE_TYPES = NAMES
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
_SHARED_MEMBERS = (
    ("format", "format_version", "params", "info", "lower_bounds_")
    + _FLOAT_ATTRIBUTES
    + _SCALAR_ATTRIBUTES
)
_ONLINE_ARRAYS = ("s0", "s1", "s2", "centers", "tied_shift")
_ONLINE_PREFIX = "online."
# A BayesianGaussianMixture's own members (see the module docstring).
_PRIOR_SCALARS = (
    "weight_concentration_prior_", "mean_precision_prior_", "degrees_of_freedom_prior_",
)
_VARIATIONAL_ATTRIBUTES = (
    "weight_concentration_", "mean_precision_", "degrees_of_freedom_",
    "mean_prior_", "covariance_prior_",
) + _PRIOR_SCALARS
_PRIORS_PREFIX = "priors."
_FLOAT64_PRIORS = ("mean_prior", "covariance_prior")  # as in _variational.Priors
_ONLINE_WEIGHT = "online_weight"


@dataclass(frozen=True)
class _Layout:
    """What the files of one estimator hold beyond the shared members."""

    marker: str
    class_name: str  # the fastgmm class the file loads into
    array_params: tuple[str, ...]  # constructor parameters that may be arrays
    fitted: tuple[str, ...] = ()  # its own fitted members, always present
    optional: tuple[str, ...] = ()  # its own members present all or none
    online_scalars: tuple[str, ...] = ("loglik", "weight")  # SufficientStats fields
    online_extra: tuple[str, ...] = ()  # online members outside SufficientStats

    @property
    def bayesian(self) -> bool:
        return self.marker == BAYESIAN_FORMAT

    def online_members(self) -> frozenset[str]:
        fields = _ONLINE_ARRAYS + self.online_scalars
        return frozenset(
            ("n_steps_", *self.online_extra)
            + tuple(_ONLINE_PREFIX + field for field in fields)
        )

    def members(self, version: int) -> tuple[frozenset[str], frozenset[str]]:
        """The required and the optional members of a file of this version."""
        required = frozenset(_SHARED_MEMBERS + self.fitted)
        if version >= _ONLINE_STATE_VERSION:
            required |= self.online_members()
        optional = frozenset(
            ("feature_names_in_", _RANDOM_STATE_KEY, *self.optional)
            + tuple(_PARAM_ARRAY_PREFIX + name for name in self.array_params)
        )
        return required, optional


_LAYOUTS = {
    layout.marker: layout
    for layout in (
        _Layout(FORMAT_NAME, "GaussianMixture",
                ("weights_init", "means_init", "precisions_init")),
        _Layout(
            BAYESIAN_FORMAT, "BayesianGaussianMixture", _FLOAT64_PRIORS,
            fitted=_VARIATIONAL_ATTRIBUTES,
            optional=tuple(_PRIORS_PREFIX + name for name in _FLOAT64_PRIORS),
            online_scalars=("loglik", "weight", "entropy"),
            online_extra=(_ONLINE_WEIGHT,),
        ),
    )
}


def _layout_of(params: dict[str, Any]) -> _Layout:
    """The layout of a model, from its constructor parameters (duck-typed, so that
    scikit-learn's estimators of the same names are written the same way)."""
    bayesian = "weight_concentration_prior_type" in params
    return _LAYOUTS[BAYESIAN_FORMAT if bayesian else FORMAT_NAME]


# Text members are JSON or short names; anything larger is not one of our files.
_MAX_TEXT_CHARS = 1_000_000


def save_model(model: Any, path: str | os.PathLike | io.IOBase) -> None:
    """Write a fitted Gaussian mixture to a portable ``.npz`` file without pickle.

    Parameters
    ----------
    model : GaussianMixture or BayesianGaussianMixture
        A fitted ``fastgmm.GaussianMixture`` or ``fastgmm.BayesianGaussianMixture``
        (scikit-learn's fitted estimators of the same names are accepted too, and
        load into fastgmm's). The file records which of the two it holds.
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
    layout = _layout_of(model.get_params(deep=False))
    online = _encode_online_state(model, layout)
    version = _ONLINE_STATE_VERSION if online else 1
    members: dict[str, np.ndarray] = {
        "format": np.array(layout.marker),
        "format_version": np.array(version, dtype=np.int64),
    }
    members.update(_encode_params(model.get_params(deep=False), layout))

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
    if layout.bayesian:
        members.update(_encode_variational(model))
    members.update(online)

    # Never write a file that load() would refuse: fail here, where the cause is.
    params = json.loads(str(members["params"]))
    try:
        _check_fitted_values(members, params, layout)
    except ValueError as err:
        raise ValueError(f"Cannot save this model: {err}") from None

    if isinstance(path, (str, os.PathLike)):
        _write_atomically(os.fspath(path), members)
    else:
        np.savez_compressed(path, **members)


def read_model(path: str | os.PathLike | io.IOBase, estimators: dict[str, type]):
    """The model in ``path``, checked member by member and built as the class of
    ``estimators`` (name -> class) that the file records (``fastgmm.load``)."""
    where = _describe(path)
    try:
        with _open_npz(path, where) as archive:
            layout, members = _read_members(archive, where)
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
        return _build_model(estimators[layout.class_name], layout, members)
    except ValueError as err:
        raise ValueError(f"{where} is not a valid fastgmm model file: {err}") from None


# --------------------------------------------------------------------------- writing


def _encode_params(params: dict[str, Any], layout: _Layout) -> dict[str, np.ndarray]:
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
        elif name in layout.array_params:
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


def _encode_online_state(model: Any, layout: _Layout) -> dict[str, np.ndarray]:
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
    for field in layout.online_scalars:
        members[_ONLINE_PREFIX + field] = np.array(getattr(stats, field))
    if layout.online_extra:  # the total weight of the batches
        weight = getattr(model, "_online_weight", None)
        if weight is None:
            raise ValueError(
                "Cannot save this model: it has partial_fit's running statistics "
                "without the total weight of its batches (_online_weight)."
            )
        members[_ONLINE_WEIGHT] = np.array(float(weight))
    return members


def _encode_variational(model: Any) -> dict[str, np.ndarray]:
    """A BayesianGaussianMixture's posterior and priors (module docstring)."""
    members = {}
    for name in _VARIATIONAL_ATTRIBUTES:
        value = getattr(model, name)
        if isinstance(value, tuple):  # the process's two Beta parameters
            value = np.stack([np.asarray(part) for part in value])
        # np.require keeps a 0-d value 0-d (np.ascontiguousarray would not)
        members[name] = np.require(value, requirements="C")
    priors = getattr(model, "_priors", None)
    if priors is not None:
        for name in _FLOAT64_PRIORS:
            members[_PRIORS_PREFIX + name] = np.require(
                getattr(priors, name), dtype=np.float64, requirements="C"
            )
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


def _read_members(archive, where: str) -> tuple[_Layout, dict[str, Any]]:
    """Check names, headers, dtypes and sizes, then read every member; return the
    layout the marker names, and the members."""
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
    layout = _LAYOUTS.get(marker)
    if layout is None:
        raise ValueError(
            f"{where} is not a fastgmm model file: format marker is {marker!r}, "
            f"expected one of {sorted(_LAYOUTS)}."
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

    required, optional = layout.members(version)
    missing = required - present
    if missing:
        raise ValueError(
            f"{where} is incomplete: missing member(s) {sorted(missing)} "
            f"(format version {version})."
        )
    unexpected = present - required - optional
    if unexpected:
        raise ValueError(
            f"{where} has unexpected member(s) {sorted(unexpected)}; it was not "
            "written by fastgmm or has been altered."
        )
    partial = set(layout.optional) - present
    if partial and partial != set(layout.optional):
        raise ValueError(
            f"{where} is incomplete: missing member(s) {sorted(partial)}, which "
            f"come with {sorted(set(layout.optional) - partial)}."
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
    if layout.bayesian:
        prior_type = params.get("weight_concentration_prior_type")
        if prior_type not in PRIOR_TYPES:
            raise ValueError(
                f"{where}: parameter weight_concentration_prior_type must be one of "
                f"{PRIOR_TYPES}, got {prior_type!r}."
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
    if layout.bayesian:
        shapes = _variational_shapes(n_components, n_features, covariance_type,
                                     prior_type)
        for name, shape in shapes.items():
            _check_header(headers, name, shape,
                          "iuf" if name in _PRIOR_SCALARS else "f", where)
        for name in _FLOAT64_PRIORS:
            member = _PRIORS_PREFIX + name
            if member in present:
                _check_header(headers, member, shapes[name + "_"], "f", where)
                if headers[member][1].itemsize != 8:
                    raise ValueError(
                        f"{where}: member {member!r} has dtype "
                        f"{headers[member][1]}; the priors are float64."
                    )
    if "n_steps_" in present:
        _check_header(headers, "n_steps_", (), "iu", where)
        shapes = _online_shapes(n_components, n_features, covariance_type, layout)
        for name, shape in shapes.items():
            _check_header(headers, name, shape, "f", where)
            if headers[name][1].itemsize != 8:
                raise ValueError(
                    f"{where}: member {name!r} has dtype {headers[name][1]}; "
                    "partial_fit's statistics are float64."
                )
    for name in layout.array_params:
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
    return layout, members


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
    n_components: int, n_features: int, covariance_type: str, layout: _Layout
) -> dict[str, tuple[int, ...]]:
    """Shapes of the online-state members but ``n_steps_`` (``SufficientStats``'s
    fields, and the layout's extra scalars)."""
    second_moment = as_covariance_type(covariance_type).second_moment_shape(
        n_components, n_features
    )
    shapes = {
        "s0": (n_components,),
        "s1": (n_components, n_features),
        "s2": second_moment,
        "centers": (n_components, n_features),
        "tied_shift": (n_features,),
    }
    shapes.update({field: () for field in layout.online_scalars})
    shapes = {_ONLINE_PREFIX + field: shape for field, shape in shapes.items()}
    shapes.update({name: () for name in layout.online_extra})
    return shapes


def _variational_shapes(
    n_components: int, n_features: int, covariance_type: str, prior_type: str
) -> dict[str, tuple[int, ...]]:
    """Shapes of a BayesianGaussianMixture's own fitted members."""
    tied = covariance_type == "tied"
    # the Wishart prior's covariance: the per-component shape of covariances_
    prior_shape = as_covariance_type(covariance_type).shape(1, n_features)
    if not tied:
        prior_shape = prior_shape[1:]
    process = prior_type == "dirichlet_process"
    return {
        "weight_concentration_": (2, n_components) if process else (n_components,),
        "mean_precision_": (n_components,),
        "degrees_of_freedom_": () if tied else (n_components,),
        "mean_prior_": (n_features,),
        "covariance_prior_": prior_shape,
        "weight_concentration_prior_": (),
        "mean_precision_prior_": (),
        "degrees_of_freedom_prior_": (),
    }


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


def _build_model(estimator: type, layout: _Layout, members: dict[str, Any]):
    params = dict(members["params"])
    known = estimator().get_params(deep=False)
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
    for name in layout.array_params:
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

    model = estimator(**params)
    validate = getattr(model, "_validate_params", None)
    if validate is not None:
        # scikit-learn's own constraint check; it raises InvalidParameterError, a
        # ValueError, naming the parameter and the allowed values.
        validate()

    _check_fitted_values(members, params, layout)

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
    if layout.bayesian:
        _restore_variational(model, members)
    if "n_steps_" in members:
        model.n_steps_ = int(members["n_steps_"])
        online = {
            field: members[_ONLINE_PREFIX + field] for field in _ONLINE_ARRAYS
        }
        online.update({
            field: float(members[_ONLINE_PREFIX + field])
            for field in layout.online_scalars
        })
        model._online_stats = SufficientStats(params["covariance_type"], **online)
        if _ONLINE_WEIGHT in members:
            model._online_weight = float(members[_ONLINE_WEIGHT])
    return model


def _restore_variational(model, members: dict[str, Any]) -> None:
    """Set a BayesianGaussianMixture's posterior and priors, with the types the
    fitted attributes have (a tuple for the process's concentration, a float
    for a 0-d value that is a float in the estimator)."""
    concentration = members["weight_concentration_"]
    if model.weight_concentration_prior_type == "dirichlet_process":
        concentration = (concentration[0].copy(), concentration[1].copy())
    model.weight_concentration_ = concentration
    model.mean_precision_ = members["mean_precision_"]
    # 'tied': one NumPy scalar, as the conjugate update leaves it
    model.degrees_of_freedom_ = members["degrees_of_freedom_"][()] if (
        members["degrees_of_freedom_"].ndim == 0
    ) else members["degrees_of_freedom_"]
    for name in _PRIOR_SCALARS:
        setattr(model, name, members[name].item())
    model.mean_prior_ = members["mean_prior_"]
    covariance_prior = members["covariance_prior_"]
    model.covariance_prior_ = (
        covariance_prior.item() if covariance_prior.ndim == 0 else covariance_prior
    )
    if _PRIORS_PREFIX + "mean_prior" in members:
        # the float64 priors of the saved model's updates; without them the
        # estimator rebuilds its priors from the attributes
        covariance_prior = members[_PRIORS_PREFIX + "covariance_prior"]
        model._priors = Priors(
            model.weight_concentration_prior_type,
            model.weight_concentration_prior_,
            model.mean_precision_prior_,
            members[_PRIORS_PREFIX + "mean_prior"],
            model.degrees_of_freedom_prior_,
            covariance_prior.item() if covariance_prior.ndim == 0 else covariance_prior,
        )


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
    members: dict[str, Any], params: dict[str, Any], layout: _Layout
) -> None:
    """Check the fitted arrays' shapes, dtypes and values against each other and
    against the constructor parameters ``params``.

    Raises ValueError naming the first problem found. Shared by save and load.
    """
    n_components = params["n_components"]
    covariance_type = params["covariance_type"]
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
    if layout.bayesian:
        _check_variational(members, n_components, n_features, covariance_type,
                           params.get("weight_concentration_prior_type"))
    if "n_steps_" in members:
        _check_online_state(members, n_components, n_features, covariance_type,
                            layout)


def _check_variational(
    members: dict[str, Any], n_components: int, n_features: int,
    covariance_type: str, prior_type: str,
) -> None:
    """A BayesianGaussianMixture's priors and posterior: shapes, finite values,
    priors that scikit-learn accepts, float64 priors that round to the
    attributes, and a posterior consistent with the priors."""
    if prior_type not in PRIOR_TYPES:
        raise ValueError(
            f"unknown weight_concentration_prior_type {prior_type!r}."
        )
    shapes = _variational_shapes(n_components, n_features, covariance_type,
                                 prior_type)
    for name, shape in shapes.items():
        array = members[name]
        kinds = "iuf" if name in _PRIOR_SCALARS else "f"
        if array.shape != shape or array.dtype.kind not in kinds:
            raise ValueError(
                f"{name} has shape {array.shape} and dtype {array.dtype}, expected "
                f"{shape} and {'a number' if kinds == 'iuf' else 'floats'}."
            )
        if not np.all(np.isfinite(array)):
            raise ValueError(f"{name} contains NaN or infinity.")
    priors = {name[:-1]: members[name].item() for name in _PRIOR_SCALARS}
    for name in _FLOAT64_PRIORS:
        attribute, member = members[name + "_"], _PRIORS_PREFIX + name
        value = members.get(member)
        if value is None:
            value = attribute.astype(np.float64)
        elif (
            value.shape != attribute.shape or value.dtype != np.float64
            or not np.all(np.isfinite(value))
        ):
            raise ValueError(
                f"{member} must be finite float64 of shape {attribute.shape}, got "
                f"{value.dtype} of shape {value.shape}."
            )
        elif not np.array_equal(value.astype(attribute.dtype), attribute):
            raise ValueError(
                f"{member} does not round to {name}_ (the attribute is the float64 "
                "prior in the data's dtype)."
            )
        priors[name] = value
    try:
        resolve_priors(covariance_type, n_components, priors["mean_prior"],
                       np.eye(n_features), 2.0, prior_type, **priors)
    except ValueError as err:
        raise ValueError(f"the priors (*_prior_) are invalid: {err}") from None
    _check_posterior(members, covariance_type, prior_type, priors)


def _check_posterior(
    members: dict[str, Any], covariance_type: str, prior_type: str,
    priors: dict[str, Any],
) -> None:
    """The posterior's parts imply the same component masses n_k, as the
    conjugate update makes them: beta_k = beta_0 + n_k, nu_k = nu_0 + n_k ('tied':
    nu_0 + mean n_k), the Dirichlet's alpha_k = alpha_0 + n_k or the sticks'
    (1 + n_k, alpha_0 + sum_{j>k} n_j); and ``weights_`` are the posterior mean
    weights of ``weight_concentration_``."""
    names = ("weight_concentration_", "mean_precision_", "degrees_of_freedom_")
    concentration, mean_precision, dof = (
        members[name].astype(np.float64) for name in names
    )
    if not (np.all(concentration > 0) and np.all(mean_precision > 0)):
        raise ValueError("weight_concentration_ and mean_precision_ must be positive.")
    masses = mean_precision - priors["mean_precision_prior"]
    # rounding of sums of the masses and the priors, in the members' dtype
    eps = max(float(np.finfo(members[name].dtype).eps) for name in names)
    scale = 1.0 + np.abs(masses).sum() + sum(
        abs(priors[name]) for name in (
            "weight_concentration_prior", "mean_precision_prior",
            "degrees_of_freedom_prior",
        )
    )
    tolerance = 64 * masses.size * eps * scale
    if np.any(masses < -tolerance):
        raise ValueError(
            "mean_precision_ is below mean_precision_prior_ (negative component "
            "masses)."
        )
    alpha = priors["weight_concentration_prior"]
    if prior_type == "dirichlet_process":
        mass_after = np.hstack((np.cumsum(masses[::-1])[-2::-1], 0.0))
        implied = np.stack((1.0 + masses, alpha + mass_after))
    else:
        implied = alpha + masses
    if np.abs(concentration - implied).max() > tolerance:
        raise ValueError(
            "weight_concentration_ does not match mean_precision_: they imply "
            "different component masses."
        )
    if covariance_type == "tied":
        masses = masses.mean()
    if np.max(np.abs(dof - priors["degrees_of_freedom_prior"] - masses)) > tolerance:
        raise ValueError(
            "degrees_of_freedom_ does not match mean_precision_: they imply "
            "different component masses."
        )
    if prior_type == "dirichlet_process":
        concentration = (concentration[0], concentration[1])
    expected = VariationalParams(
        concentration, mean_precision, members["means_"], dof,
        members["covariances_"], members["precisions_cholesky_"],
    ).weights()
    weights = members["weights_"]
    eps = float(np.finfo(weights.dtype).eps)
    if np.abs(weights.astype(np.float64) - expected).max() > 16 * weights.size * eps:
        raise ValueError(
            "weights_ are not the posterior mean weights of weight_concentration_."
        )


def _check_online_state(
    members: dict[str, Any], n_components: int, n_features: int,
    covariance_type: str, layout: _Layout,
) -> None:
    """partial_fit's statistics: float64 arrays of the right shapes, finite, with
    non-negative masses that sum to the total weight, and a step count >= 1; for
    a BayesianGaussianMixture an entropy sum r log r within its bounds and a
    positive total weight of the batches."""
    if int(members["n_steps_"]) < 1:
        raise ValueError(f"n_steps_ is {int(members['n_steps_'])}, expected >= 1.")
    shapes = _online_shapes(n_components, n_features, covariance_type, layout)
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
    if not layout.bayesian:
        return
    # each point's sum_k r log r lies in [-log K, 0]
    entropy = float(members[_ONLINE_PREFIX + "entropy"])
    slack = 1e-8 * weight
    if not -math.log(n_components) * weight - slack <= entropy <= slack:
        raise ValueError(
            f"{_ONLINE_PREFIX}entropy (partial_fit's statistics) is {entropy!r}, "
            f"outside [-log(n_components) * weight, 0] for weight {weight!r}."
        )
    if not float(members[_ONLINE_WEIGHT]) > 0:
        raise ValueError(
            f"{_ONLINE_WEIGHT} (the total sample weight of partial_fit's batches) "
            "must be positive."
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

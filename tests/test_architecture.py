"""The package's structure: no import cycle, counting the imports made inside
functions too (a cycle dodged by a late import is still a cycle), and the
kernels as the only place that imports Numba's jit."""

import ast
from pathlib import Path

import pytest

import fastgmm

PACKAGE = Path(fastgmm.__file__).parent


def _modules():
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = path
    return modules


def import_graph():
    """{module: modules it imports anywhere in its body}, within the package."""
    modules = _modules()
    graph = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        edges = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                edges.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(up + ([base] if base else []))
                subs = {f"{base}.{alias.name}" for alias in node.names}
                # "from pkg import submodule" runs the submodule, not pkg's body
                edges.update(subs if subs <= modules.keys() else subs | {base})
        graph[name] = {e for e in edges if e in modules and e != name}
    return graph


def cycles(graph):
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [
        ["a", "b", "c"]
    ]


def test_no_import_cycle_in_the_package():
    graph = import_graph()
    assert len(graph) > 25  # every module was found
    assert cycles(graph) == []


def test_only_the_kernels_and_the_config_use_numba_jit():
    users = sorted(
        name for name, path in _modules().items()
        if "@njit" in path.read_text() or "numba.njit" in path.read_text()
    )
    assert users and all(
        name.startswith("fastgmm._kernels") or name == "fastgmm._config"
        for name in users
    ), users


def _literal_arguments(trees):
    """(module, line, callee, argument) of every call, in the kernels, that
    passes an int or bool constant to a function compiled apart (@njit or
    @overload, not inlined)."""
    compiled = set()
    for tree in trees.values():
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef):
                decorators = [ast.unparse(d) for d in node.decorator_list]
                if any("njit" in d and "INLINE" not in d for d in decorators):
                    compiled.add(node.name)
            elif (isinstance(node, ast.Call) and ast.unparse(node.func) == "overload"
                  and node.args):
                compiled.add(ast.unparse(node.args[0]))
    found = []
    for name, tree in trees.items():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            callee = ast.unparse(node.func).rpartition(".")[2]
            for i, argument in enumerate(node.args):
                if (callee in compiled and isinstance(argument, ast.Constant)
                        and isinstance(argument.value, int | bool)):
                    found.append((name, node.lineno, callee, i))
    return found


def test_kernels_pass_no_literal_constants_to_compiled_functions():
    """Numba types an int or bool constant passed to a jitted function as a
    literal and compiles that function, and everything it calls, once more
    per value: the first diag fit compiled three copies of the statistics'
    group functions (27 s instead of 35 s after removing them). The kernels
    pass int(0), bool(True) instead (plain int64 and bool). The check itself
    finds a constant where one is planted."""
    trees = {name: ast.parse(path.read_text()) for name, path in _modules().items()
             if name.startswith("fastgmm._kernels")}
    assert _literal_arguments(trees) == []
    planted = ast.parse(
        "from numba import njit\n@njit\ndef f(a, b):\n    return a\n"
        "@njit\ndef g(x):\n    return f(x, 0)\n")
    assert _literal_arguments({"planted": planted}) == [("planted", 7, "f", 1)]


def test_fits_import_no_optional_dependency():
    """dask, distributed, matplotlib and ArviZ are extras: fitting and predicting
    in memory, with missing values too, must not import them."""
    import subprocess
    import sys

    code = """
import sys
import numpy as np
import fastgmm
X = np.random.RandomState(0).randn(300, 2)
fastgmm.GaussianMixture(2, random_state=0).fit(X).predict(X)
fastgmm.BayesianGaussianMixture(n_components=2, random_state=0).fit(X).score(X)
X[::7, 0] = np.nan
fastgmm.GaussianMixture(2, missing_values="nan", random_state=0).fit(X).impute(X)
print(sorted(m for m in ("dask", "distributed", "matplotlib", "arviz")
             if m in sys.modules))
"""
    run = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().splitlines()[-1] == "[]"



_COMPILED_KINDS = """
import sys
import warnings
import numpy as np
from numba.core.registry import CPUDispatcher
import fastgmm
from fastgmm._kernels import common, diag, em, full, kmeans, missing, random, tied
warnings.simplefilter("ignore")
covariance_type, n_features, dtype, nan = sys.argv[1:]
X = np.random.RandomState(0).randn(600, int(n_features)).astype(dtype)
options = {}
if nan == "nan":  # rows with missing values: the passes of ``missing``
    X[::5, 1] = np.nan
    X[::7, -2] = np.nan
    options["missing_values"] = "nan"
fastgmm.GaussianMixture(2, covariance_type=covariance_type, max_iter=3,
                        **options).fit(X)
built = missing.MISSING_KERNELS if options else em.ACCUMULATE_KERNELS
dispatchers = {name: d
               for m in (common, diag, em, full, kmeans, missing, random, tied)
               for name, d in vars(m).items() if isinstance(d, CPUDispatcher)}
dispatchers.update({str(key): d for key, d in em.ACCUMULATE_KERNELS.items()})
dispatchers.update({str(key): d for key, d in missing.MISSING_KERNELS.items()})
print(sorted(built))
print(sorted(name for name, d in dispatchers.items() if d.stats.cache_misses))
print(sum(sum(d.stats.cache_misses.values()) for d in dispatchers.values()))
"""


def _check_compiled(tmp_path, argv, built, own_functions, own):
    """Run ``_COMPILED_KINDS`` with ``argv`` in two processes sharing a fresh
    cache: the first must build the passes ``built`` and compile the
    functions ``own_functions[own]`` and none of the others' (nor the Gibbs
    draws, ``sample_block``); the second must compile nothing."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    runs = [subprocess.run([sys.executable, "-c", _COMPILED_KINDS, *argv],
                           capture_output=True, text=True, timeout=900, env=env)
            for _ in ("first process", "second process")]
    for run in runs:
        assert run.returncode == 0, run.stderr
    first_built, compiled, _ = runs[0].stdout.strip().splitlines()[-3:]
    assert first_built == str(built)
    compiled = set(ast.literal_eval(compiled))
    functions = own_functions[own]
    assert functions <= compiled, functions - compiled
    for other, theirs in own_functions.items():
        if other != own:
            assert not (theirs - functions) & compiled, (other, theirs & compiled)
    assert "sample_block" not in compiled
    misses = runs[1].stdout.strip().splitlines()[-1]
    assert int(misses) == 0, f"the second process compiled {misses} function(s)"


# compiled apart (not inlined) by the passes of one kind and variant only
# (``em.kernel_variant``): every kind below TILE features (spherical's the same
# as diag's; tied's log-densities full's), full on float32
_OWN_FUNCTIONS = {
    ("FULL", "NARROW"): {"_log_prob_full_narrow", "add_component_stats_narrow"},
    ("FULL", "TILED"): {"add_component_stats"},
    ("FULL", "SINGLE"): {"log_prob_full_single", "add_stats_full_single"},
    ("TIED", "NARROW"): {"_log_prob_full_narrow", "add_stats_tied_narrow"},
    ("TIED", "TILED"): {"log_prob_tied", "add_stats_tied"},
    ("DIAG", "NARROW"): {"_log_prob_diag_narrow", "add_stats_diag_narrow"},
    ("DIAG", "TILED"): {"log_prob_diag", "add_stats_diag"},
    ("SPHERICAL", "NARROW"): {"_log_prob_diag_narrow", "add_stats_diag_narrow"},
    ("SPHERICAL", "TILED"): {"log_prob_spherical", "add_stats_spherical",
                             "_add_sq_distances"},
}


@pytest.mark.parametrize("covariance_type, kind, n_features, dtype, variant", [
    ("full", "FULL", 3, "float64", "NARROW"),
    ("full", "FULL", 6, "float64", "TILED"),
    ("full", "FULL", 8, "float32", "SINGLE"),
    ("tied", "TIED", 3, "float64", "NARROW"),
    ("tied", "TIED", 5, "float64", "TILED"),
    ("diag", "DIAG", 3, "float64", "NARROW"),
    ("diag", "DIAG", 6, "float32", "TILED"),
    ("spherical", "SPHERICAL", 3, "float64", "NARROW"),
    ("spherical", "SPHERICAL", 5, "float64", "TILED"),
])
def test_a_fit_compiles_only_its_covariance_types_kernels(
        covariance_type, kind, n_features, dtype, variant, tmp_path):
    """The pass is specialised per kernel kind and variant: in a fresh cache, a
    fit compiles its own kind's kernels for its data's shape and dtype, and
    not the other kinds' nor its kind's other variants (nor the Gibbs draws),
    and a second process loads everything from the on-disk cache."""
    from fastgmm._kernels import em, kinds

    _check_compiled(tmp_path, [covariance_type, str(n_features), dtype, "-"],
                    [(getattr(kinds, kind), False, getattr(em, variant))],
                    _OWN_FUNCTIONS, (kind, variant))


# compiled apart by the missing-value passes of one kind only
_OWN_MISSING = {
    "full": {"_complete_full", "add_component_stats", "_add_conditional_covariances"},
    "tied": {"_complete_tied", "_add_tied_corrections", "add_stats_tied"},
    "diag": {"_log_prob_observed_diag", "_add_stats_observed_diag", "add_stats_diag"},
    "spherical": {"_log_prob_observed_diag", "_add_stats_observed_diag",
                  "add_stats_spherical"},
}


@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_a_fit_with_missing_values_compiles_only_its_types_kernels(
        covariance_type, tmp_path):
    """The missing-value pass is specialised per kernel kind too
    (``missing.missing_kernel``): a fit of X holding NaN compiles its own
    type's kernels, for the missing values and for the complete blocks, not
    the other types' nor the Gibbs draws (``sample_block``), and a second
    process loads everything from the on-disk cache."""
    from fastgmm._kernels import em, kinds

    kind = getattr(kinds, covariance_type.upper())
    _check_compiled(tmp_path, [covariance_type, "6", "float64", "nan"],
                    [(kind, False, em.TILED)], _OWN_MISSING, covariance_type)


def test_cached_kernels_are_dropped_when_any_kernel_source_changes(tmp_path):
    """Numba checks only the defining file's timestamp; fastgmm stamps a digest
    of all kernel sources beside the cache and drops the cache files when it
    changes (real files in a temporary folder)."""
    from fastgmm._kernels import STAMP, drop_stale_cache

    sources = [tmp_path / "common.py", tmp_path / "em.py"]
    for source in sources:
        source.write_text("x = 1\n")
    cache = tmp_path / "__pycache__"
    cache.mkdir()
    (cache / "em.accumulate-10.py311.nbi").write_bytes(b"index")
    (cache / "em.accumulate-10.py311.1.nbc").write_bytes(b"code")
    (cache / "em.cpython-311.pyc").write_bytes(b"bytecode")
    assert drop_stale_cache(sources, [cache]) == 2  # no stamp yet
    left = sorted(p.name for p in cache.iterdir())
    assert left == sorted([STAMP, "em.cpython-311.pyc"])
    (cache / "em.accumulate-10.py311.nbi").write_bytes(b"index")
    assert drop_stale_cache(sources, [cache]) == 0  # same sources: kept
    assert (cache / "em.accumulate-10.py311.nbi").exists()
    sources[0].write_text("x = 2\n")  # another file than em.py changed
    assert drop_stale_cache(sources, [cache]) == 1
    assert not (cache / "em.accumulate-10.py311.nbi").exists()


_COMPILED_ONLY = r"""
import math
from numba import njit
from fastgmm._config import python_callable
from fastgmm._kernels.common import log_positive

@njit
def through(x):
    return log_positive(x)

def called_from_python():
    try:
        log_positive(3.0)
    except TypeError as error:
        return "compiled callers only" in str(error)
    return "no error"

print(called_from_python())
value = through(3.0)
print(value == python_callable(log_positive)(3.0)
      and abs(value - math.log(3.0)) < 1e-15)
print(called_from_python())
"""


def test_kernels_without_wrappers_refuse_calls_from_python(tmp_path):
    """A ``CompiledOnly`` kernel has no wrapper that Python could call: a call
    from Python raises TypeError, before and after a compiled caller compiled
    it, in the process that compiled it and in one that loads it from the
    on-disk cache; ``python_callable``'s copy computes what compiled callers
    get. In subprocesses: a call that reached the missing wrapper would crash
    the interpreter."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    for process in ("compiles", "loads from the cache"):
        run = subprocess.run([sys.executable, "-c", _COMPILED_ONLY], env=env,
                             capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, (process, run.returncode, run.stderr)
        assert run.stdout.split() == ["True", "True", "True"], (process, run.stdout)


def test_the_passes_kernels_are_compiled_for_compiled_callers_only():
    """Every compiled function of ``common``, ``diag``, ``full`` and ``tied``
    is either inlined into its callers or a ``CompiledOnly`` kernel: none
    builds wrappers for Python (which Python layer never calls them through)."""
    from numba.core.registry import CPUDispatcher

    from fastgmm._config import CompiledOnly
    from fastgmm._kernels import common, diag, full, tied

    kernels = {f"{module.__name__}.{name}": value
               for module in (common, diag, full, tied)
               for name, value in vars(module).items()
               if isinstance(value, CPUDispatcher)
               and value.py_func.__module__ == module.__name__}
    assert len(kernels) > 50
    wrapped = sorted(name for name, kernel in kernels.items()
                     if not isinstance(kernel, CompiledOnly)
                     and kernel.targetoptions.get("inline") != "always")
    assert wrapped == []

"""The package's structure: no import cycle, counting the imports made inside
functions too (a cycle dodged by a late import is still a cycle), and the
kernels as the only place that imports Numba's jit."""

import ast
from pathlib import Path

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

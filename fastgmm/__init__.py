"""fastgmm: Gaussian mixture models fitted by compiled, one-pass EM.

``fastgmm.GaussianMixture`` and ``fastgmm.BayesianGaussianMixture`` are drop-in
replacements for scikit-learn's estimators of the same names;
``fastgmm.GibbsGaussianMixture`` draws from the Bayesian mixture's posterior.

Importing fastgmm compiles nothing and loads nothing heavy: the public names are
resolved on first use (PEP 562), so ``import fastgmm`` stays fast and scikit-learn
and Numba are imported only when a model is made. Each kernel compiles on its
first call and is cached on disk for later processes.
"""

import importlib

# ``select`` shares its name with its module, so it is bound eagerly: a lazy
# attribute would be shadowed by the submodule once anything imports it. It
# needs only NumPy at import.
from .select import select

__version__ = "0.1.0"

_LAZY = {
    "BayesianGaussianMixture": "fastgmm._bayesian_mixture",
    "GaussianMixture": "fastgmm._gaussian_mixture",
    "GaussianMixtureImputer": "fastgmm._imputer",
    "GibbsGaussianMixture": "fastgmm._gibbs_mixture",
    "load": "fastgmm._load",
}

__all__ = [
    "BayesianGaussianMixture", "GaussianMixture", "GaussianMixtureImputer",
    "GibbsGaussianMixture", "load",
    "select", "__version__",
]


def __getattr__(name):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'fastgmm' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))

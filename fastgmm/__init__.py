"""fastgmm: Gaussian mixture models fitted by compiled, one-pass EM.

``fastgmm.GaussianMixture`` is a drop-in replacement for
``sklearn.mixture.GaussianMixture``. Importing fastgmm compiles nothing: each
kernel compiles on first use and is cached on disk.
"""

from ._gaussian_mixture import GaussianMixture

__version__ = "0.1.0"

__all__ = ["GaussianMixture", "__version__"]

"""Numba kernels: the only place in fastgmm with ``@njit``.

``em`` holds the parallel drivers; ``full``, ``tied`` and ``diag`` one kernel each
per covariance type (spherical runs as diag); ``kmeans`` the initialisation.
Nothing here is compiled at import: compilation happens on first call and is
cached on disk (``cache=True``).
"""

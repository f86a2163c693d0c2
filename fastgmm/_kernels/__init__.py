"""Numba kernels: the only place in fastgmm with ``@njit``.

``em`` holds the parallel drivers; ``full``, ``tied`` and ``diag`` one kernel each
per covariance type (spherical runs as diag); ``common`` what they share;
``missing`` the kernels for rows with missing values; ``random`` the
counter-based uniforms of the sampled pass; ``kmeans`` the initialisation;
``kinds`` the integer codes. Nothing here is compiled at import: compilation
happens on first call and is cached on disk (``cache=True``).
"""

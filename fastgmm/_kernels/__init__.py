"""Numba kernels: the only place in fastgmm with ``@njit``.

``em`` holds the passes and ``threads`` runs them on the threads; ``full``,
``tied`` and ``diag`` one kernel each per covariance type (spherical's is in
``diag``); ``common`` what they share;
``missing`` the kernels for rows with missing values; ``random`` the
counter-based uniforms of the sampled pass; ``kmeans`` the initialisation;
``kinds`` the integer codes. Nothing here is compiled at import: compilation
happens on first call and is cached on disk (``cache=True``).

Numba's cache checks only the timestamp of the file that defines a cached
function, while a kernel here compiles in functions of the other files (inlined
or called): after a change to ``common.py`` alone, the cached passes of ``em.py``
would go on running the old code. So a digest of every kernel source is kept
beside the cache, and the cached kernels are dropped when it changes (a checkout
that moved, an edit). Installations whose folders are read-only keep Numba's
own check: there Numba caches in the user's folder, and a reinstall gives every
file a new timestamp.
"""

import hashlib
from pathlib import Path

STAMP = "fastgmm-kernel-sources.sha256"


def drop_stale_cache(sources, folders):
    """Remove Numba's cache files (``*.nbi``, ``*.nbc``) from ``folders`` when the
    digest of ``sources`` differs from the one stamped there, then stamp it;
    returns the number of files removed. Best effort: a folder that cannot be
    read or written is left to Numba."""
    digest = hashlib.sha256()
    for source in sorted(sources):
        digest.update(Path(source).read_bytes())
    digest = digest.hexdigest()
    removed = 0
    for folder in map(Path, folders):
        stamp = folder / STAMP
        try:
            if stamp.read_text() == digest:
                continue
        except OSError:
            pass
        try:
            for cached in [*folder.glob("*.nbi"), *folder.glob("*.nbc")]:
                cached.unlink(missing_ok=True)
                removed += 1
            folder.mkdir(parents=True, exist_ok=True)
            stamp.write_text(digest)
        except OSError:
            continue
    return removed


def _check_cache():
    """The kernels' sources are this folder's modules and ``_config.py`` (which
    holds the compilation options); their caches, the two ``__pycache__`` folders."""
    here = Path(__file__).resolve().parent
    drop_stale_cache([*here.glob("*.py"), here.parent / "_config.py"],
                     [here / "__pycache__", here.parent / "__pycache__"])


_check_cache()

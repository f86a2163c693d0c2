"""The threads of a pass: Python threads running compiled chunk ranges.

A pass's kernel is compiled serial and ``nogil``, as ``kernel(first, stop,
*args)``: chunks ``first`` to ``stop - 1`` of the pass, each into its own output
slot. ``run_chunks`` splits the chunks into one contiguous range per thread,
runs the first range on the calling thread and the others on a shared pool.
Numba's ``parallel=True`` would do the same split, but compiling a pass with it
took about half as long again as the serial pass (its loop body is compiled a
second time, as a gufunc, and every function under it with it), on every first
fit in a fresh environment.

The number of threads is Numba's for the calling thread
(``numba.get_num_threads``, which ``_validation.numba_threads`` sets per fit),
so ``n_jobs`` and ``numba.set_num_threads`` keep their meaning. Results never
depend on it: each chunk is done whole by one thread into its own slot, and the
callers sum the slots in chunk order. Concurrent passes (Dask's worker threads)
share the pool, which grows to the largest count asked for.
"""

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise

import numba

_LOCK = threading.Lock()
_POOL = {"pid": None, "executor": None, "workers": 0}


def _executor(workers):
    """The shared pool with at least ``workers`` threads; a new one after a fork
    (the parent's threads do not exist in the child)."""
    with _LOCK:
        pid = os.getpid()
        if _POOL["pid"] != pid or _POOL["workers"] < workers:
            if _POOL["pid"] == pid and _POOL["executor"] is not None:
                # passes already queued on the old pool still finish
                _POOL["executor"].shutdown(wait=False)
            _POOL.update(pid=pid, workers=workers, executor=ThreadPoolExecutor(
                max_workers=workers, thread_name_prefix="fastgmm"))
        return _POOL["executor"]


def chunk_ranges(n_chunks, threads):
    """``threads`` contiguous ranges ``(first, stop)`` covering ``n_chunks``
    chunks, as even as whole chunks allow (none empty when threads <= n_chunks)."""
    bounds = [n_chunks * t // threads for t in range(threads + 1)]
    return list(pairwise(bounds))


def run_chunks(kernel, n_chunks, *args):
    """Run ``kernel(first, stop, *args)`` over chunks 0..n_chunks-1, on
    ``min(numba.get_num_threads(), n_chunks)`` threads, the calling one included;
    returns when every range is done, raising the first error of any."""
    threads = max(1, min(numba.get_num_threads(), n_chunks))
    if threads == 1:
        kernel(0, n_chunks, *args)
        return
    ranges = chunk_ranges(n_chunks, threads)
    pool = _executor(threads - 1)
    futures = [pool.submit(kernel, first, stop, *args) for first, stop in ranges[1:]]
    try:
        kernel(*ranges[0], *args)
    finally:
        # the others write into the same outputs: never return before they end
        errors = [f.exception() for f in futures]
    for error in errors:
        if error is not None:
            raise error

"""The threads of a pass: Python threads running compiled chunk ranges.

A pass's kernel is compiled serial and ``nogil``, as ``kernel(first, stop,
*args)``: chunks ``first`` to ``stop - 1`` of the pass, each into its own output
slot. ``run_chunks`` cuts the chunks into ranges that shrink as the pass goes
(``chunk_ranges``), and the calling thread and the pool's take the next range
whenever they finish one: a core that runs slower for a while (a shared machine)
leaves the others the rest of the pass instead of making them wait for it. At 1M
x 16 x 16 on 2 threads, one range per thread ended up to 7 ms apart in a pass of
45-49 ms.
Numba's ``parallel=True`` would split the chunks too, but compiling a pass with it
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

import itertools
import os
import threading
from concurrent.futures import ThreadPoolExecutor

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
    """Contiguous ranges ``(first, stop)`` covering ``n_chunks`` chunks in order,
    for ``threads`` threads that take them one at a time: each range holds
    1 / (2 threads) of the chunks left (at least one), so the first are large
    and the last are single chunks (32 chunks on 2 threads: 13 ranges, 8, 6,
    4, 3, 2, 2 and seven of one)."""
    ranges = []
    first = 0
    while first < n_chunks:
        size = max(1, (n_chunks - first) // (2 * threads))
        ranges.append((first, first + size))
        first += size
    return ranges


def run_chunks(kernel, n_chunks, *args):
    """Run ``kernel(first, stop, *args)`` over chunks 0..n_chunks-1, on
    ``min(numba.get_num_threads(), n_chunks)`` threads, the calling one included,
    each taking the next of ``chunk_ranges`` when done with one. Returns when
    every range is done; a range that raises does not stop the others, and the
    error of the first such range (in chunk order) is raised at the end."""
    threads = max(1, min(numba.get_num_threads(), n_chunks))
    if threads == 1:
        kernel(0, n_chunks, *args)
        return
    ranges = chunk_ranges(n_chunks, threads)
    taken = itertools.count()  # next() on it is atomic under the GIL
    errors = {}
    interrupted = []

    def work():
        while not interrupted:
            index = next(taken)
            if index >= len(ranges):
                return
            first, stop = ranges[index]
            try:
                kernel(first, stop, *args)
            except Exception as error:  # raised below, once every range ends
                errors[first] = error
            except BaseException:  # KeyboardInterrupt: no more ranges, anywhere
                interrupted.append(True)
                raise

    pool = _executor(threads - 1)
    futures = [pool.submit(work) for _ in range(threads - 1)]
    try:
        work()
    finally:
        # the others write into the same outputs: never return before they
        # end; one that has not started (the pool busy with another pass)
        # is dropped, as there is nothing left for it to take
        for future in futures:
            if not future.cancel():
                future.result()
    if errors:
        raise errors[min(errors)]

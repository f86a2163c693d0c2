"""The threads of a pass (``_kernels.threads``): every chunk done once, on the
number of threads Numba's setting gives, errors raised, concurrent passes and
forked processes served."""

import itertools
import multiprocessing
import threading

import numba
import numpy as np
import pytest
from numba import njit

from fastgmm._kernels.threads import chunk_ranges, run_chunks
from fastgmm._validation import numba_threads, resolve_n_jobs


@pytest.mark.parametrize("n_chunks", [1, 2, 3, 7, 32, 1000])
@pytest.mark.parametrize("threads", [1, 2, 3, 5])
def test_chunk_ranges_cover_the_chunks_in_order(n_chunks, threads):
    """In order, none empty, none larger than the one before; at least one per
    thread; single chunks at the end once there are enough chunks; few ranges
    (each takes a fraction of what is left)."""
    threads = min(threads, n_chunks)
    ranges = chunk_ranges(n_chunks, threads)
    assert [c for first, stop in ranges for c in range(first, stop)] == \
        list(range(n_chunks))
    sizes = [stop - first for first, stop in ranges]
    assert min(sizes) >= 1
    assert all(a >= b for a, b in itertools.pairwise(sizes))
    assert len(ranges) >= threads
    if n_chunks >= 2 * threads:
        assert sizes[-1] == 1 and sizes[0] == n_chunks // (2 * threads)
    assert len(ranges) <= 2 * threads * (1 + np.log(n_chunks)) + 2 * threads
    assert chunk_ranges(32, 2) == [(0, 8), (8, 14), (14, 18), (18, 21), (21, 23),
                                   (23, 25)] + [(c, c + 1) for c in range(25, 32)]


@njit(nogil=True)
def _mark(first, stop, out, thread_ids, ident):
    for c in range(first, stop):
        out[c] += c + 1
        thread_ids[c] = ident


def _marking_kernel(first, stop, out, thread_ids):
    _mark(first, stop, out, thread_ids, threading.get_ident())


@pytest.mark.parametrize("n_jobs", [1, 2, 3])
def test_every_chunk_runs_once_on_the_threads_at_once(n_jobs):
    """Each chunk once; the threads run at the same time (each thread's first
    range waits for the others' at a barrier), one per thread up to
    ``n_jobs``, the calling thread among them; Numba's setting restored."""
    n_chunks = 12
    threads = resolve_n_jobs(n_jobs)
    barrier = threading.Barrier(threads, timeout=60)
    started = set()

    def kernel(first, stop, out, thread_ids):
        if threading.get_ident() not in started:
            started.add(threading.get_ident())
            barrier.wait()
        _marking_kernel(first, stop, out, thread_ids)

    out = np.zeros(n_chunks)
    thread_ids = np.zeros(n_chunks, dtype=np.int64)
    before = numba.get_num_threads()
    with numba_threads(n_jobs):
        run_chunks(kernel, n_chunks, out, thread_ids)
    assert numba.get_num_threads() == before
    np.testing.assert_array_equal(out, np.arange(1, n_chunks + 1))
    assert len(set(thread_ids.tolist())) == threads
    assert threading.get_ident() in set(thread_ids.tolist())


def test_a_slow_thread_leaves_the_rest_of_the_pass_to_the_others():
    """The thread that takes the first range is held there until the other has
    done every other range: the ranges are taken as threads come free, not
    dealt out beforehand, so the held thread did a quarter of the chunks."""
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("one thread only")
    n_chunks = 32
    first_range = chunk_ranges(n_chunks, 2)[0]
    rest_done = threading.Event()
    out = np.zeros(n_chunks)
    thread_ids = np.zeros(n_chunks, dtype=np.int64)

    def kernel(first, stop, out, thread_ids):
        if (first, stop) == first_range:
            assert rest_done.wait(timeout=60)
        _marking_kernel(first, stop, out, thread_ids)
        if np.count_nonzero(out) == n_chunks - (first_range[1] - first_range[0]):
            rest_done.set()

    with numba_threads(2):
        run_chunks(kernel, n_chunks, out, thread_ids)
    np.testing.assert_array_equal(out, np.arange(1, n_chunks + 1))
    slow = set(thread_ids[first_range[0]:first_range[1]].tolist())
    others = set(thread_ids[first_range[1]:].tolist())
    assert len(slow) == 1 and len(others) == 1 and slow != others
    # a quarter of the pass held up, not half (one range per thread)
    assert np.count_nonzero(thread_ids == slow.pop()) == n_chunks // 4


def _failing_kernel(first, stop, done):
    done[first:stop] = 1.0
    if first > 0:
        raise ValueError(f"range {first}-{stop} failed")


def test_an_error_on_another_thread_is_raised_after_every_range_ends():
    """Every range still runs; the error raised is that of the first range
    (in chunk order) that failed."""
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("one thread only")
    done = np.zeros(8)
    first, stop = chunk_ranges(8, 2)[1]
    with numba_threads(2), pytest.raises(ValueError,
                                         match=f"range {first}-{stop} failed"):
        run_chunks(_failing_kernel, 8, done)
    np.testing.assert_array_equal(done, 1.0)


def test_concurrent_passes_from_several_threads():
    """Dask's worker threads run passes at once: each gets its own result."""
    results = {}

    def one(seed):
        out = np.zeros(9)
        ids = np.zeros(9, dtype=np.int64)
        with numba_threads(2):
            for _ in range(20):
                run_chunks(_marking_kernel, 9, out, ids)
        results[seed] = out

    workers = [threading.Thread(target=one, args=(s,)) for s in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    for out in results.values():
        np.testing.assert_array_equal(out, 20 * np.arange(1, 10))
    assert len(results) == 4


def _in_child(queue):
    out = np.zeros(6)
    ids = np.zeros(6, dtype=np.int64)
    with numba_threads(2):
        run_chunks(_marking_kernel, 6, out, ids)
    queue.put(out.tolist())


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(),
                    reason="no fork on this platform")
def test_a_forked_process_gets_its_own_pool():
    """The parent's pool threads do not exist in a forked child: the child
    builds its own instead of waiting on them forever."""
    out = np.zeros(6)
    with numba_threads(2):
        run_chunks(_marking_kernel, 6, out, np.zeros(6, dtype=np.int64))
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_in_child, args=(queue,))
    child.start()
    child.join(timeout=120)
    assert child.exitcode == 0
    assert queue.get(timeout=10) == list(range(1, 7))

"""Peak memory of one call, read from ``/proc/self/status`` (Linux) or tracemalloc."""

import contextlib
import ctypes
import gc
import threading
import time
import tracemalloc


def status_bytes(field):
    """Return a memory field of ``/proc/self/status`` (``VmRSS``, ``RssAnon``...)
    in bytes."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise OSError(f"no {field} in /proc/self/status")


def release_free_memory():
    """Collect garbage and hand free heap pages back to the system (glibc only)."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def peak_rss_growth(function):
    """Run ``function()``; return (peak resident bytes above the start, result).

    Resets the kernel's high-water mark (``VmHWM``) through ``/proc/self/clear_refs``
    (Linux >= 4.0), so the peak is that of this call alone; the start is the resident
    set just before it. Raises OSError where that file cannot be written.
    """
    release_free_memory()
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")
    start = status_bytes("VmRSS")
    result = function()
    peak = status_bytes("VmHWM")
    return max(peak - start, 0), result


def peak_traced_growth(function):
    """Run ``function()``; return (peak traced bytes above the start, result).

    Only allocations that report to tracemalloc count: NumPy's, not Numba's runtime or
    BLAS buffers.
    """
    release_free_memory()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        start, _ = tracemalloc.get_traced_memory()
        result = function()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return max(peak - start, 0), result


def peak_anon_growth(function, interval=0.002):
    """Run ``function()``; return (peak anonymous resident bytes above the start,
    result), sampling ``RssAnon`` every ``interval`` seconds.

    Pages of memory-mapped files are not anonymous (the kernel can drop them and read
    them again), so a fit of a memory-mapped array is charged only for what it
    allocates.
    """
    start = status_bytes("RssAnon")
    peak = [start]
    done = threading.Event()

    def watch():
        while not done.is_set():
            peak[0] = max(peak[0], status_bytes("RssAnon"))
            time.sleep(interval)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        result = function()
    finally:
        done.set()
        watcher.join()
    peak[0] = max(peak[0], status_bytes("RssAnon"))
    return peak[0] - start, result

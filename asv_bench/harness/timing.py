"""Wall-clock timing of fits on a machine whose thread pools may still be busy.

Not for import into ``benchmarks/`` modules under their own names: ASV would take
:func:`time_per_iteration` there for a benchmark.
"""

import gc
import statistics
import time

#: Pause before a timed call. OpenBLAS and OpenMP worker threads keep spinning for
#: about 0.1 s after their last task; on a 2-core machine a fit that starts while
#: the previous implementation's pool still spins runs several times slower
#: (measured: a 50k x 2 x 3 fastgmm fit right after a NumPy EM fit took 40 ms, and
#: 4 ms after a 0.1 s pause).
SETTLE_SECONDS = 0.3


def seconds(function, *args, settle=True, **kwargs):
    """Return (wall seconds, result) of one call, after a garbage collection and,
    with ``settle``, a pause that lets other thread pools go idle."""
    gc.collect()
    if settle:
        time.sleep(SETTLE_SECONDS)
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return time.perf_counter() - start, result


def time_per_iteration(fitters, n_iter, repeat, log):
    """Median seconds per EM iteration of each fitter, by difference of two fits.

    ``fitters`` maps a label to ``fit(max_iter) -> model``. Each repeat times every
    fitter at ``max_iter=1`` and ``max_iter=1+n_iter`` in turn.

    Returns
    -------
    dict label -> {"per_iter": median seconds, "runs": [...], "fit_1": median seconds of
    fit(max_iter=1), "fit_n": median of fit(max_iter=1+n_iter), "model": last model}
    """
    out = {label: {"runs": [], "lo": [], "hi": []} for label in fitters}
    for r in range(repeat):
        for label, fit in fitters.items():
            t_lo, _ = seconds(fit, 1)
            t_hi, model = seconds(fit, 1 + n_iter)
            entry = out[label]
            entry["runs"].append((t_hi - t_lo) / n_iter)
            entry["lo"].append(t_lo)
            entry["hi"].append(t_hi)
            entry["model"] = model
            log(
                f"    repeat {r + 1}/{repeat} {label:>14}: fit(1) {t_lo:.3f} s, "
                f"fit({1 + n_iter}) {t_hi:.3f} s -> "
                f"{entry['runs'][-1] * 1e3:.1f} ms/iter"
            )
    for entry in out.values():
        entry["per_iter"] = statistics.median(entry["runs"])
        entry["fit_1"] = statistics.median(entry["lo"])
        entry["fit_n"] = statistics.median(entry["hi"])
    return out


def median_seconds(function, repeat):
    """Return (median wall seconds of ``repeat`` calls of ``function()``, last
    result)."""
    times = []
    result = None
    for index in range(repeat):
        # Settle before the series only: the calls after it meet the state that
        # this implementation's own previous call left, as a user's loop would.
        t, result = seconds(function, settle=index == 0)
        times.append(t)
    return statistics.median(times), result


def best_seconds(function, repeat=3):
    """The fewest wall seconds of ``repeat`` calls of ``function()``."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best

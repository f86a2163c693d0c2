"""One place for the Numba flags and the fixed partition of rows into work units.

Every kernel module imports its jit options from here, so a change of policy
(caching, fastmath flags) is made once.
"""

# fastmath without "nnan"/"ninf": log-responsibilities legitimately hold -inf.
FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}

JIT = {"nogil": True, "cache": True, "fastmath": FASTMATH, "error_model": "numpy"}

# For functions whose arithmetic must keep its order after LLVM inlines them into
# fastmath callers: the flags live on each instruction, so without "reassoc"
# here a caller's sums treat this function's results as opaque terms
# (``common.log_positive``'s exponent trick subtracts 1.5 * 2**52; a caller that
# adds four such logs had the four subtractions merged into one of 6 * 2**52,
# whose rounding moved the exponents by whole units: logs off by multiples of
# ln 2).
ORDERED_JIT = {**JIT, "fastmath": FASTMATH - {"reassoc"}}

# Inlined into their callers (in Numba's IR), where some of their arguments are
# constants: Numba drops the branches those rule out before typing the rest, so
# a pass compiles only what its kind uses.
INLINE_JIT = {**JIT, "inline": "always"}

# Rows handled together: small enough that the per-block scratch (BLOCK_ROWS x K)
# and a component's parameters stay in L1/L2, large enough to amortise loop set-up.
BLOCK_ROWS = 256

# Rows are split into at most this many chunks, each reduced into its own slot and
# the slots summed in chunk order. The split depends on the number of rows only,
# never on the thread count, so results are bitwise identical for any n_jobs.
MAX_CHUNKS = 32

# A chunk has at least this many rows (except when there are fewer): waking a
# second thread costs more than a pass over a few thousand rows, so small data
# is one chunk and runs on the calling thread (see ``_validation.numba_threads``).
MIN_CHUNK_ROWS = 16 * BLOCK_ROWS


from numba import njit  # noqa: E402
from numba.core.registry import CPUDispatcher  # noqa: E402


class CompiledOnly(CPUDispatcher):
    """A kernel called only by compiled functions, built without the wrappers
    through which Python (or a C caller) would call it. Numba builds both for
    every compiled function, the Python one with the code that unboxes each
    argument; dropping them from the kernels that only the passes call
    (``common``, ``diag``, ``full``, ``tied``, and one helper each of ``em``
    and ``kmeans``) took a first fit in a fresh cache at 2,000 x 16 x 16 from
    10.0-11.2 s to 8.0-9.6 s, whatever the covariance type (Intel Xeon, two
    runs each; ``asv_bench/first_fit.py``).

    Numba would call the missing wrapper if Python called such a function, so
    its compilations are kept from the table that Python's calls search, and a
    call from Python raises TypeError instead (``python_callable`` makes a
    copy that Python can call)."""

    def add_overload(self, cres):
        # not Dispatcher.add_overload's _insert: compiled callers find it here
        self.overloads[tuple(cres.signature.args)] = cres

    def _compile_for_args(self, *args, **kws):
        raise TypeError(
            f"{self.py_func.__qualname__} is compiled for compiled callers only, "
            f"without a wrapper that Python could call; call it from an @njit "
            f"function, or through fastgmm._config.python_callable")


def compiled_only(cache=True, **options):
    """``njit(cache=cache, **options)`` for a ``CompiledOnly`` kernel."""
    targetoptions = {**options, "nopython": True, "no_cpython_wrapper": True,
                     "no_cfunc_wrapper": True}

    def build(func):
        dispatcher = CompiledOnly(py_func=func, locals={}, targetoptions=targetoptions)
        if cache:
            dispatcher.enable_caching()
        return dispatcher

    return build


def python_callable(kernel):
    """A copy of a ``CompiledOnly`` kernel that Python can call (for tests),
    compiled from the same source with the wrappers; not cached on disk,
    where it would share the kernel's entries, which have none. Anything else
    is returned as it is."""
    if not isinstance(kernel, CompiledOnly):
        return kernel
    options = {name: value for name, value in kernel.targetoptions.items()
               if name not in ("nopython", "no_cpython_wrapper", "no_cfunc_wrapper")}
    return njit(**options)(kernel.py_func)


def chunk_layout(n_rows):
    """Return ``(n_chunks, chunk_rows)`` for ``n_rows`` rows.

    Chunks are whole multiples of ``BLOCK_ROWS`` (except the last), so a chunk's
    blocks are the same whatever the number of threads. Plain Python: only
    Python calls it, and a compiled copy cost a first fit 0.1 s.
    """
    n_blocks = max(1, -(-n_rows // BLOCK_ROWS))
    n_chunks = max(1, min(MAX_CHUNKS, n_rows // MIN_CHUNK_ROWS, n_blocks))
    blocks_per_chunk = -(-n_blocks // n_chunks)
    chunk_rows = blocks_per_chunk * BLOCK_ROWS
    n_chunks = max(1, -(-n_rows // chunk_rows))
    return n_chunks, chunk_rows

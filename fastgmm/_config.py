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


@njit(cache=True)
def chunk_layout(n_rows):
    """Return ``(n_chunks, chunk_rows)`` for ``n_rows`` rows.

    Chunks are whole multiples of ``BLOCK_ROWS`` (except the last), so a chunk's
    blocks are the same whatever the number of threads.
    """
    n_blocks = max(1, -(-n_rows // BLOCK_ROWS))
    n_chunks = max(1, min(MAX_CHUNKS, n_rows // MIN_CHUNK_ROWS, n_blocks))
    blocks_per_chunk = -(-n_blocks // n_chunks)
    chunk_rows = blocks_per_chunk * BLOCK_ROWS
    n_chunks = max(1, -(-n_rows // chunk_rows))
    return n_chunks, chunk_rows

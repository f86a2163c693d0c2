"""Messages and progress on stderr, shared by the ``fastgmm`` command and the demo.

Both keep stdout for their results, so anything said along the way (what is
being done, the estimator's ``verbose`` output, fastgmm's log) goes to stderr.
"""

from __future__ import annotations

import contextlib
import logging
import sys


def to_stderr(message: str) -> None:
    """Write one line to stderr at once, so it shows even when stdout is piped."""
    print(message, file=sys.stderr, flush=True)


@contextlib.contextmanager
def progress_on_stderr(enabled: bool):
    """Route the estimator's verbose output and fastgmm's log to stderr.

    Parameters
    ----------
    enabled : bool
        When False, nothing is routed: the block runs as it would without this.
    """
    logger = logging.getLogger("fastgmm")
    if not enabled:
        yield
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)

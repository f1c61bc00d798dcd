"""A guard against hangs for in-process tests: fail loudly instead of stalling the suite.

Not a speed assertion: the limits are generous, and only a run that never ends meets them.
Subprocess tests use ``subprocess``'s own ``timeout=`` instead.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager

HANG_S = 60.0


class Hung(Exception):
    """The guarded block was still running after its limit: it would have hung."""


@contextmanager
def no_hang(what: str, seconds: float = HANG_S) -> Iterator[None]:
    """Raise ``Hung`` in the main thread if the block runs past ``seconds`` (and every 5 s after,
    so that a cleanup that hangs in turn is broken out of too)."""

    def on_alarm(signum: int, frame: object) -> None:
        raise Hung(f"{what} still running after {seconds:g} s: it hangs")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds, 5.0)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)

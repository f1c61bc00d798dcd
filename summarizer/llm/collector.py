"""The cyclic garbage collector held off while an answer becomes a summary.

Turning one answer into a summary (the ~20 KB of JSON parsed into the draft, every quote
grounded and every statement checked, the draft resolved) allocates thousands of container
objects that all die within milliseconds, by reference counting: none of them is in a cycle.
With the collector on, its young-generation passes run in the middle of that burst; what the
burst still holds at that moment survives and is promoted, and promotions are what set off
full collections, which walk every object in the process (the SDK, instructor, the caller's
own data). Measured for issue 14 (benchmarks/batch_throughput.py, 256 articles at C=64): full
collections took 1.5-2 s of a 7 s run, about 1 µs per live object on these machines. Held off
for the burst, the burst's objects are gone before any pass sees them; the passes that are
due run as soon as the burst ends.

The collector is process-wide state, so the hold is counted (threads and event loops overlap
their bursts) and lifted only by the last one out; if the application had turned the collector
off itself, it stays off. A burst never spans an ``await``.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_holders = 0
_resume = False  # whether the collector was on when the first holder came in


@contextmanager
def collector_held() -> Iterator[None]:
    """No cyclic collection while the block runs (in any thread); the collector as it was after."""
    global _holders, _resume
    with _lock:
        if _holders == 0:
            _resume = gc.isenabled()
            gc.disable()
        _holders += 1
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0 and _resume:
                gc.enable()

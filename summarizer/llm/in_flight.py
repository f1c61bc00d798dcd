"""The most requests one ``Summarizer`` has open to the provider at once (``Settings.max_in_flight``).

A slot is held while a request is out, from sending it until its answer has arrived, and not
while the answer is checked. Checking an answer (placing every quote in the article, the
statement checks, resolving) is CPU work on the event loop. When a caller bounds whole
articles instead (gather + a semaphore around ``asummarize``), a wave of answers that arrive
together is checked one after another while every slot stays taken; the next wave goes out
only after the last check, so the waves stay in step and each one waits for the previous
one's checks. Here, once an answer is in, the slot is released and the task yields a few turns
of the loop, so a waiting call's request is on the wire before this answer's checks start.
Re-asks take a slot again.

One ``asyncio.Semaphore`` per event loop (a semaphore belongs to the loop it is first used
on; a ``Summarizer`` may serve several ``asyncio.run()`` calls) and one thread semaphore for
the sync API. ``None``: no limit.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

# Turns of the event loop given to the next request when a slot is freed (see ``slot``).
_HANDOVER_TURNS = 4


class InFlightLimit:
    def __init__(self, limit: int | None) -> None:
        if limit is not None and limit < 1:
            raise ValueError(f"max_in_flight must be at least 1, not {limit}")
        self.limit = limit
        self._lock = threading.Lock()
        self._threads = threading.BoundedSemaphore(limit) if limit is not None else None
        self._loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
            weakref.WeakKeyDictionary()
        )

    def _gate(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        with self._lock:
            gate = self._loops.get(loop)
            if gate is None:
                assert self.limit is not None
                gate = self._loops[loop] = asyncio.Semaphore(self.limit)
            return gate

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold a slot for one request (its answer received inside the block)."""
        if self.limit is None:
            yield
            return
        gate = self._gate()
        async with gate:
            yield
        # Hand the slot over for real: the call waiting for it must get its request onto the wire
        # before our checks hold the loop. One turn of the loop only brings it into the transport;
        # on a pooled aiohttp connection it is written on the second (tests/test_in_flight.py
        # counts it at the server); the extra turns are margin, and cost nothing when no other
        # task is ready.
        for _ in range(_HANDOVER_TURNS):
            await asyncio.sleep(0)

    @contextmanager
    def sync_slot(self) -> Iterator[None]:
        if self._threads is None:
            yield
            return
        with self._threads:
            yield


NO_LIMIT = InFlightLimit(None)

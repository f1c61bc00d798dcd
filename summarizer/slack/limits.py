"""Backpressure: a bounded backlog of summaries and a per-user rate limit, each refusal a
line that says when to try again.

Without bounds, a burst (60 commands at once, or one user pasting links all afternoon) queues
without end: every request is accepted, each waits longer, and the model bill grows for work
nobody will still be waiting for. So a request is admitted only while fewer than
``running + waiting`` summaries are in hand, and only while its user has asked fewer than
``per_user`` times in the last ``window`` seconds. Both checks happen before the
acknowledgement, so a refusal is the ack itself (or an ephemeral line), never a silent drop.

The limits are per process: a bot run as several replicas gives each its own.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

# A new bot has no timings yet: assume a summary takes this long when estimating a wait.
FIRST_GUESS_SECONDS = 30.0


def in_words(seconds: float) -> str:
    """``95.2`` -> "2 minutes"; a wait as people say it, rounded up."""
    seconds = max(1, math.ceil(seconds))
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


class UserRateLimit:
    """At most ``per_user`` requests per user in any ``window`` seconds (a sliding window)."""

    def __init__(self, per_user: int, window: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_user = per_user
        self.window = window
        self._clock = clock
        self._asked: dict[str, deque[float]] = {}

    def wait_for(self, user: str) -> float | None:
        """None (and the request counted) when ``user`` may ask now, else the seconds to wait."""
        if self.per_user <= 0:
            return None
        now = self._clock()
        asked = self._asked.setdefault(user, deque())
        while asked and asked[0] <= now - self.window:
            asked.popleft()
        if len(asked) >= self.per_user:
            return asked[0] + self.window - now
        asked.append(now)
        if len(self._asked) > 10_000:  # forget users whose window has passed
            self._asked = {u: q for u, q in self._asked.items() if q and q[-1] > now - self.window}
        return None

    def refusal(self, seconds: float) -> str:
        return (
            f":raised_hand: You have asked for {self.per_user} summaries in the last "
            f"{in_words(self.window)}; try again in {in_words(seconds)}."
        )


class Backlog:
    """At most ``running`` summaries at once and ``waiting`` more in line; beyond that, refuse."""

    def __init__(self, running: int, waiting: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.running = running
        self.waiting = waiting
        self._clock = clock
        self._held = 0
        self._gate: asyncio.Semaphore | None = None  # made in the loop that uses it
        self._average = FIRST_GUESS_SECONDS

    @property
    def held(self) -> int:
        return self._held

    def admit(self) -> bool:
        """Take a place in the backlog (False when it is full). Every place taken is given back
        by ``run`` or ``release``."""
        if self._held >= self.running + self.waiting:
            return False
        self._held += 1
        return True

    def release(self) -> None:
        self._held = max(0, self._held - 1)

    async def run(self, work: Callable[[], Awaitable[T]]) -> T:
        """Run ``work`` when one of the ``running`` slots is free; its place is given back after."""
        if self._gate is None:
            self._gate = asyncio.Semaphore(self.running)
        try:
            async with self._gate:
                started = self._clock()
                try:
                    return await work()
                finally:
                    # A moving average of how long a summary takes, for the refusal's estimate.
                    self._average = 0.8 * self._average + 0.2 * (self._clock() - started)
        finally:
            self.release()

    def wait_estimate(self) -> float:
        """Seconds until a place is likely free: the line ahead, shared by the running slots."""
        rounds = max(1, math.ceil((self._held - self.running + 1) / self.running))
        return rounds * self._average

    def refusal(self) -> str:
        return (
            f":construction: I'm busy with {self._held} summaries; try again in about "
            f"{in_words(self.wait_estimate())}."
        )

"""What one summarize call spent: every exchange with the provider, as it happened.

The LLM transport writes into the ledger of the call in progress, found through
a context variable. A ``Summarizer`` is shared by concurrent calls (threads or
asyncio tasks); each call opens its own ledger, so their counts never mix.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from summarizer.schema import Usage

_current: contextvars.ContextVar[Ledger | None] = contextvars.ContextVar("summarizer_ledger", default=None)


@dataclass
class Ledger:
    usage: Usage = field(default_factory=Usage)
    responses: int = 0
    transport_retries: int = 0
    failures: list[str] = field(default_factory=list)
    # time.monotonic() by which the whole call must be done (None: no limit).
    deadline: float | None = None
    # Projected usage of calls in flight: budgets count them before their responses arrive,
    # so that chunks sent side by side cannot each spend the same remaining budget.
    reserved: Usage = field(default_factory=Usage)

    def add_response(self, usage: Usage) -> None:
        self.responses += 1
        self.usage = self.usage + usage

    def add_retry(self, reason: str) -> None:
        self.transport_retries += 1
        self.failures.append(reason)


def current_ledger() -> Ledger | None:
    return _current.get()


@contextmanager
def open_ledger(deadline: float | None = None) -> Iterator[Ledger]:
    ledger = Ledger(deadline=deadline)
    token = _current.set(ledger)
    try:
        yield ledger
    finally:
        _current.reset(token)

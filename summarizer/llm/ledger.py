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

from summarizer.errors import NotStarted
from summarizer.llm.admission import Admission, current_admission
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
    # The batch run this call belongs to (llm/admission.py), and whether it has sent anything.
    admission: Admission | None = None
    started: bool = False

    def before_send(self) -> None:
        """Called with a request's slot held, right before it is sent: the first send of an
        article its run has stopped meanwhile is refused (``NotStarted``); later ones never are."""
        if self.started:
            return
        if self.admission is not None and (refusal := self.admission.refusal()) is not None:
            raise NotStarted(f"not started: {refusal}")
        self.started = True

    def fault(self, exc: BaseException) -> None:
        """A request of this call failed (its slot still held): the run hears of it first."""
        if self.admission is not None:
            self.admission.faulted(exc)

    def add_response(self, usage: Usage) -> None:
        self.responses += 1
        self.usage = self.usage + usage
        if self.admission is not None:
            self.admission.responded(usage)

    def add_retry(self, reason: str) -> None:
        self.transport_retries += 1
        self.failures.append(reason)


def current_ledger() -> Ledger | None:
    return _current.get()


@contextmanager
def open_ledger(deadline: float | None = None) -> Iterator[Ledger]:
    ledger = Ledger(deadline=deadline, admission=current_admission())
    token = _current.set(ledger)
    try:
        yield ledger
    finally:
        _current.reset(token)

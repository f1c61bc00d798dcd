"""A batch's say over articles that have not sent anything yet.

``summarizer batch`` keeps more articles in progress than it lets requests out
(``--concurrency`` requests, twice as many articles), so that the moment an answer frees a
slot, another article's request is already waiting to take it, instead of waiting for that
answer's checks (``llm/in_flight.py``). An article admitted that way may wait for its slot
while the run stops: Ctrl-C, or a run budget that an answer just reached. So the question
"may this article start?" is asked after the slot is taken and right before the first send:

- an article refused there has spent nothing: it is not started, and a rerun does it;
- an article that has sent once is never refused: what it has paid for is finished.

Each answer is reported the moment it arrives, before its slot goes to the next request, so a
run budget counts it before anything else is sent. The admission of a run is found through a
context variable (set around the run, inherited by its tasks), as each article's ledger is.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from summarizer.schema import Usage

_current: contextvars.ContextVar[Admission | None] = contextvars.ContextVar(
    "summarizer_admission", default=None
)


class Admission:
    """``refusal()``: why an article may not start now (None: it may); ``on_response(usage)``: an
    answer has arrived, with what it cost in tokens; ``on_fault(exc)``: a request failed (say, a
    cassette that cannot be written), heard before its slot goes to the next request."""

    def __init__(
        self,
        refusal: Callable[[], str | None],
        on_response: Callable[[Usage], None] | None = None,
        on_fault: Callable[[BaseException], None] | None = None,
    ) -> None:
        self.refusal = refusal
        self.on_response = on_response
        self.on_fault = on_fault

    def responded(self, usage: Usage) -> None:
        if self.on_response is not None:
            self.on_response(usage)

    def faulted(self, exc: BaseException) -> None:
        if self.on_fault is not None:
            self.on_fault(exc)


def current_admission() -> Admission | None:
    return _current.get()


@contextmanager
def admitting(admission: Admission) -> Iterator[None]:
    """Articles summarized inside (and in tasks created inside) ask ``admission`` before they start."""
    token = _current.set(admission)
    try:
        yield
    finally:
        _current.reset(token)

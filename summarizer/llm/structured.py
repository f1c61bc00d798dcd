"""Structured calls: instructor's request for a response model, prepared once, and its parser.

instructor's patched ``create`` redoes, on every call, what depends only on the response model
and the mode: it walks the model for async validators (seven times per call), normalises the
model (``prepare_response_model``), rebuilds the tool or JSON-schema request around it, and
runs its retry loop (tenacity) even for one try. For a batch that is milliseconds of CPU per
article spent deriving the same answer. Here instructor still turns ``DraftSummary`` into the
provider's request and parses the answer (its mode handlers: ``request_handler`` once per
``Summarizer``, ``response_parser`` per answer), and re-asks are ours. A failure is raised as
instructor's one-try loop raises it (its ``InstructorRetryException``, the failure as its
cause, the completion that failed), so ``provider_errors`` reads it as before; the tests hold
the two side by side (tests/test_structured.py).

A mode whose request depends on the messages (JSON mode writes the schema into them) is
prepared per call, as instructor itself would.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from summarizer.errors import NotStarted
from summarizer.llm.collector import collector_held
from summarizer.llm.in_flight import NO_LIMIT, InFlightLimit
from summarizer.llm.ledger import Ledger, current_ledger
from summarizer.schema import Usage

if TYPE_CHECKING:
    import instructor
    from pydantic import BaseModel

# A stand-in conversation: what the mode handler adds around it is what every call needs.
_PROBE = [{"role": "user", "content": "probe"}]


@functools.cache
def response_model(model: type[BaseModel] | None = None) -> type[Any]:
    """A response model wrapped for instructor once (the draft by default): wrapping it per call
    builds a new class each time."""
    import instructor

    from summarizer.extract.draft import DraftSummary

    return instructor.openai_schema(model or DraftSummary)


class StructuredCall:
    """A call for one response model and mode: the request prepared once, each answer parsed by
    instructor. One per model: the complete draft, and the targeted repair of failing claims."""

    def __init__(
        self, mode: instructor.Mode, model: type[BaseModel] | None = None, limit: InFlightLimit = NO_LIMIT
    ) -> None:
        from instructor.v2.core.providers import Provider
        from instructor.v2.core.registry import mode_registry
        from instructor.v2.core.response_model import prepare_response_model

        self.mode = mode
        self.limit = limit  # held while a request is out, not while its answer is checked
        self.provider = Provider.OPENAI
        self.handlers = mode_registry.get_handlers(self.provider, mode)
        # prepare_response_model also refuses a model with async validators: checked here, once.
        self.model = prepare_response_model(response_model(model))
        model, probe = self.handlers.request_handler(response_model=self.model, kwargs={"messages": _PROBE})
        self.model = model
        # What the handler adds to every request (tools and tool_choice, or response_format), when
        # it leaves the messages as they are; otherwise (None) the handler runs on every call.
        self.extra: dict[str, Any] | None = None
        if probe.get("messages") == _PROBE:
            self.extra = {k: v for k, v in probe.items() if k != "messages"}

    def request(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        """The SDK's keyword arguments for a call with ``kwargs`` (model, messages, sampling)."""
        if self.extra is None:
            _, prepared = self.handlers.request_handler(response_model=self.model, kwargs=kwargs)
            prepared = dict(prepared)
        else:
            prepared = dict(kwargs)
        # As the patched create does: the same messages on the wire (cassettes match on them).
        if self.handlers.message_converter is not None:
            prepared["messages"] = self.handlers.message_converter(prepared["messages"])
        if self.extra is not None:
            # The messages and the tool go as ``extra_body``: the same JSON on the wire, but the
            # SDK does not walk them against its request types on every call, a walk that
            # changes nothing in plain-text messages and a JSON schema (measured for issue 14:
            # 2-3 ms of CPU per call here; tests/test_structured.py holds that it changes nothing).
            extra_body = {**prepared.get("extra_body", {}), "messages": prepared["messages"], **self.extra}
            prepared = {**prepared, "messages": [], "extra_body": extra_body}
        return prepared

    def call(self, create: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
        request, ledger = self.request(kwargs), current_ledger()
        try:
            with self.limit.sync_slot():
                with _sending(ledger):
                    completion = create(**request)
                _book(completion, ledger)
        except NotStarted:
            raise
        except Exception as exc:
            raise _retry_exception(exc, None, request) from exc
        return self.parse(completion, request)

    async def acall(self, create: Callable[..., Awaitable[Any]], kwargs: dict[str, Any]) -> Any:
        request, ledger = self.request(kwargs), current_ledger()
        try:
            async with self.limit.slot():
                with _sending(ledger):
                    completion = await create(**request)
                # Booked before the slot goes to the next request, so a run budget counts it first.
                _book(completion, ledger)
        except NotStarted:
            raise
        except Exception as exc:
            raise _retry_exception(exc, None, request) from exc
        return self.parse(completion, request)

    def parse(self, completion: Any, request: dict[str, Any]) -> Any:
        """The answer as the response model, by instructor's parser for the mode: what its
        ``retry_*_v2`` does with one try (``max_retries=0``), without re-deriving, on every call,
        what depends on the model only (its walk for async validators, a tenacity loop)."""
        from instructor.v2.core.errors import IncompleteOutputException, TokenBudgetError

        try:
            with collector_held():  # the burst of the draft's objects (see llm/collector.py)
                parsed = self.handlers.response_parser(
                    response=completion,
                    response_model=self.model,
                    validation_context=None,  # the article goes with grounding_against()
                    strict=True,
                    stream=False,
                    is_async=False,  # unused by the OpenAI handlers; the parse is synchronous
                )
        except (IncompleteOutputException, TokenBudgetError):
            raise  # as instructor raises them: not wrapped
        except Exception as exc:
            raise _retry_exception(exc, completion, request) from exc
        # instructor would also hang the completion on the result (``_raw_response``): nothing
        # here reads it (usage is booked as the answer arrives), so it is not kept alive.
        return parsed


@contextmanager
def _sending(ledger: Ledger | None) -> Iterator[None]:
    """A request being sent, its slot held (llm/admission.py): refused if its batch stopped while
    this article waited for the slot; its failure heard by the batch before the slot is passed on."""
    if ledger is None:
        yield
        return
    ledger.before_send()
    try:
        yield
    except Exception as exc:
        ledger.fault(exc)
        raise


def _retry_exception(exc: Exception, completion: Any, request: dict[str, Any]) -> Exception:
    """What instructor's retry loop raises after its one try: its retry exception, the failure
    as its cause and the completion that failed (None: the call itself failed). A cut-off
    answer is raised as it is, as instructor does."""
    from instructor.v2.core.errors import (
        FailedAttempt,
        IncompleteOutputException,
        InstructorRetryException,
        TokenBudgetError,
    )

    if isinstance(exc, IncompleteOutputException | TokenBudgetError):
        return exc
    failed = [FailedAttempt(attempt_number=1, exception=exc, completion=completion)] if completion else []
    return InstructorRetryException(
        str(exc),
        last_completion=completion,
        n_attempts=1,
        total_usage=getattr(completion, "usage", None) or 0,
        messages=request.get("extra_body", {}).get("messages") or request.get("messages", []),
        create_kwargs=request,
        failed_attempts=failed,
    )


def _book(completion: Any, ledger: Ledger | None) -> None:
    """Every answer the SDK parsed counts, with the usage it carries (none: a body without any)."""
    if ledger is None:
        return
    raw = getattr(completion, "usage", None)
    usage = Usage(
        prompt_tokens=int(getattr(raw, "prompt_tokens", 0) or 0),
        completion_tokens=int(getattr(raw, "completion_tokens", 0) or 0),
        total_tokens=int(getattr(raw, "total_tokens", 0) or 0),
    )
    ledger.add_response(usage)

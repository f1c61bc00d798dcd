"""Structured calls: instructor's request for a response model, prepared once, and its parser.

instructor's patched ``create`` redoes, on every call, what depends only on the response model
and the mode: it walks the model for async validators (seven times per call), normalises the
model (``prepare_response_model``) and rebuilds the tool or JSON-schema request around it. For
a batch that is milliseconds of CPU per article spent deriving the same answer. Here instructor
still turns ``DraftSummary`` into the provider's request and parses the answer (its mode
handlers and its retry-and-parse step, ``retry_*_v2``, called with ``max_retries=0``: re-asks
are ours), but the request part is derived once per ``Summarizer``. Its exceptions are the ones
the patched ``create`` raises, so ``provider_errors`` reads them as before.

A mode whose request depends on the messages (JSON mode writes the schema into them) is
prepared per call, as instructor itself would.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from summarizer.llm.in_flight import NO_LIMIT, InFlightLimit
from summarizer.llm.ledger import current_ledger
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
        if self.extra is not None:
            prepared = {**kwargs, **self.extra}
        else:
            _, prepared = self.handlers.request_handler(response_model=self.model, kwargs=kwargs)
            prepared = dict(prepared)
        # As the patched create does: the same messages on the wire (cassettes match on them).
        if self.handlers.message_converter is not None:
            prepared["messages"] = self.handlers.message_converter(prepared["messages"])
        return prepared

    def call(self, create: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
        from instructor.v2.core.retry import retry_sync_v2

        def create_and_book(**request: Any) -> Any:
            with self.limit.sync_slot():
                completion = create(**request)
            _book(completion)
            return completion

        return retry_sync_v2(
            func=create_and_book,
            response_model=self.model,
            provider=self.provider,
            mode=self.mode,
            context=None,  # instructor would render the messages as Jinja templates with one
            max_retries=0,  # one try: re-asks are ours (extract/reask.py)
            args=(),
            kwargs=self.request(kwargs),
            strict=True,
        )

    async def acall(self, create: Callable[..., Awaitable[Any]], kwargs: dict[str, Any]) -> Any:
        from instructor.v2.core.retry import retry_async_v2

        async def create_and_book(**request: Any) -> Any:
            async with self.limit.slot():
                completion = await create(**request)
            _book(completion)
            return completion

        return await retry_async_v2(
            func=create_and_book,
            response_model=self.model,
            provider=self.provider,
            mode=self.mode,
            context=None,
            max_retries=0,
            args=(),
            kwargs=self.request(kwargs),
            strict=True,
        )


def _book(completion: Any) -> None:
    """Every answer the SDK parsed counts, with the usage it carries (none: a body without any)."""
    ledger = current_ledger()
    if ledger is None:
        return
    raw = getattr(completion, "usage", None)
    usage = Usage(
        prompt_tokens=int(getattr(raw, "prompt_tokens", 0) or 0),
        completion_tokens=int(getattr(raw, "completion_tokens", 0) or 0),
        total_tokens=int(getattr(raw, "total_tokens", 0) or 0),
    )
    ledger.add_response(usage)

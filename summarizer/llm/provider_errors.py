"""Provider failures as our one-line errors, and a draft failure told apart from a provider failure.

The openai SDK and instructor wrap what goes wrong in their own exception types, several layers
deep. Everything here turns such an exception into a ``SummarizerError`` whose message is one line,
says what to do, and never carries request headers or keys (some servers echo the key back).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import httpx
from pydantic import ValidationError

from summarizer.config import Settings
from summarizer.errors import ExtractionError, ProviderError, SummarizerError, TimeBudgetError
from summarizer.llm.ledger import current_ledger


@dataclass(frozen=True)
class DraftFailure:
    """A draft that failed validation: the completion as received and why it failed."""

    completion: Any
    error: BaseException
    attempts: int


def draft_failure(exc: Any, settings: Settings, max_tokens: int, attempt: int) -> DraftFailure:
    """The failed draft behind instructor's retry exception, or (raised) the provider error behind it."""
    cause = exc.__cause__
    completion = exc.last_completion
    if not isinstance(cause, ValidationError | ValueError) or completion is None:
        raise provider_error(cause or exc, settings, max_tokens) from exc
    if not getattr(completion, "choices", None):
        # A 200 whose body is an HTML page, a bare string or an empty choice list.
        what = "no choices" if hasattr(completion, "choices") else f"a {type(completion).__name__}"
        raise ProviderError(
            f"the provider answered 200 but not with a chat completion ({what}): "
            "check --base-url points at an OpenAI-compatible /v1 endpoint"
        ) from exc
    return DraftFailure(completion=completion, error=cause, attempts=attempt)


def raw_arguments(completion: Any) -> str | None:
    """The JSON the model answered with: tool-call arguments, else the message text."""
    try:
        message = completion.choices[0].message
    except (AttributeError, IndexError, TypeError):
        return None
    for call in message.tool_calls or []:
        if call.function and call.function.arguments:
            return str(call.function.arguments)
    content = (message.content or "").strip()
    if content.startswith("```"):
        content = content.strip("`").removeprefix("json").strip()
    return content or None


def provider_error(exc: BaseException, settings: Settings, max_tokens: int) -> Exception:
    """A one-line error for a provider failure; never includes request headers or keys."""
    import openai
    from instructor.core.exceptions import IncompleteOutputException

    own = own_error(exc)
    if own is not None:
        return own
    if isinstance(exc, IncompleteOutputException):
        return ExtractionError(
            f"the model's answer was cut off at its output limit ({max_tokens:,} tokens): "
            "a model that rambles or loops; raise --max-output-tokens or use a stronger model"
        )
    if isinstance(exc, openai.AuthenticationError):
        return ProviderError("the provider rejected the API key (HTTP 401): check OPENAI_API_KEY")
    if isinstance(exc, openai.RateLimitError):
        return ProviderError("rate limited by the provider (HTTP 429) and out of retries; try again later")
    ledger = current_ledger()
    if ledger is not None and ledger.deadline is not None and time.monotonic() >= ledger.deadline:
        return TimeBudgetError(
            f"time budget for this article ({settings.time_budget:g} s) ran out waiting for the model "
            "(raise --time-budget, or use a faster model)"
        )
    if isinstance(exc, openai.APITimeoutError):
        return ProviderError("the provider did not answer in time, retries exhausted (raise --timeout?)")
    if isinstance(exc, openai.APIConnectionError):
        if caused_by(exc, httpx.RemoteProtocolError, httpx.ReadError):
            return ProviderError("the connection to the provider broke mid-response, retries exhausted")
        return ProviderError(
            "cannot reach the provider: connection failed, retries exhausted (check --base-url)"
        )
    if isinstance(exc, openai.APIStatusError):
        detail = error_detail(exc, settings.api_key)
        hint = ""
        if exc.status_code in (400, 422, 500, 501) and settings.mode != "tools":
            hint = f" (the server may not support --mode {settings.mode}; try --mode tools)"
        return ProviderError(f"the provider answered HTTP {exc.status_code}{detail}{hint}")
    if isinstance(exc, json.JSONDecodeError):
        return ProviderError("the provider answered 200 with a body that is not valid JSON")
    if isinstance(exc, IndexError | KeyError | TypeError):
        return ProviderError(
            f"the provider's answer is not a well-formed chat completion ({type(exc).__name__}: {exc})"
        )
    if isinstance(exc, AssertionError) and "Unable to generate a response" in str(exc):
        # instructor's word for a refusal (message.refusal set instead of a tool call).
        reason = str(exc).split("due to", 1)[-1].strip(" :")
        return ExtractionError(f"the model refused to answer: {reason}")
    return ExtractionError(f"the model's answer could not be used: {type(exc).__name__}: {exc}")


def caused_by(exc: BaseException, *types: type[BaseException]) -> bool:
    current: BaseException | None = exc
    while current is not None:
        if isinstance(current, types):
            return True
        current = current.__cause__ or current.__context__
    return False


def own_error(exc: BaseException) -> SummarizerError | None:
    """Our own error, if one is in the chain (the SDK wraps what a transport raises)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, SummarizerError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def error_detail(exc: Any, secret: str | None) -> str:
    """The provider's own error message, first line, with the key redacted (some servers echo it)."""
    try:
        message = str(json.loads(exc.response.text)["error"]["message"])
    except (ValueError, KeyError, TypeError, AttributeError):
        return ""
    if secret:
        message = message.replace(secret, "[REDACTED]")
    lines = message.splitlines()
    return f": {lines[0][:200]}" if lines else ""

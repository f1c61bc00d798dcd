"""The one place that builds the instructor client for a provider.

The openai SDK's own retries are off: ``RetryTransport`` does transport retries
(resending the same request), instructor does validation re-asks (changing the
conversation), and neither loop runs inside the other blindly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx

from summarizer.config import Settings
from summarizer.errors import ConfigError
from summarizer.transport import AsyncRetryTransport, RetryTransport

if TYPE_CHECKING:
    import instructor

# Local OpenAI-compatible servers accept any key; the SDK insists on one.
_NO_KEY = "no-key-needed"

AnyTransport = httpx.BaseTransport | httpx.AsyncBaseTransport


def require_credentials(settings: Settings) -> str:
    if settings.api_key:
        return settings.api_key
    if settings.base_url:
        return _NO_KEY
    raise ConfigError(
        "no API key: set OPENAI_API_KEY, or point --base-url (OPENAI_BASE_URL) at an OpenAI-compatible server"
    )


def _mode(settings: Settings) -> instructor.Mode:
    import instructor

    modes = {
        "tools": instructor.Mode.TOOLS,
        "json_schema": instructor.Mode.JSON_SCHEMA,
        "json": instructor.Mode.JSON,
    }
    try:
        return modes[settings.mode]
    except KeyError:
        raise ConfigError(f"unknown mode {settings.mode!r}: choose one of {', '.join(modes)}") from None


def build_client(settings: Settings, transport: AnyTransport | None = None) -> instructor.Instructor:
    import instructor
    import openai

    inner = transport if isinstance(transport, httpx.BaseTransport) else httpx.HTTPTransport()
    http_client = httpx.Client(transport=RetryTransport(inner, settings.retry), timeout=settings.timeout)
    client = openai.OpenAI(
        api_key=require_credentials(settings),
        base_url=settings.base_url,
        max_retries=0,
        timeout=settings.timeout,
        http_client=http_client,
    )
    return instructor.from_openai(client, mode=_mode(settings))


def build_async_client(
    settings: Settings, transport: AnyTransport | None = None
) -> instructor.AsyncInstructor:
    import instructor
    import openai

    inner = transport if isinstance(transport, httpx.AsyncBaseTransport) else httpx.AsyncHTTPTransport()
    http_client = httpx.AsyncClient(
        transport=AsyncRetryTransport(inner, settings.retry), timeout=settings.timeout
    )
    client = openai.AsyncOpenAI(
        api_key=require_credentials(settings),
        base_url=settings.base_url,
        max_retries=0,
        timeout=settings.timeout,
        http_client=http_client,
    )
    return instructor.from_openai(client, mode=_mode(settings))


def sampling_kwargs(settings: Settings) -> dict[str, Any]:
    kwargs: dict[str, Any] = {}
    if settings.temperature is not None:
        kwargs["temperature"] = settings.temperature
    if settings.seed is not None:
        kwargs["seed"] = settings.seed
    return kwargs

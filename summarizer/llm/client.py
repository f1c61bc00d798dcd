"""The one place that builds the openai clients for a provider, and the structured call over them.

The openai SDK's own retries are off: ``RetryTransport`` does transport retries
(resending the same request), our re-ask loop does validation re-asks (changing the
conversation), and neither loop runs inside the other blindly. instructor's part (the
draft model as the provider's tool or JSON-schema request, and parsing the answer) is
``llm.structured.StructuredCall``, prepared once per ``Clients``.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import httpx

from summarizer.config import DEFAULT_MODEL, Settings
from summarizer.errors import ConfigError
from summarizer.llm.in_flight import InFlightLimit
from summarizer.llm.network import AiohttpTransport, sync_network_transport
from summarizer.llm.transport import AsyncRetryTransport, RetryTransport

if TYPE_CHECKING:
    import instructor
    import openai
    from pydantic import BaseModel

    from summarizer.llm.structured import StructuredCall

# Local OpenAI-compatible servers accept any key; the SDK insists on one.
_NO_KEY = "no-key-needed"

AnyTransport = httpx.BaseTransport | httpx.AsyncBaseTransport

# The SDK needs a URL even when the transport answers in-process and nothing is dialled.
IN_PROCESS_URL = "http://in-process.invalid/v1"


def for_provider(settings: Settings) -> Settings:
    """Fill in what the provider implies: the local model's file, name and context size."""
    if settings.provider_name == "local":
        from summarizer.llm.local import DEFAULT_CONTEXT, bundled_model_path

        model_path = settings.model_path
        if model_path is None and settings.model == DEFAULT_MODEL:
            model_path = bundled_model_path()  # only to name the model; loaded when first used
        model = (
            model_path.stem if model_path is not None and settings.model == DEFAULT_MODEL else settings.model
        )
        return replace(
            settings,
            model_path=model_path,
            model=model,
            context_tokens=settings.context_tokens or DEFAULT_CONTEXT,
            base_url=None,
        )
    if settings.provider_name != "openai":
        raise ConfigError(f"unknown provider {settings.provider_name!r}: choose openai or local")
    return settings


def network_transport(settings: Settings) -> httpx.BaseTransport:
    """What actually answers requests for these settings: the network, or a local model."""
    if settings.provider_name == "local":
        from summarizer.llm.local import LlamaTransport  # noqa: I001  (the extra may be absent)

        from summarizer.llm.local import DEFAULT_CONTEXT, bundled_model_path

        return LlamaTransport(
            settings.model_path or bundled_model_path(),
            n_ctx=settings.context_tokens or DEFAULT_CONTEXT,
            seed=settings.seed or 0,
        )
    return sync_network_transport()


def async_network_transport(settings: Settings) -> httpx.AsyncBaseTransport:
    if settings.provider_name == "local":
        transport = network_transport(settings)
        assert isinstance(transport, httpx.AsyncBaseTransport)
        return transport
    return AiohttpTransport()


def require_credentials(settings: Settings) -> str:
    if settings.api_key:
        return settings.api_key
    if settings.base_url or settings.provider_name == "local":
        return _NO_KEY
    raise ConfigError(
        "no API key: set OPENAI_API_KEY, or use --base-url URL (OPENAI_BASE_URL) for an "
        "OpenAI-compatible server, --provider local for an in-process model, or --replay DIR "
        "to answer from recordings"
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


def build_client(settings: Settings, transport: AnyTransport | None = None) -> openai.OpenAI:
    import openai

    inner = transport if isinstance(transport, httpx.BaseTransport) else network_transport(settings)
    http_client = httpx.Client(transport=RetryTransport(inner, settings.retry), timeout=settings.timeout)
    return openai.OpenAI(
        api_key=require_credentials(settings),
        base_url=_base_url(settings),
        max_retries=0,
        timeout=settings.timeout,
        http_client=http_client,
    )


def build_async_client(settings: Settings, transport: AnyTransport | None = None) -> openai.AsyncOpenAI:
    import openai

    inner = (
        transport if isinstance(transport, httpx.AsyncBaseTransport) else async_network_transport(settings)
    )
    http_client = httpx.AsyncClient(
        transport=AsyncRetryTransport(inner, settings.retry), timeout=settings.timeout
    )
    return openai.AsyncOpenAI(
        api_key=require_credentials(settings),
        base_url=_base_url(settings),
        max_retries=0,
        timeout=settings.timeout,
        http_client=http_client,
    )


def _base_url(settings: Settings) -> str | None:
    return IN_PROCESS_URL if settings.provider_name == "local" else settings.base_url


def sampling_kwargs(settings: Settings, max_tokens: int) -> dict[str, Any]:
    # OpenAI's own API has renamed the output cap; OpenAI-compatible servers know the old name.
    cap = "max_completion_tokens" if settings.provider == "openai" else "max_tokens"
    kwargs: dict[str, Any] = {cap: max_tokens}
    if settings.temperature is not None:
        kwargs["temperature"] = settings.temperature
    if settings.seed is not None:
        kwargs["seed"] = settings.seed
    return kwargs


class Clients:
    """A ``Summarizer``'s clients, built on first use: one sync client, one async client per loop,
    and the structured call (instructor's request for the draft model) prepared once.

    An async client's connection pool belongs to the event loop it first ran on: keeping one per
    loop lets successive ``asyncio.run()`` calls each get a working one.
    """

    def __init__(self, settings: Settings, transport: AnyTransport | None) -> None:
        self.settings = settings
        self.transport = transport
        self._lock = threading.Lock()
        self._sync: openai.OpenAI | None = None
        self._async: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, openai.AsyncOpenAI] = (
            weakref.WeakKeyDictionary()
        )
        self._structured: dict[type[BaseModel] | None, StructuredCall] = {}
        # One limit for every call of this Summarizer, whichever response model it asks for.
        self.in_flight = InFlightLimit(settings.max_in_flight)

    def prepare(self) -> None:
        """Import the SDK and prepare the structured call now, not inside the first article's call."""
        import openai  # noqa: F401  (seconds of imports: better before a batch's clock starts)

        self.structured()

    def structured(self, model: type[BaseModel] | None = None) -> StructuredCall:
        """The prepared call for ``model`` (the complete draft when None)."""
        with self._lock:
            call = self._structured.get(model)
            if call is None:
                from summarizer.llm.structured import StructuredCall

                call = self._structured[model] = StructuredCall(_mode(self.settings), model, self.in_flight)
            return call

    def sync(self) -> openai.OpenAI:
        with self._lock:
            if self._sync is None:
                self._sync = build_client(self.settings, self.transport)
            return self._sync

    async def aclose(self) -> None:
        """Close this loop's async client and its connections (a new one is built if used again)."""
        with self._lock:
            client = self._async.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.close()

    def async_(self) -> openai.AsyncOpenAI:
        loop = asyncio.get_running_loop()
        with self._lock:
            client = self._async.get(loop)
            if client is None:
                client = build_async_client(self.settings, self.transport)
                self._async[loop] = client
            return client

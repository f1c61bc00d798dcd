"""The transports that actually reach the network, underneath our retrying and recording ones.

Async requests go through aiohttp. httpx 0.28's own pool (httpcore 1.0) walks every pooled
connection on each request: at 64 concurrent requests that cost 15-23 ms of CPU per request
here, against about 1 ms through aiohttp (benchmarks/batch_throughput.py measures it). The rest
of the stack keeps speaking httpx: ``AiohttpTransport`` is an ``httpx.AsyncBaseTransport``, so the
SDK, ``RetryTransport``, cassettes and test transports plug together as before. Sync requests
keep httpx's own transport: a sync caller has one request in flight per thread.

Every answer is read whole before it is handed up: chat completions are never streamed here,
and a read body frees the connection at once (a retry never waits on the pool).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    import aiohttp

# httpx's defaults (100 connections, 20 kept alive) would cap a large batch's concurrency
# silently and reopen connections all the time.
MAX_CONNECTIONS = 1024
MAX_KEEPALIVE = 256
KEEPALIVE_S = 30.0
CONNECTION_LIMITS = httpx.Limits(
    max_connections=MAX_CONNECTIONS, max_keepalive_connections=MAX_KEEPALIVE, keepalive_expiry=KEEPALIVE_S
)


def sync_network_transport() -> httpx.BaseTransport:
    return httpx.HTTPTransport(limits=CONNECTION_LIMITS)


class AiohttpTransport(httpx.AsyncBaseTransport):
    """An httpx async transport that sends each request through one ``aiohttp.ClientSession``.

    A session belongs to the event loop it was opened on: a request from another loop (a later
    ``asyncio.run``) opens a new one for that loop. A session is closed by ``aclose()``, or, when nobody calls that, as the loop
    shuts down: ``asyncio.run`` closes the loop's open async generators first, and one of them
    holds the session (without it, a finished ``asyncio.run`` would leave an "Unclosed client
    session" complaint on stderr at exit).
    """

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closer: AsyncIterator[None] | None = None

    async def _open(self) -> aiohttp.ClientSession:
        import aiohttp

        connector = aiohttp.TCPConnector(limit=MAX_CONNECTIONS, keepalive_timeout=KEEPALIVE_S)
        session = aiohttp.ClientSession(
            connector=connector,
            # httpx keeps (or not) cookies and decodes the body (gzip ...) as it would its own.
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,
        )
        self._session, self._loop = session, asyncio.get_running_loop()
        self._closer = _close_at_loop_shutdown(session)
        await anext(self._closer)  # registers it with this loop's shutdown_asyncgens()
        return session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        import aiohttp

        session = self._session
        if session is None or self._loop is not asyncio.get_running_loop() or session.closed:
            session = await self._open()
        body = await request.aread()
        try:
            async with session.request(
                request.method,
                str(request.url),
                headers=_headers(request),
                data=body or None,
                allow_redirects=False,
                compress=None,
                timeout=_timeout(request),
            ) as answer:
                content = await answer.read()
                return httpx.Response(
                    answer.status,
                    headers=list(answer.headers.items()),
                    content=content,
                    request=request,
                    extensions={
                        "http_version": b"HTTP/1.1",
                        "reason_phrase": (answer.reason or "").encode("ascii", "replace"),
                    },
                )
        except aiohttp.ClientError as exc:
            raise _as_httpx_error(exc, request) from exc
        except TimeoutError as exc:
            raise httpx.ReadTimeout(
                f"timed out: {exc}" if str(exc) else "timed out", request=request
            ) from exc

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()


async def _close_at_loop_shutdown(session: aiohttp.ClientSession) -> AsyncIterator[None]:
    try:
        yield
    finally:
        if not session.closed:
            await session.close()


def _headers(request: httpx.Request) -> list[tuple[str, str]]:
    # httpx has already set Host and Content-Length for this body; aiohttp computes its own.
    skip = {"host", "content-length", "transfer-encoding"}
    return [(k, v) for k, v in request.headers.multi_items() if k.lower() not in skip]


def _timeout(request: httpx.Request) -> Any:
    import aiohttp

    timeout: dict[str, float | None] = request.extensions.get("timeout") or {}
    return aiohttp.ClientTimeout(
        total=None,
        connect=timeout.get("pool"),  # aiohttp's connect: waiting for a pooled connection, or a new one
        sock_connect=timeout.get("connect"),
        sock_read=timeout.get("read"),
    )


def _as_httpx_error(exc: Exception, request: httpx.Request) -> httpx.TransportError:
    """aiohttp's faults as the httpx ones the SDK and ``RetryTransport`` know."""
    import aiohttp

    message = str(exc) or type(exc).__name__
    kind: type[httpx.TransportError]
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        kind = httpx.ConnectTimeout
    elif isinstance(exc, aiohttp.ServerTimeoutError):
        kind = httpx.ReadTimeout
    elif isinstance(exc, aiohttp.ClientConnectorError):
        kind = httpx.ConnectError
    elif isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientResponseError):
        kind = httpx.RemoteProtocolError
    elif isinstance(exc, aiohttp.InvalidURL):
        kind = httpx.UnsupportedProtocol
    elif isinstance(exc, aiohttp.ClientPayloadError | aiohttp.ClientOSError):
        kind = httpx.ReadError
    else:
        kind = httpx.NetworkError
    return kind(message, request=request)


def async_network_transport() -> httpx.AsyncBaseTransport:
    return AiohttpTransport()

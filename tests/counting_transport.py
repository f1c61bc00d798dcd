"""How many requests are out right now: counted by the transport, and at the server."""

from __future__ import annotations

import time

import httpx

from summarizer.llm.network import AiohttpTransport
from summarizer.testing import FakeOpenAIServer


class CountingTransport(httpx.AsyncBaseTransport):
    """The network transport, counting the requests that entered it and the answers it returned."""

    def __init__(self) -> None:
        self.inner = AiohttpTransport()
        self.sent = 0
        self.answered = 0

    @property
    def out(self) -> int:
        return self.sent - self.answered

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent += 1
        try:
            return await self.inner.handle_async_request(request)
        finally:
            self.answered += 1

    async def aclose(self) -> None:
        await self.inner.aclose()


def requests_with_the_server(server: FakeOpenAIServer, wait_s: float = 0.5) -> int:
    """How many requests the server holds now, from inside a check that holds the event loop.

    A request written to the socket just before reaches the server's thread a moment later, so
    zero is waited out (a bounded wait: the loop is blocked, the server's thread is not)."""
    until = time.monotonic() + wait_s
    while server.in_flight == 0 and time.monotonic() < until:
        time.sleep(0.005)
    return server.in_flight

"""How many requests are out right now: counted by the transport, and at the server."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

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


def requests_at_each_check(monkeypatch: pytest.MonkeyPatch, server: FakeOpenAIServer) -> list[int]:
    """A list that each check of an answer (``find_problems``) adds to: how many requests the
    server holds at that moment. Give the server a latency, so a request is still there."""
    import summarizer.extract.draft as draft_module

    seen: list[int] = []
    real = draft_module.find_problems

    def watching(draft: Any, article: Any) -> Any:
        seen.append(requests_with_the_server(server))  # on the wire, not just in the transport
        return real(draft, article)

    monkeypatch.setattr(draft_module, "find_problems", watching)
    return seen

"""The network transport, counting what goes through it: how many requests are out right now."""

from __future__ import annotations

import httpx

from summarizer.llm.network import AiohttpTransport


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

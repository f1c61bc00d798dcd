"""``Settings.max_in_flight``: at most N requests out, and a slot freed before the answer is checked.

Against ``FakeOpenAIServer`` on 127.0.0.1 (the real SDK, instructor and our transports). What is
proven is counted by the server (its peak of open requests), or seen from inside the check
(how many requests the server holds while an answer is being checked): no clocks.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import pytest
from requests_out import CountingTransport, requests_at_each_check

from summarizer.config import Settings
from summarizer.llm.in_flight import InFlightLimit
from summarizer.pipeline import Summarizer
from summarizer.testing import FakeOpenAIServer


def _variants(article: str, n: int) -> list[str]:
    # Distinct articles the reference draft still grounds in.
    return [f"[item {i}]\n{article}" for i in range(n)]


def test_no_more_requests_out_than_the_limit(
    article: str, reference_draft: dict[str, Any], settings: Callable[..., Settings]
) -> None:
    with FakeOpenAIServer(reference_draft, latency=0.05, keep_bodies=False) as server:
        summarizer = Summarizer(settings(base_url=server.base_url, max_in_flight=3), cache=None)

        async def main() -> list[Any]:
            return await asyncio.gather(*(summarizer.asummarize(t) for t in _variants(article, 12)))

        results = asyncio.run(main())
    assert len(results) == 12 and all(r.claims for r in results)
    assert server.request_count == 12
    assert server.peak_in_flight == 3  # reached, and never passed


def _requests_out_at_each_check(
    article: str,
    reference_draft: dict[str, Any],
    settings: Callable[..., Settings],
    monkeypatch: pytest.MonkeyPatch,
    *,
    max_in_flight: int | None,
    callers_semaphore: bool,
) -> list[int]:
    transport = CountingTransport()
    server = FakeOpenAIServer(reference_draft, keep_bodies=False, latency=0.2)  # held while we look
    seen = requests_at_each_check(monkeypatch, server)
    with server:
        summarizer = Summarizer(
            settings(base_url=server.base_url, max_in_flight=max_in_flight), transport=transport, cache=None
        )
        gate = asyncio.Semaphore(1)

        async def one(text: str) -> Any:
            if not callers_semaphore:
                return await summarizer.asummarize(text)
            async with gate:
                return await summarizer.asummarize(text)

        async def main() -> None:
            await asyncio.gather(*(one(t) for t in _variants(article, 3)))
            await transport.aclose()

        asyncio.run(main())
    assert transport.sent == 3 and server.peak_in_flight == 1
    return seen


def test_the_slot_is_free_while_an_answer_is_checked(
    article: str,
    reference_draft: dict[str, Any],
    settings: Callable[..., Settings],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One slot, three articles: while each answer is checked, the next request is already out."""
    seen = _requests_out_at_each_check(
        article, reference_draft, settings, monkeypatch, max_in_flight=1, callers_semaphore=False
    )
    assert seen == [1, 1, 0]


def test_with_the_callers_semaphore_the_slot_is_held_through_the_check(
    article: str,
    reference_draft: dict[str, Any],
    settings: Callable[..., Settings],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The contrast that makes the limit worth having: bounding whole articles keeps the next
    request back until the previous answer is checked."""
    seen = _requests_out_at_each_check(
        article, reference_draft, settings, monkeypatch, max_in_flight=None, callers_semaphore=True
    )
    assert seen == [0, 0, 0]


def test_sync_calls_from_threads_share_the_limit(
    article: str, reference_draft: dict[str, Any], settings: Callable[..., Settings]
) -> None:
    with FakeOpenAIServer(reference_draft, latency=0.05, keep_bodies=False) as server:
        summarizer = Summarizer(settings(base_url=server.base_url, max_in_flight=2), cache=None)
        threads = [threading.Thread(target=summarizer.summarize, args=(t,)) for t in _variants(article, 6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert server.request_count == 6
    assert server.peak_in_flight <= 2


def test_a_limit_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        InFlightLimit(0)

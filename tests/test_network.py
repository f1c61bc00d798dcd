"""The async network transport (aiohttp underneath httpx) keeps every promise of the old one.

``Summarizer.asummarize`` over real HTTP on 127.0.0.1 (tests/fault_server.py): retries with
Retry-After, timeouts, connections reset mid-body, gzip bodies, usage booked exactly as the
wire carried it, the API key sent as a header and never echoed; and no "Unclosed client
session" complaint when ``asyncio.run`` ends without anybody closing the client.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import API_KEY, SleepRecorder
from fault_server import Cut, FaultServer, Respond, Stall, error_body

from summarizer import Summarizer
from summarizer.config import Settings
from summarizer.errors import ProviderError
from summarizer.llm.network import AiohttpTransport
from summarizer.testing import tool_call_completion

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def servers() -> Iterator[Callable[..., FaultServer]]:
    started: list[FaultServer] = []

    def start(script: list[Any], then: Any = None) -> FaultServer:
        server = FaultServer(script, then)
        started.append(server)
        return server

    yield start
    for server in started:
        server.close()


def good(draft: dict[str, Any], n: int) -> Respond:
    completion = tool_call_completion(
        draft, prompt_tokens=2_000 + n, completion_tokens=300 + n, completion_id=f"chatcmpl-{n}"
    )
    return Respond(200, completion)


def test_async_path_uses_aiohttp(settings: Callable[..., Settings]) -> None:
    from summarizer.llm.client import async_network_transport

    assert isinstance(async_network_transport(settings()), AiohttpTransport)


def test_faults_are_retried_and_usage_matches_the_wire(
    article: str,
    reference_draft: dict[str, Any],
    servers: Callable[..., FaultServer],
    settings: Callable[..., Settings],
    sleeps: SleepRecorder,
) -> None:
    server = servers(
        [
            error_body(503),
            Respond(429, {"error": {"message": "slow down"}}, {"Retry-After": "7"}),
            Cut(),
            Cut(partial=b""),
            good(reference_draft, 1),
        ]
    )
    summarizer = Summarizer(settings(max_retries=5, base_url=server.base_url, timeout=5.0))

    summary = asyncio.run(summarizer.asummarize(article))

    assert summary.meta is not None
    assert summary.meta.transport_retries == 4, server.statuses()
    assert summary.meta.usage == server.total_usage
    assert summary.meta.usage.prompt_tokens == 2_001
    assert 7.0 in sleeps.calls  # the Retry-After asked for, honoured
    assert summary.check_offsets(article) == []
    # The key travels as the SDK's Authorization header, through aiohttp unchanged.
    assert all(h.get("authorization") == f"Bearer {API_KEY}" for h in server.headers)


def test_a_stall_past_the_timeout_is_retried_then_reported(
    article: str,
    reference_draft: dict[str, Any],
    servers: Callable[..., FaultServer],
    settings: Callable[..., Settings],
) -> None:
    server = servers([Stall(2.0), good(reference_draft, 2)])
    summary = asyncio.run(
        Summarizer(settings(max_retries=1, base_url=server.base_url, timeout=0.5)).asummarize(article)
    )
    assert summary.meta is not None and summary.meta.transport_retries == 1

    stalled = servers([], then=Stall(2.0))
    with pytest.raises(ProviderError, match="did not answer in time"):
        asyncio.run(
            Summarizer(settings(max_retries=0, base_url=stalled.base_url, timeout=0.5)).asummarize(article)
        )


def test_nobody_listening_is_a_provider_error(article: str, settings: Callable[..., Settings]) -> None:
    server = FaultServer([])
    url = server.base_url
    server.close()  # the port is free again: connections are refused
    with pytest.raises(ProviderError):
        asyncio.run(Summarizer(settings(max_retries=1, base_url=url)).asummarize(article))


def test_a_gzip_body_is_decoded_once(
    article: str,
    reference_draft: dict[str, Any],
    servers: Callable[..., FaultServer],
    settings: Callable[..., Settings],
) -> None:
    completion = tool_call_completion(reference_draft, prompt_tokens=1_234, completion_tokens=56)
    body = gzip.compress(json.dumps(completion).encode())
    server = servers([Respond(200, body, {"Content-Encoding": "gzip"})])

    summary = asyncio.run(Summarizer(settings(base_url=server.base_url)).asummarize(article))

    assert summary.meta is not None
    assert (summary.meta.usage.prompt_tokens, summary.meta.usage.completion_tokens) == (1_234, 56)


def test_one_summarizer_across_event_loops(
    article: str,
    reference_draft: dict[str, Any],
    servers: Callable[..., FaultServer],
    settings: Callable[..., Settings],
) -> None:
    server = servers([good(reference_draft, 1), good(reference_draft, 2)])
    summarizer = Summarizer(settings(base_url=server.base_url))
    first = asyncio.run(summarizer.asummarize(article))
    second = asyncio.run(summarizer.asummarize(article))
    assert first.meta is not None and second.meta is not None
    assert (first.meta.usage.prompt_tokens, second.meta.usage.prompt_tokens) == (2_001, 2_002)


def test_no_unclosed_session_complaint_at_exit(tmp_path: Path) -> None:
    """A script that never closes anything: asyncio.run's shutdown closes the aiohttp session."""
    script = tmp_path / "script.py"
    script.write_text(
        "import asyncio, json, sys\n"
        "from summarizer import Summarizer\n"
        "from summarizer.config import Settings\n"
        "from summarizer.testing import FakeOpenAIServer\n"
        f"draft = json.loads(open({str(ROOT / 'fixtures/references/khamenei-moscow-exiles.json')!r}).read())\n"
        f"text = open({str(ROOT / 'fixtures/cases/khamenei-moscow-exiles/article.txt')!r}).read()\n"
        "with FakeOpenAIServer(draft) as server:\n"
        "    s = Summarizer(Settings(base_url=server.base_url, api_key='x'))\n"
        "    for _ in range(2):\n"
        "        print(len(asyncio.run(s.asummarize(text)).claims))\n",
        encoding="utf-8",
    )
    done = subprocess.run(
        [sys.executable, "-X", "dev", str(script)], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["30", "30"]
    assert "Unclosed" not in done.stderr, done.stderr
    assert "never retrieved" not in done.stderr, done.stderr


def test_aclose_closes_this_loops_connections(
    article: str,
    reference_draft: dict[str, Any],
    servers: Callable[..., FaultServer],
    settings: Callable[..., Settings],
) -> None:
    server = servers([good(reference_draft, 1), good(reference_draft, 2)])
    summarizer = Summarizer(settings(base_url=server.base_url))

    async def twice() -> list[int]:
        first = await summarizer.asummarize(article)
        transport = summarizer._clients.async_()._client._transport.inner
        assert isinstance(transport, AiohttpTransport) and transport._session is not None
        session = transport._session
        await summarizer.aclose()
        assert session.closed
        second = await summarizer.asummarize(article)  # a fresh client for the same loop
        await summarizer.aclose()
        return [len(first.claims), len(second.claims)]

    assert asyncio.run(twice()) == [30, 30]

"""Fixtures and helpers shared by the Slack bot's tests (import the fixtures by name)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from page_server import Page, PageServer, news_page
from slack_fakes import BotServer, FakeSlack
from slack_payloads import SIGNING_SECRET, sign

from summarizer.pipeline import Summarizer
from summarizer.slack.blocks import validate_blocks
from summarizer.testing import FakeOpenAIServer

BOT_TOKEN = "xoxb-test-1234567890-SECRETBOTTOKEN"
APP_TOKEN = "xapp-1-A0SUMMARIZE-1234567890-SECRETAPPTOKEN"
LATENCY = 0.5


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    server = FakeSlack()
    yield server
    server.close()


@pytest.fixture
def llm(reference_draft: dict[str, Any]) -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(reference_draft, latency=LATENCY) as server:
        yield server


@pytest.fixture
def site() -> Iterator[PageServer]:
    with PageServer({"/article": Page(news_page)}) as server:
        yield server


@pytest.fixture
def bot_for(
    slack: FakeSlack, settings: Callable[..., Any], tmp_path: Path
) -> Iterator[Callable[..., BotServer]]:
    """Factory: ``bot_for(llm, **create_app options)`` serves a bot; all are stopped after the test."""
    from summarizer.slack.app import create_app
    from summarizer.slack.dedup import SQLiteDeliveryStore

    started: list[BotServer] = []

    def start(model: FakeOpenAIServer | Any, **options: Any) -> BotServer:
        if isinstance(model, FakeOpenAIServer):
            summarizer: Any = Summarizer(settings(base_url=model.base_url, max_retries=0))
        else:
            summarizer = model
        options.setdefault("client_base_url", slack.api_url)
        options.setdefault("deliveries", SQLiteDeliveryStore(tmp_path / "deliveries.sqlite3"))
        options.setdefault("signing_secret", SIGNING_SECRET)

        def make() -> Any:
            return create_app(summarizer, token=BOT_TOKEN, **options)

        server = BotServer(make).__enter__()
        started.append(server)
        return server

    yield start
    for server in started:
        server.__exit__(None, None, None)


def post(bot: BotServer, body: str, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.post(f"{bot.url}/slack/events", content=body, headers=headers or {}, timeout=10)


def post_signed(bot: BotServer, body: str, **extra_headers: str) -> httpx.Response:
    return post(bot, body, {**sign(body), **extra_headers})


def all_text(blocks: list[dict[str, Any]]) -> str:
    parts = []
    for block in blocks:
        if "text" in block:
            parts.append(block["text"]["text"])
        parts += [e.get("text", "") for e in block.get("elements", [])]
    return "\n".join(parts)


def assert_valid_blocks(blocks: list[dict[str, Any]], text: str | None = None) -> None:
    """Within Slack's documented limits (ours) and accepted by slack_sdk's own block models."""
    from slack_sdk.models.blocks import Block

    assert validate_blocks(blocks, text=text) == []
    for block in blocks:
        parsed = Block.parse(block)
        assert parsed is not None, block
        parsed.validate_json()


def settle(seconds: float = 0.5) -> None:
    """Give background work the chance to do what it should not (used before asserting nothing)."""
    time.sleep(seconds)


def working_then_summary(slack: FakeSlack, count: int = 1) -> tuple[list[dict], list[dict]]:
    """The working notes posted and the chat.update calls that replaced them with a summary."""
    updates = slack.wait_for("chat.update", count)
    notes = [p for p in slack.of("chat.postMessage") if "Summarizing" in str(p.get("text"))]
    return notes, updates

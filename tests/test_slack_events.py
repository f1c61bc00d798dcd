"""Events API over HTTP, and exactly-once delivery: signed event_callback envelopes as Slack sends
them (tests/slack_payloads.py names the docs and fixtures each shape follows), the Web API calls
they cause recorded by ``FakeSlack``, model calls counted by ``FakeOpenAIServer``."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("slack_bolt")
pytest.importorskip("aiohttp")

import slack_harness
from page_server import PageServer, draft_for_text
from slack_fakes import BotServer, FakeSlack
from slack_harness import assert_valid_blocks, post_signed, settle, working_then_summary
from slack_payloads import app_mention, command_form, event_callback, im_message, link_shared, sign

from summarizer.inputs.url import fetch_article
from summarizer.slack.dedup import MemoryDeliveryStore, SQLiteDeliveryStore, delivery_keys
from summarizer.testing import FakeOpenAIServer

slack = slack_harness.slack
llm = slack_harness.llm
site = slack_harness.site
bot_for = slack_harness.bot_for


def send(bot: BotServer, envelope: dict[str, Any], **headers: str) -> Any:
    return post_signed(bot, json.dumps(envelope), **headers)


@pytest.fixture
def page_model(site: PageServer, reference_draft: dict[str, Any]) -> Any:
    url = f"{site.url}/article"
    with FakeOpenAIServer(draft_for_text(reference_draft, fetch_article(url).text)) as model:
        site.requests.clear()  # the fetch above was ours, not the bot's
        yield model


# --------------------------------------------------------------------------- app_mention, message.im


def test_a_mention_with_a_link_is_answered_in_its_thread(
    bot_for: Callable[..., BotServer], slack: FakeSlack, site: PageServer, page_model: FakeOpenAIServer
) -> None:
    bot = bot_for(page_model, allow_private_urls=True)
    envelope = app_mention(f"<@UBOT> <{site.url}/article?id=7&amp;ref=home|this one>")
    assert send(bot, envelope).status_code == 200
    (note,), (update,) = working_then_summary(slack)
    event = envelope["event"]
    assert note["channel"] == event["channel"] and note["thread_ts"] == event["ts"]
    assert "for <@W222>" in note["text"]
    assert update["ts"] == slack.posted_ts[0]
    assert_valid_blocks(update["blocks"], text=update["text"])
    assert [p for p, _ in site.requests] == ["/article?id=7&ref=home"]
    assert page_model.request_count == 1


def test_a_mention_inside_a_thread_stays_in_that_thread(
    bot_for: Callable[..., BotServer], slack: FakeSlack, llm: FakeOpenAIServer, article: str
) -> None:
    bot = bot_for(llm)
    send(bot, app_mention(f"<@UBOT> {article}", thread_ts="1700000000.000100"))
    (note,), _ = working_then_summary(slack)
    assert note["thread_ts"] == "1700000000.000100"


def test_a_mention_with_only_a_few_words_is_refused_ephemerally(
    bot_for: Callable[..., BotServer], slack: FakeSlack, llm: FakeOpenAIServer
) -> None:
    bot = bot_for(llm)
    envelope = app_mention("<@UBOT> <@W333> test")
    send(bot, envelope)
    (note,) = slack.wait_for("chat.postEphemeral")
    assert note["user"] == "W222" and note["thread_ts"] == envelope["event"]["ts"]
    assert "1 word and no link" in note["text"]
    settle(0.3)
    assert llm.request_count == 0 and slack.of("chat.postMessage") == []


def test_a_direct_message_is_answered_in_the_dm(
    bot_for: Callable[..., BotServer], slack: FakeSlack, llm: FakeOpenAIServer, article: str
) -> None:
    bot = bot_for(llm)
    assert send(bot, im_message(article)).status_code == 200
    (note,), (update,) = working_then_summary(slack)
    assert note["channel"] == "D0DESK" and "thread_ts" not in note
    assert update["channel"] == "D0DESK"
    assert_valid_blocks(update["blocks"], text=update["text"])
    assert llm.request_count == 1


def test_a_short_dm_gets_a_plain_reply_in_the_dm(
    bot_for: Callable[..., BotServer], slack: FakeSlack, llm: FakeOpenAIServer
) -> None:
    bot = bot_for(llm)
    send(bot, im_message("hi there"))
    (reply,) = slack.wait_for("chat.postMessage")
    assert reply["channel"] == "D0DESK" and "2 words and no link" in reply["text"]
    assert llm.request_count == 0


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param({"subtype": "message_changed"}, id="edit"),
        pytest.param({"subtype": "message_deleted"}, id="deletion"),
        pytest.param({"bot_id": "B0OTHER"}, id="another-bot"),
        pytest.param({"channel_type": "channel"}, id="not-a-dm"),
    ],
)
def test_messages_that_are_not_requests_are_acknowledged_and_ignored(
    bot_for: Callable[..., BotServer], slack: FakeSlack, llm: FakeOpenAIServer, article: str, extra: dict
) -> None:
    bot = bot_for(llm)
    assert send(bot, im_message(article, **extra)).status_code == 200
    settle()
    assert llm.request_count == 0
    assert [m for m, _, _ in slack.calls if m.startswith("chat.")] == []


def test_an_event_the_bot_does_not_handle_is_acknowledged_not_404(
    bot_for: Callable[..., BotServer], slack: FakeSlack, llm: FakeOpenAIServer
) -> None:
    bot = bot_for(llm)
    reaction = event_callback({"type": "reaction_added", "user": "U1", "reaction": "eyes", "event_ts": "1.2"})
    assert send(bot, reaction).status_code == 200


def test_the_url_verification_challenge_is_answered(
    bot_for: Callable[..., BotServer], llm: FakeOpenAIServer
) -> None:
    bot = bot_for(llm)
    challenge = {
        "token": "legacy",
        "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
        "type": "url_verification",
    }
    response = send(bot, challenge)
    assert (
        response.status_code == 200
        and "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" in response.text
    )


# --------------------------------------------------------------------------- link_shared


def test_a_shared_link_on_the_allowlist_is_unfurled_with_its_summary(
    bot_for: Callable[..., BotServer], slack: FakeSlack, site: PageServer, page_model: FakeOpenAIServer
) -> None:
    bot = bot_for(page_model, allow_private_urls=True, unfurl_domains=["127.0.0.1", "apnews.com"])
    url = f"{site.url}/article"
    envelope = link_shared([url, "https://example.org/elsewhere"])
    assert send(bot, envelope).status_code == 200
    (unfurl,) = slack.wait_for("chat.unfurl")
    assert unfurl["unfurl_id"] == envelope["event"]["unfurl_id"]
    assert unfurl["source"] == "conversations_history"
    assert list(unfurl["unfurls"]) == [url]  # the other domain is not on the list
    blocks = unfurl["unfurls"][url]["blocks"]
    assert_valid_blocks(blocks)
    assert page_model.request_count == 1
    assert slack.of("chat.postMessage") == []  # an unfurl posts no note


@pytest.mark.parametrize(
    ("domains", "source"),
    [
        pytest.param([], "conversations_history", id="no-allowlist"),
        pytest.param(["apnews.com"], "conversations_history", id="other-domain"),
        pytest.param(["127.0.0.1"], "composer", id="still-in-the-composer"),
    ],
)
def test_links_off_the_allowlist_or_unsent_are_left_alone(
    bot_for: Callable[..., BotServer],
    slack: FakeSlack,
    site: PageServer,
    llm: FakeOpenAIServer,
    domains: list[str],
    source: str,
) -> None:
    bot = bot_for(llm, allow_private_urls=True, unfurl_domains=domains)
    assert send(bot, link_shared([f"{site.url}/article"], source=source)).status_code == 200
    settle()
    assert llm.request_count == 0 and site.requests == []
    assert slack.of("chat.unfurl") == []


# --------------------------------------------------------------------------- exactly once


def test_a_slack_retry_is_acknowledged_and_not_run_again(
    bot_for: Callable[..., BotServer], slack: FakeSlack, llm: FakeOpenAIServer, article: str
) -> None:
    bot = bot_for(llm)
    envelope = app_mention(f"<@UBOT> {article}")
    assert send(bot, envelope).status_code == 200
    # Slack thought the first delivery timed out: the same event, again, with the retry headers.
    retried = send(bot, envelope, **{"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})
    assert retried.status_code == 200
    working_then_summary(slack)
    settle()
    assert llm.request_count == 1
    assert len(slack.of("chat.postMessage")) == 1 and len(slack.of("chat.update")) == 1


def test_a_replayed_signed_command_is_dropped(
    bot_for: Callable[..., BotServer], slack: FakeSlack, llm: FakeOpenAIServer, article: str
) -> None:
    bot = bot_for(llm)
    body = command_form(article, f"{slack.url}/response/c")
    headers = sign(body)
    first = slack_harness.post(bot, body, headers)
    replay = slack_harness.post(bot, body, headers)  # byte for byte, inside the 5-minute window
    assert first.status_code == replay.status_code == 200
    working_then_summary(slack)
    settle()
    assert llm.request_count == 1
    assert len(slack.of("chat.postMessage")) == 1 and len(slack.of("chat.update")) == 1


def test_a_retry_after_a_restart_is_still_dropped(
    bot_for: Callable[..., BotServer], slack: FakeSlack, llm: FakeOpenAIServer, article: str, tmp_path: Path
) -> None:
    path = tmp_path / "claims" / "slack-deliveries.sqlite3"
    first = bot_for(llm, deliveries=SQLiteDeliveryStore(path))
    envelope = im_message(article)
    send(first, envelope)
    working_then_summary(slack)
    first.__exit__(None, None, None)  # the bot is redeployed...
    second = bot_for(llm, deliveries=SQLiteDeliveryStore(path))
    assert (
        send(second, envelope, **{"X-Slack-Retry-Num": "2", "X-Slack-Retry-Reason": "http_error"}).status_code
        == 200
    )
    settle()
    assert llm.request_count == 1 and len(slack.of("chat.update")) == 1


def test_delivery_keys() -> None:
    event = app_mention("hi")
    assert delivery_keys(event) == [f"event:T0NEWSROOM:{event['event_id']}"]
    command = {"team_id": "T1", "trigger_id": "13345224609.738474920.8088930838d88f008e0"}
    assert delivery_keys(command) == ["trigger:T1:13345224609.738474920.8088930838d88f008e0"]
    shortcut = {"type": "message_action", "team": {"id": "T1"}, "trigger_id": "1.2.3"}
    assert delivery_keys(shortcut) == ["trigger:T1:1.2.3"]
    (key,) = delivery_keys({"type": "block_actions"}, "payload=%7B%7D")
    assert key.startswith("body:") and len(key) == len("body:") + 64


@pytest.mark.parametrize("kind", ["sqlite", "memory"])
def test_claims_expire_after_their_ttl_and_survive_reopening(kind: str, tmp_path: Path) -> None:
    import asyncio

    now = [1_000.0]

    def make() -> Any:
        if kind == "sqlite":
            return SQLiteDeliveryStore(tmp_path / "d.sqlite3", clock=lambda: now[0])
        return MemoryDeliveryStore(clock=lambda: now[0])

    store = make()

    async def run() -> list[bool]:
        results = [await store.claim("event:T:Ev1", 600), await store.claim("event:T:Ev1", 600)]
        now[0] += 599
        results.append(await store.claim("event:T:Ev1", 600))
        now[0] += 2
        results.append(await store.claim("event:T:Ev1", 600))
        return results

    assert asyncio.run(run()) == [True, False, False, True]
    if kind == "sqlite":
        reopened = make()
        assert asyncio.run(reopened.claim("event:T:Ev1", 600)) is False


def test_the_readme_manifest_subscribes_to_every_event_the_bot_handles() -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Slack bot") : readme.index("A summary as the bot posts it")]
    manifest = section[section.index("```yaml") : section.index("```", section.index("```yaml") + 3)]
    for needed in ("app_mention", "message.im", "link_shared", "summarize_message", "/summarize"):
        assert needed in manifest
    for scope in ("commands", "chat:write", "app_mentions:read", "im:history", "links:read", "links:write"):
        assert f"- {scope} " in manifest or f"- {scope}\n" in manifest
    assert "connections:write" in section  # the app-level token for Socket Mode

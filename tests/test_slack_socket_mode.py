"""Socket Mode through a loopback websocket: ``FakeSlack`` answers ``apps.connections.open`` with
``ws://127.0.0.1:PORT/link`` (as Slack answers with its wss:// URL), slack_sdk's aiohttp Socket
Mode client connects there, and the test pushes envelopes shaped as Slack's (see
tests/slack_payloads.py) and reads the acknowledgements the bot sends back."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

pytest.importorskip("slack_bolt")
pytest.importorskip("aiohttp")

import slack_harness
from slack_fakes import BotServer, FakeSlack
from slack_harness import APP_TOKEN, assert_valid_blocks, settle, working_then_summary
from slack_payloads import app_mention, command_fields, envelope, event_callback, message_action

from summarizer.testing import FakeOpenAIServer

slack = slack_harness.slack
llm = slack_harness.llm
bot_for = slack_harness.bot_for


@pytest.fixture
def socket_bot(
    bot_for: Callable[..., BotServer], slack: FakeSlack, llm: FakeOpenAIServer
) -> Iterator[BotServer]:
    from summarizer.slack.app import socket_mode_handler

    bot = bot_for(llm, signing_secret=None, socket_mode=True, app_token=APP_TOKEN)

    async def connect() -> Any:
        handler = socket_mode_handler(bot.app, APP_TOKEN)
        await handler.connect_async()
        return handler

    handler = bot.call(connect())
    slack.connected()
    yield bot
    bot.call(handler.close_async())


def test_the_client_found_the_websocket_through_apps_connections_open(
    socket_bot: BotServer, slack: FakeSlack
) -> None:
    (opened,) = slack.of("apps.connections.open")
    assert opened["_authorization"] == f"Bearer {APP_TOKEN}"


def test_a_slash_command_envelope_is_acked_and_summarized(
    socket_bot: BotServer, slack: FakeSlack, llm: FakeOpenAIServer, article: str
) -> None:
    env = envelope(command_fields(article, f"{slack.url}/response/sm"), "slash_commands")
    slack.send_envelope(env)
    slack.wait_acked(env["envelope_id"])
    (note,), (update,) = working_then_summary(slack)
    assert note["channel"] == "C0NEWS"
    assert_valid_blocks(update["blocks"], text=update["text"])
    assert llm.request_count == 1


def test_a_short_command_envelope_is_refused_in_its_ack(
    socket_bot: BotServer, slack: FakeSlack, llm: FakeOpenAIServer
) -> None:
    env = envelope(command_fields("<@W222> test", f"{slack.url}/response/sm"), "slash_commands")
    slack.send_envelope(env)
    slack.wait_acked(env["envelope_id"])
    (ack,) = [a for a in slack.acks if a.get("envelope_id") == env["envelope_id"]]
    assert ack["payload"]["response_type"] == "ephemeral" and "1 word and no link" in ack["payload"]["text"]
    assert llm.request_count == 0


def test_a_shortcut_envelope_replies_in_the_thread(
    socket_bot: BotServer, slack: FakeSlack, llm: FakeOpenAIServer, article: str
) -> None:
    payload = message_action({"ts": "1700000000.000100", "text": article}, f"{slack.url}/response/sm")
    env = envelope(payload, "interactive")
    slack.send_envelope(env)
    slack.wait_acked(env["envelope_id"])
    (note,), (update,) = working_then_summary(slack)
    assert note["thread_ts"] == "1700000000.000100"
    assert_valid_blocks(update["blocks"], text=update["text"])


def test_a_mention_envelope_is_acked_and_answered_in_its_thread(
    socket_bot: BotServer, slack: FakeSlack, llm: FakeOpenAIServer, article: str
) -> None:
    body = app_mention(f"<@UBOT> {article}")
    env = envelope(body, "events_api")
    slack.send_envelope(env)
    slack.wait_acked(env["envelope_id"])
    (note,), _ = working_then_summary(slack)
    assert note["thread_ts"] == body["event"]["ts"]


def test_an_envelope_delivered_twice_is_acked_twice_and_run_once(
    socket_bot: BotServer, slack: FakeSlack, llm: FakeOpenAIServer, article: str
) -> None:
    env = envelope(app_mention(f"<@UBOT> {article}"), "events_api")
    slack.send_envelope(env)
    slack.send_envelope(env)
    slack.wait_acked(env["envelope_id"], 2)
    working_then_summary(slack)
    settle()
    assert llm.request_count == 1
    assert len(slack.of("chat.postMessage")) == 1 and len(slack.of("chat.update")) == 1


def test_a_retried_event_in_a_new_envelope_is_acked_and_dropped(
    socket_bot: BotServer, slack: FakeSlack, llm: FakeOpenAIServer, article: str
) -> None:
    body = app_mention(f"<@UBOT> {article}")
    first, retry = envelope(body, "events_api"), envelope(body, "events_api", retry_attempt=1)
    slack.send_envelope(first)
    slack.wait_acked(first["envelope_id"])
    slack.send_envelope(retry)
    slack.wait_acked(retry["envelope_id"])
    working_then_summary(slack)
    settle()
    assert llm.request_count == 1 and len(slack.of("chat.update")) == 1


def test_an_event_nobody_listens_for_is_still_acked(socket_bot: BotServer, slack: FakeSlack) -> None:
    # Unacknowledged, Slack would send it again and again.
    env = envelope(event_callback({"type": "reaction_added", "user": "U1", "event_ts": "1.2"}), "events_api")
    slack.send_envelope(env)
    slack.wait_acked(env["envelope_id"])
    unknown = envelope({"type": "block_actions", "actions": [], "team": {"id": "T1"}}, "interactive")
    slack.send_envelope(unknown)
    slack.wait_acked(unknown["envelope_id"])

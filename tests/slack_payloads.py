"""Slack requests as Slack sends them, written by hand for our tests (none copied).

The shapes follow Slack's documentation and bolt-python's own test fixtures (MIT-licensed
bolt-python was read for the shapes only):

- Events API envelope (``event_callback``: token, team_id, api_app_id, event, type, event_id,
  event_time, authorizations, is_ext_shared_channel, event_context): docs.slack.dev
  "Events API" and "reference/events/message.im"; bolt-python
  ``tests/scenario_tests_async/test_events.py`` (``app_mention_body``) and
  ``tests/adapter_tests/socket_mode/mock_socket_mode_server.py`` (the events_api envelope).
- ``app_mention``: docs.slack.dev "reference/events/app_mention"; bolt-python ``app_mention_body``.
- ``message`` in a DM (``channel_type: im``): docs.slack.dev "reference/events/message.im".
- ``link_shared``: api.slack.com "events/link_shared" (channel, user, message_ts, unfurl_id,
  source, links[{domain, url}]).
- Slash commands (a form: token, team_id, channel_id, user_id, command, text, api_app_id,
  response_url, trigger_id): docs.slack.dev "Implementing slash commands"; bolt-python
  ``tests/scenario_tests_async/test_slash_command.py``.
- Message shortcuts (``payload=`` a JSON ``message_action``): docs.slack.dev "Implementing
  shortcuts"; bolt-python ``tests/scenario_tests_async/test_shortcut.py``.
- Socket Mode envelopes (envelope_id, payload, type events_api | slash_commands | interactive,
  accepts_response_payload, retry_attempt, retry_reason): docs.slack.dev "Using Socket Mode";
  bolt-python ``mock_socket_mode_server.py``.

Request signing (``v0:{timestamp}:{body}``, HMAC-SHA256 with the signing secret, headers
``X-Slack-Request-Timestamp`` and ``X-Slack-Signature``): docs.slack.dev "Verifying requests
from Slack". Retries carry ``X-Slack-Retry-Num`` and ``X-Slack-Retry-Reason`` (Events API docs).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from typing import Any
from urllib.parse import urlencode

TEAM = "T0NEWSROOM"
APP = "A0SUMMARIZE"
BOT_USER = "UBOT"  # the bot's user id, as the fake auth.test reports it
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"

_numbers = itertools.count(1)


def _ts() -> str:
    return f"{time.time():.6f}"


def sign(body: str, *, secret: str = SIGNING_SECRET, timestamp: int | None = None) -> dict[str, str]:
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{stamp}:{body}".encode(), hashlib.sha256).hexdigest()
    content_type = "application/json" if body.startswith("{") else "application/x-www-form-urlencoded"
    return {
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": f"v0={digest}",
        "Content-Type": content_type,
    }


# --------------------------------------------------------------------------- Events API


def event_callback(event: dict[str, Any], *, event_id: str | None = None) -> dict[str, Any]:
    """The outer Events API envelope around ``event``."""
    number = next(_numbers)
    return {
        "token": "legacy-verification-token",
        "team_id": TEAM,
        "api_app_id": APP,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or f"Ev0{number:08d}",
        "event_time": int(time.time()),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": TEAM,
                "user_id": BOT_USER,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": f"4-{event.get('type')}-{TEAM}-{event.get('channel', 'C0')}",
    }


def app_mention(
    text: str, *, channel: str = "C0NEWS", user: str = "W222", thread_ts: str | None = None
) -> dict:
    ts = _ts()
    event: dict[str, Any] = {
        "client_msg_id": f"9cbd4c5b-7ddf-4ede-b479-{next(_numbers):012d}",
        "type": "app_mention",
        "text": text,
        "user": user,
        "ts": ts,
        "team": TEAM,
        "channel": channel,
        "event_ts": ts,
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event_callback(event)


def im_message(text: str, *, channel: str = "D0DESK", user: str = "U2147483697", **extra: Any) -> dict:
    ts = _ts()
    event = {
        "type": "message",
        "channel": channel,
        "user": user,
        "text": text,
        "ts": ts,
        "event_ts": ts,
        "channel_type": "im",
        **extra,
    }
    return event_callback(event)


def link_shared(
    urls: list[str], *, channel: str = "C0NEWS", user: str = "U0EDITOR", source: str = "conversations_history"
) -> dict:
    from urllib.parse import urlsplit

    message_ts = _ts()
    return event_callback(
        {
            "type": "link_shared",
            "channel": channel,
            "is_bot_user_member": True,
            "user": user,
            "message_ts": message_ts,
            "unfurl_id": f"{channel}.{message_ts}.{hashlib.sha256(message_ts.encode()).hexdigest()}",
            "source": source,
            "links": [{"domain": urlsplit(url).hostname, "url": url} for url in urls],
            "event_ts": message_ts,
        }
    )


# --------------------------------------------------------------------------- commands and shortcuts


def command_fields(text: str, response_url: str, *, channel: str = "C0NEWS", user: str = "U0EDITOR") -> dict:
    return {
        "token": "legacy-verification-token",
        "team_id": TEAM,
        "team_domain": "newsroom",
        "channel_id": channel,
        "channel_name": "news",
        "user_id": user,
        "user_name": "editor",
        "command": "/summarize",
        "text": text,
        "api_app_id": APP,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": f"{next(_numbers)}.1234567890.0b7e5bd1e5f6a5d0c9f0",
    }


def command_form(text: str, response_url: str, **options: Any) -> str:
    return urlencode(command_fields(text, response_url, **options))


def message_action(
    message: dict[str, Any], response_url: str, *, channel: str = "C0WIRE", user: str = "U0DESK"
) -> dict:
    return {
        "type": "message_action",
        "token": "legacy-verification-token",
        "action_ts": _ts(),
        "team": {"id": TEAM, "domain": "newsroom"},
        "user": {"id": user, "username": "desk", "team_id": TEAM, "name": "desk"},
        "channel": {"id": channel, "name": "wire"},
        "is_enterprise_install": False,
        "enterprise": None,
        "callback_id": "summarize_message",
        "trigger_id": f"{next(_numbers)}.1234567890.4c5e2fd9a8b7",
        "response_url": response_url,
        "message_ts": message["ts"],
        "message": {"type": "message", "user": "U0REPORTER", "team": TEAM, **message},
    }


def shortcut_form(message: dict[str, Any], response_url: str, **options: Any) -> str:
    return urlencode({"payload": json.dumps(message_action(message, response_url, **options))})


# --------------------------------------------------------------------------- Socket Mode


def envelope(payload: dict[str, Any], kind: str, *, retry_attempt: int | None = None) -> dict[str, Any]:
    """A Socket Mode envelope: ``kind`` is events_api, slash_commands or interactive."""
    number = next(_numbers)
    env: dict[str, Any] = {
        "envelope_id": f"57d6a792-4d35-4d0b-b6aa-{number:012d}",
        "payload": payload,
        "type": kind,
        "accepts_response_payload": kind != "events_api",
    }
    if retry_attempt is not None:
        env["retry_attempt"] = retry_attempt
        env["retry_reason"] = "timeout"
    return env

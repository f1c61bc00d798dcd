"""Canaries: the bot token, the app token, the signing secret and the API key never reach a log line.

A provider that fails by echoing every secret it might have seen (some do echo the key back)
is served to ``summarizer slack serve``, with and without ``--debug``; everything the process
writes is searched for each secret. An internal error carrying the secrets in its text and
traceback goes through ``log.exception`` in-process, with a handler installed the way a host
application would install one.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

pytest.importorskip("slack_bolt")
pytest.importorskip("aiohttp")

import slack_harness
from conftest import API_KEY
from slack_fakes import BotServer, FakeSlack
from slack_harness import APP_TOKEN, BOT_TOKEN, post_signed
from slack_payloads import SIGNING_SECRET, command_form, sign
from test_slack_app import LONG_TEXT, serve, stop

from summarizer.slack.redact import REDACTED, Redactor, SecretFilter
from summarizer.testing import FakeOpenAIServer, Reply

slack = slack_harness.slack
bot_for = slack_harness.bot_for

SECRETS = {
    "bot token": BOT_TOKEN,
    "app token": APP_TOKEN,
    "signing secret": SIGNING_SECRET,
    "API key": API_KEY,
}
ECHO = f"invalid credentials: key={API_KEY} token={BOT_TOKEN} secret={SIGNING_SECRET} app={APP_TOKEN}"


@pytest.fixture
def echoing_provider() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(answer=lambda body: Reply({"error": {"message": ECHO}}, status=400)) as server:
        yield server


@pytest.mark.parametrize("debug", [False, True], ids=["plain", "debug"])
def test_no_secret_in_any_log_line_of_slack_serve(
    slack: FakeSlack, echoing_provider: FakeOpenAIServer, tmp_path: Path, debug: bool
) -> None:
    process, port = serve(slack, echoing_provider, tmp_path, *(["--debug"] if debug else []))
    try:
        body = command_form(LONG_TEXT, f"{slack.url}/response/c")
        url = f"http://127.0.0.1:{port}/slack/events"
        assert httpx.post(url, content=body, headers=sign(body), timeout=10).status_code == 200
        # And a malformed signature header: a 401, no traceback.
        bad = {**sign(body), "X-Slack-Request-Timestamp": "abc"}
        assert httpx.post(url, content=body, headers=bad, timeout=10).status_code == 401
        (update,) = slack.wait_for("chat.update", timeout=30)
    finally:
        log = stop(process)
    assert echoing_provider.request_count >= 1
    assert "invalid credentials" in log  # the provider's text was logged...
    for name, secret in SECRETS.items():  # ...with every secret in it redacted
        assert secret not in log, f"the {name} is in the log"
        assert secret not in update["text"]
    assert REDACTED in log
    assert "invalid literal for int()" not in log  # the malformed header made no traceback
    if debug:
        assert "openai._base_client" in log  # the libraries' debug output was on, and is clean
    else:
        assert "Traceback" not in log


class _Exploding:
    """A summarizer whose bug's message holds every secret (its settings carry the API key)."""

    class settings:
        api_key = API_KEY

    async def asummarize(self, text: str, *, provenance: Any = None) -> Any:
        raise RuntimeError(ECHO)


def test_log_exception_text_and_traceback_are_redacted(
    bot_for: Callable[..., BotServer], slack: FakeSlack
) -> None:
    root = logging.getLogger()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    level = root.level
    root.setLevel(logging.DEBUG)
    try:
        bot = bot_for(_Exploding(), app_token=APP_TOKEN)  # create_app puts its filter on `handler`
        post_signed(bot, command_form(LONG_TEXT, f"{slack.url}/response/c"))
        slack.wait_for("chat.update")
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    log = stream.getvalue()
    assert "failed with an internal error" in log and "Traceback" in log and "RuntimeError" in log
    for secret in SECRETS.values():
        assert secret not in log


def test_the_filter_redacts_arguments_exceptions_and_stacks() -> None:
    redactor = Redactor([BOT_TOKEN, "short", None, ""])
    assert redactor.secrets == [BOT_TOKEN]  # placeholders too short to be secrets are left alone
    try:
        raise ValueError(f"bad {BOT_TOKEN}")
    except ValueError:
        import sys

        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "token %s", (BOT_TOKEN,), sys.exc_info())
    record.stack_info = f"stack with {BOT_TOKEN}"
    assert SecretFilter(redactor).filter(record) is True
    text = logging.Formatter().format(record)
    assert BOT_TOKEN not in text
    assert text.count(REDACTED) == 3 and "ValueError" in text

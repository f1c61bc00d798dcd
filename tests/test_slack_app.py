"""The Slack bot over HTTP, for real: the Bolt app served on 127.0.0.1, signed requests shaped as
Slack sends them (tests/slack_payloads.py), Slack's Web API played by ``FakeSlack`` (every call
recorded), the model by ``FakeOpenAIServer``.

This file: ``/summarize`` and the message shortcut, signatures, failures, links in Slack's
markup, configuration and the console script. Events, exactly-once, Socket Mode, backpressure
and secrets in logs have files of their own.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

pytest.importorskip("slack_bolt")
pytest.importorskip("aiohttp")

import slack_harness
from conftest import API_KEY
from page_server import PageServer, draft_for_text
from slack_fakes import BotServer, FakeSlack
from slack_harness import (
    APP_TOKEN,
    BOT_TOKEN,
    all_text,
    assert_valid_blocks,
    post,
    post_signed,
    settle,
    working_then_summary,
)
from slack_payloads import SIGNING_SECRET, command_form, shortcut_form, sign

from summarizer.errors import ConfigError, ExtractionError
from summarizer.inputs.url import fetch_article
from summarizer.pipeline import Summarizer
from summarizer.slack.app import create_app
from summarizer.testing import FakeOpenAIServer, Reply

# The shared fixtures, by name (pytest finds fixtures among a module's attributes).
slack = slack_harness.slack
llm = slack_harness.llm
site = slack_harness.site
bot_for = slack_harness.bot_for


def command(text: str, slack: FakeSlack, **options: Any) -> str:
    return command_form(text, f"{slack.url}/response/command", **options)


# --------------------------------------------------------------------------- the slash command


def test_slash_command_acks_then_replaces_its_working_note_with_the_summary(
    bot_for: Callable[..., BotServer],
    slack: FakeSlack,
    llm: FakeOpenAIServer,
    article: str,
    reference_draft: dict[str, Any],
) -> None:
    bot = bot_for(llm)
    response = post_signed(bot, command(article, slack))
    assert response.status_code == 200
    assert response.text == ""  # nothing to show: the working note is the feedback
    # The ack came back while the model was still thinking.
    assert slack.of("chat.update") == [] and llm.request_count <= 1

    notes, (update,) = working_then_summary(slack)
    (note,) = notes
    assert note["channel"] == "C0NEWS" and "thread_ts" not in note
    assert "for <@U0EDITOR>" in note["text"]
    assert note["_authorization"] == f"Bearer {BOT_TOKEN}"
    assert update["channel"] == "C0NEWS" and update["ts"] == slack.posted_ts[0]
    assert_valid_blocks(update["blocks"], text=update["text"])
    assert update["blocks"][0]["text"]["text"] == reference_draft["headline"]
    body_text = all_text(update["blocks"])
    assert "requested by <@U0EDITOR>" in body_text
    assert "*Key claims* (30)" in body_text
    assert llm.request_count == 1
    assert "Mojtaba" in llm.bodies[0]["messages"][-1]["content"]
    # One message in the channel: the note, now the summary.
    assert len(slack.of("chat.postMessage")) == 1


def test_the_update_goes_to_the_note_that_was_posted(
    bot_for: Callable[..., BotServer], slack: FakeSlack, llm: FakeOpenAIServer, article: str
) -> None:
    bot = bot_for(llm)
    post_signed(bot, command(article, slack))
    (update,) = slack.wait_for("chat.update")
    # FakeSlack answers chat.postMessage with a fresh ts; the bot must update that very message.
    assert update["ts"] == slack.posted_ts[0]
    assert update["channel"] == "C0NEWS"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("   ", "a link to a news page"),
        ("<@W222> test", "That is 1 word and no link"),
        ("Breaking: council votes tonight", "That is 4 words and no link"),
    ],
)
def test_text_that_is_neither_a_link_nor_an_article_is_refused_without_a_model_call(
    bot_for: Callable[..., BotServer], slack: FakeSlack, llm: FakeOpenAIServer, text: str, expected: str
) -> None:
    bot = bot_for(llm)
    response = post_signed(bot, command(text, slack))
    assert response.status_code == 200
    assert response.json()["response_type"] == "ephemeral"
    assert expected in response.json()["text"]
    settle(0.3)
    assert llm.request_count == 0
    assert [m for m, _, _ in slack.calls if m.startswith("chat.")] == []


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"Content-Type": "application/x-www-form-urlencoded"}, id="unsigned"),
        pytest.param("forged", id="wrong-secret"),
        pytest.param("tampered", id="tampered-body"),
        pytest.param("replayed", id="six-minutes-old"),
        pytest.param("future", id="six-minutes-ahead"),
        pytest.param("abc", id="timestamp-abc"),
        pytest.param("no-v0", id="signature-without-version"),
    ],
)
def test_unsigned_forged_malformed_and_stale_requests_get_401_and_do_nothing(
    bot_for: Callable[..., BotServer], slack: FakeSlack, llm: FakeOpenAIServer, article: str, headers: Any
) -> None:
    bot = bot_for(llm)
    body = command(article, slack)
    now = int(time.time())
    if headers == "forged":
        headers = sign(body, secret="not-the-signing-secret")
    elif headers == "tampered":
        headers = sign(body)
        body = body.replace("C0NEWS", "C0OTHER")
    elif headers == "replayed":
        headers = sign(body, timestamp=now - 6 * 60)
    elif headers == "future":
        headers = sign(body, timestamp=now + 6 * 60)
    elif headers == "abc":
        headers = {**sign(body), "X-Slack-Request-Timestamp": "abc"}
    elif headers == "no-v0":
        headers = {**sign(body)}
        headers["X-Slack-Signature"] = headers["X-Slack-Signature"].removeprefix("v0=")
    response = post(bot, body, headers)
    assert response.status_code == 401
    assert "Traceback" not in response.text
    settle()
    assert llm.request_count == 0
    assert slack.calls == []


def test_a_provider_failure_replaces_the_working_note_with_one_line(
    bot_for: Callable[..., BotServer], slack: FakeSlack, article: str
) -> None:
    failing = FakeOpenAIServer(
        answer=lambda body: Reply({"error": {"message": "model overloaded"}}, status=400)
    )
    with failing:
        bot = bot_for(failing)
        assert post_signed(bot, command(article, slack)).status_code == 200
        (update,) = slack.wait_for("chat.update")
    assert update["text"] == (
        ":warning: Sorry, I couldn't summarize that: the provider answered HTTP 400: model overloaded"
    )
    assert "blocks" not in update or not update["blocks"]
    assert len(slack.of("chat.postMessage")) == 1  # only the note, nothing else public


class _Exploding:
    """A summarizer that fails the way a bug would, with secrets in its message."""

    settings = None

    def __init__(self, error: Exception) -> None:
        self.error = error

    async def asummarize(self, text: str, *, provenance: Any = None) -> Any:
        raise self.error


LONG_TEXT = " ".join(["The council met on Tuesday and voted on the budget."] * 12)


def test_an_internal_error_shows_no_traceback_and_no_secret(
    bot_for: Callable[..., BotServer], slack: FakeSlack
) -> None:
    bot = bot_for(_Exploding(RuntimeError(f"boom with {BOT_TOKEN} and {SIGNING_SECRET}")))
    post_signed(bot, command(LONG_TEXT, slack))
    (update,) = slack.wait_for("chat.update")
    assert "something went wrong on my side" in update["text"]
    assert BOT_TOKEN not in update["text"] and "boom" not in update["text"]
    assert "Traceback" not in update["text"]


def test_our_own_errors_never_echo_a_secret(bot_for: Callable[..., BotServer], slack: FakeSlack) -> None:
    bot = bot_for(_Exploding(ExtractionError(f"the model said {API_KEY} and {BOT_TOKEN}")))
    post_signed(bot, command(LONG_TEXT, slack))
    (update,) = slack.wait_for("chat.update")
    assert update["text"].startswith(":warning: Sorry, I couldn't summarize that: the model said")
    assert BOT_TOKEN not in update["text"]
    assert "[REDACTED]" in update["text"]


def test_a_summary_without_claims_is_not_posted_publicly(
    bot_for: Callable[..., BotServer], slack: FakeSlack, reference_draft: dict[str, Any]
) -> None:
    junk = {**reference_draft, "claims": [], "sources": []}
    with FakeOpenAIServer(junk) as model:
        bot = bot_for(model)
        post_signed(bot, command(LONG_TEXT, slack))
        (update,) = slack.wait_for("chat.update")
    assert "nothing to summarize" in update["text"]
    assert not update.get("blocks")


def test_a_channel_the_bot_is_not_in_gets_the_summary_through_the_response_url(
    bot_for: Callable[..., BotServer], slack: FakeSlack, llm: FakeOpenAIServer, article: str
) -> None:
    slack.errors["chat.postMessage"] = "not_in_channel"
    bot = bot_for(llm)
    post_signed(bot, command(article, slack))
    answers = slack.wait_for("response_url", 2)
    working, summary = answers
    assert working["response_type"] == "ephemeral" and "Summarizing" in working["text"]
    assert summary["response_type"] == "in_channel"
    assert_valid_blocks(summary["blocks"], text=summary["text"])


def test_a_rate_limited_update_is_retried_and_the_paid_summary_arrives(
    bot_for: Callable[..., BotServer], slack: FakeSlack, llm: FakeOpenAIServer, article: str
) -> None:
    slack.rate_limits["chat.update"] = 2  # two 429s with Retry-After, then Slack accepts it
    bot = bot_for(llm)
    post_signed(bot, command(article, slack))
    (update,) = slack.wait_for("chat.update", timeout=30)
    assert slack.rate_limited == ["chat.update", "chat.update"]
    assert_valid_blocks(update["blocks"], text=update["text"])
    assert llm.request_count == 1
    assert len(slack.of("chat.postMessage")) == 1  # no second copy posted as a fallback


def test_two_requests_run_side_by_side(
    bot_for: Callable[..., BotServer], slack: FakeSlack, llm: FakeOpenAIServer, article: str
) -> None:
    import threading

    bot = bot_for(llm)
    bodies = [command(article, slack, channel="C1"), command(article, slack, channel="C2")]
    results: list[int] = []
    threads = [
        threading.Thread(target=lambda b=b: results.append(post_signed(bot, b).status_code)) for b in bodies
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [200, 200]
    updates = slack.wait_for("chat.update", 2)
    assert sorted(u["channel"] for u in updates) == ["C1", "C2"]
    assert llm.peak_in_flight == 2  # both were with the model at once


# --------------------------------------------------------------------------- the message shortcut


@pytest.mark.parametrize(
    ("message", "thread"),
    [
        pytest.param({"ts": "1700000000.000100"}, "1700000000.000100", id="top-level"),
        pytest.param(
            {"ts": "1700000099.000200", "thread_ts": "1700000000.000100"}, "1700000000.000100", id="reply"
        ),
    ],
)
def test_message_shortcut_replies_in_the_thread(
    bot_for: Callable[..., BotServer],
    slack: FakeSlack,
    llm: FakeOpenAIServer,
    article: str,
    reference_draft: dict[str, Any],
    message: dict[str, Any],
    thread: str,
) -> None:
    bot = bot_for(llm)
    response = post_signed(bot, shortcut_form({**message, "text": article}, f"{slack.url}/response/s"))
    assert response.status_code == 200
    (note,), (update,) = working_then_summary(slack)
    assert note["channel"] == "C0WIRE" and note["thread_ts"] == thread
    assert "for <@U0DESK>" in note["text"]
    assert update["channel"] == "C0WIRE"
    assert_valid_blocks(update["blocks"], text=update["text"])
    assert update["blocks"][0]["text"]["text"] == reference_draft["headline"]


def test_the_shortcuts_fallback_post_keeps_the_thread(
    bot_for: Callable[..., BotServer], slack: FakeSlack, llm: FakeOpenAIServer, article: str
) -> None:
    slack.errors["chat.postMessage"] = "not_in_channel"
    bot = bot_for(llm)
    message = {"ts": "1700000099.000200", "thread_ts": "1700000000.000100", "text": article}
    post_signed(bot, shortcut_form(message, f"{slack.url}/response/s"))
    _working, summary = slack.wait_for("response_url", 2)
    assert summary["response_type"] == "in_channel"
    assert summary["thread_ts"] == "1700000000.000100"
    assert_valid_blocks(summary["blocks"], text=summary["text"])


def test_a_shortcut_on_a_short_message_is_refused_ephemerally(
    bot_for: Callable[..., BotServer], slack: FakeSlack, llm: FakeOpenAIServer
) -> None:
    bot = bot_for(llm)
    post_signed(
        bot, shortcut_form({"ts": "1700000000.000100", "text": "lol <@W222>"}, f"{slack.url}/response/s")
    )
    (note,) = slack.wait_for("chat.postEphemeral")
    assert note["user"] == "U0DESK" and note["thread_ts"] == "1700000000.000100"
    assert "That message is 1 word and no link" in note["text"]
    settle(0.3)
    assert llm.request_count == 0 and slack.of("chat.postMessage") == []


# --------------------------------------------------------------------------- URLs


def _page_model(reference_draft: dict[str, Any], url: str) -> FakeOpenAIServer:
    return FakeOpenAIServer(draft_for_text(reference_draft, fetch_article(url).text))


@pytest.mark.parametrize(
    ("typed", "path"),
    [
        pytest.param(
            "<{url}?id=1&amp;ref=x|Khamenei's plan>", "/article?id=1&ref=x", id="slack-link-with-amp"
        ),
        pytest.param("tl;dr <{url}?id=2&amp;ref=y>", "/article?id=2&ref=y", id="words-then-link"),
        pytest.param("{url}?id=3&amp;ref=z please", "/article?id=3&ref=z", id="bare-link-escaped"),
        pytest.param("<@W222> can you do {url}?id=4.", "/article?id=4", id="mention-and-sentence"),
    ],
)
def test_links_in_slack_markup_are_fetched_as_their_real_address(
    bot_for: Callable[..., BotServer],
    slack: FakeSlack,
    site: PageServer,
    reference_draft: dict[str, Any],
    typed: str,
    path: str,
) -> None:
    url = f"{site.url}/article"
    with _page_model(reference_draft, url) as model:
        site.requests.clear()
        bot = bot_for(model, allow_private_urls=True)
        post_signed(bot, command(typed.format(url=url), slack))
        (update,) = slack.wait_for("chat.update")
        sent = model.bodies[0]["messages"][-1]["content"]
    assert [p for p, _ in site.requests] == [path]
    assert_valid_blocks(update["blocks"], text=update["text"])
    assert f"127.0.0.1:{site.port}/article" in all_text(update["blocks"])
    assert "Mojtaba" in sent and "PatriotDave1776" not in sent


def test_a_shortcut_on_a_shared_link_summarizes_the_page(
    bot_for: Callable[..., BotServer], slack: FakeSlack, site: PageServer, reference_draft: dict[str, Any]
) -> None:
    url = f"{site.url}/article"
    with _page_model(reference_draft, url) as model:
        bot = bot_for(model, allow_private_urls=True)
        message = {"ts": "1700000000.000100", "text": f"Worth a read: <{url}|Khamenei's escape plan>"}
        post_signed(bot, shortcut_form(message, f"{slack.url}/response/s"))
        (update,) = slack.wait_for("chat.update")
    (note,) = slack.of("chat.postMessage")
    assert note["thread_ts"] == "1700000000.000100"
    assert_valid_blocks(update["blocks"], text=update["text"])


def test_private_urls_are_refused_by_default(
    bot_for: Callable[..., BotServer], slack: FakeSlack, site: PageServer, llm: FakeOpenAIServer
) -> None:
    bot = bot_for(llm)
    post_signed(bot, command(f"{site.url}/article", slack))
    (update,) = slack.wait_for("chat.update")
    assert "private or local address" in update["text"]
    assert not [path for path, _ in site.requests]
    assert llm.request_count == 0


# --------------------------------------------------------------------------- configuration


def test_no_signing_secret_is_refused(settings: Callable[..., Any], tmp_path: Path) -> None:
    summarizer = Summarizer(settings())
    with pytest.raises(ConfigError, match="SLACK_SIGNING_SECRET"):
        create_app(summarizer, token=BOT_TOKEN, signing_secret="")
    with pytest.raises(ConfigError, match="SLACK_BOT_TOKEN"):
        create_app(summarizer, token="", signing_secret=SIGNING_SECRET)
    create_app(summarizer, token=BOT_TOKEN, signing_secret=None, socket_mode=True)


def _cli(args: list[str], env: dict[str, str | None]) -> Any:
    from typer.testing import CliRunner

    from summarizer.cli import app

    base: dict[str, str | None] = dict.fromkeys(
        ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "OPENAI_API_KEY", "OPENAI_BASE_URL")
    )
    base.update(env)
    return CliRunner().invoke(app, args, env=base)


@pytest.mark.parametrize(
    ("args", "env", "names"),
    [
        (["slack", "serve"], {}, "missing SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET"),
        (["slack", "serve"], {"SLACK_BOT_TOKEN": BOT_TOKEN}, "missing SLACK_SIGNING_SECRET:"),
        (["slack", "serve", "--socket-mode"], {"SLACK_BOT_TOKEN": BOT_TOKEN}, "missing SLACK_APP_TOKEN:"),
    ],
)
def test_serve_names_the_missing_variables(args: list[str], env: dict[str, str | None], names: str) -> None:
    result = _cli(args, env)
    assert result.exit_code == 3
    assert result.stderr.startswith(f"summarizer: error: {names}") and result.stderr.count("\n") == 1


def test_serve_without_an_api_key_fails_at_start() -> None:
    result = _cli(["slack", "serve"], {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET})
    assert result.exit_code == 3
    assert result.stderr.startswith("summarizer: error: no API key")


def test_serve_without_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "slack_bolt", None)  # import slack_bolt now fails
    result = _cli(["slack", "serve"], {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET})
    assert result.exit_code == 3
    assert (
        result.stderr
        == "summarizer: error: the Slack bot needs the slack extra: pip install 'summarizer[slack]'\n"
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve(
    slack: FakeSlack, llm: FakeOpenAIServer, tmp_path: Path, *extra: str
) -> tuple[subprocess.Popen[str], int]:
    """``summarizer slack serve`` as a newsroom runs it; returns once /healthz answers."""
    port = free_port()
    script = Path(sys.executable).with_name("summarizer")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "OPENAI_", "SUMMARIZER_"))}
    env.update(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_APP_TOKEN=APP_TOKEN,  # set in many deployments even over HTTP: redacted all the same
        SLACK_API_URL=slack.api_url,
        OPENAI_API_KEY=API_KEY,
        SUMMARIZER_CACHE_DIR=str(tmp_path / "cache"),
    )
    args = [
        str(script),
        "slack",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--base-url",
        llm.base_url,
    ]
    process = subprocess.Popen(
        [*args, *extra], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).text == "ok\n":
                return process, port
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"the bot did not start: {process.communicate()}")
        time.sleep(0.05)


def stop(process: subprocess.Popen[str]) -> str:
    process.terminate()
    _, stderr = process.communicate(timeout=20)
    return stderr


def test_slack_serve_end_to_end(
    slack: FakeSlack, llm: FakeOpenAIServer, article: str, tmp_path: Path, reference_draft: dict[str, Any]
) -> None:
    """The installed command answering a signed /summarize; its claims file next to the cache."""
    process, port = serve(slack, llm, tmp_path)
    try:
        body = command(article, slack)
        response = httpx.post(
            f"http://127.0.0.1:{port}/slack/events", content=body, headers=sign(body), timeout=10
        )
        assert response.status_code == 200
        (update,) = slack.wait_for("chat.update", timeout=30)
        assert update["blocks"][0]["text"]["text"] == reference_draft["headline"]
        assert_valid_blocks(update["blocks"], text=update["text"])
    finally:
        stderr = stop(process)
    assert "listening on http://127.0.0.1" in stderr
    assert (tmp_path / "cache" / "slack-deliveries.sqlite3").is_file()
    assert BOT_TOKEN not in stderr and SIGNING_SECRET not in stderr and API_KEY not in stderr


def test_a_fetched_pages_provenance_travels_with_its_summary(
    bot_for: Callable[..., BotServer],
    slack: FakeSlack,
    site: PageServer,
    reference_draft: dict[str, Any],
    settings: Callable[..., Any],
) -> None:
    url = f"{site.url}/article?id=9&ref=x"
    seen: list[Any] = []

    class Recording(Summarizer):
        async def asummarize(self, text: str, *, provenance: Any = None) -> Any:
            summary = await super().asummarize(text, provenance=provenance)
            seen.append(summary)
            return summary

    with _page_model(reference_draft, url) as model:
        bot = bot_for(Recording(settings(base_url=model.base_url, max_retries=0)), allow_private_urls=True)
        post_signed(bot, command(f"<{site.url}/article?id=9&amp;ref=x>", slack))
        slack.wait_for("chat.update")
    (summary,) = seen
    assert summary.provenance.url == url and summary.provenance.final_url == url
    assert summary.provenance.sha256 and summary.provenance.fetched_at

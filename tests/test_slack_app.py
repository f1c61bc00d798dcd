"""The Slack bot, for real: the Bolt app served over HTTP on 127.0.0.1, Slack's Web API played by
a fake Slack server that records every call, the model by ``FakeOpenAIServer``.

What is checked is what Slack and a newsroom would see: signed requests are acknowledged before
any model work finishes, the summary arrives as valid blocks in the right channel or thread,
unsigned, forged and replayed requests do nothing, failures are one friendly line, and requests
do not wait for one another.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

import httpx
import pytest

pytest.importorskip("slack_bolt")
pytest.importorskip("aiohttp")

from conftest import API_KEY
from page_server import Page, PageServer, draft_for_text, news_page

from summarizer.errors import ConfigError, ExtractionError
from summarizer.inputs.url import fetch_article
from summarizer.pipeline import Summarizer
from summarizer.slack.app import (
    WORKING,
    command_input,
    create_app,
    create_web_app,
    message_input,
    slack_to_plain,
)
from summarizer.slack.blocks import validate_blocks
from summarizer.testing import FakeOpenAIServer, Reply

BOT_TOKEN = "xoxb-test-1234567890-SECRETBOTTOKEN"
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
LATENCY = 1.0


# --------------------------------------------------------------------------- a fake Slack


class FakeSlack:
    """Slack's Web API (``/api/METHOD``) and response URLs (``/response/ID``) on 127.0.0.1.

    Every call is kept as (method, monotonic time, params). ``errors`` maps a method to the
    Slack error it should answer with (``{"ok": false, "error": ...}``).
    """

    def __init__(self) -> None:
        self.calls: list[tuple[str, float, dict[str, Any]]] = []
        self.errors: dict[str, str] = {}
        self._changed = threading.Condition()
        slack = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode("utf-8")
                if "json" in (self.headers.get("Content-Type") or ""):
                    params = json.loads(raw or "{}")
                else:
                    params = {k: v[0] for k, v in parse_qs(raw).items()}
                    for key in ("blocks", "attachments"):
                        if isinstance(params.get(key), str):
                            params[key] = json.loads(params[key])
                if self.path.startswith("/response/"):
                    method = "response_url"
                else:
                    method = self.path.removeprefix("/api/").split("?")[0]
                params["_authorization"] = self.headers.get("Authorization", "")
                with slack._changed:
                    slack.calls.append((method, time.monotonic(), params))
                    slack._changed.notify_all()
                if method == "response_url":
                    return self._send(b"ok", "text/plain")
                error = slack.errors.get(method)
                if error:
                    answer: dict[str, Any] = {"ok": False, "error": error}
                elif method == "auth.test":
                    answer = {
                        "ok": True,
                        "url": "https://newsroom.slack.example/",
                        "team": "Newsroom",
                        "user": "summarizer",
                        "team_id": "T1",
                        "user_id": "UBOT",
                        "bot_id": "BBOT",
                    }
                elif method == "chat.postMessage":
                    answer = {"ok": True, "channel": params.get("channel"), "ts": f"{time.time():.6f}"}
                else:
                    answer = {"ok": True}
                self._send(json.dumps(answer).encode(), "application/json")

            def _send(self, data: bytes, content_type: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass

        self._httpd = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self.api_url = f"{self.url}/api/"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    def of(self, method: str) -> list[dict[str, Any]]:
        with self._changed:
            return [params for name, _, params in self.calls if name == method]

    def times(self, method: str) -> list[float]:
        with self._changed:
            return [at for name, at, _ in self.calls if name == method]

    def wait_for(self, method: str, count: int = 1, timeout: float = 15.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        with self._changed:
            while len([c for c in self.calls if c[0] == method]) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no {count} {method} call(s) in {timeout} s; calls: {self.calls}")
                self._changed.wait(left)
        return self.of(method)

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


# --------------------------------------------------------------------------- the bot over HTTP


class BotServer:
    """The Bolt app (built by ``make_app`` inside the server's own event loop) on 127.0.0.1."""

    def __init__(self, make_app: Callable[[], Any]) -> None:
        self._make_app = make_app
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: Any = None
        self.url = ""

    async def _start(self) -> str:
        from aiohttp import web

        self._runner = web.AppRunner(create_web_app(self._make_app()))
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        return f"http://{host}:{port}"

    async def _stop(self) -> None:
        await self._runner.cleanup()
        current = asyncio.current_task()
        pending = [t for t in asyncio.all_tasks() if t is not current]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        # As asyncio.run does before closing a loop: lets the clients' connections close.
        await self._loop.shutdown_asyncgens()

    def __enter__(self) -> BotServer:
        self._thread.start()
        self.url = asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def __exit__(self, *exc_info: object) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()


def sign(body: str, *, secret: str = SIGNING_SECRET, timestamp: int | None = None) -> dict[str, str]:
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{stamp}:{body}".encode(), hashlib.sha256).hexdigest()
    return {
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": f"v0={digest}",
        "Content-Type": "application/x-www-form-urlencoded",
    }


def command_body(text: str, slack: FakeSlack, *, channel: str = "C1", user: str = "U1") -> str:
    return urlencode(
        {
            "token": "legacy-verification-token",
            "team_id": "T1",
            "team_domain": "newsroom",
            "channel_id": channel,
            "channel_name": "news",
            "user_id": user,
            "user_name": "editor",
            "command": "/summarize",
            "text": text,
            "api_app_id": "A1",
            "is_enterprise_install": "false",
            "response_url": f"{slack.url}/response/{channel}-{user}",
            "trigger_id": "111.222.333",
        }
    )


def shortcut_body(message: dict[str, Any], slack: FakeSlack, *, channel: str = "C2", user: str = "U2") -> str:
    payload = {
        "type": "message_action",
        "callback_id": "summarize_message",
        "action_ts": f"{time.time():.6f}",
        "trigger_id": "444.555.666",
        "team": {"id": "T1", "domain": "newsroom"},
        "user": {"id": user, "username": "desk", "team_id": "T1"},
        "channel": {"id": channel, "name": "wire"},
        "message_ts": message["ts"],
        "message": {"type": "message", "user": "U9", **message},
        "response_url": f"{slack.url}/response/shortcut",
        "token": "legacy-verification-token",
        "is_enterprise_install": False,
        "enterprise": None,
    }
    return urlencode({"payload": json.dumps(payload)})


def post(bot: BotServer, body: str, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.post(f"{bot.url}/slack/events", content=body, headers=headers or {}, timeout=10)


def all_text(blocks: list[dict[str, Any]]) -> str:
    parts = []
    for block in blocks:
        if "text" in block:
            parts.append(block["text"]["text"])
        parts += [e.get("text", "") for e in block.get("elements", [])]
    return "\n".join(parts)


# --------------------------------------------------------------------------- fixtures


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
def bot_for(slack: FakeSlack, settings: Callable[..., Any]) -> Iterator[Callable[..., BotServer]]:
    """Factory: ``bot_for(llm, **create_app options)`` serves a bot; all are stopped after the test."""
    started: list[BotServer] = []

    def start(model: FakeOpenAIServer | Summarizer, **options: Any) -> BotServer:
        if isinstance(model, FakeOpenAIServer):
            summarizer: Any = Summarizer(settings(base_url=model.base_url, max_retries=0))
        else:
            summarizer = model
        options.setdefault("client_base_url", slack.api_url)

        def make() -> Any:
            return create_app(summarizer, token=BOT_TOKEN, signing_secret=SIGNING_SECRET, **options)

        server = BotServer(make).__enter__()
        started.append(server)
        return server

    yield start
    for server in started:
        server.__exit__(None, None, None)


# --------------------------------------------------------------------------- the slash command


def test_slash_command_acks_before_the_work_and_posts_the_summary(
    bot_for: Callable[..., BotServer],
    slack: FakeSlack,
    llm: FakeOpenAIServer,
    article: str,
    reference_draft: dict[str, Any],
) -> None:
    bot = bot_for(llm)
    started = time.monotonic()
    response = post(bot, body := command_body(article, slack), sign(body))
    acked = time.monotonic()
    assert response.status_code == 200
    assert response.json() == {"response_type": "ephemeral", "text": WORKING}
    # The ack came back while the model was still thinking: nothing posted yet.
    assert acked - started < LATENCY
    assert slack.of("chat.postMessage") == []

    (posted,) = slack.wait_for("chat.postMessage")
    assert slack.times("chat.postMessage")[0] - started >= LATENCY
    assert posted["channel"] == "C1"
    assert "thread_ts" not in posted
    assert posted["_authorization"] == f"Bearer {BOT_TOKEN}"
    assert validate_blocks(posted["blocks"], text=posted["text"]) == []
    assert posted["blocks"][0]["text"]["text"] == reference_draft["headline"]
    assert reference_draft["headline"] in posted["text"]
    body_text = all_text(posted["blocks"])
    assert "requested by <@U1>" in body_text
    assert "*Key claims* (30)" in body_text
    assert llm.request_count == 1
    assert "Mojtaba" in llm.bodies[0]["messages"][-1]["content"]


def test_a_command_without_text_gets_the_usage(
    bot_for: Callable[..., BotServer], slack: FakeSlack, llm: FakeOpenAIServer
) -> None:
    bot = bot_for(llm)
    response = post(bot, body := command_body("   ", slack), sign(body))
    assert response.status_code == 200
    assert "/summarize https://" in response.json()["text"]
    time.sleep(0.3)
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
    ],
)
def test_unsigned_forged_and_replayed_requests_do_nothing(
    bot_for: Callable[..., BotServer], slack: FakeSlack, llm: FakeOpenAIServer, article: str, headers: Any
) -> None:
    bot = bot_for(llm)
    body = command_body(article, slack)
    now = int(time.time())
    if headers == "forged":
        headers = sign(body, secret="not-the-signing-secret")
    elif headers == "tampered":
        headers = sign(body)
        body = body.replace("C1", "C666")
    elif headers == "replayed":
        headers = sign(body, timestamp=now - 6 * 60)
    elif headers == "future":
        headers = sign(body, timestamp=now + 6 * 60)
    response = post(bot, body, headers)
    assert response.status_code == 401
    time.sleep(0.5)
    assert llm.request_count == 0
    assert slack.calls == []


def test_failures_are_one_friendly_line_for_the_requester_only(
    bot_for: Callable[..., BotServer], slack: FakeSlack, article: str
) -> None:
    failing = FakeOpenAIServer(
        answer=lambda body: Reply({"error": {"message": "model overloaded"}}, status=400)
    )
    with failing:
        bot = bot_for(failing)
        response = post(bot, body := command_body(article, slack), sign(body))
        assert response.status_code == 200
        (note,) = slack.wait_for("chat.postEphemeral")
    assert note["channel"] == "C1" and note["user"] == "U1"
    assert note["text"] == (
        ":warning: Sorry, I couldn't summarize that: the provider answered HTTP 400: model overloaded"
    )
    assert slack.of("chat.postMessage") == []


class _Exploding:
    """A summarizer that fails the way a bug would, with secrets in its message."""

    settings = None

    def __init__(self, error: Exception) -> None:
        self.error = error

    async def asummarize(self, text: str) -> Any:
        raise self.error


def test_an_internal_error_shows_no_traceback_and_no_secret(
    bot_for: Callable[..., BotServer], slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    bot = bot_for(_Exploding(RuntimeError(f"boom with {BOT_TOKEN} and {SIGNING_SECRET}")))
    post(bot, body := command_body("Some article text.", slack), sign(body))
    (note,) = slack.wait_for("chat.postEphemeral")
    assert "something went wrong on my side" in note["text"]
    assert BOT_TOKEN not in note["text"] and "boom" not in note["text"]
    assert "Traceback" not in note["text"]


def test_our_own_errors_never_echo_a_secret(bot_for: Callable[..., BotServer], slack: FakeSlack) -> None:
    bot = bot_for(_Exploding(ExtractionError(f"the model said {API_KEY} and {BOT_TOKEN}")))
    post(bot, body := command_body("Some article text.", slack), sign(body))
    (note,) = slack.wait_for("chat.postEphemeral")
    assert note["text"].startswith(":warning: Sorry, I couldn't summarize that: the model said")
    assert BOT_TOKEN not in note["text"]
    assert "[REDACTED]" in note["text"]


def test_a_channel_the_bot_is_not_in_gets_the_summary_through_the_response_url(
    bot_for: Callable[..., BotServer], slack: FakeSlack, llm: FakeOpenAIServer, article: str
) -> None:
    slack.errors["chat.postMessage"] = "not_in_channel"
    bot = bot_for(llm)
    post(bot, body := command_body(article, slack), sign(body))
    (answer,) = slack.wait_for("response_url")
    assert answer["response_type"] == "in_channel"
    assert validate_blocks(answer["blocks"], text=answer["text"]) == []


def test_two_requests_run_side_by_side(
    bot_for: Callable[..., BotServer], slack: FakeSlack, llm: FakeOpenAIServer, article: str
) -> None:
    bot = bot_for(llm)
    bodies = [command_body(article, slack, channel="C1"), command_body(article, slack, channel="C2")]
    # Bolt asks auth.test on a bot's first request: warm it so both requests start together.
    post(bot, warm := command_body("", slack), sign(warm))
    started = time.monotonic()
    results: list[int] = []
    threads = [
        threading.Thread(target=lambda b=b: results.append(post(bot, b, sign(b)).status_code)) for b in bodies
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [200, 200]
    posts = slack.wait_for("chat.postMessage", 2)
    assert sorted(p["channel"] for p in posts) == ["C1", "C2"]
    # Both were with the model at once; one summary's time for the two of them, not two.
    assert llm.peak_in_flight == 2
    assert max(slack.times("chat.postMessage")) - started < 2 * LATENCY


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
    response = post(bot, body := shortcut_body({**message, "text": article}, slack), sign(body))
    assert response.status_code == 200
    (posted,) = slack.wait_for("chat.postMessage")
    assert posted["channel"] == "C2"
    assert posted["thread_ts"] == thread
    assert validate_blocks(posted["blocks"], text=posted["text"]) == []
    assert posted["blocks"][0]["text"]["text"] == reference_draft["headline"]
    (working,) = slack.of("chat.postEphemeral")
    assert working["user"] == "U2" and working["thread_ts"] == thread


# --------------------------------------------------------------------------- URLs


@pytest.fixture
def site() -> Iterator[PageServer]:
    with PageServer({"/article": Page(news_page)}) as server:
        yield server


def test_a_url_is_fetched_and_summarized(
    bot_for: Callable[..., BotServer], slack: FakeSlack, site: PageServer, reference_draft: dict[str, Any]
) -> None:
    url = f"{site.url}/article"
    text = fetch_article(url).text
    with FakeOpenAIServer(draft_for_text(reference_draft, text)) as model:
        bot = bot_for(model, allow_private_urls=True)
        post(bot, body := command_body(f"<{url}>", slack), sign(body))
        (posted,) = slack.wait_for("chat.postMessage")
        sent = model.bodies[0]["messages"][-1]["content"]
    assert validate_blocks(posted["blocks"], text=posted["text"]) == []
    assert f"<{url}|127.0.0.1:{site.port}/article>" in all_text(posted["blocks"])
    assert "Mojtaba" in sent and "PatriotDave1776" not in sent


def test_a_shortcut_on_a_shared_link_summarizes_the_page(
    bot_for: Callable[..., BotServer], slack: FakeSlack, site: PageServer, reference_draft: dict[str, Any]
) -> None:
    url = f"{site.url}/article"
    text = fetch_article(url).text
    with FakeOpenAIServer(draft_for_text(reference_draft, text)) as model:
        bot = bot_for(model, allow_private_urls=True)
        message = {"ts": "1700000000.000100", "text": f"Worth a read: <{url}|Khamenei's escape plan>"}
        post(bot, body := shortcut_body(message, slack), sign(body))
        (posted,) = slack.wait_for("chat.postMessage")
    assert posted["thread_ts"] == "1700000000.000100"
    assert validate_blocks(posted["blocks"]) == []


def test_private_urls_are_refused_by_default(
    bot_for: Callable[..., BotServer], slack: FakeSlack, site: PageServer, llm: FakeOpenAIServer
) -> None:
    bot = bot_for(llm)
    post(bot, body := command_body(f"{site.url}/article", slack), sign(body))
    (note,) = slack.wait_for("chat.postEphemeral")
    assert "private or local address" in note["text"]
    assert not [path for path, _ in site.requests]
    assert llm.request_count == 0


# --------------------------------------------------------------------------- reading Slack text


def test_slack_markup_becomes_plain_text() -> None:
    raw = "Hi <@U123>, see <https://a.example/x?a=1&amp;b=2|the story> in <#C1|news> &lt;3 &amp; <!here>"
    assert slack_to_plain(raw) == "Hi @U123, see the story in #news <3 & @here"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("https://news.example/a", ("https://news.example/a", None)),
        ("<https://news.example/a>", ("https://news.example/a", None)),
        ("<https://news.example/a|news.example/a>", ("https://news.example/a", None)),
        ("Officials said on Tuesday &amp; more", (None, "Officials said on Tuesday & more")),
        ("see https://news.example/a for more", (None, "see https://news.example/a for more")),
        ("", (None, None)),
    ],
)
def test_command_input(text: str, expected: tuple[str | None, str | None]) -> None:
    assert command_input(text) == expected


def test_message_input() -> None:
    assert message_input({"text": "<https://news.example/a|Read this>"}) == ("https://news.example/a", None)
    long = "A long post with its own reporting. " * 20
    assert message_input({"text": long + "<https://news.example/a>"}) == (
        None,
        (long + "https://news.example/a").strip(),
    )
    unfurled = {"text": "", "attachments": [{"original_url": "https://news.example/b", "title": "B"}]}
    assert message_input(unfurled) == ("https://news.example/b", None)
    assert message_input({"text": ""}) == (None, None)


# --------------------------------------------------------------------------- configuration


def test_no_signing_secret_is_refused(settings: Callable[..., Any]) -> None:
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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_slack_serve_end_to_end(
    slack: FakeSlack, llm: FakeOpenAIServer, article: str, tmp_path: Path, reference_draft: dict[str, Any]
) -> None:
    """The installed command, as a newsroom would run it, answering a signed /summarize."""
    port = _free_port()
    script = Path(sys.executable).with_name("summarizer")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "OPENAI_", "SUMMARIZER_"))}
    env.update(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack.api_url,
        OPENAI_API_KEY=API_KEY,
        SUMMARIZER_CACHE_DIR=str(tmp_path / "cache"),
    )
    command = [
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
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).text == "ok\n":
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the bot did not start in 30 s"
            time.sleep(0.1)
        body = command_body(article, slack)
        response = httpx.post(
            f"http://127.0.0.1:{port}/slack/events", content=body, headers=sign(body), timeout=10
        )
        assert response.status_code == 200
        (posted,) = slack.wait_for("chat.postMessage", timeout=30)
        assert posted["blocks"][0]["text"]["text"] == reference_draft["headline"]
        assert validate_blocks(posted["blocks"], text=posted["text"]) == []
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=10)
    assert "listening on http://127.0.0.1" in stderr
    assert BOT_TOKEN not in stderr and SIGNING_SECRET not in stderr and API_KEY not in stderr

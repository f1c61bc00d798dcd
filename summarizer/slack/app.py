"""The newsroom Slack bot: the Bolt app, its listeners, and how it is served (HTTP, Socket Mode).

``create_app(summarizer, token=..., signing_secret=...)`` builds a Slack Bolt ``AsyncApp`` (the
``slack`` extra) that answers everything a desk tries:

- ``/summarize TEXT-OR-URL``: the ack says nothing (or why not: a refusal is ephemeral), a
  "working" note appears in the channel and is replaced by the summary;
- ``@summarizer <link>`` (``app_mention``): the same, in the mention's thread;
- a direct message to the bot (``message.im``): the same, in the DM;
- the "Summarize this message" shortcut: the message, or the page it links to, in its thread;
- a link from an allowed domain posted anywhere the bot is (``link_shared``): an unfurl with
  the summary (``chat.unfurl``); links from other domains are left alone.

Reading the text is ``slack.text``; exactly-once delivery ``slack.dedup`` (a Bolt middleware
here, plus the Socket Mode envelope); admission ``slack.limits``; the work ``slack.worker``;
the Web API writes ``slack.posting``; secrets in logs ``slack.redact``. Requests are verified
against the signing secret (Bolt's default, 5 minutes' tolerance); a malformed signature header
is a 401, not a traceback. Serve with ``summarizer slack serve`` (HTTP, or ``--socket-mode``), or
mount ``create_web_app(app)`` in your own aiohttp server.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from summarizer.errors import ConfigError
from summarizer.slack.dedup import DELIVERIES_FILE, DeliveryStore, SQLiteDeliveryStore, delivery_keys
from summarizer.slack.limits import Backlog, UserRateLimit
from summarizer.slack.posting import Conversation, Poster, web_client
from summarizer.slack.redact import Redactor, install
from summarizer.slack.text import MIN_WORDS, domain_allowed, read_request
from summarizer.slack.worker import Job, Worker

if TYPE_CHECKING:
    from aiohttp import web
    from slack_bolt.async_app import AsyncApp

    from summarizer.pipeline import Summarizer

COMMAND = "/summarize"
SHORTCUT = "summarize_message"
EVENTS_PATH = "/slack/events"
MAX_CONCURRENT = 8
MAX_QUEUED = 32
PER_USER = 10
PER_USER_WINDOW = 600.0
MAX_UNFURLS = 3  # links summarized per shared message

INSTALL_HINT = "the Slack bot needs the slack extra: pip install 'summarizer[slack]'"

log = logging.getLogger("summarizer.slack")

_TIMESTAMP = re.compile(r"[0-9]{1,12}")


def _require_bolt() -> None:
    try:
        import aiohttp  # noqa: F401
        import slack_bolt  # noqa: F401
    except ImportError:
        raise ConfigError(INSTALL_HINT) from None


def worker_of(app: AsyncApp) -> Worker:
    worker = getattr(app, "summarizer_worker", None)
    if not isinstance(worker, Worker):
        raise TypeError("not an app made by summarizer.slack.app.create_app")
    return worker


def _default_deliveries(summarizer: Any) -> DeliveryStore:
    """Claims next to the summary cache; a bot without a cache keeps them in the system temp dir."""
    import tempfile

    directory = getattr(getattr(summarizer, "cache", None), "directory", None)
    base = Path(directory) if directory else Path(tempfile.gettempdir()) / "summarizer"
    return SQLiteDeliveryStore(base / DELIVERIES_FILE)


def create_app(
    summarizer: Summarizer,
    *,
    token: str,
    signing_secret: str | None,
    app_token: str | None = None,
    client_base_url: str | None = None,
    command: str = COMMAND,
    shortcut_callback_id: str = SHORTCUT,
    unfurl_domains: Sequence[str] = (),
    allow_private_urls: bool = False,
    max_concurrent: int = MAX_CONCURRENT,
    max_queued: int = MAX_QUEUED,
    per_user: int = PER_USER,
    per_user_window: float = PER_USER_WINDOW,
    min_words: int = MIN_WORDS,
    fetch_timeout: float = 20.0,
    deliveries: DeliveryStore | None = None,
    socket_mode: bool = False,
) -> AsyncApp:
    """A Bolt ``AsyncApp`` serving the command, the shortcut, mentions, DMs and unfurls.

    ``token`` is the bot token (``xoxb-…``), ``signing_secret`` the app's signing secret
    (required over HTTP; Socket Mode does not sign requests: pass ``socket_mode=True`` and the
    ``app_token``, ``xapp-…``, so that it is redacted from logs too). ``client_base_url`` points
    the Web API client elsewhere (a proxy, a test server). ``unfurl_domains`` lists the domains
    whose links are unfurled with a summary. ``allow_private_urls`` lets users have the bot fetch
    local and private-network pages: leave it off for a bot that anyone in a workspace can use.
    ``deliveries`` holds the exactly-once claims (default: SQLite next to the summary cache).
    """
    _require_bolt()
    from slack_bolt.async_app import AsyncApp
    from slack_bolt.response import BoltResponse

    if not token:
        raise ConfigError("no Slack bot token: set SLACK_BOT_TOKEN (Bot User OAuth Token, xoxb-…)")
    if not signing_secret and not socket_mode:
        # Bolt would verify signatures against an empty secret, which anyone can compute.
        raise ConfigError(
            "no Slack signing secret: set SLACK_SIGNING_SECRET (Basic Information > App Credentials)"
        )
    api_key = getattr(getattr(summarizer, "settings", None), "api_key", None)
    redact = Redactor([token, signing_secret, app_token, api_key])
    install(redact)  # on every handler installed so far (the CLI sets logging up first)
    client = web_client(token, client_base_url)
    app = AsyncApp(
        name="summarizer",
        client=client,
        signing_secret=signing_secret or "",
        request_verification_enabled=not socket_mode,
        # Our listeners only decide and hand work to a task, so Bolt can await them and answer
        # at once; without this it polls every 10 ms for the ack, and under a burst of requests
        # those polls alone keep the event loop busy.
        process_before_response=True,
    )
    poster = Poster(client, redact)
    worker = Worker(
        summarizer,
        poster,
        redact,
        backlog=Backlog(max_concurrent, max_queued),
        rate_limit=UserRateLimit(per_user, per_user_window),
        allow_private_urls=allow_private_urls,
        fetch_timeout=fetch_timeout,
    )
    store = deliveries if deliveries is not None else _default_deliveries(summarizer)
    app.summarizer_worker = worker  # type: ignore[attr-defined]
    app.summarizer_deliveries = store  # type: ignore[attr-defined]
    app.summarizer_redactor = redact  # type: ignore[attr-defined]
    domains = [d.strip() for d in unfurl_domains if d.strip()]

    @app.middleware
    async def exactly_once(req: Any, body: dict[str, Any], next: Any) -> Any:
        """Claim each delivery before anything runs: a retry, a replay or a repeated envelope
        that was already claimed is acknowledged (so Slack stops) and dropped."""
        if body.get("type") in ("url_verification", "ssl_check") or body.get("ssl_check"):
            return await next()
        for key in delivery_keys(body, req.raw_body if isinstance(req.raw_body, str) else ""):
            if not await store.claim(key):
                retry = (req.headers.get("x-slack-retry-num") or ["-"])[0]
                reason = (req.headers.get("x-slack-retry-reason") or ["-"])[0]
                log.info("dropped a repeated delivery %s (retry %s, %s)", key, retry, reason)
                return BoltResponse(status=200, body="")
        return await next()

    def spawn_tell(where: Conversation, line: str) -> None:
        worker.spawn(poster.tell(where, line))

    @app.command(command)
    async def on_command(ack: Any, command: dict[str, Any], respond: Any) -> None:
        asked = read_request(str(command.get("text") or ""), min_words=min_words)
        user = str(command.get("user_id"))
        if asked.refusal is not None:
            await ack(response_type="ephemeral", text=poster.line(asked.refusal))
            return
        refusal = worker.refusal(user)
        if refusal is not None:
            await ack(response_type="ephemeral", text=poster.line(refusal))
            return
        await ack()
        where = Conversation(
            channel=str(command.get("channel_id")),
            user=user,
            thread_ts=command.get("thread_ts") or None,
            respond=respond,
        )
        worker.start(Job(where, url=asked.url, text=asked.text))

    @app.message_shortcut(shortcut_callback_id)
    async def on_shortcut(ack: Any, shortcut: dict[str, Any], respond: Any) -> None:
        await ack()
        message = shortcut.get("message") or {}
        where = Conversation(
            channel=str((shortcut.get("channel") or {}).get("id")),
            user=str((shortcut.get("user") or {}).get("id")),
            thread_ts=message.get("thread_ts") or message.get("ts") or shortcut.get("message_ts"),
            respond=respond,
        )
        attached = [
            str(a.get("original_url") or a.get("from_url") or "") for a in message.get("attachments") or []
        ]
        asked = read_request(
            str(message.get("text") or ""), extra_links=attached, min_words=min_words, what="That message"
        )
        refusal = asked.refusal or worker.refusal(where.user)
        if refusal is not None:
            spawn_tell(where, refusal)
            return
        worker.start(Job(where, url=asked.url, text=asked.text))

    async def on_message_text(event: dict[str, Any], *, direct: bool) -> None:
        where = Conversation(
            channel=str(event.get("channel")),
            user=str(event.get("user")),
            # A mention is answered in its thread (a new one under it); a DM in place.
            thread_ts=event.get("thread_ts") or (None if direct else event.get("ts")),
            direct=direct,
        )
        asked = read_request(str(event.get("text") or ""), min_words=min_words)
        refusal = asked.refusal or worker.refusal(where.user)
        if refusal is not None:
            spawn_tell(where, refusal)
            return
        worker.start(Job(where, url=asked.url, text=asked.text))

    @app.event("app_mention")
    async def on_mention(event: dict[str, Any]) -> None:
        if event.get("bot_id") or not event.get("user"):
            return  # another bot mentioning us: answering could start a loop
        await on_message_text(event, direct=False)

    @app.event("message")
    async def on_message(event: dict[str, Any]) -> None:
        # Only a person's own new message in a DM; edits, deletions, joins and bots are not requests.
        if event.get("channel_type") != "im" or event.get("subtype") or event.get("bot_id"):
            return
        if event.get("user"):
            await on_message_text(event, direct=True)

    @app.event("link_shared")
    async def on_link_shared(event: dict[str, Any]) -> None:
        if event.get("source") == "composer":
            # A link still being typed: the message may never be sent, and the same link comes
            # again (source "conversations_history") once it is. Summarize it then, once.
            return
        wanted = [str(link.get("url") or "") for link in event.get("links") or []]
        wanted = [url for url in dict.fromkeys(wanted) if url and domain_allowed(url, domains)]
        user = str(event.get("user") or "")
        for url in wanted[:MAX_UNFURLS]:
            refusal = worker.refusal(user)
            if refusal is not None:
                log.info("not unfurling %s: %s", url, refusal)
                return
            where = Conversation(channel=str(event.get("channel")), user=user)
            worker.start(Job(where, url=url, unfurl=event, note=False))

    @app.event(re.compile(".*"))
    async def on_other_event(event: dict[str, Any]) -> None:
        # Acknowledged and ignored: an unanswered event would be retried by Slack (over HTTP a
        # 404, in Socket Mode an envelope never acknowledged).
        log.debug("ignored a %s event", event.get("type"))

    return app


def create_web_app(
    app: AsyncApp, *, path: str = EVENTS_PATH, worker_threads: int | None = None
) -> web.Application:
    """An aiohttp application: Slack's requests at ``path`` (POST), a health check at ``/healthz``.

    ``worker_threads`` caps the event loop's default thread pool, where article extraction runs:
    CPU-bound threads compete with the loop for the GIL, so a few keep acknowledgements quick
    under a burst (the rest queue). None leaves a host application's pool as it is."""
    _require_bolt()
    from aiohttp import web
    from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request

    worker = worker_of(app)

    async def events(request: web.Request) -> web.Response:
        stamp = request.headers.get("X-Slack-Request-Timestamp")
        signature = request.headers.get("X-Slack-Signature")
        if stamp is not None and not _TIMESTAMP.fullmatch(stamp.strip()):
            # Bolt would fail on int(stamp) with a 500 and a traceback: a malformed header is
            # simply an unverifiable request.
            return web.json_response({"error": "invalid request"}, status=401)
        if signature is not None and not signature.startswith("v0="):
            return web.json_response({"error": "invalid request"}, status=401)
        try:
            bolt_response = await app.async_dispatch(await to_bolt_request(request))
        except Exception as exc:  # a body Bolt cannot parse: a line in the log, not a traceback
            log.warning("could not handle a request to %s: %s", path, type(exc).__name__)
            return web.json_response({"error": "bad request"}, status=400)
        return await to_aiohttp_response(bolt_response)

    async def healthz(request: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def started(_: web.Application) -> None:
        if worker_threads is not None:
            from concurrent.futures import ThreadPoolExecutor

            pool = ThreadPoolExecutor(max_workers=worker_threads, thread_name_prefix="summarizer")
            asyncio.get_running_loop().set_default_executor(pool)
        worker.warm_up()

    async def stopping(_: web.Application) -> None:
        await worker.close()

    web_app = web.Application()
    web_app.add_routes([web.post(path, events), web.get("/healthz", healthz)])
    web_app.on_startup.append(started)
    web_app.on_cleanup.append(stopping)
    return web_app


def socket_mode_handler(app: AsyncApp, app_token: str) -> Any:
    """A Socket Mode handler for ``app`` that acknowledges every envelope, once.

    Bolt's handler leaves an envelope unacknowledged when no listener answers it (Slack then
    sends it again) and works on a repeated envelope again; this one claims each
    ``envelope_id`` first and acknowledges repeats and unanswered envelopes alike."""
    _require_bolt()
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
    from slack_bolt.adapter.socket_mode.async_internals import run_async_bolt_app, send_async_response
    from slack_sdk.socket_mode.response import SocketModeResponse

    store: DeliveryStore = app.summarizer_deliveries  # type: ignore[attr-defined]

    class Handler(AsyncSocketModeHandler):  # type: ignore[misc]
        async def handle(self, client: Any, req: Any) -> None:
            import time

            started = time.time()
            if req.envelope_id and not await store.claim(f"envelope:{req.envelope_id}"):
                log.info("dropped a repeated Socket Mode envelope %s", req.envelope_id)
                await client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))
                return
            response = await run_async_bolt_app(self.app, req)
            if response.status != 200:
                await client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))
                return
            await send_async_response(client, req, response, started)

    return Handler(app, app_token)


async def run_socket_mode(app: AsyncApp, app_token: str) -> None:
    """Serve ``app`` over Socket Mode (no public URL needed) until cancelled."""
    worker = worker_of(app)
    worker.warm_up()
    handler = socket_mode_handler(app, app_token)
    try:
        await handler.start_async()
    finally:
        await handler.close_async()
        await worker.close()

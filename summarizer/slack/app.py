"""The newsroom Slack bot: ``/summarize`` and the "Summarize" message shortcut.

``create_app(summarizer, token=..., signing_secret=...)`` builds a Slack Bolt
``AsyncApp`` (the ``slack`` extra: ``pip install 'summarizer[slack]'``):

- ``/summarize TEXT-OR-URL`` is acknowledged at once with a short note only the
  user sees; the article (the text, or the page the URL points to) is summarized in
  the background and the summary posted to the channel with ``chat.postMessage``
  (Block Kit blocks plus a short fallback text).
- The message shortcut (callback id ``summarize_message``) summarizes the message it
  is used on, or the page of the first link in it when the message is little more
  than that link, and replies in that message's thread.
- A failure is one friendly line posted only to the person who asked (an ephemeral
  message): the ``SummarizerError`` text, never a traceback or a secret.

Slack's request signatures are verified (Bolt's default); requests older than five
minutes are refused as replays. Work runs as asyncio tasks on the library's async
API, so requests do not wait for one another; ``max_concurrent`` bounds how many
summaries run at once (the rest queue).

Serve it with ``summarizer slack serve`` (HTTP, or ``--socket-mode``), or mount
``create_web_app(app)`` in your own aiohttp server.
"""

from __future__ import annotations

import asyncio
import html
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from summarizer.errors import ConfigError, SummarizerError
from summarizer.inputs.url import afetch_article, is_url
from summarizer.slack.blocks import clip, escape, fallback_text, summary_blocks

if TYPE_CHECKING:
    from aiohttp import web
    from slack_bolt.async_app import AsyncApp
    from slack_sdk.web.async_client import AsyncWebClient

    from summarizer.pipeline import Summarizer

COMMAND = "/summarize"
SHORTCUT = "summarize_message"
EVENTS_PATH = "/slack/events"
MAX_CONCURRENT = 8
# A message whose text, links aside, is shorter than this is about its link: fetch the link.
LINK_MESSAGE_CHARS = 280

INSTALL_HINT = "the Slack bot needs the slack extra: pip install 'summarizer[slack]'"

USAGE = (
    "Give me an article to summarize: `/summarize https://…` (a news page) or "
    "`/summarize` followed by the article's text."
)
WORKING = ":hourglass_flowing_sand: Summarizing… the summary will be posted here shortly."
WORKING_THREAD = ":hourglass_flowing_sand: Summarizing this message… the summary will appear in its thread."

log = logging.getLogger("summarizer.slack")

_LINK = re.compile(r"<(https?://[^|>\s]+)(?:\|([^>]*))?>", re.IGNORECASE)
_MARKUP = re.compile(r"<([@#!])([^|>]+)(?:\|([^>]*))?>")
_BARE_URL = re.compile(r"https?://[^\s<>|]+", re.IGNORECASE)


def _require_bolt() -> None:
    try:
        import aiohttp  # noqa: F401
        import slack_bolt  # noqa: F401
    except ImportError:
        raise ConfigError(INSTALL_HINT) from None


def _preload() -> None:
    """Import what the first summary needs now: an import inside a request would block the event
    loop for a second or more, holding up every other request's acknowledgement."""
    import instructor
    import openai
    import trafilatura  # noqa: F401

    # The SDK imports its resources (and instructor its provider code) when a client is first
    # built: build one that never sends anything.
    client = openai.OpenAI(api_key="preload", base_url="http://127.0.0.1:9/v1")
    try:
        instructor.from_openai(client)
    finally:
        client.close()


# --------------------------------------------------------------------------- reading Slack text


def slack_to_plain(text: str) -> str:
    """Slack's message markup as plain text: links by their label, mentions by name, entities unescaped."""

    def link(match: re.Match[str]) -> str:
        return match.group(2) or match.group(1)

    def markup(match: re.Match[str]) -> str:
        sigil, value, label = match.groups()
        if sigil == "!":
            return "@" + (label or value.split("^")[0])
        return ("@" if sigil == "@" else "#") + (label or value)

    text = _LINK.sub(link, text)
    text = _MARKUP.sub(markup, text)
    return html.unescape(text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&"))


def first_link(text: str) -> str | None:
    match = _LINK.search(text)
    if match:
        return match.group(1)
    bare = _BARE_URL.search(html.unescape(text))
    return bare.group(0) if bare else None


def command_input(text: str) -> tuple[str | None, str | None]:
    """(url, None) when the command's text is one URL, else (None, the article text)."""
    text = text.strip()
    whole = _LINK.fullmatch(text)
    if whole:
        return whole.group(1), None
    plain = slack_to_plain(text).strip()
    if is_url(plain) and " " not in plain:
        return plain, None
    return None, plain or None


def message_input(message: dict[str, Any]) -> tuple[str | None, str | None]:
    """(url, None) for a message that is about a link, else (None, the message's text)."""
    raw = str(message.get("text") or "")
    link = first_link(raw)
    if link is None:
        for attachment in message.get("attachments") or []:
            candidate = attachment.get("original_url") or attachment.get("from_url")
            if candidate and is_url(str(candidate)):
                link = str(candidate)
                break
    plain = slack_to_plain(raw).strip()
    without_links = slack_to_plain(_LINK.sub(" ", raw)).strip()
    if link is not None and len(without_links) < LINK_MESSAGE_CHARS:
        return link, None
    return None, plain or None


# --------------------------------------------------------------------------- the work


@dataclass(frozen=True)
class _Job:
    channel: str
    user: str
    thread_ts: str | None
    url: str | None
    text: str | None
    respond: Callable[..., Awaitable[Any]] | None


class _Bot:
    def __init__(
        self,
        summarizer: Summarizer,
        *,
        secrets: list[str],
        allow_private_urls: bool,
        max_concurrent: int,
        fetch_timeout: float,
    ) -> None:
        self.summarizer = summarizer
        self.secrets = [s for s in secrets if s]
        self.allow_private_urls = allow_private_urls
        self.fetch_timeout = fetch_timeout
        self.max_concurrent = max_concurrent
        self._gate: asyncio.Semaphore | None = None
        self.tasks: set[asyncio.Task[None]] = set()

    def start(self, job: _Job, client: AsyncWebClient) -> None:
        """Run ``job`` in the background: the listener returns (and Slack gets its ack) at once."""
        task = asyncio.get_running_loop().create_task(self._run(job, client))
        self.tasks.add(task)  # a strong reference until it is done
        task.add_done_callback(self.tasks.discard)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "[REDACTED]")
        return text

    async def _run(self, job: _Job, client: AsyncWebClient) -> None:
        if self._gate is None:
            self._gate = asyncio.Semaphore(self.max_concurrent)
        await asyncio.sleep(0)  # let Bolt send the acknowledgement first
        try:
            async with self._gate:
                source_url = None
                if job.url is not None:
                    fetched = await afetch_article(
                        job.url, allow_private=self.allow_private_urls, timeout=self.fetch_timeout
                    )
                    text, source_url = fetched.text, fetched.url
                else:
                    text = job.text or ""
                summary = await self.summarizer.asummarize(text)
        except SummarizerError as exc:
            log.info("summary for %s in %s failed: %s", job.user, job.channel, self.redact(str(exc)))
            await self._tell_user(job, client, f":warning: Sorry, I couldn't summarize that: {exc}")
            return
        except Exception:
            log.exception("summary for %s in %s failed with an internal error", job.user, job.channel)
            await self._tell_user(
                job,
                client,
                ":warning: Sorry, I couldn't summarize that: something went wrong on my side "
                "(the details are in the bot's log).",
            )
            return
        blocks = summary_blocks(summary, source_url=source_url, requested_by=job.user)
        await self._post(job, client, blocks, fallback_text(summary))

    async def _post(self, job: _Job, client: AsyncWebClient, blocks: list[dict[str, Any]], text: str) -> None:
        from slack_sdk.errors import SlackApiError

        try:
            await client.chat_postMessage(
                channel=job.channel,
                thread_ts=job.thread_ts,
                blocks=blocks,
                text=text,
                unfurl_links=False,
                unfurl_media=False,
            )
            return
        except SlackApiError as exc:
            error = str(exc.response.get("error", "unknown_error"))
        except Exception as exc:  # Slack unreachable: say so rather than lose the task's error
            error = type(exc).__name__
        log.warning("chat.postMessage to %s failed: %s", job.channel, error)
        if job.respond is not None and error in ("not_in_channel", "channel_not_found"):
            # The bot is not a member of the channel: the command's response URL still works.
            try:
                await job.respond(response_type="in_channel", blocks=blocks, text=text)
                return
            except Exception as exc:  # the response URL expires after 30 minutes
                log.warning("posting through the response URL failed: %s", type(exc).__name__)
        await self._tell_user(
            job,
            client,
            f":warning: The summary is ready but I could not post it here (Slack said `{error}`).",
        )

    async def _tell_user(self, job: _Job, client: AsyncWebClient, text: str) -> None:
        """A note only the requester sees: an ephemeral message, else the response URL."""
        text = clip(escape(self.redact(" ".join(text.split()))), 2_000)
        try:
            await client.chat_postEphemeral(
                channel=job.channel, user=job.user, thread_ts=job.thread_ts, text=text
            )
            return
        except Exception as exc:
            log.warning("chat.postEphemeral to %s failed: %s", job.channel, type(exc).__name__)
        if job.respond is not None:
            try:
                await job.respond(response_type="ephemeral", text=text, replace_original=False)
            except Exception as exc:
                log.warning("the response URL failed too: %s", type(exc).__name__)


# --------------------------------------------------------------------------- the app


def create_app(
    summarizer: Summarizer,
    *,
    token: str,
    signing_secret: str | None,
    client_base_url: str | None = None,
    command: str = COMMAND,
    shortcut_callback_id: str = SHORTCUT,
    allow_private_urls: bool = False,
    max_concurrent: int = MAX_CONCURRENT,
    fetch_timeout: float = 20.0,
    socket_mode: bool = False,
) -> AsyncApp:
    """A Bolt ``AsyncApp`` serving ``/summarize`` and the "Summarize message" shortcut.

    ``token`` is the bot token (``xoxb-…``), ``signing_secret`` the app's signing secret
    (required over HTTP; Socket Mode does not sign requests, pass ``socket_mode=True``).
    ``client_base_url`` points the Web API client elsewhere (a proxy, a test server).
    ``allow_private_urls`` lets users have the bot fetch local and private-network pages:
    leave it off for a bot that anyone in a workspace can use.
    """
    _require_bolt()
    from slack_bolt.async_app import AsyncApp
    from slack_sdk.web.async_client import AsyncWebClient

    if not token:
        raise ConfigError("no Slack bot token: set SLACK_BOT_TOKEN (Bot User OAuth Token, xoxb-…)")
    if not signing_secret and not socket_mode:
        # Bolt would verify signatures against an empty secret, which anyone can compute.
        raise ConfigError(
            "no Slack signing secret: set SLACK_SIGNING_SECRET (Basic Information > App Credentials)"
        )
    base_url = client_base_url or "https://slack.com/api/"
    if not base_url.endswith("/"):
        base_url += "/"
    client = AsyncWebClient(token=token, base_url=base_url)
    app = AsyncApp(
        name="summarizer",
        client=client,
        signing_secret=signing_secret or "",
        request_verification_enabled=True,
        process_before_response=False,
    )
    _preload()
    api_key = getattr(getattr(summarizer, "settings", None), "api_key", None)
    bot = _Bot(
        summarizer,
        secrets=[token, signing_secret or "", api_key or ""],
        allow_private_urls=allow_private_urls,
        max_concurrent=max_concurrent,
        fetch_timeout=fetch_timeout,
    )

    @app.command(command)
    async def on_command(ack: Any, command: dict[str, Any], client: AsyncWebClient, respond: Any) -> None:
        url, text = command_input(str(command.get("text") or ""))
        if url is None and text is None:
            await ack(response_type="ephemeral", text=USAGE)
            return
        await ack(response_type="ephemeral", text=WORKING)
        job = _Job(
            channel=str(command.get("channel_id")),
            user=str(command.get("user_id")),
            thread_ts=command.get("thread_ts") or None,
            url=url,
            text=text,
            respond=respond,
        )
        bot.start(job, client)

    @app.message_shortcut(shortcut_callback_id)
    async def on_shortcut(ack: Any, shortcut: dict[str, Any], client: AsyncWebClient, respond: Any) -> None:
        await ack()
        message = shortcut.get("message") or {}
        channel = str((shortcut.get("channel") or {}).get("id"))
        user = str((shortcut.get("user") or {}).get("id"))
        thread_ts = message.get("thread_ts") or message.get("ts") or shortcut.get("message_ts")
        url, text = message_input(message)
        job = _Job(channel=channel, user=user, thread_ts=thread_ts, url=url, text=text, respond=respond)
        if url is None and text is None:
            await bot._tell_user(job, client, "That message has no text or link to summarize.")
            return
        try:
            await client.chat_postEphemeral(
                channel=channel, user=user, thread_ts=thread_ts, text=WORKING_THREAD
            )
        except Exception as exc:  # only a courtesy: the work goes on
            log.info("could not post the 'working' note in %s: %s", channel, type(exc).__name__)
        bot.start(job, client)

    return app


def create_web_app(app: AsyncApp, *, path: str = EVENTS_PATH) -> web.Application:
    """An aiohttp application: Slack's requests at ``path`` (POST), a health check at ``/healthz``."""
    _require_bolt()
    from aiohttp import web
    from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request

    async def events(request: web.Request) -> web.Response:
        bolt_response = await app.async_dispatch(await to_bolt_request(request))
        return await to_aiohttp_response(bolt_response)

    async def healthz(request: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    web_app = web.Application()
    web_app.add_routes([web.post(path, events), web.get("/healthz", healthz)])
    return web_app


async def run_socket_mode(app: AsyncApp, app_token: str) -> None:
    """Serve ``app`` over Socket Mode (no public URL needed) until cancelled."""
    _require_bolt()
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    await AsyncSocketModeHandler(app, app_token).start_async()

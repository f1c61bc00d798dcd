"""Talking back to Slack: the "working" note, the summary in its place, refusals and unfurls.

Every answer goes to one ``Conversation`` (a channel or DM, a thread in it, the person who
asked, and the command's response URL when there is one), and every fallback keeps the thread.
The Web API client retries a 429 ``ratelimited`` after Slack's ``Retry-After`` (slack_sdk's
``AsyncRateLimitErrorRetryHandler``), so a summary that is already paid for is not lost to a
busy channel; when Slack still says no, the requester is told the summary is ready and that
asking again costs nothing (the summary cache has it).

The "working" note is posted where the answer will appear and then updated in place
(``chat.update``) with the summary, or with the one-line error: the conversation never keeps a
stale "Summarizing…". When the note could not be posted, the answer is posted fresh.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from summarizer.slack.blocks import clip, escape
from summarizer.slack.redact import Redactor

if TYPE_CHECKING:
    from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger("summarizer.slack")

# 429s a Web API call waits out (each after Slack's Retry-After) before it gives up.
RATE_LIMIT_RETRIES = 4
MAX_NOTE = 2_000
# Errors that mean "the bot cannot write here", where the command's response URL still can.
_NOT_MEMBER = ("not_in_channel", "channel_not_found", "is_archived", "restricted_action")


@dataclass(frozen=True)
class Conversation:
    """Where an answer goes: ``channel``, in ``thread_ts`` if set, for ``user``."""

    channel: str
    user: str
    thread_ts: str | None = None
    respond: Callable[..., Awaitable[Any]] | None = None  # the response URL (commands, shortcuts)
    direct: bool = False  # a DM with the bot: nothing there needs to be ephemeral


def web_client(token: str, base_url: str | None = None) -> AsyncWebClient:
    """The bot's Web API client: 429s waited out and retried, connection resets retried."""
    from slack_sdk.http_retry.builtin_async_handlers import (
        AsyncConnectionErrorRetryHandler,
        AsyncRateLimitErrorRetryHandler,
    )
    from slack_sdk.web.async_client import AsyncWebClient

    url = base_url or "https://slack.com/api/"
    return AsyncWebClient(
        token=token,
        base_url=url if url.endswith("/") else url + "/",
        timeout=30,
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
            AsyncRateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
        ],
    )


def _error_of(exc: Exception) -> str:
    from slack_sdk.errors import SlackApiError

    if isinstance(exc, SlackApiError):
        return str(exc.response.get("error", "unknown_error"))
    return type(exc).__name__


class Poster:
    """Every Web API write the bot makes, with its fallbacks."""

    def __init__(self, client: AsyncWebClient, redact: Redactor) -> None:
        self.client = client
        self.redact = redact

    def line(self, text: str) -> str:
        """A note for Slack: one line, secrets redacted, escaped, clipped."""
        return clip(escape(self.redact(" ".join(text.split()))), MAX_NOTE)

    async def working(self, where: Conversation, text: str) -> str | None:
        """Post the "working" note; its ``ts`` (to update later), or None when it could not be posted."""
        try:
            answer = await self.client.chat_postMessage(
                channel=where.channel, thread_ts=where.thread_ts, text=text, unfurl_links=False
            )
            return str(answer.get("ts") or "") or None
        except Exception as exc:
            log.info("could not post the working note in %s: %s", where.channel, _error_of(exc))
        if where.respond is not None:  # at least the requester learns that work has started
            try:
                await where.respond(response_type="ephemeral", text=text, replace_original=False)
            except Exception as exc:
                log.info("the response URL failed too: %s", _error_of(exc))
        return None

    async def deliver(
        self, where: Conversation, note_ts: str | None, blocks: list[dict[str, Any]], text: str
    ) -> bool:
        """The summary in place of the note, else as a new message in the same thread, else through
        the response URL; True once Slack has it."""
        if note_ts is not None:
            try:
                await self.client.chat_update(channel=where.channel, ts=note_ts, blocks=blocks, text=text)
                return True
            except Exception as exc:
                log.warning("chat.update of the note in %s failed: %s", where.channel, _error_of(exc))
        error = "unknown_error"
        try:
            await self.client.chat_postMessage(
                channel=where.channel,
                thread_ts=where.thread_ts,
                blocks=blocks,
                text=text,
                unfurl_links=False,
                unfurl_media=False,
            )
            return True
        except Exception as exc:
            error = _error_of(exc)
            log.warning("chat.postMessage to %s failed: %s", where.channel, error)
        if where.respond is not None and error in _NOT_MEMBER:
            try:
                await where.respond(
                    response_type="in_channel",
                    blocks=blocks,
                    text=text,
                    thread_ts=where.thread_ts,
                    replace_original=False,
                )
                return True
            except Exception as exc:  # the response URL expires after 30 minutes
                log.warning("posting through the response URL failed: %s", _error_of(exc))
        await self.tell(
            where,
            f":warning: The summary is ready but I could not post it here (Slack said `{error}`); "
            "ask again and it will come from the cache at no cost.",
        )
        return False

    async def fail(self, where: Conversation, note_ts: str | None, text: str) -> None:
        """The error in place of the note (so no "Summarizing…" is left behind), else for the requester."""
        if note_ts is not None:
            try:
                await self.client.chat_update(channel=where.channel, ts=note_ts, text=self.line(text))
                return
            except Exception as exc:
                log.warning("chat.update of the note in %s failed: %s", where.channel, _error_of(exc))
        await self.tell(where, text)

    async def tell(self, where: Conversation, text: str) -> None:
        """A line only the requester sees: ephemeral (in a DM, a plain reply), else the response URL."""
        line = self.line(text)
        try:
            if where.direct:
                await self.client.chat_postMessage(
                    channel=where.channel, thread_ts=where.thread_ts, text=line
                )
            else:
                await self.client.chat_postEphemeral(
                    channel=where.channel, user=where.user, thread_ts=where.thread_ts, text=line
                )
            return
        except Exception as exc:
            log.warning("telling %s in %s failed: %s", where.user, where.channel, _error_of(exc))
        if where.respond is not None:
            try:
                await where.respond(response_type="ephemeral", text=line, replace_original=False)
            except Exception as exc:
                log.warning("the response URL failed too: %s", _error_of(exc))

    async def unfurl(self, event: dict[str, Any], url: str, blocks: list[dict[str, Any]]) -> bool:
        """Attach ``blocks`` to the shared ``url``: by ``unfurl_id`` and ``source`` when Slack gave
        them (a link still in the composer has no message yet), else by channel and message ts."""
        unfurls = {url: {"blocks": blocks}}
        where: dict[str, Any]
        if event.get("unfurl_id") and event.get("source"):
            where = {"unfurl_id": event["unfurl_id"], "source": event["source"]}
        else:
            where = {"channel": event.get("channel"), "ts": event.get("message_ts")}
        try:
            await self.client.chat_unfurl(unfurls=unfurls, **where)
            return True
        except Exception as exc:
            log.warning("chat.unfurl of %s failed: %s", url, _error_of(exc))
            return False

"""The work behind a request: admit it, fetch the page, summarize, and answer, off the ack's path.

A listener decides what is asked (``slack.text``), asks ``Worker.refusal`` whether it may be
taken on (per-user limit, bounded backlog), acknowledges Slack, and hands a ``Job`` to
``Worker.start``, which runs it as an asyncio task. Nothing here may block the event loop: that
loop also answers every other request within Slack's 3 seconds and ``/healthz``. So the fetch
shares one connection pool (building an HTTP client builds an SSL context, ~70 ms of CPU, on the
loop), extraction runs in a worker thread (``afetch_article`` does that), and the libraries the
first summary needs are imported in a thread at start-up rather than inside a request.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

from summarizer.errors import InputError, SummarizerError
from summarizer.inputs.url import afetch_article
from summarizer.schema import Provenance
from summarizer.slack.blocks import fallback_text, summary_blocks
from summarizer.slack.limits import Backlog, UserRateLimit
from summarizer.slack.posting import Conversation, Poster
from summarizer.slack.redact import Redactor

if TYPE_CHECKING:
    from summarizer.pipeline import Summarizer
    from summarizer.schema import Summary

log = logging.getLogger("summarizer.slack")

UNFURL_CLAIMS = 3  # an unfurl is a preview: the headline, the abstract and a few claims
NO_CLAIMS = "I found nothing to summarize in that: no claims could be drawn from it (is it a news article?)"
INTERNAL = "something went wrong on my side (the details are in the bot's log)"


def working_text(url: str | None, user: str) -> str:
    what = f"<{url}>" if url else "that text"
    return f":hourglass_flowing_sand: Summarizing {what} for <@{user}>…"


@dataclass(frozen=True)
class Job:
    """One summary to make: the page at ``url`` or ``text``, answered in ``where``."""

    where: Conversation
    url: str | None = None
    text: str | None = None
    unfurl: dict[str, Any] | None = None  # the link_shared event, for chat.unfurl
    note: bool = True  # post a "working" note first (not for unfurls)
    meta: dict[str, Any] = field(default_factory=dict)


class _SharedTransport(httpx.AsyncBaseTransport):
    """One connection pool for every fetch: ``afetch_article`` closes its client after each page,
    and that must not close the pool the next page reuses."""

    def __init__(self) -> None:
        self._pool = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self._pool.handle_async_request(request)

    async def aclose(self) -> None:  # closed by Worker.close, not by each fetch's client
        pass

    async def close_pool(self) -> None:
        await self._pool.aclose()


def preload() -> None:
    """Import what the first summary needs: an import inside a request would block the event
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


class Worker:
    def __init__(
        self,
        summarizer: Summarizer,
        poster: Poster,
        redact: Redactor,
        *,
        backlog: Backlog,
        rate_limit: UserRateLimit,
        allow_private_urls: bool,
        fetch_timeout: float,
    ) -> None:
        self.summarizer = summarizer
        self.poster = poster
        self.redact = redact
        self.backlog = backlog
        self.rate_limit = rate_limit
        self.allow_private_urls = allow_private_urls
        self.fetch_timeout = fetch_timeout
        self.tasks: set[asyncio.Task[None]] = set()
        self._transport: _SharedTransport | None = None
        self._warm: asyncio.Future[None] | None = None
        self._session: Any = None  # the aiohttp session we gave the Web API client

    # -- start-up --------------------------------------------------------------------

    def warm_up(self) -> asyncio.Future[None]:
        """Start importing the model libraries in a thread (once); jobs wait for it. Give the Web
        API client one session: without it slack_sdk opens a session (and a connection) per call."""
        if self._warm is None:
            self._warm = asyncio.ensure_future(asyncio.to_thread(preload))
            client = self.poster.client
            if getattr(client, "session", None) is None:
                import aiohttp

                client.session = aiohttp.ClientSession()
                self._session = client.session
        return self._warm

    async def close(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        if self._transport is not None:
            await self._transport.close_pool()
        if self._session is not None:
            await self._session.close()
            self.poster.client.session = None

    # -- admission -------------------------------------------------------------------

    def refusal(self, user: str) -> str | None:
        """None when ``user``'s request is admitted (a backlog place is then held for it), else
        the line to answer with."""
        wait = self.rate_limit.wait_for(user)
        if wait is not None:
            log.info("rate limit: %s asked too often; refused for %.0f s", user, wait)
            return self.rate_limit.refusal(wait)
        if not self.backlog.admit():
            log.info("backlog full (%d): refused a request from %s", self.backlog.held, user)
            return self.backlog.refusal()
        return None

    def start(self, job: Job) -> None:
        """Run an admitted ``job`` in the background: the listener returns (and Slack gets its ack)."""
        self.spawn(self._run(job))

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self.tasks.add(task)  # a strong reference until it is done
        task.add_done_callback(self.tasks.discard)

    # -- the work --------------------------------------------------------------------

    async def _run(self, job: Job) -> None:
        await asyncio.sleep(0)  # let Bolt send the acknowledgement first
        where = job.where
        note_ts: str | None = None
        try:
            if job.note:
                note_ts = await self.poster.working(where, working_text(job.url, where.user))
            summary, source_url = await self.backlog.run(lambda: self._summarize(job))
        except SummarizerError as exc:
            log.info("summary for %s in %s failed: %s", where.user, where.channel, exc)
            await self._failed(job, note_ts, f":warning: Sorry, I couldn't summarize that: {exc}")
            return
        except Exception:
            log.exception("summary for %s in %s failed with an internal error", where.user, where.channel)
            await self._failed(job, note_ts, f":warning: Sorry, I couldn't summarize that: {INTERNAL}.")
            return
        if not summary.claims:
            # A summary without claims is the model's reading of junk: not worth a public post.
            await self._failed(job, note_ts, f":warning: {NO_CLAIMS}.")
            return
        if job.unfurl is not None and job.url is not None:
            blocks = summary_blocks(summary, source_url=source_url, max_claims=UNFURL_CLAIMS)
            await self.poster.unfurl(job.unfurl, job.url, blocks)
            return
        blocks = summary_blocks(summary, source_url=source_url, requested_by=where.user)
        await self.poster.deliver(where, note_ts, blocks, fallback_text(summary))

    async def _failed(self, job: Job, note_ts: str | None, line: str) -> None:
        if job.unfurl is not None:
            return  # nobody asked: a link simply stays without a summary (the log says why)
        await self.poster.fail(job.where, note_ts, line)

    async def _summarize(self, job: Job) -> tuple[Summary, str | None]:
        await self.warm_up()
        if job.url is None:
            if not job.text:
                raise InputError("there is no text to summarize")
            return await self.summarizer.asummarize(job.text), None
        if self._transport is None:
            self._transport = _SharedTransport()
        fetched = await afetch_article(
            job.url,
            allow_private=self.allow_private_urls,
            timeout=self.fetch_timeout,
            transport=self._transport,
        )
        # Where the text came from travels with the summary (issue 16 may hand this over ready-made).
        provenance = getattr(fetched, "provenance", None) or Provenance(
            url=job.url,
            final_url=fetched.url,
            title=fetched.title,
            author=fetched.author,
            published=fetched.date,
            site_name=fetched.sitename,
            fetched_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        )
        summary = await self.summarizer.asummarize(fetched.text, provenance=provenance)
        return summary, fetched.url

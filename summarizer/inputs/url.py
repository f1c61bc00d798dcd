"""Article URLs: fetch a news page and reduce it to the article's text, keeping where it came from.

``fetch_article(url)`` (and ``afetch_article`` for asyncio) downloads the page with the process's
shared httpx client (``http_client``: a timeout, a streamed size cap, redirects followed hop by hop,
an honest User-Agent), decodes it as a browser would (``charset``), refuses PDFs and pages that are
not articles (``page_signals``: paywall teasers, reprint stubs, home pages, each refusal naming the
signal that fired), and extracts the article with trafilatura (``extraction``): the body text
without navigation, ads, cookie banners, comments or footers, plus the title, author, date and site.

The text returned is the page's title, a blank line, then the article body (one paragraph a line).
It is exactly what gets summarized, so a summary's offsets refer to ``FetchedArticle.text``
(``summarizer summarize URL --save-text FILE`` keeps it); ``FetchedArticle.provenance`` is what
``Summarizer.summarize(text, provenance=...)`` records in the summary.

Every failure is one line: ``InputError`` when the page cannot be an article (not HTML, a PDF, a
4xx, too large, a paywall, reprint or home page, mojibake, nothing article-like on it) and
``ProviderError`` when the site cannot be reached (timeout, refused, 5xx, 429).

A service that fetches URLs given by other people (the Slack bot) passes ``allow_private=False``:
then every connection, on every redirect hop, goes to an address that was resolved once and
checked to be public (``address_guard``), on port 80 or 443 unless ``allowed_ports`` says more, so
that a user cannot make the bot read internal services (cloud metadata, intranet pages), by a
private address, an IPv6 form of one, or a DNS answer that changes between check and connection.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from urllib.parse import urlsplit

import httpx

from summarizer.errors import InputError, ProviderError
from summarizer.inputs.address_guard import WEB_PORTS, Resolver, inward_reason, literal_address
from summarizer.inputs.files import check_article
from summarizer.inputs.http_client import BlockedAddress, Guard, async_client, sync_client
from summarizer.schema import Provenance

MAX_BYTES = 5 * 1024 * 1024
TIMEOUT = 20.0
MAX_REDIRECTS = 10

_HTML_TYPES = ("text/html", "application/xhtml+xml")
# Served with these, a page may still be HTML (or a PDF): look at its bytes.
_SNIFFED_TYPES = ("", "application/octet-stream", "binary/octet-stream")
_URL = re.compile(r"^https?://\S+$", re.IGNORECASE)


@dataclass(frozen=True)
class FetchedArticle:
    """An article read from the web. Summaries of it have offsets into ``text``."""

    url: str  # the page's final address, after redirects
    title: str | None  # without a site-name suffix
    author: str | None
    date: str | None  # as the page gives it, normalized to YYYY-MM-DD where trafilatura can
    text: str
    sitename: str | None = None
    requested_url: str | None = None  # the address asked for (``url`` is where it led)
    fetched_at: str | None = field(default=None, compare=False)  # ISO 8601, UTC

    @property
    def provenance(self) -> Provenance:
        """Where ``text`` came from, with its SHA-256: pass it to ``Summarizer.summarize``."""
        return Provenance.of(
            self.text,
            Provenance(
                url=self.requested_url or self.url,
                final_url=self.url,
                title=self.title,
                author=self.author,
                published=self.date,
                site_name=self.sitename,
                fetched_at=self.fetched_at,
            ),
        )


def is_url(value: str) -> bool:
    """True for an http(s) URL: what the CLI fetches instead of reading as a file."""
    return bool(_URL.match(value.strip()))


def user_agent() -> str:
    try:
        ours = version("summarizer")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        ours = "dev"
    return f"summarizer/{ours} (news article summarizer; +https://pypi.org/project/summarizer/)"


def _headers(agent: str | None) -> dict[str, str]:
    return {
        "User-Agent": agent or user_agent(),
        "Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1",
        "Accept-Language": "en;q=0.9, *;q=0.5",
    }


# --------------------------------------------------------------------------- public API


def fetch_article(
    url: str,
    *,
    timeout: float = TIMEOUT,
    max_bytes: int = MAX_BYTES,
    agent: str | None = None,
    allow_private: bool = True,
    allowed_ports: Iterable[int] | None = None,
    resolver: Resolver | None = None,
    transport: httpx.BaseTransport | None = None,
) -> FetchedArticle:
    """Fetch ``url`` and extract its article; raise ``InputError``/``ProviderError`` in one line.

    ``allow_private=False`` guards every connection (public addresses, ``allowed_ports``, default
    80 and 443); ``resolver`` replaces the system's name lookup (``(host, port) -> addresses``).
    ``transport`` (tests) is used only with ``allow_private=True``: a guarded fetch always goes
    through the pinned connection, whatever transport a caller hands in.
    """
    url = _check_url(url)
    guard = _guard(allow_private, allowed_ports, resolver)
    deadline = time.monotonic() + timeout
    fetched_at = _now()
    with sync_client(guard, transport=transport if guard is None else None) as client:
        current = url
        for _hop in range(MAX_REDIRECTS + 1):
            _precheck(current, guard)
            try:
                with client.stream("GET", current, headers=_headers(agent), timeout=timeout) as response:
                    target = _redirect_target(response)
                    if target is None:
                        _check_head(response, url, max_bytes)
                        chunks = []
                        size = 0
                        for chunk in response.iter_bytes():
                            size = _account(size, len(chunk), url, max_bytes, deadline, timeout)
                            chunks.append(chunk)
                        page = (b"".join(chunks), response.charset_encoding, str(response.url))
            except BlockedAddress as exc:
                raise _blocked(current, exc) from None
            except httpx.HTTPError as exc:
                raise _transport_error(exc, url, timeout) from None
            if target is None:
                return _article(*page, url, fetched_at)
            current = target
    raise _too_many_redirects(url)


async def afetch_article(
    url: str,
    *,
    timeout: float = TIMEOUT,
    max_bytes: int = MAX_BYTES,
    agent: str | None = None,
    allow_private: bool = True,
    allowed_ports: Iterable[int] | None = None,
    resolver: Resolver | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> FetchedArticle:
    """``fetch_article`` for asyncio: the download awaits, the extraction runs in a worker thread,
    and the whole fetch, extraction included, answers within ``timeout``."""
    url = _check_url(url)
    guard = _guard(allow_private, allowed_ports, resolver)
    deadline = time.monotonic() + timeout
    fetched_at = _now()
    async with async_client(guard, transport=transport if guard is None else None) as client:
        current = url
        for _hop in range(MAX_REDIRECTS + 1):
            _precheck(current, guard)
            try:
                async with client.stream(
                    "GET", current, headers=_headers(agent), timeout=timeout
                ) as response:
                    target = _redirect_target(response)
                    if target is None:
                        _check_head(response, url, max_bytes)
                        chunks = []
                        size = 0
                        async for chunk in response.aiter_bytes():
                            size = _account(size, len(chunk), url, max_bytes, deadline, timeout)
                            chunks.append(chunk)
                        page = (b"".join(chunks), response.charset_encoding, str(response.url))
            except BlockedAddress as exc:
                raise _blocked(current, exc) from None
            except httpx.HTTPError as exc:
                raise _transport_error(exc, url, timeout) from None
            if target is None:
                # trafilatura is CPU work (lxml): keep it off the event loop, and within the deadline.
                work = asyncio.to_thread(_article, *page, url, fetched_at)
                try:
                    return await asyncio.wait_for(work, max(0.5, deadline - time.monotonic()))
                except TimeoutError:
                    raise InputError(
                        f"{url}: reading the article out of the page took longer than {timeout:g} s"
                    ) from None
            current = target
    raise _too_many_redirects(url)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _too_many_redirects(url: str) -> InputError:
    return InputError(
        f"{url}: more than {MAX_REDIRECTS} redirects; open it in a browser and pass the final URL"
    )


# --------------------------------------------------------------------------- the download


def _check_url(url: str) -> str:
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise InputError(f"{url!r} is not an http(s) URL")
    return url


def _redirect_target(response: httpx.Response) -> str | None:
    if not response.has_redirect_location:
        return None
    target = str(response.url.join(response.headers["location"]))
    if urlsplit(target).scheme.lower() not in ("http", "https"):
        raise InputError(f"{response.url}: redirects to {target!r}, which is not an http(s) URL")
    return target


def _check_head(response: httpx.Response, url: str, max_bytes: int) -> None:
    status = response.status_code
    if status >= 400:
        reason = response.reason_phrase or "error"
        where = url if str(response.url) == url else f"{url} (redirected to {response.url})"
        if status == 429 or status >= 500:
            raise ProviderError(f"{where}: the site answered HTTP {status} {reason}; try again later")
        hint = ""
        if status in (401, 402, 403, 451):
            hint = " (it may need a subscription or a login, or refuse automated readers: paste the article's text instead)"
        raise InputError(f"{where}: the site answered HTTP {status} {reason}{hint}")
    content_type = response.headers.get("content-type", "")
    media = content_type.split(";")[0].strip().lower()
    if media == "application/pdf":
        raise _pdf(url)
    if media not in _HTML_TYPES and media not in _SNIFFED_TYPES:
        raise InputError(
            f"{url} is not a web page: its content type is {media} (only HTML pages can be fetched; "
            "save the article's text to a file and pass that instead)"
        )
    length = response.headers.get("content-length", "")
    if length.isdigit() and int(length) > max_bytes:
        raise InputError(
            f"{url}: the page is too large ({int(length):,} bytes, over the {_size(max_bytes)} cap)"
        )


def _account(size: int, more: int, url: str, max_bytes: int, deadline: float, timeout: float) -> int:
    size += more
    if size > max_bytes:
        raise InputError(f"{url}: the page is too large (over the {_size(max_bytes)} cap)")
    if time.monotonic() > deadline:
        raise ProviderError(f"{url}: the site did not send the page within {timeout:g} s")
    return size


def _size(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB" if n >= 1024 * 1024 else f"{n / 1024:.0f} KB"


def _transport_error(exc: httpx.HTTPError, url: str, timeout: float) -> Exception:
    host = urlsplit(url).hostname or url
    if isinstance(exc, httpx.TimeoutException):
        return ProviderError(f"{url}: the site did not answer within {timeout:g} s")
    if isinstance(exc, httpx.ConnectError):
        return ProviderError(f"cannot connect to {host} to fetch {url} (is the address right?)")
    if isinstance(exc, httpx.InvalidURL | httpx.UnsupportedProtocol):
        return InputError(f"{url!r} is not a URL that can be fetched")
    if isinstance(exc, httpx.RemoteProtocolError):
        return ProviderError(f"{url}: the site broke off the connection")
    return ProviderError(f"{url}: the download failed ({type(exc).__name__})")


# --------------------------------------------------------------------------- inward addresses


def _guard(allow_private: bool, ports: Iterable[int] | None, resolver: Resolver | None) -> Guard | None:
    if allow_private:
        return None
    return Guard(resolver, frozenset(ports) if ports is not None else WEB_PORTS)


def _precheck(url: str, guard: Guard | None) -> None:
    """What can be refused before any connection: the port, and a host that is an address itself."""
    if guard is None:
        return
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        literal = literal_address(host)
        reason = inward_reason(literal) if literal is not None else None
        if reason is not None:
            raise BlockedAddress(host, reason)
        guard.check_port(host, parts.port or (443 if parts.scheme.lower() == "https" else 80))
    except BlockedAddress as exc:
        raise _blocked(url, exc) from None


def _blocked(url: str, exc: BlockedAddress) -> InputError:
    return InputError(f"{url}: {exc}; this service only fetches public pages")


# --------------------------------------------------------------------------- the article


def _article(data: bytes, charset: str | None, final_url: str, url: str, fetched_at: str) -> FetchedArticle:
    from trafilatura import html2txt, load_html

    from summarizer.inputs.charset import check_mojibake, decode_page, is_pdf
    from summarizer.inputs.extraction import MIN_ARTICLE_CHARS, clean_text, extract
    from summarizer.inputs.page_signals import not_article_signal, page_facts

    if not data.strip():
        raise InputError(f"{url}: the page is empty")
    if is_pdf(data):
        raise _pdf(url)
    decoded = decode_page(data, charset)
    tree = load_html(decoded.html)
    if tree is None:
        raise InputError(f"{url}: no article found on the page (it is not readable HTML)")
    facts = page_facts(tree, clean_text(html2txt(tree)))
    found = extract(tree, final_url)
    refusal = not_article_signal(found.text, facts)
    if refusal is not None:
        raise _refusal(url, *refusal, len(found.text))
    if len(found.text) < MIN_ARTICLE_CHARS:
        raise InputError(
            f"{url}: no article found on the page ({len(found.text)} characters of article text; "
            "a gallery, a video or a page that needs JavaScript?): paste the article's text instead"
        )
    text = found.text
    if found.title and not text.startswith(found.title):
        # The headline is part of what a reader reads (and what the model should know), but the
        # page keeps it outside the article body: put it first, as in an article text file.
        text = f"{found.title}\n\n{text}"
    check_mojibake(text, decoded.replaced, decoded.encoding, url)
    check_article(text, url)
    return FetchedArticle(
        url=final_url,
        title=found.title,
        author=found.author,
        date=found.date,
        text=text,
        sitename=found.sitename,
        requested_url=url,
        fetched_at=fetched_at,
    )


def _pdf(url: str) -> InputError:
    return InputError(
        f"{url} is a PDF document, not a web page: only HTML pages can be fetched; "
        "save the article's text to a file and pass that instead"
    )


def _refusal(url: str, kind: str, signal: str, chars: int) -> InputError:
    what = {
        "paywall": "only a paywall or sign-in notice could be read",
        "reprint": "only a reprint or licensing notice could be read",
        "home": "this is a home page or section front, not an article",
    }[kind]
    advice = "paste the article's text instead" if kind != "home" else "pass one article's URL"
    return InputError(f"{url}: {what} ({signal}; {chars} characters of article text): {advice}")

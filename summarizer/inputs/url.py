"""Article URLs: fetch a news page and reduce it to the article's text.

``fetch_article(url)`` (and ``afetch_article`` for asyncio) downloads the page with
httpx (a timeout, a streamed size cap, redirects followed, an honest User-Agent),
insists on HTML, and extracts the article with trafilatura: the body text without
navigation, ads, cookie banners, comments or footers, plus the title, author and
date when the page says them.

The text returned is the page's title, a blank line, then the article body (one
paragraph a line). It is exactly what gets summarized, so a summary's offsets refer
to ``FetchedArticle.text`` (``summarizer summarize URL --save-text FILE`` keeps it).

Every failure is one line: ``InputError`` when the page cannot be an article (not
HTML, a 4xx, too large, a paywall or sign-in stub, nothing article-like on it) and
``ProviderError`` when the site cannot be reached (timeout, refused, 5xx, 429).

A service that fetches URLs given by other people (the Slack bot) passes
``allow_private=False``: then every address a host resolves to, on every redirect
hop, must be a public one, so that a user cannot make the bot read internal services
(cloud metadata, intranet pages) and post what it found. The check resolves names
itself before connecting; a DNS answer that changes between that check and the
connection (rebinding) is not covered, so keep such a bot off networks where that
matters, or behind an egress proxy.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Any
from urllib.parse import urlsplit

import httpx

from summarizer.errors import InputError, ProviderError
from summarizer.inputs.files import check_article

MAX_BYTES = 5 * 1024 * 1024
TIMEOUT = 20.0
MAX_REDIRECTS = 10
# Below this many characters a page holds a teaser, a caption or a notice, not an article.
MIN_ARTICLE_CHARS = 200
# A paywall or sign-in stub is short: a teaser and a notice.
PAYWALL_MAX_CHARS = 1_500

_HTML_TYPES = ("text/html", "application/xhtml+xml")
_URL = re.compile(r"^https?://\S+$", re.IGNORECASE)

# In a short extracted text, any of these words means a notice rather than an article.
_PAYWALL_WORDS = re.compile(
    r"\b(subscribe|subscriber|subscription|sign[ -]?in|log[ -]?in|register|paywall|premium)\b",
    re.IGNORECASE,
)
# On a page with no article at all, only phrases this specific do.
_PAYWALL_PHRASES = re.compile(
    r"(subscribe (now )?to (continue|read|keep reading|unlock)|subscribers only|for subscribers|"
    r"already a subscriber|(sign|log) ?in to (continue|read|keep reading)|to continue reading|"
    r"create a free account to|become a member to|members only|paywall)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class FetchedArticle:
    """An article read from the web. Summaries of it have offsets into ``text``."""

    url: str  # the page's final address, after redirects
    title: str | None
    author: str | None
    date: str | None  # as the page gives it, normalized to YYYY-MM-DD where trafilatura can
    text: str
    sitename: str | None = None


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
    transport: httpx.BaseTransport | None = None,
) -> FetchedArticle:
    """Fetch ``url`` and extract its article; raise ``InputError``/``ProviderError`` in one line."""
    url = _check_url(url)
    deadline = time.monotonic() + timeout
    with httpx.Client(
        timeout=timeout, headers=_headers(agent), follow_redirects=False, transport=transport
    ) as client:
        current = url
        for _hop in range(MAX_REDIRECTS + 1):
            if not allow_private:
                _check_public(current, _resolve(current))
            try:
                with client.stream("GET", current) as response:
                    target = _redirect_target(response)
                    if target is None:
                        _check_head(response, url, max_bytes)
                        chunks = []
                        size = 0
                        for chunk in response.iter_bytes():
                            size = _account(size, len(chunk), url, max_bytes, deadline, timeout)
                            chunks.append(chunk)
                        return _extract(b"".join(chunks), response, url)
            except httpx.HTTPError as exc:
                raise _transport_error(exc, url, timeout) from None
            current = target
    raise InputError(
        f"{url}: more than {MAX_REDIRECTS} redirects; open it in a browser and pass the final URL"
    )


async def afetch_article(
    url: str,
    *,
    timeout: float = TIMEOUT,
    max_bytes: int = MAX_BYTES,
    agent: str | None = None,
    allow_private: bool = True,
    transport: httpx.AsyncBaseTransport | None = None,
) -> FetchedArticle:
    """``fetch_article`` for asyncio: the download awaits, the extraction runs in a worker thread."""
    url = _check_url(url)
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(
        timeout=timeout, headers=_headers(agent), follow_redirects=False, transport=transport
    ) as client:
        current = url
        for _hop in range(MAX_REDIRECTS + 1):
            if not allow_private:
                _check_public(current, await _aresolve(current))
            try:
                async with client.stream("GET", current) as response:
                    target = _redirect_target(response)
                    if target is None:
                        _check_head(response, url, max_bytes)
                        chunks = []
                        size = 0
                        async for chunk in response.aiter_bytes():
                            size = _account(size, len(chunk), url, max_bytes, deadline, timeout)
                            chunks.append(chunk)
                        data = b"".join(chunks)
                        # trafilatura is CPU work (lxml): keep it off the event loop.
                        return await asyncio.to_thread(_extract, data, response, url)
            except httpx.HTTPError as exc:
                raise _transport_error(exc, url, timeout) from None
            current = target
    raise InputError(
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
    if media and media not in _HTML_TYPES:
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


# --------------------------------------------------------------------------- private addresses


def _resolve(url: str) -> list[str]:
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        infos = socket.getaddrinfo(host, parts.port or 443, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise ProviderError(f"cannot resolve {host} to fetch {url} (is the address right?)") from None
    return [str(info[4][0]) for info in infos]


async def _aresolve(url: str) -> list[str]:
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, parts.port or 443, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise ProviderError(f"cannot resolve {host} to fetch {url} (is the address right?)") from None
    return [str(info[4][0]) for info in infos]


def _check_public(url: str, addresses: Iterable[str]) -> None:
    host = urlsplit(url).hostname or url
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if not ip.is_global:
            raise InputError(
                f"{url}: {host} is a private or local address ({ip}); this service only fetches public pages"
            )


# --------------------------------------------------------------------------- extraction


def _extract(data: bytes, response: httpx.Response, url: str) -> FetchedArticle:
    import trafilatura

    final_url = str(response.url)
    if not data.strip():
        raise InputError(f"{url}: the page is empty")
    html: str | bytes = data
    charset = response.charset_encoding
    if charset:
        try:
            html = data.decode(charset, errors="replace")
        except LookupError:  # an unknown charset name: let trafilatura detect it
            html = data
    document: Any = trafilatura.bare_extraction(
        html,
        url=final_url,
        with_metadata=True,
        include_comments=False,
        include_tables=False,
        include_images=False,
        include_links=False,
        favor_precision=True,
        deduplicate=False,
    )
    text = _clean(getattr(document, "text", None) or "") if document is not None else ""
    if len(text) < PAYWALL_MAX_CHARS and _PAYWALL_WORDS.search(text):
        raise _paywall(url, len(text))
    if len(text) < MIN_ARTICLE_CHARS:
        # trafilatura may drop a paywall notice as boilerplate: look at the page's whole text.
        page = _clean(trafilatura.html2txt(html) or "")
        if len(page) < PAYWALL_MAX_CHARS * 2 and _PAYWALL_PHRASES.search(page):
            raise _paywall(url, len(text))
        raise InputError(
            f"{url}: no article found on the page ({len(text)} characters of article text; "
            "a home page, a gallery or a page that needs JavaScript?): paste the article's text instead"
        )
    title = _field(document, "title")
    if title and not text.startswith(title):
        # The headline is part of what a reader reads (and what the model should know), but the
        # page keeps it outside the article body: put it first, as in an article text file.
        text = f"{title}\n\n{text}"
    check_article(text, url)
    return FetchedArticle(
        url=final_url,
        title=title,
        author=_field(document, "author"),
        date=_field(document, "date"),
        text=text,
        sitename=_field(document, "sitename"),
    )


def _paywall(url: str, chars: int) -> InputError:
    return InputError(
        f"{url}: only a paywall or sign-in notice could be read ({chars} characters of text): "
        "the article needs a subscription; paste its text instead"
    )


def _clean(text: str) -> str:
    """Trailing spaces off each line, at most one blank line in a row, no blank ends."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    cleaned: list[str] = []
    for line in lines:
        if not line and (not cleaned or not cleaned[-1]):
            continue
        cleaned.append(line)
    return "\n".join(cleaned).strip()


def _field(document: Any, name: str) -> str | None:
    value = getattr(document, name, None)
    return str(value).strip() or None if value else None

"""Reading what people type in Slack: links, mentions and Slack's escaping, and what they ask for.

Slack sends message text in its own markup: ``&``, ``<`` and ``>`` escaped as ``&amp;``,
``&lt;`` and ``&gt;``; links as ``<https://site/a?id=1&amp;ref=x|label>`` (or ``<url>``);
mentions as ``<@U123>``, ``<#C123|news>``, ``<!here>``, ``<!subteam^S123>``. Slash-command text
arrives as typed, so a link there may also be bare. (Format reference: Slack's "Formatting text
for app surfaces" and "Retrieving messages" docs.)

``read_request(text)`` decides what a request asks for, as a pure function:

- a link (in Slack's form or bare, anywhere in the text) with little else around it: that URL,
  its escaping undone (``/summarize tl;dr <url>`` summarizes the page, not "tl;dr");
- otherwise article-length text (``MIN_WORDS`` words or more, mentions not counted): that text;
- anything else is refused with a line saying why, before any model is called (``@W222 test``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

# Under this many words, text is a note, a question or a headline, not an article to summarize.
MIN_WORDS = 80

# Every markup token Slack writes: <...> never holds a raw "<" or ">" (those arrive escaped).
_TOKEN = re.compile(r"<([^<>\s][^<>]*)>")
_BARE_URL = re.compile(r"https?://[^\s<>\"'`|]+", re.IGNORECASE)
_LINK_SCHEMES = ("http://", "https://")
# Scripts written without spaces between words: each such character counts as half a word.
_UNSPACED = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")

USAGE = (
    "Give me an article to summarize: a link to a news page (`/summarize https://…`) "
    f"or the article's text (at least {MIN_WORDS} words)."
)


@dataclass(frozen=True)
class Request:
    """What a message asks for: exactly one of ``url``, ``text`` or ``refusal`` is set."""

    url: str | None = None
    text: str | None = None
    refusal: str | None = None


def unescape(text: str) -> str:
    """Undo Slack's three escapes (``&lt;`` and ``&gt;`` first, so ``&amp;lt;`` stays ``&lt;``)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _trim_url(url: str) -> str:
    """A bare URL without the sentence punctuation that follows it: ``(see https://a/b).``"""
    while url and url[-1] in ".,;:!?'\"":
        url = url[:-1]
    while url.endswith(")") and url.count(")") > url.count("("):
        url = url[:-1]
    return url


@dataclass(frozen=True)
class _Parsed:
    links: list[str]  # in order of appearance, each once, escaping undone
    prose: str  # the text without mentions and without links
    plain: str  # the text as a reader sees it: links by their label or address, no mentions


def _parse(raw: str) -> _Parsed:
    links: list[str] = []
    prose: list[str] = []
    plain: list[str] = []

    def add_link(url: str) -> None:
        if url and url not in links:
            links.append(url)

    def outside(segment: str) -> None:
        text = unescape(segment)
        at = 0
        for match in _BARE_URL.finditer(text):
            url = _trim_url(match.group(0))
            prose.append(text[at : match.start()])
            plain.append(text[at : match.start()] + url)
            add_link(url)
            at = match.start() + len(url)
        prose.append(text[at:])
        plain.append(text[at:])

    at = 0
    for token in _TOKEN.finditer(raw):
        outside(raw[at : token.start()])
        at = token.end()
        body = token.group(1)
        target, _, label = body.partition("|")
        if target.lower().startswith(_LINK_SCHEMES):
            url = unescape(target)
            add_link(url)
            plain.append(unescape(label) or url)
            prose.append(" ")
        elif target[:1] in "@#!":
            # Mentions, channel links and special commands are who and where, not article text.
            prose.append(" ")
            plain.append(" ")
        else:  # mailto: and other links: their label is text
            text = unescape(label or target)
            prose.append(text)
            plain.append(text)
    outside(raw[at:])
    return _Parsed(links, _squeeze("".join(prose)), _squeeze("".join(plain)))


def _squeeze(text: str) -> str:
    """Spaces within lines collapsed, lines kept (an article's paragraphs matter), ends trimmed."""
    lines = [" ".join(line.split()) for line in text.replace("\r\n", "\n").split("\n")]
    out: list[str] = []
    for line in lines:
        if not line and (not out or not out[-1]):
            continue
        out.append(line)
    return "\n".join(out).strip()


def word_count(text: str) -> int:
    unspaced = len(_UNSPACED.findall(text))
    return len(_UNSPACED.sub(" ", text).split()) + unspaced // 2


def find_links(raw: str) -> list[str]:
    """Every http(s) link in Slack text, in order, each once, with Slack's escaping undone."""
    return _parse(raw).links


def plain_text(raw: str) -> str:
    """Slack text as a reader sees it: links by their label, mentions dropped, escapes undone."""
    return _parse(raw).plain


def read_request(
    raw: str, *, extra_links: Iterable[str] = (), min_words: int = MIN_WORDS, what: str = "That"
) -> Request:
    """What ``raw`` (Slack-formatted text) asks to summarize; ``extra_links`` are links Slack
    attached to the message (unfurls), used when the text holds none. ``what`` names the input in
    a refusal ("That message")."""
    parsed = _parse(raw)
    links = parsed.links or [link for link in extra_links if link.lower().startswith(_LINK_SCHEMES)]
    if links and word_count(parsed.prose) < min_words:
        return Request(url=links[0])
    words = word_count(parsed.plain)
    if words >= min_words:
        return Request(text=parsed.plain)
    if words == 0:
        return Request(refusal=USAGE)
    noun = "word" if words == 1 else "words"
    return Request(
        refusal=(
            f"{what} is {words} {noun} and no link: I summarize news articles, so send me a link "
            f"to one, or its text (at least {min_words} words)."
        )
    )


def domain_allowed(url: str, domains: Sequence[str]) -> bool:
    """True when ``url``'s host is one of ``domains`` or a subdomain of one (``www.apnews.com``
    for ``apnews.com``); never for a look-alike (``notapnews.com``)."""
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    if not host:
        return False
    for domain in domains:
        domain = domain.strip().lower().lstrip(".").rstrip(".")
        if domain and (host == domain or host.endswith("." + domain)):
            return True
    return False

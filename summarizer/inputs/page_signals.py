"""What a page that is not an article looks like: a paywall teaser, a reprint stub, a home page.

Each check names the signal that fired, so that the one-line refusal says why. They are pure
functions of the extracted article text and a few facts about the whole page, and they only look
at pages whose article text is short: a full article on a site with a subscribe button is an
article.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from lxml.html import HtmlElement

# A paywall, sign-in or reprint notice is short: a teaser and a notice.
SHORT_TEXT = 1_500
# With the publisher saying the article is not free, a teaser may run to a few paragraphs.
NOT_FREE_TEXT = 2_500
# A home page: many links and text that is mostly their labels.
HOME_MIN_LINKS = 30
HOME_LINK_SHARE = 0.5
HOME_CHARS_PER_LINK = 40

_PAYWALL_PHRASES = re.compile(
    r"(subscribe (now |today )?to (continue|read|keep reading|unlock|access)|subscribers? only|"
    r"for (paid |digital )?subscribers|already an? (subscriber|member)|"
    r"(sign|log) ?in to (continue|read|keep reading|access)|to (continue|keep) reading|"
    r"create an? (free )?account to|register (for free )?to (continue|read|keep reading)|"
    r"become a (member|subscriber) to|members only|paywall|"
    r"you have reached your (free )?(article |story )?limit|free articles? (left|remaining))",
    re.IGNORECASE,
)
_REPRINT = re.compile(
    r"(personal,? non-?commercial use only|presentation-ready copies|order (multiple|reprint) copies|"
    r"\breprints?\b.{0,40}\b(licens|permission|order|request)|licensing (request|department|terms))",
    re.IGNORECASE,
)
_NOT_FREE = re.compile(r"""["']?isAccessibleForFree["']?\s*:\s*["']?(false|no)\b""", re.IGNORECASE)


@dataclass(frozen=True)
class PageFacts:
    """What the checks need from the whole page, beyond the extracted article text."""

    page_text: str  # all the page's visible text
    scripts: str  # the page's inline scripts (a script-drawn wall keeps its words there)
    link_labels: frozenset[str]
    links: int
    not_free: bool  # the page's JSON-LD (or microdata) says isAccessibleForFree: false


def page_facts(tree: HtmlElement, page_text: str) -> PageFacts:
    labels = [" ".join(a.text_content().split()) for a in tree.iter("a") if a.get("href")]
    not_free = any(_NOT_FREE.search(s.text or "") for s in _json_ld(tree)) or any(
        (m.get("content") or "").strip().lower() == "false"
        for m in tree.iter("meta")
        if (m.get("itemprop") or "").lower() == "isaccessibleforfree"
    )
    return PageFacts(
        page_text=page_text,
        scripts="\n".join(s.text or "" for s in tree.iter("script")),
        link_labels=frozenset(label for label in labels if label),
        links=len(labels),
        not_free=not_free,
    )


def _json_ld(tree: HtmlElement) -> list[HtmlElement]:
    return [s for s in tree.iter("script") if (s.get("type") or "").lower() == "application/ld+json"]


def not_article_signal(text: str, facts: PageFacts) -> tuple[str, str] | None:
    """(kind, signal) when the page is a paywall, a reprint stub or a home page, else None."""
    if len(text) < SHORT_TEXT:
        for where, haystack in (
            ("article text", text),
            ("page", facts.page_text),
            ("script on the page", facts.scripts),
        ):
            match = _PAYWALL_PHRASES.search(haystack)
            if match:
                return "paywall", f"the {where} says {_quoted(match.group(0))}"
        match = _REPRINT.search(text)
        if match:
            return "reprint", f"the text is a reprint/licensing notice ({_quoted(match.group(0))})"
    if len(text) < NOT_FREE_TEXT and facts.not_free:
        return "paywall", "the page's structured data says isAccessibleForFree: false"
    home = _home_page_signal(text, facts)
    if home:
        return "home", home
    return None


def _home_page_signal(text: str, facts: PageFacts) -> str | None:
    if facts.links < HOME_MIN_LINKS:
        return None
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    in_links = sum(len(line) for line in lines if line in facts.link_labels)
    share = in_links / max(1, sum(map(len, lines)))
    if share >= HOME_LINK_SHARE:
        return f"{share:.0%} of its text is the labels of its {facts.links} links"
    per_link = len(text) / facts.links
    if per_link < HOME_CHARS_PER_LINK:
        return f"{facts.links} links and only {len(text)} characters of prose"
    return None


def _quoted(phrase: str) -> str:
    return json.dumps(" ".join(phrase.split()).lower(), ensure_ascii=False)

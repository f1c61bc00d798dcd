"""A decoded news page reduced to its article (trafilatura) and its metadata.

What trafilatura is asked for, and why:
- Layout tables (a table whose cells hold paragraphs and headings, or a one-column table: how
  many older sites lay out a page) are turned into plain blocks first; data tables are kept (``include_tables``). Dropping
  tables lost whole articles; keeping layout tables as tables ran the article into one line.
- A first pass favours precision; when it finds less than ``MIN_ARTICLE_CHARS``, a second, balanced
  pass is tried and the longer text kept (some articles are all "uncertain" to the precise pass).
- Dates in htmldate's fast mode (``extensive_search=False``): its extensive mode hands every short
  text fragment that looks date-like (a month name and a small number: "Lot 17, Mill Road, May
  auction") to dateparser, milliseconds each, which made extraction of some pages take minutes.
  Fast mode reads the markup, JSON-LD, URL and time elements, where a news page states its date.
- The title loses a site-name suffix ("... | Reuters", "... - TechCrunch"): it opens the text
  that is summarized, and the site is recorded separately.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from lxml.html import HtmlElement

# Below this many characters a page holds a teaser, a caption or a notice, not an article.
MIN_ARTICLE_CHARS = 200

_LAYOUT_CONTENT = ".//p|.//h1|.//h2|.//h3|.//article|.//blockquote|.//table"
_TABLE_PARTS = ("table", "thead", "tbody", "tfoot", "tr", "td", "th", "caption")
_SUFFIX_SEPARATORS = re.compile(r"\s+(?:[|·•:\u2013\u2014-]|::)\s+")


@dataclass(frozen=True)
class Extracted:
    text: str  # the body, one paragraph a line (no title)
    title: str | None
    author: str | None
    date: str | None
    sitename: str | None


def unwrap_layout_tables(tree: HtmlElement) -> int:
    """Turn tables used for page layout into plain blocks, in place; return how many."""
    count = 0
    for table in list(tree.iter("table")):
        if table.getparent() is None or table.tag != "table":
            continue  # already unwrapped as part of an outer layout table
        single_column = all(len(row.xpath("./td|./th")) <= 1 for row in table.iter("tr"))
        if not single_column and not table.xpath(_LAYOUT_CONTENT):
            continue  # a data table: keep it a table
        for part in [table, *table.iter(*_TABLE_PARTS)]:
            part.tag = "div"
        count += 1
    return count


def extract(tree: HtmlElement, url: str) -> Extracted:
    """The article in ``tree`` (a parsed page; it is modified): two passes, bounded date search."""
    import trafilatura

    unwrap_layout_tables(tree)
    date_params = {
        "extensive_search": False,
        "original_date": True,
        "max_date": datetime.now(UTC).strftime("%Y-%m-%d"),
    }

    def run(precise: bool) -> Any:
        return trafilatura.bare_extraction(
            tree,
            url=url,
            with_metadata=True,
            include_comments=False,
            include_tables=True,
            include_images=False,
            include_links=False,
            favor_precision=precise,
            deduplicate=False,
            date_extraction_params=date_params,
        )

    document = run(precise=True)
    text = clean_text(getattr(document, "text", None) or "")
    if len(text) < MIN_ARTICLE_CHARS:
        second = run(precise=False)
        second_text = clean_text(getattr(second, "text", None) or "")
        if len(second_text) > len(text):
            document, text = second, second_text
    sitename = _field(document, "sitename")
    return Extracted(
        text=text,
        title=clean_title(_field(document, "title"), sitename, url),
        author=_field(document, "author"),
        date=_field(document, "date"),
        sitename=sitename,
    )


def clean_title(title: str | None, sitename: str | None, url: str) -> str | None:
    """``title`` without a trailing (or leading) site name: "Storm hits coast | Reuters" -> "Storm hits coast"."""
    if not title:
        return title
    names = {_squash(sitename or "")}
    host = (urlsplit(url).hostname or "").removeprefix("www.")
    names |= {_squash(host), _squash(host.split(".")[0])}
    names.discard("")
    parts = _SUFFIX_SEPARATORS.split(title)
    if len(parts) < 2:
        return title
    separators = _SUFFIX_SEPARATORS.findall(title)
    if _is_site(parts[-1], names):
        return "".join(p + s for p, s in zip(parts[:-2], separators[:-1], strict=False)) + parts[-2]
    if _is_site(parts[0], names):
        return title[len(parts[0]) + len(separators[0]) :]
    return title


def _is_site(part: str, names: set[str]) -> bool:
    squashed = _squash(part)
    return bool(squashed) and any(
        squashed == name or (len(name) >= 5 and squashed.startswith(name))  # "Reuters.com", "X Online"
        for name in names
    )


def _squash(text: str) -> str:
    """Lowercase letters and digits only ("The Daily Ledger" -> "thedailyledger"), without a leading "the"."""
    squashed = re.sub(r"[\W_]+", "", text.lower())
    return squashed.removeprefix("the") if len(squashed) > 6 else squashed


def clean_text(text: str) -> str:
    """Trailing spaces off each line, at most one blank line in a row, no blank ends."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    cleaned: list[str] = []
    for line in lines:
        if not line and (not cleaned or not cleaned[-1]):
            continue
        cleaned.append(line)
    return "\n".join(cleaned).strip()


def _field(document: Any, name: str) -> str | None:
    value = getattr(document, name, None) if document is not None else None
    return str(value).strip() or None if value else None

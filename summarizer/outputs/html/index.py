"""An index page over many review pages (a batch's articles, a check's cases), and their names."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from summarizer.errors import InputError
from summarizer.outputs.html.assets import head
from summarizer.outputs.html.markup import attr, text

INDEX = "index.html"


def page_name(item_id: str) -> str:
    """A file name for an item's page: readable, safe on any filesystem, unique per id.

    Ids are arbitrary strings (a JSONL's ``id``, a path like ``world/2026/story``): the slug keeps
    them recognisable and the hash keeps two ids that slug alike apart.
    """
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", item_id).strip("-")[:60] or "item"
    return f"{slug}-{hashlib.sha256(item_id.encode('utf-8')).hexdigest()[:8]}.html"


def make_directory(directory: Path) -> None:
    """Create the folder pages go to (and its parents), or refuse in one line; before any work."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot write pages to {directory}: {exc.strerror or exc}") from None


@dataclass(frozen=True)
class Cell:
    text: str
    href: str | None = None  # a page name we made (never a URL from the input)
    problem: bool = False  # shown as a problem (a failure, a missing claim)


def render_index(
    title: str, summary_line: str, columns: Sequence[str], rows: Sequence[Sequence[Cell]]
) -> str:
    """A page with one table row per item; every cell's text is escaped."""
    head_row = "".join(f'<th scope="col">{text(c)}</th>' for c in columns)
    body_rows = []
    for row in rows:
        cells = []
        for cell in row:
            content = text(cell.text)
            if cell.href is not None:
                content = f'<a href="{attr(cell.href)}">{content}</a>'
            cells.append(f'<td class="problem">{content}</td>' if cell.problem else f"<td>{content}</td>")
        body_rows.append(f"<tr>{''.join(cells)}</tr>")
    table = (
        f'<table class="side index"><caption class="visually-hidden">{text(title)}</caption>'
        f"<thead><tr>{head_row}</tr></thead><tbody>{''.join(body_rows)}</tbody></table>"
    )
    empty = '<p class="muted">Nothing here yet.</p>' if not rows else ""
    return (
        f'<!DOCTYPE html>\n<html lang="en">\n{head(title, with_script=False)}\n<body>\n'
        f'<header role="banner"><p class="kicker">Summary review</p><h1>{text(title)}</h1>'
        f'<p class="counts">{text(summary_line)}</p></header>\n'
        f'<main id="text" aria-labelledby="list-h"><h2 id="list-h">Pages</h2>{table}{empty}</main>\n'
        "</body>\n</html>\n"
    )

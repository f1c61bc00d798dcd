"""Article text as HTML with overlapping spans marked, every text piece escaped.

Spans (claim evidence, its fragments, entity mentions) may overlap in any way: two claims quoting
overlapping passages, a mention straddling the end of a quote. HTML elements must nest, so the
markup is built from the sorted boundaries of every span: the text is cut at each start and end,
and each piece is wrapped in the spans that cover it, outermost (earliest start, latest end)
first. Where a span cannot stay open across a boundary (something opened inside it ends there
while it goes on), it is closed and reopened, so one span may become several elements; every
element carries its span's ``data-*`` key, and the pieces of a span tile its range exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape
from itertools import pairwise


def attr(value: object) -> str:
    """A value safe inside a double-quoted attribute (quotes, ``<``, ``>`` and ``&`` escaped)."""
    return escape(str(value), quote=True)


def text(value: object) -> str:
    """A value safe as element content."""
    return escape(str(value), quote=False)


@dataclass(frozen=True)
class Mark:
    """One span to mark: ``[start:end]`` of the text, the element that wraps it.

    ``attrs`` are trusted attribute names with untrusted values (escaped here). ``first_attrs``
    go on the span's first element only (an ``id`` for links to land on). ``rank`` orders spans
    with the same range (lower is outer).
    """

    start: int
    end: int
    tag: str
    attrs: tuple[tuple[str, str], ...] = ()
    first_attrs: tuple[tuple[str, str], ...] = ()
    rank: int = 0
    after: str = field(default="", compare=False)  # trusted markup placed right after the span's end

    def open_tag(self, first: bool) -> str:
        pairs = (*self.attrs, *(self.first_attrs if first else ()))
        rendered = "".join(f' {name}="{attr(value)}"' for name, value in pairs)
        return f"<{self.tag}{rendered}>"


def _order(mark: Mark) -> tuple[int, int, int]:
    return (mark.start, -mark.end, mark.rank)


def mark_up(article: str, marks: Sequence[Mark]) -> str:
    """``article`` escaped, with each mark's range wrapped in its element.

    Marks outside the text or empty are ignored (a summary checked against another text must
    not break the page). Line breaks stay in the text; the page shows them with ``pre-wrap``.
    """
    valid = sorted((m for m in marks if 0 <= m.start < m.end <= len(article)), key=_order)
    cuts = sorted({0, len(article), *(m.start for m in valid), *(m.end for m in valid)})
    out: list[str] = []
    open_stack: list[Mark] = []
    opened: set[int] = set()  # ids of marks whose first element has been written
    active: list[Mark] = []
    upcoming = 0
    for a, b in pairwise(cuts):
        active = [m for m in active if m.end > a]
        while upcoming < len(valid) and valid[upcoming].start <= a:
            if valid[upcoming].end > a:
                active.append(valid[upcoming])
            upcoming += 1
        desired = sorted(active, key=_order)
        keep = 0
        while keep < len(open_stack) and keep < len(desired) and open_stack[keep] is desired[keep]:
            keep += 1
        for mark in reversed(open_stack[keep:]):
            out.append(f"</{mark.tag}>")
        del open_stack[keep:]
        for mark in desired[keep:]:
            out.append(mark.open_tag(first=id(mark) not in opened))
            opened.add(id(mark))
            open_stack.append(mark)
        out.append(text(article[a:b]))
        # Close what ends here now, innermost first, so that a span's trailing note sits right
        # after it; whatever still goes on is reopened by the next piece.
        ending = [m for m in open_stack if m.end == b]
        if ending:
            depth = open_stack.index(ending[0])
            for mark in reversed(open_stack[depth:]):
                out.append(f"</{mark.tag}>")
                if mark.end == b:
                    out.append(mark.after)
            del open_stack[depth:]
    for mark in reversed(open_stack):
        out.append(f"</{mark.tag}>")
    return "".join(out)

"""Dropped claims, read back from ``meta.warnings``.

A claim the resolver could not keep exists only as a warning line, written by
``extract.resolve`` as ``dropped claim 'STATEMENT': REASON`` (REASON ending in the model's quote,
``: 'QUOTE'``, when the quote was not found), with ``chunk N of M: `` in front for a long
article. Statements and quotes are Python reprs there (shortened to 70 characters by the
resolver), so they are read back with ``ast.literal_eval``, never ``eval``. A line that says
"dropped claim" but does not parse is still listed, whole, so nothing dropped goes unseen.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

_REPR = r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\""
_DROPPED = re.compile(
    rf"^(?:chunk (?P<chunk>\d+ of \d+): )?dropped claim (?P<statement>{_REPR}): (?P<reason>.*)$", re.S
)
_QUOTED_TAIL = re.compile(rf"^(?P<why>.*?): (?P<quote>{_REPR})$", re.S)


@dataclass(frozen=True)
class DroppedClaim:
    statement: str
    reason: str
    quote: str | None = None
    chunk: str | None = None  # "2 of 5" for a long article
    warning: str = ""  # the warning line it was read from


def _literal(source: str) -> str | None:
    try:
        value = ast.literal_eval(source)
    except (ValueError, SyntaxError):
        return None
    return value if isinstance(value, str) else None


def parse_dropped(warning: str) -> DroppedClaim | None:
    """The dropped claim a warning line reports, or None when it reports something else."""
    if "dropped claim" not in warning:
        return None
    match = _DROPPED.match(warning)
    statement = _literal(match["statement"]) if match else None
    if match is None or statement is None:
        return DroppedClaim(statement="", reason=warning, warning=warning)
    reason, quote = match["reason"], None
    tail = _QUOTED_TAIL.match(reason)
    if tail is not None and (quoted := _literal(tail["quote"])) is not None:
        reason, quote = tail["why"], quoted
    return DroppedClaim(
        statement=statement, reason=reason, quote=quote, chunk=match["chunk"], warning=warning
    )


def dropped_claims(warnings: list[str]) -> list[DroppedClaim]:
    return [d for d in map(parse_dropped, warnings) if d is not None]

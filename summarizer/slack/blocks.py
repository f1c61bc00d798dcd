"""Present a ``Summary`` in Slack: Block Kit blocks, a short fallback text, and plain mrkdwn.

``summary_blocks(summary)`` always returns blocks that Slack accepts, whatever the
summary holds: at most 50 blocks, a header of at most 150 characters, sections of
at most 3,000. Long lists are cut to their first items with an "and N more" line,
long texts end in "…". ``validate_blocks(blocks)`` checks those documented limits
and returns what breaks them (empty when none does), for tests and for anyone
building their own blocks.

Text from the article (statements, quotes, names) is escaped the way Slack asks
(``&``, ``<``, ``>``), so an article cannot ping ``@channel`` or forge a link.
Lengths are counted in UTF-16 code units, never fewer than Python's characters,
so an emoji-heavy text stays under Slack's limits however Slack counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from summarizer.outputs.provenance import provenance_parts, source_address
from summarizer.schema import Claim, Source, Summary

MAX_BLOCKS = 50
MAX_HEADER = 150
MAX_TEXT = 3000
MAX_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_CONTEXT_ELEMENTS = 10
MAX_BLOCK_ID = 255
MAX_MESSAGE_TEXT = 40_000

# How much of a summary a message shows: enough to read at a glance, well inside the limits.
MAX_CLAIMS = 8
MAX_SOURCES = 12
MAX_ENTITIES = 12
MAX_WARNINGS = 5
MAX_STATEMENT = 600
MAX_QUOTE = 400
MAX_ABSTRACT = MAX_TEXT
MAX_FALLBACK = 300

ELLIPSIS = "…"

Block = dict[str, Any]


# --------------------------------------------------------------------------- text helpers


def escape(text: str) -> str:
    """Slack's three control characters, escaped (mrkdwn and the message ``text``)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_len(text: str) -> int:
    """Length in UTF-16 code units: an upper bound on any way Slack counts characters."""
    return len(text.encode("utf-16-le")) // 2


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` (with "…" at the end when cut)."""
    if slack_len(text) <= limit:
        return text
    low, high = 0, len(text)
    while low < high:  # the longest prefix that fits with the ellipsis
        mid = (low + high + 1) // 2
        if slack_len(text[:mid].rstrip() + ELLIPSIS) <= limit:
            low = mid
        else:
            high = mid - 1
    return text[:low].rstrip() + ELLIPSIS


def clip_escaped(text: str, limit: int) -> str:
    """``escape(text)`` within ``limit``, cut in the raw text so no ``&amp;`` is broken in half."""
    escaped = escape(text)
    if slack_len(escaped) <= limit:
        return escaped
    low, high = 0, len(text)
    while low < high:
        mid = (low + high + 1) // 2
        if slack_len(escape(text[:mid].rstrip()) + ELLIPSIS) <= limit:
            low = mid
        else:
            high = mid - 1
    return escape(text[:low].rstrip()) + ELLIPSIS


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _mrkdwn(text: str) -> dict[str, str]:
    return {"type": "mrkdwn", "text": text}


def _section(text: str) -> Block:
    return {"type": "section", "text": _mrkdwn(text)}


def _context(*texts: str) -> Block:
    return {"type": "context", "elements": [_mrkdwn(t) for t in texts if t][:MAX_CONTEXT_ELEMENTS]}


def _more(count: int, noun: str, plural: str | None = None) -> str:
    return f"_…and {count} more {noun if count == 1 else plural or noun + 's'}_"


def _quote_lines(text: str) -> str:
    """mrkdwn block quote: every line starts with "> " (Slack quotes line by line)."""
    return "\n".join(f"> {line}" if line else ">" for line in text.split("\n"))


def _attribution(claim: Claim) -> str:
    return claim.attribution.value.replace("_", " ")


# --------------------------------------------------------------------------- blocks


def summary_blocks(
    summary: Summary,
    *,
    source_url: str | None = None,
    requested_by: str | None = None,
    max_claims: int = MAX_CLAIMS,
) -> list[Block]:
    """The summary as Block Kit blocks, within Slack's limits for any summary.

    ``source_url`` (the article's address) and ``requested_by`` (a Slack user id) add
    a context line; ``max_claims`` is how many claims are shown (the rest are counted).
    """
    sources = {s.id: s for s in summary.sources}
    blocks: list[Block] = [
        {
            "type": "header",
            "text": {
                "type": "plain_text",
                "text": clip(_one_line(summary.headline) or "Summary", MAX_HEADER),
                "emoji": False,
            },
        }
    ]
    origin = []
    source_url = source_url or source_address(summary.provenance)
    if source_url and "://" in source_url:
        origin.append(f"<{_link_target(source_url)}|{clip_escaped(_short_url(source_url), 200)}>")
    origin += [clip_escaped(part, 100) for part in provenance_parts(summary.provenance, technical=False)]
    if requested_by:
        origin.append(f"requested by <@{_slack_id(requested_by)}>")
    if origin:
        blocks.append(_context(" · ".join(origin)))
    if summary.abstract.strip():
        blocks.append(_section(clip_escaped(summary.abstract.strip(), MAX_ABSTRACT)))

    blocks += _claim_blocks(summary.claims, sources, max(0, min(max_claims, 30)))
    blocks += _source_blocks(summary.sources)
    blocks += _entity_blocks(summary)
    blocks += _warning_blocks(summary)
    footer = _footer(summary)
    if footer:
        blocks.append(_context(footer))
    return _fit(blocks)


def _claim_blocks(claims: Sequence[Claim], sources: dict[str, Source], shown: int) -> list[Block]:
    if not claims:
        return []
    blocks: list[Block] = [{"type": "divider"}, _section(f"*Key claims* ({len(claims)})")]
    for number, claim in enumerate(claims[:shown], start=1):
        blocks.append(_section(_claim_text(number, claim, sources)))
    if len(claims) > shown:
        blocks.append(_context(_more(len(claims) - shown, "claim")))
    return blocks


def _claim_text(number: int, claim: Claim, sources: dict[str, Source]) -> str:
    source = sources.get(claim.source_id) if claim.source_id else None
    if source is None:
        by = "the article itself"
    else:
        by = f"*{clip_escaped(_one_line(source.name), 200)}*"
        if source.anonymous:
            by += " _(anonymous)_"
    hedge = "  :grey_question: _hedged_" if claim.hedged else ""
    statement = clip_escaped(_one_line(claim.statement), MAX_STATEMENT)
    quote = clip_escaped(claim.evidence.text.strip(), MAX_QUOTE)
    text = f"*{number}.* {statement}{hedge}\n— {by}, {_attribution(claim)}\n{_quote_lines(f'“{quote}”')}"
    return clip(text, MAX_TEXT)  # cannot happen with the caps above; kept as a guarantee


def _listing(head: str, items: Sequence[str], noun: str, plural: str, *, most: int, sep: str) -> str:
    """``head`` then as many whole ``items`` as fit in a section (at most ``most``), then "and N more"."""
    room = MAX_TEXT - slack_len(sep + _more(10**6, noun, plural))
    text, shown = head, 0
    for item in items[:most]:
        candidate = text + (sep if shown else "") + item
        if slack_len(candidate) > room:
            break
        text, shown = candidate, shown + 1
    if shown < len(items):
        text += (sep if shown else "") + _more(len(items) - shown, noun, plural)
    return text


def _source_blocks(all_sources: Sequence[Source]) -> list[Block]:
    if not all_sources:
        return []
    lines = []
    for source in all_sources[:MAX_SOURCES]:
        name = clip_escaped(_one_line(source.name), 150)
        anonymous = " _(anonymous)_" if source.anonymous else ""
        described = clip_escaped(_one_line(source.description), 150) if source.description else ""
        lines.append(f"• *{name}*{anonymous} — {source.kind.value}" + (f": {described}" if described else ""))
    lines += [""] * (len(all_sources) - len(lines))  # counted, never shown
    text = _listing(
        f"*Sources* ({len(all_sources)})\n", lines, "source", "sources", most=MAX_SOURCES, sep="\n"
    )
    return [{"type": "divider"}, _section(text)]


def main_entities(summary: Summary) -> list[Any]:
    """Entities by how often the article mentions them (most first; ties keep the summary's order)."""
    return sorted(summary.entities, key=lambda e: -len(e.mentions))


def _entity_blocks(summary: Summary) -> list[Block]:
    if not summary.entities:
        return []
    names = [
        f"{clip_escaped(_one_line(e.name), 100)} ({e.type.value}, {len(e.mentions)}×)"
        for e in main_entities(summary)
    ]
    return [_section(_listing("*Main entities*: ", names, "entity", "entities", most=MAX_ENTITIES, sep=", "))]


def _warning_blocks(summary: Summary) -> list[Block]:
    warnings = summary.meta.warnings if summary.meta else []
    if not warnings:
        return []
    shown = [f":warning: {clip_escaped(_one_line(w), 300)}" for w in warnings[:MAX_WARNINGS]]
    if len(warnings) > MAX_WARNINGS:
        shown.append(_more(len(warnings) - MAX_WARNINGS, "warning"))
    return [_context(*shown)]


def _footer(summary: Summary) -> str:
    if summary.meta is None:
        return ""
    meta = summary.meta
    parts = [
        clip_escaped(meta.model, 100),
        f"{len(summary.claims)} claims",
        f"{len(summary.sources)} sources",
    ]
    if meta.cached:
        parts.append("from cache")
    elif meta.duration_s:
        parts.append(f"{meta.duration_s:.1f} s")
    return clip(" · ".join(parts), MAX_TEXT)


def _fit(blocks: list[Block]) -> list[Block]:
    """At most ``MAX_BLOCKS``: drop claim sections from the end if it ever came to that."""
    if len(blocks) <= MAX_BLOCKS:
        return blocks
    kept = blocks[: MAX_BLOCKS - 1]
    kept.append(_context(f"_…{len(blocks) - len(kept)} more blocks not shown_"))
    return kept


def _short_url(url: str) -> str:
    short = url.split("://", 1)[-1]
    return short if len(short) <= 80 else short[:79] + ELLIPSIS


def _link_target(url: str) -> str:
    # Inside <url|label>, "|" and ">" would end the link early.
    return url.replace("|", "%7C").replace(">", "%3E").replace("<", "%3C").replace(" ", "%20")


def _slack_id(value: str) -> str:
    return "".join(ch for ch in value if ch.isalnum()) or "unknown"


# --------------------------------------------------------------------------- text forms


def fallback_text(summary: Summary) -> str:
    """The message's ``text`` when it has blocks: what notifications and screen readers show."""
    return clip_escaped(f"Summary: {_one_line(summary.headline)}", MAX_FALLBACK)


def to_mrkdwn(summary: Summary, *, max_chars: int = MAX_MESSAGE_TEXT) -> str:
    """The whole summary as one mrkdwn text (for clients that want text, not blocks)."""
    sources = {s.id: s for s in summary.sources}
    parts = [f"*{escape(_one_line(summary.headline))}*", escape(summary.abstract.strip())]
    if summary.claims:
        lines = [f"*Key claims* ({len(summary.claims)})"]
        for number, claim in enumerate(summary.claims, start=1):
            source = sources.get(claim.source_id) if claim.source_id else None
            by = escape(source.name) if source else "the article itself"
            if source is not None and source.anonymous:
                by += " (anonymous)"
            hedge = " _(hedged)_" if claim.hedged else ""
            lines.append(
                f"{number}. {escape(_one_line(claim.statement))}{hedge} — {by}, {_attribution(claim)}"
            )
            lines.append(_quote_lines(f"“{escape(claim.evidence.text.strip())}”"))
        parts.append("\n".join(lines))
    if summary.sources:
        lines = [f"*Sources* ({len(summary.sources)})"]
        for source in summary.sources:
            anonymous = " (anonymous)" if source.anonymous else ""
            lines.append(f"• {escape(source.name)}{anonymous} — {source.kind.value}")
        parts.append("\n".join(lines))
    if summary.entities:
        names = ", ".join(escape(e.name) for e in main_entities(summary))
        parts.append(f"*Entities*: {names}")
    if summary.meta and summary.meta.warnings:
        parts.append("\n".join(f":warning: {escape(_one_line(w))}" for w in summary.meta.warnings))
    text = "\n\n".join(p for p in parts if p)
    return text if slack_len(text) <= max_chars else _clip_at_line(text, max_chars)


def _clip_at_line(text: str, limit: int) -> str:
    """Whole lines that fit, then a note: no escape sequence or quote is cut in half."""
    note = "\n_…(cut to fit Slack's message limit)_"
    kept: list[str] = []
    used = slack_len(note)
    for line in text.split("\n"):
        cost = slack_len(line) + 1
        if used + cost > limit:
            break
        kept.append(line)
        used += cost
    if not kept:  # a single line longer than the limit
        return clip(text, limit)
    return "\n".join(kept) + note


# --------------------------------------------------------------------------- validation

_TEXT_TYPES = ("plain_text", "mrkdwn")
_KNOWN = (
    "header",
    "section",
    "context",
    "divider",
    "image",
    "actions",
    "rich_text",
    "input",
    "file",
    "video",
)


def validate_blocks(blocks: Any, *, text: str | None = None) -> list[str]:
    """What in ``blocks`` (a message's blocks) breaks Slack's documented limits; empty if nothing.

    Checks: at most 50 blocks; each a dict with a known ``type``; ``block_id`` at most 255;
    header: plain_text, 1–150 characters; section: a text of 1–3,000 and/or 1–10 fields of
    1–2,000; context: 1–10 elements, texts of 1–3,000. ``text``, if given, is the message's
    fallback text: at most 40,000.
    """
    problems: list[str] = []
    if not isinstance(blocks, list):
        return [f"blocks must be a list, not {type(blocks).__name__}"]
    if len(blocks) > MAX_BLOCKS:
        problems.append(f"{len(blocks)} blocks: a message holds at most {MAX_BLOCKS}")
    if text is not None and slack_len(text) > MAX_MESSAGE_TEXT:
        problems.append(f"message text is {slack_len(text)} characters: at most {MAX_MESSAGE_TEXT}")
    for index, block in enumerate(blocks):
        where = f"block {index}"
        if not isinstance(block, dict):
            problems.append(f"{where}: not an object")
            continue
        kind = block.get("type")
        where = f"block {index} ({kind})"
        if kind not in _KNOWN:
            problems.append(f"{where}: unknown block type {kind!r}")
            continue
        block_id = block.get("block_id")
        if block_id is not None and (not isinstance(block_id, str) or len(block_id) > MAX_BLOCK_ID):
            problems.append(f"{where}: block_id must be a string of at most {MAX_BLOCK_ID} characters")
        if kind == "header":
            problems += _check_text(block.get("text"), where + " text", MAX_HEADER, plain_only=True)
        elif kind == "section":
            problems += _check_section(block, where)
        elif kind == "context":
            elements = block.get("elements")
            if not isinstance(elements, list) or not elements:
                problems.append(f"{where}: needs 1 to {MAX_CONTEXT_ELEMENTS} elements")
                continue
            if len(elements) > MAX_CONTEXT_ELEMENTS:
                problems.append(f"{where}: {len(elements)} elements, at most {MAX_CONTEXT_ELEMENTS}")
            for number, element in enumerate(elements):
                if isinstance(element, dict) and element.get("type") == "image":
                    continue
                problems += _check_text(element, f"{where} element {number}", MAX_TEXT)
    return problems


def _check_section(block: Block, where: str) -> list[str]:
    problems: list[str] = []
    text, fields = block.get("text"), block.get("fields")
    if text is None and not fields:
        problems.append(f"{where}: needs a text or fields")
    if text is not None:
        problems += _check_text(text, where + " text", MAX_TEXT)
    if fields is not None:
        if not isinstance(fields, list) or not fields:
            problems.append(f"{where}: fields must be a non-empty list")
        else:
            if len(fields) > MAX_FIELDS:
                problems.append(f"{where}: {len(fields)} fields, at most {MAX_FIELDS}")
            for number, field in enumerate(fields):
                problems += _check_text(field, f"{where} field {number}", MAX_FIELD_TEXT)
    return problems


def _check_text(obj: Any, where: str, limit: int, *, plain_only: bool = False) -> list[str]:
    if not isinstance(obj, dict):
        return [f"{where}: must be a text object"]
    kind = obj.get("type")
    allowed = ("plain_text",) if plain_only else _TEXT_TYPES
    problems = []
    if kind not in allowed:
        problems.append(f"{where}: type must be {' or '.join(allowed)}, not {kind!r}")
    value = obj.get("text")
    if not isinstance(value, str) or not value.strip():
        problems.append(f"{where}: text must be a non-empty string")
    elif slack_len(value) > limit:
        problems.append(f"{where}: {slack_len(value)} characters, at most {limit}")
    return problems

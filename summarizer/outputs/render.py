"""Present a ``Summary``: JSON (the contract), Markdown (for people), a terminal table (rich).

The HTML review page, which also needs the article text, is ``outputs.html.render``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from summarizer.outputs.provenance import provenance_parts, source_address
from summarizer.schema import Summary

if TYPE_CHECKING:
    from rich.console import RenderableType

FORMATS = ("json", "markdown", "table", "html")  # html: outputs.html, the review page
# `-o FILE` without `--format`: the file's suffix says the format. One line per suffix.
SUFFIX_FORMATS = {
    ".json": "json",
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "table",
    ".html": "html",
    ".htm": "html",
}
DEFAULT_FORMAT = "json"
# Below this many columns the table view stacks each claim instead of setting four columns side by side.
NARROW_COLUMNS = 80


def format_for(output: Path | None, chosen: str | None) -> str:
    """The output format: ``--format`` if given, else what ``-o``'s suffix says, else JSON."""
    if chosen is not None:
        return chosen
    if output is not None:
        return SUFFIX_FORMATS.get(output.suffix.lower(), DEFAULT_FORMAT)
    return DEFAULT_FORMAT


def to_json(summary: Summary) -> str:
    return json.dumps(summary.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"


def to_markdown(summary: Summary) -> str:
    sources = {s.id: s for s in summary.sources}
    lines = [f"# {summary.headline}", "", *_markdown_source(summary), summary.abstract, "", "## Claims", ""]
    for claim in summary.claims:
        source = sources.get(claim.source_id) if claim.source_id else None
        by = source.name if source else "the article"
        hedge = " *(hedged)*" if claim.hedged else ""
        lines.append(f"- {claim.statement}{hedge} — {by}, {claim.attribution.value.replace('_', ' ')}")
        # For editors: the quote, not its offsets (those are in the JSON, for programs).
        lines.append(f"  > {claim.evidence.text}")
    lines += ["", "## Sources", ""]
    for source in summary.sources:
        anonymous = " (anonymous)" if source.anonymous else ""
        lines.append(f"- **{source.name}**{anonymous}, {source.kind.value}: {source.description}")
    lines += ["", "## Entities", ""]
    for entity in summary.entities:
        aliases = f" (also: {', '.join(entity.aliases)})" if entity.aliases else ""
        lines.append(
            f"- **{entity.name}**{aliases}, {entity.type.value}, {len(entity.mentions)} mention(s): "
            f"{entity.description}"
        )
    if summary.meta and summary.meta.warnings:
        lines += ["", "## Warnings", ""]
        lines += [f"- {w}" for w in summary.meta.warnings]
    return "\n".join(lines) + "\n"


def _markdown_source(summary: Summary) -> list[str]:
    address = source_address(summary.provenance)
    parts = provenance_parts(summary.provenance)
    if address and summary.provenance and summary.provenance.path == address:
        parts.insert(0, f"`{address}`")
    elif address:
        title = (summary.provenance.title if summary.provenance else None) or address
        parts.insert(0, f"[{title}](<{address}>)")
    return [f"*Source: {' · '.join(parts)}*", ""] if parts else []


def to_table(
    summary: Summary, *, width: int = 120, replayed: bool = False, warnings: bool = True
) -> RenderableType:
    """The terminal view at ``width`` columns: side-by-side tables, or stacked below NARROW_COLUMNS.

    ``replayed``: the answers came from a cassette, so the cost is what the recording cost, not
    money spent now. ``warnings``: include meta.warnings (the CLI prints them on stderr instead).
    """
    from rich.console import Group
    from rich.text import Text

    narrow = width < NARROW_COLUMNS
    parts: list[RenderableType] = [
        Text(summary.headline, style="bold"),
        *_table_source(summary),
        Text(summary.abstract),
        *(_stacked(summary) if narrow else _tables(summary)),
    ]
    if summary.meta:
        parts.append(Text(_meta_line(summary, replayed, narrow), style="dim"))
        if warnings:
            parts.extend(Text(f"warning: {w}", style="yellow") for w in summary.meta.warnings)
    return Group(*parts)


def _meta_line(summary: Summary, replayed: bool, narrow: bool) -> str:
    meta = summary.meta
    assert meta is not None
    cost = "cost unknown" if meta.cost_usd is None else f"${meta.cost_usd:.4f}"
    if meta.cached:
        cost = "from cache, no cost"
    elif replayed:
        cost = f"replayed, nothing spent (recorded cost {cost})"
    tokens = f"{meta.usage.prompt_tokens:,} + {meta.usage.completion_tokens:,} tokens"
    if narrow:
        return f"{meta.provider}/{meta.model} · {meta.attempts} attempt(s) · {tokens} · {cost}"
    return (
        f"{meta.provider}/{meta.model} · prompt {meta.prompt_version} · {meta.attempts} attempt(s), "
        f"{meta.transport_retries} transport retr(ies) · {tokens} · {cost} · {meta.duration_s:.2f}s"
    )


def _by(summary: Summary, source_id: str | None) -> str:
    sources = {s.id: s for s in summary.sources}
    source = sources.get(source_id) if source_id else None
    return source.name if source else "article"


def _stacked(summary: Summary) -> list[RenderableType]:
    """One block per claim, source and entity: readable however few columns there are."""
    from rich.padding import Padding
    from rich.text import Text

    out: list[RenderableType] = [Text(f"Claims ({len(summary.claims)})", style="bold underline")]
    for claim in summary.claims:
        by = Text(f"— {_by(summary, claim.source_id)}, {claim.attribution.value}", style="dim")
        if claim.hedged:
            by.append(" hedged", style="yellow")
        out.append(Text.assemble((f"{claim.id} ", "bold"), claim.statement))
        # Indented as a block, so that wrapped lines stay under their claim.
        out.append(Padding(by, (0, 0, 0, 2)))
        out.append(Padding(Text(f"“{claim.evidence.text}”", style="italic"), (0, 0, 1, 2)))
    out.append(Text(f"Sources ({len(summary.sources)})", style="bold underline"))
    for source in summary.sources:
        anonymous = ", anonymous" if source.anonymous else ""
        out.append(Text(f"• {source.name} ({source.kind.value}{anonymous}): {source.description}"))
    out.append(Text(f"Entities ({len(summary.entities)})", style="bold underline"))
    for entity in summary.entities:
        aliases = f"; also {', '.join(entity.aliases)}" if entity.aliases else ""
        out.append(
            Text(
                f"• {entity.name} ({entity.type.value}, {len(entity.mentions)}×{aliases}): {entity.description}"
            )
        )
    return out


def _tables(summary: Summary) -> list[RenderableType]:
    from rich.table import Table
    from rich.text import Text

    claims = Table(title="Claims", show_lines=True, expand=True)
    claims.add_column("#", no_wrap=True)
    claims.add_column("Claim", ratio=3)
    claims.add_column("Source", ratio=1, min_width=14)
    claims.add_column("Evidence", ratio=3)
    for claim in summary.claims:
        by = _by(summary, claim.source_id) + f"\n[dim]{claim.attribution.value}[/dim]"
        if claim.hedged:
            by += " [yellow]hedged[/yellow]"
        claims.add_row(claim.id, claim.statement, by, Text(f"“{claim.evidence.text}”", style="italic"))

    source_table = Table(title="Sources", expand=True)
    for column in ("Source", "Kind", "Anonymous", "Described as"):
        source_table.add_column(column)
    for source in summary.sources:
        source_table.add_row(
            source.name, source.kind.value, "yes" if source.anonymous else "", source.description
        )

    entity_table = Table(title="Entities", expand=True)
    for column in ("Entity", "Type", "Aliases", "Mentions", "Role"):
        entity_table.add_column(column)
    for entity in summary.entities:
        entity_table.add_row(
            entity.name,
            entity.type.value,
            ", ".join(entity.aliases),
            str(len(entity.mentions)),
            entity.description,
        )
    return [claims, source_table, entity_table]


def _table_source(summary: Summary) -> list[RenderableType]:
    from rich.text import Text

    parts = [p for p in [source_address(summary.provenance), *provenance_parts(summary.provenance)] if p]
    return [Text("source: " + " · ".join(parts), style="dim")] if parts else []

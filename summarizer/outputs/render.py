"""Present a ``Summary``: JSON (the contract), Markdown (for people), a terminal table (rich).

The HTML review page, which also needs the article text, is ``outputs.html.render``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from summarizer.schema import Summary

if TYPE_CHECKING:
    from rich.console import RenderableType

FORMATS = ("json", "markdown", "table", "html")  # html: outputs.html, the review page


def to_json(summary: Summary) -> str:
    return json.dumps(summary.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"


def to_markdown(summary: Summary) -> str:
    sources = {s.id: s for s in summary.sources}
    lines = [f"# {summary.headline}", "", summary.abstract, "", "## Claims", ""]
    for claim in summary.claims:
        source = sources.get(claim.source_id) if claim.source_id else None
        by = source.name if source else "the article"
        hedge = " *(hedged)*" if claim.hedged else ""
        lines.append(f"- {claim.statement}{hedge} — {by}, {claim.attribution.value.replace('_', ' ')}")
        lines.append(f"  > {claim.evidence.text} [{claim.evidence.start}:{claim.evidence.end}]")
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


def to_table(summary: Summary) -> RenderableType:
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    sources = {s.id: s for s in summary.sources}
    claims = Table(title="Claims", show_lines=True, expand=True)
    claims.add_column("#", no_wrap=True)
    claims.add_column("Claim", ratio=3)
    claims.add_column("Source", ratio=1, min_width=14)
    claims.add_column("Evidence", ratio=3)
    for claim in summary.claims:
        source = sources.get(claim.source_id) if claim.source_id else None
        by = (source.name if source else "article") + f"\n[dim]{claim.attribution.value}[/dim]"
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

    parts: list[RenderableType] = [
        Text(summary.headline, style="bold"),
        Text(summary.abstract),
        claims,
        source_table,
        entity_table,
    ]
    if summary.meta:
        meta = summary.meta
        cost = "cost unknown" if meta.cost_usd is None else f"${meta.cost_usd:.4f}"
        if meta.cached:
            cost = "from cache, no cost"
        parts.append(
            Text(
                f"{meta.provider}/{meta.model} · prompt {meta.prompt_version} · {meta.attempts} attempt(s), "
                f"{meta.transport_retries} transport retr(ies) · {meta.usage.prompt_tokens:,} + "
                f"{meta.usage.completion_tokens:,} tokens · {cost} · {meta.duration_s:.2f}s",
                style="dim",
            )
        )
        for warning in meta.warnings:
            parts.append(Text(f"warning: {warning}", style="yellow"))
    return Group(*parts)

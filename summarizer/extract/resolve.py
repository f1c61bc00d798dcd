"""Turn a model's draft into the public ``Summary`` content: stable ids, offsets, nothing ungrounded.

Only what the article backs up survives. Claims whose quote cannot be found
or whose source does not exist are dropped; aliases the article never uses are
dropped; references to missing entities are removed. Each drop is a warning.
Ids become slugs of names (entities, sources) and positions (claims), so they
do not depend on the order the model happened to write things in.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from summarizer.extract.draft import DraftEntity, DraftSummary, ProblemKind, claim_names, claim_problem
from summarizer.extract.grounding import Article, fold, mention_spans
from summarizer.schema import Claim, Entity, Evidence, Source, built


@dataclass
class Resolved:
    headline: str
    abstract: str
    entities: list[Entity]
    sources: list[Source]
    claims: list[Claim]
    warnings: list[str] = field(default_factory=list)


def slug(text: str, fallback: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    value = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:48].rstrip("-")
    return value or fallback


def unique_id(base: str, taken: set[str]) -> str:
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}-{n}", n + 1
    taken.add(candidate)
    return candidate


def _short(text: str, limit: int = 70) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def resolve(draft: DraftSummary, article: Article) -> Resolved:
    warnings: list[str] = []
    entities, entity_ids = _resolve_entities(draft.entities, article, warnings)
    sources_by_draft_id: dict[str, Source] = {}
    source_ids: set[str] = set()
    for draft_source in draft.sources:
        if draft_source.id in sources_by_draft_id:
            warnings.append(f"dropped duplicate source id {draft_source.id} ({draft_source.name!r})")
            continue
        entity_id = None
        if draft_source.entity_id is not None:
            entity_id = entity_ids.get(draft_source.entity_id)
            if entity_id is None:
                warnings.append(
                    f"source {draft_source.name!r}: removed link to unknown entity {draft_source.entity_id}"
                )
        sources_by_draft_id[draft_source.id] = built(
            Source,
            id=unique_id(slug(draft_source.name, "source"), source_ids),
            name=draft_source.name.strip(),
            kind=draft_source.kind,
            anonymous=draft_source.anonymous,
            entity_id=entity_id,
            description=draft_source.description.strip(),
        )

    # Each claim is built once, with its id, after sorting: no model is rebuilt to number it.
    kept: list[tuple[Evidence, dict[str, Any]]] = []
    seen: set[tuple[str, int, int]] = set()
    draft_entities = {e.id: e for e in draft.entities}
    draft_sources = {s.id: s for s in draft.sources}
    for i, draft_claim in enumerate(draft.claims):
        label = _short(draft_claim.statement)
        problem = claim_problem(
            i, draft_claim, article, claim_names(draft_claim, draft_entities, draft_sources)
        )
        if problem is not None and problem.kind is ProblemKind.UNGROUNDED_QUOTE:
            warnings.append(
                f"dropped claim {label!r}: its quote is not in the article: {_short(draft_claim.quote)!r}"
            )
            continue
        if problem is not None:
            warnings.append(f"dropped claim {label!r}: its quote does not support it ({problem.detail})")
            continue
        span = article.locate(draft_claim.quote)
        assert span is not None  # claim_problem found it
        source_id = None
        if draft_claim.source_id is not None:
            source = sources_by_draft_id.get(draft_claim.source_id)
            if source is None:
                warnings.append(f"dropped claim {label!r}: it cites unknown source {draft_claim.source_id}")
                continue
            source_id = source.id
        claim_entity_ids = []
        for draft_entity_id in draft_claim.entity_ids:
            resolved_id = entity_ids.get(draft_entity_id)
            if resolved_id is None:
                warnings.append(f"claim {label!r}: removed reference to unknown entity {draft_entity_id}")
            elif resolved_id not in claim_entity_ids:
                claim_entity_ids.append(resolved_id)
        key = (fold(draft_claim.statement), span.start, span.end)
        if key in seen:
            continue
        seen.add(key)
        kept.append(
            (
                span,
                {
                    "statement": " ".join(draft_claim.statement.split()),
                    "source_id": source_id,
                    "attribution": draft_claim.attribution,
                    "hedged": draft_claim.hedged,
                    "entity_ids": claim_entity_ids,
                },
            )
        )
    kept.sort(key=lambda item: (item[0].start, item[0].end))
    # The evidence is grounding's own (built from the article, and frozen like every model of
    # the schema, so it is safe to share): not rebuilt and validated a second time. Nor is the
    # rest (schema.built): every value comes from the validated draft.
    claims = [built(Claim, id=f"c{i}", evidence=span, **fields) for i, (span, fields) in enumerate(kept, 1)]

    # Sources in the order the claims first cite them; uncited ones keep the model's order.
    first_cited = {}
    for i, claim in enumerate(claims):
        if claim.source_id is not None:
            first_cited.setdefault(claim.source_id, i)
    sources = list(sources_by_draft_id.values())
    sources.sort(key=lambda s: first_cited.get(s.id, len(claims)))
    return Resolved(
        headline=" ".join(draft.headline.split()),
        abstract=" ".join(draft.abstract.split()),
        entities=entities,
        sources=sources,
        claims=claims,
        warnings=warnings,
    )


def _resolve_entities(
    drafts: list[DraftEntity], article: Article, warnings: list[str]
) -> tuple[list[Entity], dict[str, str]]:
    """Entities with their mentions, in order of first mention, and a map from draft id to stable id."""
    drafts, same_as = _merge_same_named(drafts, warnings)
    names_by_draft_id: dict[str, list[str]] = {}
    kept: dict[str, DraftEntity] = {}
    kept_aliases: dict[str, list[str]] = {}  # beside the draft, not copied into it
    for entity in drafts:
        if entity.id in kept:
            warnings.append(f"dropped duplicate entity id {entity.id} ({entity.name!r})")
            continue
        aliases = []
        for alias in dict.fromkeys(a.strip() for a in entity.aliases):
            if not alias or fold(alias) == fold(entity.name):
                continue
            if article.mentioned(alias):
                aliases.append(alias)
            else:
                warnings.append(f"entity {entity.name!r}: dropped alias {alias!r}, not in the article")
        names = [entity.name.strip(), *aliases]
        if not any(article.mentioned(name) for name in names):
            warnings.append(f"dropped entity {entity.name!r}: the article never names it")
            continue
        kept[entity.id] = entity
        kept_aliases[entity.id] = aliases
        names_by_draft_id[entity.id] = names

    mentions = mention_spans(article, names_by_draft_id)
    ordered = sorted(
        kept.values(),
        key=lambda e: (mentions[e.id][0].start if mentions[e.id] else len(article.text), e.name),
    )
    taken: set[str] = set()
    entity_ids: dict[str, str] = {}
    entities = []
    for draft in ordered:
        entity_id = unique_id(slug(draft.name, "entity"), taken)
        entity_ids[draft.id] = entity_id
        entities.append(
            built(
                Entity,
                id=entity_id,
                name=draft.name.strip(),
                type=draft.type,
                aliases=kept_aliases[draft.id],
                description=draft.description.strip(),
                mentions=mentions[draft.id],
            )
        )
    for duplicate, kept_id in same_as.items():
        if kept_id in entity_ids:
            entity_ids[duplicate] = entity_ids[kept_id]
    return entities, entity_ids


def _merge_same_named(
    drafts: list[DraftEntity], warnings: list[str]
) -> tuple[list[DraftEntity], dict[str, str]]:
    """One entity per canonical name: a model that lists "Moscow" twice means one Moscow.

    The survivor is chosen by content, not by position, and inherits the others' aliases,
    so the result does not depend on the order the model wrote them in.
    """
    groups: dict[str, list[DraftEntity]] = {}
    for entity in drafts:
        groups.setdefault(fold(entity.name).casefold(), []).append(entity)
    merged: list[DraftEntity] = []
    same_as: dict[str, str] = {}
    for entity in drafts:
        group = groups[fold(entity.name).casefold()]
        if len(group) == 1:
            merged.append(entity)
            continue
        if entity is not group[0]:
            continue
        ranked = sorted(group, key=lambda e: (e.type.value, e.description, e.aliases, e.id))
        survivor = ranked[0]
        aliases = list(dict.fromkeys(a for e in ranked for a in e.aliases))
        merged.append(survivor.model_copy(update={"aliases": aliases}))
        for other in ranked[1:]:
            same_as[other.id] = survivor.id
        warnings.append(
            f"merged {len(group)} entities named {survivor.name!r} ({', '.join(sorted(e.id for e in group))})"
        )
    return merged, same_as

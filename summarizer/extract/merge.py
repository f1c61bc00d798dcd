"""Merge the summaries of an article's chunks into one, with offsets into the full article.

Entities are unified when their canonical names match, or when one's canonical
name is another's alias ("Khamenei" named alone in a later chunk is the "Ali
Khamenei" of the first). Two entities that merely share an alias are kept apart:
"Khamenei" may be the father or the son. Sources are unified by name. Claims keep
their evidence, shifted to the full article, and exact repeats are dropped.
Mentions are found again over the whole article.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from summarizer.extract.grounding import Article, fold, mention_spans
from summarizer.extract.resolve import Resolved, slug, unique_id
from summarizer.schema import Claim, Entity, Evidence, Source, Span


def _key(name: str) -> str:
    return fold(name).casefold()


@dataclass
class _EntityGroup:
    first: Entity
    aliases: list[str] = field(default_factory=list)
    members: list[tuple[int, str]] = field(default_factory=list)

    def names(self) -> list[str]:
        return [self.first.name, *self.aliases]

    def absorb(self, entity: Entity, part: int) -> None:
        for name in [entity.name, *entity.aliases]:
            if _key(name) != _key(self.first.name) and all(_key(name) != _key(a) for a in self.aliases):
                self.aliases.append(name)
        self.members.append((part, entity.id))


def merge_parts(parts: list[tuple[int, Resolved]], article: Article) -> Resolved:
    """``parts`` are (chunk start offset, that chunk's resolved summary), in article order."""
    groups: list[_EntityGroup] = []
    for index, (_, part) in enumerate(parts):
        for entity in part.entities:
            group = _find_group(groups, entity)
            if group is None:
                group = _EntityGroup(first=entity)
                groups.append(group)
            group.absorb(entity, index)

    mentions = mention_spans(article, {str(i): g.names() for i, g in enumerate(groups)})
    order = sorted(
        range(len(groups)),
        key=lambda i: (
            mentions[str(i)][0].start if mentions[str(i)] else len(article.text),
            groups[i].first.name,
        ),
    )
    taken: set[str] = set()
    entity_ids: dict[tuple[int, str], str] = {}
    entities: list[Entity] = []
    for i in order:
        group = groups[i]
        new_id = unique_id(slug(group.first.name, "entity"), taken)
        for member in group.members:
            entity_ids[member] = new_id
        entities.append(
            group.first.model_copy(
                update={"id": new_id, "aliases": group.aliases, "mentions": mentions[str(i)]}
            )
        )

    sources_by_key: dict[str, Source] = {}
    source_ids: dict[tuple[int, str], str] = {}
    taken_sources: set[str] = set()
    for index, (_, part) in enumerate(parts):
        for source in part.sources:
            existing = sources_by_key.get(_key(source.name))
            if existing is None:
                linked = entity_ids.get((index, source.entity_id)) if source.entity_id else None
                existing = source.model_copy(
                    update={"id": unique_id(slug(source.name, "source"), taken_sources), "entity_id": linked}
                )
                sources_by_key[_key(source.name)] = existing
            source_ids[(index, source.id)] = existing.id

    claims: list[Claim] = []
    seen: set[tuple[str, int, int]] = set()
    for index, (offset, part) in enumerate(parts):
        for claim in part.claims:
            evidence = _shifted(claim.evidence, offset)
            key = (_key(claim.statement), evidence.start, evidence.end)
            if key in seen:
                continue
            seen.add(key)
            claims.append(
                claim.model_copy(
                    update={
                        "evidence": evidence,
                        "source_id": source_ids.get((index, claim.source_id)) if claim.source_id else None,
                        "entity_ids": list(dict.fromkeys(entity_ids[(index, e)] for e in claim.entity_ids)),
                    }
                )
            )
    claims.sort(key=lambda c: (c.evidence.start, c.evidence.end))
    claims = [c.model_copy(update={"id": f"c{i}"}) for i, c in enumerate(claims, 1)]

    first_cited: dict[str, int] = {}
    for i, claim in enumerate(claims):
        if claim.source_id is not None:
            first_cited.setdefault(claim.source_id, i)
    sources = sorted(sources_by_key.values(), key=lambda s: first_cited.get(s.id, len(claims)))
    warnings = [
        f"chunk {index + 1} of {len(parts)}: {warning}"
        for index, (_, part) in enumerate(parts)
        for warning in part.warnings
    ]
    lead = parts[0][1]
    return Resolved(
        headline=lead.headline,
        abstract=lead.abstract,
        entities=entities,
        sources=sources,
        claims=claims,
        warnings=warnings,
    )


def _find_group(groups: list[_EntityGroup], entity: Entity) -> _EntityGroup | None:
    name = _key(entity.name)
    for group in groups:
        if _key(group.first.name) == name:
            return group
    for group in groups:
        if name in {_key(a) for a in group.aliases} or _key(group.first.name) in {
            _key(a) for a in entity.aliases
        }:
            return group
    return None


def _shifted(evidence: Evidence, offset: int) -> Evidence:
    """A chunk's evidence (and its fragments) moved to offsets in the whole article."""
    return Evidence(
        text=evidence.text,
        start=evidence.start + offset,
        end=evidence.end + offset,
        fragments=[Span(text=f.text, start=f.start + offset, end=f.end + offset) for f in evidence.fragments],
    )

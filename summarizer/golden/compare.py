"""Compare a summary with a golden one: exactly (with a diff by meaning) or by score.

Exact comparison is for replayed runs, where the same recording must give the
same content. The diff speaks the schema's language (an entity renamed, a
claim's evidence moved, a source added) rather than JSON paths.

Scored comparison is for live runs, where wording varies: entities match by
name or alias, sources by name, claims by overlapping evidence and agreeing
source; each gets precision, recall and F1.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from summarizer.extract.grounding import fold
from summarizer.outputs.atomic import write_atomic
from summarizer.schema import Claim, Entity, Source, Summary


def golden_text(summary: Summary) -> str:
    """The canonical golden form: content only (no meta), in the resolver's stable order."""
    return json.dumps(summary.content(), indent=2, ensure_ascii=False) + "\n"


def load_golden(path: Path) -> Summary:
    return Summary.model_validate_json(path.read_text(encoding="utf-8"))


def write_golden(path: Path, summary: Summary) -> None:
    write_atomic(path, golden_text(summary))


# -- exact comparison, diff by meaning ---------------------------------------------------


def _short(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def diff(expected: Summary, actual: Summary) -> list[str]:
    """Every difference in content, one readable line each; empty when they match."""
    changes: list[str] = []
    if expected.schema_version != actual.schema_version:
        changes.append(f"schema version {expected.schema_version} -> {actual.schema_version}")
    if expected.headline != actual.headline:
        changes.append(f"headline changed: {_short(expected.headline)!r} -> {_short(actual.headline)!r}")
    if expected.abstract != actual.abstract:
        changes.append(f"abstract changed: {_short(expected.abstract)!r} -> {_short(actual.abstract)!r}")
    entity_changes, renamed_ids = _entity_changes(expected.entities, actual.entities)
    changes += entity_changes
    changes += _source_changes(expected.sources, actual.sources)
    changes += _claim_changes(expected, actual, renamed_ids)
    return changes


def _entity_changes(old: list[Entity], new: list[Entity]) -> tuple[list[str], dict[str, str]]:
    """Entity changes, and the old-to-new id map of entities renamed (so claims are not blamed)."""
    changes = []
    renamed_ids: dict[str, str] = {}
    old_by_id = {e.id: e for e in old}
    new_by_id = {e.id: e for e in new}
    removed = [e for e in old if e.id not in new_by_id]
    added = [e for e in new if e.id not in old_by_id]
    # A removed and an added entity that share a mention are one entity renamed.
    for gone in list(removed):
        spans = {(m.start, m.end) for m in gone.mentions}
        twin = next((e for e in added if spans & {(m.start, m.end) for m in e.mentions}), None)
        if twin is not None:
            changes.append(f"entity renamed: {gone.name!r} -> {twin.name!r}")
            renamed_ids[gone.id] = twin.id
            removed.remove(gone)
            added.remove(twin)
            changes += _entity_field_changes(gone, twin)
    changes += [f"entity removed: {e.name!r} ({e.type.value})" for e in removed]
    changes += [f"entity added: {e.name!r} ({e.type.value})" for e in added]
    for entity_id, before in old_by_id.items():
        after = new_by_id.get(entity_id)
        if after is not None:
            if before.name != after.name:
                changes.append(f"entity renamed: {before.name!r} -> {after.name!r}")
            changes += _entity_field_changes(before, after)
    return changes, renamed_ids


def _entity_field_changes(before: Entity, after: Entity) -> list[str]:
    label = f"entity {after.name!r}"
    changes = []
    if before.type != after.type:
        changes.append(f"{label}: type {before.type.value} -> {after.type.value}")
    lost = [a for a in before.aliases if a not in after.aliases]
    gained = [a for a in after.aliases if a not in before.aliases]
    if lost:
        changes.append(f"{label}: aliases removed {lost}")
    if gained:
        changes.append(f"{label}: aliases added {gained}")
    if before.description != after.description:
        changes.append(
            f"{label}: description {_short(before.description)!r} -> {_short(after.description)!r}"
        )
    if before.mentions != after.mentions:
        changes.append(f"{label}: mentions {len(before.mentions)} -> {len(after.mentions)} (or moved)")
    return changes


def _source_changes(old: list[Source], new: list[Source]) -> list[str]:
    changes = []
    old_by_id = {s.id: s for s in old}
    new_by_id = {s.id: s for s in new}
    changes += [f"source removed: {s.name!r}" for s in old if s.id not in new_by_id]
    changes += [f"source added: {s.name!r} ({s.kind.value})" for s in new if s.id not in old_by_id]
    for source_id, before in old_by_id.items():
        after = new_by_id.get(source_id)
        if after is None:
            continue
        if before.name != after.name:
            changes.append(f"source renamed: {before.name!r} -> {after.name!r}")
        for name in ("kind", "anonymous", "entity_id", "description"):
            was, now = getattr(before, name), getattr(after, name)
            if was != now:
                changes.append(f"source {after.name!r}: {name} {_value(was)!r} -> {_value(now)!r}")
    return changes


def _value(value: Any) -> Any:
    return getattr(value, "value", value)


def _claim_changes(expected: Summary, actual: Summary, renamed_ids: dict[str, str]) -> list[str]:
    changes: list[str] = []
    old_sources = {s.id: s.name for s in expected.sources}
    new_sources = {s.id: s.name for s in actual.sources}
    unmatched = list(actual.claims)
    for before in expected.claims:
        after = _match_claim(before, unmatched)
        if after is None:
            changes.append(f"claim removed: {_short(before.statement)!r}")
            continue
        unmatched.remove(after)
        label = f"claim {_short(before.statement, 50)!r}"
        if before.statement != after.statement:
            changes.append(f"{label}: text -> {_short(after.statement)!r}")
        if before.evidence != after.evidence:
            changes.append(
                f"{label}: evidence [{before.evidence.start}:{before.evidence.end}] -> "
                f"[{after.evidence.start}:{after.evidence.end}] {_short(after.evidence.text, 60)!r}"
            )
        was = old_sources.get(before.source_id or "", "the article")
        now = new_sources.get(after.source_id or "", "the article")
        if was != now:
            changes.append(f"{label}: source {was!r} -> {now!r}")
        if before.attribution != after.attribution:
            changes.append(f"{label}: attribution {before.attribution.value} -> {after.attribution.value}")
        if before.hedged != after.hedged:
            changes.append(f"{label}: hedged {before.hedged} -> {after.hedged}")
        if [renamed_ids.get(i, i) for i in before.entity_ids] != after.entity_ids:
            changes.append(f"{label}: entities {before.entity_ids} -> {after.entity_ids}")
    changes += [f"claim added: {_short(c.statement)!r}" for c in unmatched]
    return changes


def _match_claim(claim: Claim, candidates: list[Claim]) -> Claim | None:
    for candidate in candidates:
        if candidate.statement == claim.statement:
            return candidate
    for candidate in candidates:
        if candidate.evidence == claim.evidence:
            return candidate
    return None


# -- scored comparison ---------------------------------------------------------------------


@dataclass(frozen=True)
class PRF:
    matched: int
    expected: int
    actual: int

    @property
    def precision(self) -> float:
        return self.matched / self.actual if self.actual else 1.0

    @property
    def recall(self) -> float:
        return self.matched / self.expected if self.expected else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def to_json(self) -> dict[str, float | int]:
        return {
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
            "matched": self.matched,
            "expected": self.expected,
            "actual": self.actual,
        }


@dataclass(frozen=True)
class Scores:
    entities: PRF
    sources: PRF
    claims: PRF
    grounding_rate: float
    attempts: int

    def to_json(self) -> dict[str, Any]:
        return {
            "entities": self.entities.to_json(),
            "sources": self.sources.to_json(),
            "claims": self.claims.to_json(),
            "grounding_rate": round(self.grounding_rate, 4),
            "attempts": self.attempts,
        }


def _greedy_pairs(expected: list[Any], actual: list[Any], same: Any) -> list[tuple[int, int]]:
    """One-to-one matches, first fit: each actual item counts for at most one expected item."""
    free = list(range(len(actual)))
    pairs = []
    for i, item in enumerate(expected):
        for j in free:
            if same(item, actual[j]):
                free.remove(j)
                pairs.append((i, j))
                break
    return pairs


def _greedy_matches(expected: list[Any], actual: list[Any], same: Any) -> int:
    return len(_greedy_pairs(expected, actual, same))


def _names(entity: Entity) -> set[str]:
    return {fold(n).lower() for n in [entity.name, *entity.aliases]}


def _overlap(a: Claim, b: Claim) -> float:
    shared = min(a.evidence.end, b.evidence.end) - max(a.evidence.start, b.evidence.start)
    shortest = min(a.evidence.end - a.evidence.start, b.evidence.end - b.evidence.start)
    return max(shared, 0) / shortest if shortest else 0.0


def match_claims(expected: Summary, actual: Summary, *, min_overlap: float = 0.5) -> list[tuple[int, int]]:
    """(expected index, actual index) of the claims that match: the same source (by name, or both
    the article's own) and evidence overlapping by ``min_overlap`` of the shorter; one-to-one."""
    expected_source = {s.id: fold(s.name).lower() for s in expected.sources}
    actual_source = {s.id: fold(s.name).lower() for s in actual.sources}

    def same_claim(e: Claim, a: Claim) -> bool:
        agree = expected_source.get(e.source_id or "") == actual_source.get(a.source_id or "")
        return agree and _overlap(e, a) >= min_overlap

    return _greedy_pairs(expected.claims, actual.claims, same_claim)


def score(expected: Summary, actual: Summary, *, min_overlap: float = 0.5) -> Scores:
    entities = PRF(
        _greedy_matches(expected.entities, actual.entities, lambda e, a: bool(_names(e) & _names(a))),
        len(expected.entities),
        len(actual.entities),
    )
    sources = PRF(
        _greedy_matches(
            expected.sources, actual.sources, lambda e, a: fold(e.name).lower() == fold(a.name).lower()
        ),
        len(expected.sources),
        len(actual.sources),
    )
    claims = PRF(
        len(match_claims(expected, actual, min_overlap=min_overlap)), len(expected.claims), len(actual.claims)
    )
    dropped = sum(1 for w in (actual.meta.warnings if actual.meta else []) if w.startswith("dropped claim"))
    proposed = len(actual.claims) + dropped
    return Scores(
        entities=entities,
        sources=sources,
        claims=claims,
        grounding_rate=len(actual.claims) / proposed if proposed else 1.0,
        attempts=actual.meta.attempts if actual.meta else 0,
    )

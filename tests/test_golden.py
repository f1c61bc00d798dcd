"""Golden comparison: the diff by meaning, the scores, and the canonical golden file."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from summarizer.golden.compare import PRF, diff, golden_text, load_golden, score, write_golden
from summarizer.schema import (
    SCHEMA_VERSION,
    Attribution,
    Claim,
    Entity,
    EntityType,
    Meta,
    Source,
    SourceKind,
    Span,
    Summary,
)

ROOT = Path(__file__).resolve().parent.parent
CASE_DIR = ROOT / "fixtures" / "cases" / "khamenei-moscow-exiles"
GOLDEN_PATH = CASE_DIR / "golden.json"
ARTICLE = (CASE_DIR / "article.txt").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def golden() -> Summary:
    return load_golden(GOLDEN_PATH)


def rebuilt(summary: Summary, **changes: Any) -> Summary:
    """A copy with some fields replaced, validated again (references must still resolve)."""
    data = summary.model_dump(mode="json")
    data.update(changes)
    return Summary.model_validate(data)


def dumped(items: list[Any]) -> list[dict[str, Any]]:
    return [i.model_dump(mode="json") for i in items]


def with_claim(summary: Summary, claim_id: str, **fields: Any) -> Summary:
    claims = [c.model_dump(mode="json") | (fields if c.id == claim_id else {}) for c in summary.claims]
    return rebuilt(summary, claims=claims)


def with_entity(summary: Summary, entity_id: str, **fields: Any) -> Summary:
    entities = [e.model_dump(mode="json") | (fields if e.id == entity_id else {}) for e in summary.entities]
    return rebuilt(summary, entities=entities)


def with_source(summary: Summary, source_id: str, **fields: Any) -> Summary:
    sources = [s.model_dump(mode="json") | (fields if s.id == source_id else {}) for s in summary.sources]
    return rebuilt(summary, sources=sources)


def claim(summary: Summary, claim_id: str) -> Claim:
    return next(c for c in summary.claims if c.id == claim_id)


def short(text: str, limit: int = 80) -> str:
    """How diff lines quote long text: whitespace collapsed, cut to ``limit`` with an ellipsis."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def span(start: int, end: int) -> dict[str, Any]:
    return {"text": ARTICLE[start:end], "start": start, "end": end}


# -- preconditions the expected numbers below rely on -----------------------------------------------


def test_seed_golden_shape(golden: Summary) -> None:
    assert (len(golden.entities), len(golden.sources), len(golden.claims)) == (29, 11, 30)
    assert golden.meta is None
    assert golden.check_offsets(ARTICLE) == []


# -- diff by meaning ---------------------------------------------------------------------------------


def test_identical_summaries_have_no_diff(golden: Summary) -> None:
    assert diff(golden, golden) == []
    assert diff(golden, load_golden(GOLDEN_PATH)) == []


def test_meta_never_counts_as_a_difference(golden: Summary) -> None:
    meta = Meta(provider="x", model="y", prompt_version="z", attempts=3, warnings=["w"], duration_s=9.0)
    assert diff(golden, golden.model_copy(update={"meta": meta})) == []


def test_headline_and_abstract_changes(golden: Summary) -> None:
    changed = rebuilt(golden, headline="Another headline", abstract="Another abstract.")
    assert diff(golden, changed) == [
        f"headline changed: {short(golden.headline)!r} -> 'Another headline'",
        f"abstract changed: {short(golden.abstract)!r} -> 'Another abstract.'",
    ]


def test_entity_removed_and_added(golden: Summary) -> None:
    tehran = next(e for e in golden.entities if e.id == "tehran")
    # Not re-validated: a claim still names "tehran"; the entity list alone is what differs.
    without = golden.model_copy(update={"entities": [e for e in golden.entities if e.id != "tehran"]})
    assert diff(golden, without) == ["entity removed: 'Tehran' (location)"]
    assert diff(without, golden) == ["entity added: 'Tehran' (location)"]
    extra = Entity(id="kremlin", name="Kremlin", type=EntityType.ORGANIZATION)
    assert diff(golden, rebuilt(golden, entities=dumped([*golden.entities, extra]))) == [
        "entity added: 'Kremlin' (organization)"
    ]
    assert tehran.type is EntityType.LOCATION


def test_entity_renamed_when_a_new_id_shares_a_mention(golden: Summary) -> None:
    """What a different run produces: a new name, hence a new id, for the same mentions."""
    entities = [
        e.model_dump(mode="json") | ({"id": "moscow-city", "name": "Moscow City"} if e.id == "moscow" else {})
        for e in golden.entities
    ]
    claims = [
        c.model_dump(mode="json")
        | {"entity_ids": ["moscow-city" if i == "moscow" else i for i in c.entity_ids]}
        for c in golden.claims
    ]
    renamed = rebuilt(golden, entities=entities, claims=claims)
    changes = diff(golden, renamed)
    assert changes[0] == "entity renamed: 'Moscow' -> 'Moscow City'"
    assert not any(c.startswith(("entity removed", "entity added")) for c in changes)
    # Claims that named the entity now name it by its new id: that is the rename, said once,
    # not once more for every claim that mentions Moscow.
    assert changes == ["entity renamed: 'Moscow' -> 'Moscow City'"]


def test_claim_that_switches_entity_is_still_reported(golden: Summary) -> None:
    claim = next(c for c in golden.claims if "moscow" in c.entity_ids)
    claims = [
        c.model_dump(mode="json")
        | ({"entity_ids": [i for i in c.entity_ids if i != "moscow"]} if c.id == claim.id else {})
        for c in golden.claims
    ]
    changes = diff(golden, rebuilt(golden, claims=claims))
    assert len(changes) == 1 and ": entities [" in changes[0]


def test_entity_renamed_in_place_is_a_difference(golden: Summary) -> None:
    renamed = with_entity(golden, "tehran", name="Teheran")
    assert diff(golden, renamed) != []


def test_uncited_source_renamed_in_place_is_a_difference(golden: Summary) -> None:
    assert not any(c.source_id == "the-washington-post" for c in golden.claims)
    renamed = with_source(golden, "the-washington-post", name="The Post")
    assert diff(golden, renamed) != []


def test_entity_aliases_type_description_and_mentions(golden: Summary) -> None:
    putin = next(e for e in golden.entities if e.id == "vladimir-putin")
    aliases = [a for a in putin.aliases if a != "Putin"] + ["V. Putin"]
    changed = with_entity(golden, "vladimir-putin", aliases=aliases)
    assert diff(golden, changed) == [
        "entity 'Vladimir Putin': aliases removed ['Putin']",
        "entity 'Vladimir Putin': aliases added ['V. Putin']",
    ]
    assert diff(golden, with_entity(golden, "delta-force", type="other")) == [
        "entity 'Delta Force': type organization -> other"
    ]
    described = with_entity(golden, "tehran", description="Capital of Iran")
    assert diff(golden, described) == [
        f"entity 'Tehran': description {next(e for e in golden.entities if e.id == 'tehran').description!r} "
        "-> 'Capital of Iran'"
    ]
    moscow = next(e for e in golden.entities if e.id == "moscow")
    fewer = with_entity(golden, "moscow", mentions=[m.model_dump() for m in moscow.mentions[:2]])
    assert diff(golden, fewer) == [f"entity 'Moscow': mentions {len(moscow.mentions)} -> 2 (or moved)"]


def test_source_removed_added_and_changed(golden: Summary) -> None:
    uncited = [s for s in golden.sources if s.id != "the-washington-post"]
    assert diff(golden, rebuilt(golden, sources=dumped(uncited))) == ["source removed: 'The Washington Post'"]
    extra = Source(id="tass", name="TASS", kind=SourceKind.PUBLICATION)
    assert diff(golden, rebuilt(golden, sources=dumped([*golden.sources, extra]))) == [
        "source added: 'TASS' (publication)"
    ]
    changed = with_source(golden, "the-guardian", kind="organization", anonymous=True)
    assert diff(golden, changed) == [
        "source 'The Guardian': kind 'publication' -> 'organization'",
        "source 'The Guardian': anonymous False -> True",
    ]
    unlinked = with_source(golden, "the-guardian", entity_id=None)
    assert diff(golden, unlinked) == ["source 'The Guardian': entity_id 'the-guardian' -> None"]


def test_claim_text_evidence_source_attribution_hedged_entities(golden: Summary) -> None:
    c7 = claim(golden, "c7")
    label = f"claim {short(c7.statement, 50)!r}"
    assert diff(golden, with_claim(golden, "c7", statement="Assad fell in November 2024.")) == [
        f"{label}: text -> 'Assad fell in November 2024.'"
    ]
    moved = with_claim(golden, "c7", evidence=span(1007, 1029))
    assert diff(golden, moved) == [f"{label}: evidence [1007:1052] -> [1007:1029] {ARTICLE[1007:1029]!r}"]
    assert diff(golden, with_claim(golden, "c7", source_id="the-guardian")) == [
        f"{label}: source 'the article' -> 'The Guardian'"
    ]
    assert diff(golden, with_claim(golden, "c7", attribution="reported")) == [
        f"{label}: attribution {c7.attribution.value} -> reported"
    ]
    assert diff(golden, with_claim(golden, "c7", hedged=True)) == [f"{label}: hedged False -> True"]
    assert diff(golden, with_claim(golden, "c7", entity_ids=["syria"])) == [
        f"{label}: entities {c7.entity_ids} -> ['syria']"
    ]


def test_claim_matched_by_evidence_when_its_text_changes(golden: Summary) -> None:
    """A reworded claim on the same quote is one claim changed, not one removed and one added."""
    changed = with_claim(golden, "c2", statement="Khamenei could go to Moscow.", hedged=False)
    changes = diff(golden, changed)
    assert len(changes) == 2
    assert changes[0].endswith(": text -> 'Khamenei could go to Moscow.'")
    assert changes[1].endswith(": hedged True -> False")


def test_claim_removed_and_added(golden: Summary) -> None:
    c5 = claim(golden, "c5")
    fewer = rebuilt(golden, claims=dumped([c for c in golden.claims if c.id != "c5"]))
    assert diff(golden, fewer) == [f"claim removed: {short(c5.statement)!r}"]
    assert diff(fewer, golden) == [f"claim added: {short(c5.statement)!r}"]


def test_claim_with_new_text_and_new_evidence_is_removed_plus_added(golden: Summary) -> None:
    changed = with_claim(golden, "c7", statement="Something else entirely.", evidence=span(0, 8))
    changes = diff(golden, changed)
    assert changes == [
        f"claim removed: {short(claim(golden, 'c7').statement)!r}",
        "claim added: 'Something else entirely.'",
    ]


def test_long_statements_are_shortened_in_diff_lines(golden: Summary) -> None:
    long = "word " * 40
    changes = diff(golden, with_claim(golden, "c1", statement=long))
    assert len(changes) == 1
    assert changes[0].endswith("…'")
    assert "\n" not in changes[0]


def test_schema_version_change_is_reported(golden: Summary) -> None:
    assert diff(golden, rebuilt(golden, schema_version="2.0")) == [f"schema version {SCHEMA_VERSION} -> 2.0"]


# -- golden files -----------------------------------------------------------------------------------------


def test_golden_text_of_the_seed_golden_is_byte_identical(golden: Summary) -> None:
    assert golden_text(golden) == GOLDEN_PATH.read_text(encoding="utf-8")


def test_golden_text_leaves_meta_out_and_write_golden_round_trips(golden: Summary, tmp_path: Path) -> None:
    meta = Meta(provider="p", model="m", prompt_version="v", attempts=2)
    with_meta = golden.model_copy(update={"meta": meta})
    assert '"meta"' not in golden_text(with_meta)
    target = tmp_path / "sub" / "golden.json"
    target.parent.mkdir()
    write_golden(target, with_meta)
    assert target.read_bytes() == GOLDEN_PATH.read_bytes()
    assert load_golden(target) == golden


# -- scores ---------------------------------------------------------------------------------------------


def f1(precision: Fraction, recall: Fraction) -> float:
    return float(2 * precision * recall / (precision + recall)) if precision + recall else 0.0


def assert_prf(prf: PRF, *, matched: int, expected: int, actual: int) -> None:
    """Check the counts and the exact precision, recall and F1 they imply."""
    assert (prf.matched, prf.expected, prf.actual) == (matched, expected, actual)
    precision = Fraction(matched, actual) if actual else Fraction(1)
    recall = Fraction(matched, expected) if expected else Fraction(1)
    assert prf.precision == pytest.approx(float(precision), abs=1e-12)
    assert prf.recall == pytest.approx(float(recall), abs=1e-12)
    assert prf.f1 == pytest.approx(f1(precision, recall), abs=1e-12)


def test_golden_scores_perfectly_against_itself(golden: Summary) -> None:
    scores = score(golden, golden)
    assert_prf(scores.entities, matched=29, expected=29, actual=29)
    assert_prf(scores.sources, matched=11, expected=11, actual=11)
    assert_prf(scores.claims, matched=30, expected=30, actual=30)
    assert scores.grounding_rate == 1.0
    assert scores.attempts == 0


def test_dropping_three_claims_lowers_recall_only(golden: Summary) -> None:
    n = len(golden.claims)
    kept = [c for c in golden.claims if c.id not in {"c1", "c9", "c18"}]
    scores = score(golden, rebuilt(golden, claims=dumped(kept)))
    assert_prf(scores.claims, matched=n - 3, expected=n, actual=n - 3)
    assert scores.claims.precision == 1.0
    assert scores.claims.recall == pytest.approx(27 / 30)
    assert scores.claims.f1 == pytest.approx(2 * (27 / 30) / (1 + 27 / 30))
    assert_prf(scores.entities, matched=29, expected=29, actual=29)


def test_two_bogus_claims_lower_precision_only(golden: Summary) -> None:
    # Two stretches of the article that no golden claim's evidence touches: the headline and a lead-in.
    for start, end in ((0, 91), (3011, 3066)):
        assert all(c.evidence.end <= start or c.evidence.start >= end for c in golden.claims)
    bogus = [
        Claim(
            id="x1",
            statement="The headline says it.",
            attribution=Attribution.ARTICLE_ASSERTION,
            evidence=Span(**span(0, 91)),
        ),
        Claim(
            id="x2",
            statement="The newspaper quotes someone.",
            source_id="the-times-of-london",
            attribution=Attribution.REPORTED,
            evidence=Span(**span(3011, 3066)),
        ),
    ]
    n = len(golden.claims)
    scores = score(golden, rebuilt(golden, claims=dumped([*golden.claims, *bogus])))
    assert_prf(scores.claims, matched=n, expected=n, actual=n + 2)
    assert scores.claims.precision == pytest.approx(30 / 32)
    assert scores.claims.recall == 1.0


def test_dropping_entities_lowers_entity_recall(golden: Summary) -> None:
    referenced = {s.entity_id for s in golden.sources} | {i for c in golden.claims for i in c.entity_ids}
    gone = {"tehran", "moskva-river", "delta-force", "reuters"}
    kept = [e for e in golden.entities if e.id not in gone]
    # Not re-validated on purpose: claims may still name the dropped ids; scoring does not look.
    degraded = golden.model_copy(update={"entities": kept})
    scores = score(golden, degraded)
    assert_prf(scores.entities, matched=25, expected=29, actual=25)
    assert_prf(scores.claims, matched=30, expected=30, actual=30)
    assert gone & referenced  # entity links do not feed the claim score


def test_entities_match_by_alias_and_case(golden: Summary) -> None:
    entities = [
        e.model_dump(mode="json")
        | (
            {"name": "PUTIN", "aliases": []}
            if e.id == "vladimir-putin"
            else {"name": "times of london", "aliases": []}
            if e.id == "the-times"
            else {}
        )
        for e in golden.entities
    ]
    assert_prf(score(golden, rebuilt(golden, entities=entities)).entities, matched=29, expected=29, actual=29)
    unknown = [
        e.model_dump(mode="json") | ({"name": "V.V.P.", "aliases": []} if e.id == "vladimir-putin" else {})
        for e in golden.entities
    ]
    assert_prf(score(golden, rebuilt(golden, entities=unknown)).entities, matched=28, expected=29, actual=29)


def test_dropping_sources_costs_their_claims_too(golden: Summary) -> None:
    gone = {"the-guardian", "vatican-officials"}
    citing = [c for c in golden.claims if c.source_id in gone]
    assert len(citing) == 2
    degraded = golden.model_copy(update={"sources": [s for s in golden.sources if s.id not in gone]})
    scores = score(golden, degraded)
    assert_prf(scores.sources, matched=9, expected=11, actual=9)
    # A claim whose source is unknown in the output no longer agrees with the golden's source.
    assert_prf(scores.claims, matched=28, expected=30, actual=30)


def test_sources_match_by_name_ignoring_case_and_quotes(golden: Summary) -> None:
    changed = with_source(golden, "the-guardian", name="THE GUARDIAN")
    assert_prf(score(golden, changed).sources, matched=11, expected=11, actual=11)


def test_changing_a_claims_source_unmatches_that_claim(golden: Summary) -> None:
    degraded = with_claim(golden, "c8", source_id="the-times-of-london")
    scores = score(golden, degraded)
    assert_prf(scores.claims, matched=29, expected=30, actual=30)
    assert scores.claims.f1 == pytest.approx(29 / 30)
    assert_prf(
        score(golden, with_claim(golden, "c8", source_id=None)).claims, matched=29, expected=30, actual=30
    )


def test_claim_wording_does_not_matter_to_the_score(golden: Summary) -> None:
    claims = [
        c.model_dump(mode="json") | {"statement": f"Reworded {c.id}", "hedged": not c.hedged}
        for c in golden.claims
    ]
    assert_prf(score(golden, rebuilt(golden, claims=claims)).claims, matched=30, expected=30, actual=30)


def test_evidence_overlap_threshold(golden: Summary) -> None:
    c7 = claim(golden, "c7")  # [1007:1052], 45 characters
    assert (c7.evidence.start, c7.evidence.end) == (1007, 1052)
    # The shorter span counts: a 20-character quote inside the golden one overlaps fully.
    inside = with_claim(golden, "c7", evidence=span(1020, 1040))
    assert score(golden, inside).claims.matched == 30
    # Half of the shorter span shared: still a match (the threshold is inclusive).
    half = with_claim(golden, "c7", evidence=span(1042, 1062))  # shares 10 of 20 characters
    assert score(golden, half).claims.matched == 30
    less = with_claim(golden, "c7", evidence=span(1043, 1063))  # shares 9 of 20
    assert score(golden, less).claims.matched == 29
    assert score(golden, less, min_overlap=0.4).claims.matched == 30


def test_grounding_rate_and_attempts_come_from_meta(golden: Summary) -> None:
    meta = Meta(
        provider="p",
        model="m",
        prompt_version="v",
        attempts=3,
        warnings=["dropped claim 'a': no quote", "dropped claim 'b': no quote", "something else"],
    )
    scores = score(golden, golden.model_copy(update={"meta": meta}))
    assert scores.grounding_rate == pytest.approx(30 / 32)
    assert scores.attempts == 3
    assert scores.to_json()["grounding_rate"] == round(30 / 32, 4)


def test_empty_output_scores_zero_recall(golden: Summary) -> None:
    empty = Summary(headline="h", abstract="a")
    scores = score(golden, empty)
    assert_prf(scores.claims, matched=0, expected=30, actual=0)
    assert scores.claims.f1 == 0.0
    assert_prf(score(empty, empty).claims, matched=0, expected=0, actual=0)
    assert score(empty, empty).claims.f1 == 1.0


def test_prf_to_json_rounds_to_four_places() -> None:
    assert PRF(matched=2, expected=3, actual=3).to_json() == {
        "precision": 0.6667,
        "recall": 0.6667,
        "f1": 0.6667,
        "matched": 2,
        "expected": 3,
        "actual": 3,
    }

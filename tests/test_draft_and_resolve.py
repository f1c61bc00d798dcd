"""find_problems (the judge of a draft) and resolve (draft -> grounded public content)."""

from __future__ import annotations

import copy
import itertools
import json
import random
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from summarizer.extract.draft import DraftSummary, ProblemKind, describe, find_problems, validation_context
from summarizer.extract.grounding import Article
from summarizer.extract.resolve import Resolved, resolve, slug
from summarizer.schema import Summary

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "fixtures/cases/khamenei-moscow-exiles/article.txt"
REFERENCE = ROOT / "fixtures/references/khamenei-moscow-exiles.json"

MISQUOTE_INDEX = 12
GOOD_QUOTE = "Mr. Yanukovich fled to escape charges of mass murder in his homeland."
BAD_QUOTE = "Mr. Yanukovych fled to escape charges of mass murder in his homeland."

SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


@pytest.fixture(scope="module")
def text() -> str:
    return SEED.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def seed(text: str) -> Article:
    return Article(text)


@pytest.fixture(scope="module")
def _reference_data() -> dict[str, Any]:
    return json.loads(REFERENCE.read_text(encoding="utf-8"))


@pytest.fixture
def data(_reference_data: dict[str, Any]) -> dict[str, Any]:
    """A fresh, mutable copy of the reference draft's JSON."""
    return copy.deepcopy(_reference_data)


@pytest.fixture(scope="module")
def reference(_reference_data: dict[str, Any]) -> DraftSummary:
    return DraftSummary.model_validate(_reference_data)


@pytest.fixture(scope="module")
def resolved(reference: DraftSummary, seed: Article) -> Resolved:
    return resolve(reference, seed)


def draft(data: dict[str, Any]) -> DraftSummary:
    return DraftSummary.model_validate(data)


def entity_index(data: dict[str, Any], draft_id: str) -> int:
    return next(i for i, e in enumerate(data["entities"]) if e["id"] == draft_id)


def to_summary(res: Resolved) -> Summary:
    return Summary(
        headline=res.headline,
        abstract=res.abstract,
        entities=res.entities,
        sources=res.sources,
        claims=res.claims,
    )


# =========================================================================== find_problems


def test_reference_fixture_has_the_misquoted_claim(data: dict[str, Any]) -> None:
    assert data["claims"][MISQUOTE_INDEX]["quote"] == GOOD_QUOTE


def test_reference_draft_has_no_problems(reference: DraftSummary, seed: Article) -> None:
    assert find_problems(reference, seed) == []


def test_misquote_yields_exactly_one_ungrounded_quote(data: dict[str, Any], seed: Article) -> None:
    data["claims"][MISQUOTE_INDEX]["quote"] = BAD_QUOTE
    problems = find_problems(draft(data), seed)
    assert len(problems) == 1
    (problem,) = problems
    assert problem.kind is ProblemKind.UNGROUNDED_QUOTE
    assert problem.path == f"claims[{MISQUOTE_INDEX}].quote"
    assert f"claim {MISQUOTE_INDEX} " in problem.message
    assert repr(BAD_QUOTE) in problem.message
    assert f"The closest passage in the article is {GOOD_QUOTE!r}" in problem.message


def test_garbage_quote_message_has_no_hint(data: dict[str, Any], seed: Article) -> None:
    data["claims"][0]["quote"] = "zzzz qqqq xxxx jjjj wwww"
    (problem,) = find_problems(draft(data), seed)
    assert problem.kind is ProblemKind.UNGROUNDED_QUOTE
    assert "claim 0 " in problem.message
    assert "closest passage" not in problem.message


def test_ellipsis_join_grounds_but_a_statement_leaning_on_the_left_out_words_does_not(
    data: dict[str, Any], seed: Article
) -> None:
    # The pieces are in the article, in order, in one paragraph; but the statement's "Kyrgyz"
    # is only in the words the ellipsis left out.
    data["claims"][0]["quote"] = "Among those living well in Moscow ... Askar Akayev."
    problems = find_problems(draft(data), seed)
    assert [(p.kind, p.path) for p in problems] == [
        (ProblemKind.UNSUPPORTED_STATEMENT, "claims[0].statement")
    ]
    assert "'Kyrgyz'" in problems[0].message


def test_tolerated_variant_quote_is_not_a_problem(data: dict[str, Any], seed: Article) -> None:
    # straight quotes/apostrophes, a collapsed line break, a trailing period the article lacks
    data["claims"][0]["quote"] = (
        "Among those living well in Moscow are Syria's deposed dictator, Bashar al-Assad, "
        "and a former Kyrgyz strongman, Askar Akayev."
    )
    data["claims"][4]["quote"] = (
        "if his regime continues to crumble. The most recent dictator to seek a home by the Moskva "
        "River to avoid death or imprisonment at the hands of his own people was Bashar al-Assad."
    )
    assert find_problems(draft(data), seed) == []


def test_dangling_source_id(data: dict[str, Any], seed: Article) -> None:
    data["claims"][5]["source_id"] = "S99"
    problems = find_problems(draft(data), seed)
    assert [(p.kind, p.path) for p in problems] == [(ProblemKind.UNKNOWN_SOURCE, "claims[5].source_id")]
    assert "'S99'" in problems[0].message


def test_dangling_claim_entity_id(data: dict[str, Any], seed: Article) -> None:
    data["claims"][2]["entity_ids"].append("E99")
    problems = find_problems(draft(data), seed)
    assert [(p.kind, p.path) for p in problems] == [(ProblemKind.UNKNOWN_ENTITY, "claims[2].entity_ids")]
    assert "'E99'" in problems[0].message


def test_dangling_source_entity_id(data: dict[str, Any], seed: Article) -> None:
    data["sources"][1]["entity_id"] = "E99"
    problems = find_problems(draft(data), seed)
    assert [(p.kind, p.path) for p in problems] == [(ProblemKind.UNKNOWN_ENTITY, "sources[1].entity_id")]
    assert "'E99'" in problems[0].message


def test_duplicate_entity_id(data: dict[str, Any], seed: Article) -> None:
    data["entities"].append(copy.deepcopy(data["entities"][0]))
    n = len(data["entities"]) - 1
    problems = find_problems(draft(data), seed)
    assert [(p.kind, p.path) for p in problems] == [(ProblemKind.DUPLICATE_ID, f"entities[{n}].id")]
    assert "'E1'" in problems[0].message


def test_duplicate_source_id(data: dict[str, Any], seed: Article) -> None:
    dup = copy.deepcopy(data["sources"][1])
    data["sources"].insert(3, dup)
    problems = find_problems(draft(data), seed)
    assert [(p.kind, p.path) for p in problems] == [(ProblemKind.DUPLICATE_ID, "sources[3].id")]
    assert "'S2'" in problems[0].message


def test_alias_not_in_article(data: dict[str, Any], seed: Article) -> None:
    i = entity_index(data, "E12")
    data["entities"][i]["aliases"].append("Yanukovitch")
    j = len(data["entities"][i]["aliases"]) - 1
    problems = find_problems(draft(data), seed)
    assert [(p.kind, p.path) for p in problems] == [
        (ProblemKind.ALIAS_NOT_IN_ARTICLE, f"entities[{i}].aliases[{j}]")
    ]
    assert "'Yanukovitch'" in problems[0].message


def test_alias_only_inside_longer_word_is_not_in_article(data: dict[str, Any], seed: Article) -> None:
    i = entity_index(data, "E6")
    data["entities"][i]["aliases"].append("Irani")  # only inside "Iranian"
    problems = find_problems(draft(data), seed)
    assert [p.kind for p in problems] == [ProblemKind.ALIAS_NOT_IN_ARTICLE]


def test_entity_not_in_article(data: dict[str, Any], seed: Article) -> None:
    data["entities"].append(
        {
            "id": "E30",
            "name": "Vladimir Lenin",
            "type": "person",
            "aliases": ["Lenin", "Ilyich"],
            "description": "not in this story",
        }
    )
    problems = find_problems(draft(data), seed)
    assert [(p.kind, p.path) for p in problems] == [
        (ProblemKind.ENTITY_NOT_IN_ARTICLE, f"entities[{len(data['entities']) - 1}]")
    ]
    assert "'Vladimir Lenin'" in problems[0].message


def test_entity_named_only_by_alias_is_fine(data: dict[str, Any], seed: Article) -> None:
    # "United States" never appears, "America" does: that is not a problem
    assert seed.mentions("United States") == []
    i = entity_index(data, "E24")
    assert data["entities"][i]["name"] == "United States"
    assert find_problems(draft(data), seed) == []


def test_several_problems_are_all_reported(data: dict[str, Any], seed: Article) -> None:
    data["claims"][MISQUOTE_INDEX]["quote"] = BAD_QUOTE
    data["claims"][0]["source_id"] = "S42"
    data["entities"][0]["aliases"].append("Khomeini")
    kinds = sorted(p.kind for p in find_problems(draft(data), seed))
    assert kinds == sorted(
        [ProblemKind.UNGROUNDED_QUOTE, ProblemKind.UNKNOWN_SOURCE, ProblemKind.ALIAS_NOT_IN_ARTICLE]
    )


# =========================================================================== validation


def test_model_validate_with_article_raises_with_message(data: dict[str, Any], seed: Article) -> None:
    data["claims"][MISQUOTE_INDEX]["quote"] = BAD_QUOTE
    with pytest.raises(ValidationError) as info:
        DraftSummary.model_validate(data, context={"article": seed})
    message = str(info.value)
    assert "1 problem(s) with the summary" in message
    assert f"claims[{MISQUOTE_INDEX}].quote" in message
    assert repr(BAD_QUOTE) in message
    assert repr(GOOD_QUOTE) in message
    expected = describe(find_problems(draft(data), seed))
    assert expected.splitlines()[1] in message


def test_model_validate_with_validation_context_strict_raises(data: dict[str, Any], seed: Article) -> None:
    data["claims"][0]["source_id"] = "S99"
    with pytest.raises(ValidationError, match="source_id 'S99' is not a source id"):
        DraftSummary.model_validate(data, context=validation_context(seed))


def test_model_validate_lenient_does_not_raise(data: dict[str, Any], seed: Article) -> None:
    data["claims"][MISQUOTE_INDEX]["quote"] = BAD_QUOTE
    parsed = DraftSummary.model_validate(data, context=validation_context(seed, lenient=True))
    assert parsed.claims[MISQUOTE_INDEX].quote == BAD_QUOTE


def test_model_validate_good_draft_with_article(data: dict[str, Any], seed: Article) -> None:
    parsed = DraftSummary.model_validate(data, context=validation_context(seed))
    assert len(parsed.claims) == len(data["claims"])


def test_model_validate_without_article_does_not_judge(data: dict[str, Any]) -> None:
    data["claims"][MISQUOTE_INDEX]["quote"] = BAD_QUOTE
    assert DraftSummary.model_validate(data).claims[MISQUOTE_INDEX].quote == BAD_QUOTE


# =========================================================================== resolve: reference draft


def test_resolve_reference_has_no_warnings(resolved: Resolved) -> None:
    assert resolved.warnings == []


def test_resolve_keeps_every_reference_claim(resolved: Resolved, reference: DraftSummary) -> None:
    assert len(resolved.claims) == len(reference.claims)
    assert len(resolved.entities) == len(reference.entities)
    assert len(resolved.sources) == len(reference.sources)


def test_entity_ids_are_slugs(resolved: Resolved) -> None:
    ids = [e.id for e in resolved.entities]
    assert len(set(ids)) == len(ids)
    for entity in resolved.entities:
        assert SLUG.match(entity.id), entity.id
        assert entity.id == slug(entity.name, "entity")
    assert {"bashar-al-assad", "ali-khamenei", "nicolas-maduro", "moscow-state-university"} <= set(ids)


def test_source_ids_are_unique_slugs(resolved: Resolved) -> None:
    ids = [s.id for s in resolved.sources]
    assert len(set(ids)) == len(ids)
    assert all(SLUG.match(i) for i in ids)
    assert "the-times-of-london" in ids


def test_claims_ordered_by_evidence_with_sequential_ids(resolved: Resolved) -> None:
    starts = [(c.evidence.start, c.evidence.end) for c in resolved.claims]
    assert starts == sorted(starts)
    assert [c.id for c in resolved.claims] == [f"c{i}" for i in range(1, len(resolved.claims) + 1)]


def test_every_span_slices_exactly(resolved: Resolved, text: str) -> None:
    summary = to_summary(resolved)
    assert summary.check_offsets(text) == []
    spans = summary.spans()
    assert len(spans) > len(resolved.claims)
    for span in spans:
        assert text[span.start : span.end] == span.text


def test_entities_ordered_by_first_mention(resolved: Resolved) -> None:
    for entity in resolved.entities:
        assert entity.mentions, entity.id
        starts = [m.start for m in entity.mentions]
        assert starts == sorted(starts)
    firsts = [e.mentions[0].start for e in resolved.entities]
    assert firsts == sorted(firsts)
    assert resolved.entities[0].id == "ali-khamenei"  # "Khamenei’s" opens the headline
    assert resolved.entities[1].id == "moscow"


def test_mentions_never_overlap_across_entities(resolved: Resolved) -> None:
    spans = sorted((m for e in resolved.entities for m in e.mentions), key=lambda s: s.start)
    for prev, nxt in itertools.pairwise(spans):
        assert prev.end <= nxt.start


def test_moscow_state_university_owns_its_moscow(resolved: Resolved, text: str) -> None:
    by_id = {e.id: e for e in resolved.entities}
    msu = text.index("Moscow State University")
    assert [m.start for m in by_id["moscow-state-university"].mentions] == [msu]
    assert msu not in [m.start for m in by_id["moscow"].mentions]


def test_source_entity_links_resolve(resolved: Resolved) -> None:
    entity_ids = {e.id for e in resolved.entities}
    sources = {s.id: s for s in resolved.sources}
    for source in resolved.sources:
        assert source.entity_id is None or source.entity_id in entity_ids
    assert sources["the-times-of-london"].entity_id == "the-times"
    assert sources["the-guardian"].entity_id == "the-guardian"
    assert sources["2013-reuters-investigation"].entity_id == "reuters"
    assert sources["a-family-friend"].entity_id is None


def test_claim_references_resolve(resolved: Resolved) -> None:
    entity_ids = {e.id for e in resolved.entities}
    source_ids = {s.id for s in resolved.sources}
    for claim in resolved.claims:
        assert claim.source_id is None or claim.source_id in source_ids
        assert set(claim.entity_ids) <= entity_ids
    # Summary's own validator agrees
    to_summary(resolved)


def test_sources_ordered_by_first_citation(resolved: Resolved) -> None:
    first_cited: dict[str, int] = {}
    for i, claim in enumerate(resolved.claims):
        if claim.source_id is not None:
            first_cited.setdefault(claim.source_id, i)
    keys = [first_cited.get(s.id, len(resolved.claims)) for s in resolved.sources]
    assert keys == sorted(keys)
    assert resolved.sources[0].id == "the-times-of-london"


def test_yanukovych_entity_has_both_spellings(resolved: Resolved) -> None:
    (entity,) = [e for e in resolved.entities if e.id == "viktor-yanukovych"]
    texts = [m.text for m in entity.mentions]
    assert any("Yanukovych" in t for t in texts)
    assert any("Yanukovich" in t for t in texts)


def test_possessive_headline_mention(resolved: Resolved, text: str) -> None:
    (entity,) = [e for e in resolved.entities if e.id == "ali-khamenei"]
    assert entity.mentions[0].start == 0
    assert entity.mentions[0].text == "Khamenei"
    assert text.startswith("Khamenei’s")


def test_headline_and_abstract_are_single_line(data: dict[str, Any], seed: Article) -> None:
    data["headline"] = "  Khamenei\n  plan  "
    data["abstract"] = "One.\n\nTwo   three."
    res = resolve(draft(data), seed)
    assert res.headline == "Khamenei plan"
    assert res.abstract == "One. Two three."


# =========================================================================== resolve: drops and warnings


def test_ungrounded_claim_is_dropped_with_warning(
    data: dict[str, Any], seed: Article, resolved: Resolved
) -> None:
    statement = data["claims"][MISQUOTE_INDEX]["statement"]
    data["claims"][MISQUOTE_INDEX]["quote"] = BAD_QUOTE
    res = resolve(draft(data), seed)
    assert len(res.claims) == len(resolved.claims) - 1
    assert statement not in [c.statement for c in res.claims]
    assert [c.statement for c in res.claims] == [
        c.statement for c in resolved.claims if c.statement != statement
    ]
    assert [c.id for c in res.claims] == [f"c{i}" for i in range(1, len(res.claims) + 1)]
    assert len(res.warnings) == 1
    assert "dropped claim" in res.warnings[0]
    assert "not in the article" in res.warnings[0]
    assert "Yanukovych fled" in res.warnings[0]


def test_claim_citing_unknown_source_is_dropped(data: dict[str, Any], seed: Article) -> None:
    statement = data["claims"][0]["statement"]
    data["claims"][0]["source_id"] = "S99"
    res = resolve(draft(data), seed)
    assert len(res.claims) == len(data["claims"]) - 1
    assert statement not in [c.statement for c in res.claims]
    assert len(res.warnings) == 1
    assert "S99" in res.warnings[0]


def test_unknown_claim_entity_ref_is_removed_with_warning(data: dict[str, Any], seed: Article) -> None:
    data["claims"][2]["entity_ids"].append("E99")
    res = resolve(draft(data), seed)
    assert len(res.claims) == len(data["claims"])
    (claim,) = [c for c in res.claims if c.statement == data["claims"][2]["statement"]]
    assert claim.entity_ids == ["ali-khamenei", "moscow", "the-times"]
    assert len(res.warnings) == 1
    assert "E99" in res.warnings[0]
    assert "unknown entity" in res.warnings[0]


def test_unknown_source_entity_ref_is_removed_with_warning(data: dict[str, Any], seed: Article) -> None:
    data["sources"][0]["entity_id"] = "E99"
    res = resolve(draft(data), seed)
    (source,) = [s for s in res.sources if s.id == "the-times-of-london"]
    assert source.entity_id is None
    assert len(res.warnings) == 1
    assert "E99" in res.warnings[0]


def test_alias_not_in_article_is_dropped_with_warning(data: dict[str, Any], seed: Article) -> None:
    i = entity_index(data, "E12")
    data["entities"][i]["aliases"].append("Yanukovitch")
    res = resolve(draft(data), seed)
    (entity,) = [e for e in res.entities if e.id == "viktor-yanukovych"]
    assert "Yanukovitch" not in entity.aliases
    assert entity.aliases == ["Mr. Yanukovich", "Yanukovich"]
    assert len(res.warnings) == 1
    assert "Yanukovitch" in res.warnings[0]


def test_entity_not_in_article_is_dropped_and_refs_removed(data: dict[str, Any], seed: Article) -> None:
    data["entities"].append(
        {"id": "E30", "name": "Vladimir Lenin", "type": "person", "aliases": [], "description": "absent"}
    )
    data["claims"][0]["entity_ids"].append("E30")
    res = resolve(draft(data), seed)
    assert "vladimir-lenin" not in [e.id for e in res.entities]
    assert len(res.entities) == len(data["entities"]) - 1
    assert len(res.claims) == len(data["claims"])
    assert len(res.warnings) == 2
    assert any("Vladimir Lenin" in w for w in res.warnings)
    assert any("E30" in w for w in res.warnings)
    assert to_summary(res).check_offsets(seed.text) == []


def test_duplicate_entity_id_keeps_first(data: dict[str, Any], seed: Article) -> None:
    dup = copy.deepcopy(data["entities"][0])
    dup["name"] = "Some Other Name"
    data["entities"].append(dup)
    res = resolve(draft(data), seed)
    assert [e.name for e in res.entities if e.id == "ali-khamenei"] == ["Ali Khamenei"]
    assert "some-other-name" not in [e.id for e in res.entities]
    assert len(res.warnings) == 1
    assert "duplicate entity id E1" in res.warnings[0]


def test_duplicate_source_id_keeps_first(data: dict[str, Any], seed: Article) -> None:
    dup = copy.deepcopy(data["sources"][0])
    dup["name"] = "Another Paper"
    data["sources"].append(dup)
    res = resolve(draft(data), seed)
    assert "another-paper" not in [s.id for s in res.sources]
    assert len(res.sources) == len(data["sources"]) - 1
    assert len(res.warnings) == 1
    assert "duplicate source id S1" in res.warnings[0]


def test_colliding_slugs_are_made_unique(seed: Article) -> None:
    d = DraftSummary(
        headline="h",
        abstract="a",
        entities=[
            # Different names (so not merged) whose slugs collide.
            {"id": "A", "name": "Bashar al-Assad", "type": "person", "description": "dictator"},
            {
                "id": "B",
                "name": "Bashar al Assad",
                "type": "person",
                "aliases": ["Mr. Assad"],
                "description": "x",
            },
        ],
        sources=[
            {"id": "S1", "name": "Times", "kind": "publication", "anonymous": False, "description": "x"},
            {"id": "S2", "name": "TIMES", "kind": "publication", "anonymous": False, "description": "y"},
        ],
        claims=[],
    )
    res = resolve(d, seed)
    assert [e.id for e in res.entities] == ["bashar-al-assad", "bashar-al-assad-2"]
    assert [s.id for s in res.sources] == ["times", "times-2"]


def test_same_named_entities_are_merged(seed: Article) -> None:
    d = DraftSummary(
        headline="h",
        abstract="a",
        entities=[
            {"id": "A", "name": "Moscow", "type": "location", "description": "city"},
            {
                "id": "B",
                "name": "Moscow",
                "type": "location",
                "aliases": ["Moskva River"],
                "description": "x",
            },
        ],
        claims=[
            {
                "statement": "s",
                "attribution": "article_assertion",
                "entity_ids": ["B"],
                "quote": "Moskva River",
            }
        ],
    )
    res = resolve(d, seed)
    assert [e.id for e in res.entities] == ["moscow"]
    assert res.entities[0].aliases == ["Moskva River"]
    assert res.claims[0].entity_ids == ["moscow"]
    assert any("merged 2 entities named 'Moscow'" in w for w in res.warnings)


def test_duplicate_claims_are_merged(data: dict[str, Any], seed: Article) -> None:
    data["claims"].append(copy.deepcopy(data["claims"][4]))
    res = resolve(draft(data), seed)
    assert len(res.claims) == len(data["claims"]) - 1


# =========================================================================== resolve: determinism


def test_resolve_is_deterministic(reference: DraftSummary, seed: Article) -> None:
    first = resolve(reference, seed)
    second = resolve(reference, seed)
    assert first == second
    assert to_summary(first).content() == to_summary(second).content()


def test_resolve_does_not_mutate_the_draft(reference: DraftSummary, seed: Article) -> None:
    before = reference.model_dump()
    resolve(reference, seed)
    assert reference.model_dump() == before


@settings(deadline=None, max_examples=25)
@given(rnd=st.randoms(use_true_random=False))
def test_entity_order_in_draft_does_not_matter(
    rnd: random.Random, reference: DraftSummary, resolved: Resolved, seed: Article
) -> None:
    entities = list(reference.entities)
    rnd.shuffle(entities)
    res = resolve(reference.model_copy(update={"entities": entities}), seed)
    assert res.entities == resolved.entities
    assert res.sources == resolved.sources
    assert res.claims == resolved.claims
    assert res.warnings == []


@settings(deadline=None, max_examples=25)
@given(rnd=st.randoms(use_true_random=False))
def test_claim_order_in_draft_does_not_matter(
    rnd: random.Random, reference: DraftSummary, resolved: Resolved, seed: Article
) -> None:
    claims = list(reference.claims)
    rnd.shuffle(claims)
    res = resolve(reference.model_copy(update={"claims": claims}), seed)
    assert res.claims == resolved.claims
    assert res.entities == resolved.entities


def test_reversed_entities_same_result(reference: DraftSummary, resolved: Resolved, seed: Article) -> None:
    res = resolve(reference.model_copy(update={"entities": reference.entities[::-1]}), seed)
    assert [e.id for e in res.entities] == [e.id for e in resolved.entities]
    assert res.entities == resolved.entities


def test_shared_alias_result_does_not_depend_on_entity_order(data: dict[str, Any], seed: Article) -> None:
    # A plausible model error: both Khameneis list the bare surname "Khamenei" as an alias.
    data["entities"][entity_index(data, "E27")]["aliases"].append("Khamenei")
    forward = resolve(draft(data), seed)
    data["entities"].reverse()
    backward = resolve(draft(data), seed)
    assert [e.id for e in forward.entities] == [e.id for e in backward.entities]
    assert forward.entities == backward.entities


def test_same_named_entities_do_not_depend_on_entity_order(seed: Article) -> None:
    entities = [
        {"id": "A", "name": "Moscow", "type": "location", "description": "city"},
        {"id": "B", "name": "Moscow", "type": "location", "description": "the same, twice"},
    ]
    claim = {
        "statement": "s",
        "attribution": "article_assertion",
        "entity_ids": ["A"],
        "quote": "Moskva River",
    }

    def run(order: list[dict[str, Any]]) -> Resolved:
        return resolve(DraftSummary(headline="h", abstract="a", entities=order, claims=[claim]), seed)

    forward, backward = run(entities), run(entities[::-1])
    assert forward.entities == backward.entities
    assert forward.claims == backward.claims


def _models(value: Any) -> list[Any]:
    """Every pydantic model inside ``value``, depth first."""
    from pydantic import BaseModel

    if isinstance(value, BaseModel):
        return [value, *(m for v in value.__dict__.values() for m in _models(v))]
    if isinstance(value, list):
        return [m for v in value for m in _models(v)]
    return []


def test_a_resolved_summary_is_what_validation_would_build(resolved: Resolved) -> None:
    # resolve and grounding build their models without validating them again (schema.built):
    # the result must be indistinguishable from the same summary validated field by field.
    summary = Summary(
        **{k: getattr(resolved, k) for k in ("headline", "abstract", "entities", "sources", "claims")}
    )
    validated = Summary.model_validate(summary.model_dump(exclude_unset=True))
    assert summary == validated
    built_models, validated_models = _models(summary), _models(validated)
    assert len(built_models) == len(validated_models) > 100
    for ours, theirs in zip(built_models, validated_models, strict=True):
        assert type(ours) is type(theirs)
        assert ours.model_fields_set == theirs.model_fields_set
    assert summary.model_dump(exclude_unset=True) == validated.model_dump(exclude_unset=True)
    assert summary.model_dump_json() == validated.model_dump_json()


def test_built_refuses_a_model_without_every_field() -> None:
    from summarizer.schema import Span, built

    assert built(Span, text="Moscow", start=0, end=6) == Span(text="Moscow", start=0, end=6)
    with pytest.raises(TypeError, match=r"Span built with fields missing \['end'\] or unknown \[\]"):
        built(Span, text="Moscow", start=0)
    with pytest.raises(TypeError, match=r"missing \[\] or unknown \['stop'\]"):
        built(Span, text="Moscow", start=0, end=6, stop=6)


def test_built_makes_what_model_construct_makes(resolved: Resolved) -> None:
    from summarizer.schema import Claim, Entity, Evidence, Source, Span

    models = _models([*resolved.entities, *resolved.sources, *resolved.claims])
    assert {type(m) for m in models} == {Span, Evidence, Claim, Entity, Source}
    for ours in models:
        theirs = type(ours).model_construct(**ours.__dict__)
        assert list(ours.__dict__.items()) == list(theirs.__dict__.items())  # the field order too
        assert ours.model_fields_set == theirs.model_fields_set
        assert ours.__pydantic_extra__ is theirs.__pydantic_extra__ is None
        assert ours.__pydantic_private__ is theirs.__pydantic_private__ is None
        assert repr(ours) == repr(theirs)


def test_built_refuses_a_model_it_would_build_wrong() -> None:
    from pydantic import BaseModel, Field, PrivateAttr

    from summarizer.schema import built

    class Aliased(BaseModel):
        value: int = Field(alias="v")

    class Private(BaseModel):
        value: int
        _seen: int = PrivateAttr(0)

    for model in (Aliased, Private):
        with pytest.raises(TypeError, match="cannot be built field by field"):
            built(model, value=1)  # type: ignore[type-var]

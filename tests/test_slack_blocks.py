"""Block Kit output: the golden summary reads well, any summary fits Slack's limits, and
``validate_blocks`` catches what Slack would reject."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from summarizer.schema import Attribution, Claim, Entity, EntityType, Meta, Source, SourceKind, Span, Summary
from summarizer.slack.blocks import (
    MAX_BLOCKS,
    MAX_HEADER,
    MAX_MESSAGE_TEXT,
    MAX_TEXT,
    clip_escaped,
    escape,
    fallback_text,
    slack_len,
    summary_blocks,
    to_mrkdwn,
    validate_blocks,
)

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "fixtures" / "cases" / "khamenei-moscow-exiles" / "golden.json"


@pytest.fixture(scope="module")
def golden() -> Summary:
    return Summary.model_validate_json(GOLDEN.read_text(encoding="utf-8"))


def texts(blocks: list[dict[str, Any]]) -> list[str]:
    """Every text in the blocks, in order."""
    found: list[str] = []
    for block in blocks:
        if "text" in block:
            found.append(block["text"]["text"])
        for element in block.get("elements", []):
            found.append(element["text"])
        for field in block.get("fields", []):
            found.append(field["text"])
    return found


def all_text(blocks: list[dict[str, Any]]) -> str:
    return "\n".join(texts(blocks))


# --------------------------------------------------------------------------- the golden summary


def test_golden_blocks_are_valid_and_readable(golden: Summary) -> None:
    blocks = summary_blocks(golden)
    assert validate_blocks(blocks, text=fallback_text(golden)) == []
    assert blocks[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": golden.headline, "emoji": False},
    }
    body = all_text(blocks)
    assert escape(golden.abstract) in body
    claim = golden.claims[0]
    assert escape(claim.statement) in body
    # The evidence is a quoted line under its claim.
    assert f"> “{escape(claim.evidence.text)}”" in body


def test_claims_show_source_attribution_and_hedging(golden: Summary) -> None:
    sources = {s.id: s for s in golden.sources}
    body = all_text(summary_blocks(golden, max_claims=len(golden.claims)))
    attributed = next(c for c in golden.claims if c.source_id and not sources[c.source_id].anonymous)
    name = sources[attributed.source_id].name  # type: ignore[index]
    assert f"— *{escape(name)}*, {attributed.attribution.value.replace('_', ' ')}" in body
    hedged = next(c for c in golden.claims if c.hedged)
    section = next(
        t
        for t in texts(summary_blocks(golden, max_claims=len(golden.claims)))
        if escape(hedged.statement) in t
    )
    assert "_hedged_" in section


def test_anonymous_sources_are_marked(golden: Summary) -> None:
    body = all_text(summary_blocks(golden))
    anonymous = [s for s in golden.sources if s.anonymous]
    named = [s for s in golden.sources if not s.anonymous]
    assert anonymous and named
    for source in anonymous:
        assert f"*{escape(source.name)}* _(anonymous)_" in body
    for source in named:
        assert f"*{escape(source.name)}* _(anonymous)_" not in body


def test_main_entities_come_first_by_mentions(golden: Summary) -> None:
    section = next(t for t in texts(summary_blocks(golden)) if t.startswith("*Main entities*"))
    most = max(golden.entities, key=lambda e: len(e.mentions))
    assert section.startswith(f"*Main entities*: {escape(most.name)} ")
    assert f"_…and {len(golden.entities) - 12} more entities_" in section


def test_claims_past_the_cap_are_counted(golden: Summary) -> None:
    blocks = summary_blocks(golden, max_claims=5)
    assert f"_…and {len(golden.claims) - 5} more claims_" in all_text(blocks)
    assert validate_blocks(blocks) == []


def test_source_url_and_requester(golden: Summary) -> None:
    blocks = summary_blocks(golden, source_url="https://news.example/a?x=1&y=2", requested_by="U123ABC")
    assert validate_blocks(blocks) == []
    context = blocks[1]["elements"][0]["text"]
    assert "<https://news.example/a?x=1&y=2|news.example/a?x=1&amp;y=2>" in context
    assert "requested by <@U123ABC>" in context


def test_meta_footer_and_warnings(golden: Summary) -> None:
    meta = Meta(
        provider="openai",
        model="gpt-4.1-mini",
        prompt_version="abc",
        warnings=["claim c3 dropped: its quote is not in the article", "still invalid after 3 attempt(s)"],
        duration_s=2.345,
    )
    blocks = summary_blocks(golden.model_copy(update={"meta": meta}))
    assert validate_blocks(blocks) == []
    body = all_text(blocks)
    assert ":warning: claim c3 dropped: its quote is not in the article" in body
    assert "gpt-4.1-mini · 30 claims · 11 sources · 2.3 s" in body


# --------------------------------------------------------------------------- any summary fits


def huge_summary(claims: int = 200, length: int = 5000) -> Summary:
    long = ("Lorem ipsum <b>dolor</b> & sit amet, consectetur adipiscing elit. " * (length // 60 + 1))[
        :length
    ]
    entities = [
        Entity(
            id=f"e{i}",
            name=f"Entity {i} {long[:200]}",
            type=EntityType.PERSON,
            description=long,
            mentions=[Span(text="x", start=i, end=i + 1)] * (i % 7),
        )
        for i in range(300)
    ]
    sources = [
        Source(
            id=f"s{i}",
            name=f"Source {i} {long}",
            kind=SourceKind.PERSON,
            anonymous=i % 2 == 0,
            description=long,
        )
        for i in range(150)
    ]
    claim_list = [
        Claim(
            id=f"c{i}",
            statement=f"Claim {i}: {long}",
            source_id=f"s{i % 150}",
            attribution=Attribution.DIRECT_QUOTE,
            hedged=i % 3 == 0,
            entity_ids=[f"e{i % 300}"],
            evidence=Span(text=long, start=0, end=len(long)),
        )
        for i in range(claims)
    ]
    meta = Meta(provider="openai", model="m" * 500, prompt_version="v", warnings=[long] * 40)
    return Summary(
        headline="A headline far too long for a header " * 40,
        abstract=long * 3,
        entities=entities,
        sources=sources,
        claims=claim_list,
        meta=meta,
    )


def test_a_huge_summary_still_fits() -> None:
    summary = huge_summary()
    blocks = summary_blocks(summary)
    assert validate_blocks(blocks, text=fallback_text(summary)) == []
    assert len(blocks) <= MAX_BLOCKS
    assert slack_len(blocks[0]["text"]["text"]) <= MAX_HEADER
    assert blocks[0]["text"]["text"].endswith("…")
    body = all_text(blocks)
    assert "_…and 192 more claims_" in body
    # Lists show the whole items that fit and count the rest.
    sources = next(t for t in texts(blocks) if t.startswith("*Sources* (150)"))
    more = re.search(r"_…and (\d+) more sources_$", sources)
    assert more and sources.count("\n• ") + int(more.group(1)) == 150
    assert "_…and 288 more entities_" in body
    assert "_…and 35 more warnings_" in body
    # Article text is escaped wherever it goes: no raw tag, no broken entity.
    assert "<b>" not in body and "&lt;b&gt;" in body
    for text in texts(blocks):
        assert not text.endswith("&am…")


@pytest.mark.parametrize("shown", [0, 1, 30, 500])
def test_any_claim_cap_fits(shown: int) -> None:
    assert validate_blocks(summary_blocks(huge_summary(), max_claims=shown)) == []


def test_astral_characters_count_double() -> None:
    """Emoji take two UTF-16 units: a header of 149 of them must still be cut to fit."""
    summary = Summary(headline="😀" * 149, abstract="🎉" * 3000)
    blocks = summary_blocks(summary)
    assert validate_blocks(blocks) == []
    assert slack_len(blocks[0]["text"]["text"]) <= MAX_HEADER
    assert slack_len(blocks[1]["text"]["text"]) <= MAX_TEXT


def test_an_article_cannot_ping_the_channel() -> None:
    summary = Summary(
        headline="<!channel> read this",
        abstract="Contact <@U0123> or <https://evil.example|click> & win.",
        sources=[Source(id="s1", name="<!here>", kind=SourceKind.PERSON)],
        claims=[
            Claim(
                id="c1",
                statement="<!everyone> it says",
                source_id="s1",
                attribution=Attribution.PARAPHRASE,
                evidence=Span(text="<!subteam^S1>", start=0, end=13),
            )
        ],
    )
    blocks = summary_blocks(summary)
    assert validate_blocks(blocks) == []
    body = "\n".join(texts(blocks)[1:])  # the header is plain_text: Slack does not parse it
    for dangerous in ("<!channel>", "<!here>", "<!everyone>", "<@U0123>", "<https://evil", "<!subteam"):
        assert dangerous not in body
    assert "&lt;!everyone&gt;" in body and "&amp; win" in body
    text = to_mrkdwn(summary)
    assert "<!" not in text and "&lt;!channel&gt;" in text


def test_empty_summary() -> None:
    blocks = summary_blocks(Summary(headline="", abstract=""))
    assert validate_blocks(blocks) == []
    assert blocks[0]["text"]["text"] == "Summary"


_text = st.text(st.characters(codec="utf-8"), max_size=400)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    headline=_text,
    abstract=_text,
    names=st.lists(_text, max_size=20),
    statements=st.lists(st.tuples(_text, _text, st.booleans()), max_size=40),
)
def test_never_fails_and_always_fits(
    headline: str, abstract: str, names: list[str], statements: list[tuple[str, str, bool]]
) -> None:
    sources = [
        Source(id=f"s{i}", name=name, kind=SourceKind.OTHER, anonymous=i % 2 == 1)
        for i, name in enumerate(names)
    ]
    claims = [
        Claim(
            id=f"c{i}",
            statement=statement,
            source_id=sources[i % len(sources)].id if sources else None,
            attribution=Attribution.REPORTED,
            hedged=hedged,
            evidence=Span(text=quote, start=0, end=len(quote)),
        )
        for i, (statement, quote, hedged) in enumerate(statements)
    ]
    summary = Summary(headline=headline, abstract=abstract, sources=sources, claims=claims)
    assert validate_blocks(summary_blocks(summary), text=fallback_text(summary)) == []
    assert slack_len(to_mrkdwn(summary)) <= MAX_MESSAGE_TEXT


# --------------------------------------------------------------------------- text forms


def test_to_mrkdwn(golden: Summary) -> None:
    text = to_mrkdwn(golden)
    assert text.startswith(f"*{golden.headline}*\n\n")
    assert escape(golden.claims[0].statement) in text
    assert f"> “{escape(golden.claims[0].evidence.text)}”" in text
    assert "(anonymous)" in text


def test_to_mrkdwn_is_cut_to_the_message_limit() -> None:
    text = to_mrkdwn(huge_summary())
    assert slack_len(text) <= MAX_MESSAGE_TEXT
    assert text.endswith("_…(cut to fit Slack's message limit)_")
    short = to_mrkdwn(huge_summary(), max_chars=1000)
    assert slack_len(short) <= 1000


def test_fallback_text(golden: Summary) -> None:
    assert fallback_text(golden) == f"Summary: {escape(golden.headline)}"
    assert slack_len(fallback_text(huge_summary())) <= 300


def test_clip_escaped_never_splits_an_entity() -> None:
    for limit in range(2, 30):
        clipped = clip_escaped("a&b<c>d&e" * 5, limit)
        assert slack_len(clipped) <= limit
        assert "&" not in clipped.replace("&amp;", "").replace("&lt;", "").replace("&gt;", "")


# --------------------------------------------------------------------------- validate_blocks


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


@pytest.mark.parametrize(
    ("blocks", "fragment"),
    [
        ([{"type": "divider"}] * 51, "51 blocks"),
        ([section("x" * 3001)], "3001 characters, at most 3000"),
        ([section("")], "non-empty"),
        (
            [{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}],
            "151 characters, at most 150",
        ),
        ([{"type": "header", "text": {"type": "mrkdwn", "text": "*h*"}}], "must be plain_text"),
        ([{"type": "context", "elements": [{"type": "mrkdwn", "text": "x"}] * 11}], "11 elements"),
        ([{"type": "context", "elements": []}], "1 to 10 elements"),
        ([{"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11}], "11 fields"),
        (
            [{"type": "section", "fields": [{"type": "mrkdwn", "text": "f" * 2001}]}],
            "2001 characters, at most 2000",
        ),
        ([{"type": "section"}], "needs a text or fields"),
        ([{"type": "section", "text": {"type": "markdown", "text": "x"}}], "type must be"),
        ([{"type": "divider", "block_id": "b" * 256}], "block_id"),
        ([{"type": "sparkle"}], "unknown block type"),
        (["divider"], "not an object"),
        ({"type": "divider"}, "must be a list"),
    ],
)
def test_validate_blocks_catches(blocks: Any, fragment: str) -> None:
    problems = validate_blocks(blocks)
    assert problems, blocks
    assert any(fragment in p for p in problems), problems


def test_validate_blocks_checks_the_message_text() -> None:
    assert validate_blocks([], text="x" * 40_000) == []
    assert validate_blocks([], text="x" * 40_001) == ["message text is 40001 characters: at most 40000"]


def test_validate_blocks_accepts_valid_blocks() -> None:
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "h" * 150}},
        section("x" * 3000),
        {"type": "section", "fields": [{"type": "mrkdwn", "text": "f" * 2000}] * 10},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "x"}] * 10},
        {"type": "divider", "block_id": "b" * 255},
    ]
    assert validate_blocks(blocks + [{"type": "divider"}] * 45) == []


def test_the_rendered_example_in_the_readme_is_valid() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("```json\n", readme.index("## Slack bot")) + len("```json\n")
    example = json.loads(readme[start : readme.index("```", start)])
    assert validate_blocks(example["blocks"], text=example["text"]) == []

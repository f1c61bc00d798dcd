"""The review page: evidence marked at its exact offsets, dropped claims listed, untrusted text inert.

Pages are read back with real parsers (the standard library's ``html.parser`` via
``tests/html_probe.py``, and lxml) rather than searched as strings.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import lxml.html
import pytest
from html_probe import merged, probe
from hypothesis import given, settings
from hypothesis import strategies as st

from summarizer.golden.cases import load_case, run_case
from summarizer.outputs.html import render
from summarizer.outputs.html.assets import JS, script_hash
from summarizer.outputs.html.dropped import parse_dropped
from summarizer.outputs.html.markup import Mark, mark_up
from summarizer.pipeline import Summarizer
from summarizer.schema import Claim, Entity, Evidence, Meta, Provenance, Source, Span, Summary
from summarizer.testing import ScriptedLLM, tool_call_completion

ROOT = Path(__file__).resolve().parent.parent
SEED_CASE = ROOT / "fixtures" / "cases" / "khamenei-moscow-exiles"


@pytest.fixture(scope="module")
def seed() -> tuple[Summary, str]:
    """The seed case replayed from its recording (gpt-4.1-mini), and its article."""
    case = load_case(SEED_CASE)
    return run_case(case), case.article_path.read_text(encoding="utf-8")


def span(article: str, needle: str, after: int = 0) -> Span:
    start = article.index(needle, after)
    return Span(text=needle, start=start, end=start + len(needle))


def assert_claims_marked(page: str, summary: Summary, article: str) -> None:
    seen = probe(page)
    assert seen.article == article, "the page must show the article text exactly, once"
    for n, claim in enumerate(summary.claims, 1):
        evidence = claim.evidence
        pieces = [(f.start, f.end) for f in evidence.fragments] or [(evidence.start, evidence.end)]
        assert seen.ranges(**{"data-claim": claim.id}) == merged(pieces), claim.id
        for start, end in merged(pieces):
            assert seen.article[start:end] == article[start:end]
        first = [p for p in seen.pieces if p.attrs.get("id") == f"ev-{n}"]
        assert len(first) == 1 and first[0].start == pieces[0][0], f"claims link to #ev-{n}"
    for entity in summary.entities:
        expected = merged([(m.start, m.end) for m in entity.mentions])
        assert seen.ranges(**{"data-entity": entity.id}) == expected, entity.id


def test_seed_page_marks_every_claim_and_mention_at_its_exact_offsets(seed: tuple[Summary, str]) -> None:
    summary, article = seed
    assert len(summary.claims) >= 20
    page = render(summary, article)
    assert_claims_marked(page, summary, article)
    seen = probe(page)
    kinds = {p.attrs["class"] for p in seen.pieces if p.tag == "mark"}
    assert {"ev ev-named", "ev ev-anon", "ev ev-article"} <= kinds
    # Colour is not the only signal: every mark says in words whose claim it is and who it rests on.
    for piece in (p for p in seen.pieces if p.tag == "mark"):
        assert re.match(r"Claim \d+: ", piece.attrs["title"])
    # ...and each claim's number follows its evidence, linking back to the claim in the panel.
    document = lxml.html.document_fromstring(page)
    for n in range(1, len(summary.claims) + 1):
        assert len(document.xpath(f"//div[@class='article']//sup/a[@href='#claim-{n}']")) == 1
        assert len(document.xpath(f"//aside//li[@id='claim-{n}']//a[@href='#ev-{n}']")) == 1


def fragmented_summary(article: str) -> Summary:
    """Hand-built over the seed article: a quote in two fragments (as issue 13 records a quote with
    an ellipsis), claims overlapping and nested, and a mention crossing a quote's end."""
    sentence = span(article, "He is studying Russian and brushing up on his ophthalmology again.")
    first = span(article, "He is studying Russian", sentence.start)
    second = span(article, "his ophthalmology again.", sentence.start)
    outer = span(article, "brushing up on his ophthalmology again. It’s a passion of his")
    inner = span(article, "a passion of his", outer.start)
    assad = span(article, "Bashar al-Assad")
    wide = span(article, article[assad.start - 20 : assad.start + 5])  # ends inside the mention
    return Summary(
        headline="Fragments and overlaps",
        abstract="A hand-built summary to test the markup.",
        entities=[Entity(id="assad", name="Bashar al-Assad", type="person", mentions=[assad])],
        sources=[Source(id="friend", name="a family friend", kind="person", anonymous=True)],
        claims=[
            Claim(
                id="c1",
                statement="Assad is studying Russian and ophthalmology.",
                source_id="friend",
                attribution="direct_quote",
                evidence=Evidence(**sentence.model_dump(), fragments=[first, second]),
            ),
            Claim(
                id="c2",
                statement="Outer.",
                attribution="article_assertion",
                evidence=Evidence(**outer.model_dump()),
            ),
            Claim(
                id="c3",
                statement="Inner.",
                attribution="paraphrase",
                hedged=True,
                source_id="friend",
                evidence=Evidence(**inner.model_dump()),
            ),
            Claim(
                id="c4",
                statement="Crossing.",
                attribution="article_assertion",
                evidence=Evidence(**wide.model_dump()),
            ),
        ],
    )


def test_fragments_overlaps_and_crossing_mentions_are_marked_exactly(article: str) -> None:
    summary = fragmented_summary(article)
    page = render(summary, article)
    assert_claims_marked(page, summary, article)
    seen = probe(page)
    evidence = summary.claims[0].evidence
    gap = evidence.fragments[0].end, evidence.fragments[1].start
    assert seen.ranges(**{"data-gap": "c1"}) == [gap]
    assert "hedged" in seen.text


@settings(max_examples=150, deadline=None)
@given(
    st.text(alphabet="ab<>&\"' \n", min_size=1, max_size=40),
    st.lists(st.tuples(st.integers(0, 40), st.integers(0, 40), st.integers(0, 2)), max_size=8),
)
def test_any_overlap_of_spans_tiles_each_range_exactly(text: str, raw: list[tuple[int, int, int]]) -> None:
    marks = [
        Mark(min(a, b), max(a, b), ("mark", "span", "b")[k], (("data-k", str(i)),))
        for i, (a, b, k) in enumerate(raw)
    ]
    seen = probe(f'<div class="article">{mark_up(text, marks)}</div>')
    assert seen.article == text
    for i, mark in enumerate(marks):
        expected = [(mark.start, mark.end)] if 0 <= mark.start < mark.end <= len(text) else []
        assert seen.ranges(**{"data-k": str(i)}) == expected


def test_dropped_claims_are_listed_with_the_models_quote_and_why(
    article: str, misquoted_draft: dict[str, Any], settings: Any
) -> None:
    """The pipeline drops a misquoted claim (the model's Yanukovych for the article's Yanukovich)
    and one citing a source that does not exist; the page lists both."""
    misquoted_draft["claims"][3]["source_id"] = "no-such-source"
    llm = ScriptedLLM([tool_call_completion(misquoted_draft)] * 2)
    summary = Summarizer(settings(max_reasks=1), transport=llm).summarize(article)
    assert summary.meta is not None
    warned = [w for w in summary.meta.warnings if w.startswith("dropped claim")]
    assert len(warned) == 2
    page = render(summary, article)
    section = lxml.html.document_fromstring(page).get_element_by_id("dropped-h").getparent()
    items = section.findall(".//li")
    assert len(items) == len(warned)
    listed = " ".join(item.text_content() for item in items)
    assert "Yanukovych" in listed and "its quote is not in the article" in listed
    assert "it cites unknown source no-such-source" in listed
    for warning in warned:
        dropped = parse_dropped(warning)
        assert dropped is not None and dropped.statement and dropped.statement in listed
    assert_claims_marked(page, summary, article)


def test_dropped_claim_lines_parse_whatever_their_quoting() -> None:
    line = 'chunk 2 of 3: dropped claim \'He said "no"\': its quote is not in the article: "it\'s gone"'
    dropped = parse_dropped(line)
    assert dropped is not None
    assert (dropped.statement, dropped.quote, dropped.chunk) == ('He said "no"', "it's gone", "2 of 3")
    assert dropped.reason == "its quote is not in the article"
    odd = parse_dropped("dropped claim without the usual shape")
    assert odd is not None and odd.reason == "dropped claim without the usual shape"
    assert parse_dropped("entity 'x': dropped alias 'y', not in the article") is None


HOSTILE_ARTICLE = (
    "Officials said <script>alert('article')</script> was found on the site.\n"
    'A reader wrote <img src=x onerror="alert(1)"> and </div></main><b onclick=alert(2)>bold</b> & more.\n'
)


def hostile_summary(article: str) -> Summary:
    """Model output as an attacker would shape it: markup in every field the page shows."""
    script = span(article, "<script>alert('article')</script>")
    img = span(article, 'A reader wrote <img src=x onerror="alert(1)">')
    return Summary(
        headline="</title><script>alert('headline')</script>",
        abstract='<svg onload="alert(3)"></svg>',
        entities=[
            Entity(
                id='x" onmouseover="alert(4)',
                name="<script>alert(5)</script>",
                type="other",
                aliases=["<i onclick=x>"],
                mentions=[span(article, "<script>")],
            )
        ],
        sources=[Source(id="s", name='"><b onclick="alert(6)">', kind="person", description="<script>")],
        claims=[
            Claim(
                id="c1",
                statement="</mark><script>alert('claim')</script>",
                source_id="s",
                attribution="direct_quote",
                evidence=Evidence(**script.model_dump()),
            ),
            Claim(
                id='c2"><script>',
                statement="Image.",
                attribution="article_assertion",
                evidence=Evidence(**img.model_dump()),
            ),
        ],
        provenance=Provenance.of(article, Provenance(url="javascript:alert(7)", title="<script>t</script>")),
        meta=Meta(
            provider="openai",
            model="<script>m</script>",
            prompt_version="p",
            warnings=["dropped claim '<script>x</script>': its quote is not in the article: '<img src=y>'"],
        ),
    )


def test_injected_markup_is_inert_text() -> None:
    summary = hostile_summary(HOSTILE_ARTICLE)
    page = render(summary, HOSTILE_ARTICLE)
    seen = probe(page)
    assert seen.scripts == [JS], "the page's only script is ours"
    assert seen.article == HOSTILE_ARTICLE, "the article's markup is shown as text"
    tags = {tag for tag, _ in seen.tags}
    assert not tags & {"img", "svg", "b", "i"}
    for tag, attrs in seen.tags:
        assert not [a for a in attrs if a.startswith("on")], f"<{tag}> has an event handler"
        assert not attrs.get("href", "").lower().startswith("javascript:")
    assert "<script>alert('claim')</script>" in seen.text
    assert "<img src=y>" in seen.text  # the dropped claim's quote, as text
    document = lxml.html.document_fromstring(page)  # a second, independent parser agrees
    assert len(document.xpath("//script")) == 1
    assert document.xpath("//@*[starts-with(name(), 'on')]") == []
    assert_claims_marked(page, summary, HOSTILE_ARTICLE)


def test_page_is_self_contained_and_lets_only_its_own_script_run(seed: tuple[Summary, str]) -> None:
    page = render(*seed)
    seen = probe(page)
    assert not [t for t, _ in seen.tags if t in ("link", "img", "iframe", "object")]
    for _, attrs in seen.tags:
        assert "src" not in attrs
        assert attrs.get("href", "#").startswith("#")
    policy = next(a["content"] for t, a in seen.tags if t == "meta" and a.get("http-equiv"))
    assert "default-src 'none'" in policy and f"script-src {script_hash(seen.scripts[0])}" in policy


def test_page_has_landmarks_headings_and_a_print_style(seed: tuple[Summary, str]) -> None:
    summary, article = seed
    document = lxml.html.document_fromstring(render(summary, article))
    for landmark in ("header[@role='banner']", "main", "aside", "footer[@role='contentinfo']"):
        assert document.xpath(f"//{landmark}"), landmark
    assert [h.text_content() for h in document.xpath("//h1")] == [summary.headline]
    headings = " ".join(h.text_content() for h in document.xpath("//h2"))
    for part in ("Article text", "Claims by source", "Sources", "Entities", "Warnings", "How this summary"):
        assert part in headings
    assert "@media print" in document.xpath("//style")[0].text_content()
    run = document.xpath("//footer")[0].text_content()
    # The seed cassette's cost: its re-ask is a targeted repair, $0.0097 over both calls.
    assert summary.meta is not None and summary.meta.model in run and "$0.0097" in run
    assert f"${summary.meta.cost_usd:.4f}" == "$0.0097"
    assert f"{summary.meta.usage.prompt_tokens:,} in" in run


def test_provenance_is_shown_and_a_different_text_is_flagged(article: str) -> None:
    base = fragmented_summary(article)
    provenance = Provenance.of(
        article,
        Provenance(
            url="https://www.example.org/story",
            title="The story",
            published="2026-01-05",
            site_name="Example News",
        ),
    )
    summary = base.model_copy(update={"provenance": provenance})
    footer = lxml.html.document_fromstring(render(summary, article)).xpath("//footer")[0]
    shown = footer.text_content()
    for value in ("The story", "2026-01-05", "Example News", hashlib.sha256(article.encode()).hexdigest()):
        assert value in shown
    assert footer.xpath(".//a/@href") == ["https://www.example.org/story"]
    altered = render(summary, article.replace("Moscow", "Moskva", 1))
    alerts = lxml.html.document_fromstring(altered).xpath("//*[@role='alert']")
    assert any("not the exact text" in a.text_content() for a in alerts)


def test_a_summary_with_nothing_in_it_still_makes_a_page() -> None:
    """The SmolLM2-135M recording (a real, far too small model) yields no claims at all."""
    case = load_case(ROOT / "fixtures" / "cases" / "smollm2-khamenei-moscow-exiles")
    summary, article = run_case(case), case.article_path.read_text(encoding="utf-8")
    page = render(summary, article)
    seen = probe(page)
    assert seen.article == article
    assert len(summary.claims) == len({p.attrs["data-claim"] for p in seen.pieces if "data-claim" in p.attrs})
    document = lxml.html.document_fromstring(page)
    claims = document.get_element_by_id("claims-h").getparent().text_content()
    assert f"Claims by source ({len(summary.claims)})" in claims

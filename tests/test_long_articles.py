"""Long articles: chunked on paragraph boundaries, extracted per chunk, merged with true offsets.

The long article is the seed article forty-eight times over (30,000+ words), each copy
with its own numbers and a "Dispatch i.j:" tag on every paragraph, so that no two copies
are the same text. The model is an in-process transport that answers each request with a
draft built from the chunk it was sent (the text between <article> and </article>): it
quotes the chunk's first and last sentence, names Moscow and Khamenei, and cites one
source. What comes back must read as one summary of the whole article.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import ARTICLE_CANDIDATES
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from summarizer import Summarizer
from summarizer.config import Settings
from summarizer.errors import InputError
from summarizer.extract.chunking import Chunk, chunk_article, estimate_tokens
from summarizer.extract.grounding import Article
from summarizer.llm.budget import DEFAULT_CHUNK_TOKENS, MAX_ARTICLE_TOKENS
from summarizer.schema import Summary, Usage
from summarizer.testing import FakeOpenAIServer, tool_call_completion

COPIES = 48
_SENTENCE = re.compile(r"(?<=[.!?])[”’\"]*\s+(?=[A-Z“\"])")


def _vary(paragraph: str, copy: int, index: int) -> str:
    shifted = re.sub(r"\d+", lambda m: str(int(m.group()) + copy), paragraph)
    return f"Dispatch {copy}.{index}: {shifted}"


def long_article(seed: str, copies: int = COPIES) -> str:
    paragraphs = [p for p in seed.split("\n") if p.strip()]
    return "\n\n".join(_vary(p, c, j) for c in range(copies) for j, p in enumerate(paragraphs)) + "\n"


@pytest.fixture(scope="module")
def long_text() -> str:
    seed = ARTICLE_CANDIDATES[0].read_text(encoding="utf-8")
    text = long_article(seed)
    assert len(text.split()) >= 30_000
    return text


# --------------------------------------------------------------------------- a model that reads its chunk


def chunk_of(body: dict[str, Any]) -> str:
    """The article text a request carries: what sits between <article> and </article>."""
    user = next(m for m in body["messages"] if m["role"] == "user")
    content = str(user["content"])
    start = content.index("<article>\n") + len("<article>\n")
    return content[start : content.rindex("\n</article>")]


def sentences(chunk: str) -> list[str]:
    return [s for line in chunk.split("\n") if line.strip() for s in _SENTENCE.split(line.strip()) if s]


def draft_for(chunk: str) -> dict[str, Any]:
    found = sentences(chunk)
    first, last = found[0], found[-1]
    entities: list[dict[str, Any]] = []
    if Article(chunk).mentions("Moscow"):
        entities.append(
            {
                "id": "E1",
                "name": "Moscow",
                "type": "location",
                "aliases": [],
                "description": "Russia's capital",
            }
        )
    if Article(chunk).mentions("Ali Khamenei"):
        aliases = ["Khamenei"] if Article(chunk).mentions("Khamenei") else []
        entities.append(
            {"id": "E2", "name": "Ali Khamenei", "type": "person", "aliases": aliases, "description": "Iran"}
        )
    elif Article(chunk).mentions("Khamenei"):
        entities.append(
            {"id": "E2", "name": "Khamenei", "type": "person", "aliases": [], "description": "Iran's leader"}
        )
    ids = [e["id"] for e in entities]
    return {
        "headline": f"Dispatches begin: {first[:40]}",
        "abstract": "Exiles in Moscow.",
        "entities": entities,
        "sources": [
            {
                "id": "S1",
                "name": "The Times of London",
                "kind": "publication",
                "anonymous": False,
                "description": "A London newspaper",
            }
        ],
        "claims": [
            {
                "statement": f"The chunk opens: {first}",
                "source_id": "S1",
                "attribution": "reported",
                "entity_ids": ids[:1],
                "quote": first,
            },
            {
                "statement": f"The chunk closes: {last}",
                "source_id": None,
                "attribution": "article_assertion",
                "entity_ids": ids,
                "quote": last,
            },
        ],
    }


class ChunkReader(httpx.MockTransport):
    """Answers every chunk with a draft of that chunk; each answer has its own usage."""

    def __init__(self) -> None:
        self.chunks: list[str] = []
        self.usages: list[Usage] = []
        self._lock = threading.Lock()
        super().__init__(self._answer)

    def _answer(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        chunk = chunk_of(body)
        with self._lock:
            n = len(self.chunks)
            self.chunks.append(chunk)
            usage = Usage(
                prompt_tokens=2_000 + n, completion_tokens=300 + 11 * n, total_tokens=2_300 + 12 * n
            )
            self.usages.append(usage)
        completion = tool_call_completion(
            draft_for(chunk), prompt_tokens=usage.prompt_tokens, completion_tokens=usage.completion_tokens
        )
        return httpx.Response(200, json=completion)

    @property
    def total(self) -> Usage:
        total = Usage()
        for usage in self.usages:
            total = total + usage
        return total


def expected_evidence(text: str, chunks: list[Chunk]) -> set[tuple[int, int]]:
    """Where each chunk's first and last sentence are, in the full article."""
    spans = set()
    for chunk in chunks:
        piece = Article(text[chunk.start : chunk.end])
        for sentence in (sentences(piece.text)[0], sentences(piece.text)[-1]):
            local = piece.locate(sentence)
            assert local is not None
            spans.add((chunk.start + local.start, chunk.start + local.end))
    return spans


@pytest.fixture(scope="module")
def chunked_run(long_text: str) -> tuple[Summary, ChunkReader]:
    reader = ChunkReader()
    summary = Summarizer(Settings(api_key="sk-test-long"), transport=reader).summarize(long_text)
    return summary, reader


# --------------------------------------------------------------------------- chunked, merged, true offsets


def test_long_article_is_chunked_one_request_per_chunk(
    long_text: str, chunked_run: tuple[Summary, ChunkReader]
) -> None:
    summary, reader = chunked_run
    expected = chunk_article(long_text, DEFAULT_CHUNK_TOKENS)
    assert summary.meta is not None
    assert summary.meta.chunks == len(expected) > 1
    assert len(reader.chunks) == len(expected)
    assert (summary.meta.attempts, summary.meta.reasks) == (len(expected), 0)
    # The requests carry the article exactly once, in order, in the chunks chunk_article chose.
    assert reader.chunks == [long_text[c.start : c.end] for c in expected]
    assert "".join(reader.chunks) == long_text
    assert all(estimate_tokens(c) <= DEFAULT_CHUNK_TOKENS for c in reader.chunks)


def test_every_offset_slices_the_full_article(
    long_text: str, chunked_run: tuple[Summary, ChunkReader]
) -> None:
    summary, _ = chunked_run
    assert summary.check_offsets(long_text) == []
    assert summary.meta is not None and summary.meta.warnings == []


def test_entities_are_merged_across_chunks(long_text: str, chunked_run: tuple[Summary, ChunkReader]) -> None:
    summary, _ = chunked_run
    article = Article(long_text)

    moscows = [e for e in summary.entities if e.name == "Moscow"]
    assert [e.id for e in moscows] == ["moscow"]
    assert moscows[0].mentions == article.mentions("Moscow")
    assert moscows[0].mentions[0].start < len(long_text) // COPIES
    assert moscows[0].mentions[-1].start > len(long_text) - len(long_text) // COPIES

    # "Khamenei" named alone in later chunks is the "Ali Khamenei" of the first.
    khameneis = [e for e in summary.entities if "Khamenei" in e.name]
    assert [e.id for e in khameneis] == ["ali-khamenei"]
    assert khameneis[0].aliases == ["Khamenei"]
    everywhere = {(s.start, s.end) for s in article.mentions("Khamenei")} | {
        (s.start, s.end) for s in article.mentions("Ali Khamenei")
    }
    assert {(m.start, m.end) for m in khameneis[0].mentions} <= everywhere
    assert len(khameneis[0].mentions) == len(article.mentions("Khamenei"))

    assert len(summary.entities) == 2


def test_claims_come_from_every_chunk_sorted_with_unique_ids(
    long_text: str, chunked_run: tuple[Summary, ChunkReader]
) -> None:
    summary, _ = chunked_run
    chunks = chunk_article(long_text, DEFAULT_CHUNK_TOKENS)
    spans = [(c.evidence.start, c.evidence.end) for c in summary.claims]

    assert set(spans) == expected_evidence(long_text, chunks)
    assert spans == sorted(spans)
    assert [c.id for c in summary.claims] == [f"c{i}" for i in range(1, len(summary.claims) + 1)]
    assert len(summary.claims) == 2 * len(chunks)
    for chunk in chunks:
        assert any(chunk.start == start for start, _ in spans), "each chunk's first sentence is a claim"


def test_sources_are_merged_by_name(chunked_run: tuple[Summary, ChunkReader]) -> None:
    summary, _ = chunked_run
    assert [s.id for s in summary.sources] == ["the-times-of-london"]
    cited = {c.source_id for c in summary.claims}
    assert cited == {"the-times-of-london", None}
    moscow = "moscow"
    assert all(c.entity_ids[:1] == [moscow] for c in summary.claims if c.source_id is not None)


def test_usage_is_summed_over_every_chunk(chunked_run: tuple[Summary, ChunkReader]) -> None:
    summary, reader = chunked_run
    assert summary.meta is not None
    assert summary.meta.usage == reader.total
    assert summary.meta.usage.prompt_tokens == sum(2_000 + n for n in range(len(reader.chunks)))


def test_headline_comes_from_the_first_chunk(
    long_text: str, chunked_run: tuple[Summary, ChunkReader]
) -> None:
    summary, reader = chunked_run
    assert summary.headline == " ".join(draft_for(reader.chunks[0])["headline"].split())


def test_async_chunks_give_the_same_summary(long_text: str, chunked_run: tuple[Summary, ChunkReader]) -> None:
    sync_summary, _ = chunked_run
    reader = ChunkReader()

    summary = asyncio.run(
        Summarizer(Settings(api_key="sk-test-long"), transport=reader).asummarize(long_text)
    )

    assert summary.content() == sync_summary.content()
    assert summary.meta is not None and summary.meta.usage == reader.total
    assert "".join(sorted(reader.chunks, key=long_text.index)) == long_text


# --------------------------------------------------------------------------- chunk size and the hard limit


@pytest.mark.parametrize("max_input_tokens", [5_000, 20_000])
def test_max_input_tokens_changes_the_chunk_count(
    long_text: str, chunked_run: tuple[Summary, ChunkReader], max_input_tokens: int
) -> None:
    default_summary, _ = chunked_run
    reader = ChunkReader()

    summary = Summarizer(
        Settings(api_key="sk-test-long", max_input_tokens=max_input_tokens), transport=reader
    ).summarize(long_text)

    assert summary.meta is not None and default_summary.meta is not None
    assert summary.meta.chunks == len(chunk_article(long_text, max_input_tokens)) == len(reader.chunks)
    assert 1 < summary.meta.chunks < default_summary.meta.chunks
    assert all(estimate_tokens(c) <= max_input_tokens for c in reader.chunks)
    assert summary.check_offsets(long_text) == []
    assert [e.id for e in summary.entities if e.name == "Moscow"] == ["moscow"]


def test_max_input_tokens_through_the_cli(long_text: str, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from summarizer.cli import app

    path = tmp_path / "long.txt"
    path.write_text(long_text, encoding="utf-8")
    env: dict[str, str | None] = {"OPENAI_API_KEY": "sk-test-long", "OPENAI_BASE_URL": None}
    counts = {}
    with FakeOpenAIServer(answer=lambda body: draft_for(chunk_of(body))) as server:
        for size in ("20000", "60000"):
            server.reset_counts()
            args = ["summarize", str(path), "--base-url", server.base_url, "--max-input-tokens", size]
            result = CliRunner().invoke(app, [*args, "--no-cache"], env=env)
            assert result.exit_code == 0, result.stderr
            summary = Summary.model_validate_json(result.stdout)
            assert summary.meta is not None
            assert summary.meta.chunks == server.request_count == len(chunk_article(long_text, int(size)))
            assert summary.meta.usage == Usage(
                prompt_tokens=1_000 * server.request_count,
                completion_tokens=500 * server.request_count,
                total_tokens=1_500 * server.request_count,
            )
            assert summary.check_offsets(long_text) == []
            counts[size] = summary.meta.chunks
    assert counts["20000"] > counts["60000"] > 1


class NeverCalled(httpx.MockTransport):
    def __init__(self) -> None:
        super().__init__(self._fail)

    def _fail(self, request: httpx.Request) -> httpx.Response:
        raise AssertionError("no request may be sent for an article past the hard limit")


def test_past_the_hard_limit_is_an_input_error(long_text: str) -> None:
    huge = long_text * (MAX_ARTICLE_TOKENS * 3 // len(long_text) + 1)
    assert estimate_tokens(huge) > MAX_ARTICLE_TOKENS

    with pytest.raises(InputError, match=r"too long.*400,000 tokens"):
        Summarizer(Settings(api_key="sk-test-long"), transport=NeverCalled()).summarize(huge)


# --------------------------------------------------------------------------- chunk_article itself


def covers_exactly(text: str, chunks: list[Chunk]) -> None:
    assert chunks[0].start == 0
    assert chunks[-1].end == len(text)
    for before, after in itertools.pairwise(chunks):
        assert before.end == after.start, "chunks neither overlap nor leave a gap"
    assert all(c.end > c.start for c in chunks) or text == ""
    assert "".join(text[c.start : c.end] for c in chunks) == text


def test_a_short_text_is_one_chunk() -> None:
    assert chunk_article("A short article.\n\nTwo paragraphs.", 100) == [Chunk(0, 33)]


def test_paragraph_boundaries_are_respected() -> None:
    paragraphs = [f"Paragraph {i}. " + "Some words here. " * 16 for i in range(12)]
    text = "\n\n".join(paragraphs)
    max_tokens = 250  # two paragraphs (~95 tokens each) fit, three do not

    chunks = chunk_article(text, max_tokens)

    covers_exactly(text, chunks)
    assert len(chunks) == 6
    for chunk in chunks:
        assert estimate_tokens(text[chunk.start : chunk.end]) <= max_tokens
        assert text[chunk.start : chunk.start + 10].startswith("Paragraph")
        assert chunk.start == 0 or text[chunk.start - 2 : chunk.start] == "\n\n"


def test_an_over_long_paragraph_is_split_between_sentences() -> None:
    text = " ".join(f"Sentence number {i} says something short." for i in range(60))
    max_tokens = 100

    chunks = chunk_article(text, max_tokens)

    covers_exactly(text, chunks)
    assert len(chunks) > 1
    for chunk in chunks:
        piece = text[chunk.start : chunk.end]
        assert estimate_tokens(piece) <= max_tokens
        assert piece.startswith("Sentence number ")
        assert piece.rstrip().endswith("short.")


def test_an_over_long_sentence_is_split_between_words() -> None:
    text = " ".join(f"word{i}" for i in range(400)) + "."
    max_tokens = 40

    chunks = chunk_article(text, max_tokens)

    covers_exactly(text, chunks)
    assert len(chunks) > 1
    for before, after in itertools.pairwise(chunks):
        assert text[before.end - 1] == " " and text[after.start] != " "
    assert all(estimate_tokens(text[c.start : c.end]) <= max_tokens for c in chunks)


def test_a_word_longer_than_a_chunk_is_kept_whole() -> None:
    word = "x" * 300
    text = f"Short start. {word} short end."

    chunks = chunk_article(text, 20)

    covers_exactly(text, chunks)
    assert any(text[c.start : c.end].strip() == word for c in chunks)


def test_mixed_structure_with_a_custom_token_counter() -> None:
    def words(text: str) -> int:
        return len(text.split())

    text = "Intro line.\n\n" + " ".join(["Long sentence with many words"] * 10) + ".\n\nOutro."

    chunks = chunk_article(text, 8, count_tokens=words)

    covers_exactly(text, chunks)
    assert all(words(text[c.start : c.end]) <= 8 for c in chunks)


_ALPHABET = st.sampled_from(list('ab c.!?\n\n  \t\r…”’"é')) | st.characters(codec="utf-8")


@hypothesis_settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.text(_ALPHABET, max_size=2_000), max_tokens=st.integers(min_value=16, max_value=400))
def test_chunks_concatenate_to_the_text(text: str, max_tokens: int) -> None:
    chunks = chunk_article(text, max_tokens)

    covers_exactly(text, chunks)
    for chunk in chunks:
        piece = text[chunk.start : chunk.end]
        if estimate_tokens(piece) > max_tokens:
            # Only a single word that no split can shorten may stay over budget.
            assert re.search(r"\s", piece.strip()) is None, (piece, max_tokens)


_PARAGRAPH = st.text(st.sampled_from(list("ab .")), min_size=1, max_size=200).map(str.strip).filter(bool)


@hypothesis_settings(max_examples=100, deadline=None)
@given(paragraphs=st.lists(_PARAGRAPH, min_size=1, max_size=30), max_tokens=st.integers(16, 200))
def test_paragraphs_that_fit_are_never_split(paragraphs: list[str], max_tokens: int) -> None:
    text = "\n".join(paragraphs)
    chunks = chunk_article(text, max_tokens)

    covers_exactly(text, chunks)
    starts = {c.start for c in chunks}
    cursor = 0
    for paragraph in paragraphs:
        end = cursor + len(paragraph)
        if estimate_tokens(text[cursor : end + 1]) <= max_tokens:
            assert not starts.intersection(range(cursor + 1, end)), (paragraph, max_tokens)
        cursor = end + 1

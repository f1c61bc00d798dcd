"""A batch bounds requests, not articles, and never starts an article once it has stopped.

``summarizer batch -c N`` lets N requests out and keeps up to twice as many articles in
progress, so the next request is already waiting when an answer frees a slot (its checks run
while that request is out). An article waiting for its slot when the run stops (its budget
reached by the answer that just arrived, or Ctrl-C) is refused before it sends anything; an
article that has sent once is always finished. Against ``FakeOpenAIServer`` on 127.0.0.1 or
``ScriptedLLM`` (the real SDK and instructor); what is proven is counted by the server or
seen from inside the check: no clocks.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from requests_out import CountingTransport, requests_at_each_check

from summarizer.batch.items import BatchItem, ResultWriter
from summarizer.batch.runner import ARTICLES_PER_SLOT, BatchReport, run_batch
from summarizer.config import Settings
from summarizer.errors import NotStarted
from summarizer.llm.admission import Admission, admitting
from summarizer.pipeline import Summarizer
from summarizer.schema import Usage
from summarizer.testing import FakeOpenAIServer, ScriptedLLM, tool_call_completion


def _items(article: str, n: int) -> list[BatchItem]:
    # Distinct articles the reference draft still grounds in.
    return [BatchItem(id=f"a{i}", text=f"[item {i}]\n{article}") for i in range(n)]


def _batch(
    summarizer: Summarizer,
    items: list[BatchItem],
    out: Path,
    *,
    articles: int,
    budget_usd: float | None = None,
) -> BatchReport:
    writer = ResultWriter(out)
    try:
        return asyncio.run(run_batch(items, summarizer, writer, concurrency=articles, budget_usd=budget_usd))
    finally:
        writer.close()


def _requests_out_at_each_check(
    tmp_path: Path,
    article: str,
    reference_draft: dict[str, Any],
    settings: Callable[..., Settings],
    monkeypatch: pytest.MonkeyPatch,
    *,
    articles: int,
) -> list[int]:
    transport = CountingTransport()
    server = FakeOpenAIServer(reference_draft, keep_bodies=False, latency=0.2)  # held while we look
    seen = requests_at_each_check(monkeypatch, server)
    with server:
        summarizer = Summarizer(
            settings(base_url=server.base_url, max_in_flight=1), transport=transport, cache=None
        )
        report = _batch(summarizer, _items(article, 3), tmp_path / "out.jsonl", articles=articles)
    assert report.succeeded == 3 and transport.sent == 3 and server.peak_in_flight == 1
    return seen


def test_the_batch_sends_the_next_request_while_an_answer_is_checked(
    tmp_path: Path,
    article: str,
    reference_draft: dict[str, Any],
    settings: Callable[..., Settings],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One request slot, two articles per slot (what the CLI runs): while each answer but the
    last is checked, the next article's request is already out."""
    seen = _requests_out_at_each_check(
        tmp_path, article, reference_draft, settings, monkeypatch, articles=ARTICLES_PER_SLOT
    )
    assert seen == [1, 1, 0]


def test_one_article_per_slot_keeps_the_next_request_back_until_the_check_is_done(
    tmp_path: Path,
    article: str,
    reference_draft: dict[str, Any],
    settings: Callable[..., Settings],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The contrast: bounding articles (the batch before issue 14) leaves the slot idle during checks."""
    seen = _requests_out_at_each_check(tmp_path, article, reference_draft, settings, monkeypatch, articles=1)
    assert seen == [0, 0, 0]


def test_an_article_waiting_for_its_slot_is_not_started_once_the_budget_is_reached(
    tmp_path: Path, article: str, reference_draft: dict[str, Any], settings: Callable[..., Settings]
) -> None:
    """The first answer reaches the run budget: the three admitted articles waiting for the one
    slot send nothing, and are neither written nor counted as failed (a rerun does them)."""
    out = tmp_path / "out.jsonl"
    with FakeOpenAIServer(reference_draft, latency=0.05, keep_bodies=False) as server:
        summarizer = Summarizer(settings(base_url=server.base_url, max_in_flight=1), cache=None)
        first_answer = summarizer.cost_of(Usage(prompt_tokens=1, completion_tokens=1, total_tokens=2))
        assert first_answer is not None  # the model has a price: the budget can be held
        report = _batch(summarizer, _items(article, 6), out, articles=4, budget_usd=first_answer / 10)
    assert server.request_count == 1
    assert (report.succeeded, report.failed, report.not_started) == (1, 0, 3)
    assert report.stopped is not None and report.stopped.startswith("run budget of $")
    assert len(out.read_text(encoding="utf-8").splitlines()) == 1


def test_an_article_that_has_sent_once_is_finished_and_no_new_one_starts(
    article: str,
    reference_draft: dict[str, Any],
    misquoted_draft: dict[str, Any],
    settings: Callable[..., Settings],
) -> None:
    """The run stops on the first answer (a draft that needs a re-ask): the re-ask still goes, for
    what was paid for is finished; the next article is refused before it sends anything."""
    stopped: list[str] = []
    admission = Admission(lambda: stopped[0] if stopped else None, lambda usage: stopped.append("stopping"))
    llm = ScriptedLLM([tool_call_completion(misquoted_draft), tool_call_completion(reference_draft)])
    summarizer = Summarizer(settings(), transport=llm, cache=None)
    with admitting(admission):
        summary = summarizer.summarize(article)
        assert len(llm.requests) == 2 and summary.meta is not None and summary.meta.attempts == 2
        with pytest.raises(NotStarted, match="not started: stopping"):
            summarizer.summarize(f"[another]\n{article}")
    assert len(llm.requests) == 2  # nothing was sent for the refused article


def test_without_an_admission_nothing_is_refused(
    article: str, reference_draft: dict[str, Any], settings: Callable[..., Settings]
) -> None:
    llm = ScriptedLLM([tool_call_completion(reference_draft)])
    summary = Summarizer(settings(), transport=llm, cache=None).summarize(article)
    assert summary.claims and len(llm.requests) == 1

"""The cyclic collector is held off while an answer becomes a summary, and given back as it was.

``llm/collector.py`` touches process-wide state, so these tests hold it to that: the collector
is on again after every hold (an exception included), stays off if the application had turned it
off, stays off while any overlapping hold (another thread) is still inside, and really runs no
collection during the parse of a draft, which without the hold sets off several.
"""

from __future__ import annotations

import gc
import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from summarizer import Summarizer
from summarizer import pipeline as pipeline_module
from summarizer.config import Settings
from summarizer.extract import draft as draft_module
from summarizer.extract.draft import DraftSummary, grounding_against
from summarizer.extract.grounding import Article
from summarizer.llm.collector import collector_held
from summarizer.testing import ScriptedLLM, tool_call_completion


@pytest.fixture(autouse=True)
def _collector_on() -> Iterator[None]:
    assert gc.isenabled()
    yield
    gc.enable()


def test_off_inside_on_after_even_after_an_exception() -> None:
    with collector_held():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(KeyError), collector_held():
        raise KeyError("x")
    assert gc.isenabled()


def test_an_application_that_turned_it_off_keeps_it_off() -> None:
    gc.disable()
    with collector_held():
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_overlapping_holds_give_it_back_when_the_last_one_leaves() -> None:
    inside, leave = threading.Event(), threading.Event()

    def other() -> None:
        with collector_held():
            inside.set()
            leave.wait(10)

    thread = threading.Thread(target=other)
    thread.start()
    assert inside.wait(10)
    with collector_held():
        pass
    assert not gc.isenabled()  # the other thread is still inside its hold
    leave.set()
    thread.join(10)
    assert gc.isenabled()


def _collections_during(run: Callable[[], Any]) -> int:
    count = 0

    def seen(phase: str, info: dict[str, int]) -> None:
        nonlocal count
        count += phase == "start"

    gc.callbacks.append(seen)
    try:
        run()
    finally:
        gc.callbacks.remove(seen)
    return count


def test_no_collection_while_a_draft_is_parsed_and_checked(
    article: str, reference_draft: dict[str, Any]
) -> None:
    raw = json.dumps(reference_draft)

    def parse_all() -> None:
        for _ in range(5):
            with grounding_against(Article(article)):
                DraftSummary.model_validate_json(raw)

    def parse_all_held() -> int:
        # Counted inside the hold: the collection it defers may run as soon as it ends.
        with collector_held():
            return _collections_during(parse_all)

    gc.collect()
    assert _collections_during(parse_all) > 0  # what the hold is for: the parse sets them off
    gc.collect()
    assert parse_all_held() == 0


def test_a_summary_is_checked_and_resolved_with_the_collector_held(
    article: str,
    reference_draft: dict[str, Any],
    settings: Callable[..., Settings],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[bool] = []
    find_problems = draft_module.find_problems

    def spying(*args: Any) -> Any:
        seen.append(gc.isenabled())
        return find_problems(*args)

    resolved: list[bool] = []
    resolve = pipeline_module.resolve

    def spying_resolve(*args: Any) -> Any:
        resolved.append(gc.isenabled())
        return resolve(*args)

    monkeypatch.setattr(draft_module, "find_problems", spying)
    monkeypatch.setattr(pipeline_module, "resolve", spying_resolve)
    llm = ScriptedLLM([tool_call_completion(reference_draft)])
    summary = Summarizer(settings(), transport=llm).summarize(article)
    assert summary.claims
    assert (seen, resolved) == ([False], [False])
    assert gc.isenabled()

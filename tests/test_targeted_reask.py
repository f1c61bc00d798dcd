"""Targeted re-asks end to end: ``Summarizer`` over real HTTP (``FakeOpenAIServer`` on 127.0.0.1).

The scripted model's first draft is the hand-written reference with three realistic defects
written in by hand: claim 12 "corrects" the article's spelling (Yanukovich -> Yanukovych),
claim 21 keeps a statement that says the opposite of its quote (the "not ready" over "ready"
habit of a model that pastes a hint into the quote), and claim 8 quotes with an ellipsis (a
legitimate habit). The re-ask must carry claims 12 and 21 only, the repair must be merged,
and claim 8's evidence must slice exactly out of the article and list its fragments.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from typing import Any

from conftest import MISQUOTED_CLAIM

from summarizer.config import Settings
from summarizer.pipeline import Summarizer
from summarizer.testing import FakeOpenAIServer, Reply, tool_call_completion

CONTRADICTED_CLAIM = 21
ELLIPSIS_CLAIM = 8
ELLIPSIS_QUOTE = "He is studying Russian ... brushing up on his ophthalmology again."
WRONG_STATEMENT = "Vatican officials said Russia was not ready to grant asylum to Nicolás Maduro."


def first_draft(misquoted_draft: dict[str, Any]) -> dict[str, Any]:
    draft = copy.deepcopy(misquoted_draft)
    draft["claims"][CONTRADICTED_CLAIM]["statement"] = WRONG_STATEMENT
    draft["claims"][ELLIPSIS_CLAIM]["quote"] = ELLIPSIS_QUOTE
    return draft


def asked_claims(body: dict[str, Any]) -> list[int]:
    """The claims a repair request lists ("- claim 12: {...}")."""
    text = body["messages"][-1]["content"]
    return [int(n) for n in re.findall(r"^- claim (\d+):", text, re.MULTILINE)]


def tool_name(body: dict[str, Any]) -> str:
    return str(body["tools"][0]["function"]["name"])


def scripted(answers: dict[str, list[dict[str, Any]]]) -> Callable[[dict[str, Any]], Reply]:
    """Answers each request with the next answer for the tool it asks for."""

    def answer(body: dict[str, Any]) -> Reply:
        tool = tool_name(body)
        return Reply(tool_call_completion(answers[tool].pop(0), tool_name=tool, model=str(body["model"])))

    return answer


def test_a_targeted_reask_carries_only_the_failing_claims_and_is_merged(
    article: str,
    reference_draft: dict[str, Any],
    misquoted_draft: dict[str, Any],
    settings: Callable[..., Settings],
) -> None:
    draft = first_draft(misquoted_draft)
    right_quote = reference_draft["claims"][MISQUOTED_CLAIM]["quote"]
    right_statement = reference_draft["claims"][CONTRADICTED_CLAIM]["statement"]
    repair = {
        "repairs": [
            {"claim": MISQUOTED_CLAIM, "action": "fix", "quote": right_quote},
            {"claim": CONTRADICTED_CLAIM, "action": "fix", "statement": right_statement},
        ]
    }
    answers = {"DraftSummary": [draft], "DraftRepair": [repair]}
    with FakeOpenAIServer(answer=scripted(answers)) as server:
        summary = Summarizer(settings(base_url=server.base_url)).summarize(article)
        bodies = list(server.bodies)

    assert [tool_name(b) for b in bodies] == ["DraftSummary", "DraftRepair"]
    first, second = bodies
    # The repair request: the original prompt and one turn listing the two failing claims.
    assert second["messages"][:2] == first["messages"]
    assert [m["role"] for m in second["messages"]] == ["system", "user", "user"]
    assert asked_claims(second) == [MISQUOTED_CLAIM, CONTRADICTED_CLAIM]
    ask = second["messages"][2]["content"]
    assert draft["claims"][MISQUOTED_CLAIM]["quote"] in ask
    assert WRONG_STATEMENT in ask and "the statement negates but the quote does not" in ask
    # Not the draft: no other claim's statement travels with it.
    others = [c["statement"] for i, c in enumerate(draft["claims"]) if i not in (12, 21)]
    assert not any(statement in ask for statement in others)
    assert len(json.dumps(second["messages"])) < len(json.dumps(first["messages"])) + 3_000
    # The repair's output cap is a repair's, not a whole summary's.
    assert (second.get("max_completion_tokens") or second["max_tokens"]) < (
        first.get("max_completion_tokens") or first["max_tokens"]
    )

    # Merged: every claim is kept, the two repaired ones as repaired.
    assert summary.meta is not None
    assert (summary.meta.attempts, summary.meta.reasks, summary.meta.warnings) == (2, 1, [])
    assert len(summary.claims) == len(reference_draft["claims"])
    statements = {c.statement for c in summary.claims}
    assert right_statement in statements and WRONG_STATEMENT not in statements
    assert any(c.evidence.text == right_quote for c in summary.claims)
    assert summary.check_offsets(article) == []

    # The ellipsis quote: verbatim evidence from the first fragment to the last, fragments listed.
    (claim,) = [c for c in summary.claims if c.evidence.fragments]
    evidence = claim.evidence
    assert article[evidence.start : evidence.end] == evidence.text
    assert evidence.text == "He is studying Russian and brushing up on his ophthalmology again."
    assert [f.text for f in evidence.fragments] == [
        "He is studying Russian",
        "brushing up on his ophthalmology again.",
    ]
    for fragment in evidence.fragments:
        assert article[fragment.start : fragment.end] == fragment.text
    assert evidence.fragments[0].start == evidence.start and evidence.fragments[-1].end == evidence.end
    as_json = json.loads(summary.model_dump_json())
    assert any(c["evidence"]["fragments"] for c in as_json["claims"])


def test_a_contradicting_statement_is_sent_back_and_dropped_after_the_last_reask(
    article: str, reference_draft: dict[str, Any], settings: Callable[..., Settings]
) -> None:
    draft = copy.deepcopy(reference_draft)
    draft["claims"][CONTRADICTED_CLAIM]["statement"] = WRONG_STATEMENT
    # The model answers the repair request with the same wrong statement: still contradicting.
    repair = {"repairs": [{"claim": CONTRADICTED_CLAIM, "action": "fix", "statement": WRONG_STATEMENT}]}
    answers = {"DraftSummary": [draft], "DraftRepair": [repair]}
    with FakeOpenAIServer(answer=scripted(answers)) as server:
        summary = Summarizer(settings(base_url=server.base_url, max_reasks=1)).summarize(article)
        bodies = list(server.bodies)

    assert [tool_name(b) for b in bodies] == ["DraftSummary", "DraftRepair"]
    assert asked_claims(bodies[1]) == [CONTRADICTED_CLAIM]
    assert summary.meta is not None
    assert len(summary.claims) == len(reference_draft["claims"]) - 1
    assert WRONG_STATEMENT not in {c.statement for c in summary.claims}
    dropped = [w for w in summary.meta.warnings if "does not support it" in w]
    assert len(dropped) == 1 and "negates" in dropped[0]


def test_a_repair_may_drop_a_claim(
    article: str,
    reference_draft: dict[str, Any],
    misquoted_draft: dict[str, Any],
    settings: Callable[..., Settings],
) -> None:
    repair = {"repairs": [{"claim": MISQUOTED_CLAIM, "action": "drop"}]}
    answers = {"DraftSummary": [misquoted_draft], "DraftRepair": [repair]}
    with FakeOpenAIServer(answer=scripted(answers)) as server:
        summary = Summarizer(settings(base_url=server.base_url)).summarize(article)
    assert summary.meta is not None and summary.meta.warnings == []
    assert len(summary.claims) == len(reference_draft["claims"]) - 1


def test_a_model_that_answers_a_repair_with_the_whole_summary_is_still_understood(
    article: str,
    reference_draft: dict[str, Any],
    misquoted_draft: dict[str, Any],
    settings: Callable[..., Settings],
) -> None:
    # Some models ignore the tool they are given and resend everything: that answer is judged
    # as a complete summary.
    answers = {"DraftSummary": [misquoted_draft], "DraftRepair": [reference_draft]}
    with FakeOpenAIServer(answer=scripted(answers)) as server:
        summary = Summarizer(settings(base_url=server.base_url)).summarize(article)
    assert summary.meta is not None and summary.meta.warnings == []
    assert len(summary.claims) == len(reference_draft["claims"])


def test_a_draft_broken_as_a_whole_gets_a_full_reask(
    article: str, reference_draft: dict[str, Any], settings: Callable[..., Settings]
) -> None:
    broken = copy.deepcopy(reference_draft)
    broken["sources"][0]["entity_id"] = "E99"  # points nowhere: not a claim the repair could fix
    answers = {"DraftSummary": [broken, reference_draft], "DraftRepair": []}
    with FakeOpenAIServer(answer=scripted(answers)) as server:
        summary = Summarizer(settings(base_url=server.base_url)).summarize(article)
        bodies = list(server.bodies)
    assert [tool_name(b) for b in bodies] == ["DraftSummary", "DraftSummary"]
    assert [m["role"] for m in bodies[1]["messages"]] == ["system", "user", "assistant", "tool"]
    assert summary.meta is not None and summary.meta.warnings == []

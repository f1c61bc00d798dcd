"""The targeted re-ask's answer: corrections to the claims that failed, merged into the draft.

When only some claims of a draft fail (a quote not in the article, a statement its quote
does not support), asking for the complete summary again costs a full answer (thousands of
tokens) to fix a sentence, and gives the model the chance to break what was right. So the
model is asked for those claims only and answers with a ``DraftRepair``: for each claim
index, a corrected quote and statement, or "drop". The repair is merged into the draft the
program already holds, and the merged draft is judged like any other.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator
from pydantic.json_schema import SkipJsonSchema

from summarizer.extract.draft import DraftClaim, DraftSummary, Problem


class ClaimRepair(BaseModel):
    claim: int = Field(description="The index of the claim, as the list of problems gives it.")
    action: Literal["fix", "drop"] = Field(
        description='"fix": use the quote and statement below; "drop": the article does not support the claim.'
    )
    quote: str | None = Field(
        default=None,
        description="For fix: one contiguous passage copied character for character from the article.",
    )
    statement: str | None = Field(
        default=None,
        description=(
            "For fix: the claim as one self-contained sentence that the quote supports: every "
            "number, negation and name in it must be in the quote (or be the claim's entities)."
        ),
    )


class DraftRepair(BaseModel):
    """Corrections to some claims of your summary: one entry for each claim you were asked about."""

    repairs: list[ClaimRepair]
    # A model that answers with the complete summary anyway: taken as a full answer (and judged
    # as one). Not part of the schema the model is shown.
    summary: SkipJsonSchema[DraftSummary | None] = None

    @model_validator(mode="before")
    @classmethod
    def _complete_summary_instead(cls, data: Any) -> Any:
        if isinstance(data, dict) and "repairs" not in data and "claims" in data and "headline" in data:
            return {"repairs": [], "summary": data}
        return data


def claim_index(problem: Problem) -> int | None:
    """The claim a problem is about, from its path ("claims[12].quote" -> 12)."""
    if not problem.path.startswith("claims["):
        return None
    return int(problem.path[len("claims[") : problem.path.index("]")])


def apply_repair(draft: DraftSummary, repair: DraftRepair, asked: list[int]) -> DraftSummary:
    """``draft`` with the repairs to the ``asked`` claims applied (others are ignored)."""
    fixes: dict[int, ClaimRepair] = {}
    for item in repair.repairs:
        if item.claim in asked:
            fixes.setdefault(item.claim, item)
    claims: list[DraftClaim] = []
    for i, claim in enumerate(draft.claims):
        fix = fixes.get(i)
        if fix is None:
            claims.append(claim)
        elif fix.action == "fix":
            changes = {k: v for k, v in (("quote", fix.quote), ("statement", fix.statement)) if v}
            claims.append(claim.model_copy(update=changes))
        # "drop": the model withdraws the claim
    return draft.model_copy(update={"claims": claims})


def repair_request(draft: DraftSummary, problems: list[Problem], asked: list[int], note: str = "") -> str:
    """The re-ask message for some claims only: each claim as it stands and what is wrong with it."""
    lines = [
        "Some claims of your summary cannot be accepted yet; everything else in it is accepted and "
        'kept. Call DraftRepair with one entry for each claim below: action "fix" with a corrected '
        "quote (copied character for character from the article) and a statement that the quote "
        'supports, or action "drop" if the article does not support the claim.'
    ]
    if note:
        lines.append(note)
    for i in asked:
        claim = draft.claims[i]
        shown = json.dumps({"statement": claim.statement, "quote": claim.quote}, ensure_ascii=False)
        lines.append(f"- claim {i}: {shown}")
        lines += [f"  problem: {p.message}" for p in problems if claim_index(p) == i]
    return "\n".join(lines)

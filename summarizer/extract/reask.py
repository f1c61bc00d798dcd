"""The re-ask turn: the model's last draft and exactly what is wrong with it.

instructor's own re-ask appends every failed attempt and its error to the
conversation, so a stubborn article's context grows with each try (instructor
issues #2056, #1466, #1907). Ours does not: attempt N is the original prompt
(which carries the article once), the latest draft, and that draft's
validation errors only. Transport errors never appear here: they belong to the
transport retry, which resends the same request.

When only some claims fail, the re-ask is targeted (``repair.py``): it carries those
claims and their problems, and the model answers with corrections that are merged into
the draft held here. The complete summary is asked for again only when the draft as a
whole is broken (it does not fit the schema, its entities or sources are wrong, or most
of its claims fail). ``Conversation`` decides which, for the sync and the async loop alike.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from summarizer.errors import ExtractionError
from summarizer.extract.draft import (
    CLAIM_REPAIRABLE,
    DraftSummary,
    Problem,
    describe,
    find_problems,
    validation_context,
)
from summarizer.extract.grounding import Article
from summarizer.extract.repair import DraftRepair, apply_repair, claim_index, repair_request

DRAFT_TURN = "Here is the summary."
INTRO = (
    "Your summary cannot be accepted yet. Call the function again with the complete summary, "
    "fixing these problems and keeping everything else:"
)


def feedback(error: BaseException) -> str:
    """The problems with a draft, one line each, without pydantic's boilerplate."""
    lines: list[str] = []
    if isinstance(error, ValidationError):
        for detail in error.errors(include_url=False, include_input=False):
            message = str(detail["msg"]).removeprefix("Value error, ")
            where = ".".join(str(part) for part in detail["loc"])
            if message.startswith(tuple("0123456789")) and "problem(s) with the summary" in message:
                lines.extend(message.splitlines()[1:])  # our own list, already one line per problem
            else:
                lines.append(f"- {where or 'summary'}: {message}")
    elif isinstance(error, json.JSONDecodeError):
        lines.append(f"- the arguments were not valid JSON ({error.msg} at character {error.pos})")
    else:
        lines.append(f"- {error}")
    return "\n".join([INTRO, *lines])


def reask_messages(completion: Any, error: BaseException) -> list[dict[str, Any]]:
    """The two turns to append to the original prompt: the draft as the model gave it, then the problems."""
    message = completion.choices[0].message
    text = feedback(error)
    calls = message.tool_calls or []
    if calls:
        assistant = {
            "role": "assistant",
            # Not None or "": instructor turns an empty content into [], which llama.cpp's chat
            # templates (in-process and server) cannot render, so every re-ask failed there.
            "content": DRAFT_TURN,
            "tool_calls": [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.function.name, "arguments": call.function.arguments},
                }
                for call in calls
            ],
        }
        return [assistant, *({"role": "tool", "tool_call_id": call.id, "content": text} for call in calls)]
    return [{"role": "assistant", "content": message.content or ""}, {"role": "user", "content": text}]


def lenient_draft(raw: str | None, article: Article) -> DraftSummary | None:
    """The draft in ``raw`` if it fits the schema (grounding not judged), else None."""
    if raw is None:
        return None
    try:
        return DraftSummary.model_validate_json(raw, context=validation_context(article, lenient=True))
    except ValidationError:
        return None


def targeted(draft: DraftSummary, problems: list[Problem]) -> list[int] | None:
    """The claims to re-ask on their own, or None when the whole draft must be asked for again."""
    if not problems or any(p.kind not in CLAIM_REPAIRABLE for p in problems):
        return None
    asked = sorted({i for p in problems if (i := claim_index(p)) is not None})
    if len(asked) > max(1, len(draft.claims) // 2):
        return None  # most of it is wrong: a fresh answer is the better repair
    return asked


def _draft_turns(draft: DraftSummary, text: str) -> list[dict[str, Any]]:
    """A full re-ask for a draft the program merged itself: shown as the model's own call."""
    call = {
        "id": "call_merged_draft",
        "type": "function",
        "function": {"name": "DraftSummary", "arguments": draft.model_dump_json()},
    }
    return [
        {"role": "assistant", "content": DRAFT_TURN, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": call["id"], "content": text},
    ]


class Conversation:
    """What the next attempt sends, given the answers so far. Pure: it makes no calls.

    ``messages`` is the next request's conversation; ``asked`` the claims it asks to repair
    (empty: it asks for the complete summary); ``draft`` the latest complete draft, with every
    repair merged in (None until a draft fits the schema).
    """

    def __init__(self, prompt: list[dict[str, Any]], article: Article) -> None:
        self.prompt = prompt
        self.article = article
        self.messages: list[dict[str, Any]] = list(prompt)
        self.asked: list[int] = []
        self.draft: DraftSummary | None = None

    def output_cap(self, full: int) -> int:
        """The next call's output cap: a repair answers a few claims, not the whole summary."""
        return min(full, 1024 + 512 * len(self.asked)) if self.asked else full

    def rejected(self, raw: str | None, completion: Any, error: BaseException) -> None:
        """An answer that failed validation: plan the next turn."""
        parsed = lenient_draft(raw, self.article)
        if parsed is None and self.asked and self.draft is not None:
            # A repair that did not fit its own schema: the same claims again, saying why.
            self._plan(note=feedback(error).split("\n", 1)[-1])
            return
        if parsed is None:
            self.asked = []
            self.messages = [*self.prompt, *reask_messages(completion, error)]
            return
        self.draft = parsed
        self._plan(completion=completion, error=error)

    def answered(self, result: DraftSummary | DraftRepair) -> DraftSummary | None:
        """A valid answer: the finished draft, or None when a merged repair needs another turn."""
        if isinstance(result, DraftSummary):
            return result
        if result.summary is not None:
            return result.summary
        assert self.draft is not None, "a repair answers a repair request, which needs a draft"
        merged = apply_repair(self.draft, result, self.asked)
        self.draft = merged
        if not find_problems(merged, self.article):
            return merged
        self._plan()
        return None

    def _plan(self, *, completion: Any = None, error: BaseException | None = None, note: str = "") -> None:
        assert self.draft is not None
        problems = find_problems(self.draft, self.article)
        asked = targeted(self.draft, problems)
        if asked is not None:
            self.asked = asked
            turn = {"role": "user", "content": repair_request(self.draft, problems, asked, note)}
            self.messages = [*self.prompt, turn]
            return
        self.asked = []
        if completion is not None and error is not None:
            self.messages = [*self.prompt, *reask_messages(completion, error)]
        else:
            text = "\n".join([INTRO, *describe(problems).splitlines()[1:]])
            self.messages = [*self.prompt, *_draft_turns(self.draft, text)]


def salvage(raw: str | None, article: Article, attempts: int) -> DraftSummary:
    """Out of re-asks: the last draft, validated leniently, so that what is grounded can be kept.

    Lenient validation keeps ungrounded claims for ``resolve`` to drop one by one with a warning;
    a draft that does not even fit the schema is an error.
    """
    if raw is None:
        raise ExtractionError(f"the model returned no summary after {attempts} attempt(s)")
    try:
        return DraftSummary.model_validate_json(raw, context=validation_context(article, lenient=True))
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "the summary"
        raise ExtractionError(
            f"the model's answer did not fit the schema after {attempts} attempt(s): {where}: {first['msg']}"
        ) from None

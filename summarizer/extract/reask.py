"""The re-ask turn: the model's last draft and exactly what is wrong with it.

instructor's own re-ask appends every failed attempt and its error to the
conversation, so a stubborn article's context grows with each try (instructor
issues #2056, #1466, #1907). Ours does not: attempt N is the original prompt
(which carries the article once), the latest draft, and that draft's
validation errors only. Transport errors never appear here: they belong to the
transport retry, which resends the same request.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from summarizer.errors import ExtractionError
from summarizer.extract.draft import DraftSummary, validation_context
from summarizer.extract.grounding import Article

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

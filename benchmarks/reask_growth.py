"""Re-ask growth: the prompt each attempt sends, instructor's cumulative re-ask against ours.

    python benchmarks/reask_growth.py              # prints the table, rewrites "## Re-ask growth" in RESULTS.md
    python benchmarks/reask_growth.py --no-write   # prints only

The seed article; the model (``ScriptedLLM``, in-process, nothing dialled) answers an
ungrounded draft (claim 12 misquoted "Yanukovych"), then another ungrounded draft
(claim 8 misquoted), then the reference draft. Both sides get the same three answers:

BEFORE  instructor's own re-ask: ``instructor.from_openai(openai.OpenAI(...), mode=TOOLS)
        .chat.completions.create(response_model=DraftSummary, max_retries=2, context=...)``
AFTER   our ``Summarizer`` (max_reasks=2): instructor is called with max_retries=0 and
        attempt N is the original prompt + the latest draft + its problems (summarizer/extract/reask.py).

For each of the 3 request bodies it counts the prompt's messages two ways: an estimate,
len(json.dumps(messages)) / 4, and real tokens from SmolLM2's tokenizer (llama-cpp-python,
vocab only, offline) over what a chat template renders: each message's content and each
tool call's name and arguments. The tool schema, the same in every request of both, is
counted once on its own. Growth per re-ask is the attempt-to-attempt increase divided by
one draft's tokens (the draft's arguments, counted the same way).
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import json
import platform
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from results import write_section  # benchmarks/results.py: each script owns one section

ROOT = Path(__file__).resolve().parent.parent
ARTICLE_PATH = ROOT / "fixtures" / "cases" / "khamenei-moscow-exiles" / "article.txt"
DRAFT_PATH = ROOT / "fixtures" / "references" / "khamenei-moscow-exiles.json"
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
SECTION = "## Re-ask growth"

ARTICLE = ARTICLE_PATH.read_text(encoding="utf-8")
REFERENCE: dict[str, Any] = json.loads(DRAFT_PATH.read_text(encoding="utf-8"))
MODEL = "gpt-4.1-mini"


def misquote(draft: dict[str, Any], claim: int, right: str, wrong: str) -> dict[str, Any]:
    bad = copy.deepcopy(draft)
    quote = bad["claims"][claim]["quote"]
    assert right in quote, f"fixture drift: claim {claim} has no {right!r}"
    bad["claims"][claim]["quote"] = quote.replace(right, wrong)
    return bad


def whole_reask(draft: dict[str, Any]) -> dict[str, Any]:
    broken = copy.deepcopy(draft)
    assert broken["entities"][1]["name"] == "Moscow", "fixture drift: entity 1 is no longer Moscow"
    broken["entities"][1]["aliases"] = ["Moskau"]
    return broken


def answers() -> list[dict[str, Any]]:
    from summarizer.testing import tool_call_completion

    # Each bad draft also lists an alias the article never uses: a problem outside the claims, so
    # that ours asks for the complete summary again (when only claims fail it sends a targeted
    # repair instead, which carries no draft at all: see benchmarks/grounding.py).
    first = whole_reask(misquote(REFERENCE, 12, "Yanukovich", "Yanukovych"))
    second = whole_reask(misquote(REFERENCE, 8, "ophthalmology again.", "ophthalmology once more."))
    return [
        tool_call_completion(draft, model=MODEL, completion_id=f"chatcmpl-{name}")
        for name, draft in (("draft1", first), ("draft2", second), ("good", REFERENCE))
    ]


def arguments(completion: dict[str, Any]) -> str:
    return str(completion["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"])


# --------------------------------------------------------------------------- the two sides


def before(replies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """instructor's own re-ask loop (max_retries=2): the three request bodies it sends."""
    import httpx
    import instructor
    import openai

    from summarizer.extract.draft import DraftSummary
    from summarizer.extract.grounding import Article
    from summarizer.extract.prompts import load_prompts
    from summarizer.llm.budget import max_output_tokens
    from summarizer.testing import ScriptedLLM

    llm = ScriptedLLM(replies)
    client = instructor.from_openai(
        openai.OpenAI(http_client=httpx.Client(transport=llm), api_key="x", max_retries=0),
        mode=instructor.Mode.TOOLS,
    )
    draft = client.chat.completions.create(
        model=MODEL,
        response_model=DraftSummary,
        messages=load_prompts().render(ARTICLE),  # type: ignore[arg-type]
        max_retries=2,
        context={"article": Article(ARTICLE)},
        max_completion_tokens=max_output_tokens(ARTICLE),
        temperature=0.0,
    )
    assert draft.headline == REFERENCE["headline"]
    assert len(llm.requests) == 3, len(llm.requests)
    return llm.requests


def after(replies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Our Summarizer (max_reasks=2): the three request bodies it sends."""
    from summarizer.config import Settings
    from summarizer.pipeline import Summarizer
    from summarizer.testing import ScriptedLLM

    llm = ScriptedLLM(replies)
    summary = Summarizer(Settings(api_key="x", model=MODEL, max_reasks=2), transport=llm).summarize(ARTICLE)
    assert summary.meta is not None and (summary.meta.attempts, summary.meta.reasks) == (3, 2)
    assert len(llm.requests) == 3, len(llm.requests)
    return llm.requests


# --------------------------------------------------------------------------- counting


def estimate(messages: list[dict[str, Any]]) -> float:
    return len(json.dumps(messages)) / 4


def rendered_text(messages: list[dict[str, Any]]) -> list[str]:
    """What a chat template puts in the prompt for each message: content, tool-call names and arguments."""
    pieces = []
    for message in messages:
        pieces.append(str(message.get("content") or ""))
        for call in message.get("tool_calls") or []:
            pieces.append(call["function"]["name"])
            pieces.append(call["function"]["arguments"])
    return pieces


def smollm2_counter() -> tuple[Callable[[str], int] | None, str]:
    """Token counts from SmolLM2's tokenizer (vocab only: no weights are loaded), if installed."""
    try:
        from llama_cpp import Llama

        from summarizer.llm.local import bundled_model_path

        path = bundled_model_path()
        llama = Llama(model_path=str(path), vocab_only=True, verbose=False)
    except Exception as exc:  # the 'local' extra is optional
        return None, f"unavailable ({type(exc).__name__}: {exc})"

    def count(text: str) -> int:
        return len(llama.tokenize(text.encode("utf-8"), add_bos=False, special=False)) if text else 0

    return count, f"SmolLM2 tokenizer ({path.name}, vocab only)"


@dataclass
class Side:
    name: str
    bodies: list[dict[str, Any]]
    estimates: list[float]
    tokens: list[int] | None


def measure(name: str, bodies: list[dict[str, Any]], count: Callable[[str], int] | None) -> Side:
    estimates = [estimate(b["messages"]) for b in bodies]
    tokens = None
    if count is not None:
        tokens = [sum(count(piece) for piece in rendered_text(b["messages"])) for b in bodies]
    return Side(name, bodies, estimates, tokens)


def growth(values: list[float] | list[int], unit: float) -> list[float]:
    return [round((values[k] - values[k - 1]) / unit, 2) + 0.0 for k in range(1, len(values))]


# --------------------------------------------------------------------------- the run


def run() -> str:
    import instructor
    import openai

    replies = answers()
    drafts = [arguments(r) for r in replies[:2]]
    count, counter = smollm2_counter()
    sides = [measure("before", before(replies), count), measure("after", after(replies), count)]
    old, new = sides

    # What each body carries: the claim the benchmark is about, checked rather than assumed.
    def carried(body: dict[str, Any]) -> list[int]:
        text = json.dumps(body["messages"])
        return [i + 1 for i, draft in enumerate(drafts) if json.dumps(draft)[1:-1] in text]

    carries = {side.name: [carried(b) for b in side.bodies] for side in sides}
    assert carries["after"] == [[], [1], [2]], carries
    draft_est = len(json.dumps(drafts[0])) / 4
    draft_tokens = count(drafts[0]) if count else None
    schema_tokens = count(json.dumps(new.bodies[0].get("tools") or [])) if count else None
    assert json.dumps(old.bodies[0]["tools"]) == json.dumps(new.bodies[0]["tools"]), "tool schemas differ"

    def cell(value: float | None) -> str:
        return "n/a" if value is None else f"{value:,.0f}"

    rows = [
        "| attempt | before: est. (chars/4) | before: SmolLM2 tokens | drafts carried (before) "
        "| after: est. (chars/4) | after: SmolLM2 tokens | drafts carried (after) |",
        "|---:|---:|---:|---|---:|---:|---|",
    ]
    for k in range(3):
        rows.append(
            f"| {k + 1} | {cell(old.estimates[k])} | {cell(old.tokens[k] if old.tokens else None)} "
            f"| {', '.join(map(str, carries['before'][k])) or '—'} "
            f"| {cell(new.estimates[k])} | {cell(new.tokens[k] if new.tokens else None)} "
            f"| {', '.join(map(str, carries['after'][k])) or '—'} |"
        )
    totals_old = (sum(old.estimates), sum(old.tokens) if old.tokens else None)
    totals_new = (sum(new.estimates), sum(new.tokens) if new.tokens else None)
    rows.append(
        f"| **sum of 3** | {cell(totals_old[0])} | {cell(totals_old[1])} | "
        f"| {cell(totals_new[0])} | {cell(totals_new[1])} | |"
    )

    def growth_line(side: Side) -> str:
        est = ", ".join(f"{g:.2f}" for g in growth(side.estimates, draft_est))
        line = f"- {side.name}: attempt 1→2, 2→3 = {est} drafts (estimate)"
        if side.tokens is not None and draft_tokens:
            real = ", ".join(f"{g:.2f}" for g in growth(side.tokens, draft_tokens))
            line += f"; {real} drafts (SmolLM2 tokens)"
        return line

    saved_est = totals_old[0] - totals_new[0]
    saved_real = (
        (totals_old[1] - totals_new[1]) if totals_old[1] is not None and totals_new[1] is not None else None
    )
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        SECTION,
        "",
        f"Seed article ({len(ARTICLE):,} characters); the model answers two ungrounded drafts (claim 12, then "
        "claim 8 misquoted; each also lists an alias the article never uses, a problem outside the claims, "
        "so that ours re-asks for the complete summary rather than a targeted repair), then the reference "
        "draft; max 2 re-asks on both sides. "
        f"instructor {instructor.__version__}, openai {openai.__version__}, Python {platform.python_version()}; "
        f"measured {now} with `python benchmarks/reask_growth.py` (deterministic: in-process `ScriptedLLM`).",
        "",
        "Prompt messages per attempt (the tool schema, identical in every request of both, is left out: "
        f"{cell(schema_tokens)} SmolLM2 tokens more on each). Estimate = len(json.dumps(messages)) / 4; "
        f"real = {counter}, over each message's content and tool-call arguments.",
        "",
        *rows,
        "",
        f"One draft = {len(drafts[0]):,} characters of tool-call arguments = {cell(draft_est)} estimated "
        f"(as it travels, JSON in JSON) / {cell(draft_tokens)} SmolLM2 tokens. Growth per re-ask, in drafts:",
        "",
        growth_line(old),
        growth_line(new),
        "",
        f"Before, attempt N carries all N-1 failed drafts and their errors (cumulative); after, it carries "
        f"the latest one only (bodies checked: after carries drafts {carries['after']}, before "
        f"{carries['before']}). Over the three attempts ours sends {cell(saved_est)} fewer estimated tokens"
        + (f" ({cell(saved_real)} fewer SmolLM2 tokens)" if saved_real is not None else "")
        + "; the gap grows by one draft with every further re-ask.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    args = parser.parse_args()
    import logging

    logging.getLogger("instructor").addHandler(logging.NullHandler())
    logging.getLogger("instructor").propagate = False
    section = run()
    print(section)
    if not args.no_write:
        write_section(SECTION, section.removeprefix(SECTION))
        print(f"wrote the {SECTION!r} section of {RESULTS.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()

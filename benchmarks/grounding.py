"""Grounding and targeted re-asks: what a re-ask costs, how fast the judge is, what it accepts.

    python benchmarks/grounding.py              # prints, rewrites "## Grounding and targeted re-asks"
    python benchmarks/grounding.py --no-write   # prints only

(a) Re-ask output tokens on the seed case, scripted model (``ScriptedLLM``): the first draft
    misquotes claim 12 (the reference cassette's defect). Before: the re-ask asked for the
    complete summary, so the answer was the whole reference draft (and the request carried
    the failed draft). After: the targeted re-ask, answered with a ``DraftRepair`` for claim 12.
    Both requests and answers are the ones actually sent/received through ``Summarizer``;
    "before" is rebuilt with ``extract.reask.reask_messages``, the full re-ask that is still
    used for drafts broken as a whole. Tokens: chars/4 estimate, and SmolLM2's tokenizer when
    the ``local`` extra is installed.
(b) Hint time per missed quote on a 20,000-word article (the four grounding fixtures repeated),
    side by side with the previous implementation (character-level ``difflib`` longest match over
    the whole article, kept here as ``old_hint``; it had a comparison budget that skipped hints on
    long articles, lifted here to measure the search itself).
(c) ``find_problems`` on a draft of 100 claims (50 quotes that ground in habits, 50 misses) on
    that article, Article construction (folding) included; and folding alone, against the
    previous per-character loop (``old_normalize``).
(d) The quoting-habit table from tests/test_grounding_habits.py.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import json
import platform
import sys
import time
import unicodedata
from collections.abc import Callable
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any

from results import write_section  # benchmarks/results.py: each script owns one section

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
SECTION = "## Grounding and targeted re-asks"
CASE = ROOT / "fixtures" / "cases" / "khamenei-moscow-exiles" / "article.txt"
REFERENCE: dict[str, Any] = json.loads(
    (ROOT / "fixtures" / "references" / "khamenei-moscow-exiles.json").read_text(encoding="utf-8")
)
MODEL = "gpt-4.1-mini"


# --------------------------------------------------------------------------- (a) re-ask tokens


def reask_tokens(count: Callable[[str], int] | None) -> list[str]:
    from summarizer.config import Settings
    from summarizer.extract.reask import reask_messages
    from summarizer.pipeline import Summarizer
    from summarizer.testing import ScriptedLLM, tool_call_completion

    article = CASE.read_text(encoding="utf-8")
    bad = copy.deepcopy(REFERENCE)
    bad["claims"][12]["quote"] = bad["claims"][12]["quote"].replace("Yanukovich", "Yanukovych")
    fixed = REFERENCE["claims"][12]
    repair = {
        "repairs": [{"claim": 12, "action": "fix", "quote": fixed["quote"], "statement": fixed["statement"]}]
    }
    first = tool_call_completion(bad, model=MODEL)
    llm = ScriptedLLM([first, tool_call_completion(repair, model=MODEL, tool_name="DraftRepair")])
    summary = Summarizer(Settings(api_key="x", model=MODEL), transport=llm).summarize(article)
    assert summary.meta is not None and summary.meta.attempts == 2 and not summary.meta.warnings
    after_request = llm.requests[1]
    assert after_request["tools"][0]["function"]["name"] == "DraftRepair"

    # Before: the same failure re-asked for the complete summary (the draft and its problems).
    import openai
    from pydantic import ValidationError

    from summarizer.extract.draft import DraftSummary, validation_context
    from summarizer.extract.grounding import Article

    try:
        DraftSummary.model_validate(bad, context=validation_context(Article(article)))
        raise AssertionError("the bad draft must fail")
    except ValidationError as err:
        error = err
    completion = openai.types.chat.ChatCompletion.model_validate(first)
    before_messages = [*llm.requests[0]["messages"], *reask_messages(completion, error)]

    def est(text: str) -> int:
        return len(text) // 4

    answer_before = json.dumps(REFERENCE, ensure_ascii=False)
    answer_after = json.dumps(repair, ensure_ascii=False)
    request_before = json.dumps(before_messages, ensure_ascii=False)
    request_after = json.dumps(after_request["messages"], ensure_ascii=False)
    cap_before = llm.requests[0].get("max_completion_tokens") or llm.requests[0].get("max_tokens")
    cap_after = after_request.get("max_completion_tokens") or after_request.get("max_tokens")

    def real(text: str) -> str:
        return f"{count(text):,}" if count else "n/a"

    rows = [
        "| re-ask (seed case, claim 12 misquoted) | before: complete summary | after: targeted repair | after / before |",
        "|---|---:|---:|---:|",
        f"| output: answer, est. tokens (chars/4) | {est(answer_before):,} | {est(answer_after):,} "
        f"| {est(answer_after) / est(answer_before):.3f} |",
        f"| output: answer, SmolLM2 tokens | {real(answer_before)} | {real(answer_after)} | "
        + (f"{count(answer_after) / count(answer_before):.3f} |" if count else "n/a |"),
        f"| output cap sent (max tokens) | {cap_before:,} | {cap_after:,} | {cap_after / cap_before:.3f} |",
        f"| request messages, est. tokens | {est(request_before):,} | {est(request_after):,} "
        f"| {est(request_after) / est(request_before):.3f} |",
    ]
    return rows


# --------------------------------------------------------------------------- (b), (c) timing


def long_article(words: int = 20_000) -> str:
    from test_grounding_habits import articles

    texts = list(articles().values())
    parts, n, total = [], 0, 0
    while total < words:
        for text in texts:
            n += 1
            part = f"Part {n}.\n{text.strip()}"
            parts.append(part)
            total += len(part.split())
    return "\n".join(parts)


def old_normalize(text: str) -> tuple[str, list[int]]:
    """The previous fold: one Python step per character."""
    fold = str.maketrans({**dict.fromkeys("‘’‚‛′ʼ`´", "'"), **dict.fromkeys("“”„‟″«»", '"')})
    out: list[str] = []
    index: list[int] = []
    in_space = False
    for i, ch in enumerate(text.translate(fold)):
        if ch.isspace():
            if in_space:
                continue
            in_space = True
            out.append(" ")
            index.append(i)
            continue
        in_space = False
        if ch.isascii():
            out.append(ch)
            index.append(i)
            continue
        for piece in unicodedata.normalize("NFD", ch):
            out.append(piece)
            index.append(i)
    return "".join(out), index


def old_hint(folded_article: str, needle: str) -> int:
    """The previous hint search: character-level longest match over the whole article."""
    matcher = SequenceMatcher(None, folded_article, needle, autojunk=False)
    return matcher.find_longest_match(0, len(folded_article), 0, len(needle)).size


def best_of(fn: Callable[[], object], reps: int = 5) -> float:
    times = []
    for _ in range(reps):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def misses() -> list[str]:
    from test_grounding_habits import cases

    return [c.quote for c in cases() if c.expected is None][:100]


def timing_rows() -> list[str]:
    from test_grounding_habits import cases

    from summarizer.extract.draft import DraftSummary, find_problems
    from summarizer.extract.folding import fold_quote
    from summarizer.extract.grounding import Article

    text = long_article()
    n_words = len(text.split())
    missed = misses()
    article = Article(text)
    article.closest_passage(missed[0])  # the word index, built once per article
    started = time.perf_counter()
    for quote in missed:
        article.closest_passage(quote)
    new_per_miss = (time.perf_counter() - started) / len(missed)
    index_build = best_of(lambda: Article(text).closest_passage(missed[0]), 3) - best_of(
        lambda: Article(text), 3
    )
    folded = old_normalize(text)[0]
    sample = missed[:3]
    started = time.perf_counter()
    for quote in sample:
        old_hint(folded, fold_quote(quote))
    old_per_miss = (time.perf_counter() - started) / len(sample)

    legit = [c.quote for c in cases() if c.expected is not None][:50]
    claims = [
        {"statement": q, "attribution": "article_assertion", "quote": q} for q in [*legit, *missed[:50]]
    ]
    draft = DraftSummary.model_validate({"headline": "h", "abstract": "a", "claims": claims})
    problems_time = best_of(lambda: find_problems(draft, Article(text)), 3)
    fold_new = best_of(lambda: Article(text), 5)
    fold_old = best_of(lambda: old_normalize(text), 5)
    return [
        f"Article: {n_words:,} words, {len(text):,} characters (the four grounding fixtures repeated).",
        "",
        "| measurement | before | after | after / before |",
        "|---|---:|---:|---:|",
        f"| hint per missed quote (100 misquotes; before: 3 of them) | {old_per_miss * 1000:,.1f} ms "
        f"| {new_per_miss * 1000:.3f} ms | {new_per_miss / old_per_miss:.5f} |",
        f"| word index for hints, once per article | — | {max(index_build, 0) * 1000:.1f} ms | — |",
        f"| `find_problems`, 100 claims (50 ground, 50 miss; Article built inside) | — "
        f"| {problems_time * 1000:.0f} ms | — |",
        f"| folding the article (Article construction) | {fold_old * 1000:.1f} ms | {fold_new * 1000:.1f} ms "
        f"| {fold_new / fold_old:.2f} |",
    ]


# --------------------------------------------------------------------------- (d) habits


def habit_rows() -> list[str]:
    from test_grounding_habits import habit_table

    legit, twins, _ = habit_table()
    rows = [
        "| quoting habit | variants | grounded to the right span | wrong span | refused |",
        "|---|---:|---:|---:|---:|",
    ]
    for habit, row in legit.items():
        rows.append(
            f"| {habit} | {row.total} | {row.right} | {row.wrong_span} | {row.total - row.right - row.wrong_span} |"
        )
    total = sum(r.total for r in legit.values())
    right = sum(r.right for r in legit.values())
    rows.append(f"| **all** | {total} | **{right}** ({right / total * 117:.1f} per 117) | | |")
    rows += ["", "| misquote twin | cases | grounded (misquote through) |", "|---|---:|---:|"]
    for habit, row in twins.items():
        rows.append(f"| {habit} | {row.total} | {row.through} |")
    rows.append(
        f"| **all** | {sum(r.total for r in twins.values())} | **{sum(r.through for r in twins.values())}** |"
    )
    return rows


def run() -> str:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from reask_growth import smollm2_counter

    count, counter = smollm2_counter()
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"Measured {now} with `python benchmarks/grounding.py`, Python {platform.python_version()}; "
        f"token counts: chars/4 and {counter}. Timings are the best of a few runs on a shared 2-core "
        "machine: read the ratios.",
        "",
        "**(a) Re-ask output tokens**, seed case, scripted model: the first draft misquotes claim 12.",
        "",
        *reask_tokens(count),
        "",
        "**(b, c) Hint search and `find_problems` on a 20,000-word article.**",
        "",
        *timing_rows(),
        "",
        "**(d) Quoting habits** (tests/test_grounding_habits.py; four real texts, fixtures/grounding/).",
        "",
        *habit_rows(),
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
        write_section(SECTION, section)
        print(f"wrote the {SECTION!r} section of benchmarks/RESULTS.md", file=sys.stderr)


if __name__ == "__main__":
    main()

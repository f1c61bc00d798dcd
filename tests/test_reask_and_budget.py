"""Our re-ask loop and the spending caps, seen from the wire.

The real openai SDK and instructor run against ``ScriptedLLM`` (in-process) or an
HTTP server on 127.0.0.1 (the CLI and ``summarizer batch``). What is asserted is
what was actually sent: each attempt carries the original prompt, the latest draft
and that draft's problems only (never the drafts before it, never a transport
error), and a --max-cost / --max-tokens-total cap is checked before every call
from the projected size of that call.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import MISQUOTED_CLAIM, MODEL_SPELLING
from conftest import FakeOpenAIServer as TinyServer
from typer.testing import CliRunner

from summarizer.cli import app
from summarizer.config import DEFAULT_MODEL, Settings
from summarizer.errors import BudgetError, ConfigError
from summarizer.extract.chunking import chunk_article
from summarizer.extract.prompts import load_prompts
from summarizer.llm.budget import max_output_tokens, projected_prompt_tokens
from summarizer.llm.pricing import DEFAULT_PRICES, Price, load_prices
from summarizer.pipeline import Summarizer
from summarizer.schema import Summary, Usage
from summarizer.testing import FakeOpenAIServer, Reply, ScriptedLLM, tool_call_completion

MakeSettings = Callable[..., Settings]

# Draft 2 misquotes a different claim than draft 1 (claim 12's "Yanukovich"), so that the
# two drafts' problems can be told apart in the requests.
SECOND_MISQUOTED_CLAIM = 8
SECOND_ARTICLE_WORDS = "ophthalmology again."
SECOND_MODEL_WORDS = "ophthalmology once more."

HEADLINE_1 = "Draft one: Khamenei said to plan Moscow exile"
HEADLINE_2 = "Draft two: Russia may host Iran's supreme leader"

# The transport error the provider answers once, between draft 1 and draft 2.
TRANSPORT_ERROR = Reply(
    {"error": {"message": "Service Unavailable: upstream overloaded", "type": "server_error", "code": "503"}},
    status=503,
)
TRANSPORT_TRACES = ("503", "Service Unavailable", "server_error", "upstream overloaded", "error")

# Usage each scripted 200 answer reports: distinct, so that a sum shows which were counted.
USAGES = [
    Usage(prompt_tokens=p, completion_tokens=c, total_tokens=p + c)
    for p, c in ((5_101, 901), (7_203, 902), (7_305, 4_003))
]

MINI = DEFAULT_PRICES[DEFAULT_MODEL]

# Variables that would let the environment configure a CLI run behind a test's back.
CONFIG_VARS = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "SUMMARIZER_BASE_URL",
    "SUMMARIZER_MODEL",
    "SUMMARIZER_MODE",
    "SUMMARIZER_PROVIDER",
    "SUMMARIZER_PRICING",
)
ERROR_PREFIX = "summarizer: error: "


# --------------------------------------------------------------------------- helpers


def broken_as_a_whole(draft: dict[str, Any]) -> dict[str, Any]:
    """``draft`` with an entity alias the article never uses as well: a problem outside the
    claims, so the re-ask asks for the complete summary again (not a targeted repair)."""
    broken = copy.deepcopy(draft)
    assert broken["entities"][1]["name"] == "Moscow", "fixture drift: entity 1 is no longer Moscow"
    broken["entities"][1]["aliases"] = ["Moskau"]
    return broken


class RawRecorder(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Keeps the exact bytes of every request body, then lets ``inner`` answer it."""

    def __init__(self, inner: ScriptedLLM) -> None:
        self.inner = inner
        self.raw: list[bytes] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.raw.append(request.read())
        return self.inner.handle_request(request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.raw.append(await request.aread())
        return await self.inner.handle_async_request(request)


def completion(draft: dict[str, Any], usage: Usage, name: str) -> dict[str, Any]:
    return tool_call_completion(
        draft,
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        completion_id=f"chatcmpl-{name}",
    )


def arguments(body_or_completion: dict[str, Any]) -> str:
    """The tool-call arguments of a scripted completion."""
    return str(body_or_completion["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"])


def as_sent(messages: list[dict[str, str]]) -> list[dict[str, str]]:
    """Rendered prompt messages as they reach the wire: byte for byte, nothing re-templated."""
    return [dict(m) for m in messages]


def size(messages: list[dict[str, Any]]) -> int:
    return len(json.dumps(messages))


def escaped(text: str) -> str:
    """``text`` as it appears inside a ``dump``: a string within JSON."""
    return json.dumps(text, ensure_ascii=False)[1:-1]


def dump(body: dict[str, Any]) -> str:
    return json.dumps(body, ensure_ascii=False)


def summarize(summarizer: Summarizer, text: str, how: str) -> Summary:
    return summarizer.summarize(text) if how == "sync" else asyncio.run(summarizer.asummarize(text))


def first_call(article: str) -> tuple[int, int]:
    """What ``_over_budget`` projects for the first call on ``article``: (prompt, output) tokens."""
    messages = load_prompts().render(article)
    return projected_prompt_tokens(messages), max_output_tokens(article)  # type: ignore[arg-type]


def second_call_at_least(article: str, draft_arguments: str) -> int:
    """A floor under the second call's projected tokens: the first's plus the draft it carries."""
    prompt, output = first_call(article)
    return prompt + len(draft_arguments) // 3 + output


@dataclass
class Run:
    exit_code: int
    stdout: str
    stderr: str


def invoke(args: list[str], env: dict[str, str] | None = None) -> Run:
    environment: dict[str, str | None] = dict.fromkeys(CONFIG_VARS)
    environment.update(env or {})
    result = CliRunner().invoke(app, args, env=environment)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Run(result.exit_code, result.stdout, result.stderr)


def run_script(args: list[str], *, cwd: Path) -> Run:
    """The installed ``summarizer`` console script in a subprocess: what a user's terminal shows."""
    found = Path(sys.executable).with_name("summarizer")
    command = str(found) if found.exists() else shutil.which("summarizer")
    assert command, "the summarizer console script is not installed"
    environment = {k: v for k, v in os.environ.items() if k not in CONFIG_VARS}
    done = subprocess.run(
        [command, *args], cwd=cwd, env=environment, capture_output=True, text=True, timeout=60
    )
    return Run(done.returncode, done.stdout, done.stderr)


def assert_one_line_error(run: Run, code: int, *fragments: str) -> str:
    assert run.exit_code == code, (run.exit_code, run.stdout, run.stderr)
    assert "Traceback" not in run.stderr + run.stdout
    lines = run.stderr.splitlines()
    assert len(lines) == 1, f"stderr is not one line:\n{run.stderr}"
    assert lines[0].startswith(ERROR_PREFIX), run.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(autouse=True)
def _no_config_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CONFIG_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def bad_drafts(
    reference_draft: dict[str, Any], misquoted_draft: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Two ungrounded drafts that differ in headline and in which claim they misquote; both
    also list an alias the article never uses, so that each re-ask is a full one."""
    first = broken_as_a_whole(misquoted_draft)
    first["headline"] = HEADLINE_1
    second = broken_as_a_whole(reference_draft)
    second["headline"] = HEADLINE_2
    quote = second["claims"][SECOND_MISQUOTED_CLAIM]["quote"]
    assert SECOND_ARTICLE_WORDS in quote, "fixture drift: claim 8 no longer ends 'ophthalmology again.'"
    second["claims"][SECOND_MISQUOTED_CLAIM]["quote"] = quote.replace(
        SECOND_ARTICLE_WORDS, SECOND_MODEL_WORDS
    )
    return first, second


@dataclass
class ThreeAttempts:
    summary: Summary
    llm: ScriptedLLM
    raw: list[bytes]
    answers: list[dict[str, Any]]  # the three 200 completions, in order

    @property
    def bodies(self) -> list[dict[str, Any]]:
        """The three distinct requests: the 2nd attempt's was sent twice (503, then its retry)."""
        requests = self.llm.requests
        return [requests[0], requests[2], requests[3]]


@pytest.fixture(params=["sync", "async"])
def three_attempts(
    request: pytest.FixtureRequest,
    article: str,
    reference_draft: dict[str, Any],
    bad_drafts: tuple[dict[str, Any], dict[str, Any]],
    settings: MakeSettings,
) -> ThreeAttempts:
    """Draft 1 (bad), a 503, draft 2 (bad, answers the retry), the reference draft: max_reasks=2."""
    first, second = bad_drafts
    answers = [
        completion(first, USAGES[0], "draft1"),
        completion(second, USAGES[1], "draft2"),
        completion(reference_draft, USAGES[2], "good"),
    ]
    llm = ScriptedLLM([answers[0], TRANSPORT_ERROR, answers[1], answers[2]])
    recorder = RawRecorder(llm)
    summarizer = Summarizer(settings(max_reasks=2, max_retries=2), transport=recorder)
    summary = summarize(summarizer, article, request.param)
    return ThreeAttempts(summary=summary, llm=llm, raw=recorder.raw, answers=answers)


# --------------------------------------------------------------------------- re-asks do not snowball


def test_each_reask_carries_one_draft_not_all_of_them(three_attempts: ThreeAttempts, article: str) -> None:
    assert len(three_attempts.llm.requests) == 4  # 3 attempts + 1 transport resend
    body_1, body_2, body_3 = three_attempts.bodies
    draft_1, draft_2 = (arguments(a) for a in three_attempts.answers[:2])
    # One draft as it travels inside a request: a JSON string within the JSON messages.
    draft_json = max(len(json.dumps(draft_1)), len(json.dumps(draft_2)))

    assert body_1["messages"] == as_sent(load_prompts().render(article))
    for body in (body_2, body_3):
        assert body["messages"][:2] == body_1["messages"]  # the original prompt, unchanged
        assert len(body["messages"]) == 4  # + the latest draft + its problems, nothing more
        assert size(body["messages"]) - size(body_1["messages"]) <= draft_json + 2_000
    # Non-cumulative: attempt 3 is not attempt 2 plus another draft.
    assert size(body_3["messages"]) - size(body_2["messages"]) < draft_json // 10
    assert abs(size(body_3["messages"]) - size(body_2["messages"])) <= 2_000


def test_the_third_attempt_carries_draft_2_and_its_problems_only(
    three_attempts: ThreeAttempts, bad_drafts: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    _, body_2, body_3 = three_attempts.bodies
    first, second = bad_drafts
    draft_1, draft_2 = (arguments(a) for a in three_attempts.answers[:2])
    first_bad_quote = first["claims"][MISQUOTED_CLAIM]["quote"]
    second_bad_quote = second["claims"][SECOND_MISQUOTED_CLAIM]["quote"]

    # Attempt 2: draft 1 and draft 1's problem.
    assistant, tool = body_2["messages"][2:]
    assert assistant["role"] == "assistant"
    assert [call["function"]["arguments"] for call in assistant["tool_calls"]] == [draft_1]
    assert tool["role"] == "tool" and tool["tool_call_id"] == assistant["tool_calls"][0]["id"]
    assert f"claims[{MISQUOTED_CLAIM}].quote" in tool["content"]
    assert MODEL_SPELLING in tool["content"]

    # Attempt 3: draft 2 and draft 2's problem; nothing of draft 1 or of its problem.
    assistant, tool = body_3["messages"][2:]
    assert [call["function"]["arguments"] for call in assistant["tool_calls"]] == [draft_2]
    assert f"claims[{SECOND_MISQUOTED_CLAIM}].quote" in tool["content"]
    assert SECOND_MODEL_WORDS in tool["content"]
    text_3 = dump(body_3)
    assert escaped(draft_2) in text_3 and HEADLINE_2 in text_3
    assert escaped(draft_1) in dump(body_2)
    assert escaped(draft_1) not in text_3
    assert HEADLINE_1 not in text_3
    assert first_bad_quote not in text_3
    assert f"claims[{MISQUOTED_CLAIM}]" not in text_3
    assert "chatcmpl-draft1" not in text_3  # not even draft 1's tool-call id
    assert second_bad_quote in text_3  # (the draft itself carries it)


def test_a_transport_error_leaves_no_trace_and_is_resent_byte_for_byte(three_attempts: ThreeAttempts) -> None:
    raw = three_attempts.raw
    assert len(raw) == 4
    assert raw[1] == raw[2], "the retried request must be the very request that got the 503"
    assert raw[0] != raw[1] != raw[3]
    for body in three_attempts.llm.requests:
        text = dump(body)
        for trace in TRANSPORT_TRACES:
            assert trace not in text, (trace, text[:200])
    assert three_attempts.summary.meta is not None
    assert three_attempts.summary.meta.transport_retries == 1


def test_meta_sums_every_answer_and_counts_attempts(
    three_attempts: ThreeAttempts, reference_draft: dict[str, Any], article: str
) -> None:
    summary = three_attempts.summary
    meta = summary.meta
    assert meta is not None
    assert meta.usage == USAGES[0] + USAGES[1] + USAGES[2]
    assert meta.usage.total_tokens == sum(u.total_tokens for u in USAGES)
    assert (meta.attempts, meta.reasks, meta.transport_retries) == (3, 2, 1)
    assert meta.cost_usd == round(MINI.cost(meta.usage), 6)
    # The third draft was good: it is the result, whole and with nothing to warn about.
    assert summary.headline == reference_draft["headline"]
    assert len(summary.claims) == len(reference_draft["claims"])
    assert meta.warnings == []
    assert summary.check_offsets(article) == []


# --------------------------------------------------------------------------- budgets: one call allowed

CAPS = ["max_tokens_total", "max_cost_usd"]


def one_call_cap(cap: str, article: str, draft_arguments: str, first_usage: Usage) -> float | int:
    """A cap the first call fits under and the second (draft and re-ask) does not."""
    prompt, output = first_call(article)
    one = prompt + output
    two = first_usage.total_tokens + second_call_at_least(article, draft_arguments)
    assert one < two
    if cap == "max_tokens_total":
        return (one + two) // 2
    first_cost = MINI.cost(Usage(prompt_tokens=prompt, completion_tokens=output))
    second_cost = MINI.cost(first_usage) + MINI.cost(
        Usage(prompt_tokens=prompt + len(draft_arguments) // 3, completion_tokens=output)
    )
    assert first_cost < second_cost
    return (first_cost + second_cost) / 2


def below_first_call(cap: str, article: str) -> float | int:
    prompt, output = first_call(article)
    if cap == "max_tokens_total":
        return prompt + output - 1
    return MINI.cost(Usage(prompt_tokens=prompt, completion_tokens=output)) * 0.99


@pytest.mark.parametrize("cap", CAPS)
@pytest.mark.parametrize("how", ["sync", "async"])
def test_a_cap_for_one_call_keeps_the_grounded_part_of_an_ungrounded_first_draft(
    cap: str,
    how: str,
    article: str,
    misquoted_draft: dict[str, Any],
    reference_draft: dict[str, Any],
    settings: MakeSettings,
) -> None:
    first = completion(broken_as_a_whole(misquoted_draft), USAGES[0], "draft1")
    llm = ScriptedLLM([first, completion(reference_draft, USAGES[2], "good")])
    limit = one_call_cap(cap, article, arguments(first), USAGES[0])
    summarizer = Summarizer(settings(max_reasks=2, **{cap: limit}), transport=llm)

    summary = summarize(summarizer, article, how)

    assert len(llm.requests) == 1
    assert llm.requests[0]["messages"] == as_sent(
        load_prompts().render(article)
    )  # what first_call() projected
    meta = summary.meta
    assert meta is not None
    assert (meta.attempts, meta.reasks) == (1, 0)
    assert meta.usage == USAGES[0]
    what = "token" if cap == "max_tokens_total" else "cost"
    assert any(f"{what} budget reached" in w and "kept what is grounded" in w for w in meta.warnings), (
        meta.warnings
    )
    assert any(MODEL_SPELLING in w for w in meta.warnings), meta.warnings  # says what was dropped
    assert len(summary.claims) == len(misquoted_draft["claims"]) - 1
    assert all("fled to escape charges" not in c.evidence.text for c in summary.claims)
    assert summary.check_offsets(article) == []


@pytest.mark.parametrize("cap", CAPS)
def test_strict_a_cap_for_one_call_is_a_budget_error(
    cap: str, article: str, misquoted_draft: dict[str, Any], settings: MakeSettings
) -> None:
    first = completion(broken_as_a_whole(misquoted_draft), USAGES[0], "draft1")
    llm = ScriptedLLM([first])
    limit = one_call_cap(cap, article, arguments(first), USAGES[0])
    summarizer = Summarizer(settings(max_reasks=2, strict=True, **{cap: limit}), transport=llm)

    with pytest.raises(BudgetError, match="budget reached") as caught:
        summarizer.summarize(article)

    assert len(llm.requests) == 1
    assert caught.value.exit_code == 7
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("cap", CAPS)
def test_a_cap_below_the_first_call_fails_before_any_request(
    cap: str, article: str, reference_draft: dict[str, Any], settings: MakeSettings
) -> None:
    llm = ScriptedLLM([tool_call_completion(reference_draft)])
    summarizer = Summarizer(settings(**{cap: below_first_call(cap, article)}), transport=llm)

    with pytest.raises(BudgetError, match=r"budget reached: (0|\$0\.0000) spent"):
        summarizer.summarize(article)

    assert llm.requests == []


def test_cli_strict_cap_for_one_call_exits_7_with_one_line(
    tmp_path: Path, article: str, misquoted_draft: dict[str, Any], openai_server: Callable[..., TinyServer]
) -> None:
    answer = completion(broken_as_a_whole(misquoted_draft), USAGES[0], "draft1")
    server = openai_server(lambda body: (200, {}, answer))
    path = tmp_path / "article.txt"
    path.write_text(article, encoding="utf-8")
    limit = one_call_cap("max_tokens_total", article, arguments(answer), USAGES[0])

    # The installed console script, so that anything a library logs would show on stderr too.
    run = run_script(
        ["summarize", str(path), "--base-url", server.base_url, "--max-tokens-total", str(limit), "--strict"],
        cwd=tmp_path,
    )

    assert_one_line_error(run, 7, "token budget reached", f"--max-tokens-total {limit:,}")
    assert run.stdout == ""
    assert len(server.requests) == 1

    # Not strict: the same cap gives the grounded part of the draft, exit 0.
    run = invoke(["summarize", str(path), "--base-url", server.base_url, "--max-tokens-total", str(limit)])
    assert run.exit_code == 0, run.stderr
    summary = Summary.model_validate_json(run.stdout)
    assert summary.meta is not None and summary.meta.attempts == 1
    assert len(summary.claims) == len(misquoted_draft["claims"]) - 1
    assert len(server.requests) == 2


def test_cli_cap_below_the_first_call_exits_7_without_a_request(
    tmp_path: Path, article: str, reference_draft: dict[str, Any], openai_server: Callable[..., TinyServer]
) -> None:
    server = openai_server(lambda body: (200, {}, tool_call_completion(reference_draft)))
    path = tmp_path / "article.txt"
    path.write_text(article, encoding="utf-8")

    run = invoke(
        ["summarize", str(path), "--base-url", server.base_url, "--max-cost", f"{below_first_call('max_cost_usd', article):.6f}"]
    )  # fmt: skip

    assert_one_line_error(run, 7, "cost budget reached", "$0.0000 spent")
    assert server.requests == []


# --------------------------------------------------------------------------- budgets: prices


def test_max_cost_for_a_model_without_a_price_is_a_config_error(
    article: str, reference_draft: dict[str, Any], settings: MakeSettings, tmp_path: Path
) -> None:
    llm = ScriptedLLM([tool_call_completion(reference_draft)])
    summarizer = Summarizer(settings(model="mystery-model", max_cost_usd=1.0), transport=llm)

    with pytest.raises(ConfigError, match="no price for mystery-model") as caught:
        summarizer.summarize(article)
    assert caught.value.exit_code == 3
    assert llm.requests == []

    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"mystery-model": {"input": 1.0, "output": 2.0}}), encoding="utf-8")
    table = load_prices(prices)
    assert table["mystery-model"] == Price(1.0, 2.0)
    summary = Summarizer(
        settings(model="mystery-model", max_cost_usd=1.0), transport=llm, prices=table
    ).summarize(article)
    assert summary.meta is not None
    assert summary.meta.cost_usd == round((100 * 1.0 + 50 * 2.0) / 1_000_000, 6)
    assert len(llm.requests) == 1


def test_cli_max_cost_without_a_price_exits_3_and_a_pricing_file_fixes_it(
    tmp_path: Path, article: str, reference_draft: dict[str, Any], openai_server: Callable[..., TinyServer]
) -> None:
    server = openai_server(lambda body: (200, {}, tool_call_completion(reference_draft)))
    path = tmp_path / "article.txt"
    path.write_text(article, encoding="utf-8")
    args = [
        "summarize",
        str(path),
        "--base-url",
        server.base_url,
        "--model",
        "mystery-model",
        "--max-cost",
        "1",
    ]

    run = invoke(args)

    assert_one_line_error(run, 3, "no price for mystery-model", "--pricing")
    assert server.requests == []

    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"mystery-model": {"input": 1.0, "output": 2.0}}), encoding="utf-8")
    run = invoke([*args, "--pricing", str(prices)])
    assert run.exit_code == 0, run.stderr
    summary = Summary.model_validate_json(run.stdout)
    assert summary.meta is not None and summary.meta.cost_usd == round((100 + 100) / 1_000_000, 6)
    assert len(server.requests) == 1


# --------------------------------------------------------------------------- budgets: long articles

CHUNK_TOKENS = 400  # the seed article in 4 chunks


class ChunkModel:
    """Answers each chunk's request with a small grounded draft of that chunk (found in the prompt).

    Each answer reports the usage the budget projected for its request, the most a call
    may spend under the cap; ``latency`` makes concurrent requests overlap, as on a network.
    """

    def __init__(self, article: str, latency: float = 0.0) -> None:
        self.chunks = [article[c.start : c.end] for c in chunk_article(article, CHUNK_TOKENS)]
        self.latency = latency
        self.requests: list[dict[str, Any]] = []
        self.spent: list[int] = []
        self.transport = httpx.MockTransport(self._answer_async if latency else self._answer)

    def projection(self, index: int) -> int:
        piece = self.chunks[index]
        messages = load_prompts().render(piece)
        return projected_prompt_tokens(messages) + max_output_tokens(piece)  # type: ignore[arg-type]

    def _reply(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.requests.append(body)
        user = body["messages"][1]["content"]
        index = next(i for i, piece in enumerate(self.chunks) if piece in user)
        piece = self.chunks[index]
        # Whole words: a quote cut inside a word is not in the article.
        quote = piece.strip().split("\n")[0][:80].rsplit(" ", 1)[0].strip()
        draft = {
            "headline": f"Part {index + 1}",
            "abstract": f"Part {index + 1} of the article.",
            "entities": [],
            "sources": [],
            "claims": [{"statement": f"The part says: {quote}", "attribution": "article_assertion", "quote": quote}],
        }  # fmt: skip
        prompt = projected_prompt_tokens(load_prompts().render(piece))  # type: ignore[arg-type]
        output = int(body.get("max_completion_tokens") or body["max_tokens"])
        self.spent.append(prompt + output)
        return httpx.Response(
            200, json=tool_call_completion(draft, prompt_tokens=prompt, completion_tokens=output)
        )

    def _answer(self, request: httpx.Request) -> httpx.Response:
        return self._reply(request)

    async def _answer_async(self, request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(self.latency)
        return self._reply(request)


def test_the_token_budget_counts_across_chunks_and_keeps_the_chunks_paid_for(
    article: str, settings: MakeSettings
) -> None:
    model = ChunkModel(article)
    assert len(model.chunks) == 4
    p = [model.projection(i) for i in range(4)]
    cap = p[0] + p[1]  # room for chunks 1 and 2 exactly (each spends its projection), not 3
    summarizer = Summarizer(
        settings(max_input_tokens=CHUNK_TOKENS, max_tokens_total=cap), transport=model.transport
    )

    # Chunks 1 and 2 were answered and paid for: they are kept; chunks 3 and 4 are named as
    # not summarized. Under --strict the same budget is an error.
    summary = summarizer.summarize(article)
    assert summary.meta is not None
    assert len(summary.claims) == 2
    assert summary.check_offsets(article) == []
    cut = [w for w in summary.meta.warnings if "not summarized: token budget reached" in w]
    assert len(cut) == 2
    assert len(model.requests) == 2

    strict = Summarizer(
        settings(max_input_tokens=CHUNK_TOKENS, max_tokens_total=cap, strict=True),
        transport=ChunkModel(article).transport,
    )
    with pytest.raises(BudgetError, match="token budget reached") as caught:
        strict.summarize(article)
    assert caught.value.exit_code == 7
    assert [r["messages"][1]["content"] for r in model.requests] == [
        load_prompts().render(piece)[1]["content"] for piece in model.chunks[:2]
    ]


def test_a_token_budget_for_all_chunks_summarizes_the_whole_article(
    article: str, settings: MakeSettings
) -> None:
    model = ChunkModel(article)
    cap = sum(model.projection(i) for i in range(4))
    summarizer = Summarizer(
        settings(max_input_tokens=CHUNK_TOKENS, max_tokens_total=cap), transport=model.transport
    )

    summary = summarizer.summarize(article)

    assert summary.meta is not None
    assert (summary.meta.chunks, summary.meta.attempts, summary.meta.usage.total_tokens) == (4, 4, cap)
    assert len(summary.claims) == 4
    assert summary.check_offsets(article) == []


def test_async_chunks_hold_the_token_budget_too(article: str, settings: MakeSettings) -> None:
    model = ChunkModel(article, latency=0.02)
    p = [model.projection(i) for i in range(4)]
    cap = p[0] + p[1]
    summarizer = Summarizer(
        settings(max_input_tokens=CHUNK_TOKENS, max_tokens_total=cap), transport=model.transport
    )

    with contextlib.suppress(BudgetError):
        asyncio.run(summarizer.asummarize(article))
    spent = sum(model.spent)
    assert spent <= cap, f"{len(model.requests)} chunk calls spent {spent:,} tokens, over the cap of {cap:,}"


# --------------------------------------------------------------------------- the cache and a budget


def test_a_summary_cut_short_by_a_budget_is_not_served_to_a_run_without_it(
    tmp_path: Path,
    article: str,
    misquoted_draft: dict[str, Any],
    reference_draft: dict[str, Any],
    openai_server: Callable[..., TinyServer],
) -> None:
    broken = broken_as_a_whole(misquoted_draft)
    answers = iter([completion(broken, USAGES[0], "draft1"), tool_call_completion(reference_draft)])
    server = openai_server(lambda body: (200, {}, next(answers)))
    path = tmp_path / "article.txt"
    path.write_text(article, encoding="utf-8")
    limit = one_call_cap(
        "max_tokens_total", article, arguments(completion(broken, USAGES[0], "x")), USAGES[0]
    )

    cut = invoke(["summarize", str(path), "--base-url", server.base_url, "--max-tokens-total", str(limit)])
    assert cut.exit_code == 0, cut.stderr
    assert len(Summary.model_validate_json(cut.stdout).claims) == len(misquoted_draft["claims"]) - 1

    full = invoke(["summarize", str(path), "--base-url", server.base_url])
    assert full.exit_code == 0, full.stderr
    summary = Summary.model_validate_json(full.stdout)
    assert summary.meta is not None
    assert not summary.meta.cached
    assert len(summary.claims) == len(reference_draft["claims"])


# --------------------------------------------------------------------------- batch: the run budget


def test_batch_run_budget_stops_scheduling_keeps_whole_records_and_a_rerun_finishes(
    tmp_path: Path, article: str, reference_draft: dict[str, Any]
) -> None:
    item_ids = [f"a{i:02d}" for i in range(10)]
    folder = tmp_path / "articles"
    folder.mkdir()
    texts = {item_id: f"[{item_id}]\n{article}" for item_id in item_ids}
    for item_id, text in texts.items():
        (folder / f"{item_id}.txt").write_text(text, encoding="utf-8")
    out = tmp_path / "out.jsonl"
    per_article = MINI.cost(Usage(prompt_tokens=1_000, completion_tokens=500))  # the server's usage
    budget = 2.5 * per_article  # reached by the 3rd article

    with FakeOpenAIServer(reference_draft, prompt_tokens=1_000, completion_tokens=500) as server:
        args = ["batch", str(folder), "-o", str(out), "--base-url", server.base_url, "--no-progress"]
        run = invoke([*args, "--concurrency", "1", "--budget-usd", f"{budget:g}"])

        assert run.exit_code == 0, run.stderr
        assert f"stopped: run budget of ${budget:g} reached" in run.stderr
        assert "3 summarized (0 from cache), 0 failed, 0 already done" in run.stderr
        assert server.request_count == 3
        data = out.read_bytes()
        assert data.endswith(b"\n")
        lines = [json.loads(line) for line in data.decode("utf-8").splitlines()]
        assert [line["id"] for line in lines] == item_ids[:3]  # no line for an article not started
        for line in lines:
            assert line["status"] == "ok"
            summary = Summary.model_validate(line["summary"])
            assert summary.check_offsets(texts[line["id"]]) == []
            assert len(summary.claims) == len(reference_draft["claims"])
            assert summary.meta is not None and summary.meta.cost_usd == round(per_article, 6)

        rerun = invoke([*args, "--concurrency", "1"])

        assert rerun.exit_code == 0, rerun.stderr
        assert "7 summarized (0 from cache), 0 failed, 3 already done" in rerun.stderr
        assert "stopped" not in rerun.stderr
        assert server.request_count == 10
    final = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [line["id"] for line in final] == item_ids
    assert final[:3] == lines  # the first run's records are untouched
    assert all(line["status"] == "ok" for line in final)


def test_batch_run_budget_counts_what_failed_articles_spent(tmp_path: Path, article: str) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    for i in range(10):
        (folder / f"b{i:02d}.txt").write_text(f"[b{i:02d}]\n{article}", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    per_call = MINI.cost(Usage(prompt_tokens=1_000, completion_tokens=500))
    # An answer that never fits the schema: each article is one paid call, then an ExtractionError.
    with FakeOpenAIServer("{}", prompt_tokens=1_000, completion_tokens=500) as server:
        args = ["batch", str(folder), "-o", str(out), "--base-url", server.base_url, "--no-progress"]
        run = invoke(
            [*args, "--concurrency", "1", "--max-reasks", "0", "--budget-usd", f"{2.5 * per_call:g}"]
        )

        assert run.exit_code == 1, run.stderr  # failed articles
        assert all(json.loads(line)["status"] == "error" for line in out.read_text().splitlines())
        assert server.request_count == 3, f"{server.request_count} paid calls for a budget of 2.5"


def test_batch_run_budget_for_a_model_without_a_price_is_refused(
    tmp_path: Path, article: str, reference_draft: dict[str, Any]
) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    for i in range(5):
        (folder / f"c{i:02d}.txt").write_text(f"[c{i:02d}]\n{article}", encoding="utf-8")
    with FakeOpenAIServer(reference_draft) as server:
        run = invoke(
            ["batch", str(folder), "-o", str(tmp_path / "out.jsonl"), "--base-url", server.base_url,
             "--no-progress", "--model", "mystery-model", "--budget-usd", "0.001"]
        )  # fmt: skip

        assert_one_line_error(run, 3, "no price for mystery-model")
        assert server.request_count == 0

"""The pipeline end to end: the real openai SDK and instructor, with ScriptedLLM as the network.

Nothing here is mocked above the HTTP layer: requests are built by the SDK, parsed
and re-asked by instructor, retried by RetryTransport and booked in the ledger.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from conftest import API_KEY, ARTICLE_SPELLING, MISQUOTED_CLAIM, MODEL_SPELLING, SleepRecorder

from summarizer.config import Settings
from summarizer.errors import ExtractionError, InputError, ProviderError, SummarizerError
from summarizer.outputs.render import to_json
from summarizer.pipeline import Summarizer
from summarizer.schema import Summary, Usage
from summarizer.testing import Reply, ScriptedLLM, rate_limited, tool_call_completion

MakeSettings = Callable[..., Settings]


# --------------------------------------------------------------------------- helpers


def assert_grounded(summary: Summary, article: str) -> None:
    """Every quote and every mention slices exactly out of the article."""
    spans = summary.spans()
    assert spans, "a summary of the seed article has spans"
    for span in spans:
        assert article[span.start : span.end] == span.text, span
    assert summary.check_offsets(article) == []


def usage_of(prompt: int, completion: int) -> Usage:
    return Usage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion)


def error_reply(status: int, message: str = "upstream trouble", **headers: str) -> Reply:
    return Reply({"error": {"message": message, "type": "server_error"}}, status=status, headers=headers)


def quotes(summary: Summary) -> list[str]:
    return [claim.evidence.text for claim in summary.claims]


class ConnectRefused(httpx.BaseTransport):
    """A network where nobody is listening: every request raises ``error`` (ConnectError by default)."""

    def __init__(self, error: type[httpx.TransportError] = httpx.ConnectError) -> None:
        self.calls = 0
        self.error = error

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        raise self.error("[Errno 111] Connection refused", request=request)


# --------------------------------------------------------------------------- the good path


def test_good_response_gives_a_grounded_summary(
    article: str, reference_draft: dict[str, Any], settings: MakeSettings
) -> None:
    llm = ScriptedLLM([tool_call_completion(reference_draft, prompt_tokens=1234, completion_tokens=567)])
    summarizer = Summarizer(settings(), transport=llm)

    summary = summarizer.summarize(article)

    assert isinstance(summary, Summary)
    assert summary.headline == reference_draft["headline"]
    assert len(summary.claims) == len(reference_draft["claims"])
    assert_grounded(summary, article)
    meta = summary.meta
    assert meta is not None
    assert meta.attempts == 1
    assert meta.reasks == 0
    assert meta.transport_retries == 0
    assert meta.warnings == []
    assert meta.usage == usage_of(1234, 567)
    assert meta.prompt_version == summarizer.prompts.version
    assert meta.provider == "openai"
    assert meta.model == summarizer.settings.model
    # One request, built by the real SDK + instructor in TOOLS mode.
    assert len(llm.requests) == 1
    sent = llm.requests[0]
    assert sent["model"] == summarizer.settings.model
    assert [m["role"] for m in sent["messages"]] == ["system", "user"]
    assert article in sent["messages"][1]["content"]
    assert [t["function"]["name"] for t in sent["tools"]] == ["DraftSummary"]
    assert sent["tool_choice"]["function"]["name"] == "DraftSummary"


def test_summary_round_trips_through_json(
    article: str, reference_draft: dict[str, Any], settings: MakeSettings
) -> None:
    summary = Summarizer(
        settings(), transport=ScriptedLLM([tool_call_completion(reference_draft)])
    ).summarize(article)
    again = Summary.model_validate_json(to_json(summary))
    assert again == summary
    assert again.check_offsets(article) == []


def test_base_url_makes_the_provider_openai_compatible(
    article: str, reference_draft: dict[str, Any], settings: MakeSettings
) -> None:
    llm = ScriptedLLM([tool_call_completion(reference_draft)])
    summary = Summarizer(
        settings(base_url="http://localhost:9/v1", model="local-llm"), transport=llm
    ).summarize(article)
    assert summary.meta is not None
    assert summary.meta.provider == "openai-compatible"
    assert summary.meta.model == "local-llm"
    assert llm.requests[0]["model"] == "local-llm"


# --------------------------------------------------------------------------- validation re-asks


def test_misquote_is_reasked_with_the_validation_message(
    article: str,
    reference_draft: dict[str, Any],
    misquoted_draft: dict[str, Any],
    settings: MakeSettings,
) -> None:
    bad_quote = misquoted_draft["claims"][MISQUOTED_CLAIM]["quote"]
    good = reference_draft["claims"][MISQUOTED_CLAIM]
    good_quote = good["quote"]
    assert bad_quote not in article and good_quote in article
    repair = {"repairs": [{"claim": MISQUOTED_CLAIM, "action": "fix", "quote": good_quote}]}
    llm = ScriptedLLM(
        [
            tool_call_completion(misquoted_draft, prompt_tokens=100, completion_tokens=50),
            tool_call_completion(repair, prompt_tokens=300, completion_tokens=70, tool_name="DraftRepair"),
        ]
    )

    summary = Summarizer(settings(), transport=llm).summarize(article)

    assert len(llm.requests) == 2
    first, second = llm.requests
    assert [m["role"] for m in first["messages"]] == ["system", "user"]
    # One claim failed: the re-ask is targeted at it, as one more user turn after the prompt.
    assert second["messages"][:2] == first["messages"]
    assert [m["role"] for m in second["messages"]] == ["system", "user", "user"]
    assert [t["function"]["name"] for t in second["tools"]] == ["DraftRepair"]
    feedback = second["messages"][2]["content"]
    assert f"claim {MISQUOTED_CLAIM}:" in feedback
    assert bad_quote in feedback
    assert "closest passage" in feedback
    assert good_quote in feedback
    assert "fix the statement too" in feedback
    # The repair is merged: the claim is back with the article's wording, nothing else changed.
    assert good_quote in quotes(summary)
    assert bad_quote not in quotes(summary)
    assert len(summary.claims) == len(reference_draft["claims"])
    assert_grounded(summary, article)
    meta = summary.meta
    assert meta is not None
    assert meta.attempts == 2
    assert meta.reasks == 1
    assert meta.transport_retries == 0
    assert meta.warnings == []
    assert meta.usage == usage_of(400, 120)


def test_reask_turns_do_not_leak_into_the_next_call(
    article: str,
    reference_draft: dict[str, Any],
    misquoted_draft: dict[str, Any],
    settings: MakeSettings,
) -> None:
    llm = ScriptedLLM(
        [
            tool_call_completion(misquoted_draft),
            tool_call_completion(reference_draft),
            tool_call_completion(reference_draft),
        ]
    )
    summarizer = Summarizer(settings(), transport=llm)
    summarizer.summarize(article)
    summary = summarizer.summarize(article)

    assert [m["role"] for m in llm.requests[2]["messages"]] == ["system", "user"]
    assert summary.meta is not None
    assert summary.meta.attempts == 1
    assert summary.meta.usage == usage_of(100, 50)


def test_still_ungrounded_after_last_reask_drops_the_claim(
    article: str, reference_draft: dict[str, Any], misquoted_draft: dict[str, Any], settings: MakeSettings
) -> None:
    bad_quote = misquoted_draft["claims"][MISQUOTED_CLAIM]["quote"]
    statement = misquoted_draft["claims"][MISQUOTED_CLAIM]["statement"]
    llm = ScriptedLLM([tool_call_completion(misquoted_draft), tool_call_completion(misquoted_draft)])

    summary = Summarizer(settings(max_reasks=1), transport=llm).summarize(article)

    assert len(llm.requests) == 2
    assert len(summary.claims) == len(reference_draft["claims"]) - 1
    assert bad_quote not in quotes(summary)
    assert all(claim.statement != statement for claim in summary.claims)
    assert bad_quote not in json.dumps(summary.content())
    assert_grounded(summary, article)
    meta = summary.meta
    assert meta is not None
    assert meta.attempts == 2
    assert meta.reasks == 1
    dropped = [w for w in meta.warnings if "dropped claim" in w]
    assert len(dropped) == 1
    assert statement in dropped[0]
    assert bad_quote in dropped[0]


def test_still_ungrounded_in_strict_mode_is_an_extraction_error(
    article: str, misquoted_draft: dict[str, Any], settings: MakeSettings
) -> None:
    llm = ScriptedLLM([tool_call_completion(misquoted_draft), tool_call_completion(misquoted_draft)])

    with pytest.raises(ExtractionError) as caught:
        Summarizer(settings(max_reasks=1, strict=True), transport=llm).summarize(article)

    message = str(caught.value)
    assert "\n" not in message
    assert "strict" in message
    assert MODEL_SPELLING in message
    assert caught.value.exit_code == 5
    assert len(llm.requests) == 2


def test_zero_reasks_means_one_request(
    article: str, misquoted_draft: dict[str, Any], settings: MakeSettings
) -> None:
    llm = ScriptedLLM([tool_call_completion(misquoted_draft)])
    summary = Summarizer(settings(max_reasks=0), transport=llm).summarize(article)
    assert len(llm.requests) == 1
    assert summary.meta is not None
    assert summary.meta.attempts == 1
    assert summary.meta.reasks == 0


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(tool_call_completion("not json {"), id="tool-arguments-not-json"),
        pytest.param(tool_call_completion('{"headline": "only a headline"}'), id="missing-fields"),
        pytest.param(
            tool_call_completion('{"headline": "h", "abstract": "a", "claims": [{"quote": 3}]}'),
            id="wrong-types",
        ),
        pytest.param(
            {
                "id": "chatcmpl-prose",
                "object": "chat.completion",
                "created": 1_764_000_000,
                "model": "test-model",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": "Sorry, I cannot help with that."},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
            },
            id="prose-instead-of-a-tool-call",
        ),
    ],
)
def test_answer_that_never_fits_the_schema_is_an_extraction_error(
    article: str, answer: dict[str, Any], settings: MakeSettings
) -> None:
    llm = ScriptedLLM([answer] * 3)

    with pytest.raises(ExtractionError) as caught:
        Summarizer(settings(max_reasks=2), transport=llm).summarize(article)

    message = str(caught.value)
    assert message.strip()
    assert "\n" not in message
    assert "3 attempt" in message
    assert len(llm.requests) == 3


# --------------------------------------------------------------------------- transport retries


def test_429_with_retry_after_is_retried_after_the_asked_delay(
    article: str, reference_draft: dict[str, Any], settings: MakeSettings, sleeps: SleepRecorder
) -> None:
    llm = ScriptedLLM(
        [
            rate_limited(retry_after=2),
            tool_call_completion(reference_draft, prompt_tokens=11, completion_tokens=7),
        ]
    )

    summary = Summarizer(settings(), transport=llm).summarize(article)

    assert sleeps.calls == [2.0]
    assert len(llm.requests) == 2
    assert llm.requests[0] == llm.requests[1], "a transport retry resends the same request"
    meta = summary.meta
    assert meta is not None
    assert meta.transport_retries == 1
    assert meta.attempts == 1
    assert meta.reasks == 0
    assert meta.usage == usage_of(11, 7)
    assert_grounded(summary, article)


@pytest.mark.parametrize("statuses", [[500], [503], [500, 503], [502, 504]], ids=str)
def test_server_errors_are_retried(
    article: str,
    reference_draft: dict[str, Any],
    settings: MakeSettings,
    sleeps: SleepRecorder,
    statuses: list[int],
) -> None:
    llm = ScriptedLLM(
        [
            *(error_reply(s) for s in statuses),
            tool_call_completion(reference_draft, prompt_tokens=9, completion_tokens=4),
        ]
    )

    summary = Summarizer(settings(max_retries=3), transport=llm).summarize(article)

    assert len(llm.requests) == len(statuses) + 1
    assert len(sleeps.calls) == len(statuses)
    meta = summary.meta
    assert meta is not None
    assert meta.transport_retries == len(statuses)
    assert meta.attempts == 1
    assert meta.usage == usage_of(9, 4)


@pytest.mark.parametrize("max_retries", [0, 1, 3])
def test_429_on_every_try_is_a_provider_error(
    article: str, settings: MakeSettings, sleeps: SleepRecorder, max_retries: int
) -> None:
    llm = ScriptedLLM([rate_limited(retry_after=1)] * 10)

    with pytest.raises(ProviderError) as caught:
        Summarizer(settings(max_retries=max_retries), transport=llm).summarize(article)

    assert "429" in str(caught.value)
    assert "\n" not in str(caught.value)
    assert caught.value.exit_code == 4
    # Transport retries only: instructor must not re-ask (multiply) a provider failure.
    assert len(llm.requests) == max_retries + 1
    assert sleeps.calls == [1.0] * max_retries


def test_5xx_on_every_try_is_a_provider_error(article: str, settings: MakeSettings) -> None:
    llm = ScriptedLLM([error_reply(503, "overloaded")] * 10)

    with pytest.raises(ProviderError) as caught:
        Summarizer(settings(max_retries=2), transport=llm).summarize(article)

    assert "503" in str(caught.value)
    assert len(llm.requests) == 3


def test_connection_error_is_a_provider_error(
    article: str, settings: MakeSettings, sleeps: SleepRecorder
) -> None:
    network = ConnectRefused()

    with pytest.raises(ProviderError) as caught:
        Summarizer(settings(max_retries=2), transport=network).summarize(article)

    assert network.calls == 3
    assert len(sleeps.calls) == 2
    assert "\n" not in str(caught.value)
    assert "reach" in str(caught.value)


def test_timeouts_are_retried_then_a_provider_error(
    article: str, settings: MakeSettings, sleeps: SleepRecorder
) -> None:
    network = ConnectRefused(httpx.ReadTimeout)

    with pytest.raises(ProviderError) as caught:
        Summarizer(settings(max_retries=1), transport=network).summarize(article)

    assert network.calls == 2
    assert "in time" in str(caught.value)


def test_client_error_is_not_retried(article: str, settings: MakeSettings) -> None:
    llm = ScriptedLLM([error_reply(400, "Invalid 'messages': too many tokens")] * 5)

    with pytest.raises(ProviderError) as caught:
        Summarizer(settings(max_retries=3), transport=llm).summarize(article)

    assert len(llm.requests) == 1
    assert "400" in str(caught.value)
    assert "too many tokens" in str(caught.value)


def test_provider_failure_during_a_reask_is_a_provider_error(
    article: str, misquoted_draft: dict[str, Any], settings: MakeSettings
) -> None:
    llm = ScriptedLLM([tool_call_completion(misquoted_draft), *[rate_limited(0)] * 5])

    with pytest.raises(ProviderError, match="429"):
        Summarizer(settings(max_retries=1), transport=llm).summarize(article)

    assert len(llm.requests) == 1 + 2


def test_async_429_is_retried_with_the_injected_async_sleep(
    article: str, reference_draft: dict[str, Any], settings: MakeSettings, sleeps: SleepRecorder
) -> None:
    llm = ScriptedLLM([rate_limited(retry_after=2), tool_call_completion(reference_draft)])

    summary = asyncio.run(Summarizer(settings(), transport=llm).asummarize(article))

    assert sleeps.calls == [2.0]
    assert summary.meta is not None
    assert summary.meta.transport_retries == 1
    assert summary.meta.usage == usage_of(100, 50)


# --------------------------------------------------------------------------- async and concurrency


def test_asummarize_gives_the_same_summary(
    article: str,
    reference_draft: dict[str, Any],
    misquoted_draft: dict[str, Any],
    settings: MakeSettings,
) -> None:
    sync_summary = Summarizer(
        settings(), transport=ScriptedLLM([tool_call_completion(reference_draft)])
    ).summarize(article)
    llm = ScriptedLLM(
        [
            tool_call_completion(misquoted_draft, prompt_tokens=10, completion_tokens=1),
            tool_call_completion(reference_draft, prompt_tokens=20, completion_tokens=2),
        ]
    )

    summary = asyncio.run(Summarizer(settings(), transport=llm).asummarize(article))

    assert summary.content() == sync_summary.content()
    assert_grounded(summary, article)
    assert summary.meta is not None
    assert summary.meta.attempts == 2
    assert summary.meta.reasks == 1
    assert summary.meta.usage == usage_of(30, 3)


def _marked(article: str, n: int) -> str:
    return f"{article}\n\n[call {n}]\n"


def _call_number(request: httpx.Request) -> int:
    body = json.loads(request.content)
    user = next(m["content"] for m in body["messages"] if m["role"] == "user")
    return int(user.rsplit("[call ", 1)[1].split("]", 1)[0])


class InFlight:
    """Counts overlapping requests, to prove the calls really ran concurrently."""

    def __init__(self) -> None:
        self.now = 0
        self.peak = 0
        self._lock = threading.Lock()

    def enter(self) -> None:
        with self._lock:
            self.now += 1
            self.peak = max(self.peak, self.now)

    def leave(self) -> None:
        with self._lock:
            self.now -= 1


def test_concurrent_asummarize_calls_keep_their_own_usage(
    article: str, reference_draft: dict[str, Any], settings: MakeSettings
) -> None:
    in_flight = InFlight()

    async def answer(request: httpx.Request) -> httpx.Response:
        n = _call_number(request)
        in_flight.enter()
        try:
            await asyncio.sleep(0.05)
        finally:
            in_flight.leave()
        return httpx.Response(
            200, json=tool_call_completion(reference_draft, prompt_tokens=1000 + n, completion_tokens=n)
        )

    summarizer = Summarizer(settings(), transport=httpx.MockTransport(answer))
    texts = [_marked(article, n) for n in range(1, 9)]

    async def main() -> list[Summary]:
        return list(await asyncio.gather(*(summarizer.asummarize(t) for t in texts)))

    summaries = asyncio.run(main())

    assert in_flight.peak > 1, "the calls did not overlap"
    for n, (text, summary) in enumerate(zip(texts, summaries, strict=True), 1):
        assert summary.meta is not None
        assert summary.meta.attempts == 1
        assert summary.meta.reasks == 0
        assert summary.meta.transport_retries == 0
        assert summary.meta.usage == usage_of(1000 + n, n)
        assert_grounded(summary, text)


def test_concurrent_threads_on_one_summarizer_keep_their_own_usage(
    article: str, reference_draft: dict[str, Any], misquoted_draft: dict[str, Any], settings: MakeSettings
) -> None:
    in_flight = InFlight()
    seen: dict[int, int] = {}
    seen_lock = threading.Lock()

    def answer(request: httpx.Request) -> httpx.Response:
        n = _call_number(request)
        with seen_lock:
            seen[n] = seen.get(n, 0) + 1
            first = seen[n] == 1
        in_flight.enter()
        try:
            time.sleep(0.05)
        finally:
            in_flight.leave()
        # Odd calls misquote first, so they need a re-ask; even calls are right at once.
        draft = misquoted_draft if (n % 2 and first) else reference_draft
        return httpx.Response(
            200, json=tool_call_completion(draft, prompt_tokens=1000 + n, completion_tokens=n)
        )

    summarizer = Summarizer(settings(), transport=httpx.MockTransport(answer))
    texts = [_marked(article, n) for n in range(1, 9)]

    with ThreadPoolExecutor(max_workers=8) as pool:
        summaries = list(pool.map(summarizer.summarize, texts))

    assert in_flight.peak > 1, "the calls did not overlap"
    for n, (text, summary) in enumerate(zip(texts, summaries, strict=True), 1):
        meta = summary.meta
        assert meta is not None
        calls = 2 if n % 2 else 1
        assert meta.attempts == calls, n
        assert meta.reasks == calls - 1
        assert meta.usage == usage_of((1000 + n) * calls, n * calls)
        assert_grounded(summary, text)


# --------------------------------------------------------------------------- the API key stays secret


def _secret_free(error: BaseException) -> None:
    assert API_KEY not in str(error)
    assert API_KEY not in repr(error)
    assert API_KEY[-12:] not in str(error)


def test_api_key_is_not_in_the_summary(
    article: str, reference_draft: dict[str, Any], settings: MakeSettings
) -> None:
    llm = ScriptedLLM([tool_call_completion(reference_draft)])
    s = settings()
    summary = Summarizer(s, transport=llm).summarize(article)

    assert API_KEY not in summary.model_dump_json()
    assert API_KEY not in to_json(summary)
    assert API_KEY not in repr(s)
    assert API_KEY not in json.dumps(llm.requests), "the key travels in a header, never in the body"


def test_401_is_a_provider_error_without_the_key(article: str, settings: MakeSettings) -> None:
    # A server that echoes the key back in full, as some OpenAI-compatible proxies do.
    unauthorized = Reply(
        {
            "error": {
                "message": f"Incorrect API key provided: {API_KEY}.",
                "type": "invalid_request_error",
                "code": "invalid_api_key",
            }
        },
        status=401,
    )
    llm = ScriptedLLM([unauthorized] * 5)

    with pytest.raises(ProviderError) as caught:
        Summarizer(settings(), transport=llm).summarize(article)

    assert "401" in str(caught.value)
    assert len(llm.requests) == 1, "a 401 is neither retried nor re-asked"
    _secret_free(caught.value)


@pytest.mark.parametrize(
    "replies, max_reasks, strict",
    [
        ([rate_limited(0)] * 5, 2, False),
        ([error_reply(503)] * 5, 2, False),
        ([error_reply(400, "bad request")] * 5, 2, False),
        ([tool_call_completion("not json")] * 5, 1, False),
        ("misquoted", 1, True),
    ],
    ids=["429", "503", "400", "bad-json", "strict"],
)
def test_no_error_message_contains_the_key(
    article: str,
    misquoted_draft: dict[str, Any],
    settings: MakeSettings,
    replies: Any,
    max_reasks: int,
    strict: bool,
) -> None:
    if replies == "misquoted":
        replies = [tool_call_completion(misquoted_draft)] * 2
    llm = ScriptedLLM(replies)

    with pytest.raises(SummarizerError) as caught:
        Summarizer(settings(max_retries=1, max_reasks=max_reasks, strict=strict), transport=llm).summarize(
            article
        )

    _secret_free(caught.value)


def test_connection_error_message_does_not_contain_the_key(article: str, settings: MakeSettings) -> None:
    with pytest.raises(ProviderError) as caught:
        Summarizer(settings(max_retries=0), transport=ConnectRefused()).summarize(article)
    _secret_free(caught.value)


def test_misquote_fixture_is_a_real_misquote(article: str, misquoted_draft: dict[str, Any]) -> None:
    from summarizer.extract.grounding import Article

    quote = misquoted_draft["claims"][MISQUOTED_CLAIM]["quote"]
    assert Article(article).locate(quote) is None
    assert ARTICLE_SPELLING in article


# --------------------------------------------------------------------------- over real HTTP (a local server)


def test_one_summarizer_over_real_http_serves_repeated_sync_calls(
    article: str, reference_draft: dict[str, Any], settings: MakeSettings, openai_server: Any
) -> None:
    server = openai_server(lambda body: (200, {}, tool_call_completion(reference_draft)))
    summarizer = Summarizer(settings(base_url=server.base_url, max_retries=2))

    for _ in range(3):
        summary = summarizer.summarize(article)
        assert summary.meta is not None
        assert summary.meta.attempts == 1
        assert summary.meta.transport_retries == 0
        assert_grounded(summary, article)
    assert len(server.requests) == 3


def test_one_summarizer_serves_asummarize_from_successive_event_loops(
    article: str, reference_draft: dict[str, Any], settings: MakeSettings, openai_server: Any
) -> None:
    server = openai_server(lambda body: (200, {}, tool_call_completion(reference_draft)))
    summarizer = Summarizer(settings(base_url=server.base_url, max_retries=2))

    for _ in range(2):
        summary = asyncio.run(summarizer.asummarize(article))
        assert summary.meta is not None
        assert summary.meta.attempts == 1


def test_a_context_too_small_for_the_prompt_is_refused_before_any_request(article: str) -> None:
    llm = ScriptedLLM([])
    summarizer = Summarizer(Settings(api_key="sk-test", context_tokens=3_000), transport=llm)
    with pytest.raises(InputError, match="3,000-token context leaves no room"):
        summarizer.summarize(article)
    assert llm.requests == []

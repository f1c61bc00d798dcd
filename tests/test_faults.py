"""Fault injection over real HTTP: every way a provider can misbehave, seen through the CLI.

A ``FaultServer`` (tests/fault_server.py) on 127.0.0.1 plays a script, one action per
request: error statuses with or without Retry-After, stalls past --timeout, connections
reset mid-response, and 200s whose content is wrong in every way a model or proxy can
get it wrong. Each test runs ``summarizer summarize ARTICLE --base-url ...`` in-process
(Typer's CliRunner) and checks the exit code and the one line on stderr, or, where the
run succeeds, that ``meta.usage`` is the sum of the usage of every 200 the server
delivered (re-asks included) and ``meta.transport_retries`` the number of faults retried.

Nothing may end in a traceback or in exit 70 (internal error). Timing-sensitive checks
(the exact delays asked for) use the library with a recording ``sleep`` instead.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import SleepRecorder
from fault_server import Cut, FaultServer, Respond, Script, Stall, error_body
from typer.testing import CliRunner

from summarizer import Summarizer
from summarizer.cli import app
from summarizer.config import Settings
from summarizer.errors import ProviderError
from summarizer.schema import Summary, Usage
from summarizer.testing import tool_call_completion

KEY = "sk-test-faults-5f1c0e9a7b3d"
CONFIG_VARS = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "SUMMARIZER_BASE_URL",
    "SUMMARIZER_MODEL",
    "SUMMARIZER_MODE",
)
ERROR_PREFIX = "summarizer: error: "
INTERNAL_ERROR = 70


@dataclass
class Run:
    exit_code: int
    stdout: str
    stderr: str
    seconds: float


StartServer = Callable[..., FaultServer]


@pytest.fixture
def fault_server() -> Iterator[StartServer]:
    started: list[FaultServer] = []

    def start(script: list[Script], then: Script | None = None) -> FaultServer:
        server = FaultServer(script, then)
        started.append(server)
        return server

    yield start
    for server in started:
        server.close()


@pytest.fixture
def article_file(tmp_path: Path, article: str) -> Path:
    path = tmp_path / "article.txt"
    path.write_text(article, encoding="utf-8")
    return path


def cli(article_file: Path, server: FaultServer, *extra: str, max_retries: int = 2) -> Run:
    args = [
        "summarize",
        str(article_file),
        "--base-url",
        server.base_url,
        "--max-retries",
        str(max_retries),
        "--no-cache",
        *extra,
    ]
    environment: dict[str, str | None] = dict.fromkeys(CONFIG_VARS)
    environment["OPENAI_API_KEY"] = KEY
    started = time.perf_counter()
    result = CliRunner().invoke(app, args, env=environment)
    seconds = time.perf_counter() - started
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Run(result.exit_code, result.stdout, result.stderr, seconds)


def good(draft: dict[str, Any], n: int = 1) -> Respond:
    """A valid answer with its own, distinct usage (so that sums are checkable)."""
    return Respond(
        200,
        tool_call_completion(
            draft, prompt_tokens=1_000 + n, completion_tokens=100 + 7 * n, completion_id=f"chatcmpl-good-{n}"
        ),
    )


def completion_with(message: dict[str, Any], finish_reason: str = "stop", n: int = 9) -> Respond:
    return Respond(
        200,
        {
            "id": f"chatcmpl-odd-{n}",
            "object": "chat.completion",
            "created": 1_764_000_000,
            "model": "test-model",
            "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
            "usage": {"prompt_tokens": 900 + n, "completion_tokens": n, "total_tokens": 900 + 2 * n},
        },
    )


def succeeded(run: Run, server: FaultServer, article: str, *, retries: int) -> Summary:
    """Exit 0, a grounded summary, and an accounting that matches what the server delivered."""
    assert run.exit_code == 0, (run.exit_code, run.stderr)
    assert "Traceback" not in run.stderr
    summary = Summary.model_validate_json(run.stdout)
    assert summary.check_offsets(article) == []
    assert summary.meta is not None
    assert summary.meta.usage == server.total_usage, (summary.meta.usage, server.usage_served)
    assert summary.meta.usage != Usage()
    assert summary.meta.transport_retries == retries, server.statuses()
    assert summary.meta.attempts == len(server.usage_served)
    return summary


def one_line_error(run: Run, code: int, *fragments: str) -> str:
    """Exit ``code`` with exactly one line on stderr, our own, and nothing on stdout."""
    assert run.exit_code != INTERNAL_ERROR, f"internal error (a bug): {run.stderr}"
    assert run.exit_code == code, (run.exit_code, run.stderr)
    assert "Traceback" not in run.stderr + run.stdout
    assert run.stdout == ""
    lines = run.stderr.splitlines()
    assert len(lines) == 1, f"stderr is not one line:\n{run.stderr}"
    assert lines[0].startswith(ERROR_PREFIX), run.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


def reask_feedback(request: dict[str, Any]) -> str:
    """The problems list sent back to the model in a re-ask request (the last turn's content)."""
    return str(request["messages"][-1]["content"])


# --------------------------------------------------------------------------- transport faults, retried


def test_503_then_429_then_a_good_answer(
    article_file: Path, article: str, fault_server: StartServer, reference_draft: dict[str, Any]
) -> None:
    server = fault_server(
        [
            error_body(503),
            Respond(429, {"error": {"message": "slow down"}}, {"Retry-After": "0"}),
            good(reference_draft),
        ]
    )

    run = cli(article_file, server, max_retries=2)

    succeeded(run, server, article, retries=2)
    assert server.statuses() == [503, 429, 200]
    # A transport retry resends the same request: nothing about it changes.
    assert server.requests[0] == server.requests[1] == server.requests[2]


def test_429_with_retry_after(
    article_file: Path, article: str, fault_server: StartServer, reference_draft: dict[str, Any]
) -> None:
    server = fault_server(
        [Respond(429, {"error": {"message": "rate limited"}}, {"Retry-After": "0"}), good(reference_draft)]
    )

    run = cli(article_file, server)

    succeeded(run, server, article, retries=1)  # the delay waited is checked in the test below


@pytest.mark.parametrize(
    "headers, asked",
    [({"Retry-After": "7"}, 7.0), ({"retry-after-ms": "250"}, 0.25), ({"Retry-After": "100000"}, 60.0)],
    ids=["seconds", "milliseconds", "capped"],
)
def test_retry_after_is_the_delay_waited(
    article: str,
    fault_server: StartServer,
    reference_draft: dict[str, Any],
    settings: Callable[..., Settings],
    sleeps: SleepRecorder,
    headers: dict[str, str],
    asked: float,
) -> None:
    server = fault_server(
        [Respond(429, {"error": {"message": "rate limited"}}, headers), good(reference_draft)]
    )

    summary = Summarizer(settings(max_retries=2, base_url=server.base_url)).summarize(article)

    assert sleeps.calls == [pytest.approx(asked)]
    assert summary.meta is not None and summary.meta.transport_retries == 1


def test_429_without_retry_after_backs_off(
    article_file: Path, article: str, fault_server: StartServer, reference_draft: dict[str, Any]
) -> None:
    server = fault_server([Respond(429, {"error": {"message": "rate limited"}}), good(reference_draft)])

    run = cli(article_file, server, max_retries=2)

    succeeded(run, server, article, retries=1)
    # RetryPolicy default: 0.5 s initial delay, jitter ±25 %.
    assert run.seconds >= 0.375


def test_backoff_without_retry_after_is_exponential(
    article: str, fault_server: StartServer, reference_draft: dict[str, Any], sleeps: SleepRecorder
) -> None:
    from summarizer.llm.transport import RetryPolicy

    policy = RetryPolicy(max_retries=3, initial_delay=0.5, jitter=0, sleep=sleeps, async_sleep=sleeps.asleep)
    limited = Respond(429, {"error": {"message": "rate limited"}})
    server = fault_server([limited, limited, limited, good(reference_draft)])

    summary = Summarizer(Settings(api_key=KEY, base_url=server.base_url, retry=policy)).summarize(article)

    assert sleeps.calls == [0.5, 1.0, 2.0]
    assert summary.meta is not None and summary.meta.transport_retries == 3


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_error_is_retried(
    article_file: Path, article: str, fault_server: StartServer, reference_draft: dict[str, Any], status: int
) -> None:
    server = fault_server([error_body(status), good(reference_draft)])

    run = cli(article_file, server)

    succeeded(run, server, article, retries=1)
    assert server.statuses() == [status, 200]


@pytest.mark.parametrize("status", [408, 409])
def test_other_retryable_statuses(
    article: str,
    fault_server: StartServer,
    reference_draft: dict[str, Any],
    settings: Callable[..., Settings],
    status: int,
) -> None:
    server = fault_server([error_body(status), good(reference_draft)])

    summary = Summarizer(settings(base_url=server.base_url)).summarize(article)

    assert summary.meta is not None and summary.meta.transport_retries == 1


def test_request_timeout_is_retried(
    article_file: Path, article: str, fault_server: StartServer, reference_draft: dict[str, Any]
) -> None:
    server = fault_server([Stall(2.5), good(reference_draft)])

    run = cli(article_file, server, "--timeout", "1")

    succeeded(run, server, article, retries=1)
    assert server.statuses() == ["Stall", 200]


def test_connection_reset_mid_body_is_retried(
    article_file: Path, article: str, fault_server: StartServer, reference_draft: dict[str, Any]
) -> None:
    server = fault_server([Cut(), good(reference_draft)])

    run = cli(article_file, server)

    succeeded(run, server, article, retries=1)
    assert server.statuses() == ["Cut", 200]


def test_connection_reset_after_headers_is_retried(
    article_file: Path, article: str, fault_server: StartServer, reference_draft: dict[str, Any]
) -> None:
    server = fault_server([Cut(partial=b""), good(reference_draft)])

    run = cli(article_file, server)

    succeeded(run, server, article, retries=1)


def test_transport_fault_during_a_reask_is_retried_and_every_answer_counted(
    article_file: Path, article: str, fault_server: StartServer, reference_draft: dict[str, Any]
) -> None:
    headless = {k: v for k, v in reference_draft.items() if k != "headline"}
    server = fault_server(
        [good(headless, 1), error_body(503), Respond(429, {}, {"Retry-After": "0"}), good(reference_draft, 2)]
    )

    run = cli(article_file, server, max_retries=2)

    summary = succeeded(run, server, article, retries=2)
    assert summary.meta is not None
    assert (summary.meta.attempts, summary.meta.reasks) == (2, 1)
    assert len(server.usage_served) == 2  # the bad first answer is paid for too


# --------------------------------------------------------------------------- transport faults, out of retries


@pytest.mark.parametrize(
    "fault, fragment",
    [
        (Respond(429, {"error": {"message": "rate limited"}}, {"Retry-After": "0"}), "rate limited"),
        (error_body(503, "upstream overloaded"), "HTTP 503"),
        (error_body(500, "boom"), "HTTP 500"),
    ],
    ids=["429", "503", "500"],
)
def test_status_on_every_try_is_exit_4(
    article_file: Path, fault_server: StartServer, fault: Respond, fragment: str
) -> None:
    server = fault_server([], then=fault)

    run = cli(article_file, server, max_retries=1)

    one_line_error(run, 4, fragment)
    assert len(server.requests) == 2


def test_timeout_on_every_try_is_exit_4(article_file: Path, fault_server: StartServer) -> None:
    server = fault_server([], then=Stall(2.5))

    run = cli(article_file, server, "--timeout", "1", max_retries=1)

    one_line_error(run, 4, "did not answer in time")
    assert len(server.requests) == 2


def test_connection_reset_on_every_try_is_exit_4(article_file: Path, fault_server: StartServer) -> None:
    server = fault_server([], then=Cut())

    run = cli(article_file, server, max_retries=1)

    one_line_error(run, 4, "connection")
    assert len(server.requests) == 2


def test_client_error_is_not_retried(article_file: Path, fault_server: StartServer) -> None:
    server = fault_server([], then=error_body(400, "context_length_exceeded"))

    run = cli(article_file, server, max_retries=3)

    one_line_error(run, 4, "HTTP 400", "context_length_exceeded")
    assert len(server.requests) == 1


# --------------------------------------------------------------------------- 200s that carry no usable answer


def test_malformed_json_body_is_a_provider_error(article_file: Path, fault_server: StartServer) -> None:
    # A 200 that says it is JSON but is not: a provider fault, one line, exit 4.
    # It is neither retried (it is not a transport fault) nor re-asked (there is no draft).
    server = fault_server([Respond(200, b'{"id": "chatcmpl-x", "choices": [')], then=error_body(500))

    run = cli(article_file, server)

    one_line_error(run, 4, "not valid JSON")
    assert len(server.requests) == 1


def test_json_object_without_choices_is_one_line(article_file: Path, fault_server: StartServer) -> None:
    server = fault_server(
        [Respond(200, {"object": "error", "detail": "upstream says no"})], then=error_body(500)
    )

    run = cli(article_file, server)

    # The parser's own finding ("no choices"), not an IndexError from building a re-ask of it.
    one_line_error(run, 4, "not with a chat completion (no choices): check --base-url")


# Regression: these once crashed in reask_messages (AttributeError, exit 70).
def test_html_body_with_200_is_a_provider_error(article_file: Path, fault_server: StartServer) -> None:
    page = Respond(200, b"<html><body>502 Bad Gateway</body></html>", content_type="text/html")
    server = fault_server([page], then=error_body(500))

    run = cli(article_file, server, max_retries=0)

    one_line_error(run, 4, "200")
    assert len(server.requests) == 1


@pytest.mark.parametrize("body", [b"[]", b'"ok"'], ids=["array", "string"])
def test_json_that_is_not_an_object_is_a_provider_error(
    article_file: Path, fault_server: StartServer, body: bytes
) -> None:
    server = fault_server([Respond(200, body)], then=error_body(500))

    run = cli(article_file, server, max_retries=0)

    one_line_error(run, 4, "200")


def test_answer_cut_off_at_the_output_limit(
    article_file: Path, fault_server: StartServer, reference_draft: dict[str, Any]
) -> None:
    truncated = json.dumps(reference_draft)[:700]
    reply = tool_call_completion(truncated, completion_tokens=4096)
    reply["choices"][0]["finish_reason"] = "length"
    server = fault_server([Respond(200, reply)], then=error_body(500))

    run = cli(article_file, server)

    one_line_error(run, 5, "cut off at its output limit")
    assert len(server.requests) == 1, "re-asking a model that ran out of room would only run out again"


def test_refusal_is_one_line_exit_5(article_file: Path, fault_server: StartServer) -> None:
    refusal = completion_with({"role": "assistant", "content": None, "refusal": "I can't help with that."})
    server = fault_server([refusal], then=error_body(500))

    run = cli(article_file, server)

    one_line_error(run, 5, "I can't help with that")


def test_multi_line_refusal_is_still_one_line(article_file: Path, fault_server: StartServer) -> None:
    text = "I can't help with that.\nPlease consult the usage policies."
    refusal = completion_with({"role": "assistant", "content": None, "refusal": text})
    server = fault_server([refusal], then=error_body(500))

    run = cli(article_file, server)

    one_line_error(run, 5, "I can't help with that. Please consult the usage policies.")


def test_empty_choices_is_one_line_not_internal(article_file: Path, fault_server: StartServer) -> None:
    reply = completion_with({"role": "assistant", "content": None}).body
    assert isinstance(reply, dict)
    server = fault_server([Respond(200, {**reply, "choices": []})], then=error_body(500))

    run = cli(article_file, server)

    one_line_error(run, 4, "not with a chat completion (no choices): check --base-url")


def test_text_instead_of_a_tool_call_is_reasked(
    article_file: Path, article: str, fault_server: StartServer, reference_draft: dict[str, Any]
) -> None:
    prose = completion_with({"role": "assistant", "content": "Here is a summary of the article."}, n=3)
    server = fault_server([prose, good(reference_draft)])

    run = cli(article_file, server)

    summary = succeeded(run, server, article, retries=0)
    assert summary.meta is not None and summary.meta.reasks == 1


# --------------------------------------------------------------------------- the wrong function, the wrong shape


def test_wrong_function_name_with_valid_arguments_is_accepted(
    article_file: Path, article: str, fault_server: StartServer, reference_draft: dict[str, Any]
) -> None:
    # What happens today: instructor parses the arguments whatever the function's name, and
    # the arguments are judged on their own (schema and grounding). Documented, not endorsed.
    wrong = tool_call_completion(reference_draft, tool_name="SummarizeArticle")
    server = fault_server([Respond(200, wrong)], then=error_body(500))

    run = cli(article_file, server)

    summary = succeeded(run, server, article, retries=0)
    assert summary.meta is not None and summary.meta.reasks == 0


def test_wrong_function_with_foreign_arguments_is_reasked(
    article_file: Path, article: str, fault_server: StartServer, reference_draft: dict[str, Any]
) -> None:
    weather = tool_call_completion({"location": "Moscow"}, tool_name="get_weather", prompt_tokens=77)
    server = fault_server([Respond(200, weather), good(reference_draft, 2)])

    run = cli(article_file, server)

    summary = succeeded(run, server, article, retries=0)
    assert summary.meta is not None and summary.meta.reasks == 1
    assert "headline: Field required" in reask_feedback(server.requests[1])


def test_wrong_function_every_time_is_exit_5(article_file: Path, fault_server: StartServer) -> None:
    weather = Respond(200, tool_call_completion({"location": "Moscow"}, tool_name="get_weather"))
    server = fault_server([], then=weather)

    run = cli(article_file, server, "--max-reasks", "1")

    one_line_error(run, 5, "did not fit the schema", "headline")
    assert len(server.requests) == 2


def test_missing_headline_is_reasked_with_the_field_error(
    article_file: Path, article: str, fault_server: StartServer, reference_draft: dict[str, Any]
) -> None:
    headless = {k: v for k, v in reference_draft.items() if k != "headline"}
    server = fault_server([good(headless, 1), good(reference_draft, 2)])

    run = cli(article_file, server)

    summary = succeeded(run, server, article, retries=0)
    assert summary.headline == reference_draft["headline"]
    assert summary.meta is not None and (summary.meta.attempts, summary.meta.reasks) == (2, 1)
    feedback = reask_feedback(server.requests[1])
    assert "headline: Field required" in feedback
    # Our re-ask: the original prompt, the failed draft, the problems. Nothing more.
    assert len(server.requests[1]["messages"]) == len(server.requests[0]["messages"]) + 2


def test_wrong_enum_is_reasked_with_the_field_error(
    article_file: Path, article: str, fault_server: StartServer, reference_draft: dict[str, Any]
) -> None:
    wrong = copy.deepcopy(reference_draft)
    wrong["entities"][1]["type"] = "city"
    server = fault_server([good(wrong, 1), good(reference_draft, 2)])

    run = cli(article_file, server)

    succeeded(run, server, article, retries=0)
    feedback = reask_feedback(server.requests[1])
    assert "entities.1.type" in feedback
    assert "'person', 'organization', 'location', 'event' or 'other'" in feedback


@pytest.mark.parametrize("field", ["headline", "enum"])
def test_schema_violation_on_every_answer_is_exit_5(
    article_file: Path, fault_server: StartServer, reference_draft: dict[str, Any], field: str
) -> None:
    bad = copy.deepcopy(reference_draft)
    if field == "headline":
        del bad["headline"]
    else:
        bad["entities"][0]["type"] = "human"
    server = fault_server([], then=good(bad))

    run = cli(article_file, server, "--max-reasks", "1")

    line = one_line_error(run, 5, "did not fit the schema after 2 attempt(s)")
    assert ("headline" if field == "headline" else "entities.0.type") in line
    assert len(server.requests) == 2


# --------------------------------------------------------------------------- the library says the same


def test_library_raises_provider_error_for_exhausted_timeouts(
    article: str, fault_server: StartServer, settings: Callable[..., Settings]
) -> None:
    server = fault_server([], then=Stall(2.5))

    with pytest.raises(ProviderError, match="did not answer in time"):
        Summarizer(settings(max_retries=0, base_url=server.base_url, timeout=1.0)).summarize(article)

"""Batch API export and import: the same requests as a live call, the same checks on the answers.

No test touches the network: the real httpx transports are made to fail. Requests a live call
sends are captured with ScriptedLLM through ``Summarizer.summarize`` and compared with the
exported bodies; provider output files are built from the hand-written reference draft.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import API_KEY, CASE, MISQUOTED_CLAIM, MODEL_SPELLING, ROOT, SleepRecorder
from typer.testing import CliRunner

from summarizer.batch import provider_api as batch_api
from summarizer.batch.items import BatchItem, read_items
from summarizer.batch.provider_api import ArticleIndex, export_requests, import_results, missing_records
from summarizer.cache import SummaryCache
from summarizer.cli import app
from summarizer.config import Settings
from summarizer.errors import ConfigError, InputError, ProviderError, SummarizerError
from summarizer.golden.compare import load_golden
from summarizer.llm.network import AiohttpTransport
from summarizer.pipeline import Summarizer
from summarizer.schema import Summary
from summarizer.testing import Reply, ScriptedLLM, tool_call_completion

MakeSettings = Callable[..., Settings]

GOLDEN = ROOT / "fixtures" / "cases" / CASE / "golden.json"
CONFIG_VARS = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "SUMMARIZER_BASE_URL",
    "SUMMARIZER_MODEL",
    "SUMMARIZER_MODE",
    "SUMMARIZER_PROVIDER",
)


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: Any, request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"a test tried to reach the network: {request.url}")

    async def arefuse(self: Any, request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"a test tried to reach the network: {request.url}")

    monkeypatch.setattr(httpx.HTTPTransport, "handle_request", refuse)
    monkeypatch.setattr(httpx.AsyncHTTPTransport, "handle_async_request", arefuse)
    monkeypatch.setattr(AiohttpTransport, "handle_async_request", arefuse)


@pytest.fixture
def inbox(tmp_path: Path, article: str) -> Path:
    """A batch folder: the seed article under two ids, and an empty file."""
    folder = tmp_path / "inbox"
    folder.mkdir()
    (folder / "one.txt").write_text(article, encoding="utf-8")
    (folder / "two.txt").write_text(article, encoding="utf-8")
    (folder / "empty.txt").write_text("", encoding="utf-8")
    return folder


def live_request(summarizer_settings: Settings, article: str) -> dict[str, Any]:
    """The first request body a live ``Summarizer.summarize`` sends with these settings."""
    llm = ScriptedLLM([Reply({"error": {"message": "stop here"}}, status=400)])
    with pytest.raises(ProviderError):
        Summarizer(summarizer_settings, transport=llm).summarize(article)
    assert len(llm.requests) == 1
    return llm.requests[0]


def output_line(custom_id: str, body: dict[str, Any] | None = None, **overrides: Any) -> str:
    """One line of a Batch API output file."""
    line: dict[str, Any] = {
        "id": f"batch_req_{custom_id}",
        "custom_id": custom_id,
        "response": {"status_code": 200, "request_id": f"req_{custom_id}", "body": body},
        "error": None,
    }
    line.update(overrides)
    return json.dumps(line, ensure_ascii=False)


def summary_of(record: dict[str, Any]) -> Summary:
    assert record["status"] == "ok", record
    return Summary.model_validate(record["summary"])


# --------------------------------------------------------------------------- export


def test_export_bodies_equal_what_a_live_call_sends(
    inbox: Path, article: str, reference_draft: dict[str, Any], settings: MakeSettings
) -> None:
    # A live summarizer with a cache: its cache hit must not stop the export, nor may export write.
    llm = ScriptedLLM([tool_call_completion(reference_draft)])
    cache = SummaryCache()
    live = Summarizer(settings(seed=7), transport=llm, cache=cache)
    live.summarize(article)
    sent = llm.requests[0]
    rejected: list[tuple[str, SummarizerError]] = []

    lines = list(
        export_requests(read_items(inbox), live, on_rejected=lambda i, e: rejected.append((i.id, e)))
    )

    assert [line["custom_id"] for line in lines] == ["one", "two"]
    for line in lines:
        assert line["method"] == "POST"
        assert line["url"] == "/v1/chat/completions"
        assert line["body"] == sent
    assert sent["seed"] == 7
    assert sent["tool_choice"]["function"]["name"] == "DraftSummary"
    assert [(item_id, type(error)) for item_id, error in rejected] == [("empty", InputError)]
    assert len(llm.requests) == 1  # export sent nothing through the live transport
    assert len(cache) == 1  # the live call's entry, and nothing from the export


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({}, id="defaults"),
        pytest.param({"mode": "json_schema"}, id="json-schema-mode"),
        pytest.param({"mode": "json", "seed": 3, "temperature": 0.2}, id="json-mode-sampling"),
        pytest.param({"model": "gpt-4o-mini", "max_output_tokens": 4000}, id="model-and-cap"),
        pytest.param({"base_url": "http://vllm.example/v1", "model": "qwen"}, id="openai-compatible"),
    ],
)
def test_export_follows_every_setting_that_shapes_the_request(
    article: str, settings: MakeSettings, overrides: dict[str, Any]
) -> None:
    chosen = settings(**overrides)
    [line] = export_requests([BatchItem("a", article)], Summarizer(chosen))
    assert line["body"] == live_request(chosen, article)


def test_export_bodies_equal_what_summarizer_batch_sends(article: str, settings: MakeSettings) -> None:
    """`summarizer batch` calls through the async client: its request is the same body."""
    llm = ScriptedLLM([Reply({"error": {"message": "stop here"}}, status=400)])
    live = Summarizer(settings(), transport=llm)
    with pytest.raises(ProviderError):
        asyncio.run(live.asummarize(article))
    [line] = export_requests([BatchItem("a", article)], live)
    assert line["body"] == llm.requests[0]


def test_export_makes_one_attempt_per_article_no_retries_no_cache(
    inbox: Path, settings: MakeSettings, sleeps: SleepRecorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    capture = batch_api._CaptureTransport.handle_request

    def counting(self: Any, request: httpx.Request) -> httpx.Response:
        calls.append(str(request.url))
        return capture(self, request)

    monkeypatch.setattr(batch_api._CaptureTransport, "handle_request", counting)
    cache = SummaryCache()
    summarizer = Summarizer(settings(max_retries=4, max_reasks=3), cache=cache)

    lines = list(export_requests(read_items(inbox), summarizer))

    assert len(lines) == 2
    assert len(calls) == 2  # one request per article: neither retried nor re-asked
    assert sleeps.calls == []  # no transport-retry backoff either
    assert len(cache) == 0


def test_export_needs_no_api_key(article: str) -> None:
    [line] = export_requests([BatchItem("a", article)], Summarizer(Settings(api_key=None)))
    assert line["body"]["model"] == "gpt-4.1-mini"


def test_export_rejects_unreadable_and_repeated_articles(tmp_path: Path, article: str) -> None:
    source = tmp_path / "in.jsonl"
    rows = [{"id": "x", "text": article}, {"id": "x", "text": article}, {"id": "blank", "text": "  \n"}]
    source.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    unreadable = BatchItem("bin", "", {"input_error": "bin.txt looks like a binary file"})
    rejected: dict[str, str] = {}

    lines = list(
        export_requests(
            [*read_items(source), unreadable],
            Summarizer(Settings()),
            on_rejected=lambda item, error: rejected.setdefault(item.id, str(error)),
        )
    )

    assert [line["custom_id"] for line in lines] == ["x"]
    assert "duplicate id 'x'" in rejected["x"]
    assert "empty" in rejected["blank"]
    assert "binary" in rejected["bin"]


# --------------------------------------------------------------------------- the input index


def test_article_index_gives_what_read_items_gives(tmp_path: Path, inbox: Path, article: str) -> None:
    source = tmp_path / "in.jsonl"
    lines = [
        json.dumps({"id": "a", "text": article, "section": "world"}).encode(),
        json.dumps({"id": 7, "text": "Second article, with ünïcode."}, ensure_ascii=False).encode(),
        json.dumps({"id": "a", "text": "a repeated id: the first wins"}).encode(),
        b"",
        b"{not json",
        b'{"id": "no-text"}',
        b'{"id": "n", "text": 5}',
        b'{"id": "latin1", "text": "caf\xe9"}',
    ]
    source.write_bytes(b"\xef\xbb\xbf" + b"\n".join(lines) + b"\n")
    (inbox / "binary.txt").write_bytes(b"\x00\x01")

    for where in (inbox, source):
        index = ArticleIndex.of(where)
        first: dict[str, BatchItem] = {}
        for item in read_items(where):
            first.setdefault(item.id, item)
        assert list(index) == list(first)
        assert {item_id: index[item_id] for item_id in index} == first
        assert index.get("missing") is None
    index = ArticleIndex.of(source)
    assert index["a"].extra == {"section": "world"}
    assert "in.jsonl:5: not a JSON object" in index["line-5"].extra["input_error"]
    assert "binary" in ArticleIndex.of(inbox)["binary"].extra["input_error"]


def test_article_index_of_a_missing_input_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file or folder"):
        ArticleIndex.of(tmp_path / "nope")


# --------------------------------------------------------------------------- import


def test_import_of_the_reference_answer_gives_the_golden_summary(
    inbox: Path, reference_draft: dict[str, Any], settings: MakeSettings
) -> None:
    body = tool_call_completion(reference_draft, prompt_tokens=3000, completion_tokens=5000)

    [record] = import_results([output_line("one", body)], ArticleIndex.of(inbox), Summarizer(settings()))

    summary = summary_of(record)
    assert summary.content() == load_golden(GOLDEN).content()
    assert summary.meta is not None
    assert summary.meta.attempts == 1
    assert summary.meta.usage.prompt_tokens == 3000
    assert summary.meta.warnings == []
    assert summary.meta.cost_usd is not None
    assert record["id"] == "one"


def test_import_drops_a_misquoted_claim_with_a_warning_and_never_reasks(
    inbox: Path, misquoted_draft: dict[str, Any], settings: MakeSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    served: list[str] = []
    serve = batch_api._StoredAnswerTransport.handle_request

    def counting(self: Any, request: httpx.Request) -> httpx.Response:
        served.append(str(request.url))
        return serve(self, request)

    monkeypatch.setattr(batch_api._StoredAnswerTransport, "handle_request", counting)
    line = output_line("two", tool_call_completion(misquoted_draft))

    # max_reasks=2 in the settings: import overrides it, there is no model to re-ask.
    [record] = import_results([line], ArticleIndex.of(inbox), Summarizer(settings(max_reasks=2)))

    summary = summary_of(record)
    assert len(served) == 1
    golden = load_golden(GOLDEN)
    dropped = {c.statement for c in golden.claims} - {c.statement for c in summary.claims}
    assert dropped == {misquoted_draft["claims"][MISQUOTED_CLAIM]["statement"]}
    assert len(summary.claims) == len(golden.claims) - 1
    assert summary.meta is not None
    assert any("dropped claim" in w and MODEL_SPELLING in w for w in summary.meta.warnings)


def test_import_in_strict_mode_makes_a_misquote_an_error_record(
    inbox: Path, misquoted_draft: dict[str, Any], settings: MakeSettings
) -> None:
    line = output_line("two", tool_call_completion(misquoted_draft))

    [record] = import_results([line], ArticleIndex.of(inbox), Summarizer(settings(strict=True)))

    assert record["status"] == "error"
    assert record["error_type"] == "ExtractionError"
    assert record["exit_code"] == 5
    assert "strict" in record["error"]
    assert MODEL_SPELLING in record["error"]


def test_provider_failures_and_unknown_ids_become_error_records(
    inbox: Path, reference_draft: dict[str, Any], settings: MakeSettings
) -> None:
    lines = [
        # OpenAI's error file: no response, an error object.
        output_line(
            "one", response=None, error={"code": "batch_expired", "message": "This request expired."}
        ),
        # A request the provider refused: an HTTP status and OpenAI's error body.
        output_line(
            "two",
            response={
                "status_code": 400,
                "request_id": "req_400",
                "body": {"error": {"message": "Invalid 'tools'", "type": "invalid_request_error"}},
            },
        ),
        output_line("ghost", tool_call_completion(reference_draft)),
        # vLLM's shape: a status code and the error as a string.
        output_line("one", response={"status_code": 500, "request_id": "r"}, error="engine died"),
    ]

    records = list(import_results(lines, ArticleIndex.of(inbox), Summarizer(settings()), origin="out.jsonl"))

    assert [(r["id"], r["status"], r["error_type"]) for r in records] == [
        ("one", "error", "ProviderError"),
        ("two", "error", "ProviderError"),
        ("ghost", "error", "InputError"),
        ("one", "error", "ProviderError"),
    ]
    assert "batch_expired: This request expired." in records[0]["error"]
    assert "HTTP 400" in records[1]["error"]
    assert "req_400" in records[1]["error"]
    assert "invalid_request_error: Invalid 'tools'" in records[1]["error"]
    assert records[2]["error"] == "out.jsonl:3: no article with id 'ghost' in the input"
    assert "HTTP 500" in records[3]["error"]
    assert "engine died" in records[3]["error"]
    assert all("\n" not in r["error"] for r in records)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        pytest.param("{not json", "not a JSON object", id="not-json"),
        pytest.param("[1, 2]", "not a JSON object", id="not-an-object"),
        pytest.param('{"response": null, "error": "x"}', 'no "custom_id"', id="no-custom-id"),
        pytest.param(
            '{"custom_id": "one", "method": "POST", "url": "/v1/chat/completions", "body": {}}',
            "a request line",
            id="a-request-line",
        ),
        pytest.param('{"custom_id": "one", "response": "ok", "error": null}', '"response" must be', id="bad"),
    ],
)
def test_a_malformed_output_line_is_an_input_error_with_its_line_number(
    inbox: Path, reference_draft: dict[str, Any], settings: MakeSettings, line: str, message: str
) -> None:
    lines = [output_line("one", tool_call_completion(reference_draft)), "", line]
    records = import_results(lines, ArticleIndex.of(inbox), Summarizer(settings()), origin="out.jsonl")
    assert next(records)["status"] == "ok"
    with pytest.raises(InputError, match=rf"^out\.jsonl:3: .*{message}"):
        next(records)


def test_import_skips_ids_already_done(
    inbox: Path, reference_draft: dict[str, Any], settings: MakeSettings
) -> None:
    body = tool_call_completion(reference_draft)
    skipped: list[str] = []
    records = list(
        import_results(
            [output_line("one", body), output_line("two", body)],
            ArticleIndex.of(inbox),
            Summarizer(settings()),
            skip={"one"},
            on_skipped=skipped.append,
        )
    )
    assert [r["id"] for r in records] == ["two"]
    assert skipped == ["one"]


def test_missing_records_name_what_the_provider_never_answered(inbox: Path) -> None:
    records = {r["id"]: r for r in missing_records(ArticleIndex.of(inbox), {"one"})}
    assert set(records) == {"two", "empty"}
    assert records["two"]["error_type"] == "ProviderError"
    assert "no answer in the provider output" in records["two"]["error"]
    assert records["empty"]["error_type"] == "InputError"


# --------------------------------------------------------------------------- the command line


def invoke(args: list[str]) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, args, env=dict.fromkeys(CONFIG_VARS))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_cli_export_writes_the_request_file(
    inbox: Path, tmp_path: Path, article: str, settings: MakeSettings
) -> None:
    requests = tmp_path / "requests.jsonl"

    code, stdout, stderr = invoke(["batch-export", str(inbox), "-o", str(requests), "--seed", "11"])

    assert code == 0, stderr
    assert stdout == ""
    assert "2 request(s) written" in stderr
    assert "skipped empty" in stderr
    lines = read_jsonl(requests)
    assert [line["custom_id"] for line in lines] == ["one", "two"]
    expected = live_request(Settings(api_key=API_KEY, seed=11), article)
    assert all(line["body"] == expected for line in lines)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp file left


def test_cli_export_errors_are_one_line(tmp_path: Path, inbox: Path) -> None:
    for args, needle in [
        ([str(tmp_path / "nope"), "-o", str(tmp_path / "r.jsonl")], "no such file or folder"),
        ([str(inbox), "-o", str(tmp_path / "no-dir" / "r.jsonl")], "does not exist"),
    ]:
        code, _, stderr = invoke(["batch-export", *args])
        assert code == 2
        assert stderr.startswith("summarizer: error: ")
        assert needle in stderr
        assert stderr.count("\n") == 1


@pytest.fixture
def jsonl_input(tmp_path: Path, article: str) -> Path:
    source = tmp_path / "articles.jsonl"
    rows = [{"id": i, "text": article, "desk": "world"} for i in ("one", "two", "three")]
    source.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return source


@pytest.fixture
def provider_output(tmp_path: Path, reference_draft: dict[str, Any], misquoted_draft: dict[str, Any]) -> Path:
    path = tmp_path / "batch_output.jsonl"
    lines = [
        output_line("one", tool_call_completion(reference_draft, prompt_tokens=3000, completion_tokens=5000)),
        output_line("two", tool_call_completion(misquoted_draft, prompt_tokens=3000, completion_tokens=5000)),
        output_line("three", response=None, error={"code": "server_error", "message": "try again"}),
        output_line("ghost", tool_call_completion(reference_draft)),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_cli_import_writes_records_totals_and_a_retry_file(
    jsonl_input: Path, provider_output: Path, tmp_path: Path, article: str
) -> None:
    results = tmp_path / "results.jsonl"

    code, stdout, stderr = invoke(
        ["batch-import", str(jsonl_input), str(provider_output), "-o", str(results)]
    )

    assert code == 1  # some failed
    assert stdout == ""
    records = {r["id"]: r for r in read_jsonl(results)}
    assert summary_of(records["one"]).content() == load_golden(GOLDEN).content()
    assert records["one"]["input"] == {"desk": "world"}
    two = summary_of(records["two"])
    assert two.meta is not None
    assert any("dropped claim" in w for w in two.meta.warnings)
    assert records["three"]["error_type"] == "ProviderError"
    assert "server_error: try again" in records["three"]["error"]
    assert records["ghost"]["error_type"] == "InputError"
    assert "2 imported, 2 failed, 0 already done" in stderr
    assert "tokens: 6,000 in, 10,000 out" in stderr
    assert "cost $" in stderr
    # Only what can be re-asked (ghost has no article): ready for `summarizer batch`.
    retry = tmp_path / "results.retry.jsonl"
    assert read_jsonl(retry) == [{"id": "three", "text": article, "desk": "world"}]
    assert [(i.id, i.text) for i in read_items(retry)] == [("three", article)]
    assert f"summarizer batch {retry} -o {results}" in stderr

    # Again: the finished ids are skipped, the failed ones tried again.
    code, _, stderr = invoke(["batch-import", str(jsonl_input), str(provider_output), "-o", str(results)])

    assert code == 1
    assert "0 imported, 2 failed, 2 already done" in stderr
    assert [r["id"] for r in read_jsonl(results)][len(records) :] == ["three", "ghost"]
    assert [r["id"] for r in read_jsonl(retry)] == ["three"]


def test_cli_import_strict_fails_the_misquote(
    jsonl_input: Path, provider_output: Path, tmp_path: Path
) -> None:
    results = tmp_path / "results.jsonl"

    code, _, stderr = invoke(
        ["batch-import", str(jsonl_input), str(provider_output), "-o", str(results), "--strict"]
    )

    assert code == 1
    records = {r["id"]: r for r in read_jsonl(results)}
    assert records["two"]["status"] == "error"
    assert records["two"]["error_type"] == "ExtractionError"
    assert [r["id"] for r in read_jsonl(tmp_path / "results.retry.jsonl")] == ["two", "three"]
    assert "1 imported, 3 failed" in stderr


def test_cli_import_all_ok_exits_0_and_reports_articles_without_an_answer(
    jsonl_input: Path, tmp_path: Path, reference_draft: dict[str, Any]
) -> None:
    results = tmp_path / "results.jsonl"
    first = tmp_path / "first.jsonl"
    first.write_text(output_line("one", tool_call_completion(reference_draft)) + "\n", encoding="utf-8")
    rest = tmp_path / "rest.jsonl"
    body = tool_call_completion(reference_draft)
    rest.write_text(output_line("two", body) + "\n" + output_line("three", body) + "\n", encoding="utf-8")

    # Only part of the batch came back: the rest is reported, and listed for a live re-ask.
    code, _, stderr = invoke(["batch-import", str(jsonl_input), str(first), "-o", str(results)])
    assert code == 1
    assert "2 with no answer in the provider output" in stderr
    assert [r["id"] for r in read_jsonl(tmp_path / "results.retry.jsonl")] == ["two", "three"]

    # The rest arrives (several provider files at once are fine): all done, the retry list goes.
    code, _, stderr = invoke(["batch-import", str(jsonl_input), str(first), str(rest), "-o", str(results)])
    assert code == 0, stderr
    assert "2 imported, 0 failed, 1 already done" in stderr
    assert not (tmp_path / "results.retry.jsonl").exists()


def test_cli_import_ignore_missing(
    jsonl_input: Path, tmp_path: Path, reference_draft: dict[str, Any]
) -> None:
    first = tmp_path / "first.jsonl"
    first.write_text(output_line("one", tool_call_completion(reference_draft)) + "\n", encoding="utf-8")
    code, _, stderr = invoke(
        ["batch-import", str(jsonl_input), str(first), "-o", str(tmp_path / "r.jsonl"), "--ignore-missing"]
    )
    assert code == 0, stderr
    assert "1 imported, 0 failed" in stderr


def test_cli_import_malformed_line_is_exit_2_with_its_line_number(
    jsonl_input: Path, tmp_path: Path, reference_draft: dict[str, Any]
) -> None:
    output = tmp_path / "batch_output.jsonl"
    output.write_text(
        output_line("one", tool_call_completion(reference_draft)) + "\n{truncated\n", encoding="utf-8"
    )

    code, stdout, stderr = invoke(
        ["batch-import", str(jsonl_input), str(output), "-o", str(tmp_path / "r.jsonl")]
    )

    assert code == 2
    assert stdout == ""
    assert stderr == f"summarizer: error: {output}:2: not a JSON object\n"


def test_cli_import_missing_files_are_one_line_errors(
    jsonl_input: Path, provider_output: Path, tmp_path: Path
) -> None:
    results = str(tmp_path / "r.jsonl")
    for args, needle in [
        ([str(tmp_path / "nope.jsonl"), str(provider_output)], "nope.jsonl: no such file or folder"),
        ([str(jsonl_input), str(tmp_path / "gone.jsonl")], "gone.jsonl: no such file"),
    ]:
        code, _, stderr = invoke(["batch-import", *args, "-o", results])
        assert code == 2
        assert stderr.startswith("summarizer: error: ")
        assert needle in stderr
        assert stderr.count("\n") == 1
    assert not Path(results).exists()


def test_an_unknown_mode_is_a_configuration_error_not_a_failed_article(
    jsonl_input: Path, provider_output: Path, tmp_path: Path
) -> None:
    results = tmp_path / "results.jsonl"
    for args in (
        ["batch-export", str(jsonl_input), "-o", str(tmp_path / "requests.jsonl")],
        ["batch-import", str(jsonl_input), str(provider_output), "-o", str(results)],
    ):
        code, _, stderr = invoke([*args, "--mode", "bogus"])
        assert code == 3
        assert stderr == "summarizer: error: unknown mode 'bogus': choose one of tools, json_schema, json\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["articles.jsonl", "batch_output.jsonl"]


def test_import_raises_a_configuration_error_instead_of_recording_it(
    inbox: Path, reference_draft: dict[str, Any], settings: MakeSettings
) -> None:
    records = import_results(
        [output_line("one", tool_call_completion(reference_draft))],
        ArticleIndex.of(inbox),
        Summarizer(settings(mode="bogus")),
    )
    with pytest.raises(ConfigError, match="unknown mode"):
        next(records)

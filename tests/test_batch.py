"""``summarizer batch`` and the batch library: streaming input, whole-line output, resuming,
stopping, rate limits, the cache, configuration precedence and cost.

The LLM is ``summarizer.testing.FakeOpenAIServer``: a real HTTP server on 127.0.0.1,
reached with --base-url. Each article is the seed article behind a unique first line
("[a07]"), so the reference draft's quotes ground in every one of them while the
cache still tells them apart. Most CLI runs are in-process (CliRunner); killing and
interrupting need the real console script in a subprocess.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from requests_out import requests_at_each_check
from typer.testing import CliRunner

from summarizer.batch.items import BatchItem, ResultWriter, finished_ids, read_items, repair_tail
from summarizer.batch.runner import RateLimiter, run_batch
from summarizer.cache import CACHE_FILE, default_cache_dir
from summarizer.cli import app
from summarizer.config import DEFAULT_MODEL, Settings
from summarizer.llm.pricing import DEFAULT_PRICES
from summarizer.schema import Summary
from summarizer.testing import FakeOpenAIServer, Reply

# Variables that would let the environment configure a run behind a test's back.
CONFIG_VARS = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "SUMMARIZER_BASE_URL",
    "SUMMARIZER_MODEL",
    "SUMMARIZER_MODE",
    "SUMMARIZER_PROVIDER",
    "SUMMARIZER_PRICING",
)

# The fake server's usage per answer, and what it costs at gpt-4.1-mini's list price.
PROMPT_TOKENS = 1_000
COMPLETION_TOKENS = 500
MINI = DEFAULT_PRICES["gpt-4.1-mini"]
COST_PER_ARTICLE = round(
    (PROMPT_TOKENS * MINI.input_per_million + COMPLETION_TOKENS * MINI.output_per_million) / 1_000_000, 6
)


# --------------------------------------------------------------------------- helpers


@dataclass
class Run:
    exit_code: int
    stdout: str
    stderr: str


def invoke(args: list[str], env: dict[str, str] | None = None) -> Run:
    """The Typer app in-process, with the configuration variables removed from the environment."""
    environment: dict[str, str | None] = dict.fromkeys(CONFIG_VARS)
    environment.update(env or {})
    result = CliRunner().invoke(app, args, env=environment)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Run(result.exit_code, result.stdout, result.stderr)


def batch(source: Path, out: Path, server: FakeOpenAIServer, *extra: str, **env: str) -> Run:
    return invoke(
        ["batch", str(source), "-o", str(out), "--base-url", server.base_url, "--no-progress", *extra], env
    )


def script() -> str:
    beside_python = Path(sys.executable).with_name("summarizer")
    found = str(beside_python) if beside_python.exists() else shutil.which("summarizer")
    assert found, "the summarizer console script is not installed"
    return found


def start_script(args: list[str], cwd: Path) -> subprocess.Popen[str]:
    """The console script in a subprocess (it inherits this test's SUMMARIZER_CACHE_DIR)."""
    environment = {k: v for k, v in os.environ.items() if k not in CONFIG_VARS}
    return subprocess.Popen(
        [script(), *args],
        cwd=cwd,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_ctrl_c_deliverable,
    )


def _ctrl_c_deliverable() -> None:
    # A suite started in the background by a non-interactive shell inherits SIGINT ignored, and
    # Python then never turns it into KeyboardInterrupt: the Ctrl-C tests would hang on that,
    # not on the program. The script gets SIGINT as a terminal would deliver it.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def variant(article: str, item_id: str) -> str:
    """The seed article with a unique first line: the reference quotes still ground in it."""
    return f"[{item_id}]\n{article}"


def ids(n: int, prefix: str = "a") -> list[str]:
    return [f"{prefix}{i:03d}" for i in range(n)]


def write_folder(folder: Path, article: str, item_ids: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for item_id in item_ids:
        (folder / f"{item_id}.txt").write_text(variant(article, item_id), encoding="utf-8")
    return folder


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    with path.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    return path


def read_lines(out: Path) -> list[dict[str, Any]]:
    """Every line of OUT, each of which must be a whole JSON object ending in a newline."""
    data = out.read_bytes()
    assert not data or data.endswith(b"\n"), "torn last line"
    return [json.loads(line) for line in data.decode("utf-8").splitlines()]


def by_id(lines: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The newest line for each id (as the resume logic reads them)."""
    return {line["id"]: line for line in lines}


def summary_of(line: dict[str, Any]) -> Summary:
    assert line["status"] == "ok", line
    return Summary.model_validate(line["summary"])


def wait_for_lines(out: Path, at_least: int, proc: subprocess.Popen[str], timeout: float = 30) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if out.exists():
            count = out.read_bytes().count(b"\n")
            if count >= at_least:
                return count
        if proc.poll() is not None:
            pytest.fail(f"the batch ended early ({proc.returncode}): {proc.communicate()[1]}")
        time.sleep(0.02)
    proc.kill()
    pytest.fail(f"fewer than {at_least} lines after {timeout} s")


def report_number(stderr: str, label: str) -> int:
    """The number before ``label`` in the end-of-run report ("3 transport retr(ies)")."""
    for line in stderr.splitlines():
        before, found, _ = line.partition(label)
        if found:
            return int(before.rstrip().split()[-1].replace(",", ""))
    raise AssertionError(f"{label!r} not in the report:\n{stderr}")


# --------------------------------------------------------------------------- fixtures


@pytest.fixture
def fake_server(reference_draft: dict[str, Any]) -> Iterator[Callable[..., FakeOpenAIServer]]:
    """Factory: ``fake_server(latency=..., rate_limit_every=...)``; every server stops after the test."""
    started: list[FakeOpenAIServer] = []

    def start(**options: Any) -> FakeOpenAIServer:
        options.setdefault("prompt_tokens", PROMPT_TOKENS)
        options.setdefault("completion_tokens", COMPLETION_TOKENS)
        server = FakeOpenAIServer(reference_draft, **options).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def server(fake_server: Callable[..., FakeOpenAIServer]) -> FakeOpenAIServer:
    return fake_server()


@pytest.fixture(autouse=True)
def _no_config_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in CONFIG_VARS:
        monkeypatch.delenv(name, raising=False)


# --------------------------------------------------------------------------- the fake server itself


def test_fake_server_answers_with_the_draft_and_counts(article: str, reference_draft: dict[str, Any]) -> None:
    with FakeOpenAIServer(reference_draft, rate_limit_every=2) as fake:
        assert fake.base_url.endswith("/v1")
        summarizer_settings = Settings(base_url=fake.base_url, max_reasks=0)
        from summarizer.pipeline import Summarizer

        summary = Summarizer(summarizer_settings).summarize(variant(article, "x"))
        assert summary.meta is not None
        assert summary.meta.transport_retries == 0  # request 1 answered
        summary = Summarizer(summarizer_settings).summarize(variant(article, "y"))
        assert summary.meta is not None
        assert summary.meta.transport_retries == 1  # request 2 was a 429, request 3 answered
        assert (fake.request_count, fake.rate_limited) == (3, 1)
        assert [body["model"] for body in fake.bodies] == [DEFAULT_MODEL] * 3
    with pytest.raises(RuntimeError):
        _ = fake.base_url  # stopped


def test_fake_server_holds_64_requests_at_once(reference_draft: dict[str, Any]) -> None:
    import httpx

    async def hammer(url: str) -> list[int]:
        limits = httpx.Limits(max_connections=100)
        async with httpx.AsyncClient(limits=limits, timeout=10) as client:
            answers = await asyncio.gather(
                *(client.post(f"{url}/chat/completions", json={"model": "m"}) for _ in range(64))
            )
        return [a.status_code for a in answers]

    with FakeOpenAIServer(reference_draft, latency=0.5) as fake:
        statuses = asyncio.run(hammer(fake.base_url))
        assert statuses == [200] * 64
        assert fake.peak_in_flight == 64  # all 64 were held at once: none waited for another


# --------------------------------------------------------------------------- inputs and outputs


def test_folder_input_gives_one_line_per_article_and_bad_files_fail_alone(
    tmp_path: Path, article: str, server: FakeOpenAIServer
) -> None:
    folder = write_folder(tmp_path / "articles", article, ["a", "b"])
    (folder / "nested").mkdir()
    (folder / "nested" / "c.md").write_text(variant(article, "c"), encoding="utf-8")
    (folder / "empty.txt").write_text("  \n", encoding="utf-8")
    (folder / "latin1.txt").write_bytes("caf\xe9 au lait".encode("latin-1"))
    (folder / "notes.json").write_text("{}", encoding="utf-8")  # not an article suffix
    out = tmp_path / "out.jsonl"

    run = batch(folder, out, server)

    assert run.exit_code == 1, run.stderr  # some failed
    lines = read_lines(out)
    assert sorted(line["id"] for line in lines) == ["a", "b", "empty", "latin1", "nested/c"]
    records = by_id(lines)
    for item_id in ("a", "b", "nested/c"):
        summary = summary_of(records[item_id])
        assert summary.claims
        assert summary.check_offsets(variant(article, item_id.split("/")[-1])) == []
    assert records["empty"]["status"] == "error"
    assert records["empty"]["error_type"] == "InputError"
    assert "empty" in records["empty"]["error"]
    assert records["latin1"]["error_type"] == "InputError"
    assert "UTF-8" in records["latin1"]["error"]
    assert records["latin1"]["exit_code"] == 2
    assert server.request_count == 3
    assert "3 summarized (0 from cache), 2 failed, 0 already done" in run.stderr


def test_jsonl_input_keeps_extra_fields_under_input(
    tmp_path: Path, article: str, server: FakeOpenAIServer
) -> None:
    source = write_jsonl(
        tmp_path / "in.jsonl",
        [
            {"id": "x1", "text": variant(article, "x1"), "url": "https://example.org/1", "tags": ["iran"]},
            {"id": 2, "text": variant(article, "x2")},
            {"id": "empty", "text": "", "url": "https://example.org/empty"},
        ],
    )
    out = tmp_path / "out.jsonl"

    run = batch(source, out, server)

    assert run.exit_code == 1, run.stderr
    records = by_id(read_lines(out))
    assert set(records) == {"x1", "2", "empty"}
    assert records["x1"]["input"] == {"url": "https://example.org/1", "tags": ["iran"]}
    assert "input" not in records["2"]
    summary_of(records["x1"])
    summary_of(records["2"])
    assert records["empty"]["status"] == "error"
    assert records["empty"]["error_type"] == "InputError"
    assert server.request_count == 2


def test_jsonl_line_with_invalid_utf8_is_an_error_record_not_a_crash(
    tmp_path: Path, article: str, server: FakeOpenAIServer
) -> None:
    source = tmp_path / "in.jsonl"
    with source.open("wb") as handle:
        handle.write((json.dumps({"id": "good1", "text": variant(article, "good1")}) + "\n").encode())
        handle.write(b'{"id": "bad", "text": "caf\xe9"}\n')
        handle.write((json.dumps({"id": "good2", "text": variant(article, "good2")}) + "\n").encode())
    out = tmp_path / "out.jsonl"

    run = batch(source, out, server)

    assert run.exit_code == 1, run.stderr
    records = by_id(read_lines(out))
    assert records["good1"]["status"] == records["good2"]["status"] == "ok"
    assert records["bad"]["status"] == "error"


def test_malformed_jsonl_line_does_not_lose_the_articles_before_it(
    tmp_path: Path, article: str, server: FakeOpenAIServer
) -> None:
    records = [{"id": item_id, "text": variant(article, item_id)} for item_id in ids(6)]
    source = write_jsonl(tmp_path / "in.jsonl", records)
    with source.open("a", encoding="utf-8") as handle:
        handle.write("this is not json\n")
    out = tmp_path / "out.jsonl"

    run = batch(source, out, server, "--concurrency", "2")

    lines = read_lines(out)
    assert sorted(line["id"] for line in lines if line["status"] == "ok") == ids(6)
    # The bad line is that line's failure, filed under its line number, not the batch's end.
    (bad,) = [line for line in lines if line["status"] == "error"]
    assert bad["id"] == "line-7" and "in.jsonl:7" in bad["error"]
    assert run.exit_code == 1


def test_concurrency_bounds_requests_and_the_next_one_is_out_while_an_answer_is_checked(
    tmp_path: Path,
    article: str,
    fake_server: Callable[..., FakeOpenAIServer],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``-c 1``: never two requests out, yet while each answer but the last is checked, the next
    article's request is already with the server (the batch keeps two articles per slot)."""
    server = fake_server(latency=0.05)
    out_while_checked = requests_at_each_check(monkeypatch, server)
    source = write_folder(tmp_path / "articles", article, ids(3))
    run = batch(source, tmp_path / "out.jsonl", server, "--concurrency", "1")

    assert run.exit_code == 0, run.stderr
    assert server.request_count == 3 and server.peak_in_flight == 1
    assert out_while_checked == [1, 1, 0]


# --------------------------------------------------------------------------- resuming


def test_rerun_skips_finished_articles_without_a_request(
    tmp_path: Path, article: str, server: FakeOpenAIServer
) -> None:
    source = write_folder(tmp_path / "articles", article, ids(5))
    out = tmp_path / "out.jsonl"

    first = batch(source, out, server, "--concurrency", "3")
    assert first.exit_code == 0, first.stderr
    assert server.request_count == 5
    before = out.read_bytes()

    # --no-cache: what saves the requests is the skip, not the cache.
    again = batch(source, out, server, "--no-cache")

    assert again.exit_code == 0, again.stderr
    assert "0 summarized (0 from cache), 0 failed, 5 already done" in again.stderr
    assert server.request_count == 5
    assert out.read_bytes() == before


def test_failed_articles_are_tried_again_on_rerun(
    tmp_path: Path,
    article: str,
    fake_server: Callable[..., FakeOpenAIServer],
    reference_draft: dict[str, Any],
) -> None:
    broken = {"on": True}

    def answer(body: dict[str, Any]) -> dict[str, Any] | Reply:
        if broken["on"] and "[a002]" in json.dumps(body):
            return Reply({"error": {"message": "bad request (fake)"}}, status=400)
        return reference_draft

    server = fake_server(answer=answer)
    source = write_folder(tmp_path / "articles", article, ids(4))
    out = tmp_path / "out.jsonl"

    first = batch(source, out, server)
    assert first.exit_code == 1
    assert by_id(read_lines(out))["a002"]["error_type"] == "ProviderError"
    assert finished_ids(out) == {"a000", "a001", "a003"}

    broken["on"] = False
    second = batch(source, out, server)

    assert second.exit_code == 0, second.stderr
    assert "1 summarized (0 from cache), 0 failed, 3 already done" in second.stderr
    assert server.request_count == 5
    lines = read_lines(out)
    assert [line["id"] for line in lines].count("a002") == 2  # the error stays; the newest line wins
    assert by_id(lines)["a002"]["status"] == "ok"
    assert finished_ids(out) == set(ids(4))


def test_repair_tail_cuts_a_torn_last_line(tmp_path: Path) -> None:
    whole = b'{"id":"a","status":"ok"}\n{"id":"b","status":"ok"}\n'
    out = tmp_path / "out.jsonl"

    out.write_bytes(whole + b'{"id":"c","sta')
    repair_tail(out)
    assert out.read_bytes() == whole

    repair_tail(out)  # a whole file is left alone
    assert out.read_bytes() == whole

    long_tail = b'{"id":"d","summary":"' + b"x" * 10_000  # longer than one 4 KiB step back
    out.write_bytes(whole + long_tail)
    repair_tail(out)
    assert out.read_bytes() == whole

    out.write_bytes(b'{"id":"only","sta')  # no newline at all: nothing whole survives
    repair_tail(out)
    assert out.read_bytes() == b""

    repair_tail(tmp_path / "missing.jsonl")  # nothing to repair
    assert not (tmp_path / "missing.jsonl").exists()


def test_writer_repairs_a_torn_file_before_appending(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    out.write_bytes(b'{"id":"a","status":"ok"}\n{"id":"b","status":"o')
    assert finished_ids(out) == {"a"}  # the torn line counts for nothing

    writer = ResultWriter(out)
    writer.write({"id": "b", "status": "ok", "summary": {"headline": "ünïcode"}})
    writer.close()

    lines = read_lines(out)
    assert [line["id"] for line in lines] == ["a", "b"]
    assert lines[1]["summary"]["headline"] == "ünïcode"
    assert finished_ids(out) == {"a", "b"}


@pytest.mark.slow
def test_sigkill_leaves_only_whole_lines_and_a_rerun_completes(
    tmp_path: Path, article: str, fake_server: Callable[..., FakeOpenAIServer]
) -> None:
    server = fake_server(latency=0.3)
    all_ids = ids(30)
    source = write_folder(tmp_path / "articles", article, all_ids)
    out = tmp_path / "out.jsonl"
    args = ["batch", str(source), "-o", str(out), "--base-url", server.base_url, "--no-progress", "-c", "4"]

    proc = start_script(args, tmp_path)
    try:
        wait_for_lines(out, 6, proc)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()
    assert proc.returncode == -signal.SIGKILL

    lines = read_lines(out)  # every line whole JSON, the file ends in a newline
    assert 6 <= len(lines) < 30
    assert all(line["status"] == "ok" for line in lines)

    rerun = batch(source, out, server, "-c", "8")

    assert rerun.exit_code == 0, rerun.stderr
    assert f"{len(lines)} already done" in rerun.stderr
    final = read_lines(out)
    assert sorted(line["id"] for line in final) == all_ids  # each id exactly once
    assert all(line["status"] == "ok" for line in final)


@pytest.mark.slow
def test_ctrl_c_finishes_the_articles_in_flight_and_exits_130(
    tmp_path: Path, article: str, fake_server: Callable[..., FakeOpenAIServer]
) -> None:
    server = fake_server(latency=0.3)
    all_ids = ids(30)
    source = write_folder(tmp_path / "articles", article, all_ids)
    out = tmp_path / "out.jsonl"
    args = ["batch", str(source), "-o", str(out), "--base-url", server.base_url, "--no-progress", "-c", "4"]

    proc = start_script(args, tmp_path)
    try:
        wait_for_lines(out, 4, proc)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()

    assert proc.returncode == 130, stderr
    assert "stopped: interrupted" in stderr
    assert "Traceback" not in stderr
    lines = read_lines(out)
    assert 4 <= len(lines) < 30
    assert all(line["status"] == "ok" for line in lines)
    # Every request the server answered became a line: nothing in flight was abandoned.
    assert server.request_count == len(lines)
    assert report_number(stderr, "summarized") == len(lines)

    rerun = batch(source, out, server, "-c", "8")

    assert rerun.exit_code == 0, rerun.stderr
    final = read_lines(out)
    assert sorted(line["id"] for line in final) == all_ids
    assert all(line["status"] == "ok" for line in final)


# --------------------------------------------------------------------------- rate limits


def test_429s_are_retried_and_every_retry_is_counted(
    tmp_path: Path, article: str, fake_server: Callable[..., FakeOpenAIServer]
) -> None:
    server = fake_server(rate_limit_every=10, retry_after=0)  # 10% of requests answered 429
    source = write_folder(tmp_path / "articles", article, ids(30))
    out = tmp_path / "out.jsonl"

    run = batch(source, out, server, "--concurrency", "8", "--max-retries", "10")

    assert run.exit_code == 0, run.stderr
    lines = read_lines(out)
    assert len(lines) == 30
    retries = sum(summary_of(line).meta.transport_retries for line in lines)  # type: ignore[union-attr]
    assert server.rate_limited == 3  # requests 10, 20 and 30 of 33
    assert server.request_count == 33
    assert retries == server.rate_limited
    assert report_number(run.stderr, "transport retr") == server.rate_limited


def test_seeded_random_429s_are_all_retried(
    tmp_path: Path, article: str, fake_server: Callable[..., FakeOpenAIServer]
) -> None:
    server = fake_server(rate_limit_fraction=0.3, seed=7, retry_after=0)
    source = write_folder(tmp_path / "articles", article, ids(20))
    out = tmp_path / "out.jsonl"

    run = batch(source, out, server, "--concurrency", "4", "--max-retries", "20")

    assert run.exit_code == 0, run.stderr
    lines = read_lines(out)
    assert len(lines) == 20
    assert server.rate_limited > 0
    assert server.request_count == 20 + server.rate_limited
    assert report_number(run.stderr, "transport retr") == server.rate_limited


# --------------------------------------------------------------------------- the cache


def test_summarizing_the_same_article_twice_makes_one_request(
    tmp_path: Path,
    article: str,
    server: FakeOpenAIServer,
    _isolated_cache: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    source = tmp_path / "article.txt"
    source.write_text(article, encoding="utf-8")
    summarize = ["summarize", str(source), "--base-url", server.base_url]

    first = invoke(summarize)
    second = invoke(summarize)

    assert first.exit_code == second.exit_code == 0, (first.stderr, second.stderr)
    assert server.request_count == 1
    fresh = Summary.model_validate_json(first.stdout)
    cached = Summary.model_validate_json(second.stdout)
    assert fresh.meta is not None and cached.meta is not None
    assert fresh.meta.cached is False
    assert fresh.meta.cost_usd == COST_PER_ARTICLE
    assert cached.meta.cached is True
    assert cached.meta.usage.prompt_tokens == cached.meta.usage.completion_tokens == 0
    assert cached.meta.usage.total_tokens == 0
    assert cached.meta.cost_usd == 0.0
    assert cached.meta.attempts == 0
    assert cached.model_dump(exclude={"meta"}) == fresh.model_dump(exclude={"meta"})

    third = invoke([*summarize, "--no-cache"])

    assert third.exit_code == 0
    assert server.request_count == 2
    uncached = Summary.model_validate_json(third.stdout)
    assert uncached.meta is not None and uncached.meta.cached is False
    # The cache lives in SUMMARIZER_CACHE_DIR, never in the working directory.
    assert (_isolated_cache / CACHE_FILE).is_file()
    assert list(tmp_path.rglob("*.sqlite3*")) == []


def test_a_second_batch_into_a_new_file_is_served_from_the_cache(
    tmp_path: Path, article: str, server: FakeOpenAIServer
) -> None:
    source = write_folder(tmp_path / "articles", article, ids(4))

    first = batch(source, tmp_path / "one.jsonl", server)
    second = batch(source, tmp_path / "two.jsonl", server)

    assert first.exit_code == second.exit_code == 0
    assert server.request_count == 4
    assert "4 summarized (4 from cache)" in second.stderr
    assert "cost $0.0000" in second.stderr
    for line in read_lines(tmp_path / "two.jsonl"):
        meta = summary_of(line).meta
        assert meta is not None
        assert meta.cached is True
        assert meta.cost_usd == 0.0
        assert meta.usage.total_tokens == 0

    third = batch(source, tmp_path / "three.jsonl", server, "--no-cache")

    assert third.exit_code == 0
    assert server.request_count == 8
    assert "4 summarized (0 from cache)" in third.stderr


def test_cache_directory_comes_from_the_environment(
    tmp_path: Path, article: str, server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere"
    monkeypatch.setenv("SUMMARIZER_CACHE_DIR", str(elsewhere))
    monkeypatch.chdir(tmp_path)
    source = tmp_path / "article.txt"
    source.write_text(article, encoding="utf-8")

    assert invoke(["summarize", str(source), "--base-url", server.base_url]).exit_code == 0

    assert (elsewhere / CACHE_FILE).is_file()
    info = invoke(["cache", "info"])
    assert info.exit_code == 0
    assert info.stdout.strip() == f"{elsewhere / CACHE_FILE}: 1 summaries"

    cleared = invoke(["cache", "clear"])
    assert cleared.exit_code == 0
    assert cleared.stdout.strip() == f"removed 1 summaries from {elsewhere / CACHE_FILE}"
    assert invoke(["cache", "info"]).stdout.strip().endswith(": 0 summaries")

    assert invoke(["summarize", str(source), "--base-url", server.base_url]).exit_code == 0
    assert server.request_count == 2  # cleared: asked again
    assert [p for p in tmp_path.iterdir() if p.name != "elsewhere" and p.suffix != ".txt"] == []


def test_without_summarizer_cache_dir_the_cache_follows_xdg(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SUMMARIZER_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "summarizer"
    info = invoke(["cache", "info"])
    assert info.stdout.strip() == f"{tmp_path / 'xdg' / 'summarizer' / CACHE_FILE}: 0 summaries"

    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "summarizer"


# --------------------------------------------------------------------------- configuration precedence


def test_model_option_beats_environment_beats_default(
    tmp_path: Path, article: str, server: FakeOpenAIServer
) -> None:
    source = tmp_path / "article.txt"
    source.write_text(article, encoding="utf-8")
    base = ["summarize", str(source), "--base-url", server.base_url, "--no-cache"]

    assert invoke(base).exit_code == 0
    assert invoke(base, {"SUMMARIZER_MODEL": "env-model"}).exit_code == 0
    assert invoke([*base, "--model", "option-model"], {"SUMMARIZER_MODEL": "env-model"}).exit_code == 0

    assert [body["model"] for body in server.bodies] == [DEFAULT_MODEL, "env-model", "option-model"]


def test_base_url_option_beats_environment(
    tmp_path: Path, article: str, fake_server: Callable[..., FakeOpenAIServer]
) -> None:
    from_env, from_option, from_ours = fake_server(), fake_server(), fake_server()
    source = tmp_path / "article.txt"
    source.write_text(article, encoding="utf-8")
    base = ["summarize", str(source), "--no-cache"]

    assert invoke(base, {"OPENAI_BASE_URL": from_env.base_url}).exit_code == 0
    assert (from_env.request_count, from_option.request_count) == (1, 0)

    run = invoke([*base, "--base-url", from_option.base_url], {"OPENAI_BASE_URL": from_env.base_url})
    assert run.exit_code == 0
    assert (from_env.request_count, from_option.request_count) == (1, 1)

    # SUMMARIZER_BASE_URL is the tool's own variable and beats the SDK's OPENAI_BASE_URL.
    run = invoke(base, {"OPENAI_BASE_URL": from_env.base_url, "SUMMARIZER_BASE_URL": from_ours.base_url})
    assert run.exit_code == 0
    assert (from_env.request_count, from_ours.request_count) == (1, 1)

    # Without any, the default is OpenAI's own API (no base URL; the SDK's default).
    assert Settings.from_env({}).base_url is None
    assert Settings.from_env({}).provider == "openai"


def test_batch_honours_the_same_precedence(
    tmp_path: Path, article: str, fake_server: Callable[..., FakeOpenAIServer]
) -> None:
    from_env, from_option = fake_server(), fake_server()
    source = write_folder(tmp_path / "articles", article, ids(2))
    out = tmp_path / "out.jsonl"

    run = invoke(
        ["batch", str(source), "-o", str(out), "--no-progress", "--base-url", from_option.base_url],
        {"OPENAI_BASE_URL": from_env.base_url, "SUMMARIZER_MODEL": "env-model"},
    )

    assert run.exit_code == 0, run.stderr
    assert from_env.request_count == 0
    assert [body["model"] for body in from_option.bodies] == ["env-model", "env-model"]
    assert {summary_of(line).meta.model for line in read_lines(out)} == {"env-model"}  # type: ignore[union-attr]


# --------------------------------------------------------------------------- cost


def test_each_record_costs_its_usage_at_the_table_price_and_the_report_sums_them(
    tmp_path: Path, article: str, server: FakeOpenAIServer
) -> None:
    source = write_folder(tmp_path / "articles", article, ids(3))
    out = tmp_path / "out.jsonl"

    run = batch(source, out, server)

    assert run.exit_code == 0
    for line in read_lines(out):
        meta = summary_of(line).meta
        assert meta is not None
        assert (meta.usage.prompt_tokens, meta.usage.completion_tokens) == (PROMPT_TOKENS, COMPLETION_TOKENS)
        assert meta.cost_usd == COST_PER_ARTICLE == 0.0012
    assert "tokens: 3,000 in, 1,500 out; cost $0.0036" in run.stderr


def test_a_pricing_file_overrides_the_table(tmp_path: Path, article: str, server: FakeOpenAIServer) -> None:
    source = write_folder(tmp_path / "articles", article, ids(2))
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"gpt-4.1-mini": {"input": 10, "output": 100}}), encoding="utf-8")

    run = batch(source, tmp_path / "one.jsonl", server, "--pricing", str(prices), "--no-cache")

    assert run.exit_code == 0
    expected = (1_000 * 10 + 500 * 100) / 1_000_000
    assert {summary_of(line).meta.cost_usd for line in read_lines(tmp_path / "one.jsonl")} == {expected}  # type: ignore[union-attr]
    assert f"cost ${2 * expected:.4f}" in run.stderr

    run = batch(source, tmp_path / "two.jsonl", server, "--no-cache", SUMMARIZER_PRICING=str(prices))
    assert f"cost ${2 * expected:.4f}" in run.stderr


def test_an_unknown_model_has_an_unknown_cost(tmp_path: Path, article: str, server: FakeOpenAIServer) -> None:
    source = write_folder(tmp_path / "articles", article, ids(2))
    out = tmp_path / "out.jsonl"

    run = batch(source, out, server, "--model", "mystery-model")

    assert run.exit_code == 0
    for line in read_lines(out):
        meta = summary_of(line).meta
        assert meta is not None
        assert meta.cost_usd is None
        assert meta.usage.total_tokens == PROMPT_TOKENS + COMPLETION_TOKENS
    assert "(+ 2 article(s) of unknown price)" in run.stderr


def test_a_budget_is_refused_for_a_model_without_a_price(
    tmp_path: Path, article: str, server: FakeOpenAIServer
) -> None:
    source = write_folder(tmp_path / "articles", article, ids(3))
    out = tmp_path / "out.jsonl"

    run = batch(source, out, server, "--model", "mystery-model", "--budget-usd", "0.001")

    assert run.exit_code == 3, run.stderr  # a budget that could never trigger is a configuration error
    assert "cannot hold --budget-usd: no price for mystery-model" in run.stderr
    assert server.request_count == 0
    assert not out.exists() or out.read_bytes() == b""


def test_run_budget_stops_scheduling_and_a_rerun_continues(
    tmp_path: Path, article: str, server: FakeOpenAIServer
) -> None:
    all_ids = ids(10)
    source = write_folder(tmp_path / "articles", article, all_ids)
    out = tmp_path / "out.jsonl"

    # $0.0012 an article: the third one reaches $0.003.
    run = batch(source, out, server, "--concurrency", "1", "--budget-usd", "0.003")

    assert run.exit_code == 0, run.stderr  # a budget stop is not an interruption
    assert "stopped: run budget of $0.003 reached" in run.stderr
    lines = read_lines(out)
    assert [line["id"] for line in lines] == all_ids[:3]
    assert all(line["status"] == "ok" for line in lines)
    assert server.request_count == 3

    rerun = batch(source, out, server, "--concurrency", "4")

    assert rerun.exit_code == 0
    assert "7 summarized (0 from cache), 0 failed, 3 already done" in rerun.stderr
    final = read_lines(out)
    assert sorted(line["id"] for line in final) == all_ids
    assert all(line["status"] == "ok" for line in final)


# --------------------------------------------------------------------------- flat memory and the library


def test_read_items_streams_a_large_jsonl(tmp_path: Path) -> None:
    source = tmp_path / "big.jsonl"
    text = "word " * 200  # ~1 KB an article
    with source.open("w", encoding="utf-8") as handle:
        for i in range(20_000):
            handle.write(json.dumps({"id": f"n{i}", "text": f"{i} {text}", "source": "gen"}) + "\n")
    size = source.stat().st_size
    assert size > 20_000_000

    items = read_items(source)
    assert inspect.isgenerator(items)

    tracemalloc.start()
    try:
        first = list(itertools.islice(items, 5))
        _, peak_first = tracemalloc.get_traced_memory()
        count = 5 + sum(1 for _ in items)
        _, peak_all = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert [item.id for item in first] == ["n0", "n1", "n2", "n3", "n4"]
    assert first[0].extra == {"source": "gen"}
    assert count == 20_000
    assert peak_first < 1_000_000, peak_first  # five items did not read the file
    assert peak_all < size / 20, (peak_all, size)  # nor did all of them, at once


def test_run_batch_pulls_items_lazily(tmp_path: Path) -> None:
    """The queue in front of the workers is bounded: a slow batch does not read ahead."""
    pulled = 0

    def endless() -> Iterator[BatchItem]:
        nonlocal pulled
        for i in itertools.count():
            pulled += 1
            yield BatchItem(id=f"i{i}", text="x")

    class Slow:
        def __init__(self) -> None:
            self.calls = 0

        async def asummarize(self, text: str) -> Summary:
            self.calls += 1
            await asyncio.sleep(0.01)
            raise RuntimeError("not summarized")

    async def main() -> None:
        stop = asyncio.Event()
        writer = ResultWriter(tmp_path / "out.jsonl")
        slow = Slow()
        task = asyncio.create_task(run_batch(endless(), slow, writer, concurrency=4, stop=stop))
        await asyncio.sleep(0.1)
        assert pulled <= slow.calls + 4 * 2 + 4 + 1, (pulled, slow.calls)  # in flight + queue + one
        stop.set()
        report = await task
        writer.close()
        assert report.stopped == "interrupted"
        assert report.failed == slow.calls  # every started article ended in a line
        lines = read_lines(tmp_path / "out.jsonl")
        assert len(lines) == slow.calls
        assert {line["error_type"] for line in lines} == {"InternalError"}

    asyncio.run(main())


def test_rate_limiter_spaces_requests() -> None:
    now = [0.0]
    waits: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    async def main() -> None:
        limiter = RateLimiter(requests_per_minute=60, clock=lambda: now[0], sleep=fake_sleep)
        for _ in range(61):
            await limiter.acquire(10)

    asyncio.run(main())
    assert waits == [pytest.approx(1.0)]  # a full bucket of 60, then one a second


@pytest.mark.parametrize("extra", [{}, {"url": "https://example.org/ü?a=1", "note": "line\nbreak “quoted”"}])
def test_a_success_line_is_the_success_record_as_json(
    article: str, reference_draft: dict[str, Any], extra: dict[str, Any]
) -> None:
    # The runner writes the summary with pydantic's serializer (issue 14); readers of the JSONL
    # (resume, `summarizer check`, the archive) must see exactly the object success_record gives.
    from summarizer.batch.runner import success_line, success_record
    from summarizer.extract.draft import DraftSummary
    from summarizer.extract.grounding import Article
    from summarizer.extract.resolve import resolve

    resolved = resolve(DraftSummary.model_validate(reference_draft), Article(article))
    summary = Summary(
        headline=resolved.headline,
        abstract=resolved.abstract + ' – “ü” \u2028 \\ "',
        entities=resolved.entities,
        sources=resolved.sources,
        claims=resolved.claims,
    )
    item = BatchItem('naïve/id "1"', article, extra)
    line = success_line(item, summary)
    assert "\n" not in line
    assert json.loads(line) == json.loads(json.dumps(success_record(item, summary)))
    assert list(json.loads(line)) == list(success_record(item, summary))  # the same key order
    assert Summary.model_validate(json.loads(line)["summary"]) == summary

"""Cassettes: fingerprints, replay without a network, recording with secrets redacted.

Every test that could write into a case folder works on a copy in ``tmp_path``;
the repository's fixtures are only ever read.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from summarizer.cli import app
from summarizer.config import Settings
from summarizer.errors import ConfigError, SummarizerError
from summarizer.golden.cases import load_case, run_case
from summarizer.golden.compare import diff, load_golden
from summarizer.llm.network import AiohttpTransport
from summarizer.llm.recording import (
    REDACTED,
    REPLAY_KEY,
    Cassette,
    CassetteTransport,
    Interaction,
    RecordingMissingError,
    RecordMode,
    closest_difference,
    fingerprint,
)
from summarizer.llm.transport import RetryPolicy
from summarizer.pipeline import Summarizer
from summarizer.testing import ScriptedLLM, tool_call_completion

ROOT = Path(__file__).resolve().parent.parent
CASE_NAME = "khamenei-moscow-exiles"
CASE_DIR = ROOT / "fixtures" / "cases" / CASE_NAME
REFERENCE = ROOT / "fixtures" / "references" / f"{CASE_NAME}.json"
PROMPTS_DIR = ROOT / "prompts"
SECRET = "sk-test-0123456789abcdefRECORDINGSECRET"
NO_RETRY = RetryPolicy(max_retries=0, initial_delay=0, jitter=0, sleep=lambda _s: None)


# -- local helpers ---------------------------------------------------------------------------------


def copy_case(tmp_path: Path) -> Path:
    """A writable copy of the seed case folder (the repository's files are read-only on purpose)."""
    target = tmp_path / CASE_NAME
    shutil.copytree(CASE_DIR, target)
    for path in [target, *target.rglob("*")]:
        path.chmod(path.stat().st_mode | stat.S_IWUSR)
    return target


def reference_draft() -> dict[str, Any]:
    return json.loads(REFERENCE.read_text(encoding="utf-8"))


def article_text() -> str:
    return (CASE_DIR / "article.txt").read_text(encoding="utf-8")


def cassette_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def offline_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "SUMMARIZER_"))}
    env["PYTHONIOENCODING"] = "utf-8"
    return env


def summarizer_exe() -> str:
    exe = Path(sys.executable).parent / "summarizer"
    assert exe.is_file(), f"console script missing at {exe}"
    return str(exe)


class NetworkCalls:
    def __init__(self) -> None:
        self.calls: list[str] = []


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> NetworkCalls:
    """Any attempt to use httpx's real transports is recorded and refused."""
    seen = NetworkCalls()

    def refuse(self: Any, request: httpx.Request) -> httpx.Response:
        seen.calls.append(str(request.url))
        raise AssertionError(f"network attempt: {request.method} {request.url}")

    async def arefuse(self: Any, request: httpx.Request) -> httpx.Response:
        seen.calls.append(str(request.url))
        raise AssertionError(f"network attempt: {request.method} {request.url}")

    monkeypatch.setattr(httpx.HTTPTransport, "handle_request", refuse)
    monkeypatch.setattr(httpx.AsyncHTTPTransport, "handle_async_request", arefuse)
    monkeypatch.setattr(AiohttpTransport, "handle_async_request", arefuse)
    return seen


def first_request_body(settings: Settings, article: str) -> dict[str, Any]:
    """The JSON body the pipeline sends first for ``article`` under ``settings`` (captured in-process)."""
    from dataclasses import replace

    llm = ScriptedLLM([tool_call_completion(reference_draft())])
    # An edited article may no longer hold every reference quote; only the first request matters here.
    with contextlib.suppress(SummarizerError):
        Summarizer(replace(settings, retry=NO_RETRY), transport=llm).summarize(article)
    return llm.requests[0]


def edited_prompts(tmp_path: Path, *, system: str | None = None, user: str | None = None) -> Path:
    directory = tmp_path / "prompts"
    directory.mkdir()
    for name, edit in (("system.md", system), ("user.md", user)):
        text = (PROMPTS_DIR / name).read_text(encoding="utf-8")
        (directory / name).write_text(text + edit if edit else text, encoding="utf-8")
    return directory


# -- fingerprint ---------------------------------------------------------------------------------------

BASE_BODY: dict[str, Any] = {
    "model": "gpt-4.1-mini",
    "messages": [
        {"role": "system", "content": "You are careful."},
        {"role": "user", "content": "Summarize: <article>text</article>"},
    ],
    "temperature": 0.0,
    "tools": [{"type": "function", "function": {"name": "DraftSummary", "parameters": {"a": 1, "b": 2}}}],
    "tool_choice": {"type": "function", "function": {"name": "DraftSummary"}},
}


def _reversed_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _reversed_keys(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [_reversed_keys(v) for v in value]
    return value


def test_fingerprint_is_a_short_hex_digest() -> None:
    assert re.fullmatch(r"[0-9a-f]{16}", fingerprint(BASE_BODY))


def test_fingerprint_ignores_key_order_at_every_depth() -> None:
    reordered = _reversed_keys(BASE_BODY)
    assert json.dumps(reordered) != json.dumps(BASE_BODY)  # the order really differs
    assert fingerprint(reordered) == fingerprint(BASE_BODY)


@pytest.mark.parametrize(
    "volatile",
    [
        {"user": "someone@example.org"},
        {"metadata": {"run": "42"}},
        {"store": True},
        {"stream_options": {"include_usage": True}},
        {"service_tier": "flex"},
        {"user": "x", "metadata": {"a": "b"}, "store": False},
    ],
)
def test_fingerprint_ignores_volatile_fields(volatile: dict[str, Any]) -> None:
    assert fingerprint({**BASE_BODY, **volatile}) == fingerprint(BASE_BODY)


@pytest.mark.parametrize(
    "change",
    [
        {"model": "gpt-4o-mini"},
        {"temperature": 0.2},
        {"temperature": None},
        {"seed": 7},
        {"messages": [BASE_BODY["messages"][0], {"role": "user", "content": "Summarize: other"}]},
        {"messages": [{"role": "system", "content": "You are sloppy."}, BASE_BODY["messages"][1]]},
        {"messages": BASE_BODY["messages"][:1]},
        {"tools": [{"type": "function", "function": {"name": "DraftSummary", "parameters": {"a": 1}}}]},
    ],
)
def test_fingerprint_changes_with_what_the_model_sees(change: dict[str, Any]) -> None:
    assert fingerprint({**BASE_BODY, **change}) != fingerprint(BASE_BODY)


def test_seed_cassette_fingerprints_match_their_stored_requests() -> None:
    data = cassette_json(CASE_DIR / "cassette.json")
    assert len(data["interactions"]) == 2
    for interaction in data["interactions"]:
        assert interaction["fingerprint"] == fingerprint(interaction["request"])


# -- closest_difference -------------------------------------------------------------------------------


def test_closest_difference_in_words() -> None:
    assert closest_difference(BASE_BODY, []) is None
    assert (
        closest_difference({**BASE_BODY, "user": "u"}, [BASE_BODY]) == "identical apart from volatile fields"
    )
    assert closest_difference({**BASE_BODY, "model": "m2"}, [BASE_BODY]) == (
        "model changed: recorded 'gpt-4.1-mini', now 'm2'"
    )
    assert "tools changed" in (closest_difference({**BASE_BODY, "tools": []}, [BASE_BODY]) or "")
    fewer = {**BASE_BODY, "messages": BASE_BODY["messages"][:1]}
    assert "1 messages now, 2 recorded" in (closest_difference(fewer, [BASE_BODY]) or "")


def test_closest_difference_picks_the_nearest_recording() -> None:
    far = {**BASE_BODY, "model": "other", "temperature": 1.0, "tools": []}
    near = {**BASE_BODY, "temperature": 0.5}
    assert closest_difference(BASE_BODY, [far, near]) == "temperature changed: recorded 0.5, now 0.0"


# -- replay ------------------------------------------------------------------------------------------


def test_seed_case_replays_offline_with_its_re_ask(no_network: NetworkCalls) -> None:
    summary = run_case(load_case(CASE_DIR))
    assert summary.meta is not None
    assert summary.meta.attempts == 2 and summary.meta.reasks == 1
    assert diff(load_golden(CASE_DIR / "golden.json"), summary) == []
    assert no_network.calls == []


def test_seed_case_replays_through_asummarize(no_network: NetworkCalls) -> None:
    transport = CassetteTransport(CASE_DIR / "cassette.json", RecordMode.REPLAY)
    summary = asyncio.run(
        Summarizer(Settings(api_key=REPLAY_KEY), transport=transport).asummarize(article_text())
    )
    assert diff(load_golden(CASE_DIR / "golden.json"), summary) == []
    assert no_network.calls == []


def test_changed_article_fails_replay_naming_fingerprint_and_user_message(
    tmp_path: Path, no_network: NetworkCalls
) -> None:
    case_dir = copy_case(tmp_path)
    article = case_dir / "article.txt"
    changed = article.read_text(encoding="utf-8").replace("living well", "living comfortably", 1)
    assert changed != article_text()
    article.write_text(changed, encoding="utf-8")
    expected_fp = fingerprint(first_request_body(Settings(api_key=REPLAY_KEY), changed))

    with pytest.raises(RecordingMissingError) as caught:
        run_case(load_case(case_dir))

    message = str(caught.value)
    assert caught.value.exit_code == 6
    assert f"no recording for request {expected_fp}" in message
    assert "messages[1] (user) differs: the article or user prompt changed" in message
    assert "comfortably" in message  # it shows where
    assert "system prompt" not in message
    assert "\n" not in message
    assert no_network.calls == []


def test_changed_article_fails_async_replay_without_network(tmp_path: Path, no_network: NetworkCalls) -> None:
    transport = CassetteTransport(CASE_DIR / "cassette.json", RecordMode.REPLAY)
    changed = article_text().replace("Moscow", "Minsk", 1)
    with pytest.raises(RecordingMissingError, match="the article or user prompt changed"):
        asyncio.run(Summarizer(Settings(api_key=REPLAY_KEY), transport=transport).asummarize(changed))
    assert no_network.calls == []


def test_changed_system_prompt_fails_replay_and_says_so(tmp_path: Path, no_network: NetworkCalls) -> None:
    settings = Settings(api_key=REPLAY_KEY, prompts_dir=edited_prompts(tmp_path, system="\nBe brief.\n"))
    expected_fp = fingerprint(first_request_body(settings, article_text()))
    transport = CassetteTransport(CASE_DIR / "cassette.json", RecordMode.REPLAY)

    with pytest.raises(RecordingMissingError) as caught:
        Summarizer(settings, transport=transport).summarize(article_text())

    message = str(caught.value)
    assert f"request {expected_fp}" in message
    assert "messages[0] (system) differs: the system prompt changed" in message
    assert "article or user prompt" not in message
    assert no_network.calls == []


def test_changed_user_prompt_fails_replay_and_says_so(tmp_path: Path, no_network: NetworkCalls) -> None:
    settings = Settings(api_key=REPLAY_KEY, prompts_dir=edited_prompts(tmp_path, user="\nThank you.\n"))
    transport = CassetteTransport(CASE_DIR / "cassette.json", RecordMode.REPLAY)
    with pytest.raises(RecordingMissingError) as caught:
        Summarizer(settings, transport=transport).summarize(article_text())
    assert "messages[1] (user) differs: the article or user prompt changed" in str(caught.value)
    assert no_network.calls == []


def test_changed_model_fails_replay_and_names_the_model(no_network: NetworkCalls) -> None:
    transport = CassetteTransport(CASE_DIR / "cassette.json", RecordMode.REPLAY)
    settings = Settings(api_key=REPLAY_KEY, model="gpt-4o-mini")
    with pytest.raises(
        RecordingMissingError, match=re.escape("model changed: recorded 'gpt-4.1-mini', now 'gpt-4o-mini'")
    ):
        Summarizer(settings, transport=transport).summarize(article_text())
    assert no_network.calls == []


def test_cli_replay_of_changed_article_exits_6_with_one_line(
    tmp_path: Path, no_network: NetworkCalls
) -> None:
    case_dir = copy_case(tmp_path)
    article = case_dir / "article.txt"
    article.write_text(article.read_text(encoding="utf-8").replace("Moscow", "Minsk", 1), encoding="utf-8")
    result = CliRunner().invoke(
        app,
        ["summarize", str(article), "--replay", str(case_dir)],
        env={"OPENAI_API_KEY": None, "OPENAI_BASE_URL": None, "SUMMARIZER_BASE_URL": None},
    )
    assert result.exit_code == 6, result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("summarizer: error: no recording for request ")
    assert "the article or user prompt changed" in lines[0]
    assert "Traceback" not in result.stderr
    assert no_network.calls == []


def test_replay_of_missing_cassette_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no cassette at"):
        CassetteTransport(tmp_path / "cassette.json", RecordMode.REPLAY)


def test_cassette_of_another_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "cassette.json"
    path.write_text(json.dumps({"cassette_version": 99, "interactions": []}), encoding="utf-8")
    with pytest.raises(ConfigError, match="version 99"):
        Cassette.load(path)


def test_unreadable_cassette_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "cassette.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(ConfigError, match="cannot read cassette"):
        Cassette.load(path)


def test_repeated_requests_are_served_in_recorded_order() -> None:
    cassette = Cassette(
        origin={},
        interactions=[
            Interaction("fp", {}, {"n": 1}),
            Interaction("other", {}, {"n": 0}),
            Interaction("fp", {}, {"n": 2}),
        ],
    )
    assert cassette.find("fp", 0).response == {"n": 1}  # type: ignore[union-attr]
    assert cassette.find("fp", 1).response == {"n": 2}  # type: ignore[union-attr]
    assert cassette.find("fp", 5).response == {"n": 2}  # type: ignore[union-attr]
    assert cassette.find("missing") is None


# -- record, with secrets kept out -------------------------------------------------------------------


def _record(path: Path, replies: list[dict[str, Any]]) -> tuple[Any, ScriptedLLM]:
    llm = ScriptedLLM(replies)
    transport = CassetteTransport(
        path,
        RecordMode.RECORD,
        origin={"source": "recorded", "provider": "test"},
        inner=llm,
        secrets=[SECRET],
    )
    settings = Settings(api_key=SECRET, retry=NO_RETRY)
    summary = Summarizer(settings, transport=transport).summarize(article_text())
    return summary, llm


def test_recorded_cassette_holds_no_api_key_and_replays(tmp_path: Path, no_network: NetworkCalls) -> None:
    path = tmp_path / "rec" / "cassette.json"
    summary, llm = _record(path, [tool_call_completion(reference_draft())])
    assert len(llm.requests) == 1
    text = path.read_text(encoding="utf-8")
    assert SECRET not in text
    assert REDACTED not in text  # nothing needed redacting: headers are never stored
    data = json.loads(text)
    assert data["origin"] == {"source": "recorded", "provider": "test"}
    [interaction] = data["interactions"]
    assert interaction["fingerprint"] == fingerprint(llm.requests[0])
    assert interaction["request"]["messages"] == llm.requests[0]["messages"]

    replayed = Summarizer(
        Settings(api_key=REPLAY_KEY), transport=CassetteTransport(path, RecordMode.REPLAY)
    ).summarize(article_text())
    assert replayed.content() == summary.content()
    assert no_network.calls == []


def test_secret_echoed_in_a_response_body_is_redacted(tmp_path: Path) -> None:
    draft = reference_draft()
    draft["abstract"] = draft["abstract"] + f" (debug: key {SECRET})"
    reply = tool_call_completion(draft)
    reply["system_fingerprint"] = SECRET
    reply["echo"] = {"authorization": f"Bearer {SECRET}"}
    path = tmp_path / "cassette.json"
    _record(path, [reply])

    text = path.read_text(encoding="utf-8")
    assert SECRET not in text
    data = json.loads(text)  # still valid JSON after redaction
    body = data["interactions"][0]["response"]["body"]
    assert body["system_fingerprint"] == REDACTED
    assert body["echo"] == {"authorization": f"Bearer {REDACTED}"}
    arguments = body["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"]
    assert f"(debug: key {REDACTED})" in json.loads(arguments)["abstract"]


def test_secret_in_the_article_is_redacted_but_replay_still_matches(tmp_path: Path) -> None:
    """The fingerprint is taken before redaction, so replay finds the request all the same."""
    article = article_text() + f"\nLeaked key: {SECRET}\n"
    path = tmp_path / "cassette.json"
    llm = ScriptedLLM([tool_call_completion(reference_draft())])
    transport = CassetteTransport(path, RecordMode.RECORD, inner=llm, secrets=[SECRET])
    Summarizer(Settings(api_key=SECRET, retry=NO_RETRY), transport=transport).summarize(article)
    assert SECRET not in path.read_text(encoding="utf-8")
    replayed = Summarizer(
        Settings(api_key=REPLAY_KEY), transport=CassetteTransport(path, RecordMode.REPLAY)
    ).summarize(article)
    assert replayed.claims


def test_record_mode_replaces_an_existing_cassette(tmp_path: Path) -> None:
    case_dir = copy_case(tmp_path)
    path = case_dir / "cassette.json"
    _record(path, [tool_call_completion(reference_draft())])
    data = cassette_json(path)
    assert len(data["interactions"]) == 1
    assert data["origin"]["source"] == "recorded"


def test_failed_responses_are_not_recorded(tmp_path: Path) -> None:
    path = tmp_path / "cassette.json"
    llm = ScriptedLLM([])  # answers HTTP 500 to everything
    transport = CassetteTransport(path, RecordMode.RECORD, inner=llm)
    with pytest.raises(Exception):  # noqa: B017 - the provider error type is the pipeline's business
        Summarizer(Settings(api_key=SECRET, retry=NO_RETRY), transport=transport).summarize(article_text())
    assert not path.exists()


# -- replay or record ------------------------------------------------------------------------------


def test_replay_or_record_replays_what_exists_and_records_the_rest(tmp_path: Path) -> None:
    case_dir = copy_case(tmp_path)
    path = case_dir / "cassette.json"
    original = cassette_json(path)
    first, second = original["interactions"]
    truncated = {**original, "interactions": [first]}
    path.write_text(json.dumps(truncated, indent=2, ensure_ascii=False), encoding="utf-8")

    # The missing request is the re-ask; answer it with the reference draft, as the cassette did.
    llm = ScriptedLLM([tool_call_completion(reference_draft())])
    transport = CassetteTransport(path, RecordMode.REPLAY_OR_RECORD, inner=llm)
    summary = Summarizer(Settings(api_key=REPLAY_KEY, retry=NO_RETRY), transport=transport).summarize(
        (case_dir / "article.txt").read_text(encoding="utf-8")
    )

    assert len(llm.requests) == 1, "only the missing request may reach the inner transport"
    assert fingerprint(llm.requests[0]) == second["fingerprint"]
    assert summary.meta is not None and summary.meta.attempts == 2
    assert diff(load_golden(case_dir / "golden.json"), summary) == []

    data = cassette_json(path)
    assert [i["fingerprint"] for i in data["interactions"]] == [first["fingerprint"], second["fingerprint"]]
    assert data["interactions"][0] == first  # the replayed one is kept untouched
    assert data["origin"] == original["origin"]

    # The completed cassette now replays on its own.
    again = run_case(load_case(case_dir))
    assert diff(load_golden(case_dir / "golden.json"), again) == []


def test_replay_or_record_with_a_complete_cassette_never_calls_inner(tmp_path: Path) -> None:
    case_dir = copy_case(tmp_path)
    llm = ScriptedLLM([])
    transport = CassetteTransport(case_dir / "cassette.json", RecordMode.REPLAY_OR_RECORD, inner=llm)
    summary = Summarizer(Settings(api_key=REPLAY_KEY, retry=NO_RETRY), transport=transport).summarize(
        article_text()
    )
    assert llm.requests == []
    assert summary.meta is not None and summary.meta.attempts == 2
    assert (case_dir / "cassette.json").read_bytes() == (CASE_DIR / "cassette.json").read_bytes()


def test_replay_or_record_without_inner_says_it_needs_a_network(tmp_path: Path) -> None:
    path = tmp_path / "cassette.json"
    transport = CassetteTransport(path, RecordMode.REPLAY_OR_RECORD)
    with pytest.raises(RecordingMissingError, match="recording needs a network transport"):
        Summarizer(Settings(api_key=REPLAY_KEY, retry=NO_RETRY), transport=transport).summarize(
            article_text()
        )


# -- the CLI against a local OpenAI-compatible server -------------------------------------------------


class _Server:
    """A tiny OpenAI-compatible server that answers every chat completion with ``reply``.

    It also echoes the Authorization header it received into the body, the way a
    careless proxy or debug endpoint might: the recording must still hold no key.
    """

    def __init__(self, reply: dict[str, Any]) -> None:
        self.reply = reply
        self.authorizations: list[str] = []
        self.paths: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                self.rfile.read(length)
                outer.paths.append(self.path)
                outer.authorizations.append(self.headers.get("authorization", ""))
                if self.path.rstrip("/") != "/v1/chat/completions":
                    self.send_error(404)
                    return
                body = json.dumps({**outer.reply, "x_debug_echo": outer.authorizations[-1]}).encode("utf-8")
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.closed = False

    def __enter__(self) -> _Server:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.closed:
            return
        self.closed = True
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def local_server() -> Iterator[_Server]:
    with _Server(tool_call_completion(reference_draft(), model="gpt-4.1-mini")) as server:
        yield server


def test_cli_record_keeps_the_key_out_then_replays_offline(tmp_path: Path, local_server: _Server) -> None:
    key = "sk-test-SECRET"
    record_dir = tmp_path / "recording"
    article = CASE_DIR / "article.txt"
    env = offline_env()
    env["OPENAI_API_KEY"] = key
    recorded = subprocess.run(
        [
            summarizer_exe(),
            "summarize",
            str(article),
            "--record",
            str(record_dir),
            "--base-url",
            local_server.url,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert recorded.returncode == 0, recorded.stderr
    assert local_server.paths == ["/v1/chat/completions"]
    assert local_server.authorizations == [f"Bearer {key}"]  # the key really was in play
    assert key not in recorded.stdout and key not in recorded.stderr
    files = [p for p in record_dir.rglob("*") if p.is_file()]
    assert [p.name for p in files] == ["cassette.json"]
    for path in files:
        assert key.encode() not in path.read_bytes(), path
    data = cassette_json(record_dir / "cassette.json")
    assert data["origin"]["source"] == "recorded"
    assert data["origin"]["base_url"] == local_server.url
    assert len(data["interactions"]) == 1
    assert data["interactions"][0]["response"]["body"]["x_debug_echo"] == f"Bearer {REDACTED}"

    local_server.__exit__(None, None, None)  # shut down: nobody listens there any more
    with pytest.MonkeyPatch.context() as mp:
        calls: list[str] = []

        def refuse(self: Any, request: httpx.Request) -> httpx.Response:
            calls.append(str(request.url))
            raise AssertionError("network attempt during replay")

        mp.setattr(httpx.HTTPTransport, "handle_request", refuse)
        replayed = CliRunner().invoke(
            app,
            ["summarize", str(article), "--replay", str(record_dir), "--base-url", local_server.url],
            env={"OPENAI_API_KEY": None, "OPENAI_BASE_URL": None, "SUMMARIZER_BASE_URL": None},
        )
    assert replayed.exit_code == 0, replayed.output
    assert calls == []
    first, second = json.loads(recorded.stdout), json.loads(replayed.stdout)
    assert first.pop("meta")["attempts"] == second.pop("meta")["attempts"] == 1
    assert first == second
    assert first["claims"]


# -- CLI option mistakes ----------------------------------------------------------------------------


def test_cli_refuses_two_cassette_modes_at_once(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["summarize", str(CASE_DIR / "article.txt"), "--record", str(tmp_path), "--replay", str(CASE_DIR)],
        env={"OPENAI_API_KEY": None, "OPENAI_BASE_URL": None},
    )
    assert result.exit_code == 3
    assert result.stderr == "summarizer: error: choose one of --record, --replay and --replay-or-record\n"


def test_cli_replay_of_a_folder_without_cassette(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["summarize", str(CASE_DIR / "article.txt"), "--replay", str(tmp_path)],
        env={"OPENAI_API_KEY": None, "OPENAI_BASE_URL": None},
    )
    assert result.exit_code == 3
    assert "there is no cassette.json in it" in result.stderr
    assert result.stderr.count("\n") == 1


def test_cli_record_without_credentials_keeps_the_existing_cassette(
    tmp_path: Path, no_network: NetworkCalls
) -> None:
    case_dir = copy_case(tmp_path)
    result = CliRunner().invoke(
        app,
        ["summarize", str(case_dir / "article.txt"), "--record", str(case_dir)],
        env={"OPENAI_API_KEY": None, "OPENAI_BASE_URL": None, "SUMMARIZER_BASE_URL": None},
    )
    assert result.exit_code == 3
    assert "no API key" in result.stderr
    assert (case_dir / "cassette.json").read_bytes() == (CASE_DIR / "cassette.json").read_bytes()
    assert no_network.calls == []

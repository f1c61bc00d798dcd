"""The API key never leaves the Authorization header: not in recordings, output, stdout or stderr.

The server here is hostile in the way some OpenAI-compatible proxies are: it echoes the
Authorization header back in response headers, in response bodies (the completion id,
the tool-call id that a re-ask sends back, ``system_fingerprint``) and in error messages.
Every file under the recording directory, the output file, stdout and stderr are scanned
for the key; it may appear only as [REDACTED].

``--debug`` runs go through the installed console script in a subprocess: in-process,
pytest's log capture would swallow the request logs that --debug prints.
"""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import ARTICLE_SPELLING, MISQUOTED_CLAIM, MODEL_SPELLING
from fault_server import FaultServer, Respond, Script
from typer.testing import CliRunner

from summarizer.cli import app
from summarizer.schema import Summary
from summarizer.testing import tool_call_completion

KEY = f"sk-test-UNIQUE{uuid.uuid4().hex}"
CONFIG_VARS = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "SUMMARIZER_BASE_URL",
    "SUMMARIZER_MODEL",
    "SUMMARIZER_MODE",
)


@dataclass
class Run:
    exit_code: int
    stdout: str
    stderr: str


class EchoServer(FaultServer):
    """A FaultServer whose scripted answers can echo the Authorization header they were sent."""

    def auth(self) -> str:
        return self.headers[-1].get("authorization", "")

    def answer(self, draft: dict[str, Any]) -> Script:
        def act(body: dict[str, Any]) -> Respond:
            auth = self.auth()
            completion = tool_call_completion(draft, completion_id=f"chatcmpl-{auth}")
            completion["system_fingerprint"] = auth
            return Respond(200, completion, {"X-Echo-Authorization": auth})

        return act

    def error(self, status: int) -> Script:
        def act(body: dict[str, Any]) -> Respond:
            auth = self.auth()
            message = f"Incorrect API key provided: {auth.removeprefix('Bearer ')}"
            return Respond(
                status,
                {"error": {"message": message, "type": "invalid_request_error"}},
                {"Retry-After": "0", "X-Echo-Authorization": auth},
            )

        return act


@pytest.fixture
def echo_server() -> Iterator[Callable[..., EchoServer]]:
    started: list[EchoServer] = []

    def start(build: Callable[[EchoServer], tuple[list[Script], Script | None]]) -> EchoServer:
        server = EchoServer([])
        script, then = build(server)
        server._script, server._then = script, then
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


@pytest.fixture
def misquoted(reference_draft: dict[str, Any]) -> dict[str, Any]:
    draft = copy.deepcopy(reference_draft)
    claim = draft["claims"][MISQUOTED_CLAIM]
    claim["quote"] = claim["quote"].replace(ARTICLE_SPELLING, MODEL_SPELLING)
    return draft


def script() -> str:
    beside_python = Path(sys.executable).with_name("summarizer")
    found = str(beside_python) if beside_python.exists() else shutil.which("summarizer")
    assert found, "the summarizer console script is not installed"
    return found


def run_script(args: list[str], cwd: Path) -> Run:
    env = {k: v for k, v in os.environ.items() if k not in CONFIG_VARS}
    env["OPENAI_API_KEY"] = KEY
    done = subprocess.run([script(), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60)
    return Run(done.returncode, done.stdout, done.stderr)


def run_in_process(args: list[str]) -> Run:
    env: dict[str, str | None] = dict.fromkeys(CONFIG_VARS)
    env["OPENAI_API_KEY"] = KEY
    result = CliRunner().invoke(app, args, env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Run(result.exit_code, result.stdout, result.stderr)


def assert_no_key(run: Run, *places: Path) -> list[Path]:
    """The key is nowhere: stdout, stderr, and every file under ``places``. Returns the files scanned."""
    assert KEY not in run.stdout, "key on stdout"
    assert KEY not in run.stderr, (
        f"key on stderr: {[line for line in run.stderr.splitlines() if KEY in line][:3]}"
    )
    scanned = []
    for place in places:
        files = [p for p in place.rglob("*") if p.is_file()] if place.is_dir() else [place]
        for file in files:
            if file.exists():
                assert KEY.encode() not in file.read_bytes(), f"key in {file}"
                scanned.append(file)
    # The key's distinctive tail is a stricter check: no prefix-only masking that keeps most of it.
    assert KEY[-16:] not in run.stdout + run.stderr
    return scanned


def test_recorded_debug_run_never_shows_the_key(
    tmp_path: Path,
    article_file: Path,
    echo_server: Callable[..., EchoServer],
    misquoted: dict[str, Any],
    reference_draft: dict[str, Any],
) -> None:
    # A 429 that echoes the key, a misquote (so that the echoed tool-call id is sent back in a
    # re-ask and recorded), then a good answer; every response echoes the key in a header.
    server = echo_server(lambda s: ([s.error(429), s.answer(misquoted), s.answer(reference_draft)], None))
    record, output = tmp_path / "rec", tmp_path / "out.json"

    args = ["summarize", str(article_file), "--base-url", server.base_url, "--record", str(record)]
    run = run_script([*args, "--debug", "-o", str(output), "--no-cache"], cwd=tmp_path)

    assert run.exit_code == 0, run.stderr[-2000:]
    assert server.headers[0]["authorization"] == f"Bearer {KEY}", "the key was really used"
    scanned = assert_no_key(run, record, output, tmp_path)
    cassette = (record / "cassette.json").read_text(encoding="utf-8")
    assert record / "cassette.json" in scanned and output in scanned
    assert "[REDACTED]" in cassette, "the server's echoes were recorded, redacted"
    assert "[REDACTED]" in run.stderr, "--debug logged the echoes, redacted"
    summary = Summary.model_validate_json(output.read_text(encoding="utf-8"))
    assert summary.meta is not None and summary.meta.reasks == 1 and summary.meta.transport_retries == 1


def test_recorded_run_never_shows_the_key(
    tmp_path: Path,
    article_file: Path,
    echo_server: Callable[..., EchoServer],
    misquoted: dict[str, Any],
    reference_draft: dict[str, Any],
) -> None:
    server = echo_server(lambda s: ([s.answer(misquoted), s.answer(reference_draft)], None))
    record = tmp_path / "rec"

    run = run_in_process(
        ["summarize", str(article_file), "--base-url", server.base_url, "--record", str(record), "--no-cache"]
    )

    assert run.exit_code == 0, run.stderr
    assert_no_key(run, record, tmp_path)
    assert "[REDACTED]" in (record / "cassette.json").read_text(encoding="utf-8")


@pytest.mark.parametrize("debug", [False, True], ids=["plain", "debug"])
def test_401_echoing_the_key_never_shows_it(
    tmp_path: Path, article_file: Path, echo_server: Callable[..., EchoServer], debug: bool
) -> None:
    server = echo_server(lambda s: ([], s.error(401)))
    record = tmp_path / "rec"
    args = [
        "summarize",
        str(article_file),
        "--base-url",
        server.base_url,
        "--record",
        str(record),
        "--no-cache",
    ]

    run = run_script([*args, "--debug"], cwd=tmp_path) if debug else run_in_process(args)

    assert run.exit_code == 4
    assert "401" in run.stderr
    assert_no_key(run, tmp_path)
    if debug:
        assert "[REDACTED]" in run.stderr
    else:
        assert len(run.stderr.splitlines()) == 1


def test_429_echoing_the_key_never_shows_it(
    tmp_path: Path, article_file: Path, echo_server: Callable[..., EchoServer]
) -> None:
    server = echo_server(lambda s: ([], s.error(429)))
    args = ["summarize", str(article_file), "--base-url", server.base_url, "--max-retries", "1"]

    run = run_in_process([*args, "--record", str(tmp_path / "rec"), "--no-cache"])

    assert run.exit_code == 4
    assert_no_key(run, tmp_path)


@pytest.mark.parametrize("status", [400, 403, 500])
def test_other_statuses_echoing_the_key_never_show_it(
    tmp_path: Path, article_file: Path, echo_server: Callable[..., EchoServer], status: int
) -> None:
    server = echo_server(lambda s: ([], s.error(status)))
    args = ["summarize", str(article_file), "--base-url", server.base_url, "--max-retries", "0"]

    run = run_in_process([*args, "--record", str(tmp_path / "rec"), "--no-cache"])

    assert run.exit_code == 4
    assert_no_key(run, tmp_path)


def test_403_echoing_the_key_under_debug_never_shows_it(
    tmp_path: Path, article_file: Path, echo_server: Callable[..., EchoServer]
) -> None:
    server = echo_server(lambda s: ([], s.error(403)))
    args = ["summarize", str(article_file), "--base-url", server.base_url, "--max-retries", "0", "--debug"]

    run = run_script([*args, "--no-cache"], cwd=tmp_path)

    assert run.exit_code == 4
    assert "[REDACTED]" in run.stderr
    assert_no_key(run, tmp_path)

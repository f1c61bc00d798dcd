"""The ``summarizer`` command line: outputs, exit codes and one-line errors.

The CLI has no way to inject a transport, so the LLM is a tiny OpenAI-compatible
HTTP server on 127.0.0.1 (``openai_server`` in conftest) reached with --base-url.
Most tests run the Typer app in-process with CliRunner. Where what the user sees on
stderr matters beyond our own error line (provider failures, where libraries may log),
the real ``summarizer`` console script runs in a subprocess, because pytest's log
capture would hide such output in-process.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
from conftest import API_KEY, MISQUOTED_CLAIM, FakeOpenAIServer
from typer.testing import CliRunner

from summarizer.cli import app
from summarizer.schema import Summary
from summarizer.testing import tool_call_completion

StartServer = Callable[..., FakeOpenAIServer]

# Variables that would let the environment configure the run behind a test's back.
CONFIG_VARS = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "SUMMARIZER_BASE_URL",
    "SUMMARIZER_MODEL",
    "SUMMARIZER_MODE",
)

ERROR_PREFIX = "summarizer: error: "


@dataclass
class Run:
    exit_code: int
    stdout: str
    stderr: str


def invoke(args: list[str], *, input: bytes | str | None = None, env: dict[str, str] | None = None) -> Run:
    """The Typer app in-process, with the configuration variables removed from the environment."""
    environment: dict[str, str | None] = dict.fromkeys(CONFIG_VARS)
    environment.update(env or {})
    result = CliRunner().invoke(app, args, input=input, env=environment)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Run(result.exit_code, result.stdout, result.stderr)


def script() -> str:
    beside_python = Path(sys.executable).with_name("summarizer")
    found = str(beside_python) if beside_python.exists() else shutil.which("summarizer")
    assert found, "the summarizer console script is not installed"
    return found


def run_script(args: list[str], *, cwd: Path, env: dict[str, str] | None = None) -> Run:
    """The installed console script in a subprocess: exactly what a user's terminal shows."""
    environment = {k: v for k, v in os.environ.items() if k not in CONFIG_VARS}
    environment.update(env or {})
    done = subprocess.run(
        [script(), *args], cwd=cwd, env=environment, capture_output=True, text=True, timeout=60
    )
    return Run(done.returncode, done.stdout, done.stderr)


def error_line(run: Run, code: int, *fragments: str) -> str:
    """The run failed with ``code`` and ended with our one-line error; no traceback anywhere."""
    assert run.exit_code == code, (run.exit_code, run.stdout, run.stderr)
    assert "Traceback" not in run.stderr
    assert "Traceback" not in run.stdout
    lines = run.stderr.strip().splitlines()
    assert lines, "nothing on stderr"
    last = lines[-1]
    assert last.startswith(ERROR_PREFIX), run.stderr
    for fragment in fragments:
        assert fragment in last, (fragment, last)
    return last


def assert_one_line_error(run: Run, code: int, *fragments: str) -> None:
    """As ``error_line``, and that line is all there is on stderr."""
    line = error_line(run, code, *fragments)
    assert run.stderr == line + "\n", f"stderr is more than one line:\n{run.stderr}"


def no_temp_files(directory: Path) -> None:
    leftovers = [p.name for p in directory.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


# --------------------------------------------------------------------------- fixtures


@pytest.fixture
def article_file(tmp_path: Path, article: str) -> Path:
    path = tmp_path / "article.txt"
    path.write_text(article, encoding="utf-8")
    return path


@pytest.fixture
def good_server(openai_server: StartServer, reference_draft: dict[str, Any]) -> FakeOpenAIServer:
    completion = tool_call_completion(reference_draft, prompt_tokens=321, completion_tokens=123)
    return openai_server(lambda body: (200, {}, completion))


@pytest.fixture
def failing_server(openai_server: StartServer) -> FakeOpenAIServer:
    """Always 503 (with Retry-After: 0, so the CLI's real retry policy does not sleep)."""
    error = {"error": {"message": "The server is overloaded", "type": "server_error"}}
    return openai_server(lambda body: (503, {"Retry-After": "0"}, error))


@pytest.fixture
def misquoting_server(openai_server: StartServer, misquoted_draft: dict[str, Any]) -> FakeOpenAIServer:
    completion = tool_call_completion(misquoted_draft)
    return openai_server(lambda body: (200, {}, completion))


@pytest.fixture
def rejecting_server(openai_server: StartServer) -> FakeOpenAIServer:
    """A 401 that echoes the key in full, as some OpenAI-compatible proxies do."""
    error = {
        "error": {
            "message": f"Incorrect API key provided: {API_KEY}.",
            "type": "invalid_request_error",
            "code": "invalid_api_key",
        }
    }
    return openai_server(lambda body: (401, {}, error))


# --------------------------------------------------------------------------- success paths


def test_json_to_stdout_is_a_valid_grounded_summary(
    article_file: Path, article: str, good_server: FakeOpenAIServer
) -> None:
    run = invoke(["summarize", str(article_file), "--base-url", good_server.base_url])

    assert run.exit_code == 0, run.stderr
    summary = Summary.model_validate_json(run.stdout)
    json.loads(run.stdout)
    assert summary.check_offsets(article) == []
    assert summary.claims
    assert summary.meta is not None
    assert summary.meta.provider == "openai-compatible"
    assert summary.meta.attempts == 1
    assert summary.meta.usage.total_tokens == 444
    assert len(good_server.requests) == 1
    assert "Traceback" not in run.stderr


def test_output_file_is_written_atomically_and_stdout_stays_empty(
    article_file: Path, article: str, good_server: FakeOpenAIServer, tmp_path: Path
) -> None:
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    target = out_dir / "summary.json"

    run = invoke(["summarize", str(article_file), "--base-url", good_server.base_url, "-o", str(target)])

    assert run.exit_code == 0, run.stderr
    assert run.stdout == ""
    summary = Summary.model_validate_json(target.read_text(encoding="utf-8"))
    assert summary.check_offsets(article) == []
    assert sorted(p.name for p in out_dir.iterdir()) == ["summary.json"]


def test_output_file_replaces_an_existing_one(
    article_file: Path, good_server: FakeOpenAIServer, tmp_path: Path
) -> None:
    target = tmp_path / "summary.json"
    target.write_text("old", encoding="utf-8")

    run = invoke(["summarize", str(article_file), "--base-url", good_server.base_url, "-o", str(target)])

    assert run.exit_code == 0, run.stderr
    Summary.model_validate_json(target.read_text(encoding="utf-8"))
    no_temp_files(tmp_path)


def test_markdown_output_has_the_headline(
    article_file: Path, good_server: FakeOpenAIServer, reference_draft: dict[str, Any]
) -> None:
    run = invoke(["summarize", str(article_file), "--base-url", good_server.base_url, "--format", "markdown"])

    assert run.exit_code == 0, run.stderr
    assert run.stdout.startswith(f"# {reference_draft['headline']}\n")
    assert "## Claims" in run.stdout


def test_table_output_has_the_headline(
    article_file: Path, good_server: FakeOpenAIServer, reference_draft: dict[str, Any]
) -> None:
    run = invoke(["summarize", str(article_file), "--base-url", good_server.base_url, "-f", "table"])

    assert run.exit_code == 0, run.stderr
    # The terminal may wrap the headline: compare with whitespace collapsed.
    assert reference_draft["headline"] in " ".join(run.stdout.split())
    assert "Claims" in run.stdout


def test_table_output_to_a_file(
    article_file: Path, good_server: FakeOpenAIServer, reference_draft: dict[str, Any], tmp_path: Path
) -> None:
    target = tmp_path / "summary.txt"

    run = invoke(
        ["summarize", str(article_file), "--base-url", good_server.base_url, "-f", "table", "-o", str(target)]
    )

    assert run.exit_code == 0, run.stderr
    assert run.stdout == ""
    assert reference_draft["headline"] in " ".join(target.read_text(encoding="utf-8").split())
    no_temp_files(tmp_path)


def test_article_from_stdin(article: str, good_server: FakeOpenAIServer) -> None:
    run = invoke(["summarize", "-", "--base-url", good_server.base_url], input=article.encode("utf-8"))

    assert run.exit_code == 0, run.stderr
    summary = Summary.model_validate_json(run.stdout)
    assert summary.check_offsets(article) == []
    assert article in good_server.requests[0]["messages"][1]["content"]


def test_model_option_reaches_the_server(article_file: Path, good_server: FakeOpenAIServer) -> None:
    run = invoke(
        ["summarize", str(article_file), "--base-url", good_server.base_url, "--model", "my-local-model"]
    )

    assert run.exit_code == 0, run.stderr
    assert good_server.requests[0]["model"] == "my-local-model"
    assert Summary.model_validate_json(run.stdout).meta.model == "my-local-model"  # type: ignore[union-attr]


def test_version() -> None:
    run = invoke(["--version"])

    assert run.exit_code == 0
    assert run.stdout.startswith(f"summarizer {version('summarizer')}")


# --------------------------------------------------------------------------- bad input: exit 2


@pytest.mark.parametrize(
    "content, fragment",
    [
        pytest.param(b"", "is empty", id="empty"),
        pytest.param(b"  \n\t \r\n  ", "is empty", id="whitespace-only"),
        pytest.param(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00", "binary", id="binary-nul-bytes"),
        pytest.param("Café au lait".encode("latin-1"), "not valid UTF-8", id="invalid-utf8"),
    ],
)
def test_unusable_article_file(tmp_path: Path, content: bytes, fragment: str) -> None:
    path = tmp_path / "article.txt"
    path.write_bytes(content)

    run = invoke(["summarize", str(path)])

    assert_one_line_error(run, 2, fragment, str(path))


def test_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.txt"
    assert_one_line_error(invoke(["summarize", str(missing)]), 2, "no such file", str(missing))


def test_directory_instead_of_a_file(tmp_path: Path) -> None:
    assert_one_line_error(invoke(["summarize", str(tmp_path)]), 2, "directory")


def test_empty_stdin() -> None:
    assert_one_line_error(invoke(["summarize", "-"], input=b""), 2, "standard input", "empty")


def test_unknown_format(article_file: Path) -> None:
    run = invoke(["summarize", str(article_file), "--format", "xml"])
    assert_one_line_error(run, 2, "xml", "json", "markdown", "table")


def test_article_past_the_hard_limit(tmp_path: Path, article: str, closed_port: int) -> None:
    # Long articles are chunked (see test_long_articles.py); past the hard limit they are refused.
    long_article = tmp_path / "long.txt"
    long_article.write_text((article + "\n\n") * (1_300_000 // len(article) + 1), encoding="utf-8")

    # The base URL goes nowhere: the article must be refused before any request.
    run = invoke(
        [
            "summarize",
            str(long_article),
            "--model",
            "gpt-3.5-turbo",
            "--base-url",
            f"http://127.0.0.1:{closed_port}/v1",
            "--max-retries",
            "0",
        ]
    )

    assert_one_line_error(run, 2, "too long", "hard limit", "400,000 tokens")


# --------------------------------------------------------------------------- configuration: exit 3


def test_no_api_key_and_no_base_url(article_file: Path) -> None:
    run = invoke(["summarize", str(article_file)])
    assert_one_line_error(run, 3, "OPENAI_API_KEY")


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    run = run_script(["summarize", str(tmp_path / "nope.txt"), "--debug"], cwd=tmp_path)

    assert run.exit_code != 0
    assert "Traceback" in run.stderr
    assert "InputError" in run.stderr


def test_console_script_reports_a_missing_file_in_one_line(tmp_path: Path) -> None:
    run = run_script(["summarize", "nope.txt"], cwd=tmp_path)
    assert_one_line_error(run, 2, "nope.txt", "no such file")


# --------------------------------------------------------------------------- provider and extraction failures


def test_unreachable_server(article_file: Path, closed_port: int, tmp_path: Path) -> None:
    args = ["summarize", str(article_file), "--base-url", f"http://127.0.0.1:{closed_port}/v1"]
    run = run_script([*args, "--max-retries", "0"], cwd=tmp_path)

    assert_one_line_error(run, 4, "reach")
    assert run.stdout == ""


def test_retries_exhausted(article_file: Path, failing_server: FakeOpenAIServer, tmp_path: Path) -> None:
    args = ["summarize", str(article_file), "--base-url", failing_server.base_url, "--max-retries", "1"]
    run = run_script(args, cwd=tmp_path)

    assert_one_line_error(run, 4, "503")
    assert len(failing_server.requests) == 2
    assert run.stdout == ""


def test_strict_with_an_ungrounded_answer(
    article_file: Path, misquoting_server: FakeOpenAIServer, tmp_path: Path
) -> None:
    args = ["summarize", str(article_file), "--base-url", misquoting_server.base_url]
    run = run_script([*args, "--strict", "--max-reasks", "1"], cwd=tmp_path)

    assert_one_line_error(run, 5, "strict")
    assert len(misquoting_server.requests) == 2
    assert run.stdout == ""


def test_without_strict_an_ungrounded_claim_is_dropped(
    article_file: Path,
    article: str,
    misquoting_server: FakeOpenAIServer,
    misquoted_draft: dict[str, Any],
) -> None:
    run = invoke(
        ["summarize", str(article_file), "--base-url", misquoting_server.base_url, "--max-reasks", "1"]
    )

    assert run.exit_code == 0, run.stderr
    summary = Summary.model_validate_json(run.stdout)
    assert summary.check_offsets(article) == []
    bad_quote = misquoted_draft["claims"][MISQUOTED_CLAIM]["quote"]
    assert bad_quote not in [c.evidence.text for c in summary.claims]
    assert summary.meta is not None
    assert any("dropped claim" in w for w in summary.meta.warnings)


def test_rejected_key_is_exit_4_and_never_shown(
    article_file: Path, rejecting_server: FakeOpenAIServer, tmp_path: Path
) -> None:
    args = ["summarize", str(article_file), "--base-url", rejecting_server.base_url]
    run = run_script(args, cwd=tmp_path, env={"OPENAI_API_KEY": API_KEY})

    # Libraries log the provider's error body (which echoes the key): none of that may reach stderr.
    assert_one_line_error(run, 4, "401")
    assert API_KEY not in run.stderr
    assert API_KEY not in run.stdout


def test_rejected_key_is_redacted_under_debug(
    article_file: Path, rejecting_server: FakeOpenAIServer, tmp_path: Path
) -> None:
    args = ["summarize", str(article_file), "--base-url", rejecting_server.base_url, "--debug"]
    run = run_script(args, cwd=tmp_path, env={"OPENAI_API_KEY": API_KEY})

    assert run.exit_code == 4
    assert "Traceback" in run.stderr  # --debug shows the traceback and the request logs ...
    assert "[REDACTED]" in run.stderr  # ... where the server's echo of the key is redacted
    assert API_KEY not in run.stderr
    assert API_KEY not in run.stdout


def test_failed_run_leaves_an_existing_output_file_untouched(
    article_file: Path, failing_server: FakeOpenAIServer, tmp_path: Path
) -> None:
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    target = out_dir / "summary.json"
    target.write_text('{"previous": "run"}\n', encoding="utf-8")
    before = target.stat().st_mtime_ns

    run = invoke(
        [
            "summarize",
            str(article_file),
            "--base-url",
            failing_server.base_url,
            "--max-retries",
            "0",
            "-o",
            str(target),
        ]
    )

    error_line(run, 4, "503")
    assert target.read_text(encoding="utf-8") == '{"previous": "run"}\n'
    assert target.stat().st_mtime_ns == before
    assert sorted(p.name for p in out_dir.iterdir()) == ["summary.json"]


def test_bad_input_leaves_an_existing_output_file_untouched(tmp_path: Path) -> None:
    target = tmp_path / "summary.json"
    target.write_text("keep me", encoding="utf-8")
    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")

    run = invoke(["summarize", str(empty), "-o", str(target)])

    assert_one_line_error(run, 2, "empty")
    assert target.read_text(encoding="utf-8") == "keep me"
    no_temp_files(tmp_path)


# --------------------------------------------------------------------------- startup cost


def test_help_does_not_import_openai_or_instructor(tmp_path: Path) -> None:
    probe = textwrap.dedent(
        """
        import json, sys
        from typer.testing import CliRunner
        from summarizer.cli import app
        runner = CliRunner()
        codes = [runner.invoke(app, args).exit_code for args in (["--help"], ["summarize", "--help"], [])]
        print(json.dumps({"codes": codes, "loaded": sorted(m for m in ("openai", "instructor") if m in sys.modules)}))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )

    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["codes"][:2] == [0, 0]
    assert report["loaded"] == []

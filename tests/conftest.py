"""Shared fixtures: the seed article, its hand-written reference draft, and fast, key-safe settings.

No test sleeps for real: every ``Settings`` built here gets a ``RetryPolicy`` whose
``sleep``/``async_sleep`` only record the delay they were asked for.
"""

from __future__ import annotations

import copy
import json
import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from summarizer.config import Settings
from summarizer.llm.transport import RetryPolicy

ROOT = Path(__file__).resolve().parent.parent
CASE = "khamenei-moscow-exiles"

# The seed article (a copy of shared/seeds/, kept in the repo) and its hand-written reference draft.
ARTICLE_CANDIDATES = (ROOT / "fixtures" / "cases" / CASE / "article.txt",)
REFERENCE_CANDIDATES = (ROOT / "fixtures" / "references" / f"{CASE}.json",)

# A key that must never leak into output or error messages.
API_KEY = "sk-test-0123456789abcdefSECRETKEY"

# The realistic misquote: the model "corrects" the article's spelling Yanukovich.
MISQUOTED_CLAIM = 12
ARTICLE_SPELLING = "Yanukovich"
MODEL_SPELLING = "Yanukovych"


def _first_existing(candidates: tuple[Path, ...], what: str) -> Path:
    for path in candidates:
        if path.is_file():
            return path
    raise FileNotFoundError(f"{what} not found; looked in: {', '.join(map(str, candidates))}")


@pytest.fixture(scope="session")
def article_path() -> Path:
    return _first_existing(ARTICLE_CANDIDATES, "seed article")


@pytest.fixture(scope="session")
def article(article_path: Path) -> str:
    return article_path.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def _reference_draft() -> dict[str, Any]:
    path = _first_existing(REFERENCE_CANDIDATES, "reference draft")
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture
def reference_draft(_reference_draft: dict[str, Any]) -> dict[str, Any]:
    """The JSON arguments an excellent model would return (a fresh copy per test)."""
    return copy.deepcopy(_reference_draft)


@pytest.fixture
def misquoted_draft(reference_draft: dict[str, Any]) -> dict[str, Any]:
    """The reference draft with claim 12's quote misspelt the way a model would."""
    draft = copy.deepcopy(reference_draft)
    quote = draft["claims"][MISQUOTED_CLAIM]["quote"]
    assert ARTICLE_SPELLING in quote, "fixture drift: claim 12 no longer quotes 'Yanukovich'"
    draft["claims"][MISQUOTED_CLAIM]["quote"] = quote.replace(ARTICLE_SPELLING, MODEL_SPELLING)
    return draft


class SleepRecorder:
    """A fake ``sleep``/``async_sleep``: remembers each requested delay, waits for nothing."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)

    async def asleep(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()


@pytest.fixture
def settings(sleeps: SleepRecorder) -> Callable[..., Settings]:
    """Factory: ``settings(max_retries=2, **Settings fields)`` with a test key and no real sleeping."""

    def make(*, max_retries: int = 2, **overrides: Any) -> Settings:
        policy = RetryPolicy(
            max_retries=max_retries,
            initial_delay=0,
            jitter=0,
            sleep=sleeps,
            async_sleep=sleeps.asleep,
        )
        fields: dict[str, Any] = {"api_key": API_KEY, "retry": policy}
        fields.update(overrides)
        return Settings(**fields)

    return make


# --------------------------------------------------------------------------- a local OpenAI-compatible server

Answer = Callable[[dict[str, Any]], "tuple[int, dict[str, str], dict[str, Any] | bytes]"]


class FakeOpenAIServer:
    """A tiny OpenAI-compatible HTTP server on 127.0.0.1, for code that takes only a base URL.

    ``answer`` maps each ``POST /v1/chat/completions`` JSON body to (status, headers, body).
    It speaks HTTP/1.1 with keep-alive, as real providers do.
    """

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                if self.path.rstrip("/") != "/v1/chat/completions":
                    self._send(404, {}, {"error": {"message": f"no route {self.path}"}})
                    return
                body = json.loads(raw or b"{}")
                with server._lock:
                    server.requests.append(body)
                status, headers, payload = server.answer(body)
                self._send(status, headers, payload)

            def _send(self, status: int, headers: dict[str, str], payload: dict[str, Any] | bytes) -> None:
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # A client that hangs up on a keep-alive connection is not news.

        self._httpd = Server(("127.0.0.1", 0), Handler)
        self.port = self._httpd.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


@pytest.fixture
def openai_server() -> Iterator[Callable[[Answer], FakeOpenAIServer]]:
    """Factory: ``openai_server(answer)`` starts a server; all are stopped after the test."""
    started: list[FakeOpenAIServer] = []

    def start(answer: Answer) -> FakeOpenAIServer:
        server = FakeOpenAIServer(answer)
        started.append(server)
        return server

    yield start
    for server in started:
        server.close()


@pytest.fixture
def closed_port() -> int:
    """A local port nobody listens on: connecting is refused at once."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test gets its own summary cache: none reads or writes the user's."""
    directory = tmp_path_factory.mktemp("summarizer-cache")
    monkeypatch.setenv("SUMMARIZER_CACHE_DIR", str(directory))
    return directory

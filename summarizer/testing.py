"""Test models instead of mocks: an in-process LLM that speaks the OpenAI wire format.

``ScriptedLLM`` is an httpx transport. Plug it into a ``Summarizer`` and the real
openai SDK and instructor run unchanged against it: it answers each chat
completion request with the next scripted reply and keeps every request body,
so a test can assert what was actually sent (re-ask messages included).

``FakeOpenAIServer`` is the same idea over real HTTP on 127.0.0.1, for code that
takes only a base URL (the CLI in a subprocess, benchmarks): configurable latency,
injected 429s, and counts of what it served.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx

TOOL_NAME = "DraftSummary"


def tool_call_completion(
    arguments: dict[str, Any] | str,
    *,
    model: str = "test-model",
    prompt_tokens: int = 100,
    completion_tokens: int = 50,
    tool_name: str = TOOL_NAME,
    completion_id: str = "chatcmpl-test",
) -> dict[str, Any]:
    """An OpenAI chat completion whose answer is a call of ``tool_name`` with ``arguments``."""
    args = arguments if isinstance(arguments, str) else json.dumps(arguments, ensure_ascii=False)
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": 1_764_000_000,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": f"call_{completion_id}",
                            "type": "function",
                            "function": {"name": tool_name, "arguments": args},
                        }
                    ],
                },
                "finish_reason": "tool_calls",
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


@dataclass(frozen=True)
class Reply:
    """One scripted answer: a status, a JSON body (or raw bytes) and headers."""

    body: dict[str, Any] | bytes
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)

    def to_response(self) -> httpx.Response:
        if isinstance(self.body, bytes):
            return httpx.Response(self.status, content=self.body, headers=self.headers)
        return httpx.Response(self.status, json=self.body, headers=self.headers)


def rate_limited(retry_after: float = 0) -> Reply:
    return Reply(
        {"error": {"message": "Rate limit reached", "type": "rate_limit_error"}},
        status=429,
        headers={"retry-after": str(retry_after)},
    )


class ScriptedLLM(httpx.MockTransport):
    """Answers requests with ``replies`` in order; records each request's JSON body."""

    def __init__(self, replies: Iterable[Reply | dict[str, Any]]) -> None:
        self._replies = [r if isinstance(r, Reply) else Reply(r) for r in replies]
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        super().__init__(self._answer)

    def _answer(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.requests.append(json.loads(request.content or b"{}"))
            index = len(self.requests) - 1
            if index >= len(self._replies):
                return httpx.Response(
                    500,
                    json={"error": {"message": f"ScriptedLLM: no reply scripted for request {index + 1}"}},
                )
            return self._replies[index].to_response()


# --------------------------------------------------------------------------- a real HTTP server

DraftAnswer = Callable[[dict[str, Any]], "dict[str, Any] | str | Reply"]


class FakeOpenAIServer:
    """An OpenAI-compatible HTTP server on 127.0.0.1, for code that only takes a base URL.

    It runs an asyncio loop in a background thread, so hundreds of requests can wait
    out ``latency`` at once without a thread each; it speaks HTTP/1.1 with keep-alive.
    Every ``POST /v1/chat/completions`` is answered, after ``latency`` seconds, with a
    call of the ``DraftSummary`` tool whose arguments are ``answer(body)`` (default:
    the fixed ``draft``). ``answer`` may also return a ``Reply`` for any other answer.

    429s with ``Retry-After: retry_after`` are injected deterministically: every
    ``rate_limit_every``-th request, and/or a ``rate_limit_fraction`` of requests drawn
    from a ``random.Random(seed)``. A 429 is answered at once (no latency).

    ``request_count`` counts chat-completion requests (429s included), ``rate_limited``
    the 429s served, ``bodies`` keeps each request's JSON (unless ``keep_bodies=False``,
    for long benchmarks) and ``peak_in_flight`` the most requests open at one time.

        with FakeOpenAIServer(draft, latency=0.3) as server:
            Summarizer(Settings(base_url=server.base_url, api_key="x")).summarize(text)
    """

    def __init__(
        self,
        draft: dict[str, Any] | str | None = None,
        *,
        answer: DraftAnswer | None = None,
        latency: float = 0.0,
        rate_limit_every: int = 0,
        rate_limit_fraction: float = 0.0,
        retry_after: float = 0.0,
        seed: int = 0,
        prompt_tokens: int = 1_000,
        completion_tokens: int = 500,
        keep_bodies: bool = True,
        port: int = 0,
    ) -> None:
        if answer is None and draft is None:
            raise ValueError("FakeOpenAIServer needs a draft or an answer callable")
        fixed = draft
        self.answer: DraftAnswer = answer if answer is not None else (lambda body: fixed)  # type: ignore[return-value,arg-type]
        self.latency = latency
        self.rate_limit_every = rate_limit_every
        self.rate_limit_fraction = rate_limit_fraction
        self.retry_after = retry_after
        self.prompt_tokens = prompt_tokens
        self.completion_tokens = completion_tokens
        self.keep_bodies = keep_bodies
        self.request_count = 0
        self.rate_limited = 0
        self.in_flight = 0
        self.peak_in_flight = 0
        self.bodies: list[dict[str, Any]] = []
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._wanted_port = port
        self._port: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[asyncio.StreamWriter] = set()

    # -- lifecycle ------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("FakeOpenAIServer is not running: call start() or use it in a with block")
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> FakeOpenAIServer:
        if self._thread is not None:
            return self
        ready = threading.Event()
        failure: list[BaseException] = []
        self._thread = threading.Thread(
            target=self._serve, args=(ready, failure), name="FakeOpenAIServer", daemon=True
        )
        self._thread.start()
        if not ready.wait(10) or failure:
            raise RuntimeError(f"FakeOpenAIServer did not start: {failure[0] if failure else 'timeout'}")
        return self

    def stop(self) -> None:
        if self._thread is None:
            return
        loop, stopping = self._loop, self._stopping
        if loop is not None and stopping is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop ended on its own
                loop.call_soon_threadsafe(stopping.set)
        self._thread.join(timeout=10)
        self._thread = None
        self._port = None

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def reset_counts(self) -> None:
        with self._lock:
            self.request_count = 0
            self.rate_limited = 0
            self.peak_in_flight = self.in_flight
            self.bodies.clear()

    # -- serving ----------------------------------------------------------------------

    def _serve(self, ready: threading.Event, failure: list[BaseException]) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._main(ready))
        except BaseException as exc:  # reported to start(); a thread must not die silently
            failure.append(exc)
            ready.set()
        finally:
            loop.close()

    async def _main(self, ready: threading.Event) -> None:
        self._stopping = asyncio.Event()
        server = await asyncio.start_server(
            self._connection, "127.0.0.1", self._wanted_port, backlog=1024, limit=2**24
        )
        self._port = int(server.sockets[0].getsockname()[1])
        ready.set()
        try:
            await self._stopping.wait()
        finally:
            server.close()
            for writer in list(self._connections):
                writer.close()
            current = asyncio.current_task()
            pending = [t for t in asyncio.all_tasks() if t is not current]
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._connections.add(writer)
        try:
            while True:
                request_line = await reader.readline()
                if not request_line.strip():
                    return  # the client closed its keep-alive connection
                method, path, _version = request_line.decode("latin-1").split(maxsplit=2)
                headers: dict[str, str] = {}
                while True:
                    line = await reader.readline()
                    if line in (b"\r\n", b"\n", b""):
                        break
                    name, _, value = line.decode("latin-1").partition(":")
                    headers[name.strip().lower()] = value.strip()
                length = int(headers.get("content-length") or 0)
                raw = await reader.readexactly(length) if length else b""
                status, extra, payload = await self._respond(method, path, raw)
                head = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}"]
                head += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
                head += [f"{name}: {value}" for name, value in extra.items()]
                writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + payload)
                await writer.drain()
                if headers.get("connection", "").lower() == "close":
                    return
        except (ConnectionError, asyncio.IncompleteReadError, ValueError, asyncio.CancelledError):
            # A client that hangs up mid-request is not news; nor is the server stopping
            # (a cancelled connection task would make asyncio log a traceback).
            return
        finally:
            self._connections.discard(writer)
            writer.close()

    async def _respond(self, method: str, path: str, raw: bytes) -> tuple[int, dict[str, str], bytes]:
        if method != "POST" or path.split("?")[0].rstrip("/") != "/v1/chat/completions":
            return _json_reply(404, {"error": {"message": f"no route {method} {path}"}})
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            return _json_reply(400, {"error": {"message": "request body is not JSON"}})
        with self._lock:
            self.request_count += 1
            number = self.request_count
            if self.keep_bodies:
                self.bodies.append(body)
            limited = (self.rate_limit_every > 0 and number % self.rate_limit_every == 0) or (
                self.rate_limit_fraction > 0 and self._random.random() < self.rate_limit_fraction
            )
            if limited:
                self.rate_limited += 1
        if limited:
            return _json_reply(
                429,
                {"error": {"message": "Rate limit reached (fake)", "type": "rate_limit_error"}},
                {"Retry-After": f"{self.retry_after:g}"},
            )
        with self._lock:
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            if self.latency > 0:
                await asyncio.sleep(self.latency)
            answer = self.answer(body)
        finally:
            with self._lock:
                self.in_flight -= 1
        if isinstance(answer, Reply):
            payload = answer.body
            data = payload if isinstance(payload, bytes) else json.dumps(payload).encode("utf-8")
            return answer.status, dict(answer.headers), data
        completion = tool_call_completion(
            answer,
            model=str(body.get("model") or "test-model"),
            prompt_tokens=self.prompt_tokens,
            completion_tokens=self.completion_tokens,
            completion_id=f"chatcmpl-fake-{number}",
        )
        return _json_reply(200, completion)


_REASONS = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Internal Server Error",
}


def _json_reply(
    status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    return status, headers or {}, json.dumps(payload, ensure_ascii=False).encode("utf-8")

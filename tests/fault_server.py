"""A fault-injection OpenAI-compatible HTTP server on 127.0.0.1.

Each ``POST /v1/chat/completions`` is answered by the next action of a script;
once the script is spent, ``then`` answers every further request (by default a
500 that says the script ran out). Actions:

- ``Respond(status, body, headers)``: a complete HTTP/1.1 response (keep-alive);
- ``Stall(seconds)``: say nothing for ``seconds``, then hang up (a request timeout);
- ``Cut(partial)``: send the status line, headers and ``partial`` bytes of a longer
  body, then reset the connection (a connection dropped mid-response).

An action may also be a callable ``(request_body) -> action``, for answers built
from what was asked. The server keeps every request body (``requests``), every
action it played (``played``), and the ``usage`` of every complete 200 response
it delivered (``usage_served``), so a test can check that the client's
accounting matches what the wire carried.
"""

from __future__ import annotations

import json
import socket
import socketserver
import struct
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from summarizer.schema import Usage


@dataclass(frozen=True)
class Respond:
    status: int = 200
    body: dict[str, Any] | list[Any] | bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"

    def payload(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        return json.dumps(self.body, ensure_ascii=False).encode("utf-8")


@dataclass(frozen=True)
class Stall:
    """Answer nothing for ``seconds``, then close: the client's read timeout fires first."""

    seconds: float


@dataclass(frozen=True)
class Cut:
    """Headers promising ``length`` bytes, then ``partial`` of them, then a reset connection."""

    partial: bytes = b'{"id": "chatcmpl-cut", "object": "chat.comp'
    length: int = 4096


Action = Respond | Stall | Cut
Script = Action | Callable[[dict[str, Any]], Action]

_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    408: "Request Timeout",
    409: "Conflict",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def error_body(status: int, message: str = "") -> Respond:
    return Respond(status, {"error": {"message": message or f"fault {status}", "type": "server_error"}})


class FaultServer:
    """``FaultServer([Respond(429, ...), Respond(503, ...), Respond(200, completion)])``."""

    def __init__(self, script: Sequence[Script], then: Script | None = None) -> None:
        self._script = list(script)
        self._then = then
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.played: list[Action] = []
        self.usage_served: list[Usage] = []
        self._lock = threading.Lock()
        owner = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                owner._handle(self.request)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            block_on_close = False
            allow_reuse_address = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that hangs up is what some of these tests are about

        self._server = Server(("127.0.0.1", 0), Handler)
        self.port = int(self._server.server_address[1])
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    # -- accounting -------------------------------------------------------------------

    @property
    def total_usage(self) -> Usage:
        total = Usage()
        for usage in self.usage_served:
            total = total + usage
        return total

    def count(self, kind: type) -> int:
        return sum(isinstance(a, kind) for a in self.played)

    def statuses(self) -> list[int | str]:
        return [a.status if isinstance(a, Respond) else type(a).__name__ for a in self.played]

    # -- serving ------------------------------------------------------------------------

    def _next(self, body: dict[str, Any]) -> Action:
        with self._lock:
            index = len(self.requests) - 1
            step: Script | None = self._script[index] if index < len(self._script) else self._then
        if step is None:
            return error_body(500, f"FaultServer: nothing scripted for request {index + 1}")
        action = step(body) if callable(step) else step
        with self._lock:
            self.played.append(action)
        return action

    def _handle(self, sock: socket.socket) -> None:
        reader = sock.makefile("rb")
        try:
            while True:
                request_line = reader.readline()
                if not request_line.strip():
                    return
                headers: dict[str, str] = {}
                while True:
                    line = reader.readline()
                    if line in (b"\r\n", b"\n", b""):
                        break
                    name, _, value = line.decode("latin-1").partition(":")
                    headers[name.strip().lower()] = value.strip()
                length = int(headers.get("content-length") or 0)
                raw = reader.read(length) if length else b""
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = {}
                with self._lock:
                    self.requests.append(body)
                    self.headers.append(headers)
                action = self._next(body)
                if isinstance(action, Stall):
                    time.sleep(action.seconds)
                    return
                if isinstance(action, Cut):
                    head = (
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                        f"Content-Length: {action.length}\r\n\r\n"
                    )
                    sock.sendall(head.encode("latin-1") + action.partial)
                    # SO_LINGER 0: close() sends a TCP reset instead of an orderly FIN.
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    return
                self._respond(sock, action)
        except OSError:
            return
        finally:
            reader.close()

    def _respond(self, sock: socket.socket, action: Respond) -> None:
        payload = action.payload()
        head = [f"HTTP/1.1 {action.status} {_REASONS.get(action.status, 'Status')}"]
        head += [f"Content-Type: {action.content_type}", f"Content-Length: {len(payload)}"]
        head += [f"{name}: {value}" for name, value in action.headers.items()]
        # Book the usage before sending: once the client has the answer it may look at once.
        if (
            action.status == 200
            and isinstance(action.body, dict)
            and isinstance(action.body.get("usage"), dict)
        ):
            usage = action.body["usage"]
            with self._lock:
                self.usage_served.append(
                    Usage(
                        prompt_tokens=int(usage.get("prompt_tokens") or 0),
                        completion_tokens=int(usage.get("completion_tokens") or 0),
                        total_tokens=int(usage.get("total_tokens") or 0),
                    )
                )
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + payload)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FaultServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

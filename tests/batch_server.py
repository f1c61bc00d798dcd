"""A loopback fake of OpenAI's files + batches endpoints, for the archive's tests.

Written by hand from OpenAI's documented Batch API shapes (the batch object, its
request_counts and errors; output lines ``{"id", "custom_id", "response": {"status_code",
"request_id", "body"}, "error"}``; error-file lines with ``response: null`` and an error object,
``batch_expired`` for what an expired batch never ran). No code or data of OpenAI's is copied.

A batch moves one state per retrieve: validating -> in_progress -> finalizing -> completed, or
validating -> failed (a file over the limits, or a batch scripted to fail), or in_progress ->
expired (a batch scripted to expire after answering part of its requests). Each request line
is answered by ``answer(custom_id, body)``: a chat-completion dict (HTTP 200), a ``(status,
body)`` pair, or a ``LineError`` for the error file.

Faults for tests: the first ``create_429`` creates are answered 429; ``hold_create`` keeps the
answer to a create back (after the batch exists) until it is set, and ``created`` is set when a
batch exists, so a test can kill the client in between; ``hold_progress`` keeps batches in
progress until set, signalling ``polled_while_held``.
"""

from __future__ import annotations

import email.parser
import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class LineError:
    code: str
    message: str


Answer = Callable[[str, dict[str, Any]], "dict[str, Any] | tuple[int, dict[str, Any]] | LineError"]


@dataclass
class _Batch:
    id: str
    input_file_id: str
    endpoint: str
    metadata: dict[str, str]
    created_at: int
    number: int
    status: str = "validating"
    output_file_id: str | None = None
    error_file_id: str | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)
    total: int = 0
    completed: int = 0
    failed: int = 0

    def view(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "batch",
            "endpoint": self.endpoint,
            "errors": {"object": "list", "data": self.errors} if self.errors else None,
            "input_file_id": self.input_file_id,
            "completion_window": "24h",
            "status": self.status,
            "output_file_id": self.output_file_id,
            "error_file_id": self.error_file_id,
            "created_at": self.created_at,
            "request_counts": {"total": self.total, "completed": self.completed, "failed": self.failed},
            "metadata": self.metadata,
        }


class FakeBatchServer:
    def __init__(
        self,
        answer: Answer,
        *,
        max_requests: int = 50_000,
        max_bytes: int = 200_000_000,
        create_429: int = 0,
        expire: frozenset[int] = frozenset(),
        fail: frozenset[int] = frozenset(),
        hold_create: threading.Event | None = None,
        hold_progress: threading.Event | None = None,
    ) -> None:
        self.answer = answer
        self.max_requests, self.max_bytes = max_requests, max_bytes
        self.create_429 = create_429
        self.expire, self.fail = expire, fail  # batch numbers (1 = the first created)
        self.hold_create, self.hold_progress = hold_create, hold_progress
        self.created = threading.Event()
        self.polled_while_held = threading.Event()
        self.files: dict[str, dict[str, Any]] = {}
        self.contents: dict[str, bytes] = {}
        self.batches: dict[str, _Batch] = {}
        self.create_calls = 0
        self.lines_answered = 0
        self.ran: list[tuple[str, dict[str, Any]]] = []  # (custom_id, body) of every request run
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def __enter__(self) -> FakeBatchServer:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                self._reply(*fake._route("GET", self.path, b"", {}))

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length") or 0))
                self._reply(*fake._route("POST", self.path, raw, dict(self.headers)))

            def _reply(self, status: int, payload: bytes, kind: str = "application/json") -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        # A client killed mid-request (the point of some tests) is not news.
        self._server.handle_error = lambda request, address: None  # type: ignore[method-assign]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        for event in (self.hold_create, self.hold_progress):
            if event is not None:
                event.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    @property
    def creates(self) -> int:
        """Batches actually created (a 429 creates none)."""
        return len(self.batches)

    # -- routes ----------------------------------------------------------------------------

    def _route(
        self, method: str, target: str, raw: bytes, headers: dict[str, str]
    ) -> tuple[int, bytes] | tuple[int, bytes, str]:
        url = urlsplit(target)
        parts = url.path.rstrip("/").split("/")[2:]  # after /v1
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if method == "POST" and parts == ["files"]:
            return self._upload(raw, headers)
        if method == "GET" and parts == ["files"]:
            data = [f for f in self.files.values() if f["purpose"] == query.get("purpose", f["purpose"])]
            return _json(200, {"object": "list", "data": data, "has_more": False})
        if method == "GET" and len(parts) == 3 and parts[0] == "files" and parts[2] == "content":
            if parts[1] not in self.contents:
                return _json(404, {"error": {"message": f"no file {parts[1]}"}})
            return 200, self.contents[parts[1]], "application/octet-stream"
        if method == "POST" and parts == ["batches"]:
            return self._create(json.loads(raw))
        if method == "GET" and parts == ["batches"]:
            return self._list(int(query.get("limit", 20)), query.get("after"))
        if len(parts) >= 2 and parts[0] == "batches" and parts[1] in self.batches:
            batch = self.batches[parts[1]]
            if method == "POST" and parts[2:] == ["cancel"]:
                with self._lock:
                    if batch.status not in ("completed", "failed", "expired", "cancelled"):
                        self._finish(batch, "cancelled", answered=0)
                return _json(200, batch.view())
            if method == "GET" and len(parts) == 2:
                return _json(200, self._advance(batch).view())
        return _json(404, {"error": {"message": f"no route {method} {url.path}"}})

    def _upload(self, raw: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        kind = next(v for k, v in headers.items() if k.lower() == "content-type")
        message = email.parser.BytesParser().parsebytes(b"Content-Type: " + kind.encode() + b"\r\n\r\n" + raw)
        fields: dict[str, Any] = {}
        for piece in message.get_payload():  # type: ignore[union-attr]
            name = piece.get_param("name", header="content-disposition")
            fields[name] = (piece.get_filename(), piece.get_payload(decode=True))
        filename, content = fields["file"]
        file_id = f"file-{next(self._ids)}"
        with self._lock:
            self.contents[file_id] = content
            self.files[file_id] = {
                "id": file_id, "object": "file", "bytes": len(content), "created_at": int(time.time()),
                "filename": filename, "purpose": fields["purpose"][1].decode(), "status": "processed",
            }  # fmt: skip
        return _json(200, self.files[file_id])

    def _create(self, body: dict[str, Any]) -> tuple[int, bytes]:
        with self._lock:
            self.create_calls += 1
            if self.create_calls <= self.create_429:
                return _json(
                    429,
                    {"error": {"message": "Too many batches enqueued (fake)", "type": "rate_limit_error"}},
                )
            if body.get("input_file_id") not in self.contents:
                return _json(400, {"error": {"message": "no such input file"}})
            number = len(self.batches) + 1
            batch = _Batch(
                id=f"batch_{number:04d}", input_file_id=body["input_file_id"], endpoint=body["endpoint"],
                metadata=dict(body.get("metadata") or {}), created_at=int(time.time()), number=number,
            )  # fmt: skip
            self.batches[batch.id] = batch
        self.created.set()
        if self.hold_create is not None:
            self.hold_create.wait(60)  # the batch exists; its creator does not know yet
        return _json(200, batch.view())

    def _list(self, limit: int, after: str | None) -> tuple[int, bytes]:
        newest_first = sorted(self.batches.values(), key=lambda b: b.number, reverse=True)
        if after is not None:
            newest_first = list(itertools.dropwhile(lambda b: b.id != after, newest_first))[1:]
        page = newest_first[:limit]
        return _json(200, {
            "object": "list", "data": [b.view() for b in page], "has_more": len(newest_first) > limit,
            "first_id": page[0].id if page else None, "last_id": page[-1].id if page else None,
        })  # fmt: skip

    # -- the engine ------------------------------------------------------------------------

    def _advance(self, batch: _Batch) -> _Batch:
        with self._lock:
            if batch.status == "validating":
                problem = self._validate(batch)
                if problem is not None or batch.number in self.fail:
                    batch.errors = [
                        problem or {"code": "invalid_request", "message": "scripted failure", "line": None}
                    ]
                    batch.status = "failed"
                else:
                    batch.status = "in_progress"
            elif batch.status == "in_progress":
                if self.hold_progress is not None and not self.hold_progress.is_set():
                    self.polled_while_held.set()
                elif batch.number in self.expire:
                    self._finish(batch, "expired", answered=batch.total // 2)
                else:
                    batch.status = "finalizing"
            elif batch.status == "finalizing":
                self._finish(batch, "completed", answered=batch.total)
        return batch

    def _validate(self, batch: _Batch) -> dict[str, Any] | None:
        content = self.contents[batch.input_file_id]
        lines = content.splitlines()
        batch.total = len(lines)
        if len(content) > self.max_bytes or len(lines) > self.max_requests:
            return {
                "code": "too_large",
                "message": f"{len(lines)} requests, {len(content)} bytes",
                "line": None,
            }
        ids = set()
        for number, raw in enumerate(lines, 1):
            line = json.loads(raw)
            if line.get("url") != batch.endpoint or line.get("method") != "POST" or line["custom_id"] in ids:
                return {"code": "invalid_request", "message": "bad request line", "line": number}
            ids.add(line["custom_id"])
        return None

    def _finish(self, batch: _Batch, status: str, *, answered: int) -> None:
        outputs, errors = [], []
        for number, raw in enumerate(self.contents[batch.input_file_id].splitlines(), 1):
            line = json.loads(raw)
            custom_id = line["custom_id"]
            common = {"id": f"batch_req_{batch.id}_{number}", "custom_id": custom_id}
            if number > answered:
                code = "batch_expired" if status == "expired" else "batch_cancelled"
                errors.append(
                    {**common, "response": None, "error": {"code": code, "message": f"not run: {status}"}}
                )
                continue
            self.ran.append((custom_id, line["body"]))
            self.lines_answered += 1
            result = self.answer(custom_id, line["body"])
            if isinstance(result, LineError):
                errors.append(
                    {**common, "response": None, "error": {"code": result.code, "message": result.message}}
                )
            else:
                code, body = result if isinstance(result, tuple) else (200, result)
                response = {"status_code": code, "request_id": f"req_{number}", "body": body}
                (outputs if code == 200 else errors).append({**common, "response": response, "error": None})
        batch.completed = sum(1 for o in outputs)
        batch.failed = len(errors)
        for kind, lines in (("output_file_id", outputs), ("error_file_id", errors)):
            if lines:
                file_id = f"file-{next(self._ids)}"
                self.contents[file_id] = "".join(json.dumps(x) + "\n" for x in lines).encode()
                setattr(batch, kind, file_id)
        batch.status = status


def _json(status: int, payload: dict[str, Any]) -> tuple[int, bytes]:
    return status, json.dumps(payload).encode("utf-8")

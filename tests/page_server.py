"""A tiny web site on 127.0.0.1 for the URL tests: fixed pages, errors, redirects, slow and huge answers."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
NEWS_PAGE = ROOT / "fixtures" / "pages" / "news-article.html"


@dataclass
class Page:
    body: bytes | Callable[[], Any] = b""
    status: int = 200
    content_type: str | None = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before the answer
    send_length: bool = True  # False: no Content-Length, the body ends when the connection closes


class PageServer:
    """``pages`` maps a path to a ``Page``; every GET is recorded in ``requests`` (path, User-Agent)."""

    def __init__(self, pages: dict[str, Page]) -> None:
        self.pages = pages
        self.requests: list[tuple[str, str]] = []
        self.hosts: list[str] = []  # the Host header of each GET, in order
        self._stop = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def do_GET(self) -> None:
                server.requests.append((self.path, self.headers.get("User-Agent", "")))
                server.hosts.append(self.headers.get("Host", ""))
                page = server.pages.get(self.path.split("?")[0])
                if page is None:
                    page = Page(b"<html><body><h1>Not found</h1></body></html>", status=404)
                if page.delay and server._stop.wait(page.delay):
                    return
                body = page.body() if callable(page.body) else page.body
                self.send_response(page.status)
                if page.content_type:
                    self.send_header("Content-Type", page.content_type)
                if page.send_length and isinstance(body, bytes):
                    self.send_header("Content-Length", str(len(body)))
                for name, value in page.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                try:
                    if isinstance(body, bytes):
                        self.wfile.write(body)
                    else:  # an iterable of chunks
                        for chunk in body:
                            self.wfile.write(chunk)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a size cap): not news

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass

        self._httpd = Server(("127.0.0.1", 0), Handler)
        self.port = int(self._httpd.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def __enter__(self) -> PageServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


def news_page() -> bytes:
    return NEWS_PAGE.read_bytes()


def draft_for_text(reference: dict[str, Any], text: str) -> dict[str, Any]:
    """The reference draft as a model reading ``text`` would give it: only what ``text`` holds.

    A fetched page's text is the article body without the standfirst, so the claims quoting
    it and the entities named only there go (and every reference to them).
    """

    def occurs(name: str) -> bool:  # as grounding matches names: whole words
        return re.search(rf"(?<!\w){re.escape(name)}(?!\w)", text) is not None

    entities = [e for e in reference["entities"] if any(map(occurs, [e["name"], *e.get("aliases", [])]))]
    kept = {e["id"] for e in entities}
    sources = [
        {**s, "entity_id": s.get("entity_id") if s.get("entity_id") in kept else None}
        for s in reference["sources"]
    ]
    claims = [
        {**c, "entity_ids": [i for i in c.get("entity_ids", []) if i in kept]}
        for c in reference["claims"]
        if c["quote"] in text
    ]
    return {**reference, "entities": entities, "sources": sources, "claims": claims}

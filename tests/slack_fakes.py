"""A fake Slack on 127.0.0.1 for the bot's tests and benchmark, and the bot served beside it.

``FakeSlack`` plays Slack's side: the Web API (``/api/METHOD``: every call recorded; errors and
429s injected per method), response URLs (``/response/ID``) and a Socket Mode websocket
(``apps.connections.open`` answers with ``ws://127.0.0.1:PORT/link``, as Slack answers with its
``wss://`` URL; envelopes pushed with ``send_envelope``, acknowledgements recorded). The answers
follow Slack's documented method responses (``{"ok": true, "ts": ...}``, ``{"ok": false,
"error": ...}``, ``Retry-After`` on HTTP 429).

``BotServer`` runs ``create_web_app(create_app(...))`` in its own event loop and thread.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from slack_payloads import BOT_USER, TEAM


class FakeSlack:
    def __init__(self) -> None:
        self.calls: list[tuple[str, float, dict[str, Any]]] = []
        self.errors: dict[str, str] = {}
        self.rate_limits: dict[str, int] = {}  # method -> how many 429s to answer before succeeding
        self.rate_limited: list[str] = []
        self.posted_ts: list[str] = []  # the ts of each message chat.postMessage created
        self.acks: list[dict[str, Any]] = []  # Socket Mode acknowledgements received
        self._changed = threading.Condition()
        self._sockets: list[Any] = []
        self._ts = 1_700_000_000.0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True, name="FakeSlack")
        self._thread.start()
        self.port = asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        self.url = f"http://127.0.0.1:{self.port}"
        self.api_url = f"{self.url}/api/"

    # -- serving ---------------------------------------------------------------------

    async def _start(self) -> int:
        from aiohttp import web

        app = web.Application()
        app.add_routes(
            [
                web.post("/api/{method}", self._api),
                web.post("/response/{id}", self._response_url),
                web.get("/link", self._socket),
            ]
        )
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        return int(self._runner.addresses[0][1])

    def _record(self, method: str, params: dict[str, Any]) -> None:
        with self._changed:
            self.calls.append((method, time.monotonic(), params))
            self._changed.notify_all()

    async def _params(self, request: Any) -> dict[str, Any]:
        raw = (await request.read()).decode("utf-8")
        if "json" in (request.headers.get("Content-Type") or ""):
            params: dict[str, Any] = json.loads(raw or "{}")
        else:
            params = {k: v[0] for k, v in parse_qs(raw).items()}
            for key in ("blocks", "attachments", "unfurls"):
                if isinstance(params.get(key), str):
                    params[key] = json.loads(params[key])
        params["_authorization"] = request.headers.get("Authorization", "")
        return params

    async def _api(self, request: Any) -> Any:
        from aiohttp import web

        method = request.match_info["method"]
        params = await self._params(request)
        with self._changed:
            left = self.rate_limits.get(method, 0)
            if left:
                self.rate_limits[method] = left - 1
                self.rate_limited.append(method)
        if left:
            return web.json_response(
                {"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": "0"}
            )
        self._record(method, params)
        error = self.errors.get(method)
        if error:
            return web.json_response({"ok": False, "error": error})
        if method == "auth.test":
            answer: dict[str, Any] = {
                "ok": True,
                "url": "https://newsroom.slack.example/",
                "team": "Newsroom",
                "user": "summarizer",
                "team_id": TEAM,
                "user_id": BOT_USER,
                "bot_id": "B0BOT",
            }
        elif method == "chat.postMessage":
            with self._changed:
                self._ts += 1
                ts = f"{self._ts:.6f}"
                self.posted_ts.append(ts)
            answer = {"ok": True, "channel": params.get("channel"), "ts": ts}
        elif method == "chat.update":
            answer = {"ok": True, "channel": params.get("channel"), "ts": params.get("ts")}
        elif method == "apps.connections.open":
            answer = {"ok": True, "url": f"ws://127.0.0.1:{self.port}/link"}
        else:
            answer = {"ok": True}
        return web.json_response(answer)

    async def _response_url(self, request: Any) -> Any:
        from aiohttp import web

        params = await self._params(request)
        params["_id"] = request.match_info["id"]
        self._record("response_url", params)
        return web.Response(text="ok")

    async def _socket(self, request: Any) -> Any:
        from aiohttp import WSMsgType, web

        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._sockets.append(ws)
        await ws.send_str(
            json.dumps({"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0"}})
        )
        with self._changed:
            self._changed.notify_all()
        async for message in ws:
            if message.type == WSMsgType.TEXT:
                data = json.loads(message.data)
                with self._changed:
                    self.acks.append(data)
                    self._changed.notify_all()
        self._sockets.remove(ws)
        return ws

    # -- driving and checking --------------------------------------------------------

    def connected(self, timeout: float = 15.0) -> None:
        self._wait(lambda: bool(self._sockets), timeout, "no Socket Mode connection")

    def send_envelope(self, envelope: dict[str, Any]) -> None:
        async def send() -> None:
            await self._sockets[-1].send_str(json.dumps(envelope))

        asyncio.run_coroutine_threadsafe(send(), self._loop).result(10)

    def acked(self, envelope_id: str) -> int:
        with self._changed:
            return sum(1 for a in self.acks if a.get("envelope_id") == envelope_id)

    def wait_acked(self, envelope_id: str, count: int = 1, timeout: float = 15.0) -> None:
        self._wait(lambda: self.acked(envelope_id) >= count, timeout, f"envelope {envelope_id} not acked")

    def of(self, method: str) -> list[dict[str, Any]]:
        with self._changed:
            return [params for name, _, params in self.calls if name == method]

    def times(self, method: str) -> list[float]:
        with self._changed:
            return [at for name, at, _ in self.calls if name == method]

    def wait_for(self, method: str, count: int = 1, timeout: float = 15.0) -> list[dict[str, Any]]:
        self._wait(lambda: len(self.of(method)) >= count, timeout, f"no {count} {method} call(s)")
        return self.of(method)

    def _wait(self, done: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        with self._changed:
            while not done():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{what} in {timeout} s; calls: {[c[0] for c in self.calls]}")
                self._changed.wait(min(left, 0.2))

    def close(self) -> None:
        async def stop() -> None:
            for ws in list(self._sockets):
                await ws.close()
            await self._runner.cleanup()

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()


class BotServer:
    """The Bolt app (built by ``make_app`` inside the server's own event loop) on 127.0.0.1."""

    def __init__(self, make_app: Callable[[], Any]) -> None:
        self._make_app = make_app
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True, name="BotServer")
        self._runner: Any = None
        self.app: Any = None
        self.url = ""

    async def _start(self) -> str:
        from aiohttp import web

        from summarizer.slack.app import create_web_app

        self.app = self._make_app()
        self._runner = web.AppRunner(create_web_app(self.app), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        return f"http://{host}:{port}"

    async def _stop(self) -> None:
        await self._runner.cleanup()
        current = asyncio.current_task()
        pending = [t for t in asyncio.all_tasks() if t is not current]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        # As asyncio.run does before closing a loop: lets the clients' connections close.
        await self._loop.shutdown_asyncgens()

    def call(self, coroutine: Any, timeout: float = 30) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    def __enter__(self) -> BotServer:
        self._thread.start()
        self.url = self.call(self._start())
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._loop.is_closed():
            return  # stopped already (a test that restarts the bot)
        self.call(self._stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()

"""Exactly once: each request Slack delivers is worked on once, however often it arrives.

Slack delivers at least once. It retries an event it thinks we missed (``X-Slack-Retry-Num``:
at once, after a minute, after five), a Socket Mode envelope not acknowledged in time is sent
again, and anyone holding a signed request can replay it within the 5-minute signature window.
Each of those would cost a second model call and post a second message.

So every request is *claimed* under its identity before any work starts, and a key already
claimed in the last ``TTL`` seconds (10 minutes: longer than both Slack's retry schedule and
its replay window) is acknowledged and dropped. The identities, by request kind
(``delivery_keys``): an event's ``event_id`` (per team), a command's or a shortcut's
``trigger_id``, a Socket Mode ``envelope_id``, and otherwise a hash of the body itself.

A claim is one atomic operation, ``claim(key, ttl) -> bool``, so any store with an atomic
"set if absent, with expiry" can hold the claims. The default, ``SQLiteDeliveryStore``, is a file
next to the summary cache, which survives a restart (a retry arriving after a deploy is still
dropped). Several replicas behind one Request URL need a store they share: ``RedisDeliveryStore``
maps ``claim`` onto Redis's ``SET key 1 NX PX ttl`` for a ``redis.asyncio`` client.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol

TTL = 10 * 60.0
DELIVERIES_FILE = "slack-deliveries.sqlite3"


class DeliveryStore(Protocol):
    async def claim(self, key: str, ttl: float = TTL) -> bool:
        """True the first time ``key`` is claimed (or once its last claim is ``ttl`` seconds old)."""
        ...


def delivery_keys(body: dict[str, Any], raw_body: str = "") -> list[str]:
    """The identities of one delivered request, most specific first (any one seen means a repeat)."""
    keys: list[str] = []
    team = str(body.get("team_id") or (body.get("team") or {}).get("id") or "")
    if body.get("type") == "event_callback" and body.get("event_id"):
        keys.append(f"event:{team}:{body['event_id']}")
    elif body.get("trigger_id"):  # slash commands, shortcuts, message actions
        keys.append(f"trigger:{team}:{body['trigger_id']}")
    if not keys:
        canonical = raw_body or json.dumps(body, sort_keys=True, separators=(",", ":"))
        keys.append("body:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest())
    return keys


class MemoryDeliveryStore:
    """Claims in this process's memory: for tests and for a bot that may forget on restart."""

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._expiry: dict[str, float] = {}

    async def claim(self, key: str, ttl: float = TTL) -> bool:
        now = self._clock()
        if self._expiry.get(key, 0.0) > now:
            return False
        if len(self._expiry) > 10_000:
            self._expiry = {k: at for k, at in self._expiry.items() if at > now}
        self._expiry[key] = now + ttl
        return True


class SQLiteDeliveryStore:
    """Claims in a SQLite file (safe across threads and processes on one machine).

    Each claim is one short transaction, run in a worker thread so that a slow disk never
    holds up the event loop (and with it every other request's acknowledgement).
    """

    def __init__(self, path: Path, *, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self._clock = clock
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None
        self._claims = 0
        # A thread of its own: in the loop's shared pool a claim (and so an ack) would wait
        # behind article extractions.
        self._thread: ThreadPoolExecutor | None = None

    def _db(self) -> sqlite3.Connection:
        if self._connection is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(self.path, check_same_thread=False, timeout=30, isolation_level=None)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute(
                "CREATE TABLE IF NOT EXISTS deliveries (key TEXT PRIMARY KEY, expires_at REAL NOT NULL)"
            )
            self._connection = connection
        return self._connection

    def claim_now(self, key: str, ttl: float = TTL) -> bool:
        now = self._clock()
        with self._lock:
            db = self._db()
            db.execute("BEGIN IMMEDIATE")
            try:
                row = db.execute("SELECT expires_at FROM deliveries WHERE key = ?", (key,)).fetchone()
                fresh = row is None or row[0] <= now
                if fresh:
                    db.execute(
                        "INSERT OR REPLACE INTO deliveries (key, expires_at) VALUES (?, ?)", (key, now + ttl)
                    )
                self._claims += 1
                if self._claims % 500 == 0:  # keep the file small: forget expired claims now and then
                    db.execute("DELETE FROM deliveries WHERE expires_at <= ?", (now,))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return fresh

    async def claim(self, key: str, ttl: float = TTL) -> bool:
        if self._thread is None:
            self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="slack-claims")
        return await asyncio.get_running_loop().run_in_executor(self._thread, self.claim_now, key, ttl)

    def close(self) -> None:
        if self._thread is not None:
            self._thread.shutdown(wait=False)
            self._thread = None
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None


class RedisDeliveryStore:
    """Claims in Redis, shared by every replica: ``client`` is a ``redis.asyncio.Redis``
    (or anything with its ``set(name, value, nx=..., px=...)``)."""

    def __init__(self, client: Any, *, prefix: str = "summarizer:slack:") -> None:
        self._client = client
        self._prefix = prefix

    async def claim(self, key: str, ttl: float = TTL) -> bool:
        return bool(await self._client.set(self._prefix + key, b"1", nx=True, px=int(ttl * 1000)))

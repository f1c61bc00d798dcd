"""A content-addressed cache of summaries: the same article, asked the same way, costs no LLM call.

The key is a hash of everything that decides the answer: the article text, the
model and provider, the prompt version, the schema version and the options that
change the request (mode, sampling, re-asks, output cap, strictness). The store
is one SQLite file under ``SUMMARIZER_CACHE_DIR``, else the user's cache
directory (``$XDG_CACHE_HOME/summarizer``, else ``~/.cache/summarizer``), never
the current directory. It is safe to share between threads and processes.

The cache saves money; it must never cost an answer. Every failure of it is a
miss: a file that is not (or no longer) a database is moved aside as
``summaries.sqlite3.corrupt-<time>`` and a new one started; a cache that cannot
be read (no permission, an I/O error) is warned about once and the run goes on
without it; a write that fails (a full disk, a read-only file) is warned about
once and the summary, already paid for, is returned all the same.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from summarizer.config import Settings
from summarizer.errors import OutputError
from summarizer.schema import SCHEMA_VERSION, Provenance, Summary, Usage

CACHE_FILE = "summaries.sqlite3"
# SQLite's primary result codes for a file that is not, or no longer, a sound database.
_CORRUPT = frozenset({sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB})
_log = logging.getLogger(__name__)
T = TypeVar("T")


def default_cache_dir() -> Path:
    explicit = os.environ.get("SUMMARIZER_CACHE_DIR")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "summarizer"


def cache_key(article: str, settings: Settings, prompt_version: str) -> str:
    decisive = {
        "article": article,
        "provider": settings.provider,
        "base_url": settings.base_url,
        "model": settings.model,
        "prompt_version": prompt_version,
        "schema_version": SCHEMA_VERSION,
        "mode": settings.mode,
        "temperature": settings.temperature,
        "seed": settings.seed,
        "max_reasks": settings.max_reasks,
        "max_output_tokens": settings.max_output_tokens,
        "strict": settings.strict,
    }
    canonical = json.dumps(decisive, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class SummaryCache:
    """The store. ``get``/``put`` never raise for the cache's own faults; ``on_warning`` hears of them once."""

    def __init__(
        self, directory: Path | None = None, *, on_warning: Callable[[str], None] | None = None
    ) -> None:
        self.directory = directory or default_cache_dir()
        self.path = self.directory / CACHE_FILE
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None
        self._warn = on_warning or _log.warning
        self._warned: set[str] = set()
        self._unreadable = False  # reading failed once: the rest of this run goes without the cache
        self.moved_aside: Path | None = None

    # -- opening and repair ---------------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        self.directory.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            # In WAL mode NORMAL never corrupts the cache; it only skips an fsync per commit
            # (one per article in a batch, paid on the event loop) for entries a power cut may lose.
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute(
                "CREATE TABLE IF NOT EXISTS summaries (key TEXT PRIMARY KEY, summary TEXT NOT NULL, "
                "created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)"
            )
            connection.commit()
        except BaseException:
            connection.close()
            raise
        return connection

    def _run(self, operation: Callable[[sqlite3.Connection], T]) -> T:
        """``operation`` on the database (lock held by the caller); a corrupt file is replaced once."""
        for repaired in (False, True):
            try:
                if self._connection is None:
                    self._connection = self._open()
                return operation(self._connection)
            except sqlite3.DatabaseError as exc:
                if repaired or (exc.sqlite_errorcode & 0xFF) not in _CORRUPT:
                    raise
                self._move_aside(exc)
        raise AssertionError("unreachable")

    def _move_aside(self, exc: sqlite3.DatabaseError) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        aside = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        try:
            self.path.rename(aside)
        except FileNotFoundError:
            return  # another process moved it aside first; its new file is ours too
        # The journal belongs to the file moved aside; a new database must not inherit it.
        for suffix in ("-wal", "-shm"):
            journal = self.path.with_name(self.path.name + suffix)
            if journal.exists():
                journal.rename(aside.with_name(aside.name + suffix))
        self.moved_aside = aside
        self._warn(
            f"the cache {self.path} was corrupt ({exc}): moved it aside to {aside.name}, starting a new one"
        )

    def _warn_once(self, kind: str, message: str) -> None:
        if kind not in self._warned:
            self._warned.add(kind)
            self._warn(message)

    # -- the store ------------------------------------------------------------------

    def get(self, key: str) -> Summary | None:
        if self._unreadable:
            return None
        try:
            with self._lock:
                row = self._run(
                    lambda db: db.execute("SELECT summary FROM summaries WHERE key = ?", (key,)).fetchone()
                )
        except (sqlite3.Error, OSError) as exc:
            self._unreadable = True
            self._warn_once("read", f"{_fault_line('read', self.path, exc)}; carrying on without the cache")
            return None
        if row is None:
            return None
        try:
            return Summary.model_validate_json(row[0])
        except ValueError:
            return None  # written by an incompatible version: a miss, to be overwritten

    def put(self, key: str, summary: Summary) -> None:
        if self._unreadable:
            return
        data = summary.model_dump_json()

        def insert(db: sqlite3.Connection) -> None:
            try:
                db.execute("INSERT OR REPLACE INTO summaries (key, summary) VALUES (?, ?)", (key, data))
                db.commit()
            except BaseException:
                db.rollback()
                raise

        try:
            with self._lock:
                self._run(insert)
        except (sqlite3.Error, OSError) as exc:
            self._warn_once(
                "write", f"{_fault_line('write to', self.path, exc)}; summaries are not being cached"
            )

    def clear(self) -> int:
        """Remove every entry; returns how many there were (a corrupt file is replaced by an empty one)."""

        def delete(db: sqlite3.Connection) -> int:
            count = db.execute("SELECT COUNT(*) FROM summaries").fetchone()[0]
            db.execute("DELETE FROM summaries")
            db.commit()
            return int(count)

        return self._command("clear", delete)

    def __len__(self) -> int:
        return self._command(
            "read", lambda db: int(db.execute("SELECT COUNT(*) FROM summaries").fetchone()[0])
        )

    def _command(self, operation: str, body: Callable[[sqlite3.Connection], T]) -> T:
        """For ``cache info``/``cache clear``: a fault the cache cannot repair is one line, not a traceback."""
        try:
            with self._lock:
                return self._run(body)
        except (sqlite3.Error, OSError) as exc:
            raise OutputError(_fault_line(operation, self.path, exc)) from None

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None


def _fault_line(operation: str, path: Path, exc: BaseException) -> str:
    reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return f"cannot {operation} the cache {path}: {reason}"


def as_cache_hit(summary: Summary, duration_s: float, provenance: Provenance | None = None) -> Summary:
    """A cached summary as this run's answer: the run made no call and spent nothing, and says so.

    The provenance is this run's (the same text may have been fetched from another URL, or again).
    """
    assert summary.meta is not None
    meta = summary.meta.model_copy(
        update={
            "usage": Usage(),
            "attempts": 0,
            "reasks": 0,
            "transport_retries": 0,
            "cost_usd": 0.0,
            "cached": True,
            "duration_s": round(duration_s, 3),
        }
    )
    return summary.model_copy(update={"meta": meta, "provenance": provenance or summary.provenance})

"""A content-addressed cache of summaries: the same article, asked the same way, costs no LLM call.

The key is a hash of everything that decides the answer: the article text, the
model and provider, the prompt version, the schema version and the options that
change the request (mode, sampling, re-asks, output cap, strictness). The store
is one SQLite file under ``SUMMARIZER_CACHE_DIR``, else the user's cache
directory (``$XDG_CACHE_HOME/summarizer``, else ``~/.cache/summarizer``), never
the current directory. It is safe to share between threads and processes.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
from pathlib import Path

from summarizer.config import Settings
from summarizer.schema import SCHEMA_VERSION, Provenance, Summary, Usage

CACHE_FILE = "summaries.sqlite3"


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
    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory or default_cache_dir()
        self.path = self.directory / CACHE_FILE
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = None

    def _db(self) -> sqlite3.Connection:
        if self._connection is None:
            self.directory.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
            connection.execute("PRAGMA journal_mode=WAL")
            # In WAL mode NORMAL never corrupts the cache; it only skips an fsync per commit
            # (one per article in a batch, paid on the event loop) for entries a power cut may lose.
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute(
                "CREATE TABLE IF NOT EXISTS summaries (key TEXT PRIMARY KEY, summary TEXT NOT NULL, "
                "created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)"
            )
            connection.commit()
            self._connection = connection
        return self._connection

    def get(self, key: str) -> Summary | None:
        with self._lock:
            row = self._db().execute("SELECT summary FROM summaries WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        try:
            return Summary.model_validate_json(row[0])
        except ValueError:
            return None  # written by an incompatible version: a miss, to be overwritten

    def put(self, key: str, summary: Summary) -> None:
        with self._lock:
            db = self._db()
            db.execute(
                "INSERT OR REPLACE INTO summaries (key, summary) VALUES (?, ?)",
                (key, summary.model_dump_json()),
            )
            db.commit()

    def clear(self) -> int:
        """Remove every entry; returns how many there were."""
        with self._lock:
            db = self._db()
            count = db.execute("SELECT COUNT(*) FROM summaries").fetchone()[0]
            db.execute("DELETE FROM summaries")
            db.commit()
        return int(count)

    def __len__(self) -> int:
        with self._lock:
            return int(self._db().execute("SELECT COUNT(*) FROM summaries").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None


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

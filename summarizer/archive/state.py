"""The archive's state: one SQLite file next to the output, so that every step can be resumed.

Why SQLite: each step is one transaction, so a crash or ``kill -9`` leaves the state as it was
before the step or after it, never half-way; and the per-article index (where each article is in
the input, which ids were already done) lives on disk, so memory stays flat in the archive's size.

What makes a resume safe:
- before a batch is created, the intent (its tag, stored in the batch's metadata) is committed;
  on resume an intent without a batch id is reconciled with the provider's list of batches, so a
  kill between create and recording never submits, nor pays, twice;
- before a batch's answers are appended to the output, the output's size is committed; on resume
  an import that did not commit is undone by cutting the output back to that size and redone, so
  every article appears in the output exactly once.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from summarizer.batch.article_index import Place
from summarizer.errors import ConfigError

# A part's life. "creating": the intent is recorded, the batch may or may not exist at the provider.
PLANNED, UPLOADED, CREATING, SUBMITTED, DOWNLOADED, IMPORTING, IMPORTED = (
    "planned",
    "uploaded",
    "creating",
    "submitted",
    "downloaded",
    "importing",
    "imported",
)
TERMINAL = ("completed", "failed", "expired", "cancelled")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS articles (id TEXT PRIMARY KEY, offset INTEGER, path TEXT) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS prior (id TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS carried (
    id TEXT PRIMARY KEY, prompt INTEGER NOT NULL, completion INTEGER NOT NULL, answers INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rounds (number INTEGER PRIMARY KEY, status TEXT NOT NULL, out_offset INTEGER);
CREATE TABLE IF NOT EXISTS parts (
    round INTEGER NOT NULL, number INTEGER NOT NULL, path TEXT NOT NULL,
    requests INTEGER NOT NULL, bytes INTEGER NOT NULL,
    projected_prompt INTEGER NOT NULL, projected_completion INTEGER NOT NULL,
    status TEXT NOT NULL, tag TEXT NOT NULL, file_id TEXT, batch_id TEXT, intent_at REAL,
    provider_status TEXT, provider_counts TEXT, provider_errors TEXT,
    output_file_id TEXT, error_file_id TEXT, out_offset INTEGER,
    ok INTEGER DEFAULT 0, failed INTEGER DEFAULT 0, reasked INTEGER DEFAULT 0, resent INTEGER DEFAULT 0,
    prompt_tokens INTEGER DEFAULT 0, completion_tokens INTEGER DEFAULT 0, spent_usd REAL DEFAULT 0,
    PRIMARY KEY (round, number)
);
"""


@dataclass(frozen=True)
class PartRow:
    round: int
    number: int
    path: Path
    requests: int
    bytes: int
    projected_prompt: int
    projected_completion: int
    status: str
    tag: str
    file_id: str | None
    batch_id: str | None
    intent_at: float | None
    provider_status: str | None
    provider_counts: str | None
    provider_errors: str | None
    output_file_id: str | None
    error_file_id: str | None
    out_offset: int | None
    ok: int
    failed: int
    reasked: int
    resent: int
    prompt_tokens: int
    completion_tokens: int
    spent_usd: float

    @property
    def label(self) -> str:
        return f"round {self.round} part {self.number}"


class ArchiveState:
    """The state file: open it with ``ArchiveState.open``; each method is one transaction."""

    def __init__(self, path: Path, db: sqlite3.Connection) -> None:
        self.path = path
        self.db = db

    @classmethod
    def open(cls, path: Path) -> ArchiveState:
        path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: transactions are ours (BEGIN ... COMMIT), never implicit.
        db = sqlite3.connect(path, isolation_level=None, timeout=30)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")  # a committed step survives a power cut, not just a kill
        db.executescript(_SCHEMA)
        return cls(path, db)

    def close(self) -> None:
        self.db.close()

    def transaction(self) -> _Transaction:
        return _Transaction(self.db)

    # -- the run's identity ---------------------------------------------------------------

    def get(self, key: str, default: Any = None) -> Any:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return default if row is None else json.loads(row[0])

    def put(self, key: str, value: Any) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, json.dumps(value)))

    def bind(self, identity: dict[str, Any]) -> str:
        """The run tag; a state made for another input or model is refused, not mixed in."""
        with self.transaction():
            known = self.get("identity")
            if known is None:
                self.put("identity", identity)
                self.put("tag", f"sumarc-{secrets.token_hex(6)}")
            elif known != identity:
                changed = sorted(k for k in {**known, **identity} if known.get(k) != identity.get(k))
                raise ConfigError(
                    f"{self.path} belongs to a run with another {', '.join(changed)}; "
                    "use the same input and options, or another -o"
                )
            return str(self.get("tag"))

    # -- articles -------------------------------------------------------------------------

    def add_article(self, item_id: str, place: Place, source: Path) -> bool:
        """Note where ``item_id`` is; False if the id was already there (a repeated id)."""
        offset, path = (place, None) if isinstance(place, int) else (None, str(place.relative_to(source)))
        cursor = self.db.execute("INSERT OR IGNORE INTO articles VALUES (?, ?, ?)", (item_id, offset, path))
        return cursor.rowcount == 1

    def place_of(self, item_id: str, source: Path) -> Place | None:
        row = self.db.execute("SELECT offset, path FROM articles WHERE id = ?", (item_id,)).fetchone()
        if row is None:
            return None
        return int(row[0]) if row[0] is not None else source / row[1]

    def add_prior(self, ids: Iterator[str]) -> None:
        self.db.executemany("INSERT OR IGNORE INTO prior VALUES (?)", ((i,) for i in ids))

    def is_prior(self, item_id: str) -> bool:
        return self.db.execute("SELECT 1 FROM prior WHERE id = ?", (item_id,)).fetchone() is not None

    def carried(self, item_id: str) -> tuple[int, int, int] | None:
        row = self.db.execute(
            "SELECT prompt, completion, answers FROM carried WHERE id = ?", (item_id,)
        ).fetchone()
        return None if row is None else (int(row[0]), int(row[1]), int(row[2]))

    def carry(self, item_id: str, prompt: int, completion: int) -> None:
        """Add one more paid answer to what ``item_id`` has cost before its final round."""
        self.db.execute(
            "INSERT INTO carried VALUES (?, ?, ?, 1) ON CONFLICT(id) DO UPDATE SET "
            "prompt = prompt + excluded.prompt, completion = completion + excluded.completion, "
            "answers = answers + 1",
            (item_id, prompt, completion),
        )

    # -- rounds and parts -----------------------------------------------------------------

    def round_status(self, number: int) -> tuple[str, int | None] | None:
        row = self.db.execute("SELECT status, out_offset FROM rounds WHERE number = ?", (number,)).fetchone()
        return None if row is None else (str(row[0]), row[1])

    def set_round(self, number: int, status: str, out_offset: int | None = None) -> None:
        self.db.execute(
            "INSERT INTO rounds VALUES (?, ?, ?) ON CONFLICT(number) DO UPDATE SET status = excluded.status, "
            "out_offset = COALESCE(excluded.out_offset, out_offset)",
            (number, status, out_offset),
        )

    def current_round(self) -> int:
        row = self.db.execute("SELECT MAX(number) FROM rounds").fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    def add_part(self, round_number: int, number: int, path: Path, requests: int, size: int,
                 prompt: int, completion: int, tag: str) -> None:  # fmt: skip
        self.db.execute(
            "INSERT INTO parts (round, number, path, requests, bytes, projected_prompt, "
            "projected_completion, status, tag) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (round_number, number, str(path), requests, size, prompt, completion, PLANNED, tag),
        )

    def parts(self, round_number: int | None = None) -> list[PartRow]:
        query = "SELECT * FROM parts" + (" WHERE round = ?" if round_number is not None else "")
        rows = self.db.execute(
            query + " ORDER BY round, number", () if round_number is None else (round_number,)
        )
        return [_part_row(row) for row in rows]

    def update_part(self, part: PartRow, **changes: Any) -> None:
        columns = ", ".join(f"{name} = ?" for name in changes)
        self.db.execute(
            f"UPDATE parts SET {columns} WHERE round = ? AND number = ?",  # names are ours, not input
            (*changes.values(), part.round, part.number),
        )

    def part(self, round_number: int, number: int) -> PartRow:
        row = self.db.execute(
            "SELECT * FROM parts WHERE round = ? AND number = ?", (round_number, number)
        ).fetchone()
        return _part_row(row)

    def forget_round(self, number: int) -> None:
        self.db.execute("DELETE FROM parts WHERE round = ?", (number,))
        self.db.execute("DELETE FROM rounds WHERE number = ?", (number,))


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self._depth = 0

    def __enter__(self) -> _Transaction:
        self.db.execute("BEGIN IMMEDIATE")
        return self

    def __exit__(self, kind: object, *rest: object) -> None:
        self.db.execute("ROLLBACK" if kind is not None else "COMMIT")


def _part_row(row: tuple[Any, ...]) -> PartRow:
    values = list(row)
    values[2] = Path(values[2])
    return PartRow(*values)


def now() -> float:
    return time.time()

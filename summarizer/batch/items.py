"""Batch input and output: stream articles in, append whole result lines out.

Input is a folder of ``.txt``/``.md`` files (id = path relative to the folder,
without suffix) or a JSONL file of ``{"id": ..., "text": ..., ...}`` objects.
Both are read lazily, one article at a time, so memory stays flat however large
the input is.

Output is JSONL, one line per article: ``{"id", "status": "ok", "summary"}`` or
``{"id", "status": "error", "error", "error_type", "exit_code"}``. Each line is
written with a single ``write`` on a file opened for appending, so a run
killed at any point leaves only whole lines (a torn tail
from a full disk is cut off at the next start). Re-running skips ids already
summarized; ids that failed are tried again, and the newest line for an id wins.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

from summarizer.errors import InputError, OutputBusyError, OutputError, os_error_line
from summarizer.inputs.files import decode_article

ARTICLE_SUFFIXES = (".txt", ".md")


@dataclass(frozen=True)
class BatchItem:
    id: str
    text: str
    extra: dict[str, Any] = field(default_factory=dict)


# How many bad lines and duplicate ids a survey names (it counts them all).
NAMED = 5


@dataclass(frozen=True)
class InputSurvey:
    """What a pass over the input found before any article is summarized."""

    total: int
    bad_lines: tuple[str, ...] = ()  # the first NAMED reasons
    bad_count: int = 0
    duplicates: tuple[str, ...] = ()  # the first NAMED ids given more than once
    duplicate_count: int = 0


def survey(source: Path) -> InputSurvey:
    """Count the articles and find bad lines and repeated ids; refuse input that is no batch at all.

    Raises InputError for a missing source, an empty one, and a file that is not JSONL (its first
    line is not a JSON object: a pretty-printed JSON file, an article given as a file). Reading is
    streamed, like the run itself; only the ids are kept.
    """
    if source.is_dir():
        ids = (
            p.relative_to(source).with_suffix("").as_posix()
            for p in sorted(source.rglob("*"))
            if p.is_file() and p.suffix.lower() in ARTICLE_SUFFIXES
        )
        found = _tally((item_id, None) for item_id in ids)
        if not found.total:
            raise InputError(f"{source}: no articles in this folder (batch reads its .txt and .md files)")
        return found
    if not source.is_file():
        raise InputError(f"{source}: no such file or folder")
    first = _first_line(source)
    if first is None:
        raise InputError(f"{source}: no articles in it (an empty file)")
    number, line = first
    if not _is_json_object(line):
        hint = (
            "a pretty-printed JSON file? write one object a line"
            if line.strip() in (b"{", b"[", b"[{")
            else 'write one {"id": ..., "text": ...} object a line, or give a folder of .txt/.md articles'
        )
        raise InputError(f"{source} is not JSONL: line {number} is not a JSON object ({hint})")
    return _tally((item.id, item.extra.get("input_error")) for item in _read_jsonl(source))


def _tally(items: Iterator[tuple[str, str | None]]) -> InputSurvey:
    seen: set[str] = set()
    repeated: set[str] = set()
    duplicates: list[str] = []
    bad: list[str] = []
    total = bad_count = 0
    for item_id, problem in items:
        total += 1
        if problem is not None:
            bad_count += 1
            if len(bad) < NAMED:
                bad.append(problem)
            continue
        if item_id in seen and item_id not in repeated:
            repeated.add(item_id)
            if len(duplicates) < NAMED:
                duplicates.append(item_id)
        seen.add(item_id)
    return InputSurvey(total, tuple(bad), bad_count, tuple(duplicates), len(repeated))


def _first_line(path: Path) -> tuple[int, bytes] | None:
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, 1):
            line = raw.removeprefix(b"\xef\xbb\xbf") if number == 1 else raw
            if line.strip():
                return number, line
    return None


def _is_json_object(line: bytes) -> bool:
    try:
        return isinstance(json.loads(line.decode("utf-8", "replace")), dict)
    except ValueError:
        return False


def check_output_folder(out: Path) -> None:
    """The results file's folder must exist: the same rule, and message, as ``summarize -o``."""
    directory = out.parent if str(out.parent) else Path(".")
    if not directory.is_dir():
        raise InputError(f"cannot write {out}: directory {directory} does not exist")


def read_items(source: Path) -> Iterator[BatchItem]:
    if source.is_dir():
        yield from _read_folder(source)
    elif source.is_file():
        yield from _read_jsonl(source)
    else:
        raise InputError(f"{source}: no such file or folder")


def _read_folder(folder: Path) -> Iterator[BatchItem]:
    paths = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in ARTICLE_SUFFIXES)
    for path in paths:
        item_id = path.relative_to(folder).with_suffix("").as_posix()
        try:
            text = decode_article(_read_bytes(path), str(path))
        except InputError as exc:
            # An unreadable article is that article's failure, not the batch's.
            yield BatchItem(id=item_id, text="", extra={"input_error": str(exc)})
            continue
        yield BatchItem(id=item_id, text=text)


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:  # unreadable (EACCES, EIO): that article's input error
        raise InputError(os_error_line("read", path, exc)) from None


def _read_jsonl(path: Path) -> Iterator[BatchItem]:
    """Articles from a JSONL file; a bad line becomes that line's error record, not the batch's end."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, 1):
            if number == 1:
                raw = raw.removeprefix(b"\xef\xbb\xbf")
            if not raw.strip():
                continue
            line_id = f"line-{number}"
            try:
                record = json.loads(raw.decode("utf-8"))
            except UnicodeDecodeError:
                # Recover the id if the rest of the line is sound, so the error is filed under it.
                with contextlib.suppress(ValueError, KeyError, TypeError):
                    line_id = str(json.loads(raw.decode("utf-8", "replace"))["id"])
                yield _bad_line(line_id, f"{path}:{number}: not valid UTF-8")
                continue
            except ValueError:
                yield _bad_line(line_id, f"{path}:{number}: not a JSON object")
                continue
            if not isinstance(record, dict) or "id" not in record or "text" not in record:
                yield _bad_line(line_id, f'{path}:{number}: each line needs "id" and "text"')
                continue
            if not isinstance(record["text"], str):
                yield _bad_line(str(record["id"]), f'{path}:{number}: "text" must be a string')
                continue
            extra = {k: v for k, v in record.items() if k not in ("id", "text")}
            yield BatchItem(id=str(record["id"]), text=record["text"], extra=extra)


def _bad_line(item_id: str, reason: str) -> BatchItem:
    return BatchItem(id=item_id, text="", extra={"input_error": reason})


def repair_tail(out: Path) -> None:
    """Cut a torn last line (one without its newline) left by a crash mid-write."""
    if not out.exists() or out.stat().st_size == 0:
        return
    with out.open("rb+") as handle:
        handle.seek(0, os.SEEK_END)
        size = handle.tell()
        handle.seek(max(0, size - 1))
        if handle.read(1) == b"\n":
            return
        # Walk back to the previous newline and cut there.
        position = size - 1
        chunk = 4096
        while position > 0:
            start = max(0, position - chunk)
            handle.seek(start)
            data = handle.read(position - start)
            cut = data.rfind(b"\n")
            if cut >= 0:
                handle.truncate(start + cut + 1)
                return
            position = start
        handle.truncate(0)


def finished_ids(out: Path) -> set[str]:
    """Ids whose newest line in ``out`` is a success."""
    status: dict[str, str] = {}
    if not out.exists():
        return set()
    with out.open("rb") as handle:  # bytes: a line of bad UTF-8 is skipped like any bad line
        for line in handle:
            try:
                record = json.loads(line)
                status[str(record["id"])] = record.get("status", "")
            except (ValueError, KeyError, TypeError):
                continue
    return {item_id for item_id, state in status.items() if state == "ok"}


def compact_json(value: Any) -> str:
    """``value`` as JSON the way the output JSONL has it: UTF-8 as is, no spaces."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class ResultWriter:
    """Appends whole lines to ``out``, the only writer of it for as long as it is open.

    One ``os.write`` per record, so a kill never leaves half a line; a write that fails part
    way (a full disk) is cut back to the last whole line and raised as an ``OutputError``
    naming the file and the OS error. An exclusive lock on the file keeps a second run off it
    (``OutputBusyError``, or with ``wait=True`` it waits its turn); the kernel drops the lock
    when the process ends, however it ends, so a killed run never leaves a stale lock.
    """

    def __init__(self, out: Path, *, wait: bool = False, on_wait: Callable[[], None] | None = None) -> None:
        self.path = out
        check_output_folder(out)  # the same rule, and message, as summarize -o
        try:
            self._fd = os.open(out, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as exc:
            raise OutputError(os_error_line("write", out, exc)) from None
        try:
            _lock(self._fd, out, wait=wait, on_wait=on_wait)
            # Only the lock holder may cut a torn tail: another run may be mid-line.
            repair_tail(out)
            self._size = os.fstat(self._fd).st_size
        except OSError as exc:
            os.close(self._fd)
            raise OutputError(os_error_line("write", out, exc)) from None
        except BaseException:
            os.close(self._fd)
            raise

    def write(self, record: dict[str, Any] | str) -> None:
        """Append ``record``, a JSON object or (already serialized, without its newline) its line."""
        line = record if isinstance(record, str) else compact_json(record)
        data = (line + "\n").encode("utf-8")
        try:
            written = os.write(self._fd, data)
            while written < len(data):  # only on exotic filesystems; keep the line whole anyway
                written += os.write(self._fd, data[written:])
        except OSError as exc:
            with contextlib.suppress(OSError):  # shrinking needs no space; if even that fails, resume cuts it
                os.ftruncate(self._fd, self._size)
            raise OutputError(os_error_line("write", self.path, exc)) from None
        self._size += len(data)
        # No fsync per line: once write() returns, the line is in the kernel and survives the
        # process being killed; fsync at close covers an orderly end.

    def close(self) -> None:
        try:
            os.fsync(self._fd)
        except OSError as exc:
            raise OutputError(os_error_line("write", self.path, exc)) from None
        finally:
            os.close(self._fd)


def _lock(fd: int, out: Path, *, wait: bool, on_wait: Callable[[], None] | None) -> None:
    if fcntl is None:  # no flock (Windows): one writer per output is the user's to keep
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        if not wait:
            raise OutputBusyError(
                f"{out} is being written by another summarizer run; "
                "wait for it to end, or pass --wait to start when it does"
            ) from None
        if on_wait is not None:
            on_wait()
        fcntl.flock(fd, fcntl.LOCK_EX)  # Ctrl-C interrupts this wait (KeyboardInterrupt)

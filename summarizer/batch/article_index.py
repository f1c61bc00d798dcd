"""The articles of a batch input by id, read when asked for: memory holds ids and offsets, not texts.

``summarizer batch-import`` finds each answer's article here; ``located_items`` gives the same
articles together with where each was found, for code that keeps that index on disk instead.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import BinaryIO

from summarizer.batch.items import ARTICLE_SUFFIXES, BatchItem, read_items
from summarizer.errors import InputError
from summarizer.inputs.files import decode_article

_BOM = b"\xef\xbb\xbf"


class ArticleIndex(Mapping[str, BatchItem]):
    """The articles of a batch input by id, read when asked for: memory holds ids, not texts.

    A folder keeps each id's path. A JSONL file is read once with ``read_items`` (so ids, and
    lines it cannot use, are exactly what ``summarizer batch`` sees) while each line's byte
    offset is noted; a lookup seeks to the line and reads that one article again. An unusable
    line is kept whole: it has no text, only its ``input_error``. Where an id repeats, the first
    occurrence wins, as in export.
    """

    def __init__(self, source: Path, where: dict[str, Path | int | BatchItem]) -> None:
        self.source = source
        self._where = where

    @classmethod
    def of(cls, source: Path) -> ArticleIndex:
        if source.is_dir():
            return cls(source, cls._index_folder(source))
        if source.is_file():
            return cls(source, cls._index_jsonl(source))
        raise InputError(f"{source}: no such file or folder")

    @staticmethod
    def _index_folder(folder: Path) -> dict[str, Path | int | BatchItem]:
        # The documented rule of read_items: id = path relative to the folder, without suffix.
        where: dict[str, Path | int | BatchItem] = {}
        for path in _folder_paths(folder):
            where.setdefault(path.relative_to(folder).with_suffix("").as_posix(), path)
        return where

    @staticmethod
    def _index_jsonl(path: Path) -> dict[str, Path | int | BatchItem]:
        where: dict[str, Path | int | BatchItem] = {}
        for item, offset in located_items(path):
            if item.id not in where:
                where[item.id] = item if "input_error" in item.extra else offset
        return where

    def __getitem__(self, item_id: str) -> BatchItem:
        place = self._where[item_id]
        if isinstance(place, BatchItem):
            return place
        return read_article(self.source, item_id, place)

    def __iter__(self) -> Iterator[str]:
        return iter(self._where)

    def __len__(self) -> int:
        return len(self._where)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._where


Place = Path | int  # a folder article's file, or a JSONL article's byte offset


def located_items(source: Path) -> Iterator[tuple[BatchItem, Place]]:
    """``read_items(source)``, each article with where ``read_article`` finds it again."""
    if source.is_dir():
        yield from zip(read_items(source), _folder_paths(source), strict=True)
        return
    if not source.is_file():
        raise InputError(f"{source}: no such file or folder")
    with source.open("rb") as handle:
        # read_items gives one item per non-blank line, in order.
        yield from zip(read_items(source), _line_offsets(handle), strict=True)


def read_article(source: Path, item_id: str, place: Place) -> BatchItem:
    """The article ``item_id`` of ``source`` again, from where ``located_items`` found it."""
    if isinstance(place, Path):
        try:
            text = decode_article(place.read_bytes(), str(place))
        except InputError as exc:
            return BatchItem(id=item_id, text="", extra={"input_error": str(exc)})
        return BatchItem(id=item_id, text=text)
    with source.open("rb") as handle:
        handle.seek(place)
        raw = handle.readline()
    try:
        record = json.loads(raw.removeprefix(_BOM).decode("utf-8"))
    except ValueError:
        record = None
    if not isinstance(record, dict) or str(record.get("id")) != item_id:
        raise InputError(f"{source} changed while it was being read (id {item_id!r} moved)")
    extra = {k: v for k, v in record.items() if k not in ("id", "text")}
    return BatchItem(id=item_id, text=record["text"], extra=extra)


def _folder_paths(folder: Path) -> list[Path]:
    """The article files of a folder in ``read_items``' order."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in ARTICLE_SUFFIXES)


def _line_offsets(handle: BinaryIO) -> Iterator[int]:
    """The byte offset of each non-blank line (a leading byte-order mark counts as blank)."""
    offset = 0
    for number, raw in enumerate(handle, 1):
        if (raw.removeprefix(_BOM) if number == 1 else raw).strip():
            yield offset
        offset += len(raw)

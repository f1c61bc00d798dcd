"""Review pages for a batch: one page per summarized article and an index page.

Pages are made from what the run wrote, after it: the output JSONL (the newest line for each id
wins, as for resuming) joined with the input, read again for each article's text. So articles
summarized by an earlier run appear too, and memory stays flat: only each id's line offset is
held, and one article and its summary at a time.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from summarizer.batch.items import BatchItem
from summarizer.outputs.atomic import write_atomic
from summarizer.outputs.html import render
from summarizer.outputs.html.dropped import dropped_claims
from summarizer.outputs.html.index import INDEX, Cell, make_directory, page_name, render_index
from summarizer.schema import Summary

COLUMNS = ["Article", "Headline", "Claims", "Sources", "Entities", "Dropped", "Warnings"]


@dataclass
class PagesReport:
    index: Path
    pages: int = 0
    failed: int = 0
    pending: int = 0


def newest_lines(results: Path) -> dict[str, int]:
    """Byte offset of the newest line for each id in a batch's output (unreadable lines skipped)."""
    offsets: dict[str, int] = {}
    if not results.exists():
        return offsets
    position = 0
    with results.open("rb") as handle:
        for line in handle:
            with contextlib.suppress(ValueError, KeyError, TypeError):
                offsets[str(json.loads(line)["id"])] = position
            position += len(line)
    return offsets


def _record_at(handle: Any, offset: int) -> dict[str, Any]:
    handle.seek(offset)
    record: dict[str, Any] = json.loads(handle.readline())
    return record


def _row(item_id: str, summary: Summary, page: str) -> list[Cell]:
    warnings = summary.meta.warnings if summary.meta else []
    dropped = len(dropped_claims(warnings))
    return [
        Cell(item_id, href=page),
        Cell(summary.headline),
        Cell(str(len(summary.claims))),
        Cell(str(len(summary.sources))),
        Cell(str(len(summary.entities))),
        Cell(str(dropped), problem=dropped > 0),
        Cell(str(len(warnings)), problem=bool(warnings)),
    ]


def write_pages(items: Iterable[BatchItem], results: Path, directory: Path) -> PagesReport:
    """One review page per article of ``items`` that ``results`` holds a summary for, and an index."""
    make_directory(directory)
    offsets = newest_lines(results)
    report = PagesReport(index=directory / INDEX)
    rows: list[list[Cell]] = []
    with results.open("rb") if offsets else contextlib.nullcontext() as handle:
        for item in items:
            offset = offsets.pop(item.id, None)
            if offset is None:
                report.pending += 1
                rows.append([Cell(item.id), Cell("not summarized yet", problem=True), *[Cell("")] * 5])
                continue
            record = _record_at(handle, offset)
            if record.get("status") != "ok":
                report.failed += 1
                error = f"failed: {record.get('error', 'unknown error')}"
                rows.append([Cell(item.id), Cell(error, problem=True), *[Cell("")] * 5])
                continue
            summary = Summary.model_validate(record["summary"])
            page = page_name(item.id)
            write_atomic(directory / page, render(summary, item.text))
            report.pages += 1
            rows.append(_row(item.id, summary, page))
    line = f"{report.pages} page(s), {report.failed} failed, {report.pending} not summarized"
    write_atomic(report.index, render_index("Batch review", line, COLUMNS, rows))
    return report

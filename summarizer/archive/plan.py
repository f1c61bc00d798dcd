"""Planning a round: its request lines, split into files by the limits, recorded in the state.

Round 0 streams the input through ``batch.provider_api``'s exporter (what a live call sends);
a later round streams the re-asks and resends the previous round's imports spooled. Articles
that cannot be sent get their error record in the output now, and are never submitted.
Planning is one transaction: a planning cut short is started again from the top, with the
output cut back to where it was, so nothing is written twice.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from summarizer.archive.split import Limits, PartWriter
from summarizer.archive.state import ArchiveState
from summarizer.batch.article_index import located_items
from summarizer.batch.items import BatchItem, ResultWriter, finished_ids
from summarizer.batch.provider_api import RequestExporter
from summarizer.batch.runner import error_record
from summarizer.errors import InputError

Event = Callable[[str], None]


def round_dir(work: Path, number: int) -> Path:
    return work / f"round-{number}"


def spool_path(part_path: Path) -> Path:
    """Where a part's import puts the next round's requests (re-asks and resends)."""
    return part_path.with_name(part_path.stem + ".next.jsonl")


def out_size(out: Path) -> int:
    return out.stat().st_size if out.exists() else 0


def cut_back(out: Path, size: int) -> None:
    """Undo appends made after ``size`` by a step that did not commit."""
    if out.exists() and out.stat().st_size > size:
        os.truncate(out, size)


class Planner:
    def __init__(
        self,
        state: ArchiveState,
        source: Path,
        out: Path,
        work: Path,
        exporter: RequestExporter,
        limits: Limits,
        tag: str,
        on_event: Event,
    ) -> None:
        self.state, self.source, self.out, self.work = state, source, out, work
        self.exporter, self.limits, self.tag, self.on_event = exporter, limits, tag, on_event

    def ensure(self, number: int) -> bool:
        """Plan round ``number`` unless it is planned; False if it has nothing to send."""
        status = self.state.round_status(number)
        if status is not None and status[0] == "planned":
            return bool(self.state.parts(number))
        offset = status[1] if status is not None and status[1] is not None else out_size(self.out)
        cut_back(self.out, offset)
        shutil.rmtree(round_dir(self.work, number), ignore_errors=True)
        with self.state.transaction():
            self.state.forget_round(number)
            if number == 0:
                self.state.db.execute("DELETE FROM articles")
                self.state.db.execute("DELETE FROM prior")
            self.state.set_round(number, "planning", offset)
        with self.state.transaction():
            results = ResultWriter(self.out)
            try:
                lines = self._first_round(results, offset) if number == 0 else self._later_round(number)
                parts = self._split(number, lines, results)
            finally:
                results.close()
            for part in parts:
                self.state.add_part(
                    number, part.number, part.path, part.requests, part.bytes,
                    part.projected.prompt_tokens, part.projected.completion_tokens,
                    f"{self.tag}-r{number}-p{part.number}",
                )  # fmt: skip
            self.state.set_round(number, "planned")
        total = sum(p.requests for p in parts)
        self.on_event(f"round {number}: {total:,} request(s) in {len(parts)} file(s)")
        return bool(parts)

    def _split(
        self, number: int, lines: Iterator[tuple[BatchItem | None, dict[str, Any]]], results: ResultWriter
    ) -> list[Any]:
        folder = round_dir(self.work, number)
        writer = PartWriter(self.limits, lambda n: folder / f"part-{n:05d}.jsonl")
        for item, line in lines:
            if not writer.add(line):
                size = len(json.dumps(line))
                reason = InputError(
                    f"its request is {size:,} bytes, over the {self.limits.max_bytes:,}-byte file limit"
                )
                results.write(error_record(item or BatchItem(line["custom_id"], ""), reason))
        return writer.close()

    def _first_round(
        self, results: ResultWriter, offset: int
    ) -> Iterator[tuple[BatchItem | None, dict[str, Any]]]:
        if offset:  # the output has lines from before: what finished there is not sent again
            self.state.add_prior(iter(finished_ids(self.out)))
        rejected = duplicates = prior = 0
        for item, place in located_items(self.source):
            if self.state.is_prior(item.id):
                prior += 1
                continue
            if not self.state.add_article(item.id, place, self.source):
                duplicates += 1
                self.on_event(f"skipped {item.id}: a repeated id (the first is sent)")
                continue
            try:
                line = self.exporter.request(item)
            except InputError as exc:
                rejected += 1
                results.write(error_record(item, exc))
                continue
            yield item, line
        if rejected or duplicates or prior:
            self.on_event(
                f"{rejected} article(s) cannot be sent (error records written), "
                f"{duplicates} repeated id(s), {prior} already done"
            )

    def _later_round(self, number: int) -> Iterator[tuple[BatchItem | None, dict[str, Any]]]:
        for previous in self.state.parts(number - 1):
            spool = spool_path(previous.path)
            if not spool.exists():
                continue
            with spool.open("rb") as handle:
                for raw in handle:
                    yield None, json.loads(raw)

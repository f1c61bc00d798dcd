"""The driver: plan, submit, poll, download, import, and the next round, each step resumable.

One process at a time works on an archive (a lock file says so). Every step is recorded in the
state before and after it (see ``state``), and ``run_archive`` can be called again at any point,
after a crash or ``kill -9``: it picks up where the state says, reconciling with the provider
what it cannot know (a batch created but not recorded).

Budget: a request file is submitted only if what the run has spent, plus the most that the
batches in flight and this file can cost (every prompt estimated high, every output cap in
full, at Batch API prices), stays within ``budget_usd``. A cap stops new submissions; batches
already submitted are still polled, downloaded and imported, so nothing paid for is lost.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from summarizer.archive.answers import FINAL, REASK, Judge, Judged, with_carried
from summarizer.archive.endpoint import Backoff, BatchEndpoint, Transient
from summarizer.archive.plan import Planner, cut_back, out_size, spool_path
from summarizer.archive.split import Limits
from summarizer.archive.state import (
    CREATING,
    DOWNLOADED,
    IMPORTED,
    IMPORTING,
    PLANNED,
    SUBMITTED,
    TERMINAL,
    UPLOADED,
    ArchiveState,
    PartRow,
    now,
)
from summarizer.batch.article_index import read_article
from summarizer.batch.items import BatchItem, ResultWriter
from summarizer.batch.provider_api import RequestExporter, output_entry
from summarizer.batch.runner import error_record
from summarizer.errors import ConfigError, InputError, ProviderError
from summarizer.llm.pricing import price_for
from summarizer.pipeline import Summarizer
from summarizer.schema import Usage

Event = Callable[[str], None]


@dataclass(frozen=True)
class ArchiveOptions:
    limits: Limits = field(default_factory=Limits)
    max_reasks: int = 2  # rounds after the first: re-asks of failed drafts, resends of unrun requests
    budget_usd: float | None = None
    poll: Backoff = field(default_factory=lambda: Backoff(initial=5.0, maximum=300.0))
    window: str = "24h"
    plan_only: bool = False  # write the first round's request files, submit nothing


@dataclass
class ArchiveReport:
    submitted: int = 0
    ok: int = 0
    failed: int = 0
    reasked: int = 0
    resent: int = 0
    spent_usd: float = 0.0
    stopped: str | None = None
    waiting: int = 0  # requests planned but not submitted (a budget, a refusal)
    worst_case_usd: float = 0.0  # the most the waiting requests can cost

    @property
    def done(self) -> bool:
        return self.stopped is None and self.waiting == 0


def work_dir(out: Path) -> Path:
    """The folder next to OUT holding the state file, request files and the provider's answers."""
    return out.with_name(out.name + ".archive")


def run_archive(
    source: Path,
    out: Path,
    summarizer: Summarizer,
    endpoint: BatchEndpoint | None,
    options: ArchiveOptions = ArchiveOptions(),
    on_event: Event = lambda message: None,
) -> ArchiveReport:
    """Drive ``source`` through the provider's batch engine into ``out``; resumable at any point.

    ``summarizer`` carries the settings requests are built with and the prices answers are
    billed at (give it ``batch_prices``). ``endpoint`` may be None only with ``plan_only``.
    """
    if endpoint is None and not options.plan_only:
        raise ValueError("run_archive needs an endpoint unless it only plans")
    work = work_dir(out)
    with _locked(work):
        state = ArchiveState.open(work / "state.db")
        try:
            return _Run(source, out, work, state, summarizer, endpoint, options, on_event).run()
        finally:
            state.close()


@contextlib.contextmanager
def _locked(work: Path) -> Iterator[None]:
    work.mkdir(parents=True, exist_ok=True)
    with (work / "lock").open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ConfigError(f"another `summarizer archive run` is working on {work}") from None
        yield


def identity(source: Path, summarizer: Summarizer) -> dict[str, Any]:
    """What must not change between runs of one archive: the input and what shapes a request."""
    s = summarizer.settings
    return {
        "input": str(source.resolve()),
        "model": s.model,
        "provider": s.provider,  # the output cap's name differs between OpenAI and other servers
        "mode": s.mode,
        "seed": s.seed,
        "max_output_tokens": s.max_output_tokens,
        "prompt_version": summarizer.prompts.version,
    }


class _Run:
    def __init__(self, source: Path, out: Path, work: Path, state: ArchiveState, summarizer: Summarizer,
                 endpoint: BatchEndpoint | None, options: ArchiveOptions, on_event: Event) -> None:  # fmt: skip
        self.source, self.out, self.work, self.state = source, out, work, state
        self.endpoint: BatchEndpoint = endpoint  # type: ignore[assignment]  # None only to plan
        self.options, self.on_event = options, on_event
        self.price = price_for(summarizer.settings.model, summarizer.prices)
        if options.budget_usd is not None and self.price is None:
            raise ConfigError(
                f"cannot hold --budget-usd: no price for {summarizer.settings.model} (give one with --pricing)"
            )
        self.judge = Judge(summarizer)
        self.tag = state.bind(identity(source, summarizer))
        self.planner = Planner(
            state, source, out, work, RequestExporter(summarizer), options.limits, self.tag, on_event
        )
        self.report = ArchiveReport()
        self.blocked: str | None = None  # why the next file is not submitted (yet)
        self.refused: str | None = None  # the provider refused a file: submit no more in this run

    # -- the loop ---------------------------------------------------------------------------

    def run(self) -> ArchiveReport:
        with self.state.transaction():
            self.state.put("stop_requested", False)  # a new run is the user's go-ahead again
        number = self.state.current_round()
        self.planner.ensure(number)
        while not self.options.plan_only:
            self._work_round(number)
            parts = self.state.parts(number)
            if any(p.status != IMPORTED for p in parts):
                break  # stopped: a budget, a cancel, a refusal
            if number >= self.options.max_reasks or not any(spool_path(p.path).exists() for p in parts):
                break
            number += 1
            self.planner.ensure(number)
        self._totals()
        return self.report

    def _work_round(self, number: int) -> None:
        delay = self.options.poll.initial
        while True:
            for part in self.state.parts(number):
                if part.status in (DOWNLOADED, IMPORTING):
                    self._import(part)
            self._submit_what_fits(number)
            active = [p for p in self.state.parts(number) if p.status == SUBMITTED]
            if not active:
                return
            progressed = False
            for part in active:
                view = self.endpoint.retrieve(part.batch_id or "")
                if view.status != part.provider_status:
                    with self.state.transaction():
                        self.state.update_part(part, provider_status=view.status, provider_counts=view.counts)
                    self.on_event(f"{part.label}: {view.id} {view.status} ({view.counts})")
                if view.status in TERMINAL:
                    self._download(self.state.part(part.round, part.number), view)
                    self._import(self.state.part(part.round, part.number))
                    progressed = True
            if progressed:
                delay = self.options.poll.initial
            else:
                self.options.poll.sleep(delay)
                delay = min(self.options.poll.maximum, delay * self.options.poll.factor)

    # -- submitting -------------------------------------------------------------------------

    def _submit_what_fits(self, number: int) -> None:
        for part in self.state.parts(number):
            if part.status not in (PLANNED, UPLOADED, CREATING):
                continue
            if part.status == CREATING:  # an intent from before: the batch may exist already
                found = self.endpoint.find_batch(part.tag, part.intent_at or 0)
                if found is not None:
                    self._submitted(part, found.id, found.status)
                    continue
            # A budget is weighed again each time: answers billed below their worst case free room.
            self.blocked = self.refused or self._why_not(part)
            if self.blocked is not None:
                return  # in order: a later file never jumps the queue
            try:
                self._submit(part)
            except ProviderError as exc:
                self.refused = self.blocked = f"could not submit {part.label}: {exc}"
                self.on_event(self.blocked)

    def _why_not(self, part: PartRow) -> str | None:
        if self.state.get("stop_requested"):
            return "cancelled (`summarizer archive cancel`)"
        budget = self.options.budget_usd
        if budget is None or self.price is None:
            return None
        spent, reserved = 0.0, 0.0
        for other in self.state.parts():
            if other.status == IMPORTED:
                spent += other.spent_usd
            elif other.status in (SUBMITTED, DOWNLOADED, IMPORTING):
                reserved += self._projected_usd(other)
        cost = self._projected_usd(part)
        if spent + reserved + cost > budget:
            return (
                f"run budget: ${spent:.4f} spent and ${reserved:.4f} in flight at most; {part.label} could cost "
                f"${cost:.4f} more, over --budget-usd ${budget:g}"
            )
        return None

    def _projected_usd(self, part: PartRow) -> float:
        usage = Usage(prompt_tokens=part.projected_prompt, completion_tokens=part.projected_completion)
        return self.price.cost(usage) if self.price is not None else 0.0

    def _submit(self, part: PartRow) -> None:
        name = f"{part.tag}.jsonl"
        file_id = part.file_id
        if file_id is None:
            if part.intent_at is not None:  # an upload may have been made before a crash
                file_id = self.endpoint.find_upload(name, part.bytes)
            if file_id is None:
                with self.state.transaction():
                    self.state.update_part(part, intent_at=now())
                file_id = self.endpoint.upload(part.path, name)
            with self.state.transaction():
                self.state.update_part(part, file_id=file_id, status=UPLOADED)
        with self.state.transaction():  # the intent, before the call that may bill
            self.state.update_part(part, status=CREATING, intent_at=now())
        part = self.state.part(part.round, part.number)
        for delay in [*self.endpoint.backoff.delays(), None]:
            try:
                view = self.endpoint.create(file_id, part.tag, self.options.window)
            except Transient:
                found = self.endpoint.find_batch(part.tag, part.intent_at or 0)
                if found is not None:
                    view = found
                elif delay is None:
                    raise
                else:
                    self.endpoint.backoff.sleep(delay)
                    continue
            self._submitted(part, view.id, view.status)
            return

    def _submitted(self, part: PartRow, batch_id: str, status: str) -> None:
        with self.state.transaction():
            self.state.update_part(part, batch_id=batch_id, status=SUBMITTED, provider_status=status)
        self.report.submitted += 1
        self.on_event(f"{part.label}: submitted {part.requests:,} request(s) as {batch_id}")

    # -- answers ----------------------------------------------------------------------------

    def _download(self, part: PartRow, view: Any) -> None:
        for file_id, path in ((view.output_file_id, _answers(part)), (view.error_file_id, _errors(part))):
            if file_id and not path.exists():
                self.endpoint.download(file_id, path)
        with self.state.transaction():
            self.state.update_part(
                part, status=DOWNLOADED, provider_status=view.status, provider_counts=view.counts,
                provider_errors=view.errors, output_file_id=view.output_file_id, error_file_id=view.error_file_id,
            )  # fmt: skip

    def _import(self, part: PartRow) -> None:
        if part.status == IMPORTING:
            cut_back(self.out, part.out_offset or 0)  # an import cut short: undo it, then redo it
        else:
            with self.state.transaction():
                ResultWriter(self.out).close()  # cuts a torn tail first: the offset is of whole lines
                self.state.update_part(part, status=IMPORTING, out_offset=out_size(self.out))
        last = part.round >= self.options.max_reasks
        spool = spool_path(part.path)
        spool_tmp = spool.with_name(spool.name + ".tmp")
        tally = _Tally()
        with self.state.transaction():
            results = ResultWriter(self.out)
            try:
                with spool_tmp.open("wb") as follow_ups:
                    for item, judged in self._judged(part, last):
                        self._keep(item, judged, tally, results, follow_ups)
                    follow_ups.flush()
                    os.fsync(follow_ups.fileno())
            finally:
                results.close()
            if tally.reasked or tally.resent:
                os.replace(spool_tmp, spool)
            else:
                spool_tmp.unlink()
                spool.unlink(missing_ok=True)
            self.state.update_part(
                part, status=IMPORTED, ok=tally.ok, failed=tally.failed, reasked=tally.reasked,
                resent=tally.resent, prompt_tokens=tally.usage.prompt_tokens,
                completion_tokens=tally.usage.completion_tokens, spent_usd=self._cost(tally.usage) or 0.0,
            )  # fmt: skip
        part.path.unlink(missing_ok=True)  # the provider ran it; a resend is built again from the article
        self.on_event(
            f"{part.label}: imported {tally.ok:,} ok, {tally.failed:,} failed, {tally.reasked:,} to re-ask, "
            f"{tally.resent:,} to resend"
        )

    def _judged(self, part: PartRow, last: bool) -> Iterator[tuple[BatchItem, Judged]]:
        seen: set[str] = set()  # at most one file's custom_ids: bounded by the provider's limit
        for path in (_answers(part), _errors(part)):
            if not path.exists():
                continue
            with path.open("rb") as handle:
                for number, raw in enumerate(handle, 1):
                    if not raw.strip():
                        continue
                    try:
                        entry = output_entry(raw, str(path), number)
                    except InputError as exc:
                        self.on_event(f"ignored {exc}")  # its article counts as unanswered below
                        continue
                    item = self._article(entry["custom_id"])
                    if item is None or item.id in seen:
                        continue
                    seen.add(item.id)
                    yield item, self.judge.judge(item, entry, last_round=last)
        status = part.provider_status or "?"
        why = f"batch {status}" + (f": {part.provider_errors}" if part.provider_errors else "")
        for custom_id in _request_ids(part.path):
            if custom_id in seen:
                continue
            item = self._article(custom_id)
            if item is None:
                continue
            if last:
                error = ProviderError(f"no answer from the provider ({why}); re-ask it live")
                yield item, Judged(FINAL, record=error_record(item, error))
            else:
                yield item, self.judge.resend(item)

    def _keep(
        self, item: BatchItem, judged: Judged, tally: _Tally, results: ResultWriter, follow_ups: Any
    ) -> None:
        tally.usage = tally.usage + judged.usage
        if judged.kind == FINAL:
            assert judged.record is not None
            record = with_carried(judged.record, self.state.carried(item.id), self._cost)
            results.write(record)
            if record["status"] == "ok":
                tally.ok += 1
            else:
                tally.failed += 1
            return
        if judged.kind == REASK:
            self.state.carry(item.id, judged.usage.prompt_tokens, judged.usage.completion_tokens)
            tally.reasked += 1
        else:
            tally.resent += 1
        from summarizer.archive.split import request_bytes

        follow_ups.write(request_bytes(judged.request or {}))

    def _article(self, custom_id: str) -> BatchItem | None:
        place = self.state.place_of(custom_id, self.source)
        return None if place is None else read_article(self.source, custom_id, place)

    def _cost(self, usage: Usage) -> float | None:
        return None if self.price is None else round(self.price.cost(usage), 6)

    def _totals(self) -> None:
        report = self.report
        for part in self.state.parts():
            report.ok += part.ok
            report.failed += part.failed
            report.reasked += part.reasked
            report.resent += part.resent
            report.spent_usd += part.spent_usd
            if part.status in (PLANNED, UPLOADED, CREATING):
                report.waiting += part.requests
                report.worst_case_usd += self._projected_usd(part)
        if self.options.plan_only:
            report.stopped = "--plan-only: nothing submitted"
        else:
            report.stopped = self.blocked if report.waiting else None


@dataclass
class _Tally:
    ok: int = 0
    failed: int = 0
    reasked: int = 0
    resent: int = 0
    usage: Usage = field(default_factory=Usage)


def _answers(part: PartRow) -> Path:
    return part.path.with_name(part.path.stem + ".output.jsonl")


def _errors(part: PartRow) -> Path:
    return part.path.with_name(part.path.stem + ".errors.jsonl")


def _request_ids(path: Path) -> Iterator[str]:
    """The custom_ids of a request file, read without parsing each (large) body."""
    import json

    decoder = json.JSONDecoder()
    prefix = '{"custom_id":'
    if not path.exists():
        return
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.startswith(prefix):
                yield decoder.raw_decode(line, len(prefix))[0]
            elif line.strip():
                yield json.loads(line)["custom_id"]

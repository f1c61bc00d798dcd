"""Summarize many articles: bounded concurrency, client-side rate limits, resumable output.

One ``Summarizer`` serves every article through its async API. A fixed pool of
workers pulls articles from a small queue that a producer fills lazily from the
input, so memory does not grow with the input. Each finished article is one
appended line (see ``batch_io``); a failure is recorded and the batch goes on.
Stopping (Ctrl-C, or a run budget) stops scheduling new articles, lets the ones
in flight finish, and keeps everything written so far.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from summarizer.batch.items import BatchItem, ResultWriter
from summarizer.errors import InputError, SummarizerError
from summarizer.llm.budget import max_output_tokens
from summarizer.llm.catalogue import PROMPT_OVERHEAD_TOKENS, estimate_tokens
from summarizer.schema import Summary, Usage


class ArticleSummarizer(Protocol):
    async def asummarize(self, text: str) -> Summary: ...


class RateLimiter:
    """Token buckets for requests and tokens per minute; callers wait their turn in order."""

    def __init__(
        self,
        requests_per_minute: float | None = None,
        tokens_per_minute: float | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.rpm = requests_per_minute
        self.tpm = tokens_per_minute
        self._clock = clock
        self._sleep = sleep
        self._requests = requests_per_minute or 0.0
        self._tokens = tokens_per_minute or 0.0
        self._last = clock()
        self._lock = asyncio.Lock()
        self.waited_s = 0.0

    def _refill(self) -> None:
        now = self._clock()
        elapsed, self._last = now - self._last, now
        if self.rpm:
            self._requests = min(self.rpm, self._requests + elapsed * self.rpm / 60)
        if self.tpm:
            self._tokens = min(self.tpm, self._tokens + elapsed * self.tpm / 60)

    async def acquire(self, tokens: int) -> None:
        if not self.rpm and not self.tpm:
            return
        async with self._lock:
            # A single request larger than a minute's tokens may go once the bucket is full.
            tokens = min(tokens, int(self.tpm)) if self.tpm else tokens
            while True:
                self._refill()
                waits = []
                if self.rpm and self._requests < 1:
                    waits.append((1 - self._requests) * 60 / self.rpm)
                if self.tpm and self._tokens < tokens:
                    waits.append((tokens - self._tokens) * 60 / self.tpm)
                if not waits:
                    if self.rpm:
                        self._requests -= 1
                    if self.tpm:
                        self._tokens -= tokens
                    return
                delay = max(waits)
                self.waited_s += delay
                await self._sleep(delay)


@dataclass
class BatchReport:
    succeeded: int = 0
    failed: int = 0
    skipped: int = 0
    cached: int = 0
    usage: Usage = field(default_factory=Usage)
    cost_usd: float = 0.0
    cost_unknown: int = 0
    transport_retries: int = 0
    reasks: int = 0
    stopped: str | None = None
    wall_s: float = 0.0

    @property
    def processed(self) -> int:
        return self.succeeded + self.failed

    def add_failure(self, exc: BaseException) -> None:
        """A failed article still spent what its calls cost: count it toward totals and budgets."""
        self.failed += 1
        usage = getattr(exc, "usage", None)
        if usage is not None:
            self.usage = self.usage + usage
            cost = getattr(exc, "cost_usd", None)
            if cost is None:
                self.cost_unknown += 1
            else:
                self.cost_usd += cost

    def add(self, summary: Summary) -> None:
        self.succeeded += 1
        meta = summary.meta
        if meta is None:
            return
        self.cached += meta.cached
        self.usage = self.usage + meta.usage
        self.transport_retries += meta.transport_retries
        self.reasks += meta.reasks
        if meta.cost_usd is None:
            self.cost_unknown += 1
        else:
            self.cost_usd += meta.cost_usd


ProgressHook = Callable[[BatchReport], None]


def _estimated_request_tokens(text: str) -> int:
    return estimate_tokens(text) + PROMPT_OVERHEAD_TOKENS + max_output_tokens(text)


def success_record(item: BatchItem, summary: Summary) -> dict[str, Any]:
    record: dict[str, Any] = {"id": item.id, "status": "ok", "summary": summary.model_dump(mode="json")}
    if item.extra:
        record["input"] = item.extra
    return record


def error_record(item: BatchItem, exc: BaseException) -> dict[str, Any]:
    if isinstance(exc, SummarizerError):
        record: dict[str, Any] = {
            "id": item.id,
            "status": "error",
            "error": str(exc),
            "error_type": type(exc).__name__,
            "exit_code": exc.exit_code,
        }
        if exc.usage is not None:
            record["usage"] = exc.usage.model_dump()
            record["cost_usd"] = exc.cost_usd
        return record
    return {
        "id": item.id,
        "status": "error",
        "error": f"internal error: {type(exc).__name__}: {exc}",
        "error_type": "InternalError",
        "exit_code": 70,
    }


async def run_batch(
    items: Iterable[BatchItem],
    summarizer: ArticleSummarizer,
    writer: ResultWriter,
    *,
    skip: set[str] | frozenset[str] = frozenset(),
    concurrency: int = 8,
    limiter: RateLimiter | None = None,
    stop: asyncio.Event | None = None,
    budget_usd: float | None = None,
    on_progress: ProgressHook | None = None,
) -> BatchReport:
    """Summarize ``items`` into ``writer``; returns the run's totals."""
    report = BatchReport()
    stop = stop or asyncio.Event()
    queue: asyncio.Queue[BatchItem | None] = asyncio.Queue(maxsize=concurrency * 2)
    started = time.perf_counter()

    async def produce() -> None:
        try:
            for item in items:
                if stop.is_set():
                    break
                if item.id in skip:
                    report.skipped += 1
                    continue
                await queue.put(item)
        finally:
            for _ in range(concurrency):
                await queue.put(None)

    async def work() -> None:
        while True:
            item = await queue.get()
            if item is None:
                return
            if stop.is_set():
                continue  # drain: stopped articles are neither done nor failed, just not started
            await summarize_one(item)

    async def summarize_one(item: BatchItem) -> None:
        try:
            if "input_error" in item.extra:
                raise InputError(item.extra["input_error"])
            if limiter is not None:
                await limiter.acquire(_estimated_request_tokens(item.text))
            summary = await summarizer.asummarize(item.text)
        except Exception as exc:  # one article's failure never stops the batch
            writer.write(error_record(item, exc))
            report.add_failure(exc)
        else:
            writer.write(success_record(item, summary))
            report.add(summary)
        if budget_usd is not None and report.cost_usd >= budget_usd and not stop.is_set():
            report.stopped = f"run budget of ${budget_usd:g} reached"
            stop.set()
        if on_progress is not None:
            on_progress(report)

    workers = [asyncio.create_task(work()) for _ in range(concurrency)]
    producer = asyncio.create_task(produce())
    try:
        # If reading the input fails, the articles already in flight still finish and are
        # written before the error surfaces: nothing paid for is lost.
        outcomes = await asyncio.gather(producer, *workers, return_exceptions=True)
    finally:
        for task in (producer, *workers):
            task.cancel()
        report.wall_s = time.perf_counter() - started
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome
    if stop.is_set() and report.stopped is None:
        report.stopped = "interrupted"
    return report

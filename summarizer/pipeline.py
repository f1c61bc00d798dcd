"""Article in, validated ``Summary`` out: the library API.

``Summarizer`` is configured once and reused. It holds no per-call state, so
one instance serves concurrent calls from threads or asyncio tasks; what each
call spends is booked in its own ledger. This module is the orchestration only:
what an attempt is and what failing means live in ``extract`` (re-ask turns,
salvage) and ``llm`` (budgets, provider errors).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from summarizer.cache import SummaryCache, as_cache_hit, cache_key
from summarizer.config import Settings
from summarizer.errors import BudgetError, ExtractionError, SummarizerError
from summarizer.extract.chunking import chunk_article
from summarizer.extract.draft import DraftSummary, grounding_against
from summarizer.extract.grounding import Article
from summarizer.extract.merge import merge_parts
from summarizer.extract.prompts import PromptSet, load_prompts
from summarizer.extract.reask import Conversation, salvage
from summarizer.extract.repair import DraftRepair
from summarizer.extract.resolve import resolve
from summarizer.inputs.files import check_article
from summarizer.llm.budget import (
    CHUNK_CONCURRENCY,
    NO_RESERVATION,
    SpendingGate,
    max_output_tokens,
)
from summarizer.llm.catalogue import chunk_tokens_for
from summarizer.llm.client import AnyTransport, Clients, for_provider, sampling_kwargs
from summarizer.llm.collector import collector_held
from summarizer.llm.ledger import Ledger, open_ledger
from summarizer.llm.pricing import DEFAULT_PRICES, Price, cost_usd
from summarizer.llm.provider_errors import DraftFailure, draft_failure, provider_error, raw_arguments
from summarizer.schema import Meta, Provenance, Summary, Usage

# instructor logs an ERROR for every draft that fails validation; our re-asks and our errors
# already say it. A NullHandler keeps Python's last-resort handler from printing those lines
# to stderr, while an application that configures logging still receives them.
logging.getLogger("instructor").addHandler(logging.NullHandler())


@dataclass(frozen=True)
class _Request:
    """One extraction call: a chunk of the article (the whole of it, unless it is long)."""

    offset: int
    article: Article
    messages: list[dict[str, str]]
    max_tokens: int


@dataclass(frozen=True)
class _Job:
    article: Article
    requests: list[_Request]
    provenance: Provenance


@dataclass(frozen=True)
class _Outcome:
    draft: DraftSummary | None  # None: a chunk the budget left unsummarized
    warnings: list[str]
    budget_cut: bool = False


class _Attempts:
    """One chunk's attempts, described once for the sync and the async loop.

    The loops differ only in how they make the call. What to send next is the
    ``extract.reask.Conversation`` (a targeted repair of the failing claims, or the complete
    summary); what a failure means, each call's budget and what is kept at the end are here.
    """

    def __init__(self, owner: Summarizer, request: _Request) -> None:
        self.owner = owner
        self.request = request
        self.conversation = Conversation(list(request.messages), request.article)
        self.number = 0
        self.failure: DraftFailure | None = None
        self.budget_stop: str | None = None
        self.reservation = NO_RESERVATION
        self.call = owner._clients.structured()  # prepared once per Summarizer; cheap here

    def next_call(self) -> dict[str, Any] | None:
        """The keyword arguments of the next create() call, or None when no call may be made."""
        if self.number > self.owner.settings.max_reasks:
            return None
        self.number += 1
        messages = self.conversation.messages
        max_tokens = self.conversation.output_cap(self.request.max_tokens)
        self.budget_stop, self.reservation = self.owner.gate.reserve(messages, max_tokens)
        if self.budget_stop is not None:
            return None
        # The targeted repair of failing claims, or the complete draft: each its own prepared call.
        self.call = self.owner._clients.structured(DraftRepair if self.conversation.asked else None)
        # Copies of the messages (the SDK may append to them); one try per call and no `context=`
        # (see llm/structured.py): the article to ground against goes with grounding_against().
        settings = self.owner.settings
        return {
            "model": settings.model,
            "messages": [dict(m) for m in messages],
            **sampling_kwargs(settings, max_tokens),
        }

    def release(self) -> None:
        self.reservation.release()
        self.reservation = NO_RESERVATION

    def failed(self, exc: Exception) -> None:
        """A draft that failed validation becomes the next re-ask; anything else is raised as ours."""
        from instructor.core.exceptions import InstructorRetryException

        settings, request = self.owner.settings, self.request
        if not isinstance(exc, InstructorRetryException):
            raise provider_error(exc, settings, request.max_tokens) from exc
        self.failure = failure = draft_failure(exc, settings, request.max_tokens, self.number)
        self.conversation.rejected(raw_arguments(failure.completion), failure.completion, failure.error)

    def answered(self, result: Any) -> _Outcome | None:
        """A valid answer: the chunk's outcome, or None when a merged repair needs another turn."""
        return None if (draft := self.conversation.answered(result)) is None else _Outcome(draft, [])

    def give_up(self) -> _Outcome:
        """No more calls: keep the latest draft if it parses, minus what is ungrounded."""
        request, failure, stop = self.request, self.failure, self.budget_stop
        if stop is not None and self.owner.settings.strict:
            raise BudgetError(stop)
        draft = self.conversation.draft
        if failure is None and draft is None:
            assert stop is not None
            # Nothing drafted for this chunk: the other chunks (already paid for) still count.
            end = request.offset + len(request.article.text)
            return _Outcome(
                draft=None,
                warnings=[f"characters {request.offset:,}-{end:,} not summarized: {stop}"],
                budget_cut=True,
            )
        if draft is None and failure is not None:
            draft = salvage(raw_arguments(failure.completion), request.article, failure.attempts)
        reason = stop or f"still invalid after {self.number} attempt(s)"
        return _Outcome(draft, [f"{reason}; kept what is grounded"], budget_cut=stop is not None)


class Summarizer:
    """Summarize articles with one configuration. Safe to share across threads and tasks."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        transport: AnyTransport | None = None,
        cache: SummaryCache | None = None,
        prices: Mapping[str, Price] = DEFAULT_PRICES,
    ) -> None:
        self.settings = for_provider(settings if settings is not None else Settings.from_env())
        self.prompts: PromptSet = load_prompts(self.settings.prompts_dir)
        self.cache = cache
        self.prices = prices
        self.gate = SpendingGate(self.settings, prices)
        self._clients = Clients(self.settings, transport)

    # -- public API -----------------------------------------------------------------

    def prepare(self) -> None:
        """Load the SDK and instructor's request for the draft model now (else the first call does)."""
        self._clients.prepare()

    async def aclose(self) -> None:
        """Close the connections this event loop's calls opened (``asyncio.run`` does it at its end)."""
        await self._clients.aclose()

    def cost_of(self, usage: Usage) -> float | None:
        """What ``usage`` costs at this ``Summarizer``'s model and prices (None: no price known)."""
        return cost_usd(self.settings.model, usage, self.prices)

    def summarize(self, text: str, *, provenance: Provenance | None = None) -> Summary:
        """The summary of ``text``; ``provenance`` (URL, title, ...) is carried into the result."""
        job = self._prepare(text, provenance)
        started = time.perf_counter()
        cached = self._cached(job, started)
        if cached is not None:
            return cached
        with (
            open_ledger(deadline=time.monotonic() + self.settings.time_budget) as ledger,
            self._spending(ledger),
        ):
            outcomes = [self._extract(request) for request in job.requests]
            return self._store(job, outcomes, self._finish(job, outcomes, ledger, started))

    async def asummarize(self, text: str, *, provenance: Provenance | None = None) -> Summary:
        job = self._prepare(text, provenance)
        started = time.perf_counter()
        cached = self._cached(job, started)
        if cached is not None:
            return cached
        with (
            open_ledger(deadline=time.monotonic() + self.settings.time_budget) as ledger,
            self._spending(ledger),
        ):
            if len(job.requests) == 1:
                # Most articles: one request, awaited in this task (no task of its own, and the
                # answer is resolved in the same step of the loop as it is checked).
                outcomes = [await self._aextract(job.requests[0])]
            else:
                outcomes = await self._aextract_chunks(job.requests)
            return self._store(job, outcomes, self._finish(job, outcomes, ledger, started))

    async def _aextract_chunks(self, requests: list[_Request]) -> list[_Outcome]:
        """A long article's chunks, side by side, a few at a time."""
        gate = asyncio.Semaphore(CHUNK_CONCURRENCY)

        async def extract(request: _Request) -> _Outcome:
            async with gate:
                return await self._aextract(request)

        return list(await asyncio.gather(*(extract(r) for r in requests)))

    def _cache_key(self, job: _Job) -> str:
        return cache_key(job.article.text, self.settings, self.prompts.version)

    def _cached(self, job: _Job, started: float) -> Summary | None:
        if self.cache is None:
            return None
        hit = self.cache.get(self._cache_key(job))
        if hit is None or hit.meta is None:
            return None
        return as_cache_hit(hit, time.perf_counter() - started, job.provenance)

    def _store(self, job: _Job, outcomes: list[_Outcome], summary: Summary) -> Summary:
        # A summary cut short by a budget is not the answer for this article: do not keep it.
        if self.cache is not None and not any(o.budget_cut for o in outcomes):
            self.cache.put(self._cache_key(job), summary)
        return summary

    @contextmanager
    def _spending(self, ledger: Ledger) -> Iterator[None]:
        """Failed calls cost money too: an error leaving here carries what the article spent."""
        try:
            yield
        except SummarizerError as exc:
            exc.usage = ledger.usage
            exc.cost_usd = cost_usd(self.settings.model, ledger.usage, self.prices)
            raise

    # -- steps ----------------------------------------------------------------------

    def _prepare(self, text: str, provenance: Provenance | None) -> _Job:
        text = check_article(text)
        chunk_tokens = chunk_tokens_for(text, self.settings)
        whole = Article(text)
        requests = []
        for chunk in chunk_article(text, chunk_tokens):
            piece = text[chunk.start : chunk.end]
            requests.append(
                _Request(
                    offset=chunk.start,
                    article=whole if piece == text else Article(piece),
                    messages=self.prompts.render(piece),
                    max_tokens=max_output_tokens(piece, self.settings.max_output_tokens),
                )
            )
        return _Job(article=whole, requests=requests, provenance=Provenance.of(text, provenance))

    def _extract(self, request: _Request) -> _Outcome:
        client = self._clients.sync()
        attempts = _Attempts(self, request)
        while (kwargs := attempts.next_call()) is not None:
            try:
                with grounding_against(request.article):
                    answer = attempts.call.call(client.chat.completions.create, kwargs)
            except Exception as exc:
                attempts.failed(exc)
            else:
                if (outcome := attempts.answered(answer)) is not None:
                    return outcome
            finally:
                attempts.release()
        return attempts.give_up()

    async def _aextract(self, request: _Request) -> _Outcome:
        client = self._clients.async_()
        attempts = _Attempts(self, request)
        while (kwargs := attempts.next_call()) is not None:
            try:
                with grounding_against(request.article):
                    answer = await attempts.call.acall(client.chat.completions.create, kwargs)
            except Exception as exc:
                attempts.failed(exc)
            else:
                if (outcome := attempts.answered(answer)) is not None:
                    return outcome
            finally:
                attempts.release()
        return attempts.give_up()

    @collector_held()  # a burst of objects that die by reference counting (llm/collector.py)
    def _finish(self, job: _Job, outcomes: list[_Outcome], ledger: Ledger, started: float) -> Summary:
        parts = [
            (r.offset, resolve(o.draft, r.article))
            for r, o in zip(job.requests, outcomes, strict=True)
            if o.draft is not None
        ]
        if not parts:
            raise BudgetError(outcomes[0].warnings[0].split(": ", 1)[1])
        resolved = parts[0][1] if len(parts) == 1 else merge_parts(parts, job.article)
        dropped = resolved.warnings
        outcome_warnings = [w for o in outcomes for w in o.warnings]
        if self.settings.strict and dropped:
            raise ExtractionError(
                f"strict mode: {len(dropped)} problem(s) remain after {self.settings.max_reasks} "
                f"re-ask(s); first: {dropped[0]}"
            )
        meta = Meta(
            provider=self.settings.provider,
            model=self.settings.model,
            prompt_version=self.prompts.version,
            usage=ledger.usage,
            attempts=ledger.responses,
            reasks=max(ledger.responses - len(job.requests), 0),
            transport_retries=ledger.transport_retries,
            warnings=[*outcome_warnings, *dropped],
            chunks=len(job.requests),
            duration_s=round(time.perf_counter() - started, 3),
            cost_usd=cost_usd(self.settings.model, ledger.usage, self.prices),
        )
        summary = Summary(
            headline=resolved.headline,
            abstract=resolved.abstract,
            entities=resolved.entities,
            sources=resolved.sources,
            claims=resolved.claims,
            provenance=job.provenance,
            meta=meta,
        )
        # The contract, checked rather than trusted: every offset slices out of the article.
        bad = summary.check_offsets(job.article.text)
        if bad:
            raise AssertionError(f"internal error: spans do not match the article: {bad[:3]}")
        for article in [job.article, *(r.article for r in job.requests)]:
            article.forget()  # nothing asks about this article again (a chunk may be the whole)
        return summary


def summarize(
    text: str, settings: Settings | None = None, *, provenance: Provenance | None = None
) -> Summary:
    """Summarize one article with a one-off ``Summarizer`` (build one and reuse it for many)."""
    return Summarizer(settings).summarize(text, provenance=provenance)


async def asummarize(
    text: str, settings: Settings | None = None, *, provenance: Provenance | None = None
) -> Summary:
    return await Summarizer(settings).asummarize(text, provenance=provenance)

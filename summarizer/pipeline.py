"""Article in, validated ``Summary`` out: the library API.

``Summarizer`` is configured once and reused. It holds no per-call state, so
one instance serves concurrent calls from threads or asyncio tasks; what each
call spends is booked in its own ledger.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import threading
import time
import weakref
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
from pydantic import ValidationError

from summarizer.budget import (
    CHUNK_CONCURRENCY,
    DEFAULT_CHUNK_TOKENS,
    MAX_ARTICLE_TOKENS,
    MIN_CHUNK_TOKENS,
    max_output_tokens,
    projected_prompt_tokens,
)
from summarizer.cache import SummaryCache, cache_key
from summarizer.chunking import chunk_article
from summarizer.config import Settings
from summarizer.draft import DraftSummary, grounding_against, validation_context
from summarizer.errors import (
    BudgetError,
    ConfigError,
    ExtractionError,
    InputError,
    ProviderError,
    SummarizerError,
    TimeBudgetError,
)
from summarizer.grounding import Article
from summarizer.ledger import Ledger, current_ledger, open_ledger
from summarizer.llm import AnyTransport, build_async_client, build_client, for_provider, sampling_kwargs
from summarizer.merge import merge_parts
from summarizer.models import MIN_ANSWER_TOKENS, PROMPT_OVERHEAD_TOKENS, context_window, estimate_tokens
from summarizer.pricing import DEFAULT_PRICES, Price, cost_usd, price_for
from summarizer.prompts import PromptSet, load_prompts
from summarizer.reading import check_article
from summarizer.reask import reask_messages
from summarizer.resolve import resolve
from summarizer.schema import Meta, Summary, Usage

if TYPE_CHECKING:
    import instructor

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


@dataclass(frozen=True)
class _Failure:
    """A draft that failed validation: the completion as received and why it failed."""

    completion: Any
    error: BaseException
    attempts: int


@dataclass(frozen=True)
class _Reservation:
    ledger: Ledger | None
    usage: Usage


def _release(reservation: _Reservation) -> None:
    if reservation.ledger is not None:
        reservation.ledger.reserved = reservation.ledger.reserved - reservation.usage


def _projected(request: _Request, messages: list[dict[str, Any]]) -> Usage:
    prompt = projected_prompt_tokens(messages)
    return Usage(
        prompt_tokens=prompt, completion_tokens=request.max_tokens, total_tokens=prompt + request.max_tokens
    )


@dataclass(frozen=True)
class _Outcome:
    draft: DraftSummary | None  # None: a chunk the budget left unsummarized
    warnings: list[str]
    budget_cut: bool = False


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
        self._transport = transport
        self._lock = threading.Lock()
        self._client: instructor.Instructor | None = None
        # An async client's connection pool belongs to the event loop it first ran on:
        # keep one per loop, so successive asyncio.run() calls each get a working one.
        self._async_clients: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, instructor.AsyncInstructor
        ] = weakref.WeakKeyDictionary()

    # -- public API -----------------------------------------------------------------

    def summarize(self, text: str) -> Summary:
        job = self._prepare(text)
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

    async def asummarize(self, text: str) -> Summary:
        job = self._prepare(text)
        started = time.perf_counter()
        cached = self._cached(job, started)
        if cached is not None:
            return cached
        with (
            open_ledger(deadline=time.monotonic() + self.settings.time_budget) as ledger,
            self._spending(ledger),
        ):
            # A long article's chunks run side by side, a few at a time.
            gate = asyncio.Semaphore(CHUNK_CONCURRENCY)

            async def extract(request: _Request) -> _Outcome:
                async with gate:
                    return await self._aextract(request)

            outcomes = list(await asyncio.gather(*(extract(r) for r in job.requests)))
            return self._store(job, outcomes, self._finish(job, outcomes, ledger, started))

    # -- cache ----------------------------------------------------------------------

    def _cache_key(self, job: _Job) -> str:
        return cache_key(job.article.text, self.settings, self.prompts.version)

    def _cached(self, job: _Job, started: float) -> Summary | None:
        if self.cache is None:
            return None
        hit = self.cache.get(self._cache_key(job))
        if hit is None or hit.meta is None:
            return None
        # This run made no call and spent nothing: its meta says so.
        meta = hit.meta.model_copy(
            update={
                "usage": Usage(),
                "attempts": 0,
                "reasks": 0,
                "transport_retries": 0,
                "cost_usd": 0.0,
                "cached": True,
                "duration_s": round(time.perf_counter() - started, 3),
            }
        )
        return hit.model_copy(update={"meta": meta})

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

    def _prepare(self, text: str) -> _Job:
        text = check_article(text)
        tokens = estimate_tokens(text)
        if tokens > MAX_ARTICLE_TOKENS:
            raise InputError(
                f"the article is too long: about {tokens:,} tokens, over the hard limit of "
                f"{MAX_ARTICLE_TOKENS:,} tokens ({len(text):,} characters); split it into parts"
            )
        chunk_tokens = self.settings.max_input_tokens or DEFAULT_CHUNK_TOKENS
        window = self.settings.context_tokens or context_window(self.settings.model)
        if window is not None:
            room = window - PROMPT_OVERHEAD_TOKENS - MIN_ANSWER_TOKENS
            if room < MIN_CHUNK_TOKENS:
                raise InputError(
                    f"{self.settings.model}'s {window:,}-token context leaves no room for an article "
                    f"after the prompt ({PROMPT_OVERHEAD_TOKENS:,} tokens) and a minimal answer"
                )
            chunk_tokens = min(chunk_tokens, room)
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
        return _Job(article=whole, requests=requests)

    def _create_kwargs(self, request: _Request, messages: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "model": self.settings.model,
            # instructor may append to the list it is given: give every call its own copy.
            "messages": [dict(m) for m in messages],
            "response_model": _response_model(),
            # One try per call: re-asks are ours (see reask.py), so that they do not snowball.
            "max_retries": 0,
            # No `context=` here: instructor renders every message as a Jinja template when it
            # gets one, which would rewrite "{{ ... }}" in an article. The article to ground
            # against is passed with grounding_against() instead.
            **sampling_kwargs(self.settings, request.max_tokens),
        }

    def _extract(self, request: _Request) -> _Outcome:
        from instructor.core.exceptions import InstructorRetryException

        client = self._sync_client()
        messages: list[dict[str, Any]] = list(request.messages)
        failure: _Failure | None = None
        for attempt in range(1, self.settings.max_reasks + 2):
            stop, reservation = self._reserve(request, messages)
            if stop is not None:
                return self._give_up(request, failure, stop)
            try:
                with grounding_against(request.article):
                    draft = client.chat.completions.create(**self._create_kwargs(request, messages))
            except InstructorRetryException as exc:
                failure = self._failure(exc, request, attempt)
                messages = [*request.messages, *reask_messages(failure.completion, failure.error)]
            except Exception as exc:
                raise _provider_error(exc, self.settings, request) from exc
            else:
                return _Outcome(draft=draft, warnings=[])
            finally:
                _release(reservation)
        return self._give_up(request, failure, None)

    async def _aextract(self, request: _Request) -> _Outcome:
        from instructor.core.exceptions import InstructorRetryException

        client = self._async_client_()
        messages: list[dict[str, Any]] = list(request.messages)
        failure: _Failure | None = None
        for attempt in range(1, self.settings.max_reasks + 2):
            stop, reservation = self._reserve(request, messages)
            if stop is not None:
                return self._give_up(request, failure, stop)
            try:
                with grounding_against(request.article):
                    draft = await client.chat.completions.create(**self._create_kwargs(request, messages))
            except InstructorRetryException as exc:
                failure = self._failure(exc, request, attempt)
                messages = [*request.messages, *reask_messages(failure.completion, failure.error)]
            except Exception as exc:
                raise _provider_error(exc, self.settings, request) from exc
            else:
                return _Outcome(draft=draft, warnings=[])
            finally:
                _release(reservation)
        return self._give_up(request, failure, None)

    def _failure(self, exc: Any, request: _Request, attempt: int) -> _Failure:
        """A draft that failed validation, or (raised) the provider error behind the exception."""
        cause = exc.__cause__
        completion = exc.last_completion
        if not isinstance(cause, ValidationError | ValueError) or completion is None:
            raise _provider_error(cause or exc, self.settings, request) from exc
        if not getattr(completion, "choices", None):
            # A 200 whose body is an HTML page, a bare string or an empty choice list.
            what = "no choices" if hasattr(completion, "choices") else f"a {type(completion).__name__}"
            raise ProviderError(
                f"the provider answered 200 but not with a chat completion ({what}): "
                "check --base-url points at an OpenAI-compatible /v1 endpoint"
            ) from exc
        return _Failure(completion=completion, error=cause, attempts=attempt)

    def _reserve(self, request: _Request, messages: list[dict[str, Any]]) -> tuple[str | None, _Reservation]:
        """Book the next call's projected usage against the budget, or say why it may not be made."""
        ledger = current_ledger()
        if ledger is None or (self.settings.max_cost_usd is None and self.settings.max_tokens_total is None):
            return None, _Reservation(None, Usage())
        with self._lock:
            stop = self._over_budget(request, messages, ledger.usage + ledger.reserved)
            if stop is not None:
                return stop, _Reservation(None, Usage())
            projected = _projected(request, messages)
            ledger.reserved = ledger.reserved + projected
            return None, _Reservation(ledger, projected)

    def _over_budget(self, request: _Request, messages: list[dict[str, Any]], spent: Usage) -> str | None:
        """Why the next call may not be made (it could pass a budget), or None if it may."""
        settings = self.settings
        projected = _projected(request, messages)
        tokens_cap = settings.max_tokens_total
        if tokens_cap is not None and spent.total_tokens + projected.total_tokens > tokens_cap:
            return (
                f"token budget reached: {spent.total_tokens:,} spent or in flight, the next call could take "
                f"{projected.total_tokens:,} more, over --max-tokens-total {tokens_cap:,}"
            )
        if settings.max_cost_usd is not None:
            price = price_for(settings.model, self.prices)
            if price is None:
                raise ConfigError(
                    f"cannot hold --max-cost: no price for {settings.model} (give one with --pricing)"
                )
            if price.cost(spent) + price.cost(projected) > settings.max_cost_usd:
                return (
                    f"cost budget reached: ${price.cost(spent):.4f} spent or in flight, the next call could cost "
                    f"${price.cost(projected):.4f} more, over --max-cost ${settings.max_cost_usd:g}"
                )
        return None

    def _give_up(self, request: _Request, failure: _Failure | None, budget_stop: str | None) -> _Outcome:
        """No more calls: keep the last draft if it parses, minus what is ungrounded."""
        if budget_stop is not None and self.settings.strict:
            raise BudgetError(budget_stop)
        if failure is None:
            assert budget_stop is not None
            # Nothing drafted for this chunk: the other chunks (already paid for) still count.
            end = request.offset + len(request.article.text)
            return _Outcome(
                draft=None,
                warnings=[f"characters {request.offset:,}-{end:,} not summarized: {budget_stop}"],
                budget_cut=True,
            )
        attempts = failure.attempts
        raw = _raw_arguments(failure.completion)
        if raw is None:
            raise ExtractionError(f"the model returned no summary after {attempts} attempt(s)")
        try:
            draft = DraftSummary.model_validate_json(
                raw, context=validation_context(request.article, lenient=True)
            )
        except ValidationError as err:
            first = err.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "the summary"
            raise ExtractionError(
                f"the model's answer did not fit the schema after {attempts} attempt(s): "
                f"{where}: {first['msg']}"
            ) from None
        reason = budget_stop or f"still invalid after {attempts} attempt(s)"
        return _Outcome(
            draft=draft, warnings=[f"{reason}; kept what is grounded"], budget_cut=budget_stop is not None
        )

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
            meta=meta,
        )
        # The contract, checked rather than trusted: every offset slices out of the article.
        bad = summary.check_offsets(job.article.text)
        if bad:
            raise AssertionError(f"internal error: spans do not match the article: {bad[:3]}")
        return summary

    # -- clients --------------------------------------------------------------------

    def _sync_client(self) -> instructor.Instructor:
        with self._lock:
            if self._client is None:
                self._client = build_client(self.settings, self._transport)
            return self._client

    def _async_client_(self) -> instructor.AsyncInstructor:
        loop = asyncio.get_running_loop()
        with self._lock:
            client = self._async_clients.get(loop)
            if client is None:
                client = build_async_client(self.settings, self._transport)
                self._async_clients[loop] = client
            return client


@functools.cache
def _response_model() -> type[DraftSummary]:
    """DraftSummary wrapped for instructor once: wrapping it per call builds a new class each time."""
    import instructor

    wrapped: type[DraftSummary] = instructor.openai_schema(DraftSummary)
    return wrapped


def _raw_arguments(completion: Any) -> str | None:
    """The JSON the model answered with: tool-call arguments, else the message text."""
    try:
        message = completion.choices[0].message
    except (AttributeError, IndexError, TypeError):
        return None
    for call in message.tool_calls or []:
        if call.function and call.function.arguments:
            return str(call.function.arguments)
    content = (message.content or "").strip()
    if content.startswith("```"):
        content = content.strip("`").removeprefix("json").strip()
    return content or None


def _provider_error(exc: BaseException, settings: Settings, request: _Request) -> Exception:
    """A one-line error for a provider failure; never includes request headers or keys."""
    import openai
    from instructor.core.exceptions import IncompleteOutputException

    own = _own_error(exc)
    if own is not None:
        return own
    if isinstance(exc, IncompleteOutputException):
        return ExtractionError(
            f"the model's answer was cut off at its output limit ({request.max_tokens:,} tokens): "
            "a model that rambles or loops; raise --max-output-tokens or use a stronger model"
        )
    if isinstance(exc, openai.AuthenticationError):
        return ProviderError("the provider rejected the API key (HTTP 401): check OPENAI_API_KEY")
    if isinstance(exc, openai.RateLimitError):
        return ProviderError("rate limited by the provider (HTTP 429) and out of retries; try again later")
    ledger = current_ledger()
    if ledger is not None and ledger.deadline is not None and time.monotonic() >= ledger.deadline:
        return TimeBudgetError(
            f"time budget for this article ({settings.time_budget:g} s) ran out waiting for the model "
            "(raise --time-budget, or use a faster model)"
        )
    if isinstance(exc, openai.APITimeoutError):
        return ProviderError("the provider did not answer in time, retries exhausted (raise --timeout?)")
    if isinstance(exc, openai.APIConnectionError):
        if _caused_by(exc, httpx.RemoteProtocolError, httpx.ReadError):
            return ProviderError("the connection to the provider broke mid-response, retries exhausted")
        return ProviderError(
            "cannot reach the provider: connection failed, retries exhausted (check --base-url)"
        )
    if isinstance(exc, openai.APIStatusError):
        detail = _error_detail(exc, settings.api_key)
        hint = ""
        if exc.status_code in (400, 422, 500, 501) and settings.mode != "tools":
            hint = f" (the server may not support --mode {settings.mode}; try --mode tools)"
        return ProviderError(f"the provider answered HTTP {exc.status_code}{detail}{hint}")
    if isinstance(exc, json.JSONDecodeError):
        return ProviderError("the provider answered 200 with a body that is not valid JSON")
    if isinstance(exc, IndexError | KeyError | TypeError):
        return ProviderError(
            f"the provider's answer is not a well-formed chat completion ({type(exc).__name__}: {exc})"
        )
    if isinstance(exc, AssertionError) and "Unable to generate a response" in str(exc):
        # instructor's word for a refusal (message.refusal set instead of a tool call).
        reason = str(exc).split("due to", 1)[-1].strip(" :")
        return ExtractionError(f"the model refused to answer: {reason}")
    return ExtractionError(f"the model's answer could not be used: {type(exc).__name__}: {exc}")


def _caused_by(exc: BaseException, *types: type[BaseException]) -> bool:
    current: BaseException | None = exc
    while current is not None:
        if isinstance(current, types):
            return True
        current = current.__cause__ or current.__context__
    return False


def _own_error(exc: BaseException) -> SummarizerError | None:
    """Our own error, if one is in the chain (the SDK wraps what a transport raises)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, SummarizerError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def _error_detail(exc: Any, secret: str | None) -> str:
    """The provider's own error message, first line, with the key redacted (some servers echo it)."""
    try:
        message = str(json.loads(exc.response.text)["error"]["message"])
    except (ValueError, KeyError, TypeError, AttributeError):
        return ""
    if secret:
        message = message.replace(secret, "[REDACTED]")
    lines = message.splitlines()
    return f": {lines[0][:200]}" if lines else ""


def summarize(text: str, settings: Settings | None = None) -> Summary:
    """Summarize one article with a one-off ``Summarizer`` (build one and reuse it for many)."""
    return Summarizer(settings).summarize(text)


async def asummarize(text: str, settings: Settings | None = None) -> Summary:
    return await Summarizer(settings).asummarize(text)

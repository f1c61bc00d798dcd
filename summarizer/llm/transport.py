"""httpx transports that sit between the openai SDK and the network.

``RetryTransport`` owns transport retries: 429 (honouring Retry-After), 5xx,
timeouts and connection errors are resent unchanged with exponential backoff,
jitter and a cap. It is the only retry loop for transport faults (the SDK's own
is switched off) and it is separate from our validation re-asks, which change
the conversation. It books every retry, and holds each request to the time
budget, in the ledger of the call in progress.

Tests and recordings plug in underneath it: any ``httpx`` transport can be the
inner one (an in-process fake, a cassette, the real network).
"""

from __future__ import annotations

import email.utils
import time

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    retry_if_result,
    stop_after_attempt,
)

from summarizer.config import RetryPolicy
from summarizer.errors import TimeBudgetError
from summarizer.llm.ledger import current_ledger

RETRY_STATUSES = frozenset({408, 409, 429, 500, 502, 503, 504})


def retry_after_seconds(response: httpx.Response) -> float | None:
    """Seconds the server asked us to wait (``retry-after-ms`` or ``Retry-After``), if it said."""
    ms = response.headers.get("retry-after-ms")
    if ms:
        try:
            return float(ms) / 1000
        except ValueError:
            pass
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _should_retry(response: httpx.Response) -> bool:
    return response.status_code in RETRY_STATUSES


def _reason(state: RetryCallState) -> str:
    outcome = state.outcome
    if outcome is None:
        return "unknown"
    if outcome.failed:
        return type(outcome.exception()).__name__
    return f"HTTP {outcome.result().status_code}"


def _within_budget(request: httpx.Request) -> None:
    """Refuse to send once the call's time budget is spent; never let one request outlive it."""
    ledger = current_ledger()
    if ledger is None or ledger.deadline is None:
        return
    remaining = ledger.deadline - time.monotonic()
    if remaining <= 0:
        raise TimeBudgetError(
            f"time budget for this article ran out after {ledger.responses} answer(s) and "
            f"{ledger.transport_retries} retr(ies) (raise --time-budget)"
        )
    timeout = dict(request.extensions.get("timeout") or {})
    for key in ("connect", "read", "write", "pool"):
        value = timeout.get(key)
        timeout[key] = remaining if value is None else min(value, remaining)
    request.extensions["timeout"] = timeout


class _RetryBase:
    def __init__(self, policy: RetryPolicy) -> None:
        self.policy = policy

    def _wait(self, state: RetryCallState) -> float:
        retry_after = None
        outcome = state.outcome
        if outcome is not None and not outcome.failed:
            retry_after = retry_after_seconds(outcome.result())
        return self.policy.delay(state.attempt_number, retry_after)

    def _before_sleep(self, state: RetryCallState) -> None:
        ledger = current_ledger()
        if ledger is not None:
            ledger.add_retry(_reason(state))

    def _retry_kwargs(self) -> dict[str, object]:
        return {
            "stop": stop_after_attempt(self.policy.max_retries + 1),
            "wait": self._wait,
            "retry": retry_if_result(_should_retry) | retry_if_exception_type(httpx.TransportError),
            "before_sleep": self._before_sleep,
            # Out of retries on a bad status: hand the SDK the last response so that it
            # raises its usual typed error (RateLimitError, InternalServerError ...).
            "retry_error_callback": lambda state: state.outcome.result(),
            "reraise": True,
        }


class RetryTransport(_RetryBase, httpx.BaseTransport):
    def __init__(self, inner: httpx.BaseTransport, policy: RetryPolicy | None = None) -> None:
        super().__init__(policy or RetryPolicy())
        self.inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        retrying = Retrying(sleep=self.policy.sleep, **self._retry_kwargs())  # type: ignore[arg-type]
        response: httpx.Response = retrying(self._send, request)
        return response

    def _send(self, request: httpx.Request) -> httpx.Response:
        _within_budget(request)
        response = self.inner.handle_request(request)
        # Chat completions are never streamed here: reading the whole body frees the
        # connection before a retry. (Usage is booked from the parsed completion, in
        # llm/structured.py: the body is parsed once, by the SDK.)
        response.read()
        return response

    def close(self) -> None:
        self.inner.close()


class AsyncRetryTransport(_RetryBase, httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport, policy: RetryPolicy | None = None) -> None:
        super().__init__(policy or RetryPolicy())
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        retrying = AsyncRetrying(sleep=self.policy.async_sleep, **self._retry_kwargs())  # type: ignore[arg-type]
        response: httpx.Response = await retrying(self._send, request)
        return response

    async def _send(self, request: httpx.Request) -> httpx.Response:
        _within_budget(request)
        response = await self.inner.handle_async_request(request)
        await response.aread()
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()

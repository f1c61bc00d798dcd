"""The provider's files + batches endpoints, through the openai SDK, with faults turned into ours.

OpenAI's Batch API, and any server that implements the same endpoints (``--base-url``). The
SDK's own retries are off: a ``POST /batches`` whose answer was lost may have created the batch,
so resending it blindly could submit (and bill) the same requests twice. Reads (retrieve, list,
download) are retried here with backoff; a create is retried only after ``find_batch`` has
looked for it by the tag in its metadata (see ``run``).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from summarizer.config import Settings
from summarizer.errors import ConfigError, ProviderError

T = TypeVar("T")

ENDPOINT = "/v1/chat/completions"
TAG_KEY = "summarizer_tag"
_NO_KEY = "no-key-needed"


@dataclass(frozen=True)
class BatchView:
    """What the provider says about one batch."""

    id: str
    status: str
    output_file_id: str | None
    error_file_id: str | None
    total: int
    completed: int
    failed: int
    errors: str  # the batch's own errors (a file that failed validation), one line

    @property
    def counts(self) -> str:
        return f"{self.completed}/{self.total} done, {self.failed} failed"


class Transient(ProviderError):
    """A fault worth trying again later: a connection error, a timeout, a 429 or a 5xx."""


@dataclass(frozen=True)
class Backoff:
    """Waits between tries of one call (and, in ``run``, between polls)."""

    initial: float = 1.0
    maximum: float = 60.0
    factor: float = 2.0
    tries: int = 6
    sleep: Callable[[float], None] = time.sleep

    def delays(self) -> list[float]:
        delay, out = self.initial, []
        for _ in range(self.tries - 1):
            out.append(delay)
            delay = min(self.maximum, delay * self.factor)
        return out


class BatchEndpoint:
    def __init__(self, settings: Settings, *, backoff: Backoff | None = None) -> None:
        import openai

        if settings.api_key is None and settings.base_url is None:
            raise ConfigError(
                "no API key: set OPENAI_API_KEY (or give --base-url for a server that needs none)"
            )
        self.backoff = backoff or Backoff()
        self.client = openai.OpenAI(
            api_key=settings.api_key or _NO_KEY,
            base_url=settings.base_url,
            max_retries=0,
            timeout=settings.timeout,
        )

    # -- calls --------------------------------------------------------------------------

    def upload(self, path: Path, name: str) -> str:
        with path.open("rb") as handle:
            uploaded = self._once(lambda: self.client.files.create(file=(name, handle), purpose="batch"))
        return str(uploaded.id)

    def find_upload(self, name: str, size: int) -> str | None:
        """An upload of ours from an earlier try (same name and size), so it is not sent twice."""
        page = self._retrying(lambda: self.client.files.list(purpose="batch"))
        for file in page:
            if file.filename == name and file.bytes == size:
                return str(file.id)
        return None

    def create(self, file_id: str, tag: str, window: str = "24h") -> BatchView:
        """One try; a ``Transient`` fault means the batch may or may not exist: ``find_batch`` it."""
        return _view(
            self._once(
                lambda: self.client.batches.create(
                    input_file_id=file_id,
                    endpoint=ENDPOINT,
                    completion_window=window,  # type: ignore[arg-type]
                    metadata={TAG_KEY: tag},
                )
            )
        )

    def find_batch(self, tag: str, since: float) -> BatchView | None:
        """Our batch with ``tag``, created after ``since`` (newest first, so the search is short)."""
        page = self._retrying(lambda: self.client.batches.list(limit=100))
        for batch in page:  # the SDK fetches further pages as we go
            if (batch.metadata or {}).get(TAG_KEY) == tag:
                return _view(batch)
            if batch.created_at < since - 3600:
                return None
        return None

    def retrieve(self, batch_id: str) -> BatchView:
        return _view(self._retrying(lambda: self.client.batches.retrieve(batch_id)))

    def cancel(self, batch_id: str) -> BatchView:
        return _view(self._retrying(lambda: self.client.batches.cancel(batch_id)))

    def download(self, file_id: str, dest: Path) -> None:
        """Stream a file's content to ``dest`` (atomically: whole, or not there)."""

        def fetch() -> None:
            tmp = dest.with_name(dest.name + ".part")
            with (
                self.client.files.with_streaming_response.content(file_id) as response,
                tmp.open("wb") as out,
            ):
                for chunk in response.iter_bytes(1 << 20):
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, dest)

        self._retrying(fetch)

    # -- faults ---------------------------------------------------------------------------

    def _once(self, call: Callable[[], T]) -> T:
        try:
            return call()
        except Exception as exc:
            raise _ours(exc) from exc

    def _retrying(self, call: Callable[[], T]) -> T:
        for delay in [*self.backoff.delays(), None]:
            try:
                return self._once(call)
            except Transient:
                if delay is None:
                    raise
                self.backoff.sleep(delay)
        raise AssertionError("unreachable")


def _ours(exc: Exception) -> ProviderError:
    import openai

    if isinstance(exc, ProviderError):
        return exc
    if isinstance(exc, openai.APITimeoutError):
        return Transient("the batch endpoint timed out")
    if isinstance(exc, openai.APIConnectionError):
        return Transient(f"cannot reach the batch endpoint: {exc}")
    if isinstance(exc, openai.APIStatusError):
        message = _message(exc)
        if exc.status_code == 429 or exc.status_code >= 500:
            return Transient(f"the batch endpoint answered HTTP {exc.status_code}: {message}")
        return ProviderError(f"the batch endpoint refused: HTTP {exc.status_code}: {message}")
    return ProviderError(f"the batch endpoint failed: {type(exc).__name__}: {exc}")


def _message(exc: Any) -> str:
    body = getattr(exc, "body", None)
    with contextlib.suppress(AttributeError, TypeError):
        if isinstance(body, dict):
            inner = body.get("error", body)
            if isinstance(inner, dict) and inner.get("message"):
                return " ".join(str(inner["message"]).split())[:300]
    return " ".join(str(exc).split())[:300]


def _view(batch: Any) -> BatchView:
    counts = batch.request_counts
    errors = ""
    if batch.errors is not None and batch.errors.data:
        errors = "; ".join(
            f"{e.code}: {e.message}" + (f" (line {e.line})" if e.line else "") for e in batch.errors.data[:3]
        )
    return BatchView(
        id=str(batch.id),
        status=str(batch.status),
        output_file_id=batch.output_file_id,
        error_file_id=batch.error_file_id,
        total=counts.total if counts else 0,
        completed=counts.completed if counts else 0,
        failed=counts.failed if counts else 0,
        errors=errors,
    )

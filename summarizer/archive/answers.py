"""Each provider answer, judged: final (a record for the output) or sent back as next round's request.

A draft that fails validation while rounds remain becomes the re-ask a live call would send:
the stored answer is served as the first attempt of a live call with one re-ask left, and the
request the pipeline then builds (the article, the failed draft and its problems, as in
``extract.reask``) is captured instead of sent. On the last round an answer is imported as
``batch-import`` does (salvage, ``--strict``). A provider-side failure that may pass on a second
try (the batch expired or was cancelled before the request ran, a 5xx, a 429) is resent as the
same request in the next round; other failures are final.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

import httpx

from summarizer.batch.items import BatchItem
from summarizer.batch.provider_api import (
    BATCH_URL,
    RequestExporter,
    _Captured,
    _offline,
    _offline_settings,
    _quiet_instructor,
    answer_body,
    import_entry,
    offline_importer,
)
from summarizer.batch.runner import error_record, success_record
from summarizer.errors import ConfigError, InputError, ProviderError
from summarizer.pipeline import Summarizer
from summarizer.schema import Usage

Record = dict[str, Any]

# Error codes of a Batch API line that say "not run", not "refused": worth one more round.
RETRYABLE_CODES = frozenset(
    {"batch_expired", "batch_cancelled", "server_error", "rate_limit_exceeded", "timeout", "internal_error"}
)

FINAL, REASK, RESEND = "final", "reask", "resend"


@dataclass(frozen=True)
class Judged:
    kind: str  # FINAL (record), REASK or RESEND (request for the next round)
    record: Record | None = None
    request: Record | None = None
    usage: Usage = field(default_factory=Usage)


class _AnswerThenCapture(httpx.BaseTransport):
    """The first request of a call gets the stored answer; the next (the re-ask) is captured."""

    def __init__(self) -> None:
        self.body = b""
        self.served = False

    def load(self, body: dict[str, Any]) -> None:
        self.body, self.served = json.dumps(body, ensure_ascii=False).encode("utf-8"), False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        _quiet_instructor()
        if self.served:
            raise _Captured(json.loads(request.read()), request.url.path)
        self.served = True
        return httpx.Response(200, content=self.body, headers={"content-type": "application/json"})


class Judge:
    def __init__(self, summarizer: Summarizer) -> None:
        settings = summarizer.settings
        self._final = offline_importer(summarizer)
        self._transport = _AnswerThenCapture()
        self._reasking = Summarizer(
            _offline_settings(settings, max_reasks=1, retry=replace(settings.retry, max_retries=0)),
            transport=self._transport,
            cache=None,
            prices=summarizer.prices,
        )
        self._exporter = RequestExporter(summarizer)

    def judge(self, item: BatchItem, entry: dict[str, Any], *, last_round: bool) -> Judged:
        usage = _usage(entry)
        try:
            body = answer_body(entry)
        except ProviderError as exc:
            if not last_round and retryable(entry):
                return self.resend(item, usage)
            return Judged(FINAL, record=error_record(item, exc), usage=usage)
        if last_round:
            return Judged(FINAL, record=import_entry(self._final, item, entry), usage=usage)
        self._transport.load(body)
        quiet = _offline.set(True)
        try:
            summary = self._reasking.summarize(item.text)
        except _Captured as captured:
            request = {"custom_id": item.id, "method": "POST", "url": BATCH_URL, "body": captured.body}
            return Judged(REASK, request=request, usage=usage)
        except ConfigError:
            raise  # the run's, not the article's
        except Exception as exc:  # one article's failure never stops the import
            return Judged(FINAL, record=error_record(item, exc), usage=usage)
        finally:
            _offline.reset(quiet)
        return Judged(FINAL, record=success_record(item, summary), usage=usage)

    def resend(self, item: BatchItem, usage: Usage | None = None) -> Judged:
        """The article's first request again (it never ran, or the provider failed it)."""
        try:
            return Judged(RESEND, request=self._exporter.request(item), usage=usage or Usage())
        except InputError as exc:
            return Judged(FINAL, record=error_record(item, exc), usage=usage or Usage())


def retryable(entry: dict[str, Any]) -> bool:
    error = entry.get("error")
    if isinstance(error, dict) and error.get("code") in RETRYABLE_CODES:
        return True
    response = entry.get("response")
    status = response.get("status_code") if isinstance(response, dict) else None
    return isinstance(status, int) and (status == 429 or status >= 500)


def _usage(entry: dict[str, Any]) -> Usage:
    """What the provider billed for this line (nothing for an error line)."""
    response = entry.get("response")
    body = response.get("body") if isinstance(response, dict) else None
    usage = body.get("usage") if isinstance(body, dict) else None
    if not isinstance(usage, dict):
        return Usage()
    prompt, completion = int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)
    return Usage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion)


def with_carried(record: Record, carried: tuple[int, int, int] | None, cost: Any) -> Record:
    """``record`` with what earlier rounds paid for the article added (usage, attempts, cost).

    ``cost(usage) -> float | None`` prices a ``Usage`` at the run's (Batch API) prices.
    """
    if carried is None:
        return record
    prompt, completion, answers = carried
    earlier = Usage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion)
    meta = record.get("summary", {}).get("meta") if record.get("status") == "ok" else None
    if meta is not None:
        total = Usage.model_validate(meta["usage"]) + earlier
        meta.update(
            usage=total.model_dump(),
            attempts=meta["attempts"] + answers,
            reasks=meta["reasks"] + answers,
            cost_usd=cost(total),
        )
    else:
        total = Usage.model_validate(record.get("usage") or {}) + earlier
        record.update(usage=total.model_dump(), cost_usd=cost(total))
    return record

"""Beyond one machine: a batch as an OpenAI Batch API request file, and the provider's output back.

Export runs the real pipeline for each article with a transport that records the
request the openai SDK builds and then aborts the call, so a request line is
exactly what a live call would send (prompt, tools and tool_choice, model,
temperature, seed, output cap) and cannot drift from it. The abort is our own
exception, not an httpx one: ``RetryTransport`` resends only on httpx transport
errors and retryable statuses, the SDK's retries are off and instructor re-asks
only after a parse error, so each article costs exactly one captured request.
Nothing is sent, no cache is read or written and no API key is needed.

Import runs each provider answer through the same pipeline: a transport serves
the stored chat completion as the answer to the one request the pipeline makes,
and validation, grounding, salvage and ``--strict`` work as they do live. There
is no model to re-ask, so import runs with ``max_reasks=0``: a draft that still
fails validation goes through the salvage path (ungrounded claims dropped with a
warning) or becomes an error record.

Memory stays flat in the size of the articles: the provider output is streamed,
and the input is looked up through ``ArticleIndex``, which keeps only each
article's id and where to find it (a file path, or a byte offset into the JSONL
input), reading an article's text when its answer comes in. What grows with the
number of articles is a few sets and dicts of ids, never texts.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import Any

import httpx

from summarizer.batch.article_index import ArticleIndex
from summarizer.batch.items import BatchItem
from summarizer.batch.runner import error_record, success_record
from summarizer.config import Settings
from summarizer.errors import ConfigError, ExtractionError, InputError, ProviderError, SummarizerError
from summarizer.llm.recording import REPLAY_KEY
from summarizer.pipeline import Summarizer

BATCH_URL = "/v1/chat/completions"

__all__ = [
    "ArticleIndex",
    "export_requests",
    "import_results",
    "missing_records",
    "retry_line",
]

Record = dict[str, Any]


# -- quiet: the aborted calls and offline answers are ours, not errors to log ------------------

# True while export or import drives the pipeline in this context. instructor logs every failed
# API call at ERROR level; for an export every call "fails" on purpose, and for an import every
# outcome is already in the record. Only records made in such a context are dropped.
_offline: ContextVar[bool] = ContextVar("summarizer_batch_api_offline", default=False)


class _OfflineFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not _offline.get()


_FILTER = _OfflineFilter()


def _quiet_instructor() -> None:
    """Attach the filter to instructor's loggers (they exist once it is imported; idempotent)."""
    for name in list(logging.root.manager.loggerDict):
        if name == "instructor" or name.startswith("instructor."):
            logger = logging.getLogger(name)
            if _FILTER not in logger.filters:
                logger.addFilter(_FILTER)


def _offline_settings(settings: Settings, **changes: Any) -> Settings:
    # Nothing is sent anywhere: the SDK insists on a key, so give it one that is no secret.
    return replace(settings, api_key=REPLAY_KEY, **changes)


# -- export ------------------------------------------------------------------------------------


class _Captured(SummarizerError):
    """Raised by the capturing transport to end a call once its request is recorded.

    A ``SummarizerError``, so that the pipeline hands it back unchanged (it looks for its own
    errors in the chain the SDK wraps around a transport exception), and not an httpx error, so
    that nothing retries it.
    """

    def __init__(self, body: dict[str, Any], path: str) -> None:
        super().__init__("request captured")
        self.body = body
        self.path = path


class _CaptureTransport(httpx.BaseTransport):
    def handle_request(self, request: httpx.Request) -> httpx.Response:
        _quiet_instructor()
        raise _Captured(json.loads(request.read()), request.url.path)


RejectHook = Callable[[BatchItem, SummarizerError], None]


def export_requests(
    items: Iterable[BatchItem],
    summarizer: Summarizer,
    *,
    on_rejected: RejectHook | None = None,
) -> Iterator[Record]:
    """One Batch API request line per article: exactly the body a live call would send.

    ``summarizer`` supplies the settings (model, mode, sampling, output cap, prompts); its
    transport and cache are not used. An article that cannot be sent (unreadable, empty, too
    long for the model, or a repeated id: the Batch API needs unique ``custom_id`` values) is
    passed to ``on_rejected`` with the reason and left out.
    """
    exporter = RequestExporter(summarizer)
    seen: set[str] = set()
    for item in items:
        try:
            if item.id in seen:
                raise InputError(
                    f"duplicate id {item.id!r}: the Batch API needs unique custom_ids; "
                    "only the first is exported"
                )
            line = exporter.request(item)
        except InputError as exc:
            if on_rejected is not None:
                on_rejected(item, exc)
            continue
        seen.add(item.id)
        yield line


class RequestExporter:
    """Builds request lines one article at a time (for callers that track ids themselves).

    Driving the pipeline for each article costs milliseconds (instructor and the SDK build the
    request anew), which is hours for a million articles. So the pipeline is driven once with a
    placeholder article, and each request is that captured body with the article put where the
    placeholder was (fenced, as ``extract.prompts`` renders it) and its own output cap. It stays
    the pipeline's request: the first article and every ``VERIFY_EVERY``-th are also captured
    the slow way and compared, and any difference (or a placeholder anywhere but the messages)
    drops the template for good.
    """

    VERIFY_EVERY = 1000
    _PLACEHOLDER = "SUMMARIZER-ARTICLE-PLACEHOLDER-5c1f0e"

    def __init__(self, summarizer: Summarizer) -> None:
        self.capture = Summarizer(
            _offline_settings(summarizer.settings),
            transport=_CaptureTransport(),
            cache=None,
            prices=summarizer.prices,
        )
        self._count = 0
        self._template = self._make_template()

    def request(self, item: BatchItem) -> Record:
        """The request line for ``item``, or ``InputError`` saying why it cannot be sent."""
        if "input_error" in item.extra:
            raise InputError(item.extra["input_error"])
        _refuse_chunked(item.text, self.capture.settings)
        self._count += 1
        fast = self._from_template(item.text) if self._template is not None else None
        if fast is None or (self._count - 1) % self.VERIFY_EVERY == 0:
            body = _capture(self.capture, item.text)
            if fast is not None and fast != body:
                logging.getLogger(__name__).warning("request template differs from the pipeline; not used")
                self._template = None
        else:
            body = fast
        return {"custom_id": item.id, "method": "POST", "url": BATCH_URL, "body": body}

    def _make_template(self) -> dict[str, Any] | None:
        body = _capture(self.capture, self._PLACEHOLDER)
        in_strings = sum(
            v.count(self._PLACEHOLDER) for m in body["messages"] for v in m.values() if isinstance(v, str)
        )
        return body if json.dumps(body).count(self._PLACEHOLDER) == in_strings == 1 else None

    def _from_template(self, text: str) -> dict[str, Any] | None:
        from summarizer.extract.prompts import fence
        from summarizer.inputs.files import check_article
        from summarizer.llm.budget import max_output_tokens

        template = self._template
        assert template is not None
        check_article(text)  # what the pipeline refuses, refused alike
        fenced = fence(text)
        messages = [
            {k: v.replace(self._PLACEHOLDER, fenced) if isinstance(v, str) else v for k, v in m.items()}
            for m in template["messages"]
        ]
        body = {**template, "messages": messages}
        cap = max_output_tokens(text, self.capture.settings.max_output_tokens)
        for key in ("max_completion_tokens", "max_tokens"):
            if key in body:
                body[key] = cap
        return body


def _refuse_chunked(text: str, settings: Settings) -> None:
    """A long article is summarized in several requests, one per chunk; a request line holds one.

    Exporting only the first chunk would look fine until import, where the article's other
    chunks have no answer: refuse it here, with the reason, instead.
    """
    from summarizer.extract.chunking import chunk_article
    from summarizer.llm.catalogue import chunk_tokens_for

    if not text.strip():
        return  # the pipeline says why, as it does for a live call
    chunks = len(chunk_article(text, chunk_tokens_for(text, settings)))
    if chunks > 1:
        raise InputError(
            f"too long for one Batch API request (it is summarized in {chunks} chunks); "
            "summarize it live with `summarizer batch`"
        )


def _capture(capture: Summarizer, text: str) -> dict[str, Any]:
    token = _offline.set(True)
    try:
        capture.summarize(text)
    except _Captured as captured:
        if not captured.path.endswith("/chat/completions"):
            raise AssertionError(f"internal error: the pipeline called {captured.path}") from None
        return captured.body
    finally:
        _offline.reset(token)
    raise AssertionError("internal error: the pipeline returned without sending a request")


# -- import --------------------------------------------------------------------------------------


@dataclass
class _Stored:
    body: bytes
    served: bool = False


_stored: ContextVar[_Stored | None] = ContextVar("summarizer_batch_api_stored", default=None)


class _StoredAnswerTransport(httpx.BaseTransport):
    """Answers the first request of the call in progress with the provider's stored body."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        _quiet_instructor()
        stored = _stored.get()
        if stored is None or stored.served:
            # Unreachable with max_reasks=0; if it were reached, no model is there to answer.
            raise ExtractionError(
                "the stored answer needs a re-ask, which an import cannot make; re-ask it live"
            )
        stored.served = True
        return httpx.Response(200, content=stored.body, headers={"content-type": "application/json"})


SkipHook = Callable[[str], None]


def import_results(
    output_lines: Iterable[str | bytes],
    items_by_id: Mapping[str, BatchItem],
    summarizer: Summarizer,
    *,
    skip: set[str] | frozenset[str] = frozenset(),
    origin: str = "the provider output",
    on_skipped: SkipHook | None = None,
) -> Iterator[Record]:
    """One ``summarizer batch`` record per line of a Batch API output (or error) file.

    Each answer goes through the pipeline as a live answer would, with ``summarizer``'s
    settings (model and prices for ``meta``, mode, strictness) and no re-asks; the article
    comes from ``items_by_id[custom_id]``. Provider-side failures, unknown ids and answers
    that do not validate become error records. Ids in ``skip`` (already done) are passed to
    ``on_skipped`` instead. A line that is not a Batch API output line at all raises
    ``InputError`` naming ``origin`` and the line number.
    """
    offline = offline_importer(summarizer)
    for number, line in enumerate(output_lines, 1):
        if not line.strip():
            continue
        entry = output_entry(line, origin, number)
        custom_id: str = entry["custom_id"]
        if custom_id in skip:
            if on_skipped is not None:
                on_skipped(custom_id)
            continue
        item = items_by_id.get(custom_id)
        if item is None:
            unknown = BatchItem(id=custom_id, text="")
            yield error_record(
                unknown,
                InputError(f"{origin}:{number}: no article with id {custom_id!r} in the input"),
            )
            continue
        yield import_entry(offline, item, entry)


def offline_importer(summarizer: Summarizer) -> Summarizer:
    """A ``Summarizer`` that answers its one request with the stored answer of ``import_entry``.

    ``summarizer``'s settings and prices, no re-asks, no transport retries, no cache (a cached
    summary is not the provider's answer; nor is this one worth keeping).
    """
    return Summarizer(
        _offline_settings(
            summarizer.settings,
            max_reasks=0,
            retry=replace(summarizer.settings.retry, max_retries=0),
        ),
        transport=_StoredAnswerTransport(),
        cache=None,
        prices=summarizer.prices,
    )


def output_entry(line: str | bytes, origin: str, number: int) -> dict[str, Any]:
    """A Batch API output line, checked for the shape that import relies on."""
    where = f"{origin}:{number}"
    try:
        entry = json.loads(line)
    except ValueError:
        raise InputError(f"{where}: not a JSON object") from None
    if not isinstance(entry, dict):
        raise InputError(f"{where}: not a JSON object")
    if not isinstance(entry.get("custom_id"), str):
        raise InputError(f'{where}: no "custom_id": not a Batch API output line')
    if "response" not in entry and "error" not in entry:
        raise InputError(
            f'{where}: neither "response" nor "error": a request line, not the provider\'s output?'
        )
    response = entry.get("response")
    if response is not None and not isinstance(response, dict):
        raise InputError(f'{where}: "response" must be an object or null')
    if isinstance(response, dict) and not isinstance(response.get("status_code", 200), int):
        raise InputError(f'{where}: "response.status_code" must be an integer')
    return entry


def import_entry(offline: Summarizer, item: BatchItem, entry: dict[str, Any]) -> Record:
    """The record of one checked output line (``output_entry``), through ``offline_importer``."""
    try:
        if "input_error" in item.extra:
            raise InputError(item.extra["input_error"])
        body = answer_body(entry)
        stored = _stored.set(_Stored(json.dumps(body, ensure_ascii=False).encode("utf-8")))
        quiet = _offline.set(True)
        try:
            summary = offline.summarize(item.text)
        finally:
            _offline.reset(quiet)
            _stored.reset(stored)
    except ConfigError:
        raise  # the run's, not the article's: an unknown mode would fail every article alike
    except Exception as exc:  # one article's failure never stops the import
        return error_record(item, exc)
    return success_record(item, summary)


def answer_body(entry: dict[str, Any]) -> dict[str, Any]:
    """The chat completion the provider answered with, or a ``ProviderError`` naming its failure."""
    response = entry.get("response")
    error = entry.get("error")
    status = response.get("status_code", 200) if isinstance(response, dict) else None
    body = response.get("body") if isinstance(response, dict) else None
    request_id = response.get("request_id") if isinstance(response, dict) else None
    where = f" (request {request_id})" if request_id else ""
    if error is not None:
        http = f" HTTP {status}," if status not in (None, 200) else ""
        raise ProviderError(f"the provider reported an error{where}:{http} {_describe(error)}")
    if response is None:
        raise ProviderError("the provider's line has neither a response nor an error")
    if status != 200:
        detail = body.get("error", body) if isinstance(body, dict) else body
        described = f": {_describe(detail)}" if detail else ""
        raise ProviderError(f"the provider answered HTTP {status}{where}{described}")
    if not isinstance(body, dict):
        raise ProviderError(f"the provider answered HTTP 200{where} without a chat completion body")
    return body


def _describe(error: Any, limit: int = 300) -> str:
    """A provider's error (OpenAI's {"code", "message"}, vLLM's string, anything) as one short line."""
    if isinstance(error, dict):
        message = error.get("message")
        code = error.get("code") or error.get("type")
        text = f"{code}: {message}" if code and message else str(message or code or json.dumps(error))
    else:
        text = str(error)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def missing_records(items_by_id: Mapping[str, BatchItem], answered: set[str]) -> Iterator[Record]:
    """An error record for each input article whose id is not in ``answered``.

    The Batch API leaves out what it never ran (an expired or cancelled batch puts nothing in
    the output file for them); articles that export refused are here too, with that reason.
    """
    for item_id in items_by_id:
        if item_id in answered:
            continue
        item = items_by_id[item_id]
        if "input_error" in item.extra:
            yield error_record(item, InputError(item.extra["input_error"]))
        elif not item.text.strip():
            yield error_record(item, InputError("the article is empty: there is no article to summarize"))
        else:
            yield error_record(
                item,
                ProviderError(
                    "no answer in the provider output (not exported, or the batch expired or was "
                    "cancelled before it ran); re-ask it live"
                ),
            )


def retry_line(item: BatchItem) -> Record | None:
    """An input line for ``summarizer batch`` to re-ask ``item`` live (None: nothing to re-ask)."""
    if "input_error" in item.extra or not item.text.strip():
        return None
    return {"id": item.id, "text": item.text, **item.extra}

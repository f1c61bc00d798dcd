"""Cassettes: record LLM exchanges once, replay them forever.

A cassette is one readable JSON file. Each interaction holds the request body
as sent (model, messages, tools or response_format, sampling parameters) and
the response body as received, keyed by a fingerprint of the request: the
SHA-256 of its canonical JSON with volatile fields left out. Headers are never
stored, so API keys cannot reach a cassette; any known secret that still
appears in a body is redacted before writing.

``CassetteTransport`` is an httpx transport, so replay runs the real openai SDK
and instructor, parsing, validation and re-asks included. In replay mode it
has no network transport at all.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import httpx

from summarizer.config import Settings
from summarizer.errors import ConfigError, OutputError, SummarizerError
from summarizer.llm.ledger import current_ledger
from summarizer.outputs.atomic import write_atomic
from summarizer.schema import Usage

CASSETTE_VERSION = 1
CASSETTE_FILE = "cassette.json"
# Fields that may differ between two sends of the same logical request.
VOLATILE_FIELDS = frozenset({"user", "metadata", "store", "stream_options", "service_tier"})
REDACTED = "[REDACTED]"
# The SDK insists on an API key; a replay never sends it anywhere.
REPLAY_KEY = "replay-needs-no-key"


class RecordMode(StrEnum):
    RECORD = "record"  # call the provider, save every exchange
    REPLAY = "replay"  # never touch the network
    REPLAY_OR_RECORD = "replay_or_record"  # replay what exists, record what is missing


class RecordingMissingError(SummarizerError):
    """Replay met a request that the cassette does not hold."""

    exit_code = 6


def canonical_request(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k not in VOLATILE_FIELDS}


def fingerprint(body: dict[str, Any]) -> str:
    canonical = json.dumps(canonical_request(body), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


@dataclass
class Interaction:
    fingerprint: str
    request: dict[str, Any]
    response: dict[str, Any]
    status: int = 200

    def to_json(self) -> dict[str, Any]:
        return {
            "fingerprint": self.fingerprint,
            "request": self.request,
            "response": {"status": self.status, "body": self.response},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Interaction:
        return cls(
            fingerprint=data["fingerprint"],
            request=data["request"],
            response=data["response"]["body"],
            status=data["response"].get("status", 200),
        )


def _json_kind(value: Any) -> str:
    kinds = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}
    return kinds.get(type(value), "a number")


def _shape_problem(index: int, raw: Any) -> str | None:
    """What is structurally wrong with ``interactions[index]``, or None: checked before any replay."""
    where = f"interactions[{index}]"
    if not isinstance(raw, dict):
        return f"{where} is {_json_kind(raw)}, not an object"
    expected = (("fingerprint", str), ("request", dict), ("response", dict))
    for name, kind in expected:
        if name not in raw:
            return f'{where} has no "{name}"'
        if not isinstance(raw[name], kind):
            return f'{where}."{name}" is {_json_kind(raw[name])}, not {_json_kind(kind())}'
    response = raw["response"]
    if not isinstance(response.get("body"), dict):
        return (
            f'{where}.response has no "body" object'
            if "body" not in response
            else (f'{where}.response."body" is {_json_kind(response["body"])}, not an object')
        )
    if not isinstance(response.get("status", 200), int) or isinstance(response.get("status"), bool):
        return f'{where}.response."status" is {_json_kind(response["status"])}, not a number'
    return None


@dataclass
class Cassette:
    """An ordered list of interactions plus a statement of where they came from."""

    origin: dict[str, Any]
    interactions: list[Interaction] = field(default_factory=list)

    @classmethod
    def load(cls, path: Path) -> Cassette:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"no cassette at {path}") from None
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read cassette {path}: {exc}") from None
        # The whole shape is checked here, so that a hand-edited or truncated cassette is one
        # clear error for its case, never an AttributeError deep inside a replay.
        if not isinstance(data, dict):
            raise ConfigError(f"cassette {path} is {_json_kind(data)}, not a cassette object")
        if data.get("cassette_version") != CASSETTE_VERSION:
            raise ConfigError(
                f"cassette {path} has version {data.get('cassette_version')!r}; "
                f"this summarizer reads version {CASSETTE_VERSION}"
            )
        origin = data.get("origin", {})
        if not isinstance(origin, dict):
            raise ConfigError(f'cassette {path}: "origin" is {_json_kind(origin)}, not an object')
        interactions = data.get("interactions", [])
        if not isinstance(interactions, list):
            raise ConfigError(f'cassette {path}: "interactions" is {_json_kind(interactions)}, not a list')
        for index, raw in enumerate(interactions):
            problem = _shape_problem(index, raw)
            if problem:
                raise ConfigError(f"cassette {path}: {problem}")
        return cls(origin=origin, interactions=[Interaction.from_json(i) for i in interactions])

    def to_text(self, secrets: Iterable[str] = ()) -> str:
        text = json.dumps(
            {
                "cassette_version": CASSETTE_VERSION,
                "origin": self.origin,
                "interactions": [i.to_json() for i in self.interactions],
            },
            indent=2,
            ensure_ascii=False,
        )
        for secret in secrets:
            if secret:
                text = text.replace(secret, REDACTED)
        return text + "\n"

    def find(self, fp: str, skip: int = 0) -> Interaction | None:
        matches = [i for i in self.interactions if i.fingerprint == fp]
        if not matches:
            return None
        return matches[min(skip, len(matches) - 1)]


def recorded_origin(provider: str, model: str, base_url: str | None = None) -> dict[str, Any]:
    from importlib.metadata import version

    origin: dict[str, Any] = {
        "source": "recorded",
        "provider": provider,
        "model": model,
        "recorded_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
        "summarizer_version": version("summarizer"),
    }
    if base_url:
        origin["base_url"] = base_url
    if provider == "local":
        from summarizer.llm.local import runtime_origin

        origin.update(runtime_origin())
    return origin


class CassetteTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """Serve chat completions from a cassette, recording into it where the mode allows."""

    def __init__(
        self,
        path: Path,
        mode: RecordMode,
        *,
        origin: dict[str, Any] | None = None,
        inner: httpx.BaseTransport | None = None,
        async_inner: httpx.AsyncBaseTransport | None = None,
        secrets: Iterable[str] = (),
    ) -> None:
        self.path = path
        self.mode = mode
        self._secrets = tuple(s for s in secrets if s)
        self._lock = threading.Lock()
        self._served: dict[str, int] = {}
        if mode is RecordMode.REPLAY or path.exists():
            self.cassette = Cassette.load(path)
        else:
            self.cassette = Cassette(origin=origin or {"source": "recorded"})
        if mode is RecordMode.RECORD:
            # A fresh recording replaces the old one: its origin is the provider called now.
            self.cassette = Cassette(origin=origin or {"source": "recorded"})
        self._inner = inner
        self._async_inner = async_inner

    # -- replay -----------------------------------------------------------------------

    def _replay(self, body: dict[str, Any]) -> httpx.Response | None:
        if self.mode is RecordMode.RECORD:
            return None
        fp = fingerprint(body)
        with self._lock:
            served = self._served.get(fp, 0)
            interaction = self.cassette.find(fp, served)
            if interaction is not None:
                self._served[fp] = served + 1
        if interaction is None:
            if self.mode is RecordMode.REPLAY:
                raise RecordingMissingError(self._missing_message(fp, body))
            return None
        return httpx.Response(interaction.status, json=interaction.response)

    def _missing_message(self, fp: str, body: dict[str, Any]) -> str:
        problems = _reask_problems(body)
        if problems and not any(_reask_problems(i.request) == problems for i in self.cassette.interactions):
            # The recording was replayed, failed our checks, and we asked again: say what failed.
            return (
                f"the answer recorded in {self.path} fails validation: {problems}; "
                f"the cassette holds no re-ask for it (request {fp}). The article, the prompts or "
                "the checks changed since it was recorded: re-record with --record or --replay-or-record."
            )
        closest = closest_difference(body, [i.request for i in self.cassette.interactions])
        where = f" Closest recording: {closest}." if closest else " The cassette is empty."
        return (
            f"no recording for request {fp} in {self.path}.{where} "
            "Re-record with --record or --replay-or-record."
        )

    # -- record -----------------------------------------------------------------------

    def _store(self, body: dict[str, Any], response: httpx.Response) -> None:
        if response.status_code != 200:
            return  # faults are the transport retry's business, not part of the story
        try:
            payload = json.loads(response.content)
        except ValueError:
            return
        with self._lock:
            self.cassette.interactions.append(
                Interaction(fingerprint=fingerprint(body), request=canonical_request(body), response=payload)
            )
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(self.path, self.cassette.to_text(self._secrets))

    def _keep(self, body: dict[str, Any], response: httpx.Response) -> None:
        try:
            self._store(body, response)
        except OutputError:
            # The answer was paid for though it cannot be kept: the article's totals must say so
            # (usage is booked from the completion the SDK parses, which this one never reaches).
            _book_unkept(response)
            raise

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = _body(request)
        replayed = self._replay(body)
        if replayed is not None:
            return replayed
        if self._inner is None:
            raise RecordingMissingError(f"recording needs a network transport ({self.path})")
        response = self._inner.handle_request(request)
        response.read()
        self._keep(body, response)
        return response

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = _body(request)
        replayed = self._replay(body)
        if replayed is not None:
            return replayed
        if self._async_inner is None:
            raise RecordingMissingError(f"recording needs a network transport ({self.path})")
        response = await self._async_inner.handle_async_request(request)
        await response.aread()
        self._keep(body, response)
        return response


def _book_unkept(response: httpx.Response) -> None:
    ledger = current_ledger()
    if ledger is None:
        return
    try:
        raw = json.loads(response.content).get("usage") or {}
        usage = Usage(
            prompt_tokens=int(raw.get("prompt_tokens") or 0),
            completion_tokens=int(raw.get("completion_tokens") or 0),
            total_tokens=int(raw.get("total_tokens") or 0),
        )
    except (ValueError, AttributeError, TypeError):
        usage = Usage()  # not a completion: nothing to count but the answer itself
    ledger.add_response(usage)


def _body(request: httpx.Request) -> dict[str, Any]:
    try:
        data = json.loads(request.read() or b"{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _reask_problems(body: dict[str, Any]) -> str | None:
    """The problems a re-ask request lists (our re-ask turn is the last message), one line; else None.

    Both of our re-ask turns open by saying the summary "cannot be accepted yet": the full one
    lists its problems as "- ..." lines, the targeted one (extract.repair) as "  problem: ..." lines.
    """
    messages = body.get("messages")
    last = messages[-1] if isinstance(messages, list) and messages else None
    content = last.get("content") if isinstance(last, dict) else None
    if not isinstance(content, str) or "cannot be accepted yet" not in content.split("\n", 1)[0]:
        return None
    rest = content.splitlines()[1:]
    targeted = [
        line.strip().removeprefix("problem:").strip() for line in rest if line.strip().startswith("problem:")
    ]
    lines = targeted or [line.removeprefix("- ").strip() for line in rest if line.startswith("- ")]
    if not lines:
        return None
    shown = "; ".join(lines[:3])
    return shown + (f" (and {len(lines) - 3} more)" if len(lines) > 3 else "")


def closest_difference(body: dict[str, Any], recorded: list[dict[str, Any]]) -> str | None:
    """Say how ``body`` differs from the most similar recorded request, in words."""
    if not recorded:
        return None
    described = [_differences(canonical_request(body), r) for r in recorded]
    best = min(described, key=len)
    return "; ".join(best[:3]) if best else "identical apart from volatile fields"


def _differences(now: dict[str, Any], then: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for key in sorted(set(now) | set(then)):
        if now.get(key) == then.get(key):
            continue
        if key == "messages":
            out.extend(_message_differences(now.get(key) or [], then.get(key) or []))
        elif key in ("tools", "response_format", "tool_choice"):
            out.append(f"{key} changed (the schema or mode changed)")
        elif key not in now or key not in then:
            out.append(f"{key} {'added' if key in now else 'removed'}")
        else:
            out.append(f"{key} changed: recorded {then[key]!r}, now {now[key]!r}")
    return out


def _message_differences(now: list[dict[str, Any]], then: list[dict[str, Any]]) -> list[str]:
    out = []
    if len(now) != len(then):
        out.append(f"{len(now)} messages now, {len(then)} recorded (a re-ask went differently)")
    for i, (a, b) in enumerate(zip(now, then, strict=False)):
        if a == b:
            continue
        role = a.get("role", "?")
        what = {"system": "the system prompt changed", "user": "the article or user prompt changed"}.get(
            role, "the conversation changed"
        )
        out.append(
            f"messages[{i}] ({role}) differs: {what}{_first_change(a.get('content'), b.get('content'))}"
        )
    return out


def _first_change(now: Any, then: Any) -> str:
    if not isinstance(now, str) or not isinstance(then, str):
        return ""
    matcher = difflib.SequenceMatcher(None, then, now, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "equal":
            return (
                f" (at character {j1}: recorded {then[i1 : i2 + 20][:40]!r}, now {now[j1 : j2 + 20][:40]!r})"
            )
    return ""


def open_cassette(directory: Path, mode: RecordMode, settings: Settings) -> CassetteTransport:
    """The cassette transport for ``directory/cassette.json``, wired to the network when recording."""
    from summarizer.llm.client import async_network_transport, network_transport

    path = directory / CASSETTE_FILE
    if mode is RecordMode.REPLAY:
        return CassetteTransport(path, mode)
    return CassetteTransport(
        path,
        mode,
        origin=recorded_origin(settings.provider, settings.model, settings.base_url),
        inner=network_transport(settings),
        async_inner=async_network_transport(settings),
        secrets=[settings.api_key or ""],
    )

"""Request files within a provider's limits, written as the requests stream by.

OpenAI's Batch API takes at most 50,000 requests and 200 MB per input file; a vLLM or other
server may take less, so both limits are settings. A line is counted in bytes exactly as
written (UTF-8, with its newline), so a file never passes ``max_bytes``. Memory holds one line.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from summarizer.llm.budget import projected_prompt_tokens
from summarizer.llm.pricing import Price
from summarizer.schema import Usage

# OpenAI's documented limits for one batch input file.
MAX_REQUESTS = 50_000
MAX_BYTES = 200_000_000  # "200 MB": read as decimal, the smaller of the two readings


@dataclass(frozen=True)
class Limits:
    max_requests: int = MAX_REQUESTS
    max_bytes: int = MAX_BYTES

    def __post_init__(self) -> None:
        if self.max_requests < 1 or self.max_bytes < 2:
            raise ValueError("a request file must hold at least one request")


@dataclass
class Part:
    """One request file of a round: where it is and what it holds."""

    number: int
    path: Path
    requests: int = 0
    bytes: int = 0
    # The most the file can cost: every prompt (estimated high) and every output cap in full.
    projected: Usage = field(default_factory=Usage)

    def projected_usd(self, price: Price | None) -> float | None:
        return None if price is None else price.cost(self.projected)


def request_bytes(request: dict[str, Any]) -> bytes:
    return (json.dumps(request, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")


def projected_usage(request: dict[str, Any]) -> Usage:
    """A request's worst case: its prompt estimated high, and every output token it may write."""
    body = request.get("body") or {}
    prompt = projected_prompt_tokens(list(body.get("messages") or []))
    completion = int(body.get("max_tokens") or body.get("max_completion_tokens") or 0)
    return Usage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion)


class PartWriter:
    """Writes request lines into numbered files, starting a new one before a limit would pass."""

    def __init__(self, limits: Limits, path_for: Callable[[int], Path]) -> None:
        self.limits = limits
        self._path_for = path_for
        self.parts: list[Part] = []
        self._handle: Any = None

    def add(self, request: dict[str, Any]) -> bool:
        """Write ``request``; False (and nothing written) if it alone is over the byte limit."""
        data = request_bytes(request)
        if len(data) > self.limits.max_bytes:
            return False
        part = self.parts[-1] if self.parts else None
        if (
            part is None
            or part.requests >= self.limits.max_requests
            or part.bytes + len(data) > self.limits.max_bytes
        ):
            part = self._start()
        self._handle.write(data)
        part.requests += 1
        part.bytes += len(data)
        part.projected = part.projected + projected_usage(request)
        return True

    def _start(self) -> Part:
        self._finish()
        number = len(self.parts) + 1
        part = Part(number=number, path=self._path_for(number))
        part.path.parent.mkdir(parents=True, exist_ok=True)
        self._handle = part.path.open("wb")
        self.parts.append(part)
        return part

    def _finish(self) -> None:
        if self._handle is not None:
            self._handle.flush()
            os.fsync(self._handle.fileno())
            self._handle.close()
            self._handle = None

    def close(self) -> list[Part]:
        self._finish()
        return self.parts

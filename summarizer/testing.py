"""Test models instead of mocks: an in-process LLM that speaks the OpenAI wire format.

``ScriptedLLM`` is an httpx transport. Plug it into a ``Summarizer`` and the real
openai SDK and instructor run unchanged against it: it answers each chat
completion request with the next scripted reply and keeps every request body,
so a test can assert what was actually sent (re-ask messages included).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx

TOOL_NAME = "DraftSummary"


def tool_call_completion(
    arguments: dict[str, Any] | str,
    *,
    model: str = "test-model",
    prompt_tokens: int = 100,
    completion_tokens: int = 50,
    tool_name: str = TOOL_NAME,
    completion_id: str = "chatcmpl-test",
) -> dict[str, Any]:
    """An OpenAI chat completion whose answer is a call of ``tool_name`` with ``arguments``."""
    args = arguments if isinstance(arguments, str) else json.dumps(arguments, ensure_ascii=False)
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": 1_764_000_000,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": f"call_{completion_id}",
                            "type": "function",
                            "function": {"name": tool_name, "arguments": args},
                        }
                    ],
                },
                "finish_reason": "tool_calls",
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


@dataclass(frozen=True)
class Reply:
    """One scripted answer: a status, a JSON body (or raw bytes) and headers."""

    body: dict[str, Any] | bytes
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)

    def to_response(self) -> httpx.Response:
        if isinstance(self.body, bytes):
            return httpx.Response(self.status, content=self.body, headers=self.headers)
        return httpx.Response(self.status, json=self.body, headers=self.headers)


def rate_limited(retry_after: float = 0) -> Reply:
    return Reply(
        {"error": {"message": "Rate limit reached", "type": "rate_limit_error"}},
        status=429,
        headers={"retry-after": str(retry_after)},
    )


class ScriptedLLM(httpx.MockTransport):
    """Answers requests with ``replies`` in order; records each request's JSON body."""

    def __init__(self, replies: Iterable[Reply | dict[str, Any]]) -> None:
        self._replies = [r if isinstance(r, Reply) else Reply(r) for r in replies]
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        super().__init__(self._answer)

    def _answer(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.requests.append(json.loads(request.content or b"{}"))
            index = len(self.requests) - 1
            if index >= len(self._replies):
                return httpx.Response(
                    500,
                    json={"error": {"message": f"ScriptedLLM: no reply scripted for request {index + 1}"}},
                )
            return self._replies[index].to_response()

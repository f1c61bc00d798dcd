"""Run settings: options first, then ``SUMMARIZER_*`` / ``OPENAI_*`` environment variables, then defaults."""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

DEFAULT_MODEL = "gpt-4.1-mini"
MODES = ("tools", "json_schema", "json")


@dataclass(frozen=True)
class RetryPolicy:
    """How transport faults are retried. ``max_retries`` counts resends after the first try."""

    max_retries: int = 4
    initial_delay: float = 0.5
    max_delay: float = 20.0
    # Retry-After is honoured up to this many seconds; a longer ask is cut to it.
    max_retry_after: float = 60.0
    jitter: float = 0.25
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)
    async_sleep: Callable[[float], Awaitable[None]] = field(default=asyncio.sleep, compare=False)

    def delay(self, retry_number: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        backoff = min(self.max_delay, self.initial_delay * 2 ** (retry_number - 1))
        return backoff * (1 + random.uniform(-self.jitter, self.jitter))


@dataclass(frozen=True)
class Settings:
    model: str = DEFAULT_MODEL
    # repr=False: a key must never show up in a log line or traceback that prints settings.
    api_key: str | None = field(default=None, repr=False)
    base_url: str | None = None
    mode: str = "tools"
    timeout: float = 120.0
    max_reasks: int = 2
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    temperature: float | None = 0.0
    seed: int | None = None
    strict: bool = False
    prompts_dir: Path | None = None
    context_tokens: int | None = None
    # "openai" (the API, or any OpenAI-compatible server at base_url) or "local" (llama.cpp in-process).
    provider_name: str = "openai"
    model_path: Path | None = None
    # None: derived from the article's length (see budget.max_output_tokens).
    max_output_tokens: int | None = None
    # Chunk size for long articles, in estimated tokens (None: budget.DEFAULT_CHUNK_TOKENS).
    max_input_tokens: int | None = None
    # Spending caps for one article, over every attempt and chunk (None: no cap).
    max_cost_usd: float | None = None
    max_tokens_total: int | None = None
    # Seconds for the whole article, every attempt and retry included.
    time_budget: float = 300.0
    # Most requests open to the provider at once, over every call of one Summarizer (None: no
    # limit). A slot is held while a request is out, not while its answer is checked.
    max_in_flight: int | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **options: Any) -> Settings:
        """Settings from ``options`` (None means unset), else the environment, else defaults."""
        env = os.environ if env is None else env
        from_env: dict[str, Any] = {
            "model": env.get("SUMMARIZER_MODEL"),
            "api_key": env.get("OPENAI_API_KEY"),
            "base_url": env.get("SUMMARIZER_BASE_URL") or env.get("OPENAI_BASE_URL"),
            "mode": env.get("SUMMARIZER_MODE"),
            "provider_name": env.get("SUMMARIZER_PROVIDER"),
        }
        merged = {k: v for k, v in from_env.items() if v}
        merged.update({k: v for k, v in options.items() if v is not None})
        return replace(cls(), **merged)

    @property
    def provider(self) -> str:
        if self.provider_name == "local":
            return "local"
        return "openai" if self.base_url is None else "openai-compatible"

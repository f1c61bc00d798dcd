"""Budgets: how many tokens a model may write before we call it a runaway, and what a run may spend."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from summarizer.config import Settings
from summarizer.errors import ConfigError
from summarizer.llm.ledger import Ledger, current_ledger
from summarizer.llm.pricing import Price, price_for
from summarizer.schema import Usage

# A faithful record runs to about five times the article's length in JSON (the seed article:
# 3.7k characters in, 20k characters out). Tokens are ~4 characters, so 1.6 tokens per
# article character leaves headroom without letting a looping model write forever.
_FLOOR = 1024
_PER_CHARACTER = 1.6
CEILING = 16_384


def max_output_tokens(article: str, override: int | None = None) -> int:
    if override is not None:
        return override
    return min(CEILING, _FLOOR + int(_PER_CHARACTER * len(article)))


# Articles are cut into chunks of at most this many (estimated) tokens: a faithful record of
# 2,500 tokens of article is about 13,000 tokens of JSON, which stays under CEILING.
DEFAULT_CHUNK_TOKENS = 2_500
MIN_CHUNK_TOKENS = 256
# Past this an article is refused outright (about 1.2 million characters, a book rather than a story).
MAX_ARTICLE_TOKENS = 400_000
# Chunks of one article summarized at once by the async API.
CHUNK_CONCURRENCY = 4


def projected_prompt_tokens(messages: list[dict[str, object]]) -> int:
    """A high estimate of a request's prompt: its messages plus the schema the tools carry."""
    text = "".join(str(m.get("content") or "") + str(m.get("tool_calls") or "") for m in messages)
    return len(text) // 3 + SCHEMA_TOKENS


# The DraftSummary tool schema sent with every request, measured at about 1,100 tokens.
SCHEMA_TOKENS = 1_200


# -- spending budgets (--max-cost, --max-tokens-total) ---------------------------------------------
# A call's projected usage is reserved before it is sent and released when it returns, so that
# concurrent calls (the chunks of one article) cannot together pass a budget that each fits alone.


@dataclass(frozen=True)
class Reservation:
    ledger: Ledger | None
    usage: Usage

    def release(self) -> None:
        if self.ledger is not None:
            self.ledger.reserved = self.ledger.reserved - self.usage


NO_RESERVATION = Reservation(None, Usage())


def projected_usage(messages: list[dict[str, Any]], max_tokens: int) -> Usage:
    prompt = projected_prompt_tokens(messages)
    return Usage(prompt_tokens=prompt, completion_tokens=max_tokens, total_tokens=prompt + max_tokens)


class SpendingGate:
    """Decides, under one lock, whether the next call of a ``Summarizer`` may be made."""

    def __init__(self, settings: Settings, prices: Mapping[str, Price]) -> None:
        self.settings = settings
        self.prices = prices
        self._lock = threading.Lock()

    def reserve(self, messages: list[dict[str, Any]], max_tokens: int) -> tuple[str | None, Reservation]:
        """Book the next call's projected usage against the budget, or say why it may not be made."""
        ledger = current_ledger()
        settings = self.settings
        if ledger is None or (settings.max_cost_usd is None and settings.max_tokens_total is None):
            return None, NO_RESERVATION
        projected = projected_usage(messages, max_tokens)
        with self._lock:
            stop = self.over_budget(projected, ledger.usage + ledger.reserved)
            if stop is not None:
                return stop, NO_RESERVATION
            ledger.reserved = ledger.reserved + projected
            return None, Reservation(ledger, projected)

    def over_budget(self, projected: Usage, spent: Usage) -> str | None:
        """Why the next call may not be made (it could pass a budget), or None if it may."""
        settings = self.settings
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

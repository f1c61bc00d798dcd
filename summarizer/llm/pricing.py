"""What tokens cost: a small table of OpenAI prices that users can override.

Prices are US dollars per million tokens (input, output), from OpenAI's pricing
page; they change, so a newsroom can pass its own table (``--pricing FILE`` or
``SUMMARIZER_PRICING``): a JSON object ``{"model": {"input": 0.4, "output": 1.6}}``.
A model with no price counts tokens and reports the cost as unknown (None).

OpenAI's Batch API bills half the list price for both input and output tokens
(``BATCH_API_DISCOUNT``); ``batch_prices`` turns a table into the one a Batch API
run is billed at, so a user's own table is halved alike.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from summarizer.errors import ConfigError
from summarizer.schema import Usage


@dataclass(frozen=True)
class Price:
    input_per_million: float
    output_per_million: float

    def cost(self, usage: Usage) -> float:
        return (
            usage.prompt_tokens * self.input_per_million + usage.completion_tokens * self.output_per_million
        ) / 1_000_000


DEFAULT_PRICES: dict[str, Price] = {
    "gpt-4.1": Price(2.00, 8.00),
    "gpt-4.1-mini": Price(0.40, 1.60),
    "gpt-4.1-nano": Price(0.10, 0.40),
    "gpt-4o": Price(2.50, 10.00),
    "gpt-4o-mini": Price(0.15, 0.60),
    "gpt-5": Price(1.25, 10.00),
    "gpt-5-mini": Price(0.25, 2.00),
    "gpt-5-nano": Price(0.05, 0.40),
    "o4-mini": Price(1.10, 4.40),
}


# The Batch API's price is half the synchronous one, input and output alike (OpenAI's pricing page).
BATCH_API_DISCOUNT = 0.5


def batch_prices(table: Mapping[str, Price] = DEFAULT_PRICES) -> dict[str, Price]:
    """``table`` as the Batch API bills it: every price times ``BATCH_API_DISCOUNT``."""
    return {
        model: Price(
            price.input_per_million * BATCH_API_DISCOUNT, price.output_per_million * BATCH_API_DISCOUNT
        )
        for model, price in table.items()
    }


def price_for(model: str, table: Mapping[str, Price] = DEFAULT_PRICES) -> Price | None:
    """Exact name first, then the longest prefix (dated snapshots share their family's price)."""
    if model in table:
        return table[model]
    prefixes = [name for name in table if model.startswith(name + "-")]
    return table[max(prefixes, key=len)] if prefixes else None


def cost_usd(model: str, usage: Usage, table: Mapping[str, Price] = DEFAULT_PRICES) -> float | None:
    price = price_for(model, table)
    return None if price is None else round(price.cost(usage), 6)


def load_prices(path: Path, base: Mapping[str, Price] = DEFAULT_PRICES) -> dict[str, Price]:
    """``base`` with the entries of a user's JSON price file laid over it."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        overrides = {
            model: Price(float(entry["input"]), float(entry["output"])) for model, entry in data.items()
        }
    except OSError as exc:
        raise ConfigError(f"cannot read price file {path}: {exc.strerror or exc}") from None
    except (ValueError, KeyError, TypeError, AttributeError):
        raise ConfigError(
            f'{path} is not a price table: expected {{"model": {{"input": 0.4, "output": 1.6}}}} '
            "in dollars per million tokens"
        ) from None
    return {**base, **overrides}

"""What we know about models: context windows, for refusing an article before paying for it."""

from __future__ import annotations

# Context windows in tokens, from the providers' model pages. Longest prefix wins,
# so dated snapshots ("gpt-4o-mini-2024-07-18") match their family.
CONTEXT_WINDOWS: dict[str, int] = {
    "gpt-4.1": 1_047_576,
    "gpt-4o": 128_000,
    "gpt-4-turbo": 128_000,
    "gpt-5": 400_000,
    "o3": 200_000,
    "o4-mini": 200_000,
    "gpt-3.5-turbo": 16_385,
}

# What a request needs besides the article: the system prompt and the schema (about 2,300
# tokens measured on SmolLM2's tokenizer), and room for at least a minimal answer.
PROMPT_OVERHEAD_TOKENS = 2_500
MIN_ANSWER_TOKENS = 1_024


def context_window(model: str) -> int | None:
    matches = [prefix for prefix in CONTEXT_WINDOWS if model.startswith(prefix)]
    return CONTEXT_WINDOWS[max(matches, key=len)] if matches else None


def estimate_tokens(text: str) -> int:
    """A deliberately high estimate (3 characters a token; English runs nearer 4)."""
    return len(text) // 3 + 1

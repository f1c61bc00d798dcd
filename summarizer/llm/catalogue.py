"""What we know about models: context windows, for refusing an article before paying for it."""

from __future__ import annotations

from summarizer.config import Settings
from summarizer.errors import InputError
from summarizer.extract.chunking import estimate_tokens
from summarizer.llm.budget import DEFAULT_CHUNK_TOKENS, MAX_ARTICLE_TOKENS, MIN_CHUNK_TOKENS

__all__ = [
    "CONTEXT_WINDOWS",
    "MIN_ANSWER_TOKENS",
    "PROMPT_OVERHEAD_TOKENS",
    "context_window",
    "estimate_tokens",
]

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


def chunk_tokens_for(text: str, settings: Settings) -> int:
    """How many (estimated) tokens of article one request may carry, or why the article is refused.

    Refusing here, before any call, is what keeps a too-long article from being paid for.
    """
    tokens = estimate_tokens(text)
    if tokens > MAX_ARTICLE_TOKENS:
        raise InputError(
            f"the article is too long: about {tokens:,} tokens, over the hard limit of "
            f"{MAX_ARTICLE_TOKENS:,} tokens ({len(text):,} characters); split it into parts"
        )
    chunk_tokens = settings.max_input_tokens or DEFAULT_CHUNK_TOKENS
    window = settings.context_tokens or context_window(settings.model)
    if window is not None:
        room = window - PROMPT_OVERHEAD_TOKENS - MIN_ANSWER_TOKENS
        if room < MIN_CHUNK_TOKENS:
            raise InputError(
                f"{settings.model}'s {window:,}-token context leaves no room for an article "
                f"after the prompt ({PROMPT_OVERHEAD_TOKENS:,} tokens) and a minimal answer"
            )
        chunk_tokens = min(chunk_tokens, room)
    return chunk_tokens

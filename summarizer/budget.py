"""Output budgets: how many tokens a model may write for an article before we call it a runaway."""

from __future__ import annotations

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

"""Split an article that does not fit the model into chunks on paragraph boundaries.

Chunks are spans of the original text (never copies with changed whitespace), so a
quote grounded in a chunk maps to the full article by adding the chunk's start.
A paragraph longer than a chunk is split between sentences, and a sentence longer
than a chunk between words; nothing is ever dropped or overlapped.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

_PARAGRAPH_BREAK = re.compile(r"\n\s*")
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"”’)\]]*\s+")
_SPACE = re.compile(r"\s+")


def estimate_tokens(text: str) -> int:
    """A deliberately high estimate (3 characters a token; English runs nearer 4)."""
    return len(text) // 3 + 1


@dataclass(frozen=True)
class Chunk:
    start: int
    end: int


def _pieces(text: str, start: int, end: int, boundary: re.Pattern[str]) -> list[tuple[int, int]]:
    """Split ``text[start:end]`` after each match of ``boundary`` (the separator stays with the left piece)."""
    pieces = []
    cursor = start
    for match in boundary.finditer(text, start, end):
        if match.end() > cursor and match.end() < end:
            pieces.append((cursor, match.end()))
            cursor = match.end()
    pieces.append((cursor, end))
    return [(a, b) for a, b in pieces if b > a]


def chunk_article(
    text: str, max_tokens: int, count_tokens: Callable[[str], int] = estimate_tokens
) -> list[Chunk]:
    """Consecutive chunks covering all of ``text``, each within ``max_tokens`` where possible."""
    if count_tokens(text) <= max_tokens:
        return [Chunk(0, len(text))]
    units = [
        unit
        for paragraph in _pieces(text, 0, len(text), _PARAGRAPH_BREAK)
        for unit in _fit(text, paragraph, max_tokens, count_tokens)
    ]
    chunks: list[Chunk] = []
    start, end = units[0]
    for unit_start, unit_end in units[1:]:
        if count_tokens(text[start:unit_end]) <= max_tokens:
            end = unit_end
        else:
            chunks.append(Chunk(start, end))
            start, end = unit_start, unit_end
    chunks.append(Chunk(start, end))
    return chunks


def _fit(
    text: str, span: tuple[int, int], max_tokens: int, count_tokens: Callable[[str], int]
) -> list[tuple[int, int]]:
    """``span`` as is if it fits, else its sentences, else its words."""
    if count_tokens(text[span[0] : span[1]]) <= max_tokens:
        return [span]
    sentences = _pieces(text, span[0], span[1], _SENTENCE_END)
    if len(sentences) > 1:
        return [piece for sentence in sentences for piece in _fit(text, sentence, max_tokens, count_tokens)]
    return _pieces(text, span[0], span[1], _SPACE)

"""Locate quotes and names in an article: pure functions over text.

Matching is exact first. Failing that, it tolerates only differences that do not
change meaning: runs of whitespace, typographic versus straight quotes and
apostrophes, dash variants, Unicode composed versus decomposed accents (NFC/NFD),
and a trailing period on a quote. Offsets always
refer to the original article text, so ``article[span.start:span.end]`` is the
text as the article has it (which may differ from the quote in exactly those
tolerated ways).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from functools import lru_cache

from summarizer.schema import Span

_FOLD = str.maketrans(
    {
        **dict.fromkeys("‘’‚‛′ʼ`´", "'"),
        **dict.fromkeys("“”„‟″«»", '"'),
        **dict.fromkeys("‐‑‒–—―−", "-"),
    }
)

# Above this many character comparisons the "closest passage" hint is skipped:
# it is a courtesy for the re-ask message, not worth seconds on a long article.
_HINT_BUDGET = 40_000_000


def fold(text: str) -> str:
    """The comparison form of ``text``: quotes, apostrophes and dashes unified, whitespace collapsed."""
    return _fold_short(text) if len(text) <= 256 else _normalize(text)[0]


@lru_cache(maxsize=8192)
def _fold_short(text: str) -> str:
    # Names and aliases are folded again and again while a draft is checked and resolved.
    return _normalize(text)[0]


def _is_word_char(ch: str) -> bool:
    # Combining accents count as part of a word: "Nicola" is not a mention inside "Nicolás".
    return ch.isalnum() or ch == "_" or "\u0300" <= ch <= "\u036f"


def _normalize(text: str) -> tuple[str, list[int]]:
    """Fold ``text`` and return, for each folded character, its index in ``text``."""
    out: list[str] = []
    index: list[int] = []
    in_space = False
    for i, ch in enumerate(text.translate(_FOLD)):
        if ch.isspace():
            if in_space:
                continue
            in_space = True
            out.append(" ")
            index.append(i)
            continue
        in_space = False
        if ch.isascii():
            out.append(ch)
            index.append(i)
            continue
        # Canonical decomposition, so that "é" typed as one character or as "e" plus a
        # combining accent compares equal; every piece points back at its original character.
        for piece in unicodedata.normalize("NFD", ch):
            out.append(piece)
            index.append(i)
    return "".join(out), index


@dataclass(frozen=True)
class Article:
    """An article's text with the folded form cached, for repeated look-ups."""

    text: str
    _folded: tuple[str, list[int]] = field(init=False, repr=False, compare=False)
    _mentions: dict[str, tuple[Span, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_folded", _normalize(self.text))
        object.__setattr__(self, "_mentions", {})

    def _span(self, folded_start: int, folded_end: int) -> Span:
        index = self._folded[1]
        start = index[folded_start]
        end = index[folded_end - 1] + 1
        # Built from the article itself, so text and offsets agree by construction.
        return Span.model_construct(text=self.text[start:end], start=start, end=end)

    def locate(self, quote: str) -> Span | None:
        """The first place the article says ``quote``, or None if it never does."""
        quote = quote.strip()
        if not quote:
            return None
        start = self.text.find(quote)
        if start >= 0:
            return Span.model_construct(text=quote, start=start, end=start + len(quote))
        folded = self._folded[0]
        for candidate in _variants(fold(quote)):
            at = folded.find(candidate)
            if at >= 0:
                return self._span(at, at + len(candidate))
        return None

    def mentions(self, name: str) -> list[Span]:
        """Every whole-word occurrence of ``name`` (``Khamenei`` in ``Khamenei’s``, not in ``Khameneis``)."""
        needle = fold(name.strip())
        if not needle:
            return []
        cached = self._mentions.get(needle)
        if cached is None:
            cached = tuple(self._find_words(needle))
            self._mentions[needle] = cached
        return list(cached)

    def _find_words(self, needle: str) -> list[Span]:
        # str.find jumps straight to candidates; the word-boundary test runs only on hits.
        folded = self._folded[0]
        found = []
        at = folded.find(needle)
        while at >= 0:
            end = at + len(needle)
            before_ok = at == 0 or not _is_word_char(folded[at - 1])
            after_ok = end == len(folded) or not _is_word_char(folded[end])
            if before_ok and after_ok:
                found.append(self._span(at, end))
            at = folded.find(needle, at + 1)
        return found

    def closest_passage(self, quote: str) -> str | None:
        """The stretch of the article most like ``quote``: a hint for the model when a quote misses."""
        folded_article = self._folded[0]
        needle = fold(quote.strip())
        if not needle or len(folded_article) * len(needle) > _HINT_BUDGET:
            return None
        matcher = SequenceMatcher(None, folded_article, needle, autojunk=False)
        match = matcher.find_longest_match(0, len(folded_article), 0, len(needle))
        if match.size < min(12, len(needle)):
            return None
        start = max(0, match.a - match.b)
        end = min(len(folded_article), start + len(needle))
        return self._span(start, end).text


def _variants(folded_quote: str) -> list[str]:
    variants = [folded_quote]
    if folded_quote.endswith(".") and len(folded_quote) > 1:
        variants.append(folded_quote[:-1].rstrip())
    return variants


def mention_spans(article: Article, names_by_owner: dict[str, list[str]]) -> dict[str, list[Span]]:
    """Mentions for several owners at once; where names overlap, the longest wins.

    "Moscow" inside "Moscow State University" belongs to the university, and
    "Assad" inside "Bashar al-Assad" is one mention, not two.
    """
    found: list[tuple[Span, str, int]] = []
    for owner, names in names_by_owner.items():
        for rank, name in enumerate(dict.fromkeys(names)):
            found.extend((span, owner, rank) for span in article.mentions(name))

    def precedence(item: tuple[Span, str, int]) -> tuple[int, int, int, str]:
        # Longest first; on the same text, an owner whose canonical name it is (rank 0) beats
        # one that lists it as an alias; then the canonical name decides, so the result never
        # depends on the order the owners came in.
        span, owner, rank = item
        return (span.start - span.end, span.start, min(rank, 1), fold(names_by_owner[owner][0]))

    found.sort(key=precedence)
    taken = bytearray(len(article.text))
    result: dict[str, list[Span]] = {owner: [] for owner in names_by_owner}
    for span, owner, _ in found:
        if any(taken[span.start : span.end]):
            continue
        taken[span.start : span.end] = b"\x01" * (span.end - span.start)
        result[owner].append(span)
    for spans in result.values():
        spans.sort(key=lambda s: s.start)
    return result

"""Locate quotes and names in an article: pure functions over text.

Matching is exact after folding (``folding.py``: quote marks, apostrophes, dashes and
dash spacing, whitespace, compatibility forms, and for quotes case), never fuzzy by edit
distance. On top of the fold, a quote may differ from the article only in ways that cannot
change what it says: HTML entities and backslash escapes (a model's JSON habits), trailing
``. , ; : ! ?`` where the article has punctuation or a break of its own, and ellipses or
bracketed insertions, whose pieces must each be found, in order, inside one paragraph,
with nothing that negates left out between them.

A match starts and ends on a word or number boundary of the article: "$95" is never found
in "$95 billion", "5." never in "5.7", "200" never in "200,000". Scripts written without
spaces between words (Chinese, Japanese, Thai, ...) have no word boundaries to respect, so
a name is found inside a run of them. Offsets always refer to the original article, so
``article[span.start:span.end]`` is the text as the article has it.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from summarizer.extract.folding import Folded, fold, fold_quote, fold_text
from summarizer.schema import Evidence, Span, built

_T = TypeVar("_T")

__all__ = ["Article", "Grounding", "fold", "fold_quote", "mention_spans"]

# Longest stretch of article text an ellipsis may stand for, in characters.
MAX_GAP = 250
# An edited quote must keep at least this many of the article's words.
MIN_FRAGMENT_WORDS = 3

_UNSPACED = re.compile(
    "[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff"
    "\uf900-\ufaff\U00020000-\U0002ffff]"
)
# What may follow a number without ending it: "5" in "5.7", "200" in "200,000", "4" in
# "4:17", "5" in "5%", "95" in "95 billion", "21" in "21 hours", "14" in "14-year". A quote
# that stops on a number stops where the article's number (and its scale or unit) stops.
_NUMBER_GOES_ON = re.compile(r"\d|[.,:]\d|\s?%")
# ... unless the quote itself says it leaves words out there ("4 to 7 ... hurricanes").
_UNIT_FOLLOWS = re.compile(r"\s?-?[^\W\d_]")
_TRAILING = ".,;:!?"
_ELLIPSIS = re.compile(r"\s*(?:[\[(]\s*(?:…|\.(?:\s?\.){2,})\s*[\])]|…|\.(?:\s?\.){2,})\s*")
_INSERTION = re.compile(r"\s*\[[^\[\]]{1,60}\]\s*")
_GLUED_BRACKET = re.compile(r"(?<=\w)\[([^\[\]\s]{1,3})\]|\[([^\[\]\s]{1,3})\](?=\w)")
_NEGATION = re.compile(
    r"\b(?:not|no|never|none|nobody|nothing|neither|nor|without|cannot|nowhere)\b|n't\b", re.IGNORECASE
)
_WORD = re.compile(r"\w")
_BACKSLASH = {'\\"': '"', "\\'": "'", "\\n": " ", "\\t": " ", "\\/": "/", "\\\\": "\\"}


def _is_word_char(ch: str) -> bool:
    # Combining marks count as part of a word: "Nicola" is not a mention inside "Nicolás".
    # (No ASCII character is a mark: the Unicode look-up is for the others only.)
    if ch.isalnum() or ch == "_":
        return True
    return not ch.isascii() and unicodedata.category(ch).startswith("M")


def _joined(left: str, right: str) -> bool:
    """Whether ``left`` and ``right`` are two characters of one word (no boundary between)."""
    if not (_is_word_char(left) and _is_word_char(right)):
        return False
    return not (_UNSPACED.match(left) or _UNSPACED.match(right))


def _edges_ok(text: str, start: int, end: int, *, cut_after: bool = False) -> bool:
    """A match ``text[start:end]`` begins and ends on a word or number boundary.

    ``cut_after``: the quote marks an omission right after the match (an ellipsis), so a
    number may stop before its unit there."""
    if start > 0 and _joined(text[start - 1], text[start]):
        return False
    if end < len(text) and _joined(text[end - 1], text[end]):
        return False
    last = text[end - 1]
    if last.isdigit() and (
        _NUMBER_GOES_ON.match(text, end) or (not cut_after and _UNIT_FOLLOWS.match(text, end))
    ):
        return False
    if last in ".," and end < len(text) and text[end].isdigit() and end >= 2 and text[end - 2].isdigit():
        return False
    first = text[start]
    if first.isdigit() and start >= 2 and text[start - 1] in ".," and text[start - 2].isdigit():
        return False
    return not (first.isdigit() and start >= 1 and text[start - 1].isdigit())


@dataclass(frozen=True)
class Grounding:
    """Where a quote is in the article, or why it could not be placed there.

    ``quoted`` is the article's text for what the model actually quoted (the fragments,
    joined by " … "): what a claim's statement must be checked against.
    """

    evidence: Evidence | None
    quoted: str = ""
    refusal: str = ""


@dataclass(frozen=True)
class _Piece:
    folded: str
    lead_mark: bool  # the model's quote opens with a quotation mark here
    tail_mark: bool
    tail_punct: str = ""  # the punctuation the quote ends with, taken in where the article has it too
    cut_after: bool = False  # an ellipsis or [insertion] follows this piece in the quote


@dataclass(frozen=True)
class Article:
    """An article's text with its folded forms cached, for repeated look-ups."""

    text: str
    _names: Folded = field(init=False, repr=False, compare=False)
    _quotes: Folded = field(init=False, repr=False, compare=False)
    _mentions: dict[str, tuple[tuple[int, int], ...]] = field(init=False, repr=False, compare=False)
    _cache: dict[Hashable, Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        names = fold_text(self.text, casefold=False)
        lowered = names.text.casefold()
        quotes = (
            Folded(lowered, names.maps)
            if len(lowered) == len(names.text)
            else fold_text(self.text, casefold=True)
        )
        object.__setattr__(self, "_names", names)
        object.__setattr__(self, "_quotes", quotes)
        object.__setattr__(self, "_mentions", {})
        object.__setattr__(self, "_cache", {})

    def memo(self, key: Hashable, compute: Callable[[], _T]) -> _T:
        """What ``compute`` gives, computed once per article and ``key``: the validator and the
        resolver ask the same questions of the same draft, and re-asks repeat most of them."""
        try:
            return self._cache[key]
        except KeyError:
            value = self._cache[key] = compute()
            return value

    def forget(self) -> None:
        """Drop what was worked out about the article (its folded forms stay). Called once its
        summary is built, while the collector is held (``llm/collector.py``): those objects then
        die by reference counting with the rest of the burst, instead of living on with the
        article object and being carried into the older generations."""
        self._cache.clear()
        self._mentions.clear()

    # -- spans ------------------------------------------------------------------------

    def _bounds(self, folded: Folded, start: int, end: int) -> tuple[int, int]:
        """The article's offsets for ``folded[start:end]``, without the spaces at either edge."""
        s, e = folded.start(start), folded.end(end)
        while s < e and self.text[s].isspace():
            s += 1
        while e > s and self.text[e - 1].isspace():
            e -= 1
        return s, e

    def _span(self, bounds: tuple[int, int]) -> Span:
        # Built from the article itself, so text and offsets agree by construction.
        s, e = bounds
        return built(Span, text=self.text[s:e], start=s, end=e)

    def _widen_to_marks(self, bounds: tuple[int, int], piece: _Piece) -> tuple[int, int]:
        """Take in the article's punctuation and quotation marks where the model's quote has them too."""
        s, e = bounds
        if piece.tail_punct and self.text.startswith(piece.tail_punct, e):
            e += len(piece.tail_punct)
        if piece.lead_mark and s > 0 and self.text[s - 1] in "\"'“”‘’„«»":
            s -= 1
        if piece.tail_mark and e < len(self.text) and self.text[e] in "\"'“”‘’»":
            e += 1
        return s, e

    # -- quotes -----------------------------------------------------------------------

    def locate(self, quote: str) -> Evidence | None:
        """Where the article says ``quote`` (first place), or None if it never does."""
        return self.ground(quote).evidence

    def ground(self, quote: str) -> Grounding:
        """Place ``quote`` in the article, as a plain quote or piece by piece."""
        quote = quote.strip()
        if not quote:
            return Grounding(None, refusal="the quote is empty")
        return self.memo(("ground", quote), lambda: self._ground(quote))

    def _ground(self, quote: str) -> Grounding:
        refusal = ""
        for candidate in dict.fromkeys([quote, _unescape(quote)]):
            pieces, edited = _split(candidate)
            if not edited:
                bounds = self._find(pieces[0])
                if bounds is not None:
                    start, end = bounds
                    text = self.text[start:end]
                    evidence = built(Evidence, text=text, start=start, end=end, fragments=[])
                    return Grounding(evidence, quoted=text)
                continue
            grounding = self._ground_pieces(pieces)
            if grounding.evidence is not None:
                return grounding
            refusal = refusal or grounding.refusal
        return Grounding(None, refusal=refusal)

    def _hits(self, piece: _Piece, after: int = 0, before: int | None = None) -> list[tuple[int, int]]:
        """Every place ``piece`` matches (folded offsets), in order, boundaries respected."""
        text = self._quotes.text
        limit = len(text) if before is None else before
        needle = piece.folded
        found: list[tuple[int, int]] = []
        at = text.find(needle, after, limit + len(needle))
        while at >= 0:
            end = at + len(needle)
            if _edges_ok(text, at, end, cut_after=piece.cut_after):
                found.append((at, end))
            at = text.find(needle, at + 1, limit + len(needle))
        return found

    def _find(self, piece: _Piece) -> tuple[int, int] | None:
        if not piece.folded:
            return None
        hits = self._hits(piece)
        if not hits:
            return None
        return self._widen_to_marks(self._bounds(self._quotes, *hits[0]), piece)

    def _ground_pieces(self, pieces: list[_Piece]) -> Grounding:
        if sum(len(re.findall(r"\w+", p.folded)) for p in pieces) < MIN_FRAGMENT_WORDS:
            return Grounding(None, refusal="too little of it is the article's own words")
        for piece in pieces:
            if not self._hits(piece):
                return Grounding(None, refusal=f"the piece {piece.folded!r} is not in the article")
        reason = f"its pieces are not in this order inside one paragraph, at most {MAX_GAP} characters apart"
        best: list[tuple[int, int]] | None = None
        for first in self._hits(pieces[0]):
            spans = [self._widen_to_marks(self._bounds(self._quotes, *first), pieces[0])]
            position = first[1]
            for piece in pieces[1:]:
                limit = min(len(self._quotes.text), position + MAX_GAP + 4)
                hits = self._hits(piece, position, limit)
                if not hits:
                    break
                span = self._widen_to_marks(self._bounds(self._quotes, *hits[0]), piece)
                gap = self.text[spans[-1][1] : span[0]]
                if "\n" in gap or len(gap) > MAX_GAP:
                    break
                negation = _NEGATION.search(gap)
                if negation:
                    reason = f"the words it leaves out hold a negation ({negation.group()!r})"
                    break
                spans.append(span)
                position = hits[0][1]
            else:
                # The tightest placement wins: "We choose to [sic] go" is the sentence that says
                # it, not an earlier "We choose to" with the rest of it a line later.
                if best is None or spans[-1][1] - spans[0][0] < best[-1][1] - best[0][0]:
                    best = spans
        if best is None:
            return Grounding(None, refusal=reason)
        start, end = best[0][0], best[-1][1]
        fragments = [self._span(bounds) for bounds in best]
        evidence = built(Evidence, text=self.text[start:end], start=start, end=end, fragments=fragments)
        return Grounding(evidence, quoted=" … ".join(f.text for f in fragments))

    # -- names ------------------------------------------------------------------------

    def mentions(self, name: str) -> list[Span]:
        """Every whole-word occurrence of ``name`` (``Khamenei`` in ``Khamenei’s``, not in ``Khameneis``)."""
        return [self._span(bounds) for bounds in self._mention_bounds(name)]

    def mentioned(self, name: str) -> bool:
        """Whether ``name`` occurs as a whole word (what ``mentions`` finds, without its spans)."""
        return bool(self._mention_bounds(name))

    def _mention_bounds(self, name: str) -> tuple[tuple[int, int], ...]:
        needle = fold(name.strip())
        if not needle:
            return ()
        cached = self._mentions.get(needle)
        if cached is None:
            cached = self._mentions[needle] = self._find_words(needle)
        return cached

    def _find_words(self, needle: str) -> tuple[tuple[int, int], ...]:
        # str.find jumps straight to candidates; the boundary test runs only on hits.
        text = self._names.text
        found = []
        at = text.find(needle)
        while at >= 0:
            end = at + len(needle)
            if _edges_ok(text, at, end):
                found.append(self._bounds(self._names, at, end))
            at = text.find(needle, at + 1)
        return tuple(found)

    def closest_passage(self, quote: str) -> str | None:
        """The stretch of the article most like ``quote``, in whole words: a re-ask hint."""
        from summarizer.extract.hints import closest_passage

        return closest_passage(self, quote)

    def folded_quotes(self) -> Folded:
        """The article in its quote-comparison form (for the hint search)."""
        return self._quotes


def _unescape(quote: str) -> str:
    """A quote as the article would have it: HTML entities and JSON-style escapes undone."""
    if "&" in quote:
        quote = html.unescape(quote)
    if "\\" in quote:
        quote = re.sub(r"\\[\"'nt/\\]", lambda m: _BACKSLASH[m.group()], quote)
    return quote


def _plain_quote(quote: str) -> bool:
    """Whether ``quote`` has none of what ``_split`` cuts at: a bracket (an insertion, or a
    bracketed ellipsis), an ellipsis (three dots at least, or "…") or a NUL (its own marker)."""
    return "[" not in quote and "…" not in quote and "\x00" not in quote and quote.count(".") < 3


def _split(quote: str) -> tuple[list[_Piece], bool]:
    """The pieces of a quote, and whether it was edited (an inner ellipsis or an [insertion])."""
    if _plain_quote(quote):
        # Most quotes: one piece, nothing to cut (the three patterns below would find nothing).
        raw, edited, edged_by_ellipsis = [quote], False, (False, False)
    else:
        quote = _GLUED_BRACKET.sub(lambda m: m.group(1) or m.group(2), quote)
        # An ellipsis at either end only says the quote is cut there: it joins nothing.
        body = _ELLIPSIS.sub("\x00", quote)
        edged_by_ellipsis = (body.startswith("\x00"), body.endswith("\x00"))
        body = _INSERTION.sub("\x00", body)
        raw = body.split("\x00")
        edited = "\x00" in body.strip("\x00") or len(raw) - sum(edged_by_ellipsis) > 1
    texts = [(i, p) for i, p in enumerate(raw) if _WORD.search(p)]
    pieces = []
    for n, (i, text) in enumerate(texts):
        lead = text.lstrip()[:1] in "\"'“‘„«"
        tail = text.rstrip()[-1:] in "\"'”’»"
        folded = fold_quote(text)
        inner_start = i > 0 or edged_by_ellipsis[0]
        inner_end = i < len(raw) - 1 or edged_by_ellipsis[1]
        folded = folded.lstrip(_TRAILING + " ") if inner_start or n > 0 else folded.lstrip(",;: ")
        stripped = folded.rstrip(_TRAILING + " ")
        pieces.append(
            _Piece(
                stripped,
                lead_mark=lead and n == 0 and not inner_start,
                tail_mark=tail and n == len(texts) - 1 and not inner_end,
                tail_punct=folded[len(stripped) :].strip() if n == len(texts) - 1 and not inner_end else "",
                cut_after=inner_end,
            )
        )
    return (pieces or [_Piece("", False, False)]), edited


def mention_spans(article: Article, names_by_owner: dict[str, list[str]]) -> dict[str, list[Span]]:
    """Mentions for several owners at once; where names overlap, the longest wins.

    "Moscow" inside "Moscow State University" belongs to the university, and
    "Assad" inside "Bashar al-Assad" is one mention, not two.
    """
    found: list[tuple[tuple[int, int], str, int]] = []
    for owner, names in names_by_owner.items():
        for rank, name in enumerate(dict.fromkeys(names)):
            found.extend((bounds, owner, rank) for bounds in article._mention_bounds(name))

    def precedence(item: tuple[tuple[int, int], str, int]) -> tuple[int, int, int, str]:
        # Longest first; on the same text, an owner whose canonical name it is (rank 0) beats
        # one that lists it as an alias; then the canonical name decides, so the result never
        # depends on the order the owners came in.
        (start, end), owner, rank = item
        return (start - end, start, min(rank, 1), fold(names_by_owner[owner][0]))

    found.sort(key=precedence)
    taken = bytearray(len(article.text))
    result: dict[str, list[Span]] = {owner: [] for owner in names_by_owner}
    for (start, end), owner, _ in found:
        if any(taken[start:end]):
            continue
        taken[start:end] = b"\x01" * (end - start)
        result[owner].append(article._span((start, end)))  # a Span for the mentions kept only
    for spans in result.values():
        spans.sort(key=lambda s: s.start)
    return result

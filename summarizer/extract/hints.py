"""The re-ask hint: the article's passage closest to a quote that missed, in whole words.

A hint is only worth giving when it is right: a model that pastes a wrong hint grounds its
claim on unrelated text. So the search works on words, not characters (a hint never cuts a
word in half), places the quote by where its distinctive words occur, delimits the passage
by the first and last matching blocks, and says nothing unless most of the quote's words are
there in order. Cost: one word index per article, then work in proportion to the quote's
words and their occurrences (words as common as "the" in a long article are left out of the
vote), so a miss costs well under a millisecond on a 20,000-word article.
"""

from __future__ import annotations

import re
from collections import Counter
from difflib import SequenceMatcher
from typing import TYPE_CHECKING

from summarizer.extract.folding import fold_quote

if TYPE_CHECKING:
    from summarizer.extract.grounding import Article

_WORD = re.compile(r"\w+")
# Share of the quote's words the passage must hold, in order, for the hint to be shown.
STRONG = 0.6
MIN_WORDS = 3
# A word occurring more often than this says nothing about where a quote is.
_COMMON = 200
# Window starts within this many words count as the same placement.
_SLACK = 3


class _WordIndex:
    def __init__(self, article: Article) -> None:
        folded = article.folded_quotes()
        matches = list(_WORD.finditer(folded.text))
        self.words = [m.group() for m in matches]
        self.starts = [m.start() for m in matches]
        self.ends = [m.end() for m in matches]
        self.positions: dict[str, list[int]] = {}
        for i, word in enumerate(self.words):
            self.positions.setdefault(word, []).append(i)


def _index(article: Article) -> _WordIndex:
    cache = article._cache
    index = cache.get("words")
    if not isinstance(index, _WordIndex):
        index = _WordIndex(article)
        cache["words"] = index
    return index


def closest_passage(article: Article, quote: str) -> str | None:
    """The passage of ``article`` most like ``quote``, or None when nothing is close enough."""
    wanted = _WORD.findall(fold_quote(quote.strip()))
    if len(wanted) < MIN_WORDS:
        return None
    index = _index(article)
    votes: Counter[int] = Counter()
    for j, word in enumerate(wanted):
        positions = index.positions.get(word, ())
        if len(positions) > _COMMON:
            continue
        for i in positions:
            votes[i - j] += 1
    if not votes:
        return None
    best = max(votes, key=lambda d: (sum(votes.get(d + k, 0) for k in range(-_SLACK, _SLACK + 1)), -d))
    lo = max(0, best - _SLACK)
    hi = min(len(index.words), best + len(wanted) + _SLACK)
    window = index.words[lo:hi]
    blocks = [
        b for b in SequenceMatcher(None, window, wanted, autojunk=False).get_matching_blocks() if b.size
    ]
    matched = sum(b.size for b in blocks)
    if matched < MIN_WORDS or matched < STRONG * len(wanted):
        return None
    first, last = blocks[0], blocks[-1]
    # The quote's unmatched words at either end are taken from the article too (a changed
    # first or last word), but never more than the quote itself has there.
    start = lo + max(0, first.a - min(first.b, _SLACK))
    tail = min(len(wanted) - (last.b + last.size), _SLACK)
    end = min(len(index.words), lo + last.a + last.size + tail)
    folded = article.folded_quotes()
    s, e = folded.start(index.starts[start]), folded.end(index.ends[end - 1])
    text = article.text
    # A quote that ends a sentence gets the article's sentence end.
    if quote.rstrip()[-1:] in ".!?" and e < len(text) and text[e] in ".!?":
        e += 1
    return text[s:e]

"""Does a claim's statement say what its evidence says? Numbers, negations and names.

A verbatim quote proves nothing about a statement that contradicts it: a model given the
article's real wording as a hint can paste it as the quote and keep its own statement
("Russia was not ready" over "Russia was ready"). So every number, every negation and every
name in the statement must be backed by the evidence the model quoted (for a quote in
pieces, the pieces, not the words it left out) or, for names, by the names and aliases of
the entities and the source the claim is about (a statement resolves "he" to a name).

The check is deliberately literal: it can refuse a fair paraphrase ("refused" for "did not
accept" is accepted; "skipped" for "did not attend" is not), and the price of that is one
re-ask in which the model is told exactly which word lacks support.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, overload

from summarizer.extract.folding import fold_quote, keeps_words

_MAGNITUDE = {
    "hundred": 1e2,
    "thousand": 1e3,
    "million": 1e6,
    "m": 1e6,
    "billion": 1e9,
    "bn": 1e9,
    "trillion": 1e12,
}
_WORDS = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
    "dozen": 12,
}
_DIGIT = re.compile(r"\d")
_DIGITS = re.compile(r"(?P<digits>\d{1,3}(?:,\d{3})+|\d+)(?:\.(?P<fraction>\d+))?")
# The lookahead on the first letters lets the engine skip most positions before the
# alternation of words is tried.
_NUMBER_WORD = re.compile(
    r"\b(?=[" + "".join(sorted({w[0] for w in _WORDS})) + r"])(?:" + "|".join(_WORDS) + r")\b", re.IGNORECASE
)
_SCALE = re.compile(r"[\s-]*(hundred|thousand|million|billion|trillion|bn|m)\b", re.IGNORECASE)
_NEGATION = re.compile(
    r"\b(?:not|no|never|none|nobody|nothing|neither|nor|cannot|nowhere|without)\b|n't\b", re.IGNORECASE
)
# Negations that do not negate what follows.
_NOT_NEGATING = re.compile(
    r"\b(?:not only|not just|not least|not far|no doubt|no later than|no fewer than|no less than"
    r"|no more than|nothing but)\b",
    re.IGNORECASE,
)
# What a statement may say for an evidence's negation ("did not accept" -> "refused").
_NEGATIVE_VERBS = re.compile(
    r"\b(?:den(?:y|ies|ied)|refus\w*|fail\w*|reject\w*|declin\w*|lack\w*|absent|unable|rul\w* out)\b",
    re.IGNORECASE,
)
_NAME = re.compile(r"[^\W\d_][\w'’]*")
# Capitalised words that name nothing (a sentence may start with one).
_COMMON = frozenset(
    [
        "a",
        "an",
        "the",
        "this",
        "that",
        "these",
        "those",
        "his",
        "her",
        "its",
        "their",
        "our",
        "my",
        "your",
        "it",
        "he",
        "she",
        "they",
        "we",
        "i",
        "you",
        "there",
        "here",
        "some",
        "many",
        "most",
        "all",
        "both",
        "each",
        "every",
        "one",
        "two",
        "according",
        "after",
        "before",
        "if",
        "when",
        "while",
        "as",
        "although",
        "though",
        "because",
        "since",
        "until",
        "unless",
        "once",
        "in",
        "on",
        "at",
        "by",
        "for",
        "from",
        "with",
        "without",
        "of",
        "to",
        "into",
        "over",
        "under",
        "about",
        "among",
        "between",
        "during",
        "current",
        "former",
        "late",
        "new",
        "old",
        "also",
        "but",
        "and",
        "or",
        "so",
        "yet",
        "then",
        "thus",
        "however",
        "meanwhile",
        "earlier",
        "later",
        "today",
        "yesterday",
        "tomorrow",
        "last",
        "next",
        "mr",
        "mrs",
        "ms",
        "dr",
    ]
)


# What a text must contain for each regular expression to have anything to find: most
# statements and quotes have no number word and no negation, and a few substring searches are
# far cheaper than an alternation of thirty words tried at every position.
_NEGATION_WORDS = frozenset(
    ["not", "no", "never", "none", "nobody", "nothing", "neither", "nor", "cannot", "nowhere", "without"]
)
_REFUSAL_STEMS = ("den", "refus", "fail", "reject", "declin", "lack", "absent", "unable", "rul")
_NUMBER_WORDS = frozenset(_WORDS)
_TOKEN = re.compile(r"[\w']+")
_WORD_RUN = re.compile(r"\w+")
_ACCENT = re.compile(r"[\u0300-\u036f]")


_V = TypeVar("_V")


class _read_once(Generic[_V]):  # a decorator, named like the one it replaces
    """``functools.cached_property`` without its lock: Python 3.11's takes an ``RLock`` on every
    first access, and a claim's check asks some 190 such first questions per article. A reading
    belongs to one article's check, so nothing computes the same value twice at once; should two
    threads ever race, both compute the same pure value and one of them is kept."""

    def __init__(self, compute: Callable[[Any], _V]) -> None:
        self.compute, self.name = compute, compute.__name__
        self.__doc__ = compute.__doc__

    @overload
    def __get__(self, instance: None, owner: type) -> _read_once[_V]: ...
    @overload
    def __get__(self, instance: object, owner: type) -> _V: ...
    def __get__(self, instance: object | None, owner: type) -> _V | _read_once[_V]:
        if instance is None:
            return self
        # Stored in the instance's own dictionary, which shadows this (non-data) descriptor from
        # then on: the next access is a plain attribute look-up.
        value = instance.__dict__[self.name] = self.compute(instance)
        return value


@dataclass(frozen=True)
class Reading:
    """What the check needs of one text, read once: its words, and (asked of statements and
    quotes only, so read when first asked) its numbers and whether it negates."""

    text: str
    folded: str  # fold_quote(text): negations are looked for here ("ÑO" is not "no")
    plain: str  # folded, case-insensitive, without accents
    words: frozenset[str]  # plain words, possessive "'s" and trailing "'" removed
    tokens: frozenset[str]  # the runs of word characters and apostrophes ``words`` come from

    @_read_once
    def runs(self) -> frozenset[str] | None:
        """The runs of word characters alone (what a whole-word pattern can match), when they
        are those of ``folded`` too (no accent was dropped between two of them); None otherwise.
        (Asked of statements and quotes; a name is only looked up in ``words``.)"""
        if self.plain != self.folded:
            return None
        if "'" not in self.plain:
            return self.tokens
        # The tokens cut at their apostrophes are the runs of word characters of the text.
        return frozenset(_WORD_RUN.findall(self.plain))

    @_read_once
    def stems(self) -> frozenset[str]:
        """The first four characters of every token (a superset of the words' stems: enough to
        rule out a shared beginning, which is all it is for)."""
        return frozenset(t[:4] for t in self.tokens if len(t) >= 4)

    @_read_once
    def numbers(self) -> dict[float, str]:
        # A number word is matched whole, in the text as written: when folding kept its words,
        # one set look-up says whether any is there; otherwise a substring search per word.
        if self.runs is not None and keeps_words(self.text):
            return _numbers(self.text, not _NUMBER_WORDS.isdisjoint(self.runs))
        lowered = self.text.casefold()  # what IGNORECASE compares ("ſix" is "six")
        return _numbers(self.text, any(word in lowered for word in _NUMBER_WORDS))

    @_read_once
    def negates(self) -> bool:
        # The pattern runs only on a text that holds one of its words as a substring of the
        # form it is searched in: never a match missed, and most texts skip the pattern.
        folded = self.folded
        if self.runs is not None:
            if "n't" not in folded and _NEGATION_WORDS.isdisjoint(self.runs):
                return False
        elif "n't" not in folded and not any(word in folded for word in _NEGATION_WORDS):
            return False
        return bool(_NEGATION.search(_NOT_NEGATING.sub(" ", folded)))

    @_read_once
    def capitalised(self) -> tuple[tuple[str, str], ...]:
        """Its capitalised words that may name something, each with its plain form (asked of
        statements: every one must be backed)."""
        found = []
        for token in _NAME.findall(self.text):
            if token[0].isupper() and (word := _plain_word(token)) not in _COMMON:
                found.append((token, word))
        return tuple(found)

    @property
    def refuses(self) -> bool:
        """Negates, counting verbs of refusal ("denied", "failed") as negations."""
        if self.negates:
            return True
        if not any(stem in self.folded for stem in _REFUSAL_STEMS):
            return False
        return bool(_NEGATIVE_VERBS.search(_NOT_NEGATING.sub(" ", self.folded)))


def read(text: str) -> Reading:
    folded = fold_quote(text)
    plain = _unaccented(folded)
    tokens = frozenset(_TOKEN.findall(plain))
    words = frozenset(t.removesuffix("'s").removesuffix("'") for t in tokens) if "'" in plain else tokens
    return Reading(text, folded, plain, words, tokens)


class Reader:
    """``read`` with a memory: a draft repeats its entities' names in claim after claim, and the
    validator and the resolver ask about the same claims. One per article (``Article.memo``)."""

    def __init__(self) -> None:
        self._readings: dict[str, Reading] = {}

    def __call__(self, text: str) -> Reading:
        reading = self._readings.get(text)
        if reading is None:
            reading = self._readings[text] = read(text)
        return reading


def numbers(text: str) -> dict[float, str]:
    """The numbers ``text`` states, with their scale ("$95 billion" -> 95e9, "200,000" -> 2e5),
    each with the words that state it."""
    return read(text).numbers


def _numbers(text: str, number_word: bool) -> dict[float, str]:
    # Issue 13's one _NUMBER pattern (tests/consistency_reference.py), taken apart so that the
    # engine skips plain text at C speed: its digits alternative opens with a look-behind and an
    # alternation, tried at every position. Here a bare digit is searched for, the number read from there, and the character before it looked
    # at by hand (a run of [\d,.] never starts a number inside itself, so skipping the whole run
    # finds what _NUMBER found). The words alternative runs only when the text holds a number
    # word (``number_word``). Matches in order of position, as _NUMBER gave them.
    matches: list[tuple[int, int, float, bool]] = []
    at = 0
    while (digit := _DIGIT.search(text, at)) is not None:
        start = digit.start()
        m = _DIGITS.match(text, start)
        assert m is not None  # it opens with the digit just found
        at = m.end()
        if start and (text[start - 1].isalnum() or text[start - 1] in "_.,"):
            continue
        value = float(m.group("digits").replace(",", "") + "." + (m.group("fraction") or "0"))
        matches.append((start, m.end(), value, False))
    if number_word:
        # casefold, not lower: IGNORECASE matches "ſix", and "ſix".lower() is no key.
        words_found = [
            (m.start(), m.end(), float(_WORDS[m.group().casefold()]), True)
            for m in _NUMBER_WORD.finditer(text)
        ]
        if words_found:
            matches = sorted(matches + words_found)
    found: dict[float, str] = {}
    for start, end, value, is_word in matches:
        scale = _SCALE.match(text, end)
        if scale and not (scale.group(1).lower() == "m" and is_word):
            value *= _MAGNITUDE[scale.group(1).lower()]
            end = scale.end()
        found.setdefault(value, text[start:end])
    return found


def negated(text: str, *, loose: bool = False) -> bool:
    """Whether ``text`` negates; ``loose`` also counts verbs of refusal ("denied", "failed")."""
    reading = read(text)
    return reading.refuses if loose else reading.negates


def _plain_word(token: str) -> str:
    """A word of a statement as ``Reading.words`` has it: folded, without accents, possessive
    "'s" and trailing "'" removed."""
    if token.isascii() and "''" not in token and "_" not in token:
        # What folding does to a word of ASCII letters and single apostrophes: lower case, and
        # an apostrophe that ends it dropped (one inside it is kept). No table, no pattern.
        return token.lower().removesuffix("'").removesuffix("'s")
    return _unaccented(fold_quote(token)).removesuffix("'s").removesuffix("'")


def _unaccented(folded: str) -> str:
    # Names are compared word by word here, not quoted: accents do not tell them apart.
    return folded if folded.isascii() else _ACCENT.sub("", folded)


def _related(word: str, backing: list[Reading]) -> bool:
    # "Russian" is backed by "Russia", "Kyrgyz" by "Kyrgyzstan", "Ukrainian" by "Ukraine": a
    # shared beginning of four letters at least (the stems say whether any backing word has one).
    if not any(word[:4] in r.stems for r in backing):
        return False
    for r in backing:
        for other in r.words:
            shared = len(_common_prefix(word, other))
            if shared >= 4 and shared >= min(len(word), len(other)) - 2:
                return True
    return False


def _common_prefix(a: str, b: str) -> str:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return a[:n]


def unsupported(
    statement: str, evidence: str, names: Iterable[str], *, reader: Callable[[str], Reading] = read
) -> list[str]:
    """What in ``statement`` its ``evidence`` (and the claim's ``names``) do not back up.

    Each item is a short phrase for the re-ask message; empty when the statement holds.
    ``reader`` reads each text (a ``Reader`` remembers what it has read).
    """
    problems: list[str] = []
    said, quoted = reader(statement), reader(evidence)
    missing = [text for value, text in said.numbers.items() if value not in quoted.numbers]
    if missing:
        problems.append("the quote does not say " + ", ".join(repr(t) for t in missing))
    if said.negates and not quoted.negates:
        problems.append("the statement negates but the quote does not")
    elif quoted.negates and not said.refuses:
        problems.append("the quote negates but the statement does not")
    # Each name the statement uses must be a word of its quote or of one of its names; the
    # texts are looked in one by one (no union of their words is built for every claim), and
    # the names are read only for a word the quote does not have.
    unknown: list[str] = []
    backing: list[Reading] | None = None
    for token, word in said.capitalised:
        if token in unknown or word in quoted.words:
            continue
        if backing is None:
            backing = [quoted, *map(reader, names)]
        if any(word in r.words for r in backing):
            continue
        if not _related(word, backing):
            unknown.append(token)
    if unknown:
        problems.append(
            "it names " + ", ".join(repr(t) for t in unknown) + ", which neither the quote nor the "
            "claim's entities and source name"
        )
    return problems

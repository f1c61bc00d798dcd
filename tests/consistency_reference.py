"""The statement check as it was first written (issue 13), kept word for word as an oracle.

``tests/test_consistency.py`` checks that the fast check in ``summarizer/extract/consistency.py``
(each text read once, prefilters before the regular expressions, one reader per article) gives
exactly these answers. Not imported by the package.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from summarizer.extract.folding import fold_quote

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
_NUMBER = re.compile(
    r"(?<![\w.,])(?P<digits>\d{1,3}(?:,\d{3})+|\d+)(?:\.(?P<fraction>\d+))?"
    r"|\b(?P<word>" + "|".join(_WORDS) + r")\b",
    re.IGNORECASE,
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


def numbers(text: str) -> dict[float, str]:
    """The numbers ``text`` states, with their scale ("$95 billion" -> 95e9, "200,000" -> 2e5),
    each with the words that state it."""
    found: dict[float, str] = {}
    for m in _NUMBER.finditer(text):
        if m.group("word"):
            value = float(_WORDS[m.group("word").lower()])
        else:
            value = float(m.group("digits").replace(",", "") + "." + (m.group("fraction") or "0"))
        scale = _SCALE.match(text, m.end())
        end = m.end()
        if scale and not (scale.group(1).lower() == "m" and m.group("word")):
            value *= _MAGNITUDE[scale.group(1).lower()]
            end = scale.end()
        found.setdefault(value, text[m.start() : end])
    return found


def negated(text: str, *, loose: bool = False) -> bool:
    """Whether ``text`` negates; ``loose`` also counts verbs of refusal ("denied", "failed")."""
    plain = _NOT_NEGATING.sub(" ", fold_quote(text))
    return bool(_NEGATION.search(plain) or (loose and _NEGATIVE_VERBS.search(plain)))


def _plain(text: str) -> str:
    # Folded, and without accents: names are compared word by word here, not quoted.
    return re.sub(r"[\u0300-\u036f]", "", fold_quote(text))


def _words(text: str) -> set[str]:
    return {w.removesuffix("'s").removesuffix("'") for w in re.findall(r"[\w']+", _plain(text))}


def _related(word: str, known: set[str]) -> bool:
    # "Russian" is backed by "Russia", "Kyrgyz" by "Kyrgyzstan", "Ukrainian" by "Ukraine".
    if word in known:
        return True
    for other in known:
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


def unsupported(statement: str, evidence: str, names: Iterable[str]) -> list[str]:
    """What in ``statement`` its ``evidence`` (and the claim's ``names``) do not back up.

    Each item is a short phrase for the re-ask message; empty when the statement holds.
    """
    problems: list[str] = []
    stated, quoted = numbers(statement), numbers(evidence)
    missing = [text for value, text in stated.items() if value not in quoted]
    if missing:
        problems.append("the quote does not say " + ", ".join(repr(t) for t in missing))
    if negated(statement) and not negated(evidence):
        problems.append("the statement negates but the quote does not")
    elif negated(evidence) and not negated(statement, loose=True):
        problems.append("the quote negates but the statement does not")
    known = _words(evidence) | {w for name in names for w in _words(name)}
    unknown: list[str] = []
    for m in _NAME.finditer(statement):
        token = m.group()
        if not token[0].isupper():
            continue
        word = _plain(token).removesuffix("'s").removesuffix("'")
        if word in _COMMON:
            continue
        if not _related(word, known) and token not in unknown:
            unknown.append(token)
    if unknown:
        problems.append(
            "it names " + ", ".join(repr(t) for t in unknown) + ", which neither the quote nor the "
            "claim's entities and source name"
        )
    return problems

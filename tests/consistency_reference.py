"""The statement check as it was first written (issue 13), its functions kept word for word as an oracle.

``tests/test_consistency.py`` checks that the fast check in ``summarizer/extract/consistency.py``
(each text read once, prefilters before the regular expressions, one reader per article) gives
exactly these answers. Not imported by the package. The word tables and the patterns the new
check kept are imported from it (what is compared is the algorithm); the one pattern it took
apart, ``_NUMBER``, is kept here as it was.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from summarizer.extract.consistency import (
    _COMMON,
    _MAGNITUDE,
    _NAME,
    _NEGATION,
    _NEGATIVE_VERBS,
    _NOT_NEGATING,
    _SCALE,
    _WORDS,
)
from summarizer.extract.folding import fold_quote

_NUMBER = re.compile(
    r"(?<![\w.,])(?P<digits>\d{1,3}(?:,\d{3})+|\d+)(?:\.(?P<fraction>\d+))?"
    r"|\b(?P<word>" + "|".join(_WORDS) + r")\b",
    re.IGNORECASE,
)


def numbers(text: str) -> dict[float, str]:
    """The numbers ``text`` states, with their scale ("$95 billion" -> 95e9, "200,000" -> 2e5),
    each with the words that state it."""
    found: dict[float, str] = {}
    for m in _NUMBER.finditer(text):
        if m.group("word"):
            # The one change since issue 13: casefold, not lower (``"ſix".lower()`` is no key:
            # a KeyError, found by test_consistency's generated text).
            value = float(_WORDS[m.group("word").casefold()])
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

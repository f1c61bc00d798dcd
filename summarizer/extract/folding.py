"""The comparison form of a text, and the way back from it to the text's own offsets.

Quotes are compared with the article after both are folded: differences that cannot
change meaning are erased (typographic quote marks and apostrophes, the dash family and
``--``, spacing around dashes, runs of whitespace, no-break spaces, Unicode compatibility
forms such as ligatures, full-width letters and "…", composed versus decomposed accents)
and, for quotes, case. Names keep their case: "Turkey" is not "turkey".

Folding is done with whole-string operations (``str.translate`` with a table built from
the characters the text actually contains, one regular-expression pass, ``casefold``).
Offsets are mapped back through a list of the places where folding changed a length,
built only when it did, so a plain ASCII article costs two passes in C and no table.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache

# Double quotation marks of every style are dropped: a model adds or strips them freely.
_DOUBLE_QUOTES = '"“”„‟″«»〝〞＂‹›'
_APOSTROPHES = "'‘’‚‛′ʼ`´＇"
_DASHES = "-‐‑‒–—―−﹘﹣－"
_BASE = {
    **{ord(c): '"' for c in _DOUBLE_QUOTES},
    **{ord(c): "'" for c in _APOSTROPHES},
    **{ord(c): "-" for c in _DASHES},
}

# One pass over the translated text for what depends on neighbours: spacing around a dash and
# "--" (an em dash typed in ASCII) become one "-"; quotation marks are dropped (a single one
# inside a word is an apostrophe and stays; between two words they still part them); runs of
# whitespace become one space. Every alternative opens with a character class, so the regex
# engine skips plain text at C speed and Python sees only the runs that may change.
# A lone "-" and an apostrophe inside a word never change: they are left out of the pattern
# (``[^\W_]`` is ``str.isalnum``), so an ordinary sentence ("al-Assad's") has no match at all.
_STRUCTURE = re.compile(r"""[\s"'-]{2,}|[^\S ]|"|'(?:(?<![^\W_]')|(?![^\W_]))""")
# The only ASCII character the table changes: a backtick is an apostrophe.
_ASCII_TABLE = {k: v for k, v in _BASE.items() if k < 128 and chr(k) != v}
_ASCII = frozenset(map(chr, range(128)))


@dataclass(frozen=True)
class OffsetMap:
    """From folded offsets back to the text's own, through the places where lengths changed.

    Each change is (folded start, original start, original length, folded length); between
    changes the two texts run one to one.
    """

    folded_starts: tuple[int, ...] = ()
    changes: tuple[tuple[int, int, int, int], ...] = ()

    def start(self, p: int) -> int:
        """The original offset where folded character ``p`` begins."""
        i = bisect_right(self.folded_starts, p) - 1
        if i < 0:
            return p
        fpos, orig, olen, flen = self.changes[i]
        if p < fpos + flen:
            return orig
        return orig + olen + (p - fpos - flen)

    def end(self, p: int) -> int:
        """The original offset just after folded character ``p - 1`` (an exclusive end)."""
        if p <= 0:
            return 0
        q = p - 1
        i = bisect_right(self.folded_starts, q) - 1
        if i >= 0:
            fpos, orig, olen, flen = self.changes[i]
            if q < fpos + flen:
                return orig + olen
        return self.start(q) + 1


IDENTITY = OffsetMap()


def _offset_map(changes: list[tuple[int, int, int]]) -> OffsetMap:
    """An OffsetMap from (original start, original length, folded length), in order."""
    starts: list[int] = []
    rows: list[tuple[int, int, int, int]] = []
    shift = 0
    for orig, olen, flen in changes:
        fpos = orig + shift
        starts.append(fpos)
        rows.append((fpos, orig, olen, flen))
        shift += flen - olen
    return OffsetMap(tuple(starts), tuple(rows))


@lru_cache(maxsize=4096)
def _char_fold(ch: str) -> str:
    """One character's fold: compatibility decomposition, then our quote and dash classes."""
    if ord(ch) in _BASE:
        return _BASE[ord(ch)]
    return unicodedata.normalize("NFKD", ch).translate(_BASE)


def _translate(text: str) -> tuple[str, OffsetMap]:
    if text.isascii():
        # No ASCII character changes length here.
        return (text.translate(_ASCII_TABLE) if "`" in text else text), IDENTITY
    table = dict(_ASCII_TABLE) if "`" in text else {}
    for ch in set(text) - _ASCII:  # a set difference in C: the loop sees the few others only
        folded = _char_fold(ch)
        if folded != ch:
            table[ord(ch)] = folded
    odd = [chr(k) for k, v in table.items() if len(v) != 1]
    # str.translate looks every character up in the table once it meets one non-ASCII
    # character; a replace per character that changes (a few dozen at most) runs at memchr speed.
    # Safe in any order: a replacement is made of characters that fold to themselves.
    folded = text
    for code, replacement in table.items():
        folded = folded.replace(chr(code), replacement)
    if not odd:
        return folded, IDENTITY
    changes = [
        (m.start(), 1, len(table[ord(m.group())]))
        for m in re.finditer("[" + re.escape("".join(odd)) + "]", text)
    ]
    return folded, _offset_map(changes)


def _run_replacement(text: str, start: int, end: int) -> str:
    run = text[start:end]
    if "-" in run:
        return run if run == "-" else "-"
    if "'" in run or '"' in run:
        inside = start > 0 and end < len(text) and text[start - 1].isalnum() and text[end].isalnum()
        if run == "'" and inside:
            return run  # an apostrophe: "doesn't", "Khamenei's"
        return " " if inside or any(c.isspace() for c in run) else ""
    return " "


def _settled(text: str) -> bool:
    """Whether ``_STRUCTURE`` has nothing to change in ``text``, found with substring searches
    (a regular expression costs about ten times as much on a short text, and most statements,
    quotes and names have nothing to change). Once tabs, newlines, no-break spaces and double
    quotation marks are known to be absent, what is left to find is two neighbours of
    ``[ '-]`` (a run) and an apostrophe outside a word; every run with an apostrophe in it has
    one outside a word, so the runs left to look for are "  " and a dash beside a space or a
    dash. Dashes and apostrophes are few: each is looked at where ``str.find`` stops."""
    if '"' in text or not text.isprintable():  # every whitespace character but " " is unprintable
        return False
    if "  " in text:
        return False
    last = len(text) - 1
    at = text.find("-")
    while at >= 0:
        if (at > 0 and text[at - 1] in " -") or (at < last and text[at + 1] in " -"):
            return False
        at = text.find("-", at + 1)
    at = text.find("'")
    while at >= 0:  # an apostrophe stays only inside a word
        if at == 0 or at == last or not (text[at - 1].isalnum() and text[at + 1].isalnum()):
            return False
        at = text.find("'", at + 1)
    return True


def _structure(text: str) -> tuple[str, OffsetMap]:
    return (text, IDENTITY) if _settled(text) else _restructure(text)


def _restructure(text: str) -> tuple[str, OffsetMap]:
    """``_STRUCTURE``'s runs rewritten (what ``_settled`` tells apart without the pattern)."""
    changes: list[tuple[int, int, int]] = []
    pieces: list[str] = []
    last = 0
    for m in _STRUCTURE.finditer(text):
        start, end = m.span()
        replacement = _run_replacement(text, start, end)
        if replacement == m.group():
            continue
        pieces.append(text[last:start])
        pieces.append(replacement)
        changes.append((start, end - start, len(replacement)))
        last = end
    if not changes:
        return text, IDENTITY
    pieces.append(text[last:])
    return "".join(pieces), _offset_map(changes)


def _casefold(text: str) -> tuple[str, OffsetMap]:
    folded = text.casefold()
    if len(folded) == len(text):
        return folded, IDENTITY
    # Rare ("ß" -> "ss", "ﬀ" -> "ff" survive NFKD as one character only in odd cases).
    changes = []
    pieces = []
    for i, ch in enumerate(text):
        piece = ch.casefold()
        pieces.append(piece)
        if len(piece) != 1:
            changes.append((i, 1, len(piece)))
    return "".join(pieces), _offset_map(changes)


@dataclass(frozen=True)
class Folded:
    """A folded text and the maps that lead back to the original, innermost first."""

    text: str
    maps: tuple[OffsetMap, ...]

    def start(self, p: int) -> int:
        for offset_map in self.maps:
            p = offset_map.start(p)
        return p

    def end(self, p: int) -> int:
        for offset_map in self.maps:
            p = offset_map.end(p)
        return p


def fold_text(text: str, *, casefold: bool) -> Folded:
    """``text`` folded, with the way back to its offsets."""
    translated, first = _translate(text)
    structured, second = _structure(translated)
    maps = [second, first]
    if casefold:
        structured, third = _casefold(structured)
        maps.insert(0, third)
    return Folded(structured, tuple(m for m in maps if m is not IDENTITY))


_WORD_CHARACTER = re.compile(r"\w")


@lru_cache(maxsize=4096)
def _parts_words(ch: str) -> bool:
    return bool(_WORD_CHARACTER.match(ch)) or bool(_WORD_CHARACTER.search(_char_fold(ch).casefold()))


def keeps_words(text: str) -> bool:
    """Whether folding ``text`` leaves its words (the runs of word characters) as they were,
    but for case: true when every character outside ASCII is no part of a word and folds into
    none (typographic quotes, dashes, spaces, "…"). A letter outside ASCII may fold into another
    ("ﬁ" into "fi", "™" into "tm", joining the word before it): then the answer is no."""
    return text.isascii() or not any(map(_parts_words, set(text) - _ASCII))


@lru_cache(maxsize=8192)
def fold(text: str) -> str:
    """The comparison form of a name: quote marks, apostrophes, dashes and spacing unified, case kept."""
    return fold_text(text, casefold=False).text.strip()


def fold_quote(text: str) -> str:
    """The comparison form of a quote: as ``fold``, and case-insensitive."""
    # fold_text(text, casefold=True).text.strip(), from the fold a name or a statement has
    # mostly had already: casefolding is per character, and turns no character into a space.
    return fold(text).casefold()

"""Read an article from a file or standard input and refuse what cannot be an article."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from summarizer.errors import InputError

_BOM = "\ufeff"


def decode_article(data: bytes, origin: str) -> str:
    """UTF-8 text from ``data`` (a leading BOM is dropped), or an ``InputError`` saying why not."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise InputError(f"{origin} is UTF-16 text; save it as UTF-8 and try again")
    if b"\x00" in data:  # anywhere, not just near the start: a NUL must never reach the model
        raise InputError(_binary(origin, data.index(b"\x00")))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{origin} is not valid UTF-8 (byte 0x{data[exc.start]:02x} at offset {exc.start}); "
            "save it as UTF-8 and try again"
        ) from None
    return check_article(text.removeprefix(_BOM), origin)


_HTML_MARKERS = re.compile(r"<\s*(!doctype\s+html|html|head|body|div|p|script|article)\b", re.IGNORECASE)


def looks_like_html(text: str) -> bool:
    """A page's markup rather than an article's text: a doctype or several structural tags."""
    head = text[:20_000]
    return head.lstrip().lower().startswith("<!doctype html") or len(_HTML_MARKERS.findall(head)) >= 3


def _binary(origin: str, offset: int) -> str:
    return f"{origin} looks like a binary file, not an article (it contains a NUL byte at offset {offset})"


def check_article(text: str, origin: str = "the article") -> str:
    """Refuse what cannot be an article, however it arrived (file, JSONL field, web page, library call)."""
    if "\x00" in text:
        raise InputError(_binary(origin, text.index("\x00")))
    if not text.strip():
        raise InputError(f"{origin} is empty: there is no article to summarize")
    if looks_like_html(text):
        # Offsets must refer to the text the user gave: summarizing markup would quote tags,
        # and silently stripping them would move every offset.
        raise InputError(
            f"{origin} looks like an HTML page, not article text: save the article's text "
            "(or pass the page's URL, which is fetched and reduced to its article)"
        )
    return text


def read_article(path: str) -> str:
    """The article at ``path``, or standard input when ``path`` is ``-``."""
    if path == "-":
        return decode_article(sys.stdin.buffer.read(), "standard input")
    file = Path(path)
    if file.is_dir():
        raise InputError(f"{path} is a directory, not an article file")
    try:
        data = file.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    return decode_article(data, path)

"""A fetched page's bytes to text, as a browser decodes them (the WHATWG Encoding Standard).

Browsers treat the labels ISO-8859-1, latin1, US-ASCII and their aliases as windows-1252, because
pages so labelled are, in practice, windows-1252: curly quotes and dashes live in bytes 0x80-0x9F,
which ISO-8859-1 maps to invisible control characters. Python's codecs take labels literally, so
decoding by the label alone loses every such character, silently. ``decode_page`` does what the
browser does and counts what it could not decode (U+FFFD), so that a page that is mostly mojibake is
refused instead of summarized.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from summarizer.errors import InputError

# WHATWG label -> the encoding a browser actually uses (only the labels whose Python codec differs).
_WHATWG = {
    **dict.fromkeys(
        (
            "ansi_x3.4-1968",
            "ascii",
            "us-ascii",
            "cp1252",
            "cp819",
            "csisolatin1",
            "ibm819",
            "iso-8859-1",
            "iso-ir-100",
            "iso8859-1",
            "iso88591",
            "iso_8859-1",
            "iso_8859-1:1987",
            "l1",
            "latin1",
            "windows-1252",
            "x-cp1252",
        ),
        "cp1252",
    ),
    **dict.fromkeys(
        ("iso-8859-9", "iso8859-9", "iso88599", "iso_8859-9", "latin5", "l5", "windows-1254"), "cp1254"
    ),
    **dict.fromkeys(("iso-8859-11", "iso8859-11", "tis-620", "dos-874", "windows-874"), "cp874"),
    **dict.fromkeys(("gb2312", "gbk", "x-gbk", "chinese", "csgb2312"), "gb18030"),
    **dict.fromkeys(("ks_c_5601-1987", "euc-kr", "windows-949"), "cp949"),
}
_SINGLE_BYTE_LEGACY = {"cp1252", "cp1254", "cp874"}

# The <meta> prescan a browser does on the first 1024 bytes.
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_:.-]+)""", re.IGNORECASE)
_PDF = b"%PDF-"
# More replacement characters than this share of the text: the page is mojibake, not an article.
MOJIBAKE_SHARE = 0.005
MOJIBAKE_FEW = 3


@dataclass(frozen=True)
class DecodedPage:
    html: str
    encoding: str  # the codec used
    replaced: int  # U+FFFD characters the decoding produced


def is_pdf(data: bytes) -> bool:
    """A PDF by its header (readers accept it anywhere in the first 1024 bytes), whatever the label."""
    head = data[:1024]
    return _PDF in head and not head.lstrip().startswith(b"<")


def _codec(label: str | None) -> str | None:
    if not label:
        return None
    label = label.strip().strip("\"'").lower()
    codec = _WHATWG.get(label, label)
    try:
        return codecs.lookup(codec).name
    except LookupError:
        return None


def _c1_controls(error: UnicodeError) -> tuple[str, int]:
    # WHATWG windows-1252 maps the five bytes Python's cp1252 leaves undefined to U+0081 etc.
    assert isinstance(error, UnicodeDecodeError)
    return "".join(chr(b) for b in error.object[error.start : error.end]), error.end


codecs.register_error("summarizer-c1", _c1_controls)


def declared_charset(data: bytes, header_charset: str | None) -> str | None:
    """The codec the page declares: BOM, then the HTTP header, then a ``<meta>`` in the first 1024 bytes."""
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    codec = _codec(header_charset)
    if codec is None:
        match = _META_CHARSET.search(data[:1024])
        codec = _codec(match.group(1).decode("ascii")) if match else None
    return codec


def decode_page(data: bytes, header_charset: str | None) -> DecodedPage:
    """The page's text; a legacy single-byte label on bytes that are valid UTF-8 means UTF-8.

    That last rule goes one step beyond the browser: a page whose bytes decode as UTF-8 with
    multi-byte characters in them was written in UTF-8 (the odds of windows-1252 text doing so by
    chance are negligible), and reading it as labelled would turn every "é" into "Ã©".
    """
    codec = declared_charset(data, header_charset)
    if codec is None or codec in _SINGLE_BYTE_LEGACY:
        try:
            text = data.decode("utf-8")
            if codec is None or not text.isascii():
                return DecodedPage(text.removeprefix("\ufeff"), "utf-8", 0)
        except UnicodeDecodeError:
            pass
        codec = codec or "cp1252"  # what a browser falls back to for an unlabelled Western page
    errors = "summarizer-c1" if codec == "cp1252" else "replace"
    text = data.decode(codec, errors=errors).removeprefix("\ufeff")
    # A page may carry U+FFFD on purpose (written as such in UTF-8): only count what decoding made.
    written = data.count(b"\xef\xbf\xbd") if codec == "utf-8" else 0
    replaced = text.count("\ufffd") - written
    return DecodedPage(text, codec, max(0, replaced))


def check_mojibake(text: str, replaced: int, encoding: str, origin: str) -> None:
    """Refuse an article whose text is mostly undecodable characters rather than lose them silently."""
    lost = min(replaced, text.count("\ufffd"))
    if lost > MOJIBAKE_FEW and lost > MOJIBAKE_SHARE * len(text):
        raise InputError(
            f"{origin}: the page's text does not decode as {encoding} ({lost} of {len(text)} characters "
            "are undecodable): its character set is mislabelled; save the article's text instead"
        )

"""Pure parts of URL input: charset decoding as browsers do it, PDF sniffing, title suffixes,
layout tables, and the not-an-article signals."""

from __future__ import annotations

import pytest

pytest.importorskip("trafilatura")

from summarizer.errors import InputError
from summarizer.inputs.charset import check_mojibake, decode_page, is_pdf
from summarizer.inputs.extraction import clean_title

CP1252 = "“Quoted” – and — dashes, café".encode("cp1252")


@pytest.mark.parametrize("label", ["ISO-8859-1", "latin1", "us-ascii", "iso_8859-1", "windows-1252", None])
def test_legacy_labels_decode_as_windows_1252(label: str | None) -> None:
    page = decode_page(b"<p>" + CP1252 + b"</p>", label)
    assert page.html == "<p>“Quoted” – and — dashes, café</p>" and page.replaced == 0


def test_the_meta_prescan_names_the_charset() -> None:
    data = b'<html><head><meta charset="iso-8859-1"></head><body>' + CP1252 + b"</body></html>"
    assert "“Quoted”" in decode_page(data, None).html


def test_bytes_windows_1252_leaves_undefined_become_c1_controls_not_loss() -> None:
    page = decode_page(b"a\x81b", "iso-8859-1")
    assert page.html == "a\x81b" and page.replaced == 0


def test_utf8_behind_a_latin1_label_is_read_as_utf8() -> None:
    page = decode_page("“Quoted” café".encode(), "ISO-8859-1")
    assert page.html == "“Quoted” café" and page.encoding == "utf-8"


def test_mojibake_is_counted_and_refused() -> None:
    text = ("“Quoted” – and — dashes. " * 20).encode("cp1252")
    page = decode_page(text, "utf-8")
    assert page.replaced >= 60
    with pytest.raises(InputError, match="does not decode as utf-8"):
        check_mojibake(page.html, page.replaced, page.encoding, "http://x/")
    # A page that itself carries U+FFFD (written in UTF-8) lost nothing in decoding.
    written = decode_page("a \ufffd b".encode(), "utf-8")
    assert written.replaced == 0


def test_pdf_by_its_header() -> None:
    assert is_pdf(b"%PDF-1.7\n...")
    assert is_pdf(b"\n\n%PDF-1.4")
    assert not is_pdf(b"<html><body>%PDF- in a sentence</body></html>")


@pytest.mark.parametrize(
    ("title", "site", "url", "expected"),
    [
        ("Storm hits coast | Reuters", "Reuters", "https://www.reuters.com/a", "Storm hits coast"),
        ("Startup raises $5M - TechCrunch", None, "https://techcrunch.com/x", "Startup raises $5M"),
        ("Biden - Trump debate - CNN", "CNN", "https://edition.cnn.com/x", "Biden - Trump debate"),
        ("BBC News - Floods in Wales", "BBC News", "https://www.bbc.co.uk/news/1", "Floods in Wales"),
        (
            "Rise and fall - a history",
            "The Daily Ledger",
            "https://dailyledger.example/x",
            "Rise and fall - a history",
        ),
        ("Plain title", "Site", "https://site.example/", "Plain title"),
    ],
)
def test_site_name_suffixes_are_cleaned(title: str, site: str | None, url: str, expected: str) -> None:
    assert clean_title(title, site, url) == expected

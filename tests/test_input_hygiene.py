"""What an article file can look like on disk, and what offsets then refer to.

- UTF-8 with a BOM: the BOM is dropped when the file is read (``decode_article``), so
  offsets refer to the text WITHOUT the BOM (the article as text, not as bytes on disk).
- CRLF line endings: the text is used as read, so offsets slice the CRLF text exactly; a
  model quote that writes the line break as "\\n" still grounds (whitespace folding) and
  its evidence is the article's own "\\r\\n" passage.
- NFD-decomposed accents: a quote in NFC grounds, and its evidence slices the NFD original.
- An HTML page, invalid UTF-8 and binary files are refused: exit 2, one line.
"""

from __future__ import annotations

import copy
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import FakeOpenAIServer
from typer.testing import CliRunner

from summarizer import Summarizer
from summarizer.cli import app
from summarizer.config import Settings
from summarizer.errors import InputError
from summarizer.extract.chunking import chunk_article
from summarizer.extract.grounding import Article
from summarizer.inputs.files import decode_article
from summarizer.schema import Summary
from summarizer.testing import ScriptedLLM, tool_call_completion

BOM = "\ufeff"
StartServer = Callable[..., FakeOpenAIServer]
MADURO_CLAIM = 18

# Line 1 ends "... Array of Despots", line 2 starts "Among those living well in Moscow".
ACROSS_LINES = "Put Him in Company With Array of Despots\nAmong those living well in Moscow"


def cli(args: list[str], *, input: bytes | None = None) -> tuple[int, str, str]:
    env: dict[str, str | None] = {"OPENAI_API_KEY": "sk-test-hygiene", "OPENAI_BASE_URL": None}
    result = CliRunner().invoke(app, [*args, "--no-cache", "--max-retries", "0"], input=input, env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def summarize_file(path: Path, server: FakeOpenAIServer) -> Summary:
    code, stdout, stderr = cli(["summarize", str(path), "--base-url", server.base_url])
    assert code == 0, stderr
    return Summary.model_validate_json(stdout)


def one_line_input_error(code: int, stdout: str, stderr: str, *fragments: str) -> None:
    assert code == 2, (code, stderr)
    assert stdout == ""
    lines = stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("summarizer: error: "), stderr
    assert "Traceback" not in stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


@pytest.fixture
def serve(openai_server: StartServer) -> Callable[[dict[str, Any]], FakeOpenAIServer]:
    def start(draft: dict[str, Any]) -> FakeOpenAIServer:
        completion = tool_call_completion(draft)
        return openai_server(lambda body: (200, {}, completion))

    return start


def user_message(body: dict[str, Any]) -> str:
    return str(next(m for m in body["messages"] if m["role"] == "user")["content"])


# --------------------------------------------------------------------------- BOM


def test_decode_article_drops_the_bom(article: str) -> None:
    assert decode_article(BOM.encode("utf-8") + article.encode("utf-8"), "x") == article


def test_bom_offsets_refer_to_the_text_without_the_bom(
    tmp_path: Path, article: str, reference_draft: dict[str, Any], serve: Any
) -> None:
    path = tmp_path / "bom.txt"
    path.write_bytes(BOM.encode("utf-8") + article.encode("utf-8"))
    server = serve(reference_draft)

    summary = summarize_file(path, server)

    assert summary.check_offsets(article) == []
    # Against the file's text with its BOM, every span would be one character off.
    assert summary.check_offsets(BOM + article) != []
    assert BOM not in user_message(server.requests[0]), "the model never sees the BOM"


def test_bom_on_standard_input(article: str, reference_draft: dict[str, Any], serve: Any) -> None:
    server = serve(reference_draft)

    code, stdout, stderr = cli(
        ["summarize", "-", "--base-url", server.base_url], input=(BOM + article).encode("utf-8")
    )

    assert code == 0, stderr
    assert Summary.model_validate_json(stdout).check_offsets(article) == []


def test_a_bom_and_nothing_else_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "bom-only.txt"
    path.write_bytes(BOM.encode("utf-8") + b"\n  \n")
    one_line_input_error(*cli(["summarize", str(path)]), "empty")


# --------------------------------------------------------------------------- CRLF


@pytest.fixture
def crlf_draft(reference_draft: dict[str, Any]) -> dict[str, Any]:
    draft = copy.deepcopy(reference_draft)
    draft["claims"].append(
        {
            "statement": "The headline says Khamenei's plan would put him among despots living well in Moscow.",
            "source_id": None,
            "attribution": "article_assertion",
            "entity_ids": ["E1", "E2"],
            "quote": ACROSS_LINES,  # the model writes the line break as "\n"
        }
    )
    return draft


def test_crlf_offsets_slice_the_crlf_text(
    tmp_path: Path, article: str, crlf_draft: dict[str, Any], serve: Any
) -> None:
    crlf = article.replace("\n", "\r\n")
    path = tmp_path / "crlf.txt"
    path.write_bytes(crlf.encode("utf-8"))
    server = serve(crlf_draft)

    summary = summarize_file(path, server)

    assert summary.check_offsets(crlf) == []
    assert summary.meta is not None and summary.meta.warnings == []
    assert summary.meta.reasks == 0, "a quote that differs only in its line break needs no re-ask"
    (across,) = [c for c in summary.claims if "Despots" in c.evidence.text and "Among" in c.evidence.text]
    assert across.evidence.text == ACROSS_LINES.replace("\n", "\r\n")
    assert crlf[across.evidence.start : across.evidence.end] == across.evidence.text


def test_crlf_article_reaches_the_model_as_read(
    article: str, reference_draft: dict[str, Any], settings: Callable[..., Settings]
) -> None:
    crlf = article.replace("\n", "\r\n")
    llm = ScriptedLLM([tool_call_completion(reference_draft)])

    Summarizer(settings(), transport=llm).summarize(crlf)

    assert crlf in user_message(llm.requests[0])


def test_crlf_is_never_split_by_chunking(article: str) -> None:
    crlf = ((article + "\n") * 8).replace("\n", "\r\n")
    chunks = chunk_article(crlf, 300)
    assert len(chunks) > 1
    assert "".join(crlf[c.start : c.end] for c in chunks) == crlf
    for chunk in chunks[1:]:
        assert crlf[chunk.start - 1 : chunk.start + 1] != "\r\n"
        assert not crlf[chunk.start].isspace()


# --------------------------------------------------------------------------- Unicode normalization


def test_nfc_quotes_ground_in_an_nfd_article(
    tmp_path: Path, article: str, reference_draft: dict[str, Any], serve: Any
) -> None:
    nfd = unicodedata.normalize("NFD", article)
    assert nfd != article, "the seed article has accents (Nicolás)"
    path = tmp_path / "nfd.txt"
    path.write_bytes(nfd.encode("utf-8"))
    server = serve(reference_draft)  # the draft is NFC, as models write

    summary = summarize_file(path, server)

    assert summary.check_offsets(nfd) == []
    assert summary.meta is not None and summary.meta.warnings == [] and summary.meta.reasks == 0
    quote = reference_draft["claims"][MADURO_CLAIM]["quote"]
    (claim,) = [c for c in summary.claims if unicodedata.normalize("NFC", c.evidence.text) == quote]
    assert claim.evidence.text == unicodedata.normalize("NFD", quote) != quote
    (maduro,) = [e for e in summary.entities if e.name == "Nicolás Maduro"]
    assert maduro.mentions[0].text == unicodedata.normalize("NFD", "Nicolás Maduro")
    assert all(nfd[m.start : m.end] == m.text for m in maduro.mentions)


def test_nfd_quotes_ground_in_an_nfc_article(
    article: str, reference_draft: dict[str, Any], settings: Callable[..., Settings]
) -> None:
    draft = copy.deepcopy(reference_draft)
    draft["claims"][MADURO_CLAIM]["quote"] = unicodedata.normalize(
        "NFD", draft["claims"][MADURO_CLAIM]["quote"]
    )
    llm = ScriptedLLM([tool_call_completion(draft)])

    summary = Summarizer(settings(), transport=llm).summarize(article)

    assert summary.check_offsets(article) == []
    assert len(llm.requests) == 1
    assert any(c.evidence.text == reference_draft["claims"][MADURO_CLAIM]["quote"] for c in summary.claims)


def test_a_decomposed_accent_is_part_of_its_word() -> None:
    text = unicodedata.normalize("NFD", "Nicolás met Nicola in Zürich.")
    article = Article(text)
    assert [m.text for m in article.mentions("Nicola")] == ["Nicola"]
    (zurich,) = article.mentions("Zürich")
    assert text[zurich.start : zurich.end] == unicodedata.normalize("NFD", "Zürich")


# --------------------------------------------------------------------------- refused: exit 2


@pytest.mark.parametrize(
    "page",
    [
        "<!DOCTYPE html>\n<html><head><title>News</title></head><body><p>Text</p></body></html>",
        "<html>\n<head><title>News</title></head>\n<body>\n<div>Khamenei flees to Moscow.</div>\n</body></html>",
    ],
    ids=["doctype", "tags"],
)
def test_an_html_page_is_refused(tmp_path: Path, page: str) -> None:
    path = tmp_path / "page.html"
    path.write_text(page, encoding="utf-8")

    one_line_input_error(*cli(["summarize", str(path)]), "looks like an HTML page")
    one_line_input_error(*cli(["summarize", "-"], input=page.encode()), "standard input", "HTML page")


def test_an_article_that_mentions_a_tag_is_not_html(article: str) -> None:
    from summarizer.inputs.files import check_article

    text = article + "\nThe site wraps each story in an <article> element.\n"
    assert check_article(text) == text


def test_an_html_page_is_refused_by_the_library(settings: Callable[..., Settings]) -> None:
    llm = ScriptedLLM([])
    with pytest.raises(InputError, match="looks like an HTML page"):
        Summarizer(settings(), transport=llm).summarize("<!doctype html><html><body>x</body></html>")
    assert llm.requests == []


@pytest.mark.parametrize(
    "data, fragments",
    [
        ("Nicolás Maduro fled.".encode("latin-1"), ("not valid UTF-8", "byte 0xe1 at offset 5")),
        ("Moscow, café".encode() + b"\xe2\x80", ("not valid UTF-8", "byte 0xe2 at offset 13")),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", ("binary", "NUL")),
        ("Moscow exiles.".encode("utf-16"), ("UTF-16", "UTF-8")),
        (b"Moscow\x00exiles", ("binary",)),
    ],
    ids=["latin-1", "truncated-utf8", "png", "utf-16", "nul"],
)
def test_undecodable_input_is_refused(tmp_path: Path, data: bytes, fragments: tuple[str, ...]) -> None:
    path = tmp_path / "article.txt"
    path.write_bytes(data)

    one_line_input_error(*cli(["summarize", str(path)]), str(path), *fragments)
    one_line_input_error(*cli(["summarize", "-"], input=data), "standard input", *fragments)


# -- a NUL anywhere is binary, not just in the first 8 KB -----------------------------------------------


def _with_nul_far_in(article: str) -> tuple[str, int]:
    """The seed article three times over (11 KB) with one NUL byte near the end, past the first
    8 KB, where the old sniffing stopped looking."""
    article = "\n".join([article] * 3)
    cut = article.rindex(" ", 0, len(article) - 40)
    offset = len(article[:cut].encode("utf-8"))
    assert offset > 8_192
    return article[:cut] + "\x00" + article[cut:], offset


def test_a_nul_byte_after_the_first_8_kb_is_refused_as_binary(tmp_path: Path, article: str) -> None:
    text, offset = _with_nul_far_in(article)
    path = tmp_path / "article.txt"
    path.write_bytes(text.encode("utf-8"))

    one_line_input_error(*cli(["summarize", str(path)]), str(path), "binary", f"NUL byte at offset {offset}")


def test_a_nul_in_text_given_to_the_library_is_refused_before_any_call(
    article: str, settings: Callable[..., Settings]
) -> None:
    text, _ = _with_nul_far_in(article)
    llm = ScriptedLLM([])
    with pytest.raises(InputError, match="binary file, not an article"):
        Summarizer(settings(), transport=llm).summarize(text)
    assert llm.requests == []


def test_a_nul_in_a_jsonl_text_field_fails_that_article_only(
    tmp_path: Path, article: str, openai_server: StartServer, reference_draft: dict[str, Any]
) -> None:
    import json

    server = openai_server(lambda body: (200, {}, tool_call_completion(reference_draft)))
    text, _ = _with_nul_far_in(article)
    source = tmp_path / "in.jsonl"
    source.write_text(
        json.dumps({"id": "clean", "text": article}) + "\n" + json.dumps({"id": "nul", "text": text}) + "\n",
        encoding="utf-8",
    )
    out = tmp_path / "out.jsonl"

    code, _, stderr = cli(
        ["batch", str(source), "-o", str(out), "--base-url", server.base_url, "--no-progress"]
    )

    assert code == 1, stderr
    records = {r["id"]: r for r in map(json.loads, out.read_text(encoding="utf-8").splitlines())}
    assert records["clean"]["status"] == "ok"
    assert records["nul"]["error_type"] == "InputError"
    assert "binary" in records["nul"]["error"]
    assert len(server.requests) == 1  # the NUL never reached the model

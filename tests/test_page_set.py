"""The hand-built page set in fixtures/pages/, each page served from 127.0.0.1 and run through
``summarizer summarize URL --save-text``: articles come back whole (tables, windows-1252 behind a
latin-1 label, a page whose date search used to be slow), non-articles are refused in one line
(exit 2) naming the signal that fired, and the summary's provenance says where the text came from."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("trafilatura")

from conftest import API_KEY, FakeOpenAIServer
from page_server import ROOT, Page, PageServer
from typer.testing import CliRunner

from summarizer.cli import app
from summarizer.schema import Summary
from summarizer.testing import tool_call_completion

PAGES_DIR = ROOT / "fixtures" / "pages"
CP1252_TEXT = "The county’s board of supervisors voted 4–1 on Tuesday"
LINCOLN = "government of the people, by the people, for the people, shall not perish from the earth."


def _page(name: str, content_type: str | None = "text/html; charset=utf-8") -> Page:
    return Page((PAGES_DIR / name).read_bytes(), content_type=content_type)


PAGES = {
    "/table-layout": _page("table-layout.html"),
    "/paywall-subscriber": _page("paywall-subscriber.html"),
    "/paywall-free-account": _page("paywall-free-account.html"),
    "/paywall-script": _page("paywall-script.html"),
    "/reprint-stub": _page("reprint-stub.html"),
    "/home-page": _page("home-page.html"),
    "/latin1": _page("latin1-label-cp1252-bytes.html", "text/html; charset=ISO-8859-1"),
    "/unlabelled.pdf": _page("unlabelled.pdf", None),
    "/pdf-as-html": _page("unlabelled.pdf", "text/html"),
    "/slow-date": _page("slow-date.html"),
    "/moved": Page(b"", status=302, headers={"Location": "/table-layout"}),
}

# A draft naming nothing: what matters here is the text the CLI fetched, saved and summarized.
EMPTY_DRAFT = {
    "headline": "A summary",
    "abstract": "What the article says.",
    "entities": [],
    "sources": [],
    "claims": [],
}


@pytest.fixture(scope="module")
def site() -> Iterator[PageServer]:
    with PageServer(PAGES) as server:
        yield server


def _invoke(args: list[str]) -> Any:
    env = {"OPENAI_API_KEY": API_KEY, "OPENAI_BASE_URL": None, "SUMMARIZER_BASE_URL": None}
    return CliRunner().invoke(app, args, env=env)


def _summarize(
    site: PageServer, path: str, tmp_path: Path, server: FakeOpenAIServer, *extra: str
) -> tuple[Any, Path]:
    saved = tmp_path / "text.txt"
    result = _invoke(
        [
            "summarize",
            f"{site.url}{path}",
            "--base-url",
            server.base_url,
            "--save-text",
            str(saved),
            "--no-cache",
            *extra,
        ]
    )
    return result, saved


@pytest.fixture
def model(openai_server: Callable[..., FakeOpenAIServer]) -> FakeOpenAIServer:
    completion = tool_call_completion(EMPTY_DRAFT)
    return openai_server(lambda body: (200, {}, completion))


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/table-layout", ("Four score and seven years ago", LINCOLN, "It is altogether fitting and proper")),
        ("/latin1", (CP1252_TEXT, "“We have held these parcels", "the lots — most of them small")),
        ("/slow-date", ("Lot 17, Oak Lane 16, May auction", "certified check for the deposit")),
    ],
)
def test_articles_come_back_whole(
    site: PageServer, path: str, expected: tuple[str, ...], tmp_path: Path, model: FakeOpenAIServer
) -> None:
    result, saved = _summarize(site, path, tmp_path, model)
    assert result.exit_code == 0, result.stderr
    text = saved.read_text(encoding="utf-8")
    for fragment in expected:
        assert fragment in text, fragment
    assert "\ufffd" not in text and "\x93" not in text
    # What was summarized is what was saved.
    assert model.requests and text in model.requests[0]["messages"][-1]["content"]


def test_table_layout_keeps_paragraphs(site: PageServer, tmp_path: Path, model: FakeOpenAIServer) -> None:
    result, saved = _summarize(site, "/table-layout", tmp_path, model)
    assert result.exit_code == 0, result.stderr
    lines = saved.read_text(encoding="utf-8").split("\n")
    # The title without its site suffix, then one paragraph a line (not one long table row).
    assert lines[0] == "Lincoln dedicates the cemetery at Gettysburg"
    assert any(line.startswith("Four score") and line.endswith("created equal.") for line in lines)
    assert "Home" not in lines and not any("|" in line for line in lines)


@pytest.mark.parametrize(
    ("path", "fragments"),
    [
        ("/paywall-subscriber", ("paywall or sign-in", '"subscribe to continue"')),
        ("/paywall-free-account", ("paywall or sign-in", '"create a free account to"')),
        ("/paywall-script", ("paywall or sign-in", "script on the page")),
        ("/reprint-stub", ("reprint or licensing notice", "personal, non-commercial use only")),
        ("/home-page", ("home page", "links")),
        ("/unlabelled.pdf", ("is a PDF document",)),
        ("/pdf-as-html", ("is a PDF document",)),
    ],
)
def test_non_articles_are_refused_in_one_line(
    site: PageServer, path: str, fragments: tuple[str, ...], tmp_path: Path, model: FakeOpenAIServer
) -> None:
    result, saved = _summarize(site, path, tmp_path, model)
    assert result.exit_code == 2, result.stdout
    assert result.stderr.startswith("summarizer: error: ") and result.stderr.count("\n") == 1, result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr
    assert not saved.exists() and model.requests == []


def test_the_slow_date_page_never_reaches_dateparser(
    site: PageServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """htmldate's extensive search sends this page's fragments to dateparser one by one; ours does not."""
    import htmldate.extractors

    calls: list[str] = []
    original = htmldate.extractors._external_date

    def counting(string: str) -> Any:
        calls.append(string)
        return original(string)

    monkeypatch.setattr(htmldate.extractors, "_external_date", counting)
    from summarizer.inputs.url import fetch_article

    fetched = fetch_article(f"{site.url}/slow-date")
    assert "May auction" in fetched.text and calls == []
    # Each of its fragments, in htmldate's extensive mode, goes to dateparser: the fixture is what it says.
    from datetime import datetime

    fragment = "Lot 17, Oak Lane 16, May auction"
    assert fragment in fetched.text
    htmldate.extractors.try_date_expr(fragment, "%Y-%m-%d", True, datetime(1995, 1, 1), datetime.now())
    assert calls == [fragment]


def test_provenance_of_a_fetched_page_in_json(
    site: PageServer, tmp_path: Path, model: FakeOpenAIServer
) -> None:
    result, saved = _summarize(site, "/moved", tmp_path, model)
    assert result.exit_code == 0, result.stderr
    provenance = json.loads(result.stdout)["provenance"]
    import hashlib

    assert provenance["sha256"] == hashlib.sha256(saved.read_bytes()).hexdigest()
    assert provenance["url"] == f"{site.url}/moved"
    assert provenance["final_url"] == f"{site.url}/table-layout"
    assert provenance["title"] == "Lincoln dedicates the cemetery at Gettysburg"
    assert provenance["site_name"] == "The Adams Sentinel"
    assert provenance["author"] == "Staff Correspondent"
    assert provenance["fetched_at"].endswith("Z") and provenance["path"] is None
    # Markdown shows it too.
    markdown, _ = _summarize(site, "/table-layout", tmp_path, model, "--format", "markdown")
    assert (
        f"*Source: [Lincoln dedicates the cemetery at Gettysburg](<{site.url}/table-layout>)"
        in markdown.stdout
    )
    assert "The Adams Sentinel · by Staff Correspondent" in markdown.stdout


def test_provenance_of_a_file_in_json(tmp_path: Path, model: FakeOpenAIServer, article_path: Path) -> None:
    import hashlib

    result = _invoke(["summarize", str(article_path), "--base-url", model.base_url, "--no-cache"])
    assert result.exit_code == 0, result.stderr
    summary = Summary.model_validate_json(result.stdout)
    assert summary.provenance is not None
    assert summary.provenance.path == str(article_path)
    assert summary.provenance.sha256 == hashlib.sha256(article_path.read_bytes()).hexdigest()
    assert summary.provenance.url is None and summary.provenance.fetched_at is None

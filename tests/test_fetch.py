"""Article URLs: a real-looking news page served on 127.0.0.1 is reduced to its article, and
every way a page can fail to be one (not HTML, 404, too large, too slow, paywalled, empty) is
one clear line, from the library and from ``summarizer summarize URL``."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("trafilatura")

from conftest import API_KEY, FakeOpenAIServer
from page_server import Page, PageServer, draft_for_text, news_page
from typer.testing import CliRunner

from summarizer.cli import app
from summarizer.errors import InputError, ProviderError
from summarizer.inputs.url import MAX_BYTES, FetchedArticle, afetch_article, fetch_article, is_url
from summarizer.pipeline import Summarizer
from summarizer.schema import Summary
from summarizer.testing import ScriptedLLM, tool_call_completion

HEADLINE = "Khamenei’s Moscow Escape Plan Would, If Followed, Put Him in Company With Array of Despots"

# What surrounds the article on the page and must not reach the text: navigation, ads,
# the cookie banner, the newsletter box, comments, "most read", the footer.
BOILERPLATE = (
    "Accept all",
    "We use cookies",
    "Refinance now",
    "Advertisement",
    "Protect your savings",
    "Related coverage",
    "Oil prices slide",
    "Morning Ledger",
    "newsletter",
    "good riddance",
    "PatriotDave1776",
    "Comments (3)",
    "Most read",
    "Ten winter soups",
    "All rights reserved",
    "Privacy policy",
    "Share on Facebook",
    "Topics:",
)

PAYWALL_PAGE = b"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Inside the Kremlin's guest list for fallen strongmen | The Daily Ledger</title></head>
<body>
<header><nav><a href="/">Home</a> <a href="/world">World</a> <a href="/subscribe">Subscribe</a></nav></header>
<main><article>
<h1>Inside the Kremlin's guest list for fallen strongmen</h1>
<p>Moscow has quietly become a retirement home for deposed leaders.</p>
<div class="paywall">
<h2>Subscribe to continue reading</h2>
<p>Get unlimited digital access for $1 a week. Cancel anytime.</p>
<p>Already a subscriber? <a href="/login">Sign in</a></p>
</div>
</article></main>
<footer><p>&copy; 2026 The Daily Ledger</p></footer>
</body></html>
"""

EMPTY_PAGE = b"<!DOCTYPE html><html><head><title></title></head><body></body></html>"

NAV_ONLY_PAGE = b"""<!DOCTYPE html><html><head><title>The Daily Ledger</title></head><body>
<header><nav><a href="/">Home</a> <a href="/world">World</a> <a href="/politics">Politics</a></nav></header>
<main><ul><li><a href="/a">Oil prices slide</a></li><li><a href="/b">Playoff preview</a></li></ul></main>
<footer>&copy; 2026 The Daily Ledger</footer></body></html>"""


def _huge_chunks() -> Iterator[bytes]:
    chunk = b"<p>" + b"filler text " * 5_000 + b"</p>\n"
    yield b"<!DOCTYPE html><html><body><article>"
    for _ in range(MAX_BYTES // len(chunk) + 10):
        yield chunk
    yield b"</article></body></html>"


PAGES = {
    "/article": Page(news_page),
    "/moved": Page(b"", status=301, headers={"Location": "/article"}),
    "/loop": Page(b"", status=302, headers={"Location": "/loop"}),
    "/report.pdf": Page(
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\n", content_type="application/pdf"
    ),
    "/notes.txt": Page(b"Just some text.\n", content_type="text/plain; charset=utf-8"),
    "/gone": Page(b"<html><body>Not here</body></html>", status=404),
    "/forbidden": Page(b"<html><body>Forbidden</body></html>", status=403),
    "/down": Page(b"<html><body>Overloaded</body></html>", status=503),
    "/declared-huge": Page(
        b"<html></html>", headers={"Content-Length": str(MAX_BYTES + 1)}, send_length=False
    ),
    "/streamed-huge": Page(_huge_chunks, send_length=False),
    "/slow": Page(news_page, delay=5.0),
    "/paywall": Page(PAYWALL_PAGE),
    "/empty": Page(EMPTY_PAGE),
    "/blank": Page(b""),
    "/nav-only": Page(NAV_ONLY_PAGE),
}


@pytest.fixture(scope="module")
def site() -> Iterator[PageServer]:
    with PageServer(PAGES) as server:
        yield server


@pytest.fixture(scope="module")
def fetched(site: PageServer) -> FetchedArticle:
    return fetch_article(f"{site.url}/article")


def _paragraphs(article: str) -> list[str]:
    # The seed article's body: every line after the headline and the standfirst (line 2).
    lines = [line for line in article.split("\n") if line.strip()]
    return lines[2:]


def _one_line(exc: pytest.ExceptionInfo[BaseException]) -> str:
    message = str(exc.value)
    assert "\n" not in message and message
    return message


# --------------------------------------------------------------------------- extraction


def test_the_extracted_text_is_the_article(fetched: FetchedArticle, article: str) -> None:
    for paragraph in _paragraphs(article):
        assert paragraph in fetched.text
    for junk in BOILERPLATE:
        assert junk not in fetched.text, junk
    # One paragraph a line, the headline first.
    assert fetched.text.startswith(HEADLINE + "\n\n")


def test_metadata(fetched: FetchedArticle, site: PageServer) -> None:
    assert fetched.title == HEADLINE
    assert fetched.author == "Ben Wolfgang"
    assert fetched.date == "2026-01-09"
    assert fetched.sitename == "The Daily Ledger"
    assert fetched.url == f"{site.url}/article"


def test_it_says_who_is_asking(fetched: FetchedArticle, site: PageServer) -> None:
    agents = {agent for path, agent in site.requests if path == "/article"}
    assert agents and all(agent.startswith("summarizer/") for agent in agents)


def test_redirects_are_followed(site: PageServer, fetched: FetchedArticle) -> None:
    moved = fetch_article(f"{site.url}/moved")
    assert moved.url == f"{site.url}/article"
    assert moved.text == fetched.text


def test_async_fetch_gives_the_same_article(site: PageServer, fetched: FetchedArticle) -> None:
    assert asyncio.run(afetch_article(f"{site.url}/article")) == fetched


def test_offsets_slice_the_extracted_text(
    fetched: FetchedArticle, reference_draft: dict[str, Any], settings: Callable[..., Any]
) -> None:
    """The model quotes the article; every offset in the summary slices the fetched text."""
    # The standfirst sits in the page's header, which is not article body: what only it says goes.
    draft = draft_for_text(reference_draft, fetched.text)
    assert len(draft["claims"]) >= len(reference_draft["claims"]) - 1
    llm = ScriptedLLM([tool_call_completion(draft)])
    summary = Summarizer(settings(), transport=llm).summarize(fetched.text)
    assert summary.check_offsets(fetched.text) == []
    assert len(summary.claims) == len(draft["claims"])
    assert summary.meta is not None and summary.meta.warnings == []
    for claim in summary.claims:
        assert fetched.text[claim.evidence.start : claim.evidence.end] == claim.evidence.text
    # What the model was sent is the extracted text, not the page.
    sent = json.dumps(llm.requests[0], ensure_ascii=False)
    assert "Refinance now" not in sent and "Mojtaba" in sent


# --------------------------------------------------------------------------- failures


@pytest.mark.parametrize(
    ("path", "error", "fragments"),
    [
        ("/report.pdf", InputError, ("is a PDF document", "not a web page")),
        ("/notes.txt", InputError, ("not a web page", "text/plain")),
        ("/gone", InputError, ("HTTP 404",)),
        ("/forbidden", InputError, ("HTTP 403", "subscription or a login")),
        ("/down", ProviderError, ("HTTP 503", "try again later")),
        ("/declared-huge", InputError, ("too large", "5.0 MB")),
        ("/streamed-huge", InputError, ("too large", "5.0 MB")),
        ("/paywall", InputError, ("paywall or sign-in",)),
        ("/empty", InputError, ("no article found",)),
        ("/blank", InputError, ("the page is empty",)),
        ("/nav-only", InputError, ("no article found",)),
        ("/loop", InputError, ("redirects",)),
    ],
)
def test_pages_that_are_not_articles(
    site: PageServer, path: str, error: type[Exception], fragments: tuple[str, ...]
) -> None:
    with pytest.raises(error) as caught:
        fetch_article(f"{site.url}{path}")
    message = _one_line(caught)
    for fragment in fragments:
        assert fragment in message, message


def test_a_slow_site_times_out(site: PageServer) -> None:
    # The page would arrive after 5 s: an error (rather than the page) shows the timeout cut in.
    with pytest.raises(ProviderError) as caught:
        fetch_article(f"{site.url}/slow", timeout=0.5)
    assert "did not answer within 0.5 s" in _one_line(caught)


def test_a_slow_site_times_out_async(site: PageServer) -> None:
    with pytest.raises(ProviderError, match=r"did not answer within 0\.5 s"):
        asyncio.run(afetch_article(f"{site.url}/slow", timeout=0.5))


def test_nobody_listening(closed_port: int) -> None:
    with pytest.raises(ProviderError) as caught:
        fetch_article(f"http://127.0.0.1:{closed_port}/article", timeout=2)
    assert "cannot connect to 127.0.0.1" in _one_line(caught)


def test_private_addresses_can_be_refused(site: PageServer) -> None:
    """What a shared service (the Slack bot) does: no loopback, no private network, on any hop."""
    with pytest.raises(InputError) as caught:
        fetch_article(f"{site.url}/article", allow_private=False)
    assert "private or local address" in _one_line(caught)
    with pytest.raises(InputError, match="private or local address"):
        asyncio.run(afetch_article(f"{site.url}/moved", allow_private=False))
    before = len(site.requests)
    with pytest.raises(InputError):
        fetch_article("http://169.254.169.254/latest/meta-data/", allow_private=False)
    assert len(site.requests) == before


@pytest.mark.parametrize("value", ["ftp://example.com/a", "file:///etc/passwd", "http://"])
def test_only_http_urls(value: str) -> None:
    with pytest.raises(InputError):
        fetch_article(value)


def test_is_url() -> None:
    assert is_url("https://example.com/news/1")
    assert is_url("HTTP://example.com")
    assert not is_url("article.txt")
    assert not is_url("-")
    assert not is_url("https://example.com/a b")


# --------------------------------------------------------------------------- the CLI

ERROR_PREFIX = "summarizer: error: "
CONFIG_VARS = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "SUMMARIZER_BASE_URL",
    "SUMMARIZER_MODEL",
    "SUMMARIZER_MODE",
)


def _invoke(args: list[str]) -> Any:
    env: dict[str, str | None] = dict.fromkeys(CONFIG_VARS)
    env["OPENAI_API_KEY"] = API_KEY
    result = CliRunner().invoke(app, args, env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def test_cli_summarizes_a_url(
    site: PageServer,
    fetched: FetchedArticle,
    reference_draft: dict[str, Any],
    openai_server: Callable[..., FakeOpenAIServer],
    tmp_path: Path,
) -> None:
    draft = draft_for_text(reference_draft, fetched.text)
    completion = tool_call_completion(draft)
    server = openai_server(lambda body: (200, {}, completion))
    saved = tmp_path / "article.txt"
    result = _invoke(
        [
            "summarize",
            f"{site.url}/article",
            "--base-url",
            server.base_url,
            "--save-text",
            str(saved),
            "--no-cache",
        ]
    )
    assert result.exit_code == 0, result.stderr
    summary = Summary.model_validate_json(result.stdout)
    text = saved.read_text(encoding="utf-8")
    assert text == fetched.text
    assert summary.check_offsets(text) == []
    assert len(summary.claims) == len(draft["claims"])
    sent = server.requests[0]["messages"][-1]["content"]
    assert "Mojtaba" in sent and "PatriotDave1776" not in sent


@pytest.mark.parametrize(
    ("path", "fragment"),
    [("/report.pdf", "PDF document"), ("/gone", "HTTP 404"), ("/paywall", "paywall")],
)
def test_cli_url_errors_are_one_line(site: PageServer, path: str, fragment: str, closed_port: int) -> None:
    result = _invoke(["summarize", f"{site.url}{path}", "--base-url", f"http://127.0.0.1:{closed_port}/v1"])
    assert result.exit_code == 2
    assert result.stderr.startswith(ERROR_PREFIX) and result.stderr.count("\n") == 1, result.stderr
    assert fragment in result.stderr
    assert "Traceback" not in result.stderr

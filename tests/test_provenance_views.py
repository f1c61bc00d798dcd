"""Provenance is shown wherever a summary is: Markdown, the terminal table and the Slack context line."""

from __future__ import annotations

import io

from page_server import ROOT
from rich.console import Console

from summarizer.golden.compare import load_golden
from summarizer.outputs.render import to_markdown, to_table
from summarizer.schema import Provenance, Summary
from summarizer.slack.blocks import summary_blocks

PAGE = Provenance(
    sha256="ab" * 32,
    url="https://example.org/short",
    final_url="https://news.example.org/2026/01/story",
    title="Storm hits coast",
    author="Jane Roe",
    published="2026-01-09",
    site_name="Gulf <Coast> & Chronicle",
    fetched_at="2026-01-10T08:00:00Z",
)


def _golden() -> Summary:
    return load_golden(ROOT / "fixtures" / "cases" / "khamenei-moscow-exiles" / "golden.json")


def test_markdown_and_table_show_a_page_and_a_file() -> None:
    page = _golden().model_copy(update={"provenance": PAGE})
    markdown = to_markdown(page)
    assert (
        "*Source: [Storm hits coast](<https://news.example.org/2026/01/story>) · Gulf <Coast> & Chronicle"
        in markdown
    )
    assert (
        "by Jane Roe · published 2026-01-09 · fetched 2026-01-10T08:00:00Z · sha256 abababababab*" in markdown
    )
    console = Console(record=True, width=200, file=io.StringIO())
    console.print(to_table(page))
    assert "source: https://news.example.org/2026/01/story · Gulf <Coast> & Chronicle · by Jane Roe" in (
        console.export_text()
    )
    file = _golden().model_copy(update={"provenance": Provenance(sha256="cd" * 32, path="article.txt")})
    assert "*Source: `article.txt` · sha256 cdcdcdcdcdcd*" in to_markdown(file)


def test_slack_context_line_links_the_page_and_escapes_its_metadata() -> None:
    blocks = summary_blocks(_golden().model_copy(update={"provenance": PAGE}), requested_by="U123")
    context = next(b for b in blocks if b["type"] == "context")
    line = context["elements"][0]["text"]
    assert line.startswith("<https://news.example.org/2026/01/story|news.example.org/2026/01/story>")
    assert "Gulf &lt;Coast&gt; &amp; Chronicle · by Jane Roe · published 2026-01-09" in line
    assert line.endswith("requested by <@U123>")
    # A file's path is not a link.
    file = _golden().model_copy(update={"provenance": Provenance(sha256="cd" * 32, path="a.txt")})
    assert all("a.txt" not in str(b) for b in summary_blocks(file))

"""``summarizer summarize``: one article to JSON, Markdown, a terminal table or an HTML review page."""

from __future__ import annotations

from pathlib import Path

import typer

from summarizer.cli import llm_options as opt
from summarizer.cli.running import run_guarded


def summarize_command(
    article: str = typer.Argument(
        ..., help="Article file (UTF-8 text), - for standard input, or an http(s) URL to fetch."
    ),
    output_format: str | None = typer.Option(
        None,
        "--format",
        "-f",
        help="json, markdown, table or html (a review page). Default: html for -o *.html, else json.",
    ),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Write here (atomically) instead of stdout."
    ),
    save_text: Path | None = typer.Option(
        None,
        "--save-text",
        help="Also write the article text that was summarized (the text a URL was reduced to): "
        "the offsets refer to it.",
    ),
    model: opt.Model = None,
    base_url: opt.BaseUrl = None,
    mode: opt.Mode = None,
    max_reasks: opt.MaxReasks = None,
    max_retries: opt.MaxRetries = None,
    timeout: opt.Timeout = None,
    strict: opt.Strict = False,
    record: opt.Record = None,
    replay: opt.Replay = None,
    replay_or_record: opt.ReplayOrRecord = None,
    provider: opt.Provider = None,
    model_path: opt.ModelPath = None,
    max_output_tokens: opt.MaxOutputTokens = None,
    max_input_tokens: opt.MaxInputTokens = None,
    max_cost: opt.MaxCost = None,
    max_tokens_total: opt.MaxTokensTotal = None,
    time_budget: opt.TimeBudget = None,
    seed: opt.Seed = None,
    no_cache: opt.NoCache = False,
    pricing: opt.Pricing = None,
    debug: opt.Debug = False,
) -> None:
    """Summarize one article into entities, sources and grounded claims."""
    options = dict(locals())  # the parameters, before anything else is defined

    def body() -> None:
        from summarizer.cli.running import fail
        from summarizer.inputs.files import read_article
        from summarizer.inputs.url import fetch_article, is_url
        from summarizer.outputs.atomic import write_atomic
        from summarizer.outputs.render import FORMATS, to_json, to_markdown

        chosen = output_format or _format_for(output)
        if chosen not in FORMATS:
            fail(f"unknown format {chosen!r}: choose one of {', '.join(FORMATS)}", 2)
        # A URL is fetched and reduced to its article; the offsets refer to that text.
        text = fetch_article(article).text if is_url(article) else read_article(article)
        if save_text is not None:
            write_atomic(save_text, text)
        settings = opt.settings_from(options)
        summarizer = opt.build_summarizer(
            settings,
            record=record,
            replay=replay,
            replay_or_record=replay_or_record,
            no_cache=no_cache,
            pricing=pricing,
        )
        summary = summarizer.summarize(text)
        if chosen == "table":
            _show_table(summary, output)
            return
        if chosen == "html":
            from summarizer.outputs.html import render

            rendered = render(summary, text)
        else:
            rendered = to_json(summary) if chosen == "json" else to_markdown(summary)
        if output is None:
            typer.echo(rendered, nl=False)
        else:
            write_atomic(output, rendered)

    run_guarded(body, debug=debug)


def _format_for(output: Path | None) -> str:
    """The format an output file's name asks for when --format is not given."""
    if output is not None and output.suffix.lower() in (".html", ".htm"):
        return "html"
    return "json"


def _show_table(summary: object, output: Path | None) -> None:
    import io

    from rich.console import Console

    from summarizer.outputs.atomic import write_atomic
    from summarizer.outputs.render import to_table
    from summarizer.schema import Summary

    assert isinstance(summary, Summary)
    if output is None:
        Console().print(to_table(summary))
        return
    console = Console(record=True, width=120, file=io.StringIO())
    console.print(to_table(summary))
    write_atomic(output, console.export_text())

"""``summarizer summarize``: one article to JSON, Markdown, a terminal table or an HTML review page."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from summarizer.cli import llm_options as opt
from summarizer.cli.running import run_guarded, write_stdout

if TYPE_CHECKING:
    from summarizer.schema import Summary


def summarize_command(
    article: str = typer.Argument(
        ...,
        metavar="ARTICLE",
        help="Article file (UTF-8 text), - for standard input, or an http(s) URL to fetch.",
    ),
    output_format: Annotated[
        str | None,
        opt.option(
            "--format",
            "-f",
            metavar="FORMAT",
            panel=opt.INPUT_OUTPUT,
            help="json, markdown, table or html (a review page) (default json; with -o, from its suffix: "
            ".json, .md, .txt, .html).",
        ),
    ] = None,
    output: Annotated[
        Path | None,
        opt.option(
            "--output", "-o", panel=opt.INPUT_OUTPUT, help="Write here (atomically) instead of stdout."
        ),
    ] = None,
    save_text: Annotated[
        Path | None,
        opt.option(
            "--save-text",
            metavar="FILE",
            panel=opt.INPUT_OUTPUT,
            help="Also write the article text that was summarized (the text a URL was reduced to): "
            "the offsets refer to it.",
        ),
    ] = None,
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
    quiet: opt.Quiet = False,
    debug: opt.Debug = False,
) -> None:
    """Summarize one article into entities, sources and grounded claims."""
    options = dict(locals())  # the parameters, before anything else is defined

    def body() -> None:
        from summarizer.cli.running import fail
        from summarizer.inputs.files import read_article
        from summarizer.inputs.url import fetch_article, is_url
        from summarizer.outputs.atomic import write_atomic
        from summarizer.outputs.render import FORMATS, format_for, to_json, to_markdown
        from summarizer.schema import Provenance

        chosen = format_for(output, output_format)
        if chosen not in FORMATS:
            fail(f"unknown format {chosen!r}: choose one of {', '.join(FORMATS)}", 2)
        # A URL is fetched and reduced to its article; the offsets refer to that text. Where the
        # text came from (the page's metadata, or the file's path) goes into the summary.
        if is_url(article):
            fetched = fetch_article(article)
            text, provenance = fetched.text, fetched.provenance
        else:
            text = read_article(article)
            provenance = Provenance(path=article) if article != "-" else None
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
            quiet=quiet,
        )
        recording_into = record or replay_or_record
        if recording_into is not None:
            # The folder becomes a case: `check DIR` replays it with no hand-written case.json.
            from summarizer.golden.cases import write_case

            write_case(recording_into, summarizer.settings, text)
        summary = summarizer.summarize(text, provenance=provenance)
        if summary.meta is not None:
            for warning in summary.meta.warnings:
                opt.warn(warning, quiet=quiet)
        if chosen == "table":
            _show_table(summary, output, replayed=replay is not None)
            return
        if chosen == "html":
            from summarizer.outputs.html import render

            rendered = render(summary, text)
        else:
            rendered = to_json(summary) if chosen == "json" else to_markdown(summary)
        if output is None:
            write_stdout(rendered)
        else:
            write_atomic(output, rendered)

    run_guarded(body, debug=debug)


def _show_table(summary: Summary, output: Path | None, *, replayed: bool) -> None:
    import io

    from rich.console import Console

    from summarizer.outputs.atomic import write_atomic
    from summarizer.outputs.render import to_table

    if output is None:
        console = Console()
        # The warnings went to stderr already.
        console.print(to_table(summary, width=console.width, replayed=replayed, warnings=False))
        return
    console = Console(record=True, width=120, file=io.StringIO())
    console.print(to_table(summary, width=120, replayed=replayed))
    write_atomic(output, console.export_text())

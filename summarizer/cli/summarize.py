"""``summarizer summarize``: one article to JSON, Markdown or a terminal table."""

from __future__ import annotations

from pathlib import Path

import typer

from summarizer.cli.running import run_guarded


def summarize_command(
    article: str = typer.Argument(..., help="Article file (UTF-8 text), or - for standard input."),
    output_format: str = typer.Option("json", "--format", "-f", help="json, markdown or table."),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Write here (atomically) instead of stdout."
    ),
    model: str | None = typer.Option(
        None, "--model", help="Model name (env SUMMARIZER_MODEL; default gpt-4.1-mini)."
    ),
    base_url: str | None = typer.Option(
        None, "--base-url", help="OpenAI-compatible server URL (env OPENAI_BASE_URL)."
    ),
    mode: str | None = typer.Option(None, "--mode", help="instructor mode: tools, json_schema or json."),
    max_reasks: int | None = typer.Option(
        None, "--max-reasks", min=0, help="Validation re-asks (default 2)."
    ),
    max_retries: int | None = typer.Option(
        None, "--max-retries", min=0, help="Transport retries on 429/5xx/timeouts (default 4)."
    ),
    timeout: float | None = typer.Option(None, "--timeout", min=1, help="Seconds per request (default 120)."),
    strict: bool = typer.Option(False, "--strict", help="Fail instead of dropping ungrounded claims."),
    record: Path | None = typer.Option(
        None, "--record", help="Call the provider and save every exchange in DIR/cassette.json."
    ),
    replay: Path | None = typer.Option(
        None, "--replay", help="Answer from DIR/cassette.json; never touch the network."
    ),
    replay_or_record: Path | None = typer.Option(
        None, "--replay-or-record", help="Replay what DIR/cassette.json holds, record what is missing."
    ),
    provider: str | None = typer.Option(
        None, "--provider", help="openai (the API or any --base-url server) or local (llama.cpp in-process)."
    ),
    model_path: Path | None = typer.Option(
        None, "--model-path", help="GGUF model for --provider local (default: the bundled smoke-test model)."
    ),
    max_output_tokens: int | None = typer.Option(
        None,
        "--max-output-tokens",
        min=16,
        help="Cap on the model's answer (default: from the article's length).",
    ),
    time_budget: float | None = typer.Option(
        None, "--time-budget", min=1, help="Seconds for the whole article, retries included (default 300)."
    ),
    seed: int | None = typer.Option(None, "--seed", help="Sampling seed, for reproducible runs."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks."),
) -> None:
    """Summarize one article into entities, sources and grounded claims."""

    def body() -> None:
        from dataclasses import replace

        from summarizer.cli.running import fail
        from summarizer.config import Settings
        from summarizer.output import write_atomic
        from summarizer.reading import read_article
        from summarizer.render import FORMATS, to_json, to_markdown

        if output_format not in FORMATS:
            fail(f"unknown format {output_format!r}: choose one of {', '.join(FORMATS)}", 2)
        text = read_article(article)
        settings = Settings.from_env(
            model=model,
            base_url=base_url,
            mode=mode,
            max_reasks=max_reasks,
            timeout=timeout,
            strict=strict or None,
            provider_name=provider,
            model_path=model_path,
            max_output_tokens=max_output_tokens,
            time_budget=time_budget,
            seed=seed,
        )
        if max_retries is not None:
            settings = replace(settings, retry=replace(settings.retry, max_retries=max_retries))

        from summarizer.cli.cassettes import cassette_option
        from summarizer.llm import for_provider
        from summarizer.pipeline import Summarizer

        settings = for_provider(settings)
        if settings.provider == "local" and model_path is None and replay is None:
            from summarizer.local import BUNDLED_MODEL_NOTICE

            typer.echo(f"summarizer: note: {BUNDLED_MODEL_NOTICE}", err=True)
        settings, transport = cassette_option(settings, record, replay, replay_or_record)
        summary = Summarizer(settings, transport=transport).summarize(text)
        if output_format == "table":
            _show_table(summary, output)
            return
        rendered = to_json(summary) if output_format == "json" else to_markdown(summary)
        if output is None:
            typer.echo(rendered, nl=False)
        else:
            write_atomic(output, rendered)

    run_guarded(body, debug=debug)


def _show_table(summary: object, output: Path | None) -> None:
    from rich.console import Console

    from summarizer.output import write_atomic
    from summarizer.render import to_table
    from summarizer.schema import Summary

    assert isinstance(summary, Summary)
    if output is None:
        Console().print(to_table(summary))
        return
    console = Console(record=True, width=120, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(to_table(summary))
    write_atomic(output, console.export_text())

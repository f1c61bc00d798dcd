"""``summarizer archive run|status|cancel``: an archive through the provider's batch engine."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from summarizer.cli import llm_options as opt
from summarizer.cli.running import run_guarded

if TYPE_CHECKING:
    from summarizer.archive.run import ArchiveReport

archive_app = typer.Typer(
    help="An archive through OpenAI's Batch API (half price) or any server with its files + batches "
    "endpoints: split, submit, poll, download, validate, re-ask; resumable.",
    no_args_is_help=True,
)

Output = Annotated[Path, typer.Option("--output", "-o", help="JSONL results (state in OUT.archive/).")]


@archive_app.command("run")
def archive_run(
    source: Annotated[Path, typer.Argument(help="A folder of .txt/.md articles, or a JSONL of {id, text}.")],
    output: Output,
    max_reasks: Annotated[
        int, typer.Option("--max-reasks", min=0, help="Rounds after the first: re-asks and resends.")
    ] = 2,
    budget_usd: Annotated[
        float | None,
        typer.Option("--budget-usd", min=0, help="Submit no file that could take the run past this."),
    ] = None,
    max_requests: Annotated[
        int, typer.Option("--max-requests", min=1, help="Requests per file (OpenAI: 50,000).")
    ] = 50_000,
    max_bytes: Annotated[
        int, typer.Option("--max-bytes", min=1024, help="Bytes per file (OpenAI: 200 MB).")
    ] = 200_000_000,
    poll_initial: Annotated[float, typer.Option("--poll", min=0, help="First wait between polls, s.")] = 5.0,
    poll_max: Annotated[
        float, typer.Option("--poll-max", min=0, help="Longest wait between polls, s.")
    ] = 300.0,
    plan_only: Annotated[
        bool,
        typer.Option("--plan-only", help="Write the request files and their worst-case cost; send nothing."),
    ] = False,
    model: opt.Model = None,
    base_url: opt.BaseUrl = None,
    mode: opt.Mode = None,
    strict: opt.Strict = False,
    max_output_tokens: opt.MaxOutputTokens = None,
    timeout: opt.Timeout = None,
    seed: opt.Seed = None,
    pricing: opt.Pricing = None,
    debug: opt.Debug = False,
) -> None:
    """Summarize an archive with the provider's batch engine into OUT.jsonl. Run it again to resume."""

    def body() -> int:
        from dataclasses import replace

        from summarizer.archive.endpoint import Backoff, BatchEndpoint
        from summarizer.archive.run import ArchiveOptions, run_archive
        from summarizer.archive.split import Limits
        from summarizer.config import MODES
        from summarizer.errors import ConfigError, InputError
        from summarizer.llm.pricing import batch_prices
        from summarizer.pipeline import Summarizer

        if not source.exists():
            raise InputError(f"{source}: no such file or folder")
        settings = opt.build_settings(
            model=model, base_url=base_url, mode=mode, strict=strict,
            max_output_tokens=max_output_tokens, timeout=timeout, seed=seed,
        )  # fmt: skip
        if settings.provider == "local":
            raise ConfigError("archive runs on a server's Batch API, not --provider local")
        if settings.mode not in MODES:
            raise ConfigError(f"unknown mode {settings.mode!r}: choose one of {', '.join(MODES)}")
        # Requests are built as a live call builds them; answers are billed at Batch API prices.
        summarizer = Summarizer(settings, cache=None, prices=batch_prices(opt.price_table(pricing)))
        options = ArchiveOptions(
            limits=Limits(max_requests=max_requests, max_bytes=max_bytes),
            max_reasks=max_reasks,
            budget_usd=budget_usd,
            poll=replace(Backoff(), initial=poll_initial, maximum=max(poll_max, poll_initial)),
            plan_only=plan_only,
        )
        report = run_archive(
            source, output, summarizer, None if plan_only else BatchEndpoint(settings), options,
            on_event=lambda message: typer.echo(message, err=True),
        )  # fmt: skip
        _print_report(report, output)
        if plan_only:
            return 0
        if not report.done:
            return 1
        return 1 if report.failed else 0

    run_guarded(body, debug=debug)


@archive_app.command("status")
def archive_status(output: Output, debug: opt.Debug = False) -> None:
    """Each request file of the archive: its batch, the provider's counts, what was imported, spend."""

    def body() -> int:
        from summarizer.archive.control import status_lines

        for line in status_lines(output):
            typer.echo(line)
        return 0

    run_guarded(body, debug=debug)


@archive_app.command("cancel")
def archive_cancel(
    output: Output, base_url: opt.BaseUrl = None, timeout: opt.Timeout = None, debug: opt.Debug = False
) -> None:
    """Cancel the archive's batches in flight and submit no more; what finished is kept."""

    def body() -> int:
        from summarizer.archive.control import cancel
        from summarizer.archive.endpoint import BatchEndpoint

        settings = opt.build_settings(base_url=base_url, timeout=timeout)
        for line in cancel(output, BatchEndpoint(settings)):
            typer.echo(line, err=True)
        return 0

    run_guarded(body, debug=debug)


def _print_report(report: ArchiveReport, output: Path) -> None:
    lines = [
        f"{report.ok:,} summarized, {report.failed:,} failed, {report.reasked:,} re-asked, "
        f"{report.resent:,} resent; {report.submitted} batch(es) submitted by this run",
        f"spent ${report.spent_usd:.4f} at Batch API prices",
    ]
    if report.waiting:
        lines.append(f"{report.waiting:,} request(s) not submitted yet, at most ${report.worst_case_usd:.4f}")
        lines.append(
            f"stopped: {report.stopped or 'not submitted'}; {report.waiting:,} request(s) wait; "
            f"re-run to continue (`summarizer archive status -o {output}`)"
        )
    for line in lines:
        typer.echo(line, err=True)

"""``summarizer batch`` and ``summarizer cache``: many articles at once, and the cache behind them."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from summarizer.cli import llm_options as opt
from summarizer.cli.running import run_guarded

if TYPE_CHECKING:
    from summarizer.batch.runner import BatchReport

INTERRUPTED = 130


def batch_command(
    source: Annotated[Path, typer.Argument(help="A folder of .txt/.md articles, or a JSONL of {id, text}.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="JSONL results, appended (resumable).")],
    concurrency: Annotated[int, typer.Option("--concurrency", "-c", min=1, help="Articles in flight.")] = 8,
    rpm: Annotated[
        float | None, typer.Option("--rpm", min=1, help="Client-side requests per minute.")
    ] = None,
    tpm: Annotated[float | None, typer.Option("--tpm", min=1, help="Client-side tokens per minute.")] = None,
    budget_usd: Annotated[
        float | None, typer.Option("--budget-usd", min=0, help="Stop scheduling once the run has cost this.")
    ] = None,
    progress: Annotated[
        bool, typer.Option("--progress/--no-progress", help="Progress bar on stderr.")
    ] = True,
    html_dir: Annotated[
        Path | None,
        typer.Option(
            "--html-dir",
            metavar="DIR",
            help="Also write a review page per summarized article and an index.html to DIR.",
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
    debug: opt.Debug = False,
) -> None:
    """Summarize a folder or JSONL of articles into OUT.jsonl: concurrent, resumable, cached."""
    options = dict(locals())  # the parameters, before anything else is defined

    def body() -> int:
        from summarizer.batch.items import finished_ids, read_items

        if not source.exists():
            from summarizer.errors import InputError

            raise InputError(f"{source}: no such file or folder")
        settings = opt.settings_from(options)
        summarizer = opt.build_summarizer(
            settings,
            record=record,
            replay=replay,
            replay_or_record=replay_or_record,
            no_cache=no_cache,
            pricing=pricing,
        )
        if budget_usd is not None:
            from summarizer.errors import ConfigError
            from summarizer.llm.pricing import price_for

            if price_for(summarizer.settings.model, summarizer.prices) is None:
                raise ConfigError(
                    f"cannot hold --budget-usd: no price for {summarizer.settings.model} "
                    "(give one with --pricing)"
                )
        if html_dir is not None:
            from summarizer.outputs.html.index import make_directory

            make_directory(html_dir)  # refuse a bad folder before anything is paid for
        done = finished_ids(output)
        total = _count(source)
        report = _run(
            read_items(source),
            summarizer,
            output,
            skip=done,
            total=total,
            concurrency=concurrency,
            rpm=rpm,
            tpm=tpm,
            budget_usd=budget_usd,
            show_progress=progress,
        )
        _print_report(report)
        if html_dir is not None:
            from summarizer.batch.pages import write_pages

            pages = write_pages(read_items(source), output, html_dir)
            typer.echo(f"review pages: {pages.pages} written, index {pages.index}", err=True)
        if report.stopped == "interrupted":
            return INTERRUPTED
        return 1 if report.failed else 0

    run_guarded(body, debug=debug)


def _count(source: Path) -> int:
    from summarizer.batch.items import ARTICLE_SUFFIXES

    if source.is_dir():
        return sum(1 for p in source.rglob("*") if p.is_file() and p.suffix.lower() in ARTICLE_SUFFIXES)
    with source.open("rb") as handle:
        return sum(1 for line in handle if line.strip())


def _run(items, summarizer, output: Path, *, skip, total, concurrency, rpm, tpm, budget_usd, show_progress):  # type: ignore[no-untyped-def]
    import asyncio
    import contextlib
    import signal
    import sys

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from summarizer.batch.items import ResultWriter
    from summarizer.batch.runner import RateLimiter, run_batch

    writer = ResultWriter(output)
    show = show_progress and sys.stderr.isatty()
    bar = Progress(
        TextColumn("[bold]summarizing"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]:.1f}/s · {task.fields[failed]} failed"),
        TimeRemainingColumn(),
        transient=True,
        disable=not show,
        console=None,
    )
    task = bar.add_task("batch", total=max(total - len(skip), 0), rate=0.0, failed=0)

    def on_progress(report: BatchReport) -> None:
        rate = report.processed / report.wall_s if report.wall_s else 0.0
        bar.update(task, completed=report.processed, rate=rate, failed=report.failed)

    async def main() -> BatchReport:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        presses = 0

        def interrupt() -> None:
            nonlocal presses
            presses += 1
            if presses == 1:
                typer.echo("\nstopping after the articles in flight (Ctrl-C again to abort them)", err=True)
                stop.set()
            else:
                for pending in asyncio.all_tasks(loop):
                    pending.cancel()

        with contextlib.suppress(NotImplementedError, RuntimeError):  # no signals off the main thread
            loop.add_signal_handler(signal.SIGINT, interrupt)
        limiter = RateLimiter(rpm, tpm) if (rpm or tpm) else None
        started = loop.time()

        def progress_hook(report: BatchReport) -> None:
            report.wall_s = loop.time() - started
            on_progress(report)

        return await run_batch(
            items,
            summarizer,
            writer,
            skip=skip,
            concurrency=concurrency,
            limiter=limiter,
            stop=stop,
            budget_usd=budget_usd,
            on_progress=progress_hook,
        )

    # The SDK's imports take seconds: done before the run, not while its first requests wait.
    summarizer.prepare()
    try:
        with bar:
            return asyncio.run(main())
    finally:
        writer.close()


def _print_report(report: BatchReport) -> None:
    cost = f"${report.cost_usd:.4f}"
    if report.cost_unknown:
        cost += f" (+ {report.cost_unknown} article(s) of unknown price)"
    lines = [
        f"{report.succeeded} summarized ({report.cached} from cache), {report.failed} failed, "
        f"{report.skipped} already done",
        f"tokens: {report.usage.prompt_tokens:,} in, {report.usage.completion_tokens:,} out; cost {cost}",
        f"{report.reasks} re-ask(s), {report.transport_retries} transport retr(ies), {report.wall_s:.1f} s",
    ]
    if report.stopped:
        lines.append(f"stopped: {report.stopped}; finished work is kept, re-run to continue")
    for line in lines:
        typer.echo(line, err=True)


cache_app = typer.Typer(help="The summary cache (SUMMARIZER_CACHE_DIR, else the user's cache directory).")


@cache_app.command("info")
def cache_info() -> None:
    """Where the cache is and how many summaries it holds."""
    from summarizer.cache import SummaryCache

    cache = SummaryCache()
    typer.echo(f"{cache.path}: {len(cache)} summaries")


@cache_app.command("clear")
def cache_clear() -> None:
    """Remove every cached summary."""
    from summarizer.cache import SummaryCache

    cache = SummaryCache()
    typer.echo(f"removed {cache.clear()} summaries from {cache.path}")

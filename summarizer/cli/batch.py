"""``summarizer batch`` and ``summarizer cache``: many articles at once, and the cache behind them."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from summarizer.cli import llm_options as opt
from summarizer.cli.running import run_guarded

if TYPE_CHECKING:
    from summarizer.batch.items import InputSurvey
    from summarizer.batch.runner import BatchReport

INTERRUPTED = 130


def batch_command(
    source: Annotated[Path, typer.Argument(help="A folder of .txt/.md articles, or a JSONL of {id, text}.")],
    output: Annotated[
        Path,
        opt.option("--output", "-o", panel=opt.INPUT_OUTPUT, help="JSONL results, appended (resumable)."),
    ],
    concurrency: Annotated[
        int,
        opt.option(
            "--concurrency",
            "-c",
            panel=opt.BATCH,
            min=1,
            help="Requests in flight (default 8); up to twice as many articles in progress.",
        ),
    ] = 8,
    rpm: Annotated[
        float | None, opt.option("--rpm", panel=opt.BATCH, min=1, help="Client-side requests per minute.")
    ] = None,
    tpm: Annotated[
        float | None, opt.option("--tpm", panel=opt.BATCH, min=1, help="Client-side tokens per minute.")
    ] = None,
    budget_usd: Annotated[
        float | None,
        opt.option(
            "--budget-usd", panel=opt.BUDGETS, min=0, help="Stop scheduling once the run has cost this."
        ),
    ] = None,
    progress: Annotated[
        bool,
        opt.option("--progress/--no-progress", panel=opt.BATCH, help="Progress bar on stderr (default on)."),
    ] = True,
    wait: Annotated[
        bool,
        opt.option(
            "--wait", panel=opt.BATCH, help="If another run is writing OUT, wait for it instead of refusing."
        ),
    ] = False,
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
    quiet: opt.Quiet = False,
    debug: opt.Debug = False,
) -> None:
    """Summarize a folder or JSONL of articles into OUT.jsonl: concurrent, resumable, cached."""
    options = dict(locals())  # the parameters, before anything else is defined

    def body() -> int:
        from dataclasses import replace

        from summarizer.batch.items import ResultWriter, check_output_folder, finished_ids, read_items, survey
        from summarizer.errors import OutputError

        # Refusals first, before any model is built or any call is paid for.
        check_output_folder(output)
        found = survey(source)
        _print_survey(found, source, quiet=quiet)
        # --concurrency bounds the requests out; more articles than that are in progress, so
        # that a request is waiting to take each slot an answer frees (llm/admission.py).
        settings = replace(opt.settings_from(options), max_in_flight=concurrency)
        summarizer = opt.build_summarizer(
            settings,
            record=record,
            replay=replay,
            replay_or_record=replay_or_record,
            no_cache=no_cache,
            pricing=pricing,
            quiet=quiet,
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
        # The lock comes first: what is already done is only known once no other run is adding to it.
        writer = ResultWriter(output, wait=wait, on_wait=lambda: _waiting_for(output))
        try:
            done = finished_ids(output)
            total = found.total
            report = _run(
                read_items(source),
                summarizer,
                writer,
                skip=done,
                total=total,
                concurrency=concurrency,
                rpm=rpm,
                tpm=tpm,
                budget_usd=budget_usd,
                show_progress=progress,
            )
        except BaseException:
            with contextlib.suppress(Exception):  # the error on its way out is the one to report
                writer.close()
            raise
        _print_report(report)
        try:
            writer.close()  # its fsync can fail too (EIO): that is the run's error unless one came first
        except OutputError as exc:
            report.output_error = report.output_error or exc
        if report.output_error is not None:
            raise report.output_error
        if html_dir is not None:
            from summarizer.batch.pages import write_pages

            pages = write_pages(read_items(source), output, html_dir)
            typer.echo(f"review pages: {pages.pages} written, index {pages.index}", err=True)
        if report.stopped in ("interrupted", "aborted"):
            return INTERRUPTED
        return 1 if report.failed else 0

    run_guarded(body, debug=debug)


def _waiting_for(output: Path) -> None:
    typer.echo(f"waiting for the other run writing {output} to end (Ctrl-C to give up)", err=True)


def _print_survey(found: InputSurvey, source: Path, *, quiet: bool) -> None:
    """Bad lines and repeated ids, said before the run (each bad line also gets its error record)."""
    if found.bad_count:
        opt.warn(
            f"{found.bad_count} of {found.total} input line(s) cannot be summarized; the first: "
            + " | ".join(found.bad_lines),
            quiet=quiet,
        )
    if found.duplicate_count:
        opt.warn(
            f"{found.duplicate_count} id(s) appear more than once in {source} "
            f"({', '.join(found.duplicates)}{', ...' if found.duplicate_count > len(found.duplicates) else ''}): "
            "each is summarized every time and the newest result line wins",
            quiet=quiet,
        )


def _run(items, summarizer, writer, *, skip, total, concurrency, rpm, tpm, budget_usd, show_progress):  # type: ignore[no-untyped-def]
    import asyncio
    import sys

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from summarizer.batch.runner import ARTICLES_PER_SLOT, RateLimiter, run_batch

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
        this = asyncio.current_task()

        def interrupt(presses: int) -> None:
            if presses == 1:
                typer.echo("\nstopping after the articles in flight (Ctrl-C again to abort them)", err=True)
                stop.set()
            else:
                typer.echo("aborting the articles in flight (Ctrl-C again to quit at once)", err=True)
                stop.set()
                for pending in asyncio.all_tasks(loop):
                    if pending is not this:  # this one reports what was done
                        pending.cancel()

        limiter = RateLimiter(rpm, tpm) if (rpm or tpm) else None
        started = loop.time()

        def progress_hook(report: BatchReport) -> None:
            report.wall_s = loop.time() - started
            on_progress(report)

        with _ctrl_c(loop, interrupt):
            return await run_batch(
                items,
                summarizer,
                writer,
                skip=skip,
                concurrency=ARTICLES_PER_SLOT * concurrency,
                limiter=limiter,
                stop=stop,
                budget_usd=budget_usd,
                on_progress=progress_hook,
            )

    # The SDK's imports take seconds: done before the run, not while its first requests wait.
    summarizer.prepare()
    # Everything alive now (modules, the SDK, instructor's prepared request) lives for the whole
    # run: out of the collector's sight, a full collection scans only what the run itself made
    # (measured for issue 14: full collections cost 2-3 ms per article over 256 articles).
    import gc

    gc.freeze()
    with bar:
        return asyncio.run(main())


@contextlib.contextmanager
def _ctrl_c(loop, interrupt):  # type: ignore[no-untyped-def]
    """Ctrl-C: the first stops scheduling, the second aborts what is in flight, the third quits now.

    A plain signal handler (not the event loop's) so that the third press works even when the
    loop is stuck: it exits on the spot. Every line already written is whole (one write each).
    """
    import os
    import signal

    presses = 0

    def on_sigint(signum: int, frame: object) -> None:
        nonlocal presses
        presses += 1
        if presses >= 3:
            os.write(2, b"\nsummarizer: quit; finished work is kept, re-run to continue\n")
            os._exit(INTERRUPTED)
        loop.call_soon_threadsafe(interrupt, presses)

    try:
        previous = signal.signal(signal.SIGINT, on_sigint)
    except ValueError:  # not the main thread: no signals to handle
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


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
    if report.unwritten:
        lines.append(f"{report.unwritten} answer(s) paid for could not be written to the output")
    if report.stopped:
        waiting = f" ({report.not_started} waiting article(s) not started)" if report.not_started else ""
        lines.append(f"stopped: {report.stopped}{waiting}; finished work is kept, re-run to continue")
    for line in lines:
        typer.echo(line, err=True)


cache_app = typer.Typer(help="The summary cache (SUMMARIZER_CACHE_DIR, else the user's cache directory).")


@cache_app.command("info")
def cache_info(debug: opt.Debug = False) -> None:
    """Where the cache is and how many summaries it holds (a corrupt file is moved aside)."""

    def body() -> None:
        from summarizer.cache import SummaryCache
        from summarizer.cli.running import warn

        cache = SummaryCache(on_warning=warn)
        try:
            typer.echo(f"{cache.path}: {len(cache)} summaries")
        finally:
            cache.close()

    run_guarded(body, debug=debug)


@cache_app.command("clear")
def cache_clear(debug: opt.Debug = False) -> None:
    """Remove every cached summary (a corrupt file is moved aside and a new one started)."""

    def body() -> None:
        from summarizer.cache import SummaryCache
        from summarizer.cli.running import warn

        cache = SummaryCache(on_warning=warn)
        try:
            typer.echo(f"removed {cache.clear()} summaries from {cache.path}")
        finally:
            cache.close()

    run_guarded(body, debug=debug)

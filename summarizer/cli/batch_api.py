"""``summarizer batch-export`` and ``batch-import``: a batch through a provider's Batch API."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from summarizer.cli import llm_options as opt
from summarizer.cli.running import run_guarded

if TYPE_CHECKING:
    from collections.abc import Iterable

    from summarizer.batch.items import BatchItem


def batch_export_command(
    source: Annotated[Path, typer.Argument(help="A folder of .txt/.md articles, or a JSONL of {id, text}.")],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="The Batch API request file (JSONL), written atomically.")
    ],
    model: opt.Model = None,
    base_url: opt.BaseUrl = None,
    mode: opt.Mode = None,
    max_output_tokens: opt.MaxOutputTokens = None,
    seed: opt.Seed = None,
    debug: opt.Debug = False,
) -> None:
    """Write one Batch API request per article: exactly what a live call would send. Sends nothing."""

    def body() -> int:
        from summarizer.batch.items import read_items
        from summarizer.batch.provider_api import export_requests
        from summarizer.errors import InputError, SummarizerError
        from summarizer.pipeline import Summarizer

        if not source.exists():
            raise InputError(f"{source}: no such file or folder")
        settings = opt.build_settings(
            model=model, base_url=base_url, mode=mode, max_output_tokens=max_output_tokens, seed=seed
        )
        if settings.provider == "local":
            from summarizer.errors import ConfigError

            raise ConfigError("batch-export writes requests for a server's Batch API, not --provider local")
        rejected = 0

        def on_rejected(item: BatchItem, error: SummarizerError) -> None:
            nonlocal rejected
            rejected += 1
            typer.echo(f"summarizer: skipped {item.id}: {error}", err=True)

        lines = export_requests(read_items(source), Summarizer(settings), on_rejected=on_rejected)
        exported = _write_lines_atomic(output, lines)
        if not exported:
            raise InputError(
                f"{source}: nothing to export ({rejected} article(s) skipped); {output} not written"
            )
        typer.echo(
            f"{exported} request(s) written to {output} for {settings.model}"
            + (f"; {rejected} article(s) skipped" if rejected else ""),
            err=True,
        )
        return 0

    run_guarded(body, debug=debug)


def batch_import_command(
    source: Annotated[
        Path, typer.Argument(help="The batch input that was exported (folder or JSONL): the articles.")
    ],
    provider_outputs: Annotated[
        list[Path],
        typer.Argument(help="The provider's Batch API output file(s); its error file may follow."),
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="JSONL results, appended (resumable).")],
    ignore_missing: Annotated[
        bool,
        typer.Option(
            "--ignore-missing",
            help="Do not record input articles with no line in the provider files as failed "
            "(for a batch split into several).",
        ),
    ] = False,
    model: opt.Model = None,
    base_url: Annotated[
        str | None,
        typer.Option("--base-url", help="The server that ran the batch, if not OpenAI (names it in meta)."),
    ] = None,
    mode: opt.Mode = None,
    strict: opt.Strict = False,
    pricing: opt.Pricing = None,
    quiet: opt.Quiet = False,
    debug: opt.Debug = False,
) -> None:
    """Validate and ground a provider's Batch API answers into results like `summarizer batch` writes.

    Use the --model and --mode of the export. Failed articles are listed in RESULTS.retry.jsonl,
    ready for `summarizer batch RESULTS.retry.jsonl -o RESULTS` to re-ask them live.
    """

    def body() -> int:
        from summarizer.batch.items import ResultWriter, finished_ids
        from summarizer.batch.provider_api import ArticleIndex, import_results, missing_records, retry_line
        from summarizer.batch.runner import BatchReport
        from summarizer.config import MODES
        from summarizer.errors import ConfigError, InputError

        for path in provider_outputs:
            if not path.is_file():
                raise InputError(f"{path}: no such file")
        index = ArticleIndex.of(source)
        settings = opt.build_settings(model=model, base_url=base_url, mode=mode, strict=strict)
        if settings.mode not in MODES:  # before the results file is touched
            raise ConfigError(f"unknown mode {settings.mode!r}: choose one of {', '.join(MODES)}")
        summarizer = opt.build_summarizer(settings, no_cache=True, pricing=pricing, quiet=quiet)
        _warn_on_other_models(provider_outputs, settings.model, quiet=quiet)
        writer = ResultWriter(output)  # the lock first: what is done is known once no one else writes
        done = finished_ids(output)
        report = BatchReport()
        answered: set[str] = set()
        failed: dict[str, None] = {}  # ordered, and an id that later succeeds leaves it

        def on_skipped(item_id: str) -> None:
            report.skipped += 1

        def tally(records: Iterable[dict[str, Any]]) -> None:
            from summarizer.schema import Summary

            for record in records:
                writer.write(record)
                item_id = record["id"]
                answered.add(item_id)
                if record["status"] == "ok":
                    report.add(Summary.model_validate(record["summary"]))
                    failed.pop(item_id, None)
                else:
                    report.failed += 1
                    failed[item_id] = None

        try:
            for path in provider_outputs:
                with path.open("rb") as handle:
                    tally(
                        import_results(
                            handle, index, summarizer, skip=done, origin=str(path), on_skipped=on_skipped
                        )
                    )
            missing = 0
            if not ignore_missing:
                before = report.failed
                tally(missing_records(index, answered | done))
                missing = report.failed - before
        finally:
            writer.close()

        retry_path = _retry_path(output)
        retry_lines = (line for line in (retry_line(index[i]) for i in failed if i in index) if line)
        retried = _write_lines_atomic(retry_path, retry_lines)
        if not retried:
            retry_path.unlink(missing_ok=True)
        _print_totals(report, missing=missing, retry_path=retry_path if retried else None, output=output)
        return 1 if report.failed else 0

    run_guarded(body, debug=debug)


# Answers looked at per provider file for the model that wrote them (the first ones say it).
_MODEL_SAMPLE = 50


def answer_models(path: Path, sample: int = _MODEL_SAMPLE) -> set[str]:
    """The models named by the first ``sample`` answers of a Batch API output file."""
    import json

    models: set[str] = set()
    with path.open("rb") as handle:
        for raw in handle:
            if not raw.strip():
                continue
            sample -= 1
            if sample < 0:
                break
            try:
                model = json.loads(raw)["response"]["body"]["model"]
            except (ValueError, KeyError, TypeError):
                continue  # an error line, or a bad one (import itself reports those)
            if isinstance(model, str):
                models.add(model)
    return models


def _same_model(answered: str, chosen: str) -> bool:
    # The API answers with a dated snapshot of the alias it was asked for: gpt-4.1-mini-2025-04-14.
    return answered == chosen or answered.startswith(chosen + "-")


def _warn_on_other_models(paths: list[Path], chosen: str, *, quiet: bool) -> None:
    """Prices and meta come from --model: say so when the answers were written by another one."""
    others = sorted({m for path in paths for m in answer_models(path) if not _same_model(m, chosen)})
    if others:
        opt.warn(
            f"the answers were written by {', '.join(others)}, not {chosen}: meta and cost are "
            f"computed for {chosen}; pass --model {others[0]} if that is what ran the batch",
            quiet=quiet,
        )


def _retry_path(output: Path) -> Path:
    if output.suffix == ".jsonl":
        return output.with_name(output.stem + ".retry.jsonl")
    return output.with_name(output.name + ".retry.jsonl")


def _write_lines_atomic(path: Path, records: Iterable[dict[str, Any]]) -> int:
    """Stream ``records`` as JSONL into a temporary file beside ``path``, then move it into place.

    Returns how many were written; with none, nothing is moved into place (and ``path`` is left
    as it was).
    """
    import json
    import os
    import tempfile

    from summarizer.errors import InputError

    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise InputError(f"cannot write {path}: directory {directory} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    count = 0
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            for record in records:
                handle.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
                count += 1
            handle.flush()
            os.fsync(handle.fileno())
        if count:
            os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return count


def _print_totals(report: Any, *, missing: int, retry_path: Path | None, output: Path) -> None:
    cost = f"${report.cost_usd:.4f} at list prices"
    if report.cost_unknown:
        cost += f" (+ {report.cost_unknown} article(s) of unknown price)"
    lines = [
        f"{report.succeeded} imported, {report.failed} failed"
        + (f" ({missing} with no answer in the provider output)" if missing else "")
        + f", {report.skipped} already done",
        f"tokens: {report.usage.prompt_tokens:,} in, {report.usage.completion_tokens:,} out; cost {cost}",
    ]
    if retry_path is not None:
        lines.append(f"to re-ask the failed articles live: summarizer batch {retry_path} -o {output}")
    for line in lines:
        typer.echo(line, err=True)

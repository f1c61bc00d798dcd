"""``summarizer check`` and ``summarizer score``: regression checks against golden fixtures."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from summarizer.cli.running import run_guarded

DEFAULT_CASES = Path("fixtures/cases")


def check_command(
    cases: list[Path] | None = typer.Argument(
        None, help="Case folders (default: every case under fixtures/cases)."
    ),
    update: bool = typer.Option(False, "--update", help="Show what changed, then rewrite the goldens."),
    scored: bool = typer.Option(False, "--score", help="Score against the golden instead of exact match."),
    live: bool = typer.Option(
        False, "--live", help="Call the provider instead of replaying (use with --score)."
    ),
    min_f1: float = typer.Option(0.8, "--min-f1", help="With --score: lowest passing F1 for each part."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable results (for CI dashboards)."),
    html_dir: Path | None = typer.Option(
        None,
        "--html",
        metavar="DIR",
        help="Scores, plus review pages in DIR: golden vs new side by side, missing and extra claims "
        "marked (implies --score).",
    ),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks."),
) -> None:
    """Replay each case and compare with its golden: exit 0 only if every case matches."""

    def body() -> int:
        from summarizer.golden.cases import find_cases, load_case

        if cases:
            selected = [load_case(p) for p in cases]
        else:
            if not DEFAULT_CASES.is_dir():
                from summarizer.errors import ConfigError

                raise ConfigError(f"no case folders given and no {DEFAULT_CASES} here")
            selected = find_cases(DEFAULT_CASES)
        if scored or live or html_dir is not None:
            return _score_cases(selected, live=live, min_f1=min_f1, as_json=as_json, html_dir=html_dir)
        return _check_cases(selected, update=update, as_json=as_json)

    run_guarded(body, debug=debug)


def _check_cases(cases: list, *, update: bool, as_json: bool) -> int:  # type: ignore[type-arg]
    from summarizer.golden.cases import check_case
    from summarizer.golden.compare import write_golden

    results = [check_case(case) for case in cases]
    if as_json:
        typer.echo(
            json.dumps(
                [
                    {
                        "case": r.case.name,
                        "passed": r.passed,
                        "error": r.error,
                        "golden_missing": r.golden_missing,
                        "changes": list(r.changes),
                    }
                    for r in results
                ],
                indent=2,
            )
        )
    else:
        width = max(len(r.case.name) for r in results) if results else 0
        for r in results:
            if r.error:
                status, detail = "ERROR", r.error
            elif r.golden_missing:
                status, detail = "NEW", "no golden.json yet (run with --update to write it)"
            elif r.changes:
                status, detail = "FAIL", f"{len(r.changes)} change(s) from the golden"
            else:
                s = r.summary
                assert s is not None and s.meta is not None
                status = "PASS"
                detail = (
                    f"{len(s.entities)} entities, {len(s.sources)} sources, {len(s.claims)} claims, "
                    f"{s.meta.attempts} attempt(s)"
                )
            typer.echo(f"{r.case.name:<{width}}  {status:<5}  {detail}")
            for change in r.changes:
                typer.echo(f"    - {change}")
        passed = sum(r.passed for r in results)
        typer.echo(f"{passed} passed, {len(results) - passed} failed")
    if update:
        for r in results:
            # Rewrite whatever does not pass, an unreadable golden included, as long as the
            # replay itself produced a summary.
            if r.summary is not None and not r.passed:
                write_golden(r.case.golden_path, r.summary)
                typer.echo(f"updated {r.case.golden_path}", err=True)
        return 0 if all(r.summary is not None for r in results) else 1
    return 0 if all(r.passed for r in results) else 1


def _score_cases(
    cases: list, *, live: bool, min_f1: float, as_json: bool, html_dir: Path | None = None
) -> int:  # type: ignore[type-arg]
    from summarizer.config import Settings
    from summarizer.golden.cases import case_settings, run_case
    from summarizer.golden.compare import load_golden, score
    from summarizer.llm.recording import RecordMode

    rows = []
    pages: list = []  # type: ignore[type-arg]
    if html_dir is not None:
        from summarizer.outputs.html.index import make_directory

        make_directory(html_dir)  # refuse a bad folder before replaying anything
    for case in cases:
        if live:
            from summarizer.inputs.files import read_article
            from summarizer.pipeline import Summarizer

            settings = case_settings(case, Settings.from_env())
            summary = Summarizer(settings).summarize(read_article(str(case.article_path)))
        else:
            summary = run_case(case, RecordMode.REPLAY)
        golden = load_golden(case.golden_path)
        scores = score(golden, summary)
        ok = min(scores.entities.f1, scores.sources.f1, scores.claims.f1) >= min_f1
        rows.append((case.name, scores, ok))
        if html_dir is not None:
            from summarizer.golden.review import write_comparison_page

            pages.append(
                (case.name, write_comparison_page(html_dir, case, golden, summary, scores), scores, ok)
            )
    if as_json:
        typer.echo(json.dumps([{"case": n, "passed": ok, **s.to_json()} for n, s, ok in rows], indent=2))
    else:
        for name, s, ok in rows:
            typer.echo(
                f"{name}  {'PASS' if ok else 'FAIL'}  entities F1 {s.entities.f1:.2f}  "
                f"sources F1 {s.sources.f1:.2f}  claims F1 {s.claims.f1:.2f}  "
                f"grounding {s.grounding_rate:.0%}  attempts {s.attempts}"
            )
    if html_dir is not None:
        from summarizer.golden.review import write_case_index

        typer.echo(f"review pages: {write_case_index(html_dir, pages)}", err=True)
    return 0 if all(ok for _, _, ok in rows) else 1


def score_command(
    golden: Path = typer.Argument(..., help="The golden summary (JSON)."),
    actual: Path = typer.Argument(..., help="The summary to score (JSON, as `summarize` writes it)."),
    min_f1: float = typer.Option(0.8, "--min-f1", help="Lowest passing F1 for entities, sources, claims."),
    as_json: bool = typer.Option(False, "--json", help="Print the scores as JSON."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks."),
) -> None:
    """Score one summary against a golden: precision, recall and F1 for entities, sources and claims."""

    def body() -> int:
        from pydantic import ValidationError

        from summarizer.errors import InputError
        from summarizer.golden.compare import score
        from summarizer.schema import Summary

        def load(path: Path) -> Summary:
            try:
                return Summary.model_validate_json(path.read_text(encoding="utf-8"))
            except OSError as exc:
                raise InputError(f"{path}: cannot read it ({exc.strerror or exc})") from None
            except ValidationError as exc:
                raise InputError(f"{path} is not a summary: {exc.errors()[0]['msg']}") from None

        scores = score(load(golden), load(actual))
        ok = min(scores.entities.f1, scores.sources.f1, scores.claims.f1) >= min_f1
        if as_json:
            typer.echo(json.dumps({"passed": ok, **scores.to_json()}, indent=2))
        else:
            for part in ("entities", "sources", "claims"):
                prf = getattr(scores, part)
                typer.echo(
                    f"{part:<9} precision {prf.precision:.2f}  recall {prf.recall:.2f}  F1 {prf.f1:.2f}  "
                    f"({prf.matched} matched, {prf.expected} expected, {prf.actual} found)"
                )
            typer.echo(f"grounding {scores.grounding_rate:.0%}, attempts {scores.attempts}")
            typer.echo("PASS" if ok else f"FAIL (an F1 below {min_f1})")
        return 0 if ok else 1

    run_guarded(body, debug=debug)

"""Review pages for golden checks: each case's golden and new summary side by side, and an index.

``summarizer check --score --html DIR`` writes them. Claims are paired by the same rule the
claim scores use (``compare.match_claims``), so the page shows exactly what the F1 counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from summarizer.golden.cases import Case
from summarizer.golden.compare import Scores, diff, match_claims
from summarizer.inputs.files import read_article
from summarizer.outputs.atomic import write_atomic
from summarizer.outputs.html.comparison import render_comparison
from summarizer.outputs.html.index import INDEX, Cell, page_name, render_index
from summarizer.schema import Summary


def _figures(scores: Scores) -> list[tuple[str, str]]:
    rows = [
        (part, f"precision {prf.precision:.2f} · recall {prf.recall:.2f} · F1 {prf.f1:.2f}")
        for part, prf in (
            ("Entities", scores.entities),
            ("Sources", scores.sources),
            ("Claims", scores.claims),
        )
    ]
    return [*rows, ("Grounding", f"{scores.grounding_rate:.0%}"), ("Attempts", str(scores.attempts))]


def comparison_page(case: Case, golden: Summary, summary: Summary, scores: Scores) -> str:
    return render_comparison(
        case.name,
        golden,
        summary,
        read_article(str(case.article_path)),
        match_claims(golden, summary),
        scores=_figures(scores),
        changes=diff(golden, summary),
    )


def write_comparison_page(
    directory: Path, case: Case, golden: Summary, summary: Summary, scores: Scores
) -> str:
    """Write the case's page into ``directory`` (atomically); returns its file name."""
    name = page_name(case.name)
    write_atomic(directory / name, comparison_page(case, golden, summary, scores))
    return name


def write_case_index(directory: Path, rows: Sequence[tuple[str, str, Scores, bool]]) -> Path:
    """The index of (case name, page name, scores, passed) rows; returns its path."""
    cells = [
        [
            Cell(name, href=page),
            Cell("PASS" if ok else "FAIL", problem=not ok),
            Cell(f"{s.entities.f1:.2f}"),
            Cell(f"{s.sources.f1:.2f}"),
            Cell(f"{s.claims.f1:.2f}"),
            Cell(f"{s.claims.expected - s.claims.matched}", problem=s.claims.expected > s.claims.matched),
            Cell(f"{s.claims.actual - s.claims.matched}", problem=s.claims.actual > s.claims.matched),
        ]
        for name, page, s, ok in rows
    ]
    passed = sum(ok for *_, ok in rows)
    page = render_index(
        "Golden checks",
        f"{len(rows)} case(s), {passed} passed",
        ["Case", "Result", "Entities F1", "Sources F1", "Claims F1", "Missing claims", "Extra claims"],
        cells,
    )
    path = directory / INDEX
    write_atomic(path, page)
    return path

"""A golden summary and a new one side by side: matched claims in a row, missing and extra marked.

Which claims match is decided by the caller (``golden.compare.match_claims``, the rule the
scores use), so the page and the F1 figures never disagree. The article text shows the new
summary's evidence, with each golden claim the new one missed marked too (``g`` numbers), so an
editor sees what was lost where.
"""

from __future__ import annotations

from collections.abc import Sequence

from summarizer.outputs.html.assets import JS, head
from summarizer.outputs.html.claims import ClaimView, claim_views, evidence_marks
from summarizer.outputs.html.markup import mark_up, text
from summarizer.outputs.html.page import legend
from summarizer.schema import Summary


def claim_rows(
    golden: Summary, new: Summary, pairs: Sequence[tuple[int, int]]
) -> list[tuple[int | None, int | None]]:
    """Rows of (golden index, new index): matches in golden order, then the extra new claims."""
    matched = dict(pairs)
    used = set(matched.values())
    rows: list[tuple[int | None, int | None]] = [(i, matched.get(i)) for i in range(len(golden.claims))]
    rows += [(None, j) for j in range(len(new.claims)) if j not in used]
    return rows


def _cell(view: ClaimView | None, prefix: str, status: str) -> str:
    if view is None:
        return '<td class="muted">—</td>'
    badge = f' <span class="badge {status}">{status}</span>' if status else ""
    link = (
        f' <a href="#{prefix}ev-{view.n}" data-go>evidence</a>'
        if prefix == "n" or status == "missing"
        else ""
    )
    css = f' class="{status}"' if status else ""
    return (
        f'<td id="{prefix}claim-{view.n}"{css}>'
        f"<strong>{prefix}{view.n}.</strong> {text(view.claim.statement)}{badge}{link}"
        f'<span class="quote">{text(view.labels)} — {text(view.by)}<br>“{text(view.quote)}” '
        f"[{view.claim.evidence.start}:{view.claim.evidence.end}]</span></td>"
    )


def render_comparison(
    name: str,
    golden: Summary,
    new: Summary,
    article_text: str,
    pairs: Sequence[tuple[int, int]],
    *,
    scores: Sequence[tuple[str, str]] = (),
    changes: Sequence[str] = (),
) -> str:
    """The side-by-side page for one case. ``pairs`` are (golden, new) claim indexes that match;
    ``scores`` are (label, figure) rows; ``changes`` the exact differences, one line each."""
    old_views, new_views = claim_views(golden), claim_views(new)
    rows = claim_rows(golden, new, pairs)
    missing = [old_views[i] for i, j in rows if i is not None and j is None]
    extra = {j for i, j in rows if i is None and j is not None}
    marks = [m for v in missing for m in evidence_marks(v, prefix="g", extra_class="missing")]
    for v in new_views:
        marks += evidence_marks(v, prefix="n", extra_class="extra" if v.n - 1 in extra else "")
    table_rows = []
    for i, j in rows:
        old = old_views[i] if i is not None else None
        now = new_views[j] if j is not None else None
        table_rows.append(
            "<tr>"
            + _cell(old, "g", "missing" if now is None else "")
            + _cell(now, "n", "extra" if old is None else "")
            + "</tr>"
        )
    score_list = "".join(f"<dt>{text(k)}</dt><dd>{text(v)}</dd>" for k, v in scores)
    change_list = "".join(f"<li>{text(c)}</li>" for c in changes) or '<li class="muted">None.</li>'
    counts = (
        f"golden {len(golden.claims)} claims · new {len(new.claims)} claims · "
        f"{len(pairs)} matched · {len(missing)} missing · {len(extra)} extra"
    )
    body = (
        '<body>\n<a class="skip" href="#claims-h">Skip to the claims</a>\n'
        f'<header role="banner"><p class="kicker">Golden check · {text(name)}</p>'
        f'<h1>{text(new.headline)}</h1><p class="abstract">golden headline: {text(golden.headline)}</p>'
        f'<p class="counts">{counts}</p><dl class="meta">{score_list}</dl></header>\n'
        '<main id="text" aria-labelledby="claims-h"><h2 id="claims-h">Claims side by side</h2>'
        '<table class="side"><thead><tr><th scope="col">Golden</th><th scope="col">New</th></tr></thead>'
        f"<tbody>{''.join(table_rows)}</tbody></table>"
        f'<h2 id="changes-h">Changes from the golden ({len(changes)})</h2><ul>{change_list}</ul>'
        f'<h2 id="article-h">Article text</h2>{legend()}'
        '<p class="legend"><span><mark class="ev missing">g-numbered, red</mark>: a golden claim the new '
        'summary misses</span><span><mark class="ev extra">boxed</mark>: a new claim the golden lacks</span></p>'
        f'<div class="article">{mark_up(article_text, marks)}</div></main>\n'
        '<button id="back" type="button" hidden>Back</button><div id="tip" role="tooltip" hidden></div>\n'
        f"<script>{JS}</script>\n</body>"
    )
    return f'<!DOCTYPE html>\n<html lang="en">\n{head(f"Golden check: {name}")}\n{body}\n</html>\n'

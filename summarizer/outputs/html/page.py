"""The review page for one summary: the article with every claim's evidence highlighted.

One self-contained file (inline style and script, no network), readable without JavaScript and
printable. The article text and everything the model wrote are untrusted: every piece of it is
escaped, and the page's Content-Security-Policy lets no script run but our own.
"""

from __future__ import annotations

import hashlib
from urllib.parse import urlsplit

from summarizer.outputs.html.assets import JS, KIND_LABELS, head
from summarizer.outputs.html.claims import (
    claim_views,
    claims_by_source,
    entities_section,
    evidence_marks,
    mention_marks,
    sources_section,
)
from summarizer.outputs.html.dropped import dropped_claims
from summarizer.outputs.html.markup import attr, mark_up, text
from summarizer.schema import Summary


def render(summary: Summary, article_text: str) -> str:
    """The review page for ``summary`` of ``article_text`` (the exact text that was summarized)."""
    warnings = list(summary.meta.warnings) if summary.meta else []
    problems = page_problems(summary, article_text)
    body = (
        '<body>\n<a class="skip" href="#text">Skip to the article text</a>\n'
        + banner(summary, len(dropped_claims(warnings)), len(warnings))
        + '<div class="layout">\n'
        + article_section(summary, article_text, problems)
        + '<aside aria-labelledby="panel-h"><h2 id="panel-h" class="visually-hidden">Claims, sources '
        "and entities</h2>"
        + dropped_section(warnings)
        + claims_by_source(summary)
        + sources_section(summary)
        + entities_section(summary)
        + warnings_section(warnings)
        + "</aside>\n</div>\n"
        + run_footer(summary)
        + '<button id="back" type="button" hidden>Back</button>'
        '<div id="tip" role="tooltip" hidden></div>\n' + f"<script>{JS}</script>\n</body>"
    )
    return f'<!DOCTYPE html>\n<html lang="en">\n{head("Review: " + summary.headline)}\n{body}\n</html>\n'


def page_problems(summary: Summary, article_text: str) -> list[str]:
    """Why the highlights might not line up: the text is not the one summarized, or spans miss."""
    problems = []
    sha = summary.provenance.sha256 if summary.provenance else ""
    if sha and sha != hashlib.sha256(article_text.encode("utf-8")).hexdigest():
        problems.append("this is not the exact text that was summarized (its SHA-256 differs)")
    bad = summary.check_offsets(article_text)
    if bad:
        problems.append(f"{len(bad)} span(s) do not slice out of this text, first {bad[0]}")
    return problems


def banner(summary: Summary, dropped: int, warnings: int) -> str:
    counts = (
        f"{len(summary.claims)} claims · {len(summary.sources)} sources · {len(summary.entities)} "
        f"entities · {dropped} dropped · {warnings} warning{'s' if warnings != 1 else ''}"
    )
    return (
        '<header role="banner"><p class="kicker">Summary review</p>'
        f'<h1>{text(summary.headline)}</h1><p class="abstract">{text(summary.abstract)}</p>'
        f'<p class="counts">{counts}</p></header>\n'
    )


def legend() -> str:
    keys = "".join(
        f'<span><span class="key-{kind}">{text(label)}</span></span>' for kind, label in KIND_LABELS.items()
    )
    return (
        '<p class="legend" aria-label="Legend"><strong>Evidence, by who it rests on:</strong> '
        f'{keys}<span><span class="ment">entity mention</span></span>'
        "<span>superscript: claim number</span></p>"
    )


def article_section(summary: Summary, article_text: str, problems: list[str]) -> str:
    marks = [m for view in claim_views(summary) for m in evidence_marks(view)]
    marks += mention_marks(summary)
    notes = "".join(f'<p class="problem" role="alert">Warning: {text(p)}</p>' for p in problems)
    return (
        '<main id="text" aria-labelledby="text-h"><h2 id="text-h">Article text</h2>'
        f"{legend()}{notes}"
        f'<div class="article">{mark_up(article_text, marks)}</div></main>\n'
    )


def dropped_section(warnings: list[str]) -> str:
    dropped = dropped_claims(warnings)
    if not dropped:
        return ""
    items = []
    for claim in dropped:
        where = f' <span class="muted">(chunk {text(claim.chunk)})</span>' if claim.chunk else ""
        statement = text(claim.statement) if claim.statement else '<span class="muted">(unparsed)</span>'
        quote = f'<span class="quote">the model quoted: “{text(claim.quote)}”</span>' if claim.quote else ""
        items.append(
            f'<li><span class="badge">dropped</span> {statement}{where}{quote}'
            f'<span class="problem">why: {text(claim.reason)}</span></li>'
        )
    return (
        '<section class="dropped" aria-labelledby="dropped-h"><h2 id="dropped-h">Dropped claims '
        f'({len(dropped)})</h2><p class="muted">Proposed by the model but not kept: their quote '
        f"could not be grounded in the article, or they cited a source that does not exist.</p>"
        f"<ol>{''.join(items)}</ol></section>"
    )


def warnings_section(warnings: list[str]) -> str:
    if not warnings:
        return '<section aria-labelledby="warnings-h"><h2 id="warnings-h">Warnings (0)</h2><p class="muted">None.</p></section>'
    items = "".join(f"<li>{text(w)}</li>" for w in warnings)
    return (
        f'<section class="warnings" aria-labelledby="warnings-h"><h2 id="warnings-h">Warnings '
        f"({len(warnings)})</h2><ul>{items}</ul></section>"
    )


def _link(url: str) -> str:
    # Only web links become links: a javascript: or data: URL from a page stays plain text.
    if urlsplit(url).scheme.lower() in ("http", "https"):
        return f'<a href="{attr(url)}" rel="noreferrer noopener">{text(url)}</a>'
    return text(url)


def definitions(rows: list[tuple[str, str]]) -> str:
    """A ``<dl>`` of (label, already-escaped value) rows, skipping empty values."""
    cells = "".join(f"<dt>{text(k)}</dt><dd>{v}</dd>" for k, v in rows if v)
    return f'<dl class="meta">{cells}</dl>'


def provenance_rows(summary: Summary) -> list[tuple[str, str]]:
    p = summary.provenance
    if p is None:
        return []
    final = p.final_url if p.final_url and p.final_url != p.url else None
    return [
        ("Title", text(p.title or "")),
        ("URL", _link(p.url) if p.url else ""),
        ("Redirected to", _link(final) if final else ""),
        ("Published", text(p.published or "")),
        ("Site", text(p.site_name or "")),
        ("Author", text(p.author or "")),
        ("File", text(p.path or "")),
        ("Fetched", text(p.fetched_at or "")),
        ("SHA-256 of the text", f"<code>{text(p.sha256)}</code>" if p.sha256 else ""),
    ]


def run_rows(summary: Summary) -> list[tuple[str, str]]:
    meta = summary.meta
    if meta is None:
        return []
    if meta.cached:
        cost = "from the cache, no cost"
    else:
        cost = "unknown (no price for this model)" if meta.cost_usd is None else f"${meta.cost_usd:.4f}"
    usage = meta.usage
    return [
        ("Model", text(f"{meta.provider} / {meta.model}")),
        ("Prompt version", text(meta.prompt_version)),
        ("Schema", text(meta.schema_version)),
        (
            "Tokens",
            text(f"{usage.prompt_tokens:,} in + {usage.completion_tokens:,} out = {usage.total_tokens:,}"),
        ),
        ("Cost", text(cost)),
        (
            "Attempts",
            text(f"{meta.attempts} ({meta.reasks} re-ask(s), {meta.transport_retries} transport retries)"),
        ),
        ("Chunks", text(str(meta.chunks)) if meta.chunks != 1 else ""),
        ("Duration", text(f"{meta.duration_s:.2f} s")),
    ]


def run_footer(summary: Summary) -> str:
    provenance = provenance_rows(summary)
    run = run_rows(summary)
    none = '<p class="muted">Not recorded.</p>'
    return (
        '<footer role="contentinfo"><section aria-labelledby="prov-h"><h2 id="prov-h">Where the text '
        f"came from</h2>{definitions(provenance) if provenance else none}</section>"
        '<section aria-labelledby="run-h"><h2 id="run-h">How this summary was made</h2>'
        f"{definitions(run) if run else none}</section></footer>\n"
    )

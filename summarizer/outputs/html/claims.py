"""How one summary's claims, sources and entities read on a review page (pure, escaped).

Shared by the single review page and the side-by-side comparison: a claim's kind (who it rests
on), its labels, the marks its evidence puts on the article text, and the side panel's lists.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

from summarizer.outputs.html.assets import KIND_LABELS
from summarizer.outputs.html.markup import Mark, text
from summarizer.schema import Attribution, Claim, Source, Summary

ATTRIBUTION_LABELS = {
    Attribution.DIRECT_QUOTE: "direct quote",
    Attribution.PARAPHRASE: "paraphrase",
    Attribution.REPORTED: "reported",
    Attribution.ARTICLE_ASSERTION: "the article's own assertion",
}


@dataclass(frozen=True)
class ClaimView:
    """A claim with what the page says about it; ``n`` is its 1-based position (anchors use it)."""

    n: int
    claim: Claim
    source: Source | None

    @property
    def kind(self) -> str:
        if self.source is None:
            return "article"
        return "anon" if self.source.anonymous else "named"

    @property
    def by(self) -> str:
        if self.source is None:
            return "the article itself"
        return self.source.name + (" (anonymous)" if self.source.anonymous else "")

    @property
    def labels(self) -> str:
        label = ATTRIBUTION_LABELS.get(self.claim.attribution, self.claim.attribution.value)
        return label + (", hedged" if self.claim.hedged else "")

    @property
    def quote(self) -> str:
        evidence = self.claim.evidence
        return " … ".join(f.text for f in evidence.fragments) if evidence.fragments else evidence.text

    def tip(self) -> str:
        return f"Claim {self.n}: {self.claim.statement}\n{self.labels} — {self.by}"


def claim_views(summary: Summary) -> list[ClaimView]:
    sources = {s.id: s for s in summary.sources}
    return [
        ClaimView(n, claim, sources.get(claim.source_id) if claim.source_id else None)
        for n, claim in enumerate(summary.claims, 1)
    ]


def evidence_marks(view: ClaimView, *, prefix: str = "", extra_class: str = "") -> list[Mark]:
    """Marks for a claim's evidence: the whole passage, or its fragments and the gaps between.

    The first piece gets ``id="{prefix}ev-N"`` (claims link to it); a superscript claim number
    after the last piece links back to ``#{prefix}claim-N``: the number, the border style and the
    hover text say who the claim rests on without relying on colour.
    """
    evidence = view.claim.evidence
    cls = f"ev ev-{view.kind}" + (f" {extra_class}" if extra_class else "")
    common = (("class", cls), ("data-claim", view.claim.id), ("data-n", f"{prefix}{view.n}"))
    tip = (("title", view.tip()),)
    anchor = (("id", f"{prefix}ev-{view.n}"),)
    sup = (
        f'<sup class="ref ref-{view.kind}"><a href="#{prefix}claim-{view.n}" data-go '
        f'aria-label="claim {prefix}{view.n}, {text(KIND_LABELS[view.kind])}">{prefix}{view.n}</a></sup>'
    )
    pieces = evidence.fragments or [evidence]
    marks = []
    for i, piece in enumerate(pieces):
        last = i == len(pieces) - 1
        marks.append(
            Mark(
                piece.start,
                piece.end,
                "mark",
                (*common, *tip),
                anchor if i == 0 else (),
                after=sup if last else "",
            )
        )
    for left, right in pairwise(pieces):
        if left.end < right.start:
            marks.append(Mark(left.end, right.start, "span", (("class", "gap"), ("data-gap", view.claim.id))))
    return marks


def mention_marks(summary: Summary, *, prefix: str = "") -> list[Mark]:
    marks = []
    for i, entity in enumerate(summary.entities, 1):
        label = f"{entity.name} ({entity.type.value})"
        for j, mention in enumerate(entity.mentions):
            marks.append(
                Mark(
                    mention.start,
                    mention.end,
                    "span",
                    (("class", "ment"), ("data-entity", entity.id), ("title", label)),
                    (("id", f"{prefix}ent-{i}"),) if j == 0 else (),
                    rank=1,  # inside a quote that covers the same words
                )
            )
    return marks


def claim_item(view: ClaimView, *, prefix: str = "", status: str = "") -> str:
    """One claim in a list: number, statement, labels, the quote and a link to it in the text."""
    badges = f'<span class="badge">{text(ATTRIBUTION_LABELS.get(view.claim.attribution, ""))}</span>'
    if view.claim.hedged:
        badges += '<span class="badge hedged">hedged</span>'
    if status:
        badges += f'<span class="badge {status}">{status}</span>'
    return (
        f'<li id="{prefix}claim-{view.n}" value="{view.n}"'
        + (f' class="{status}"' if status else "")
        + f'>{text(view.claim.statement)} {badges} <a href="#{prefix}ev-{view.n}" data-go>'
        f'<span class="visually-hidden">claim {view.n}: </span>evidence</a>'
        f'<span class="quote">“{text(view.quote)}” '
        f'<span class="muted">[{view.claim.evidence.start}:{view.claim.evidence.end}]</span></span></li>'
    )


def claims_by_source(summary: Summary) -> str:
    views = claim_views(summary)
    groups: list[tuple[str, str, list[ClaimView]]] = []
    for source in summary.sources:
        cited = [v for v in views if v.source is not None and v.source.id == source.id]
        if cited:
            kind = "anon" if source.anonymous else "named"
            groups.append((source.name, kind, cited))
    own = [v for v in views if v.source is None]
    if own:
        groups.append(("The article itself", "article", own))
    parts = [f'<section aria-labelledby="claims-h"><h2 id="claims-h">Claims by source ({len(views)})</h2>']
    if not views:
        parts.append('<p class="muted">No claims.</p>')
    for name, kind, cited in groups:
        parts.append(
            f'<h3><span class="key-{kind}">{text(name)}</span> '
            f'<span class="muted">· {text(KIND_LABELS[kind])} · {len(cited)}</span></h3><ol>'
        )
        parts += [claim_item(v) for v in cited]
        parts.append("</ol>")
    parts.append("</section>")
    return "".join(parts)


def sources_section(summary: Summary) -> str:
    entities = {e.id: e.name for e in summary.entities}
    counts = {s.id: sum(c.source_id == s.id for c in summary.claims) for s in summary.sources}
    items = []
    for source in summary.sources:
        anon = '<span class="badge anon">anonymous</span>' if source.anonymous else ""
        link = f" · is {text(entities[source.entity_id])}" if source.entity_id in entities else ""
        items.append(
            f'<li><strong>{text(source.name)}</strong>{anon} <span class="muted">{text(source.kind.value)}'
            f"{link} · {counts[source.id]} claim(s)</span><br>{text(source.description)}</li>"
        )
    body = f"<ul>{''.join(items)}</ul>" if items else '<p class="muted">No sources.</p>'
    return (
        f'<section aria-labelledby="sources-h"><h2 id="sources-h">Sources ({len(items)})</h2>{body}</section>'
    )


def entities_section(summary: Summary) -> str:
    items = []
    for i, entity in enumerate(summary.entities, 1):
        aliases = (
            f' <span class="muted">also: {text(", ".join(entity.aliases))}</span>' if entity.aliases else ""
        )
        count = len(entity.mentions)
        first = f' · <a href="#ent-{i}" data-go>first mention</a>' if entity.mentions else ""
        items.append(
            f'<li><strong>{text(entity.name)}</strong>{aliases} <span class="muted">{text(entity.type.value)}'
            f" · {count} mention{'s' if count != 1 else ''}{first}</span><br>{text(entity.description)}</li>"
        )
    body = f"<ul>{''.join(items)}</ul>" if items else '<p class="muted">No entities.</p>'
    return f'<section aria-labelledby="entities-h"><h2 id="entities-h">Entities ({len(items)})</h2>{body}</section>'

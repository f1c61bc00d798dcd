"""Where a summary's text came from, in words: one line shared by the Markdown, table and Slack views."""

from __future__ import annotations

from summarizer.schema import Provenance


def source_address(provenance: Provenance | None) -> str | None:
    """The page's address (after redirects) or the file's path; None when the text came from stdin."""
    if provenance is None:
        return None
    return provenance.final_url or provenance.url or provenance.path


def provenance_parts(provenance: Provenance | None, *, technical: bool = True) -> list[str]:
    """The metadata worth showing, in reading order: site, author, date (then fetch time and hash)."""
    if provenance is None:
        return []
    parts = []
    if provenance.site_name:
        parts.append(provenance.site_name)
    if provenance.author:
        parts.append(f"by {provenance.author}")
    if provenance.published:
        parts.append(f"published {provenance.published}")
    if technical:
        if provenance.fetched_at:
            parts.append(f"fetched {provenance.fetched_at}")
        if provenance.sha256:
            parts.append(f"sha256 {provenance.sha256[:12]}")
    return parts

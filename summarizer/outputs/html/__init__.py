"""Review pages for editors: self-contained HTML (inline style and script, no network).

``render(summary, article_text)`` is the page for one summary: the article with every claim's
evidence highlighted at its offsets, a side panel of claims by source, sources and entities,
dropped claims and warnings, provenance and run details. ``index.render_index`` lists many pages
(a batch's, a check's); ``comparison.render_comparison`` puts a golden and a new summary side by
side. Reads ``schema`` (and ``errors``, to refuse a folder it cannot write) only.
"""

from __future__ import annotations

from summarizer.outputs.html.page import render

__all__ = ["render"]

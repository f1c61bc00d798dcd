"""Where a ``Summary`` goes: renderers (``render``: JSON, Markdown, terminal table; ``html``: the
editors' review page, one self-contained HTML file) and atomic file writes (``atomic``). Reads
``schema`` only (and ``errors`` for a clear refusal); knows nothing of models or providers.
"""

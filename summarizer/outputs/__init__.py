"""Where a ``Summary`` goes: renderers (``render``: JSON, Markdown, terminal table) and atomic file
writes (``atomic``). Reads ``schema`` only (and ``errors`` for a clear refusal); knows nothing of
models or providers.
"""

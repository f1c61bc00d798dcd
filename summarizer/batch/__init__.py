"""Many articles at once: the concurrent, resumable runner (``runner``), its JSONL/folder input and
append-only output (``items``), and the provider Batch API's export/import (``provider_api``).
Built on ``pipeline.Summarizer``; may import anything below it, never ``cli``.
"""

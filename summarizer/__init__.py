"""summarizer: a news article in, a validated record of its entities, sources and grounded claims out.

from summarizer import Summarizer
summary = Summarizer().summarize(article_text)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# The public names and the module that defines each. They load on first use so
# that `summarizer --help` (which imports this package) stays fast.
_EXPORTS = {
    "Settings": "summarizer.config",
    "ConfigError": "summarizer.errors",
    "ExtractionError": "summarizer.errors",
    "InputError": "summarizer.errors",
    "ProviderError": "summarizer.errors",
    "SummarizerError": "summarizer.errors",
    "Summarizer": "summarizer.pipeline",
    "asummarize": "summarizer.pipeline",
    "summarize": "summarizer.pipeline",
    "SCHEMA_VERSION": "summarizer.schema",
    "Attribution": "summarizer.schema",
    "Claim": "summarizer.schema",
    "Entity": "summarizer.schema",
    "EntityType": "summarizer.schema",
    "Meta": "summarizer.schema",
    "Source": "summarizer.schema",
    "SourceKind": "summarizer.schema",
    "Span": "summarizer.schema",
    "Evidence": "summarizer.schema",
    "Provenance": "summarizer.schema",
    "Summary": "summarizer.schema",
    "Usage": "summarizer.schema",
    "RetryPolicy": "summarizer.config",
}

if TYPE_CHECKING:
    from summarizer.config import RetryPolicy, Settings
    from summarizer.errors import (
        ConfigError,
        ExtractionError,
        InputError,
        ProviderError,
        SummarizerError,
    )
    from summarizer.pipeline import Summarizer, asummarize, summarize
    from summarizer.schema import (
        SCHEMA_VERSION,
        Attribution,
        Claim,
        Entity,
        EntityType,
        Evidence,
        Meta,
        Provenance,
        Source,
        SourceKind,
        Span,
        Summary,
        Usage,
    )


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'summarizer' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "SCHEMA_VERSION",
    "Attribution",
    "Claim",
    "ConfigError",
    "Entity",
    "EntityType",
    "Evidence",
    "ExtractionError",
    "InputError",
    "Meta",
    "Provenance",
    "ProviderError",
    "RetryPolicy",
    "Settings",
    "Source",
    "SourceKind",
    "Span",
    "Summarizer",
    "SummarizerError",
    "Summary",
    "Usage",
    "asummarize",
    "summarize",
]

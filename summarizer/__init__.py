"""summarizer: a news article in, a validated record of its entities, sources and grounded claims out.

from summarizer import Summarizer
summary = Summarizer().summarize(article_text)
"""

from summarizer.config import Settings
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
    Meta,
    Source,
    SourceKind,
    Span,
    Summary,
    Usage,
)
from summarizer.transport import RetryPolicy

__all__ = [
    "SCHEMA_VERSION",
    "Attribution",
    "Claim",
    "ConfigError",
    "Entity",
    "EntityType",
    "ExtractionError",
    "InputError",
    "Meta",
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

"""The output contract: what a summarized article looks like.

This is the product's public API. Field names are stable; a breaking change
bumps ``SCHEMA_VERSION``. Run metadata lives in ``Meta``, apart from the
content, so that two runs over the same article compare equal on content.

Every ``Span`` (an evidence quote or an entity mention) satisfies
``article[start:end] == text``; the pipeline guarantees it and
``Summary.check_offsets`` verifies it.
"""

from __future__ import annotations

import hashlib
from enum import StrEnum
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# 1.1: Claim.evidence gains ``fragments`` (a quote with an ellipsis or a bracketed insertion,
# grounded piece by piece); Summary gains ``provenance`` (where the text came from, and its hash).
# Both are additions: a 1.0 reader that ignores unknown fields reads 1.1.
SCHEMA_VERSION = "1.1"


class EntityType(StrEnum):
    PERSON = "person"
    ORGANIZATION = "organization"
    LOCATION = "location"
    EVENT = "event"
    OTHER = "other"


class SourceKind(StrEnum):
    PUBLICATION = "publication"
    OFFICIAL = "official"
    ORGANIZATION = "organization"
    PERSON = "person"
    DOCUMENT = "document"
    OTHER = "other"


class Attribution(StrEnum):
    DIRECT_QUOTE = "direct_quote"
    PARAPHRASE = "paraphrase"
    REPORTED = "reported"
    ARTICLE_ASSERTION = "article_assertion"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


_M = TypeVar("_M", bound=_Model)
_FIELDS: dict[type[_Model], tuple[tuple[str, ...], set[str]]] = {}
_set = object.__setattr__  # what pydantic itself sets a frozen model's slots with


def built(model: type[_M], **values: Any) -> _M:
    """A ``model`` from values that are valid already (the pipeline's own, taken from a validated
    draft and the article), every field given: no second validation pass, and the fields set of
    all such instances one set per class instead of one per instance. A summary keeps some 150
    models; every set is one more container the cyclic collector walks while the summary lives.
    The shared set never changes: the models are frozen, adding a field name it holds already is
    a no-op, and pydantic copies the set when it copies a model (``model_copy``).

    The instance is what ``model_construct`` makes (tests/test_draft_and_resolve.py compares
    them), without its look-ups of aliases and defaults field by field, which cost more than
    the rest of building a span."""
    names, every = _FIELDS.get(model) or _fields_of(model)
    if values.keys() != every:
        missing, unknown = sorted(every - values.keys()), sorted(values.keys() - every)
        raise TypeError(f"{model.__name__} built with fields missing {missing} or unknown {unknown}")
    instance = model.__new__(model)
    _set(instance, "__dict__", {name: values[name] for name in names})  # in the model's field order
    _set(instance, "__pydantic_fields_set__", every)
    _set(instance, "__pydantic_extra__", None)
    _set(instance, "__pydantic_private__", None)
    return instance


def _fields_of(model: type[_Model]) -> tuple[tuple[str, ...], set[str]]:
    # What model_construct would do differently: aliases, private attributes, model_post_init.
    if (
        any(f.alias or f.validation_alias for f in model.model_fields.values())
        or model.__private_attributes__
        or model.__pydantic_post_init__
    ):
        raise TypeError(f"{model.__name__} cannot be built field by field: use model_construct")
    fields = _FIELDS[model] = (tuple(model.model_fields), set(model.model_fields))
    return fields


class Span(_Model):
    """A verbatim piece of the article: ``article[start:end] == text``."""

    text: str
    start: int = Field(ge=0)
    end: int = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> Span:
        if self.end - self.start != len(self.text):
            raise ValueError(f"span [{self.start}:{self.end}] does not match the length of {self.text!r}")
        return self


class Evidence(Span):
    """A claim's verbatim evidence.

    ``text``/``start``/``end`` are always one verbatim passage of the article. When the model
    quoted it with an ellipsis or a bracketed insertion, ``fragments`` are the pieces it actually
    quoted, in order, each a verbatim ``Span`` inside ``[start:end]``; empty for a plain quote.
    """

    fragments: list[Span] = Field(default_factory=list)

    @model_validator(mode="after")
    def _fragments_inside(self) -> Evidence:
        last = self.start
        for fragment in self.fragments:
            if fragment.start < last or fragment.end > self.end:
                raise ValueError(
                    f"fragment [{fragment.start}:{fragment.end}] is out of order or outside "
                    f"the evidence [{self.start}:{self.end}]"
                )
            last = fragment.end
        return self


class Provenance(_Model):
    """Where the summarized text came from. ``sha256`` is of the exact text the model was given."""

    sha256: str = Field(
        "", description="hex SHA-256 of the exact text summarized (UTF-8); set by the pipeline"
    )
    url: str | None = Field(None, description="the URL asked for")
    final_url: str | None = Field(None, description="the URL after redirects")
    path: str | None = Field(None, description="the file read, as given; ignored by content comparisons")
    title: str | None = None
    author: str | None = None
    published: str | None = Field(None, description="publication date as the page gives it (ISO 8601)")
    site_name: str | None = None
    fetched_at: str | None = Field(
        None, description="when the page was fetched (ISO 8601, UTC); ignored by content comparisons"
    )

    @classmethod
    def of(cls, text: str, given: Provenance | None = None) -> Provenance:
        """``given`` (or none) with ``sha256`` set to the hash of ``text``, the text summarized."""
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        return given.model_copy(update={"sha256": digest}) if given is not None else cls(sha256=digest)


class Entity(_Model):
    id: str
    name: str
    type: EntityType
    aliases: list[str] = Field(default_factory=list)
    description: str = ""
    mentions: list[Span] = Field(default_factory=list)


class Source(_Model):
    id: str
    name: str
    kind: SourceKind
    anonymous: bool = False
    entity_id: str | None = None
    description: str = ""


class Claim(_Model):
    id: str
    statement: str
    source_id: str | None = None
    attribution: Attribution
    hedged: bool = False
    entity_ids: list[str] = Field(default_factory=list)
    evidence: Evidence

    @field_validator("evidence", mode="before")
    @classmethod
    def _plain_span_is_evidence(cls, value: Any) -> Any:
        # 1.0 code built claims with a plain Span: it is still a valid (unfragmented) evidence.
        if isinstance(value, Span) and not isinstance(value, Evidence):
            return {"text": value.text, "start": value.start, "end": value.end}
        return value


class Usage(_Model):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            total_tokens=self.total_tokens + other.total_tokens,
        )

    def __sub__(self, other: Usage) -> Usage:
        return Usage(
            prompt_tokens=self.prompt_tokens - other.prompt_tokens,
            completion_tokens=self.completion_tokens - other.completion_tokens,
            total_tokens=self.total_tokens - other.total_tokens,
        )


class Meta(_Model):
    """How this summary was produced. Never part of content comparisons."""

    provider: str
    model: str
    prompt_version: str
    schema_version: str = SCHEMA_VERSION
    usage: Usage = Field(default_factory=Usage)
    attempts: int = Field(0, description="LLM responses received (first answer plus re-asks)")
    reasks: int = Field(0, description="validation re-asks sent to the model")
    transport_retries: int = Field(0, description="requests resent after 429/5xx/timeouts")
    warnings: list[str] = Field(default_factory=list)
    duration_s: float = 0.0
    cost_usd: float | None = Field(None, description="from the price table; None when the model has no price")
    cached: bool = Field(False, description="answered from the local cache: no LLM call, no cost")
    chunks: int = Field(1, description="extraction calls the article was split into (long articles)")


class Summary(_Model):
    schema_version: str = SCHEMA_VERSION
    headline: str
    abstract: str
    entities: list[Entity] = Field(default_factory=list)
    sources: list[Source] = Field(default_factory=list)
    claims: list[Claim] = Field(default_factory=list)
    provenance: Provenance | None = None
    meta: Meta | None = None

    @model_validator(mode="after")
    def _references_resolve(self) -> Summary:
        entity_ids = {e.id for e in self.entities}
        source_ids = {s.id for s in self.sources}
        for source in self.sources:
            if source.entity_id is not None and source.entity_id not in entity_ids:
                raise ValueError(f"source {source.id} links to unknown entity {source.entity_id}")
        for claim in self.claims:
            if claim.source_id is not None and claim.source_id not in source_ids:
                raise ValueError(f"claim {claim.id} cites unknown source {claim.source_id}")
            for entity_id in claim.entity_ids:
                if entity_id not in entity_ids:
                    raise ValueError(f"claim {claim.id} names unknown entity {entity_id}")
        return self

    def content(self) -> dict[str, Any]:
        """The content as plain JSON data, without ``meta``: what golden fixtures compare."""
        return self.model_dump(mode="json", exclude={"meta": True, "provenance": {"fetched_at", "path"}})

    def spans(self) -> list[Span]:
        """Every span that must slice out of the article: mentions, evidence and its fragments."""
        return [
            *(m for e in self.entities for m in e.mentions),
            *(c.evidence for c in self.claims),
            *(f for c in self.claims for f in c.evidence.fragments),
        ]

    def check_offsets(self, article: str) -> list[str]:
        """Every span that does not slice exactly out of ``article`` (empty when all do)."""
        return [
            f"{s.text!r} at [{s.start}:{s.end}]" for s in self.spans() if article[s.start : s.end] != s.text
        ]

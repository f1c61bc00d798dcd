"""The schema the model fills in, and the checks that send it back for another try.

The model never writes offsets: it quotes, and the program finds the quote.
It picks short ids of its own ("E1", "S1") to link claims to sources and
entities; the resolver later replaces them with stable ids.

``find_problems`` is the single judge of a draft. During extraction every
problem is a validation error that instructor re-asks with (the message says
which field, what is wrong and how to fix it). After the last re-ask the
resolver uses the same judgement to drop what cannot be trusted.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field, ValidationInfo, field_validator, model_validator

from summarizer.extract.consistency import Reader, unsupported
from summarizer.extract.grounding import Article
from summarizer.schema import Attribution, EntityType, SourceKind


class DraftEntity(BaseModel):
    id: str = Field(description='Your short id for this entity, e.g. "E1". Unique.')
    name: str = Field(description="Canonical full name, as fully as the article gives it.")
    type: EntityType
    aliases: list[str] = Field(
        default_factory=list,
        description=(
            "Every other form the article uses for this entity, copied exactly: titles "
            '("Mr. Assad", "Ayatollah Khamenei"), surname alone, and spelling variants the '
            "article mixes. Do not list possessives separately."
        ),
    )
    description: str = Field(description="Its role in this story, in a short phrase.")


class DraftSource(BaseModel):
    id: str = Field(description='Your short id for this source, e.g. "S1". Unique.')
    name: str = Field(
        description='Name of the source, or the article\'s description of an unnamed one ("a family friend").'
    )
    kind: SourceKind
    anonymous: bool = Field(description="True when the article does not name the source.")
    entity_id: str | None = Field(
        default=None, description="Id of the entity this source is, if it is one of the entities."
    )
    description: str = Field(description="How the article refers to the source.")


class DraftClaim(BaseModel):
    statement: str = Field(
        description="The claim as one self-contained sentence, understandable without the article."
    )
    source_id: str | None = Field(
        default=None,
        description="Id of the source the article attributes the claim to; null if the article itself asserts it.",
    )
    attribution: Attribution = Field(
        description=(
            "direct_quote: the source's words in quotation marks; paraphrase: the source's words "
            'restated; reported: "according to", "is reported to", "said to"; article_assertion: '
            "the article states it on its own authority."
        )
    )
    hedged: bool = Field(
        default=False,
        description='True when the article signals uncertainty ("as has been suggested", "might", "reportedly").',
    )
    entity_ids: list[str] = Field(default_factory=list, description="Ids of the entities the claim is about.")
    quote: str = Field(
        description="Evidence: one contiguous passage copied character for character from the article."
    )


class DraftSummary(BaseModel):
    """A structured summary of a news article: entities, sources and grounded claims."""

    headline: str = Field(description="One line, at most about 15 words, neutral.")
    abstract: str = Field(description="Two to four sentences summarizing the article.")
    entities: list[DraftEntity] = Field(default_factory=list)
    sources: list[DraftSource] = Field(default_factory=list)
    claims: list[DraftClaim] = Field(default_factory=list)

    @field_validator("headline")
    @classmethod
    def _one_line(cls, value: str) -> str:
        return " ".join(value.split())

    @model_validator(mode="after")
    def _grounded(self, info: ValidationInfo) -> DraftSummary:
        context = info.context or {}
        article = context.get("article", _grounding_article.get())
        if isinstance(article, Article) and not context.get("lenient", False):
            problems = find_problems(self, article)
            if problems:
                raise ValueError(describe(problems))
        return self


class ProblemKind(StrEnum):
    UNGROUNDED_QUOTE = "ungrounded_quote"
    UNKNOWN_SOURCE = "unknown_source"
    UNKNOWN_ENTITY = "unknown_entity"
    DUPLICATE_ID = "duplicate_id"
    ENTITY_NOT_IN_ARTICLE = "entity_not_in_article"
    ALIAS_NOT_IN_ARTICLE = "alias_not_in_article"
    UNSUPPORTED_STATEMENT = "unsupported_statement"


# What a re-ask for some claims only can repair: the quote and the statement of a claim.
CLAIM_REPAIRABLE = frozenset({ProblemKind.UNGROUNDED_QUOTE, ProblemKind.UNSUPPORTED_STATEMENT})


@dataclass(frozen=True)
class Problem:
    kind: ProblemKind
    path: str
    message: str
    detail: str = ""  # the reason alone, for a warning when the claim is finally dropped


def find_problems(draft: DraftSummary, article: Article) -> list[Problem]:
    """Everything in ``draft`` that the article does not back up or that points nowhere."""
    problems: list[Problem] = []
    problems += _duplicate_ids("entities", [e.id for e in draft.entities])
    problems += _duplicate_ids("sources", [s.id for s in draft.sources])
    entity_ids = {e.id for e in draft.entities}
    source_ids = {s.id for s in draft.sources}

    for i, entity in enumerate(draft.entities):
        found = {name: article.mentioned(name) for name in [entity.name, *entity.aliases]}
        if not any(found.values()):
            problems.append(
                Problem(
                    ProblemKind.ENTITY_NOT_IN_ARTICLE,
                    f"entities[{i}]",
                    f"entity {entity.id} {entity.name!r}: neither its name nor any alias occurs in the "
                    "article. Use the exact form the article uses, or remove the entity.",
                )
            )
            continue
        for j, alias in enumerate(entity.aliases):
            if not found[alias]:
                problems.append(
                    Problem(
                        ProblemKind.ALIAS_NOT_IN_ARTICLE,
                        f"entities[{i}].aliases[{j}]",
                        f"entity {entity.id}: alias {alias!r} does not occur in the article as a whole "
                        "word. List only forms the article itself uses.",
                    )
                )

    for i, source in enumerate(draft.sources):
        if source.entity_id is not None and source.entity_id not in entity_ids:
            problems.append(
                Problem(
                    ProblemKind.UNKNOWN_ENTITY,
                    f"sources[{i}].entity_id",
                    f"source {source.id}: entity_id {source.entity_id!r} is not an entity id "
                    f"(known: {_known(entity_ids)}).",
                )
            )

    entities = {e.id: e for e in draft.entities}
    sources = {s.id: s for s in draft.sources}
    for i, claim in enumerate(draft.claims):
        problem = claim_problem(i, claim, article, claim_names(claim, entities, sources))
        if problem is not None:
            problems.append(problem)
        if claim.source_id is not None and claim.source_id not in source_ids:
            problems.append(
                Problem(
                    ProblemKind.UNKNOWN_SOURCE,
                    f"claims[{i}].source_id",
                    f"claim {i}: source_id {claim.source_id!r} is not a source id "
                    f"(known: {_known(source_ids)}). Add the source or use null for the article itself.",
                )
            )
        for entity_id in claim.entity_ids:
            if entity_id not in entity_ids:
                problems.append(
                    Problem(
                        ProblemKind.UNKNOWN_ENTITY,
                        f"claims[{i}].entity_ids",
                        f"claim {i}: entity id {entity_id!r} is not an entity id (known: {_known(entity_ids)}).",
                    )
                )
    return problems


def claim_problem(i: int, claim: DraftClaim, article: Article, names: list[str]) -> Problem | None:
    """What is wrong with claim ``i``'s evidence: a quote not in the article, or a statement
    its quote does not back up. None when the claim holds.

    Judged once per article: the validator and the resolver both ask (memoised on ``article``).
    """
    key = ("claim_problem", i, claim.statement, claim.quote, tuple(names))
    return article.memo(key, lambda: _claim_problem(i, claim, article, names))


def _claim_problem(i: int, claim: DraftClaim, article: Article, names: list[str]) -> Problem | None:
    grounding = article.ground(claim.quote)
    if grounding.evidence is None:
        why = f" ({grounding.refusal})" if grounding.refusal else ""
        message = (
            f"claim {i} ({_short(claim.statement)}): quote {claim.quote!r} is not in the article{why}. "
            "Copy one contiguous passage exactly as the article writes it (same spelling and words)."
        )
        hint = article.closest_passage(claim.quote)
        if hint:
            message += (
                f" The closest passage in the article is {hint!r}: re-read it, and if it says "
                "something other than your statement, fix the statement too, not just the quote."
            )
        return Problem(ProblemKind.UNGROUNDED_QUOTE, f"claims[{i}].quote", message, grounding.refusal)
    reader = article.memo("consistency.reader", Reader)
    reasons = unsupported(claim.statement, grounding.quoted, names, reader=reader)
    if not reasons:
        return None
    return Problem(
        ProblemKind.UNSUPPORTED_STATEMENT,
        f"claims[{i}].statement",
        f"claim {i} ({_short(claim.statement)}): its quote {_short(grounding.quoted, 120)} does not "
        f"support the statement: {'; '.join(reasons)}. Re-read the passage and fix the statement "
        "so that it says what the quote says, or quote the passage that supports it.",
        "; ".join(reasons),
    )


def claim_names(
    claim: DraftClaim, entities: dict[str, DraftEntity], sources: dict[str, DraftSource]
) -> list[str]:
    """The names a claim's statement may use without its quote: its entities' and its source's."""
    names: list[str] = []
    linked = list(claim.entity_ids)
    source = sources.get(claim.source_id) if claim.source_id is not None else None
    if source is not None:
        names += [source.name, source.description]
        if source.entity_id is not None:
            linked.append(source.entity_id)
    for entity_id in linked:
        entity = entities.get(entity_id)
        if entity is not None:
            names += [entity.name, *entity.aliases]
    return names


def describe(problems: list[Problem]) -> str:
    """The re-ask message: one line per problem, each naming the field it is about."""
    return f"{len(problems)} problem(s) with the summary:\n" + "\n".join(
        f"- {p.path}: {p.message}" for p in problems
    )


def validation_context(article: Article, *, lenient: bool = False) -> dict[str, Any]:
    return {"article": article, "lenient": lenient}


# The article a draft is checked against while instructor validates it. A context variable,
# not instructor's `context=`, which would also render the prompt messages as Jinja templates.
_grounding_article: ContextVar[Article | None] = ContextVar("summarizer_grounding_article", default=None)


@contextmanager
def grounding_against(article: Article) -> Iterator[None]:
    token = _grounding_article.set(article)
    try:
        yield
    finally:
        _grounding_article.reset(token)


def _duplicate_ids(collection: str, ids: list[str]) -> list[Problem]:
    seen: set[str] = set()
    problems = []
    for i, item_id in enumerate(ids):
        if item_id in seen:
            problems.append(
                Problem(ProblemKind.DUPLICATE_ID, f"{collection}[{i}].id", f"id {item_id!r} is used twice.")
            )
        seen.add(item_id)
    return problems


def _known(ids: set[str]) -> str:
    return ", ".join(sorted(ids)) or "none"


def _short(text: str, limit: int = 60) -> str:
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")

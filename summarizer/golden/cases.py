"""Fixture cases: an article, its cassette and its golden summary in one folder.

    fixtures/cases/NAME/
        article.txt     the article, UTF-8
        cassette.json   the LLM exchanges (recorded, or a labelled hand-written reference)
        golden.json     the expected Summary content (no meta), canonical order
        case.json       optional: settings the cassette was made with (model, mode, ...)

A case is self-contained: replaying it reads no environment variable, so it
gives the same result on every machine.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from summarizer.config import Settings
from summarizer.errors import ConfigError, SummarizerError
from summarizer.golden.compare import diff, load_golden
from summarizer.inputs.files import read_article
from summarizer.llm.recording import CASSETTE_FILE, REPLAY_KEY, RecordMode, open_cassette
from summarizer.schema import Summary

ARTICLE_FILE = "article.txt"
GOLDEN_FILE = "golden.json"
CASE_FILE = "case.json"
# What a case may pin; anything else in case.json is a mistake worth reporting.
CASE_SETTINGS = frozenset(
    {
        "model",
        "mode",
        "max_reasks",
        "temperature",
        "seed",
        "base_url",
        "provider_name",
        "max_output_tokens",
        "max_input_tokens",
        "context_tokens",
    }
)


@dataclass(frozen=True)
class Case:
    directory: Path
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.directory.name

    @property
    def article_path(self) -> Path:
        return self.directory / ARTICLE_FILE

    @property
    def cassette_path(self) -> Path:
        return self.directory / CASSETTE_FILE

    @property
    def golden_path(self) -> Path:
        return self.directory / GOLDEN_FILE


def load_case(directory: Path) -> Case:
    if not directory.is_dir():
        raise ConfigError(f"{directory} is not a case folder")
    if not (directory / ARTICLE_FILE).is_file():
        raise ConfigError(f"case {directory} has no {ARTICLE_FILE}")
    settings: dict[str, Any] = {}
    case_file = directory / CASE_FILE
    if case_file.is_file():
        try:
            settings = json.loads(case_file.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise ConfigError(f"{case_file} is not valid JSON: {exc}") from None
        unknown = set(settings) - CASE_SETTINGS
        if unknown:
            raise ConfigError(f"{case_file}: unknown settings {sorted(unknown)}")
    return Case(directory=directory, settings=settings)


def recorded_case_settings(settings: Settings) -> dict[str, Any]:
    """What case.json must pin for a replay to send the very requests a recording made.

    The request depends on the provider (OpenAI's API asks with ``max_completion_tokens``, any
    other server with ``max_tokens``; that is decided by ``base_url`` and ``provider_name``), the
    model and mode, sampling, the number of re-asks and the output and chunk sizes. Every one is
    written, defaults included, so that a later change of a default cannot break an old case.
    """
    return {name: _json_value(getattr(settings, name)) for name in sorted(CASE_SETTINGS)}


def _json_value(value: Any) -> Any:
    return str(value) if isinstance(value, Path) else value


def write_case(directory: Path, settings: Settings, text: str) -> None:
    """Make ``directory`` a case for what is being recorded into it: article.txt and case.json."""
    from summarizer.outputs.atomic import write_atomic

    directory.mkdir(parents=True, exist_ok=True)
    write_atomic(directory / ARTICLE_FILE, text)
    write_atomic(
        directory / CASE_FILE,
        json.dumps(recorded_case_settings(settings), indent=2, ensure_ascii=False) + "\n",
    )


def find_cases(root: Path) -> list[Case]:
    return [load_case(d) for d in sorted(root.iterdir()) if (d / ARTICLE_FILE).is_file()]


def case_settings(case: Case, base: Settings | None = None) -> Settings:
    """The settings the case was made with, on top of ``base`` (default: offline defaults)."""
    settings = base or Settings(api_key=REPLAY_KEY)
    pinned = dict(case.settings)
    # JSON writes 0 for 0.0; the request (and so its fingerprint) must carry the float.
    if isinstance(pinned.get("temperature"), int):
        pinned["temperature"] = float(pinned["temperature"])
    return replace(settings, **pinned)


def run_case(case: Case, mode: RecordMode = RecordMode.REPLAY, base: Settings | None = None) -> Summary:
    from summarizer.pipeline import Summarizer

    settings = case_settings(case, base)
    transport = open_cassette(case.directory, mode, settings)
    return Summarizer(settings, transport=transport).summarize(read_article(str(case.article_path)))


@dataclass(frozen=True)
class CaseResult:
    case: Case
    summary: Summary | None = None
    changes: tuple[str, ...] = ()
    error: str | None = None
    golden_missing: bool = False

    @property
    def passed(self) -> bool:
        return self.error is None and not self.golden_missing and not self.changes


def check_case(case: Case) -> CaseResult:
    try:
        summary = run_case(case)
    except SummarizerError as exc:
        return CaseResult(case, error=str(exc))
    except Exception as exc:  # a bug met by one case is that case's ERROR; the other cases still run
        return CaseResult(
            case, error=f"internal error replaying {case.directory}: {type(exc).__name__}: {exc}"
        )
    if not case.golden_path.is_file():
        return CaseResult(case, summary=summary, golden_missing=True)
    try:
        golden = load_golden(case.golden_path)
    except ValueError as exc:
        return CaseResult(case, summary=summary, error=f"cannot read {case.golden_path}: {exc}")
    return CaseResult(case, summary=summary, changes=tuple(diff(golden, summary)))

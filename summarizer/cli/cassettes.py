"""The --record / --replay / --replay-or-record options shared by commands that call an LLM."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from summarizer.config import Settings
from summarizer.errors import ConfigError
from summarizer.llm.recording import REPLAY_KEY, CassetteTransport, RecordMode, open_cassette


def cassette_option(
    settings: Settings, record: Path | None, replay: Path | None, replay_or_record: Path | None
) -> tuple[Settings, CassetteTransport | None]:
    chosen = [
        (mode, path)
        for mode, path in (
            (RecordMode.RECORD, record),
            (RecordMode.REPLAY, replay),
            (RecordMode.REPLAY_OR_RECORD, replay_or_record),
        )
        if path is not None
    ]
    if not chosen:
        return settings, None
    if len(chosen) > 1:
        raise ConfigError("choose one of --record, --replay and --replay-or-record")
    mode, directory = chosen[0]
    if mode is RecordMode.REPLAY:
        if not (directory / "cassette.json").is_file():
            raise ConfigError(f"--replay {directory}: there is no cassette.json in it")
        if not settings.api_key:
            settings = replace(settings, api_key=REPLAY_KEY)
    return settings, open_cassette(directory, mode, settings)

"""The errors a user can cause or meet, each with the exit code the CLI uses for it.

Every message is one line that says what is wrong and what to do about it; the
CLI prints it without a traceback (unless ``--debug``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from summarizer.schema import Usage


class SummarizerError(Exception):
    """Base class: ``str(error)`` is the one line shown to the user."""

    exit_code = 1
    # What the failed article had spent when it failed (set by the pipeline; None elsewhere).
    usage: Usage | None = None
    cost_usd: float | None = None


class InputError(SummarizerError):
    """The article cannot be used: missing, empty, binary, not UTF-8, too long."""

    exit_code = 2


class ConfigError(SummarizerError):
    """The run is not configured: no API key, bad option, unreadable prompt files."""

    exit_code = 3


class ProviderError(SummarizerError):
    """The LLM provider could not be reached or kept failing after retries."""

    exit_code = 4


class TimeBudgetError(ProviderError):
    """The article's total time budget ran out (a slow or looping model, or endless retries)."""


class BudgetError(SummarizerError):
    """The article's cost or token budget would be passed by the next call (under --strict, or before any)."""

    exit_code = 7


class NotStarted(SummarizerError):
    """The article was refused before its first request was sent: nothing was spent on it, and
    a rerun does it (a batch that stopped while the article waited for a slot)."""

    exit_code = 7


class ExtractionError(SummarizerError):
    """The model's answers could not be turned into a valid, grounded summary."""

    exit_code = 5


class OutputError(SummarizerError):
    """An output could not be written: a full disk, an I/O error, no permission (EX_IOERR)."""

    exit_code = 74


class OutputBusyError(OutputError):
    """Another run is writing the same output; try again when it ends, or wait (EX_TEMPFAIL)."""

    exit_code = 75


def os_error_line(operation: str, path: object, exc: OSError) -> str:
    """'cannot write out.jsonl: no space left on device' — the operation, the path, the OS's words."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    return f"cannot {operation} {path}: {reason[:1].lower()}{reason[1:]}"

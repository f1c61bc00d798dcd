"""Run a command body so that a user's mistake is one line on stderr and an exit code."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import NoReturn

import typer

from summarizer.errors import OutputError, SummarizerError, os_error_line

INTERNAL_ERROR = 70  # EX_SOFTWARE


def fail(message: str, code: int) -> NoReturn:
    # One line, whatever the message carries (a model's refusal may hold line breaks).
    typer.echo(f"summarizer: error: {_redact(' '.join(message.split()))}", err=True)
    raise typer.Exit(code)


def warn(message: str) -> None:
    """A problem the run goes on despite (a cache it cannot use): one line on stderr."""
    typer.echo(f"summarizer: warning: {_redact(' '.join(message.split()))}", err=True)


class _RedactSecrets:
    """Debug logs show requests; they must never show the API key."""

    def filter(self, record: object) -> bool:
        import logging

        assert isinstance(record, logging.LogRecord)
        message = record.getMessage()
        redacted = _redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def _redact(text: str) -> str:
    import os

    secret = os.environ.get("OPENAI_API_KEY")
    return text.replace(secret, "[REDACTED]") if secret else text


def _print_traceback() -> None:
    """The traceback for --debug, with the API key redacted (a server may echo it in an error)."""
    import traceback

    typer.echo(_redact(traceback.format_exc()).rstrip(), err=True)


def _quiet_libraries(debug: bool) -> None:
    """Our errors are the user's one line; libraries' own log lines would only repeat them."""
    import logging

    if debug:
        logging.basicConfig(level=logging.DEBUG, format="%(name)s: %(message)s")
        for handler in logging.getLogger().handlers:
            handler.addFilter(_RedactSecrets())
        return
    for name in ("instructor", "openai", "httpx"):
        logger = logging.getLogger(name)
        logger.addHandler(logging.NullHandler())
        logger.propagate = False


def run_guarded(body: Callable[[], int | None], *, debug: bool) -> None:
    """Call ``body``; turn known errors into one line and an exit code (tracebacks only with --debug)."""
    _quiet_libraries(debug)
    try:
        code = body()
    except (typer.Exit, typer.Abort):
        raise
    except SummarizerError as exc:
        if debug:
            _print_traceback()
        fail(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        typer.echo("summarizer: interrupted", err=True)
        raise typer.Exit(130) from None
    except OSError as exc:
        # A file fault nothing below caught: still the path and the OS's words, not a class name.
        if debug:
            _print_traceback()
        if exc.filename is None:
            fail(
                f"internal error: {type(exc).__name__}: {exc} (run with --debug for details)", INTERNAL_ERROR
            )
        fail(os_error_line("use", exc.filename, exc), OutputError.exit_code)
    except Exception as exc:
        if debug:
            _print_traceback()
        fail(f"internal error: {type(exc).__name__}: {exc} (run with --debug for details)", INTERNAL_ERROR)
    if code:
        sys.exit(code)

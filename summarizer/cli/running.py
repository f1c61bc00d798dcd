"""Run a command body so that a user's mistake is one line on stderr and an exit code."""

from __future__ import annotations

import os
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


def write_stdout(text: str) -> None:
    """``text`` on standard output, or an ``OutputError`` if it cannot all be written.

    Straight to the file descriptor when there is one: through ``typer.echo`` (and even
    ``sys.stdout``'s own buffer) a write that fails part way, as on a full disk behind
    ``> file``, can be lost without an error, and the run would exit 0 with the file cut short.
    """
    stream = sys.stdout
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):  # not a real file: a test runner's, an embedder's
        stream.write(text)
        stream.flush()
        return
    data = memoryview(text.encode(stream.encoding or "utf-8", stream.errors or "strict"))
    try:
        stream.flush()
        while data:
            data = data[os.write(fd, data) :]
    except OSError as exc:
        raise OutputError(os_error_line("write", "standard output", exc)) from None


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

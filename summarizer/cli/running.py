"""Run a command body so that a user's mistake is one line on stderr and an exit code."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import NoReturn

import typer

from summarizer.errors import SummarizerError

INTERNAL_ERROR = 70  # EX_SOFTWARE


def fail(message: str, code: int) -> NoReturn:
    typer.echo(f"summarizer: error: {message}", err=True)
    raise typer.Exit(code)


def run_guarded(body: Callable[[], int | None], *, debug: bool) -> None:
    """Call ``body``; turn known errors into one line and an exit code (tracebacks only with --debug)."""
    try:
        code = body()
    except (typer.Exit, typer.Abort):
        raise
    except SummarizerError as exc:
        if debug:
            raise
        fail(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        typer.echo("summarizer: interrupted", err=True)
        raise typer.Exit(130) from None
    except Exception as exc:
        if debug:
            raise
        fail(f"internal error: {type(exc).__name__}: {exc} (run with --debug for details)", INTERNAL_ERROR)
    if code:
        sys.exit(code)

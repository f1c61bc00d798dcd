"""The ``summarizer`` command line: a thin layer over the library.

Nothing heavy is imported at module level: ``summarizer --help`` must not pay
for openai and instructor (about a second here). Commands import what they
need when they run.
"""

from __future__ import annotations

import sys
from typing import Any

import typer
from typer.core import TyperGroup

from summarizer.cli.batch import batch_command, cache_app
from summarizer.cli.batch_api import batch_export_command, batch_import_command
from summarizer.cli.check import check_command, score_command
from summarizer.cli.slack import slack_app
from summarizer.cli.summarize import summarize_command

USAGE_ERROR = 2
# click's exception classes, found through typer's public BadParameter: typer 0.2x vendors its own
# click (typer._click), older typer uses click itself; either way these are the ones raised.
_CLICK_ERRORS = {c.__name__: c for c in typer.BadParameter.__mro__}
UsageError: type[Exception] = _CLICK_ERRORS["UsageError"]
ClickException: type[Exception] = _CLICK_ERRORS["ClickException"]


class _OneLineErrors(TyperGroup):
    """Usage errors (a mistyped option, a bad value) in the one line every other error uses.

    typer would print them in a multi-line box; here they end like any bad input: one
    ``summarizer: error: ...`` line on stderr and exit 2. This sits in the command group (not only
    in ``main``) so that the console script and typer's CliRunner behave alike.
    """

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        _calm_help(self)
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        try:
            code = super().main(*args, standalone_mode=False, **kwargs)
        except UsageError as exc:
            ctx = getattr(exc, "ctx", None)
            where = ctx.command_path if ctx is not None else "summarizer"
            message = " ".join(exc.format_message().split())  # type: ignore[attr-defined]
            typer.echo(f"summarizer: error: {message} (see '{where} --help')", err=True)
            sys.exit(USAGE_ERROR)
        except ClickException as exc:
            typer.echo(f"summarizer: error: {' '.join(exc.format_message().split())}", err=True)  # type: ignore[attr-defined]
            sys.exit(getattr(exc, "exit_code", 1))
        except typer.Abort:
            typer.echo("summarizer: interrupted", err=True)
            sys.exit(130)
        sys.exit(code if isinstance(code, int) else 0)


def _calm_help(command: Any) -> None:
    """Help without noise: no ``<bool>`` after a flag, and no ``[default: ...]`` column.

    typer labels every flag with its Python type, and shows defaults in its own bracketed style
    beside our help texts, which already say "(default X)": one style, ours.
    """
    params = list(command.params)
    help_option = command.get_help_option(command.context_class(command))
    if help_option is not None:
        params.append(help_option)
    for param in params:
        if getattr(param, "param_type_name", "") == "option":
            param.show_default = False
            if param.is_flag:
                param.metavar = ""
    for sub in getattr(command, "commands", {}).values():
        _calm_help(sub)


app = typer.Typer(
    name="summarizer",
    cls=_OneLineErrors,
    help="Turn a news article into a validated record: entities, sources and claims, each claim "
    "backed by a verbatim quote with exact offsets.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        from summarizer.schema import SCHEMA_VERSION

        typer.echo(f"summarizer {version('summarizer')} (schema {SCHEMA_VERSION})")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", help="Show the version and exit.", callback=_version, is_eager=True
    ),
) -> None:
    """Turn a news article into a validated, grounded, structured record."""


app.command("summarize")(summarize_command)
app.command("check")(check_command)
app.command("score")(score_command)
app.command("batch")(batch_command)
app.command("batch-export")(batch_export_command)
app.command("batch-import")(batch_import_command)
app.add_typer(cache_app, name="cache")
app.add_typer(slack_app, name="slack")


def main() -> None:
    app()

"""The ``summarizer`` command line: a thin layer over the library.

Nothing heavy is imported at module level: ``summarizer --help`` must not pay
for openai and instructor (about a second here). Commands import what they
need when they run.
"""

from __future__ import annotations

import typer

from summarizer.cli.archive import archive_app
from summarizer.cli.batch import batch_command, cache_app
from summarizer.cli.batch_api import batch_export_command, batch_import_command
from summarizer.cli.check import check_command, score_command
from summarizer.cli.presentation import SummarizerGroup
from summarizer.cli.slack import slack_app
from summarizer.cli.summarize import summarize_command

app = typer.Typer(
    name="summarizer",
    cls=SummarizerGroup,
    help="Turn a news article into a validated record: entities, sources and claims, each claim "
    "backed by a verbatim quote with exact offsets.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain help (see cli/presentation.py): rich's help costs more than the rest of --help.
    rich_markup_mode=None,
    # Wide enough for the commands' one-line descriptions (click still fits a narrower terminal).
    context_settings={"max_content_width": 110},
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
app.add_typer(archive_app, name="archive")
app.add_typer(cache_app, name="cache")
app.add_typer(slack_app, name="slack")


def main() -> None:
    app()

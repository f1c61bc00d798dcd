"""How the command line presents itself: plain help grouped in panels, and one-line usage errors.

typer's rich help imports rich, markdown-it and pygments (about 0.3 s, more than everything else
``summarizer --help`` does) and prints ``<bool>`` after every flag, defaults in a bracketed style of
its own beside ours, and a mistyped option as a multi-line box. Here help is click's plain text,
grouped by each option's ``rich_help_panel`` (Input/Output, Model, Recording, Budgets, Batch), and
a usage error ends like any bad input: one ``summarizer: error: ...`` line on stderr and exit 2.
"""

from __future__ import annotations

import sys
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

USAGE_ERROR = 2
INTERRUPTED = 130
OTHER_OPTIONS = "Options"
# Help panels in this order (cli/llm_options.py names them), then any other, then the rest.
PANEL_ORDER = ("Input/Output", "Model", "Recording", "Budgets", "Batch")
# click's exception classes, found through typer's public BadParameter: typer 0.2x vendors its own
# click (typer._click), older typer uses click itself; either way these are the ones raised.
_CLICK_ERRORS = {c.__name__: c for c in typer.BadParameter.__mro__}
UsageError: type[Exception] = _CLICK_ERRORS["UsageError"]
ClickException: type[Exception] = _CLICK_ERRORS["ClickException"]


def _one_line(text: str) -> str:
    return " ".join(text.split())


# A value's placeholder when an option names none: a word, not typer's "<int range>".
_PLACEHOLDERS = {"int": "N", "integer": "N", "float": "NUMBER", "str": "TEXT", "path": "PATH"}


def _placeholder(param: Any, ctx: Any) -> str:
    # typer 0.2x describes a type as "<int range>"; older typer has click's param.type.name.
    kind = getattr(getattr(param, "type", None), "name", None) or param.display_type(ctx).strip("<>")
    kind = kind.removesuffix(" range").removesuffix("eger")
    return _PLACEHOLDERS.get(kind, kind.upper())


def _argument_label(param: Any) -> str:
    label = param.metavar or param.name.upper()
    if param.nargs == -1:
        label += "..."
    return label if param.required else f"[{label}]"


class PlainCommand(TyperCommand):
    def format_options(self, ctx: Any, formatter: Any) -> None:
        format_grouped_options(self, ctx, formatter)

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        arguments = [_argument_label(p) for p in self.get_params(ctx) if p.param_type_name == "argument"]
        return [self.options_metavar, *arguments] if self.options_metavar else arguments


class PlainGroup(TyperGroup):
    def format_options(self, ctx: Any, formatter: Any) -> None:
        format_grouped_options(self, ctx, formatter)
        self.format_commands(ctx, formatter)


class SummarizerGroup(PlainGroup):
    """The root command: calm help for the whole tree, and usage errors in one line.

    This sits in the command group (not only in the console script's ``main``) so that the
    console script and typer's CliRunner behave alike.
    """

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        calm(self)
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        try:
            code = super().main(*args, standalone_mode=False, **kwargs)
        except UsageError as exc:
            ctx = getattr(exc, "ctx", None)
            where = ctx.command_path if ctx is not None else "summarizer"
            message = _one_line(exc.format_message())  # type: ignore[attr-defined]
            typer.echo(f"summarizer: error: {message} (see '{where} --help')", err=True)
            sys.exit(USAGE_ERROR)
        except ClickException as exc:
            typer.echo(f"summarizer: error: {_one_line(exc.format_message())}", err=True)  # type: ignore[attr-defined]
            sys.exit(getattr(exc, "exit_code", 1))
        except typer.Abort:
            typer.echo("summarizer: interrupted", err=True)
            sys.exit(INTERRUPTED)
        sys.exit(code if isinstance(code, int) else 0)


def calm(command: Any) -> None:
    """Plain help for ``command`` and everything under it; no ``<bool>``, no ``[default: ...]``.

    Our help texts say the default themselves, "(default X)": one style. typer builds the command
    tree afresh on each call, so this runs on each call (it touches a few dozen objects).
    """
    command.rich_markup_mode = None  # click's plain help: rich is not imported for --help
    if type(command) is TyperCommand:
        command.__class__ = PlainCommand
    elif type(command) is TyperGroup:
        command.__class__ = PlainGroup
    params = list(command.params)
    ctx = command.context_class(command)
    help_option = command.get_help_option(ctx)
    if help_option is not None:
        params.append(help_option)
    for param in params:
        if getattr(param, "param_type_name", "") == "option":
            param.show_default = False
            if param.is_flag:
                param.metavar = ""
            elif param.metavar is None:
                param.metavar = _placeholder(param, ctx)
    for sub in getattr(command, "commands", {}).values():
        calm(sub)


def format_grouped_options(command: Any, ctx: Any, formatter: Any) -> None:
    """Arguments, then one section per help panel in the order the options come, then the rest."""
    arguments: list[tuple[str, str]] = []
    panels: dict[str, list[tuple[str, str]]] = {}
    for param in command.get_params(ctx):
        record = param.get_help_record(ctx)
        if record is None:
            continue
        if param.param_type_name == "argument":
            arguments.append((_argument_label(param).strip("[]"), param.help or ""))
        else:
            panels.setdefault(getattr(param, "rich_help_panel", None) or OTHER_OPTIONS, []).append(record)
    if arguments:
        with formatter.section("Arguments"):
            formatter.write_dl(arguments)
    others = panels.pop(OTHER_OPTIONS, [])
    ordered = sorted(panels.items(), key=lambda kv: PANEL_ORDER.index(kv[0]) if kv[0] in PANEL_ORDER else 99)
    for name, rows in [*ordered, (OTHER_OPTIONS, others)]:
        if rows:
            with formatter.section(name):
                formatter.write_dl(rows)

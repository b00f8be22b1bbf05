"""The ``publicservices`` command: a thin shell over library functions.

Each command group lives in its own module and is imported only when invoked, so
``publicservices --help`` stays fast and loads no plugins.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
from collections.abc import Iterator
from typing import TextIO

import click

from publicservices.__about__ import __version__

# command name -> "module:attribute"
COMMANDS: dict[str, str] = {
    "plugins": "publicservices.cli.plugins:plugins",
    "indicators": "publicservices.cli.indicators:indicators",
    "readers": "publicservices.cli.readers:readers",
    "validate": "publicservices.cli.validate:validate",
    "publish": "publicservices.cli.publish:publish",
    "init": "publicservices.cli.init:init",
    "aggregate": "publicservices.cli.aggregate:aggregate",
}

# One-line help for each command, so listing them needs no import.
SUMMARIES: dict[str, str] = {
    "plugins": "List installed plugins, their versions, hooks and status.",
    "indicators": "List registered indicators by sector.",
    "readers": "List the readers that turn published files into the data contract.",
    "validate": "Check data files against the data contract.",
    "publish": "Build the static comparison website.",
    "init": "Write a starter site project file for a set of real data files.",
    "aggregate": "Aggregate record-level files into indicator values (Polars streaming or Spark).",
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            return None  # the command's module is not part of this build
        return getattr(module, attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, SUMMARIES.get(name, "")) for name in self.list_commands(ctx) if _available(name)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


def _available(name: str) -> bool:
    module_name = COMMANDS[name].split(":")[0]
    return importlib.util.find_spec(module_name) is not None


@contextlib.contextmanager
def _plugin_warnings_on_stderr() -> Iterator[None]:
    """Show plugin warnings (a disabled or clashing plugin ...) as one plain line each on stderr."""
    import warnings

    from publicservices.plugins import PluginWarning

    with warnings.catch_warnings():  # restores warnings.showwarning when the command ends
        previous = warnings.showwarning

        def show(
            message: Warning | str,
            category: type[Warning],
            filename: str,
            lineno: int,
            file: TextIO | None = None,
            line: str | None = None,
        ) -> None:
            if issubclass(category, PluginWarning):
                click.secho(f"Warning: {message}", fg="yellow", err=True)
            else:
                previous(message, category, filename, lineno, file, line)

        warnings.showwarning = show
        yield


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="publicservices")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Compare how well public services perform across places.

    \b
    Examples:
      publicservices indicators --sector health
      publicservices validate values.csv
      publicservices publish --out site/
    """
    ctx.with_resource(_plugin_warnings_on_stderr())


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="publicservices")

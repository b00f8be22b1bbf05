"""``publicservices plugins``: what is installed, and whether it loaded."""

from __future__ import annotations

import json

import click

from publicservices.cli._output import table


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def plugins(as_json: bool) -> None:
    """List installed plugins, their versions, hooks and status.

    A plugin that fails to load is listed as broken with its error, rather than
    stopping the command. PUBLICSERVICES_LOAD_PLUGINS limits which plugins load.

    \b
    Example:
      publicservices plugins
      PUBLICSERVICES_LOAD_PLUGINS=publicservices-health publicservices plugins --json
    """
    import warnings

    from publicservices.plugins import PluginWarning, get_registry

    registry = get_registry()
    with warnings.catch_warnings():
        # The listing below shows every problem; the same warnings would only repeat it.
        warnings.simplefilter("ignore", PluginWarning)
        infos = registry.plugins()
        messages = registry.messages()
    if as_json:  # every problem is in the JSON (error, conflicts); stdout stays parseable
        click.echo(json.dumps([i.to_dict() for i in infos], indent=2))
        return
    rows = [
        (
            i.name,
            i.distribution or ("built-in" if i.builtin else ""),
            i.version or "",
            ", ".join(h.removeprefix("publicservices_") for h in i.hooks),
            f"{i.load_seconds:.2f} s",
            i.status,
        )
        for i in infos
    ]
    click.echo(table(["name", "distribution", "version", "hooks", "load time", "status"], rows))
    for message in messages:
        click.secho(f"\n{message}", fg="red", err=True)
    broken = sum(1 for i in infos if i.error)
    conflict = sum(1 for i in infos if i.conflicts and not i.error)
    click.echo(f"\n{len(infos)} plugin(s), {broken} broken" + (f", {conflict} with conflicts." if conflict else "."))

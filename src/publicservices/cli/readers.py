"""``publicservices readers``: the file layouts that can be read."""

from __future__ import annotations

import click

from publicservices.cli._output import fail, table


@click.command()
def readers() -> None:
    """List the readers that turn published files into the data contract.

    \b
    Example:
      publicservices readers
      publicservices validate --format ons-els claimant-count.csv
    """
    from publicservices.errors import PublicServicesError
    from publicservices.reading import readers as registered

    try:
        found = registered()
    except PublicServicesError as exc:
        fail(str(exc))
    rows = [(r.name, ", ".join(r.extensions), r.description) for r in sorted(found.values(), key=lambda r: r.name)]
    click.echo(table(["name", "files", "description"], rows))

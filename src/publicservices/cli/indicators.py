"""``publicservices indicators``: the registered indicators."""

from __future__ import annotations

import json

import click

from publicservices.cli._output import fail, table


@click.command()
@click.option("--sector", help="Only this sector (e.g. health).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON definitions instead of a table.")
def indicators(sector: str | None, as_json: bool) -> None:
    """List registered indicators by sector.

    \b
    Example:
      publicservices indicators --sector schools
      publicservices indicators --json > indicators.json
    """
    from publicservices.errors import PublicServicesError
    from publicservices.plugins import registered_indicators

    try:
        found = registered_indicators()
    except PublicServicesError as exc:
        fail(str(exc))
    if sector is not None:
        sectors = sorted({i.sector for i in found.values()})
        if sector not in sectors:
            fail(f"no sector {sector!r}; registered sectors: {', '.join(sectors) or 'none'}.")
        found = {k: v for k, v in found.items() if v.sector == sector}
    ordered = sorted(found.values(), key=lambda i: (i.sector, i.id))
    if as_json:
        click.echo(json.dumps([i.to_dict() for i in ordered], indent=2))
        return
    rows = [
        (i.sector, i.id, i.title, i.measure, i.unit, i.polarity.replace("_", " "), "" if i.floor is None else f"{i.floor:g}")
        for i in ordered
    ]
    click.echo(table(["sector", "id", "title", "measure", "unit", "polarity", "floor"], rows))
    click.echo(f"\n{len(ordered)} indicator(s) in {len({i.sector for i in ordered})} sector(s).")

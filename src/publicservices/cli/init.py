"""``publicservices init``: write a starter site project file from a folder of real files."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--out",
    "-o",
    default="publicservices.toml",
    show_default=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The project file to write.",
)
@click.option("--force", is_flag=True, help="Overwrite --out if it exists.")
def init(paths: tuple[Path, ...], out: Path, force: bool) -> None:
    """Write a starter project file for PATHS: a site from several real files.

    Each file is read to find its reader, the indicators it holds (with the direction
    that could or could not be determined) and the sets of areas it compares; boundaries,
    spend and area-context files are recognised too. Edit the file, then run
    `publicservices publish` on it.

    \b
    Example:
      publicservices init data/*.csv data/uk.topojson
      publicservices publish publicservices.toml --out site/
    """
    from publicservices.errors import PublicServicesError
    from publicservices.project import starter_project

    if out.exists() and not force:
        raise click.UsageError(f"{out} exists; pass --force to overwrite it, or choose another --out.")
    try:
        text, summary = starter_project(paths, out)
    except PublicServicesError as exc:
        click.secho(f"init failed: {type(exc).__name__}", fg="red", bold=True, err=True)
        click.echo(str(exc), err=True)
        raise SystemExit(1) from None
    out.write_text(text + "\n", encoding="utf-8")
    for line in summary:
        click.echo(f"  {line}")
    click.echo(
        f"Wrote {out} for {len(paths)} file(s). Edit it (directions, titles, spend lines), then run:\n"
        f"  publicservices publish {out}"
    )

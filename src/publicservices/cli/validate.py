"""``publicservices validate``: check files against the data contract."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--format", "format_", metavar="NAME", help="Reader to use (see `publicservices readers`); default: sniff the header.")
@click.option(
    "--kind",
    type=click.Choice(["values", "areas", "spend"]),
    default="values",
    show_default=True,
    help="Which contract frame the files hold (areas and spend files are checked directly, without a reader).",
)
def validate(paths: tuple[Path, ...], format_: str | None, kind: str) -> None:
    """Check data files against the data contract.

    Each file is read through a reader (values files) and validated; the load report
    says how many cells are missing and why. Exit status 0 when every file is valid,
    1 otherwise, with the reason for each failing file.

    \b
    Example:
      publicservices validate values.csv
      publicservices validate --format ons-els claimant-count.csv
      publicservices validate --kind areas areas.csv
    """
    from publicservices.errors import PublicServicesError

    failed = 0
    for path in paths:
        try:
            summary = _check(path, format_, kind)
        except PublicServicesError as exc:
            failed += 1
            click.secho(f"✗ {path}: {type(exc).__name__}", fg="red", bold=True)
            click.echo("  " + str(exc).replace("\n", "\n  "))
        else:
            click.secho(f"✓ {path}", fg="green", bold=True)
            click.echo("  " + summary.replace("\n", "\n  "))
    click.echo(f"\n{len(paths) - failed} of {len(paths)} file(s) valid.")
    raise SystemExit(1 if failed else 0)


def _check(path: Path, format_: str | None, kind: str) -> str:
    if kind == "areas":
        from publicservices.frame import validate_areas

        frame = validate_areas(path)
        return f"{frame.height:,} areas."
    if kind == "spend":
        from publicservices.frame import validate_spend

        frame = validate_spend(path)
        return f"{frame.height:,} spend rows."
    from publicservices.reading import read

    result = read(path, format=format_)
    dataset = result.to_dataset()
    return f"{result.report.summary()}\n{dataset!r}"

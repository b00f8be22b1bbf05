"""``publicservices validate``: check files against the data contract."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--format", "format_", metavar="NAME", help="Reader to use (see `publicservices readers`); default: sniff the header."
)
@click.option(
    "--sheet",
    metavar="NAME",
    help="The sheet of each workbook (.xlsx, .xls, .ods) to read; default: the one sheet that holds a table.",
)
@click.option(
    "--kind",
    type=click.Choice(["values", "areas", "spend"]),
    default="values",
    show_default=True,
    help="Which contract frame the files hold (areas and spend files are checked directly, without a reader).",
)
@click.option(
    "--map",
    "mapping",
    multiple=True,
    metavar="COLUMN=CONTRACT",
    help="Map a file column onto a contract column (repeatable), e.g. --map 'Area Code=area_code'.",
)
@click.option(
    "--set",
    "constants",
    multiple=True,
    metavar="CONTRACT=VALUE",
    help="Set a contract column for every row (repeatable), e.g. --set indicator_id=welfare.claimant_rate.",
)
def validate(
    paths: tuple[Path, ...],
    format_: str | None,
    sheet: str | None,
    kind: str,
    mapping: tuple[str, ...],
    constants: tuple[str, ...],
) -> None:
    """Check data files against the data contract.

    Each file is read through a reader (values files) and validated; the load report
    says how many cells are missing and why. Exit status 0 when every file is valid,
    1 otherwise, with the reason for each failing file.

    \b
    Example:
      publicservices validate values.csv
      publicservices validate --format ons-els claimant-count.csv
      publicservices validate --kind areas areas.csv
      publicservices validate --sheet Table_2 release.xlsx
      publicservices validate --map "Area Code=area_code" --map "Year=period" \\
          --set indicator_id=welfare.claimant_rate claimants.csv
    """
    from publicservices.errors import PublicServicesError

    try:
        pairs = _pairs(mapping, "--map"), _pairs(constants, "--set")
    except click.BadParameter as exc:
        raise click.UsageError(str(exc)) from None
    targets: dict[str, list[str]] = {}
    for source, target in pairs[0].items():
        targets.setdefault(target, []).append(source)
    for target, sources in targets.items():
        if len(sources) > 1:
            raise click.UsageError(
                f"--map: {', '.join(map(repr, sources))} all map onto {target!r}; map one file column onto each."
            )
    if sheet and kind != "values":
        raise click.UsageError(f"--sheet reads a sheet of a values workbook; --kind {kind} files are read as CSV.")
    if format_ and (mapping or constants):
        raise click.UsageError("--format cannot be combined with --map or --set (those read the file as a plain CSV).")

    failed = 0
    for path in paths:
        try:
            summary = _check(path, format_, kind, *pairs, sheet=sheet)
        except PublicServicesError as exc:
            failed += 1
            click.secho(f"✗ {path}: {type(exc).__name__}", fg="red", bold=True)
            click.echo("  " + str(exc).replace("\n", "\n  "))
        else:
            click.secho(f"✓ {path}", fg="green", bold=True)
            click.echo("  " + summary.replace("\n", "\n  "))
    click.echo(f"\n{len(paths) - failed} of {len(paths)} file(s) valid.")
    raise SystemExit(1 if failed else 0)


def _pairs(items: tuple[str, ...], option: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{option} {item!r} must look like NAME=VALUE")
        if key in out and out[key] != value:
            raise click.BadParameter(f"{option} {key!r} is given twice ({out[key]!r} and {value!r})")
        out[key] = value
    return out


def _check(
    path: Path, format_: str | None, kind: str, mapping: dict[str, str], constants: dict[str, str], *, sheet: str | None = None
) -> str:
    from publicservices.csv_files import read_notes
    from publicservices.errors import DataError

    if kind in ("areas", "spend"):
        from publicservices.frame import validate_areas, validate_spend

        with read_notes() as notes:
            frame = validate_areas(path) if kind == "areas" else validate_spend(path)
        if not frame.height:
            raise DataError(
                f"{path.name}: the file has a header but no data rows.\nFix: check it is the right file, and export it again."
            )
        return "\n".join([f"{frame.height:,} {'areas' if kind == 'areas' else 'spend rows'}.", *notes])
    from publicservices.reading import read, read_csv

    if mapping or constants:
        result = read_csv(path, mapping=mapping, constants=constants, sheet=sheet)
    else:
        result = read(path, format=format_, sheet=sheet)
    held = [f for f in (result.values, result.areas, result.spend) if f is not None and f.height]
    if not result.report.rows_kept and not held:  # a boundary file has areas and no values: that is fine
        # Nothing to publish is never "valid": a file read as empty has usually been read wrongly.
        raise DataError(
            f"{result.report.summary()}\nNo rows were kept, so there is nothing to check.\n"
            "Fix: check it is the right file and reader (--format), and that its rows are not all set aside."
        )
    dataset = result.to_dataset()
    return f"{result.report.summary()}\n{dataset!r}"

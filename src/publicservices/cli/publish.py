"""``publicservices publish``: build the static comparison website."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from publicservices.site.progress import Progress, TerminalProgress

if TYPE_CHECKING:
    from publicservices.project import Project


class _Bars(TerminalProgress):
    """The stages on stderr: steps done, time elapsed and, once it can be told, the time left
    (:class:`~publicservices.site.progress.TimeLeft`: no average over unequal steps); notes on
    their own lines."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)


def _benchmark(value: str) -> str | float:
    try:
        return float(value)
    except ValueError:
        return value


@click.command()
@click.argument("source", required=False, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--out",
    "-o",
    default="site",
    show_default=True,
    type=click.Path(path_type=Path),
    help="Folder for the site; only files an earlier publish wrote are replaced, and only when the build succeeds.",
)
@click.option("--title", help="Site title (default: the dataset's title).")
@click.option("--sector", "sectors", multiple=True, metavar="NAME", help="Publish only this sector (repeatable).")
@click.option("--indicator", "indicators", multiple=True, metavar="ID", help="Publish only this indicator (repeatable).")
@click.option(
    "--area-type",
    "area_types",
    multiple=True,
    metavar="TYPE",
    help="Compare only areas of this area_type (repeatable); default: areas that are neither national nor regional totals.",
)
@click.option(
    "--comparable-set",
    "comparable_sets",
    multiple=True,
    metavar="SET",
    help="Compare only within this set of areas (repeatable): upper_tier, lower_tier, police_force_area, "
    "icb, sub_icb ...; default: one comparison per set present.",
)
@click.option(
    "--benchmark",
    default="national",
    show_default=True,
    metavar="WHAT",
    help="Compare with 'national', 'region', an area code, or a number.",
)
@click.option(
    "--boundaries",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="TopoJSON or GeoJSON file of area boundaries, for maps (copied into the site once).",
)
@click.option("--layer", metavar="NAME", help="TopoJSON layer (object) holding the areas, e.g. utla.")
@click.option(
    "--suppress-threshold",
    default=5,
    show_default=True,
    type=click.IntRange(min=0),
    help="Suppress counts below this (with secondary suppression); 0 turns suppression off.",
)
@click.option(
    "--overdispersion",
    type=click.Choice(["auto", "none", "additive", "multiplicative"]),
    default="auto",
    show_default=True,
    help="Funnel limits when areas vary more than chance explains: auto tests it and widens the limits "
    "(additive random effects) only when it is significant.",
)
@click.option("--base-url", metavar="URL", help="Where the site will be served, e.g. https://example.org/compare/.")
@click.option(
    "--format", "format_", metavar="NAME", help="Reader for SOURCE (see `publicservices readers`); default: sniff the header."
)
@click.option(
    "--sheet",
    metavar="NAME",
    help="The sheet of a workbook SOURCE (.xlsx, .xls, .ods) to read; default: the one sheet that holds a table.",
)
@click.option(
    "--map",
    "mapping",
    multiple=True,
    metavar="COLUMN=CONTRACT",
    help="Map a column of SOURCE onto a contract column (repeatable), e.g. --map 'Area Code=area_code'.",
)
@click.option(
    "--set",
    "constants",
    multiple=True,
    metavar="CONTRACT=VALUE",
    help="Set a contract column for every row of SOURCE (repeatable), e.g. --set indicator_id=welfare.claimant_rate.",
)
@click.option(
    "--areas",
    "context",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A file of area context (population, deprivation), e.g. the IMD summary (repeatable).",
)
@click.option(
    "--spend",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A spend file (e.g. MHCLG revenue outturn), for value for money.",
)
@click.option(
    "--international",
    "international",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="An international comparator table (country, year, value, standard error), e.g. the OECD PISA means: "
    "the plugins' international comparators that match it get an International comparison page (repeatable).",
)
@click.option("--generate-only", is_flag=True, help="Write mkdocs.yml and the docs tree into --out without building.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars; print only the summary.")
def publish(
    source: Path | None,
    out: Path,
    title: str | None,
    sectors: tuple[str, ...],
    indicators: tuple[str, ...],
    area_types: tuple[str, ...],
    comparable_sets: tuple[str, ...],
    benchmark: str,
    overdispersion: str,
    boundaries: Path | None,
    layer: str | None,
    suppress_threshold: int,
    base_url: str | None,
    format_: str | None,
    sheet: str | None,
    mapping: tuple[str, ...],
    constants: tuple[str, ...],
    context: tuple[Path, ...],
    spend: Path | None,
    international: tuple[Path, ...],
    generate_only: bool,
    quiet: bool,
) -> None:
    """Build the static comparison website from SOURCE.

    SOURCE is a site project file (publicservices.toml, written by `publicservices init`),
    a dataset folder (written by Dataset.to_dir), a data file that a reader recognises
    (see `publicservices readers`), or nothing for the synthetic demo nation. Flags mirror
    the project file's keys and override them.
    The site is built in a staging folder next to --out and swapped in only when the build
    succeeds, so a failed build leaves the previous site in place.

    \b
    Examples:
      publicservices publish --out site/
      publicservices publish data/ --title "Our services" --sector health
      publicservices publish cvd.csv --boundaries uk.topojson --layer utla
      publicservices publish release.xlsx --sheet Table_2
      publicservices publish data/ --international intl_pisa_2018_2022_oecd.csv
      publicservices publish publicservices.toml     # a project file (see `publicservices init`)
      publicservices publish --generate-only --out build/
    """
    from publicservices.errors import PublicServicesError
    from publicservices.site import publish as publish_site

    if boundaries is None and layer:
        raise click.UsageError("--layer needs --boundaries.")
    try:
        from publicservices._extras import require

        # Before reading anything: a base install (no [site] extra) cannot build a site.
        require("publicservices publish", ["vl_convert"] if generate_only else ["mkdocs", "material", "vl_convert"])
        data: Path | Project | None = source
        if format_ or sheet or mapping or constants or context or spend:
            from publicservices.cli.validate import _pairs
            from publicservices.project import project_from_options

            if source is None or source.suffix.lower() == ".toml":
                raise click.UsageError(
                    "--format, --sheet, --map, --set, --areas and --spend apply to one data file; "
                    "a project file gives them as keys (sources, areas, spend)."
                )
            try:
                pairs = _pairs(mapping, "--map"), _pairs(constants, "--set")
            except click.BadParameter as exc:
                raise click.UsageError(str(exc)) from None
            data = project_from_options(
                source, format=format_, mapping=pairs[0], constants=pairs[1], areas=context, spend=spend, sheet=sheet
            )
        result = publish_site(
            data,
            out,
            title=title,
            sectors=sectors,
            indicators=indicators,
            benchmark=_benchmark(benchmark),
            boundaries=boundaries,
            layer=layer,
            suppress_threshold=suppress_threshold,
            base_url=base_url,
            generate_only=generate_only,
            progress=Progress() if quiet else _Bars(),
            area_types=area_types,
            comparable_sets=comparable_sets,
            overdispersion=overdispersion,
            international=list(international) or None,
        )
    except PublicServicesError as exc:
        click.secho(f"publish failed: {type(exc).__name__}", fg="red", bold=True, err=True)
        from publicservices.site.pipeline import _printable

        click.echo(_printable(str(exc)), err=True)  # data-borne text never reaches the terminal as escape codes
        raise SystemExit(1) from None
    click.echo(result.summary())

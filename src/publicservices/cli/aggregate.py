"""``publicservices aggregate``: records -> a values file, with a report of every record not counted."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click


def _sources(records: tuple[str, ...]) -> dict[str, str] | str:
    """``SOURCE=PATH`` pairs as a mapping; one bare path is returned as is (its indicators name the source)."""
    pairs: dict[str, str] = {}
    bare = [r for r in records if "=" not in r]
    if bare and (len(records) > 1):
        raise click.UsageError(
            f"{bare[0]!r}: with several record sources, name each one as SOURCE=PATH, e.g. health.deaths=deaths/*.parquet."
        )
    if bare:
        return bare[0]
    for item in records:
        name, _, path = item.partition("=")
        if not name or not path:
            raise click.UsageError(f"{item!r} must look like SOURCE=PATH.")
        if name in pairs:
            raise click.UsageError(f"source {name!r} is given twice.")
        pairs[name] = path
    return pairs


def _say(message: str, started: float) -> None:
    click.echo(f"[{time.perf_counter() - started:6.1f}s] {message}", err=True)


@click.command()
@click.argument("records", nargs=-1, required=True, metavar="[SOURCE=]PATH...")
@click.option(
    "--indicators",
    metavar="ID,...",
    help="Indicators to build (comma-separated); default: every registered indicator built from the sources given.",
)
@click.option("--population", type=click.Path(exists=True, path_type=Path), help="Population file (for rates and DSRs).")
@click.option(
    "--areas",
    type=click.Path(exists=True, path_type=Path),
    help="Areas file with area_code and parent_code: unknown codes are reported, and values roll up to every level.",
)
@click.option("--period", "periods", multiple=True, metavar="LABEL", help="Keep only this period (repeatable), e.g. 2023/24.")
@click.option(
    "--out",
    "-o",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Values file to write (.parquet or .csv); the excluded-rows report goes beside it (NAME.excluded.csv).",
)
@click.option(
    "--engine",
    type=click.Choice(["polars", "spark"]),
    default="polars",
    show_default=True,
    help="polars: streaming on this machine; spark: the SparkSession spark-submit or the cluster provides.",
)
def aggregate(
    records: tuple[str, ...],
    indicators: str | None,
    population: Path | None,
    areas: Path | None,
    periods: tuple[str, ...],
    out: Path,
    engine: str,
) -> None:
    """Aggregate record-level files into a values file of indicators.

    Each indicator's records definition (numerator, denominator, age bands, exclusions) is
    compiled into one query per source, run on Polars streaming (bounded memory) or Spark.
    Every record not counted is counted by reason in NAME.excluded.csv beside the values.

    \b
    Example:
      publicservices aggregate health.ae_attendances='records/ae/**/*.parquet' \\
          --indicators health.ae_4hr --areas areas.csv --out values.parquet
      spark-submit --master yarn job.py aggregate health.deaths=hdfs:///deaths \\
          --population pop.parquet --engine spark --out cvd.parquet
      (job.py: from publicservices.cli import main; main())
    """
    from publicservices.cli._output import fail
    from publicservices.errors import PublicServicesError

    if out.suffix.lower() not in (".parquet", ".csv"):
        raise click.UsageError(f"--out {out}: write a .parquet or .csv file.")
    sources = _sources(records)
    started = time.perf_counter()
    try:
        result = _run(sources, indicators, population, areas, periods, engine, started)
    except PublicServicesError as exc:
        fail(f"{type(exc).__name__}: {exc}")
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".csv":
        result.values.write_csv(out)
    else:
        result.values.write_parquet(out)
    report = out.with_name(out.stem + ".excluded.csv")
    result.excluded.write_csv(report)
    _say(f"wrote {out} ({result.values.height:,} rows) and {report.name}", started)
    click.echo(result.summary())


def _run(
    sources: dict[str, str] | str,
    indicators: str | None,
    population: Path | None,
    areas: Path | None,
    periods: tuple[str, ...],
    engine: str,
    started: float,
) -> Any:
    import publicservices as ps

    spark = None
    if engine == "spark":
        try:
            from pyspark.sql import SparkSession
        except ImportError:
            from publicservices.errors import MissingDependency

            raise MissingDependency("the Spark engine", ["pyspark"], extra="spark") from None
        _say("starting Spark (the session spark-submit or the cluster configures)", started)
        spark = SparkSession.builder.appName("publicservices aggregate").getOrCreate()
    names = ", ".join(sources) if isinstance(sources, dict) else sources
    _say(f"checking definitions against {names}; aggregating on {engine}", started)
    result = ps.aggregate(
        sources,
        indicators.split(",") if indicators else None,
        population=population,
        areas=areas,
        periods=list(periods) or None,
        engine=engine,
        spark=spark,
    )
    _say(f"aggregated {sum(result.rows_read.values()):,} records", started)
    return result

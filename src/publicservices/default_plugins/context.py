"""Readers for context files that are not indicator values: deprivation summaries and council spend.

* ``imd-lad-summary``: MHCLG *English indices of deprivation* local authority summaries
  (one row per area and domain: average rank, average score, share of neighbourhoods in the
  most deprived tenth ...). Values become score indicators ``context.imd<year>_<domain>``
  (``value`` = average score, the other summaries kept as columns); the areas frame gets
  ``deprivation`` = the overall IMD average score.
* ``mhclg-revenue-outturn``: MHCLG *Revenue Outturn Summary (RS)* net current expenditure by
  authority and service, in thousands of pounds, becomes a spend frame in pounds. A service
  line that a registered sector declares (``Sector.spend_services``, e.g. the schools
  plugin's ``Education services``) is renamed to the sector's id; the rest keep a slug of
  their name, and ``service_name`` keeps the published wording. Authorities without an ONS
  code (police authorities abolished in 2012) keep their MHCLG E-code as ``area_code``.

Example:
    >>> _service_slug("Housing services (GFRA only)")
    'housing_services_gfra_only'
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from publicservices.errors import ReaderError
from publicservices.hookspecs import hookimpl
from publicservices.published_numbers import number_from_text, unread_reason
from publicservices.reading import LoadReport, Reader, ReadResult, missing_counts

__all__ = ["read_imd_summary", "read_revenue_outturn", "service_sectors"]

_IMD_COLUMNS = ("area_code", "index_domain", "average_score")
_IMD_EXTRA = (
    "average_rank",
    "rank_average_rank",
    "rank_average_score",
    "proportion_bottom_decile",
    "rank_proportion_bottom_decile",
)
_RS_COLUMNS = ("financial_year", "service", "net_current_expenditure_gbp_thousand")
_LA_CLASS = {
    "UA": "Unitary authority",
    "MD": "Metropolitan district",
    "L": "London borough",
    "SC": "Shire county",
    "O": "Other authority (police, fire, GLA or combined authority)",
}


def service_sectors() -> dict[str, str]:
    """Spend service line -> sector id, as the registered sectors declare them (``Sector.spend_services``)."""
    from publicservices.plugins import get_registry

    return get_registry().spend_services()


def _service_slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.casefold()).strip("_")


def _require(frame: Any, columns: Sequence[str], path: Path, what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ReaderError(
            f"{path.name}: not {what}: column(s) {missing} are missing.\nColumns present: {', '.join(frame.columns)}.\n"
            "Fix: pass the right file, or map its columns with publicservices.read_csv(path, mapping=...)."
        )


def read_imd_summary(path: str | Path) -> ReadResult:
    """Read an English indices of deprivation local authority summary (long: one row per area x domain).

    Reference: MHCLG (2019), *The English Indices of Deprivation 2019: technical report*,
    section on local authority district summaries. Higher scores are more deprived; rank 1
    is the most deprived.
    """
    import polars as pl

    from publicservices.default_plugins.geography import area_type_expr
    from publicservices.frame import to_polars, validate_areas, validate_values
    from publicservices.indicators import Indicator

    path = Path(path)
    raw = to_polars(path, name=path.name)
    _require(raw, _IMD_COLUMNS, path, "an indices of deprivation summary")
    frame = raw.with_columns(
        pl.lit(None, dtype=pl.String).alias(c) for c in (*_IMD_EXTRA, "year", "area_name") if c not in raw.columns
    )
    year = pl.col("year").cast(pl.String).str.strip_chars().fill_null("2019")
    slug = pl.col("index_domain").str.to_lowercase().str.replace_all(r"[^a-z0-9]+", "_").str.strip_chars("_")
    slug = pl.when(slug == "index_of_multiple_deprivation").then(pl.lit("imd")).otherwise(slug)
    values = frame.with_columns(
        indicator_id=pl.format("context.imd{}_{}", year, slug),
        period=year,
        period_start=pl.date(year.cast(pl.Int32, strict=False), 1, 1),
        value=number_from_text(pl.col("average_score")),
        **{c: number_from_text(pl.col(c)) for c in _IMD_EXTRA},
    )
    report = LoadReport(source=path.name, reader="imd-lad-summary", rows_read=raw.height)
    missing = values.filter(pl.col("value").is_null()).height
    if missing:
        report.missing["average score empty in the source file"] = missing
    indicators = {}
    for ind_id, domain, yr in (
        values.select("indicator_id", "index_domain", "period").unique("indicator_id", maintain_order=True).iter_rows()
    ):
        indicators[ind_id] = Indicator(
            id=ind_id,
            title=f"{domain} (IMD {yr}): average score",
            sector="context",
            measure="score",
            multiplier=1,
            polarity="no_judgement",
            unit="average score",
            role="context",
            source=f"MHCLG, English indices of deprivation {yr}: local authority district summaries ({path.name})",
            definition=f"Population-weighted average of the {domain} scores of the area's neighbourhoods (LSOAs); "
            "higher means more deprived. Other summaries (average rank, share in the most deprived tenth) are kept as columns.",
        )
    values = values.with_columns(
        missing_reason=pl.when(pl.col("value").is_null()).then(pl.lit("average score empty in the source file"))
    )
    values = validate_values(
        values.select(
            "indicator_id", "area_code", "period", "period_start", "value", "missing_reason", *_IMD_EXTRA, "index_domain"
        )
    )
    report.rows_kept = values.height
    areas = (
        frame.group_by("area_code", maintain_order=True)
        .agg(
            pl.col("area_name").drop_nulls().first(),
            pl.col("average_score")
            .filter(pl.col("index_domain") == "Index of Multiple Deprivation")
            .first()
            .cast(pl.Float64, strict=False)
            .alias("deprivation"),
            pl.col("rank_average_score")
            .filter(pl.col("index_domain") == "Index of Multiple Deprivation")
            .first()
            .cast(pl.Float64, strict=False)
            .alias("imd_rank_average_score"),
        )
        .with_columns(area_type_expr(pl.col("area_code")))
        .sort("area_code")
    )
    report.notes.append(
        f"{areas.height:,} areas; 'deprivation' in the areas frame is the overall IMD average score (higher = more deprived)."
    )
    return ReadResult(values=values, report=report, areas=validate_areas(areas), indicators=indicators)


def read_revenue_outturn(path: str | Path) -> ReadResult:
    """Read MHCLG Revenue Outturn Summary (RS) net current expenditure (long layout) into a spend frame in pounds.

    Reference: MHCLG, *Local authority revenue expenditure and financing: Revenue Outturn
    Summary (RS)*, net current expenditure by service, £ thousand.
    """
    import polars as pl

    from publicservices.default_plugins.geography import area_type_expr
    from publicservices.frame import VALUES, to_polars, validate_areas, validate_spend

    path = Path(path)
    raw = to_polars(path, name=path.name)
    _require(raw, _RS_COLUMNS, path, "a Revenue Outturn Summary file")
    sectors = service_sectors()
    frame = raw.with_columns(
        pl.lit(None, dtype=pl.String).alias(c) for c in ("area_code", "e_code", "area_name", "la_class") if c not in raw.columns
    )
    report = LoadReport(source=path.name, reader="mhclg-revenue-outturn", rows_read=raw.height)
    no_code = frame.filter(pl.col("area_code").is_null() & pl.col("e_code").is_null()).height
    if no_code:
        report.set_aside["no ONS code and no MHCLG E-code"] = no_code
    frame = frame.filter(pl.col("area_code").is_not_null() | pl.col("e_code").is_not_null())
    by_e_code = frame.filter(pl.col("area_code").is_null()).height
    if by_e_code:
        authorities = frame.filter(pl.col("area_code").is_null()).get_column("e_code").n_unique()
        report.notes.append(
            f"{by_e_code:,} rows ({authorities} authorities, such as police authorities abolished in 2012) have no ONS code; "
            "their MHCLG E-code is used as area_code."
        )
    year = pl.col("financial_year").str.strip_chars()
    text = pl.col("net_current_expenditure_gbp_thousand").str.strip_chars()
    amount = number_from_text(text)
    spend = frame.with_columns(
        area_code=pl.coalesce("area_code", "e_code"),
        period=pl.when(year.str.contains(r"^\d{4}-\d{2}$")).then(year.str.replace("-", "/")).otherwise(year),
        service=pl.col("service")
        .replace_strict(sectors, default=None, return_dtype=pl.String)
        .fill_null(pl.col("service").str.to_lowercase().str.replace_all(r"[^a-z0-9]+", "_").str.strip_chars("_")),
        spend=amount * 1000.0,
        service_name=pl.col("service"),
        missing_reason=pl.when(amount.is_null()).then(
            pl.when(pl.col("value_note").is_not_null() if "value_note" in frame.columns else pl.lit(False))
            .then(pl.format("not a number in the source ({})", pl.col("value_note")))
            .when(text.is_not_null())
            .then(unread_reason(text))
            .otherwise(pl.lit("empty in the source file"))
        ),
    ).select(
        "area_code",
        "period",
        "service",
        "spend",
        "service_name",
        "missing_reason",
        pl.col("e_code").alias("mhclg_e_code"),
        "la_class",
    )
    spend = validate_spend(spend)
    report.rows_kept = spend.height
    report.missing = missing_counts(spend)
    lines = sorted(set(frame.get_column("service").drop_nulls().to_list()) & set(sectors))
    renamed = (
        f"service lines renamed to the sectors that declare them: {', '.join(f'{line} -> {sectors[line]}' for line in lines)}"
        if lines
        else "no service line is declared by a registered sector, so each keeps a slug of its name"
    )
    report.notes.append(f"Spend converted from £ thousand to pounds; {renamed}.")
    areas = (
        frame.with_columns(area_code=pl.coalesce("area_code", "e_code"))
        .sort("financial_year", descending=True)
        .group_by("area_code", maintain_order=True)
        .agg(pl.col("area_name").first(), pl.col("la_class").first(), pl.col("e_code").first().alias("mhclg_e_code"))
        .with_columns(
            area_type_expr(pl.col("area_code")).fill_null(
                pl.col("la_class").replace_strict(_LA_CLASS, default=None, return_dtype=pl.String)
            )
        )
        .select("area_code", "area_name", "area_type", "la_class", "mhclg_e_code")
        .sort("area_code")
    )
    return ReadResult(values=VALUES.empty(), report=report, areas=validate_areas(areas), spend=spend)


def _sniff_imd(columns: Sequence[str]) -> bool:
    return set(_IMD_COLUMNS) <= set(columns)


def _sniff_rs(columns: Sequence[str]) -> bool:
    return set(_RS_COLUMNS) <= set(columns)


@hookimpl
def publicservices_readers(register):
    register(
        Reader(
            name="imd-lad-summary",
            description="MHCLG English indices of deprivation: local authority summaries (area x domain)",
            sniff=_sniff_imd,
            read=lambda path, **options: read_imd_summary(path, **options),
        )
    )
    register(
        Reader(
            name="mhclg-revenue-outturn",
            description="MHCLG Revenue Outturn Summary (RS): net current expenditure by authority and service, as spend in pounds",
            sniff=_sniff_rs,
            read=lambda path, **options: read_revenue_outturn(path, **options),
        )
    )

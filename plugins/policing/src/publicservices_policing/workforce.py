"""Reader for Home Office *Police workforce, England and Wales* officer numbers in long form.

Layout (one row per force or region and date)::

    force_or_region, row_type, pfa_code, as_at, officer_fte[, source_file]

``row_type`` is ``force``, ``region`` or ``total_or_other``. Forces keep their police
force area code (``pfa_code``: E23/W15); English regions get their E12 code and Wales
W92000004 by name; "Total 43 forces" is England and Wales (K04000001). Other rows (British
Transport Police, central service secondments, grand totals) are not areas: they are set
aside and counted. ``as_at`` such as "March 2015" becomes the period ``2015-03-31`` (the
snapshot date; September snapshots are 30 September). Values go to indicator
``policing.officer_fte``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from publicservices.plugin_api import LoadReport, Reader, ReadResult, count_reasons

__all__ = ["READER", "read_police_workforce", "REGION_CODES"]

REGION_CODES = {
    "north east": "E12000001",
    "north west": "E12000002",
    "yorkshire and the humber": "E12000003",
    "yorkshire and humber": "E12000003",
    "east midlands": "E12000004",
    "west midlands": "E12000005",
    "eastern": "E12000006",
    "east of england": "E12000006",
    "london": "E12000007",
    "south east": "E12000008",
    "south west": "E12000009",
    "wales": "W92000004",
    "total 43 forces": "K04000001",
}
_MONTHS = {
    "january": 1,
    "february": 2,
    "march": 3,
    "april": 4,
    "may": 5,
    "june": 6,
    "july": 7,
    "august": 8,
    "september": 9,
    "october": 10,
    "november": 11,
    "december": 12,
}
_COLUMNS = ("force_or_region", "as_at", "officer_fte")


def sniff_workforce(columns: Sequence[str]) -> bool:
    return set(_COLUMNS) <= set(columns)


def read_police_workforce(path: str | Path) -> ReadResult:
    """Read police officer FTE by force (see the module docstring).

    Example:
        >>> import publicservices as ps
        >>> ps.read("policing_officer_fte_by_force.csv").values.height   # doctest: +SKIP
        473
    """
    import polars as pl

    from publicservices.plugin_api import ReaderError, to_polars, validate_areas, validate_values

    path = Path(path)
    raw = to_polars(path, name=path.name)
    if not sniff_workforce(raw.columns):
        raise ReaderError(
            f"{path.name}: not a police workforce file: it needs columns {list(_COLUMNS)}.\n"
            f"Columns present: {', '.join(raw.columns)}.\nFix: pass the long-form workforce table."
        )
    frame = raw.with_columns(pl.lit(None, dtype=pl.String).alias(c) for c in ("row_type", "pfa_code") if c not in raw.columns)
    frame = frame.with_columns(pl.col(c).cast(pl.String).str.strip_chars() for c in (*_COLUMNS, "row_type", "pfa_code"))
    report = LoadReport(source=path.name, reader="police-workforce", rows_read=frame.height)

    name = pl.col("force_or_region").str.to_lowercase()
    region_code = name.replace_strict(REGION_CODES, default=None, return_dtype=pl.String)
    is_force = pl.col("pfa_code").is_not_null() & (pl.col("row_type").is_null() | (pl.col("row_type") == "force"))
    code = pl.when(is_force).then(pl.col("pfa_code")).when(pl.col("row_type") != "force").then(region_code)
    frame = frame.with_columns(area_code=code)
    not_area = frame.filter(pl.col("area_code").is_null())
    if not_area.height:
        names = ", ".join(sorted(not_area.get_column("force_or_region").unique().to_list()))
        report.set_aside[f"not a police force area or region ({names})"] = not_area.height
    frame = frame.filter(pl.col("area_code").is_not_null())

    month = (
        pl.col("as_at")
        .str.extract(r"(?i)^([a-z]+)", 1)
        .str.to_lowercase()
        .replace_strict(_MONTHS, default=None, return_dtype=pl.Int32)
    )
    year = pl.col("as_at").str.extract(r"(\d{4})", 1).cast(pl.Int32, strict=False)
    start = pl.date(year, month, 1).dt.month_end()
    frame = frame.with_columns(period_start=start)
    undated = frame.filter(pl.col("period_start").is_null())
    if undated.height:
        raise ReaderError(
            f"{path.name}: {undated.height} rows have an as_at date that is not 'Month YYYY' "
            f"(e.g. {undated.get_column('as_at').head(3).to_list()}).\nFix: write dates like 'March 2015'."
        )
    from publicservices.plugin_api import number_from_text, unread_reason

    value = number_from_text(pl.col("officer_fte"))
    values = frame.with_columns(
        indicator_id=pl.lit("policing.officer_fte"),
        period=pl.col("period_start").cast(pl.String),
        value=value,
        missing_reason=pl.when(value.is_null()).then(
            pl.when(pl.col("officer_fte").is_null())
            .then(pl.lit("empty in the source file"))
            .otherwise(unread_reason(pl.col("officer_fte")))
        ),
        as_at=pl.col("as_at"),
    ).select(
        "indicator_id",
        "area_code",
        "period",
        "period_start",
        "value",
        "missing_reason",
        "as_at",
        pl.col("row_type").alias("unit_type"),
    )
    values = validate_values(values)
    report.rows_kept = values.height
    report.missing = count_reasons(
        dict(values.filter(pl.col("missing_reason").is_not_null()).group_by("missing_reason").len().iter_rows())
    )
    report.notes.append("Officer numbers are a resource measure; divide by a police force area population for officers per head.")
    areas = (
        frame.group_by("area_code", maintain_order=True)
        .agg(pl.col("force_or_region").first().alias("area_name"), pl.col("row_type").first().alias("unit_type"))
        .with_columns(
            area_type=pl.when(pl.col("area_code").str.starts_with("E23") | pl.col("area_code").str.starts_with("W15"))
            .then(pl.lit("Police force area"))
            .when(pl.col("area_code").str.starts_with("K04"))
            .then(pl.lit("England and Wales"))
            .otherwise(pl.lit("Region"))
        )
        .select("area_code", "area_name", "area_type", "unit_type")
        .with_columns(
            pl.when(pl.col("area_code") == "K04000001")
            .then(pl.lit("England and Wales (43 forces)"))
            .otherwise("area_name")
            .alias("area_name")
        )
        .sort("area_code")
    )
    return ReadResult(values=values, report=report, areas=validate_areas(areas), indicators=_indicators())


def _indicators() -> dict[str, Any]:
    from publicservices_policing.indicators import INDICATORS

    return {i.id: i for i in INDICATORS if i.id == "policing.officer_fte"}


READER = Reader(
    name="police-workforce",
    description="Home Office Police workforce tables in long form: officer FTE by force (and region) and date",
    sniff=sniff_workforce,
    read=read_police_workforce,
    extensions=(".csv",),
)
